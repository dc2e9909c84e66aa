#!/usr/bin/env python3
"""Runs the README's login backend (functions/client/examples/login_backend.rs) against a running
service as a user would: it reads the otpauth URI the example prints, types the app's codes
(TOTP computed here from RFC 6238 with the standard library, not by the service's code), a wrong
one first, and checks the example signs the user in with a token it checked against the JWKS.
Also checks that the README shows the example's code as it is.

    tests/login_backend.py EXAMPLE_BINARY BASE_URL API_KEY
"""

import base64
import hashlib
import hmac
import os
import struct
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "functions", "client", "examples", "login_backend.rs")


def totp(secret, at):
    """RFC 6238 with SHA-1, 30-second steps, 6 digits."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", at // 30), hashlib.sha1).digest()
    offset = digest[-1] & 15
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def main():
    binary, base_url, api_key = sys.argv[1:4]
    code = open(EXAMPLE, encoding="utf-8").read()
    body = code[code.index("use mfa_client::api::"):]
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert body in readme, "README.md does not show functions/client/examples/login_backend.rs as it is"

    user = f"readme-{time.time_ns()}"
    env = dict(os.environ, MFA_URL=base_url, MFA_API_KEY=api_key)
    run = subprocess.Popen([binary, user], env=env, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True, bufsize=1)
    secret, lines, wrong_sent = None, [], False
    for line in run.stdout:
        line = line.rstrip("\n")
        lines.append(line)
        if line.startswith("scan: "):
            query = urllib.parse.urlparse(line[len("scan: "):]).query
            secret = urllib.parse.parse_qs(query)["secret"][0]
        elif line == "code from the app:":
            run.stdin.write(totp(secret, int(time.time())) + "\n")
        elif line.startswith("code from the app, at the next"):
            right = totp(secret, int(time.time()) + 30)
            if not wrong_sent:
                wrong_sent = True
                run.stdin.write(("000000" if right != "000000" else "111111") + "\n")
            else:
                run.stdin.write(right + "\n")
    status = run.wait()
    output = "\n".join(lines)
    assert status == 0, f"the example failed ({status}):\n{output}"
    assert any(l.startswith("wrong code: ") for l in lines), output
    signed_in = [l for l in lines if l.startswith("signed in: ")]
    assert signed_in and signed_in[0].startswith(f"signed in: sub={user} amr=otp fid=fac_"), output
    codes = [l for l in lines if l.startswith("recovery codes, shown once: ")]
    assert codes and len(codes[0].split(": ")[1].split()) == 10, output
    print(f"README login backend: {signed_in[0]}")


if __name__ == "__main__":
    main()
