#!/usr/bin/env bash
# The AWS SAM template (infra/): cfn-lint, checkov, the template-against-code checks
# (infra/checks/check_template.py: functions, table keys, environment variables, secret, IAM,
# routes against the OpenAPI document served by mfa-local, observability), then `sam validate
# --lint` and `sam build` (the release arm64 build of every function with cargo lambda, what
# `sam deploy` uploads) and each function's zipped size.
# Idempotent; the linters live in their own virtualenv beside the target dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

template=infra/template.yaml
failed=()

venv="$MFA_CACHE_DIR/infra-venv"
if ! cmp -s infra/checks/requirements.txt "$venv/requirements.txt"; then
  echo "installing the template linters into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r infra/checks/requirements.txt
  cp infra/checks/requirements.txt "$venv/requirements.txt"
fi

echo "-- cfn-lint"
"$venv/bin/cfn-lint" "$template" || failed+=(cfn-lint)

echo "-- checkov (each skip carries its reason in the template)"
# --skip-download: no calls to the vendor's platform (this machine has no route to it).
"$venv/bin/checkov" --file "$template" --framework cloudformation --skip-download --compact \
  --quiet || failed+=(checkov)

echo "-- template and code agree"
cargo build --locked -q -p mfa-local -p mfa-cli
"$venv/bin/python" infra/checks/check_template.py --mfa-local "$CARGO_TARGET_DIR/debug/mfa-local" \
  --mfa-cli "$CARGO_TARGET_DIR/debug/mfa" \
  || failed+=(template-and-code)

echo "-- sam validate --lint and sam build (AWS SAM CLI, cargo lambda), as before sam deploy"
ensure_cargo_lambda ziglang
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi
# The SAM CLI in a virtualenv of its own (its pins must not move moto's or the linters'); it is
# run by its path, so that `python3` on PATH stays the project's, whose ziglang cargo lambda uses.
sam_venv="$MFA_CACHE_DIR/sam-venv"
if [ "$("$sam_venv/bin/sam" --version 2>/dev/null)" != "SAM CLI, version $SAM_CLI_VERSION" ]; then
  echo "installing aws-sam-cli $SAM_CLI_VERSION into $sam_venv"
  python3 -m venv "$sam_venv"
  "$sam_venv/bin/pip" install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION"
fi
export SAM_CLI_TELEMETRY=0
# The binaries the template deploys, and which of them the workspace has.
mapfile -t wanted < <(sed -n 's/^ *BuildProperties: { *Binary: *\([a-z0-9-]*\) *}.*/\1/p' "$template")
mapfile -t have < <(cargo metadata --no-deps --format-version 1 --offline |
  python3 -c 'import json,sys; [print(t["name"]) for p in json.load(sys.stdin)["packages"] for t in p["targets"] if "bin" in t["kind"]]')
for bin in "${wanted[@]}"; do
  if ! printf '%s\n' "${have[@]}" | grep -qx "$bin"; then
    echo "MISSING: the template deploys $bin, but no workspace package builds it"
    failed+=("build:$bin")
  fi
done
build_dir="$MFA_CACHE_DIR/sam-build"
(cd infra && "$sam_venv/bin/sam" validate --lint) || failed+=(sam-validate)
# infra/samconfig.toml's build settings: one function at a time, the cargo-lambda builder.
if (cd infra && "$sam_venv/bin/sam" build --build-dir "$build_dir" </dev/null); then
  # What `sam deploy` uploads is each function's directory, zipped: small functions start fast,
  # so each zip stays within 4 MiB.
  python3 - "$build_dir" <<'PY' || failed+=(size)
import io, os, sys, zipfile
build_dir, too_large = sys.argv[1], []
for name in sorted(os.listdir(build_dir)):
    bootstrap = os.path.join(build_dir, name, "bootstrap")
    if not os.path.isfile(bootstrap):
        continue
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.write(bootstrap, "bootstrap")
    size = buffer.getbuffer().nbytes
    print(f"{name:<20} {size:>9} bytes zipped ({os.path.getsize(bootstrap)} unzipped)")
    if size > 4 * 1024 * 1024:
        too_large.append(name)
if too_large:
    sys.exit(f"TOO LARGE (over 4 MiB zipped): {', '.join(too_large)}")
PY
else
  failed+=(sam-build)
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "infra checks failed: ${failed[*]}" >&2
  exit 1
fi
echo "infra checks passed"
