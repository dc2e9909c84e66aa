-- The benchmark's baseline: the check mfa.totp_verify(secret, code, at) makes with its defaults
-- (6 digits, 30 s, SHA1, window 1), written in plain PL/pgSQL over pgcrypto's hmac(), the way an
-- app without mfa_pg would. Used only by bench.sql; needs CREATE EXTENSION pgcrypto.
CREATE SCHEMA IF NOT EXISTS plpgsql_totp;

-- RFC 4648 base32 to bytes; case, spaces and padding ignored.
CREATE OR REPLACE FUNCTION plpgsql_totp.base32_decode(secret text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  alphabet constant text := 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  clean text := upper(replace(rtrim(secret, '='), ' ', ''));
  buffer bigint := 0;
  bits int := 0;
  result bytea := '';
  value int;
BEGIN
  FOR i IN 1 .. length(clean) LOOP
    value := strpos(alphabet, substr(clean, i, 1)) - 1;
    IF value < 0 THEN
      RAISE EXCEPTION 'invalid base32 secret' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    buffer := (buffer << 5) | value;
    bits := bits + 5;
    IF bits >= 8 THEN
      bits := bits - 8;
      result := result || set_byte('\x00'::bytea, 0, ((buffer >> bits) & 255)::int);
      buffer := buffer & ((1::bigint << bits) - 1);
    END IF;
  END LOOP;
  RETURN result;
END $$;

-- RFC 4226: HMAC-SHA1 of the 8-byte big-endian counter, dynamic truncation, 6 digits.
CREATE OR REPLACE FUNCTION plpgsql_totp.hotp(key bytea, counter bigint) RETURNS int
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  mac bytea := hmac(int8send(counter), key, 'sha1');
  offset_ int := get_byte(mac, 19) & 15;
BEGIN
  RETURN ((((get_byte(mac, offset_) & 127)::bigint << 24)
         | (get_byte(mac, offset_ + 1) << 16)
         | (get_byte(mac, offset_ + 2) << 8)
         | get_byte(mac, offset_ + 3)) % 1000000)::int;
END $$;

-- Whether code is the TOTP code of the step of `at` or of one step either side.
CREATE OR REPLACE FUNCTION plpgsql_totp.totp_verify(secret text, code text, at timestamptz)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  key bytea := plpgsql_totp.base32_decode(secret);
  step bigint := floor(extract(epoch FROM at) / 30);
BEGIN
  IF code !~ '^[0-9]{6}$' THEN
    RETURN false;
  END IF;
  FOR s IN step - 1 .. step + 1 LOOP
    IF plpgsql_totp.hotp(key, s) = code::int THEN
      RETURN true;
    END IF;
  END LOOP;
  RETURN false;
END $$;
