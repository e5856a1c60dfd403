#!/usr/bin/env bash
# The main job on the local sandbox, no AWS account needed: starts moto + redis-server
# seeded like the runbook's account (five API functions, a role, a layer, their tables),
# sends the functions traffic through Lambda Invoke (the baseline: every read goes to
# DynamoDB), runs `cct setup --yes --nat --auto-cache` against it (--nat: news-api reads a
# feed on the internet, video-list-api a CDN, and cct refuses to cut them off without it),
# sends the same traffic again,
# and shows what exists, what verify measures and what cost computes. Run it again:
# nothing changes.
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
echo "== traffic before the cache: 15 s at 10 invocations/s (mostly GETs of popular ids, some lists and PUTs)"
node --import tsx sandbox/cli.ts traffic --rate 10 --duration 15
echo
echo "== cct setup --yes --nat --auto-cache   (DynamoDB reads through the cache, no code change)"
cct setup --yes --nat --auto-cache
echo
echo "== the same traffic through the cache: 20 s at 10 invocations/s"
node --import tsx sandbox/cli.ts traffic --rate 10 --duration 20
sleep 11 # the sandbox publishes the cache's metrics every 10 s (AWS: every minute)
echo
echo "== cct status"
cct status
echo
echo "== cct verify"
cct verify || echo "(cct verify exited $?: the table above says which check)"
echo
echo "== cct cost"
cct cost
cat <<EOT

Try next (in this shell: eval "\$(node --import tsx sandbox/cli.ts env)"; alias cct="node bin/run.js"):
  cct setup --yes        # again: zero changes
  node --import tsx sandbox/cli.ts traffic --rate 20 --duration 60 --seed 2   # more traffic
  cct rollback --yes     # undo it all, waiting for Lambda's network interfaces
  node --import tsx sandbox/cli.ts stop
EOT
