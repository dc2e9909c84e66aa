#!/usr/bin/env bash
# The AWS SAM template (infra/): cfn-lint, checkov, the template-against-code checks
# (infra/checks/check_template.py: functions, table keys, environment variables, secret, IAM,
# routes against the OpenAPI document served by mfa-local), then the release arm64 build of every
# function in the template with cargo lambda, as the zips `sam build` deploys, and their sizes.
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
cargo build --locked -q -p mfa-local
"$venv/bin/python" infra/checks/check_template.py --mfa-local "$CARGO_TARGET_DIR/debug/mfa-local" \
  || failed+=(template-and-code)

echo "-- release arm64 build of every function (cargo lambda, zip)"
ensure_cargo_lambda ziglang
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi
# The binaries the template deploys, and which of them the workspace has.
mapfile -t wanted < <(sed -n 's/^ *BuildProperties: { *Binary: *\([a-z0-9-]*\) *}.*/\1/p' "$template")
mapfile -t have < <(cargo metadata --no-deps --format-version 1 --offline |
  python3 -c 'import json,sys; [print(t["name"]) for p in json.load(sys.stdin)["packages"] for t in p["targets"] if "bin" in t["kind"]]')
bins=()
for bin in "${wanted[@]}"; do
  if printf '%s\n' "${have[@]}" | grep -qx "$bin"; then
    bins+=(--bin "$bin")
  else
    echo "MISSING: the template deploys $bin, but no workspace package builds it"
    failed+=("build:$bin")
  fi
done
lambda_dir="$CARGO_TARGET_DIR/lambda"
if [ ${#bins[@]} -gt 0 ]; then
  if cargo lambda build --release --arm64 --locked --output-format zip \
      --lambda-dir "$lambda_dir" "${bins[@]}"; then
    # Small functions start fast: each zip stays within 4 MiB.
    for bin in "${wanted[@]}"; do
      zip="$lambda_dir/$bin/bootstrap.zip"
      [ -f "$zip" ] || continue
      size="$(stat -c %s "$zip")"
      printf '%-18s %8s bytes  %s\n' "$bin" "$size" "$zip"
      if [ "$size" -gt 4194304 ]; then
        echo "TOO LARGE: $bin's zip is $size bytes, over 4 MiB"
        failed+=("size:$bin")
      fi
    done
  else
    failed+=(cargo-lambda-build)
  fi
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "infra checks failed: ${failed[*]}" >&2
  exit 1
fi
echo "infra checks passed"
