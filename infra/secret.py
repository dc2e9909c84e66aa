#!/usr/bin/env python3
"""The service's keys in the stack's Secrets Manager secret.

    infra/secret.py init STACK [--region REGION] [--profile PROFILE]
        Generates every key, stores them in the stack's secret (output SecretArn) and prints the
        two API keys, once. Refuses a secret that already holds keys: replacing MFA_DATA_KEYS
        would make every enrolled authenticator secret unreadable (see infra/README.md, "Rotate").
        Then asks SNS to confirm the webhook's subscription to the inbound SMS topic again: the
        webhook could not start before the secret was filled.

    infra/secret.py generate
        Prints new values as JSON, {"secret": {...}, "api_keys": {...}}, and stores nothing.

The secret's value is a JSON object the functions read at start (MFA_SECRET_ARN):
    MFA_API_KEYS      service:<sha256 hex of the service key>,admin:<sha256 hex of the admin key>
    MFA_DATA_KEYS     <kid>:<base64 of 32 random bytes>   seals TOTP secrets at rest (AES-256-GCM)
    MFA_SIGNING_KEYS  <kid>:<base64 of 32 random bytes>   Ed25519 seed that signs MFA tokens
    MFA_CODE_KEY      <kid>:<base64 of 32 random bytes>   HMAC key of SMS and email codes
Each list may hold several comma-separated keys; the first one is used for new data and every one
still verifies, which is how keys are rotated. Only the standard library and the AWS CLI are used.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import secrets
import subprocess
import sys
import tempfile

SECRET_KEYS = ("MFA_API_KEYS", "MFA_DATA_KEYS", "MFA_SIGNING_KEYS", "MFA_CODE_KEY")
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def api_key():
    """`mfa_` and 52 base32 characters: 256 random bits, the format the service makes."""
    n = int.from_bytes(secrets.token_bytes(32), "big") << 4  # 256 bits -> 52 groups of 5
    return "mfa_" + "".join(BASE32[(n >> (5 * i)) & 31] for i in reversed(range(52)))


def key_entry(prefix):
    """`kid:base64` of 32 random bytes; the kid says what and when (no '.')."""
    kid = f"{prefix}-{datetime.datetime.now(datetime.timezone.utc):%Y%m%d}"
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def generate():
    keys = {"service": api_key(), "admin": api_key()}
    hashed = ",".join(
        f"{scope}:{hashlib.sha256(key.encode()).hexdigest()}" for scope, key in keys.items()
    )
    value = {
        "MFA_API_KEYS": hashed,
        "MFA_DATA_KEYS": key_entry("data"),
        "MFA_SIGNING_KEYS": key_entry("sig"),
        "MFA_CODE_KEY": key_entry("code"),
    }
    assert tuple(value) == SECRET_KEYS
    return value, keys


def aws(args, opts, check=True):
    command = ["aws", *args, "--output", "json"]
    if opts.region:
        command += ["--region", opts.region]
    if opts.profile:
        command += ["--profile", opts.profile]
    result = subprocess.run(command, capture_output=True, text=True)
    if check and result.returncode != 0:
        sys.exit(f"aws {' '.join(args[:2])} failed:\n{result.stderr.strip()}")
    return result


def init(opts):
    described = json.loads(
        aws(["cloudformation", "describe-stacks", "--stack-name", opts.stack], opts).stdout
    )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}
    arn = outputs.get("SecretArn")
    if not arn:
        sys.exit(f"stack {opts.stack} has no SecretArn output: is it this template's stack?")

    current = aws(["secretsmanager", "get-secret-value", "--secret-id", arn], opts, check=False)
    if current.returncode == 0:
        held = json.loads(json.loads(current.stdout).get("SecretString") or "{}")
        if any(held.get(name) for name in SECRET_KEYS):
            sys.exit(
                f"{arn} already holds keys: refusing to replace them (the data keys decrypt what"
                " is stored). To rotate a key, see infra/README.md."
            )
    elif "ResourceNotFoundException" not in current.stderr:
        sys.exit(f"can't read {arn}:\n{current.stderr.strip()}")

    value, keys = generate()
    fd, path = tempfile.mkstemp(prefix="mfa-secret-", suffix=".json")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(value, f)
        aws(["secretsmanager", "put-secret-value", "--secret-id", arn,
             "--secret-string", f"file://{path}"], opts)
    finally:
        os.remove(path)
    print(f"Stored new keys in {arn}.\n")
    print("API keys: store them in your login backend's secret store now; only their hashes are kept.")
    print(f"  service (enroll, login, verify, manage): {keys['service']}")
    print(f"  admin (everything, plus /v1/admin):      {keys['admin']}\n")

    topic, endpoint = outputs.get("InboundSmsTopicArn"), outputs.get("SmsWebhookUrl")
    if topic and endpoint:
        aws(["sns", "subscribe", "--topic-arn", topic, "--protocol", "https",
             "--notification-endpoint", endpoint], opts)
        print(f"Asked SNS to confirm {endpoint} on {topic} again; check with:")
        print(f"  aws sns list-subscriptions-by-topic --topic-arn {topic}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    init_parser = commands.add_parser("init", help="fill the stack's secret with new keys")
    init_parser.add_argument("stack", help="the stack name (samconfig.toml: mfa-service)")
    init_parser.add_argument("--region")
    init_parser.add_argument("--profile")
    commands.add_parser("generate", help="print new values as JSON; store nothing")
    opts = parser.parse_args()
    if opts.command == "init":
        init(opts)
    else:
        value, keys = generate()
        json.dump({"secret": value, "api_keys": keys}, sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main()
