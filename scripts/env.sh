# Shared environment of the project's scripts: where cargo builds and where tools live.
# Sourced, not run.
export CARGO_TARGET_DIR="${MFA_TARGET_DIR:-$HOME/.cache/mfa-service/target}"
export PATH="$HOME/.cargo/bin:$PATH"
mkdir -p "$CARGO_TARGET_DIR"

# The cargo-lambda the scripts were tested with (pip package; `cargo lambda watch` emulates the
# Lambda runtime, and its behaviour under concurrent requests varies between releases).
CARGO_LAMBDA_VERSION="1.9.2"

# Installs the pinned cargo-lambda with pip unless it is already there, plus any other pip
# packages given as arguments (e.g. ziglang).
ensure_cargo_lambda() {
  local have=""
  have="$(cargo-lambda lambda --version 2>/dev/null || true)"
  local missing=()
  case "$have" in
    "cargo-lambda $CARGO_LAMBDA_VERSION "*) ;;
    *) missing+=("cargo-lambda==$CARGO_LAMBDA_VERSION") ;;
  esac
  local package
  for package in "$@"; do
    python3 -c "import $package" 2>/dev/null || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} with pip" >&2
    python3 -m pip install --quiet "${missing[@]}" >&2
    hash -r
    if command -v pyenv >/dev/null; then pyenv rehash; fi
  fi
}
