-- Times mfa.totp_verify (window 1) against plpgsql_totp.totp_verify (plpgsql_totp.sql) over
-- :rows rows, each with its own secret, code and time, so that nothing can be folded into a
-- constant. Half the codes are valid (for the step before, at or after `at`), half are not.
-- One core (no parallel workers), no JIT; each query runs three times and the best run counts.
-- Run by run.sh: psql -v rows=N -f bench.sql in a database with mfa_pg and pgcrypto.
SET max_parallel_workers_per_gather = 0;
SET jit = off;

DROP TABLE IF EXISTS bench_totp;
CREATE TABLE bench_totp AS
SELECT i, secret, at,
       CASE WHEN i % 2 = 0
            THEN mfa.totp_code(secret, at + make_interval(secs => 30 * (i % 3 - 1)))
            ELSE lpad(((i::bigint * 7919) % 1000000)::text, 6, '0')
       END AS code
  FROM (SELECT i, mfa.totp_new_secret() AS secret, to_timestamp(1700000000 + i * 7) AS at
          FROM generate_series(1, :rows) AS i) AS generated;
ANALYZE bench_totp;

CREATE TEMP TABLE bench_result (name text PRIMARY KEY, best interval, accepted bigint);

CREATE FUNCTION pg_temp.best_of_three(name text, query text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  started timestamptz;
  took interval;
  best interval;
  accepted bigint;
BEGIN
  FOR run IN 1 .. 3 LOOP
    started := clock_timestamp();
    EXECUTE query INTO accepted;
    took := clock_timestamp() - started;
    best := least(best, took);
  END LOOP;
  INSERT INTO bench_result VALUES (name, best, accepted);
END $$;

DO $$
BEGIN
  PERFORM pg_temp.best_of_three('scan only', 'SELECT count(*) FILTER (WHERE length(secret) + '
    'length(code) > 0 AND at IS NOT NULL) FROM bench_totp');
  PERFORM pg_temp.best_of_three('mfa_pg',
    'SELECT count(*) FILTER (WHERE mfa.totp_verify(secret, code, at)) FROM bench_totp');
  PERFORM pg_temp.best_of_three('plpgsql',
    'SELECT count(*) FILTER (WHERE plpgsql_totp.totp_verify(secret, code, at)) FROM bench_totp');
END $$;

-- Both implementations must agree on every row before their times mean anything.
DO $$
BEGIN
  IF (SELECT count(DISTINCT accepted) FROM bench_result WHERE name <> 'scan only') <> 1 THEN
    RAISE EXCEPTION 'mfa_pg and PL/pgSQL disagree: %', (SELECT array_agg(accepted) FROM bench_result);
  END IF;
END $$;

\echo
\pset footer off
\pset tuples_only off
\pset format aligned
SELECT (SELECT count(*) FROM bench_totp) AS rows,
       (SELECT accepted FROM bench_result WHERE name = 'mfa_pg') AS accepted,
       round(extract(epoch FROM s.best) * 1000, 1) AS scan_ms,
       round(extract(epoch FROM p.best) * 1000, 1) AS plpgsql_ms,
       round(extract(epoch FROM m.best) * 1000, 1) AS mfa_pg_ms,
       round(extract(epoch FROM p.best) * 1e6 / (SELECT count(*) FROM bench_totp), 2) AS plpgsql_us_per_verify,
       round(extract(epoch FROM m.best) * 1e6 / (SELECT count(*) FROM bench_totp), 2) AS mfa_pg_us_per_verify,
       round(extract(epoch FROM p.best) / extract(epoch FROM m.best), 1) AS speedup
  FROM bench_result s, bench_result p, bench_result m
 WHERE s.name = 'scan only' AND p.name = 'plpgsql' AND m.name = 'mfa_pg';
