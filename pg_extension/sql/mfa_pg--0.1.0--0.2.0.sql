-- mfa_pg 0.1.0 to 0.2.0, run by ALTER EXTENSION mfa_pg UPDATE.
--
-- The functions are the same in SQL (names, arguments, defaults, results, markings and C symbols;
-- their code is the new library's). What changes is where the extension lives. 0.1.0's script
-- created the schema mfa as a member of the extension, and the extension was recorded in the first
-- schema of the search path (public by default). From 0.2.0 the control file fixes the schema:
-- PostgreSQL creates mfa, which is no member, and records the extension in it. This script brings
-- a 0.1.0 database to that state, the state of a new CREATE EXTENSION mfa_pg: pg_dump then writes
-- CREATE EXTENSION mfa_pg WITH SCHEMA mfa, which restores, and DROP EXTENSION leaves the schema.

\echo Use "ALTER EXTENSION mfa_pg UPDATE TO '0.2.0'" to load this file. \quit

-- The schema mfa is no longer a member of the extension.
ALTER EXTENSION mfa_pg DROP SCHEMA mfa;

-- The extension is recorded in mfa, and depends on it as CREATE EXTENSION makes it. (ALTER
-- EXTENSION ... SET SCHEMA moves relocatable extensions only.)
UPDATE pg_catalog.pg_extension
   SET extnamespace = 'mfa'::regnamespace
 WHERE extname = 'mfa_pg';
DELETE FROM pg_catalog.pg_depend
 WHERE classid = 'pg_catalog.pg_extension'::regclass
   AND objid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'mfa_pg')
   AND refclassid = 'pg_catalog.pg_namespace'::regclass;
INSERT INTO pg_catalog.pg_depend (classid, objid, objsubid, refclassid, refobjid, refobjsubid, deptype)
SELECT 'pg_catalog.pg_extension'::regclass, oid, 0, 'pg_catalog.pg_namespace'::regclass, extnamespace, 0, 'n'
  FROM pg_catalog.pg_extension
 WHERE extname = 'mfa_pg';
