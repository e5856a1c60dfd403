#!/usr/bin/env bash
# The main job on the local sandbox, no AWS account needed: starts moto + redis-server
# seeded like the runbook's account (five functions, a role, a layer, a table), runs
# `cct setup --yes` against it and shows what exists. Run it again: nothing changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/install.sh
node --import tsx sandbox/cli.ts start >/dev/null
eval "$(node --import tsx sandbox/cli.ts env)"
export CCT_POLL_INTERVAL_MS=${CCT_POLL_INTERVAL_MS:-1000}
export CCT_CONFIG=${CCT_CONFIG:-.sandbox/cct.json}
cct() { node bin/run.js "$@"; }
echo "== local AWS sandbox at $AWS_ENDPOINT_URL"
echo
echo "== cct setup --yes"
cct setup --yes
echo
echo "== cct status"
cct status
cat <<EOT

Try next (in this shell: eval "\$(node --import tsx sandbox/cli.ts env)"; alias cct="node bin/run.js"):
  cct setup --yes        # again: zero changes
  cct rollback --yes     # undo it all, waiting for Lambda's network interfaces
  node --import tsx sandbox/cli.ts stop
EOT
