#!/usr/bin/env python3
"""Checks a token the service signed with a JWT library other than the service's (PyJWT, over
`cryptography`, not the `jsonwebtoken` crate), against the JWKS fetched over HTTP: an oracle for
the end-to-end tests (tests/lib.rs, `Stack::oracle`), which then check the claims one by one.

    tests/token_oracle.py JWKS_URL TYP AUDIENCE ISSUER < token

The token comes on standard input (not the command line, where other processes can read it).
Prints `{"header": {...}, "claims": {...}}` and exits 0 when the token is an EdDSA JWT of header
`typ` TYP, signed by the JWKS key its `kid` names, for AUDIENCE from ISSUER, unexpired; prints
`{"refused": "why"}` and exits 3 when it is not; any other exit is a failure of the oracle.
"""

import json
import sys
import urllib.error
import urllib.request

import jwt

# `cargo lambda watch` sometimes loses a function's answer and answers its own 500 of this type
# (tests/lib.rs, EMULATOR_FAILURE): a GET is asked again.
EMULATOR_FAILURE = "https://httpstatuses.com/500"
TRIES = 3


def jwks(url):
    """The JWK set at `url`, asked again when the emulator lost the answer."""
    for attempt in range(1, TRIES + 1):
        try:
            with urllib.request.urlopen(url, timeout=30) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                lost = e.code == 500 and json.loads(body).get("type") == EMULATOR_FAILURE
            except ValueError:
                lost = False
            if not lost or attempt == TRIES:
                raise
    raise AssertionError("unreachable")


def refused(why):
    print(json.dumps({"refused": why}))
    sys.exit(3)


def main():
    url, typ, audience, issuer = sys.argv[1:5]
    token = sys.stdin.read().strip()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as e:
        refused(f"not a JWT: {e}")
    if header.get("alg") != "EdDSA":
        refused(f"alg {header.get('alg')!r}, not EdDSA")
    if header.get("typ") != typ:
        refused(f"typ {header.get('typ')!r}, not {typ!r}")
    keys = {k.get("kid"): k for k in jwks(url)["keys"]}
    if header.get("kid") not in keys:
        refused(f"kid {header.get('kid')!r} is none of the JWKS's {sorted(keys)}")
    key = jwt.PyJWK(keys[header["kid"]], algorithm="EdDSA")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["EdDSA"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
        )
    except jwt.InvalidTokenError as e:
        refused(f"{type(e).__name__}: {e}")
    print(json.dumps({"header": header, "claims": claims}))


if __name__ == "__main__":
    main()
