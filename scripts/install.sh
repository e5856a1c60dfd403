#!/usr/bin/env bash
# Installs what cct, its sandbox and its tests need, and builds it. Idempotent: each part
# is skipped when already there. Sourced by demo.sh and test.sh (it exports PATH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

. scripts/ensure-node.sh

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v redis-server >/dev/null 2>&1 || ! command -v tmux >/dev/null 2>&1; then
  echo "cct: installing Debian's redis-server and tmux (the interactive tests drive a real terminal)" >&2
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq redis-server tmux >&2
fi

if ! python3 -c 'import moto, sys; sys.exit(0 if moto.__version__.startswith("5.2.") else 1)' 2>/dev/null; then
  echo "cct: installing moto[server] 5.2 with pip" >&2
  python3 -m pip install --quiet "moto[server]>=5.2,<5.3" >&2
fi

# The interpreter itself first on PATH: a version manager's python3 (pyenv's shim is a shell
# script running `pyenv exec`) costs about half a second of CPU per start, and the sandbox
# and the tests start Python hundreds of times.
python_bin=$(python3 -c 'import os, sys; print(os.path.dirname(os.path.realpath(sys.executable)))')
export PATH="$python_bin:$PATH"

# redis-py for the Python helper's layer: pip finds it in the local index.
lock_stamp=node_modules/.package-lock.json
if [ ! -f "$lock_stamp" ] || [ package-lock.json -nt "$lock_stamp" ]; then
  echo "cct: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

npm run --silent build >&2
