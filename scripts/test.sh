#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs (Node 22, npm
# packages, redis-server, moto), builds, checks the manifest, the --json schemas, lint
# (eslint, prettier) and types, runs every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/install.sh
bash scripts/check-manifest.sh
npm run --silent schemas:check
npm run --silent lint
npx tsc -p tsconfig.test.json
npm test
