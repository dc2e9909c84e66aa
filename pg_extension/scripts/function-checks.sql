-- Checks of every function in schema mfa, one row each: `function name|passed`. Run by
-- upgrade-tests.sh with psql variables made from vectors outside the extension:
--   rfc6238, rfc4226  core/tests/vectors/rfc.rs's RFC 6238 appendix B and RFC 4226 appendix D
--                     tables as JSON arrays (time, SHA1, SHA256, SHA512 codes; counters 0 to 9);
--   seed_sha1, seed_sha256, seed_sha512
--                     RFC 6238's seeds, ASCII "1234567890" repeated to 20, 32 and 64 bytes, as
--                     base32 by coreutils' base32;
--   shared            core/tests/vectors/recovery.json, the vectors mfa-core's tests check too.

CREATE TEMP TABLE rfc6238 AS
SELECT (v->>0)::bigint AS time, alg.name AS algorithm, v->>alg.n AS code,
       CASE alg.name WHEN 'SHA1' THEN :'seed_sha1' WHEN 'SHA256' THEN :'seed_sha256'
                     ELSE :'seed_sha512' END AS secret
  FROM json_array_elements(:'rfc6238'::json) v,
       (VALUES (1, 'SHA1'), (2, 'SHA256'), (3, 'SHA512')) AS alg(n, name);

CREATE TEMP TABLE rfc4226 AS
SELECT (n - 1)::bigint AS counter, code
  FROM json_array_elements_text(:'rfc4226'::json) WITH ORDINALITY AS v(code, n);

CREATE TEMP TABLE recovery AS
SELECT v->>'code' AS code, v->>'hash' AS hash, n::int AS position
  FROM json_array_elements(:'shared'::json->'recovery') WITH ORDINALITY AS v(v, n);

CREATE TEMP TABLE issued AS SELECT * FROM mfa.recovery_codes_new(3);

-- Every RFC 6238 code (8 digits, 30 s, three algorithms); 6 digits by default; the shared vectors.
SELECT 'totp_code',
       count(*) = 18
       AND bool_and(mfa.totp_code(secret, to_timestamp(time), 8, 30, algorithm) = code)
       AND mfa.totp_code(:'seed_sha1', to_timestamp(59)) = '287082'
       AND (SELECT bool_and(mfa.totp_code(v->>'secret', to_timestamp((v->>'time')::bigint),
                              (v->>'digits')::int, (v->>'period')::int, v->>'algorithm') = v->>'code')
              FROM json_array_elements(:'shared'::json->'totp') v)
  FROM rfc6238;

-- Each code at its time (window 0) and a step later (window 1); not two steps later, nor another
-- time's code; the current code with every default.
SELECT 'totp_verify',
       bool_and(mfa.totp_verify(secret, code, to_timestamp(time), 0, 8, 30, algorithm)
                AND mfa.totp_verify(secret, code, to_timestamp(time + 30), 1, 8, 30, algorithm)
                AND NOT mfa.totp_verify(secret, code, to_timestamp(time + 60), 1, 8, 30, algorithm)
                AND NOT mfa.totp_verify(secret, code, to_timestamp(time + 3600), 0, 8, 30, algorithm))
       AND mfa.totp_verify(:'seed_sha1', mfa.totp_code(:'seed_sha1'))
  FROM rfc6238;

-- The code's step, once: the step itself as after_step is a replay (NULL), the one before is not.
SELECT 'totp_match_step',
       bool_and(mfa.totp_match_step(secret, code, NULL, to_timestamp(time), 0, 8, 30, algorithm) = time / 30
                AND mfa.totp_match_step(secret, code, time / 30 - 1, to_timestamp(time), 0, 8, 30, algorithm) = time / 30
                AND mfa.totp_match_step(secret, code, time / 30, to_timestamp(time), 0, 8, 30, algorithm) IS NULL)
       AND mfa.totp_match_step(NULL, '123456') IS NULL
  FROM rfc6238;

-- RFC 4226's codes for counters 0 to 9, and its 10-digit "Truncated" value for counter 0.
SELECT 'hotp_code',
       count(*) = 10
       AND bool_and(mfa.hotp_code(:'seed_sha1', counter) = code)
       AND mfa.hotp_code(:'seed_sha1', 0, 10, 'sha-1') = '1284755224'
  FROM rfc4226;

SELECT 'totp_uri',
       mfa.totp_uri('JBSWY3DPEHPK3PXP', 'ada@example.com', 'Acme Corp')
         = 'otpauth://totp/Acme%20Corp:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Corp'
       AND mfa.totp_uri('jbswy3dpehpk3pxp', 'ada', 'Acme', 8, 60, 'SHA256')
         = 'otpauth://totp/Acme:ada?secret=JBSWY3DPEHPK3PXP&digits=8&algorithm=SHA256&issuer=Acme&period=60';

-- 160 bits as base32, a new one each call, and usable.
SELECT 'totp_new_secret',
       a ~ '^[A-Z2-7]{32}$' AND b ~ '^[A-Z2-7]{32}$' AND a <> b
       AND mfa.totp_verify(a, mfa.totp_code(a))
  FROM (SELECT mfa.totp_new_secret() AS a, mfa.totp_new_secret() AS b) AS s;

-- A set of three: codes as the service makes them, Argon2id hashes at the service's cost (one
-- salt), each code behind its own hash.
SELECT 'recovery_codes_new',
       count(*) = 3
       AND bool_and(code ~ '^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$')
       AND bool_and(hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%')
       AND count(DISTINCT split_part(hash, '$', 5)) = 1
       AND bool_and(mfa.recovery_code_verify(code, hash))
  FROM issued;

-- The shared hashes, typed in lower case; a wrong code is false.
SELECT 'recovery_code_verify',
       count(*) = 4
       AND bool_and(mfa.recovery_code_verify(lower(code), hash))
       AND NOT bool_or(mfa.recovery_code_verify('0000-0000-0000-0000', hash))
  FROM recovery;

-- Each shared code at its own 1-based position, NULL elements skipped; a new set's codes too; a
-- wrong code is NULL.
SELECT 'recovery_code_match',
       (SELECT bool_and(mfa.recovery_code_match(code, hashes) = position
                        AND mfa.recovery_code_match(code, ARRAY[NULL]::text[] || hashes) = position + 1)
          FROM recovery)
       AND mfa.recovery_code_match('0000-0000-0000-0000', hashes) IS NULL
       AND (SELECT bool_and(mfa.recovery_code_match(i.code, s.hashes) IS NOT NULL)
              FROM issued i, (SELECT array_agg(hash) AS hashes FROM issued) AS s)
  FROM (SELECT array_agg(hash ORDER BY position) AS hashes FROM recovery) AS h;
