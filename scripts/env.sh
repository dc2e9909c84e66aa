# Shared environment of the project's scripts: where cargo builds and where tools live.
# Sourced, not run.
export CARGO_TARGET_DIR="${MFA_TARGET_DIR:-$HOME/.cache/mfa-service/target}"
export PATH="$HOME/.cargo/bin:$PATH"
mkdir -p "$CARGO_TARGET_DIR"
