# Shared environment of the project's scripts: where cargo builds and where tools live.
# Sourced, not run.
#
# Everything the scripts install or build lives outside the clone, under $MFA_CACHE_DIR (default
# ~/.cache/mfa-service): the cargo target dir ($MFA_TARGET_DIR, default $MFA_CACHE_DIR/target)
# and one Python virtualenv for the Python tools (cargo-lambda, moto server, schemathesis), so
# that nothing depends on what the machine's own Python happens to hold.
export MFA_CACHE_DIR="${MFA_CACHE_DIR:-$HOME/.cache/mfa-service}"
export CARGO_TARGET_DIR="${MFA_TARGET_DIR:-$MFA_CACHE_DIR/target}"
MFA_VENV="$MFA_CACHE_DIR/venv"
export PATH="$MFA_VENV/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
mkdir -p "$CARGO_TARGET_DIR"

# The cargo-lambda the scripts were tested with (pip package; `cargo lambda watch` emulates the
# Lambda runtime, and its behaviour under concurrent requests varies between releases).
CARGO_LAMBDA_VERSION="1.9.2"
# The moto server the DynamoDB, SNS and SES stand-in was tested with.
MOTO_VERSION="5.2.1"
# The AWS SAM CLI of scripts/test.d/50-infra.sh (sam validate, sam build).
SAM_CLI_VERSION="1.170.0"
# The API fuzzer of scripts/test.d/47-fuzz.sh (its command line changed between 3.x and 4.x).
SCHEMATHESIS_VERSION="4.32.5"

# Creates the project's Python virtualenv unless it is there (its bin/ is already first on PATH).
ensure_venv() {
  if [ ! -x "$MFA_VENV/bin/python3" ]; then
    echo "creating the Python virtualenv $MFA_VENV" >&2
    python3 -m venv "$MFA_VENV" >&2
    "$MFA_VENV/bin/python3" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    hash -r
  fi
}

# Installs the given pip requirements into the project's virtualenv, each unless that exact
# version (or, for a bare name, any version) is there already:
# `ensure_pip_packages name==version name ...`.
ensure_pip_packages() {
  ensure_venv
  local missing=() requirement
  for requirement in "$@"; do
    local name="${requirement%%==*}" version="" have
    [ "$name" = "$requirement" ] || version="${requirement#*==}"
    name="${name%%\[*}"
    have="$("$MFA_VENV/bin/python3" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)"
    if [ -z "$have" ] || { [ -n "$version" ] && [ "$have" != "$version" ]; }; then
      missing+=("$requirement")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} into $MFA_VENV" >&2
    "$MFA_VENV/bin/python3" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
    hash -r
  fi
}

# Installs the pinned cargo-lambda, plus any other pip packages given (e.g. ziglang, which
# `cargo lambda build --arm64` cross-links with).
ensure_cargo_lambda() {
  ensure_pip_packages "cargo-lambda==$CARGO_LAMBDA_VERSION" "$@"
}

# Builds mfa-local and starts it on a free 127.0.0.1 port over a fresh data dir, with the extra
# VAR=value settings given, and waits until it answers. Sets $work (a temporary dir, its data and
# log in it), $port, $pid and $api_key; on exit it is stopped, its log shown if the step failed,
# and $work removed.
start_mfa_local() {
  work="$(mktemp -d)"
  pid=""
  trap _stop_mfa_local EXIT
  cargo build --locked -q -p mfa-local
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  api_key="mfa_local_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  env MFA_LOCAL_ADDR="127.0.0.1:$port" MFA_LOCAL_DATA_DIR="$work/data" MFA_LOCAL_API_KEY="$api_key" \
    "$@" "$CARGO_TARGET_DIR/debug/mfa-local" >"$work/local.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/.well-known/jwks.json" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "mfa-local did not answer on port $port" >&2
  return 1
}

_stop_mfa_local() {
  local status=$?
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  if [ "$status" -ne 0 ] && [ -f "$work/local.log" ]; then
    echo "--- mfa-local's log" >&2
    tail -n 40 "$work/local.log" >&2
  fi
  rm -rf "$work"
}
