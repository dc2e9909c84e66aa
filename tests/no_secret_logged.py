#!/usr/bin/env python3
"""Checks that a stack's logs hold none of the secrets the end-to-end tests saw (README: "nothing
secret is logged"). The tests record each secret value they see, a line `kind<TAB>value`, in the
file MFA_E2E_SECRETS_FILE names (tests/lib.rs, `seen`); this looks for every value in each log,
case-insensitively, a short one (a 6-digit code) only as a whole word (letters and digits), so
that a timestamp or an id that happens to hold its digits is not taken for it. A hit is named by the value's kind, the
log and the line number, never by the value. Fails too when a kind of secret was never recorded
(the recording would be broken, and the check empty). Terminal colour codes are taken out of a
line first (they would hide a value's word boundaries).

    tests/no_secret_logged.py [--delivered PREFIX] SECRETS_FILE LOG...

--delivered: lines that begin with PREFIX are messages delivered, not logged: mfa-local prints
each message it would send (README: "sends no text, call or email: each message is printed"),
its stand-in for the user's phone and mailbox.
"""

import re
import sys

# What every e2e run sees, at least once each (tests/lib.rs, `Secret`).
KINDS = ["sent-code", "totp-code", "totp-secret", "recovery-code", "api-key", "mfa-token",
         "step-up-token", "webauthn-challenge"]
# Values shorter than this are looked for as whole words only.
SHORT = 12
# A terminal colour code (tracing's output holds them).
COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def main():
    args = sys.argv[1:]
    delivered = None
    if args[0] == "--delivered":
        delivered, args = args[1], args[2:]
    secrets_file, logs = args[0], args[1:]
    kinds = {}
    for line in open(secrets_file, encoding="utf-8"):
        kind, _, value = line.rstrip("\n").partition("\t")
        if value:
            kinds.setdefault(value.lower(), kind)
    missing = [k for k in KINDS if k not in kinds.values()]
    assert not missing, f"{secrets_file} holds no {missing}: is the tests' recording broken?"
    # A short value is looked up as each whole word of a line; a long one by its first SHORT
    # characters at each place in the line, then whole.
    short = {v for v in kinds if len(v) < SHORT}
    long = {}
    for value in kinds:
        if len(value) >= SHORT:
            long.setdefault(value[:SHORT], []).append(value)
    found = []
    lines = 0
    for log in logs:
        for number, line in enumerate(open(log, encoding="utf-8", errors="replace"), 1):
            lines += 1
            if delivered is not None and line.startswith(delivered):
                continue
            line = COLOUR.sub("", line).lower()
            hits = {w for w in re.findall(r"[0-9a-z]+", line) if w in short}
            for start in range(len(line) - SHORT + 1):
                for value in long.get(line[start:start + SHORT], []):
                    if line.startswith(value, start):
                        hits.add(value)
            named = sorted({kinds[hit] for hit in hits})
            found += [f"{log}:{number}: a {kind} is logged" for kind in named]
    if found:
        print("\n".join(found), file=sys.stderr)
        sys.exit(f"{len(found)} secrets in the logs (each named by its kind; see the lines)")
    print(f"no secret logged: {len(kinds)} values the tests saw, none in {lines} log lines")


if __name__ == "__main__":
    main()
