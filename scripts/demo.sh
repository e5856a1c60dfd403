#!/usr/bin/env bash
# The main job on the local sandbox, no AWS account needed: starts moto + redis-server
# seeded like the runbook's account (five functions, a role, a layer, a table), then
# runs cct's steps against it and shows what exists. Run it again: nothing changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/install.sh
node --import tsx sandbox/cli.ts start >/dev/null
eval "$(node --import tsx sandbox/cli.ts env)"
export CCT_POLL_INTERVAL_MS=${CCT_POLL_INTERVAL_MS:-500}
cct() { node bin/run.js "$@"; }
echo "== local sandbox at $AWS_ENDPOINT_URL (stop it with: node --import tsx sandbox/cli.ts stop)"
for step in vpc sg subnet-group cluster attach env; do
  echo
  echo "== cct $step"
  cct "$step"
done
echo
echo "== run again: every step is up to date, zero changes"
cct env --dry-run
