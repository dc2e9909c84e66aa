#!/usr/bin/env bash
# Rehearses the README's test command the way a newcomer meets it on a fresh machine, and times it.
#
# In a new directory (default: a new one under /tmp; or an empty DIR given), it clones the
# committed HEAD of this checkout, and runs `.ci/run` (which runs scripts/test-all.sh) with:
#   - an empty HOME, so no ~/.cache/mfa-service target dir, venv or infra-venv, and no ~/.pgrx;
#   - an empty CARGO_HOME holding only rustup's proxies (as rustup-init leaves it), so no crates
#     downloaded before and no cargo-pgrx, cargo-deny or other installed tool; the toolchain itself
#     comes through RUSTUP_HOME;
#   - a clean environment (env -i) with the system's PATH, plus pyenv's shims when the machine's
#     Python comes from pyenv;
#   - a moto port no server listens on, a new pgrx data directory, and the system PostgreSQL 15
#     cluster stopped, so the test command has to start every server itself.
# What the machine image ships (Debian packages, the Rust toolchain, Python) stays as it is.
# The directory is kept, with the whole log in DIR/test-all.log; delete it when done.
#
# Usage: scripts/fresh-machine.sh [DIR]
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="${1:-$(mktemp -d /tmp/mfa-fresh.XXXXXX)}"
mkdir -p "$root"
if [ -n "$(ls -A "$root")" ]; then
  echo "$root is not empty: give a new or empty directory" >&2
  exit 2
fi
root="$(cd "$root" && pwd)"
# The postgres user runs pgrx's test cluster from a directory in here.
chmod 755 "$root"

home="$root/home"
cargo_home="$home/.cargo"
mkdir -p "$cargo_home/bin"

# rustup's proxies (cargo, rustc, cargo-fmt, ...) are copies of the rustup binary.
rustup_bin="$(command -v rustup)"
rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
for tool in "$(dirname "$rustup_bin")"/*; do
  if cmp -s "$tool" "$rustup_bin"; then
    ln -s "$(readlink -f "$rustup_bin")" "$cargo_home/bin/$(basename "$tool")"
  fi
done

git clone --quiet "$src" "$root/clone"
echo "rehearsing $(git -C "$root/clone" log -1 --format='%h %s' | cut -c1-80)"
echo "in $root"

moto_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
if pg_ctlcluster 15 main status >/dev/null 2>&1; then
  echo "stopping the system PostgreSQL 15 cluster (the test command starts it)"
  pg_ctlcluster 15 main stop
fi

path="$cargo_home/bin"
if [ -n "${PYENV_ROOT:-}" ] && [ -d "$PYENV_ROOT/shims" ]; then
  path="$path:$PYENV_ROOT/shims"
fi
path="$path:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

start=$(date +%s)
status=0
env -i HOME="$home" USER="$(id -un)" LOGNAME="$(id -un)" SHELL=/bin/bash LANG=C.UTF-8 \
  TERM=dumb CI=true PATH="$path" ${PYENV_ROOT:+PYENV_ROOT="$PYENV_ROOT"} \
  CARGO_HOME="$cargo_home" RUSTUP_HOME="$rustup_home" \
  MFA_MOTO_PORT="$moto_port" MFA_PGRX_PGDATA="$root/pgrx-data" \
  bash -c 'cd "$1" && .ci/run' rehearsal "$root/clone" >"$root/test-all.log" 2>&1 || status=$?
elapsed=$(($(date +%s) - start))

# The moto server the run started answers on its own port until stopped.
if [ -f "$home/.cache/mfa-service/target/moto-$moto_port.pid" ]; then
  kill "$(cat "$home/.cache/mfa-service/target/moto-$moto_port.pid")" 2>/dev/null || true
fi

grep '^==> ' "$root/test-all.log" || true
printf 'exit status %s after %dm%02ds; the whole log: %s\n' \
  "$status" $((elapsed / 60)) $((elapsed % 60)) "$root/test-all.log"
if [ "$status" -ne 0 ]; then
  tail -n 40 "$root/test-all.log"
fi
exit "$status"
