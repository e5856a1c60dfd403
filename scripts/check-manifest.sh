#!/usr/bin/env bash
# oclif reads oclif.manifest.json instead of loading every command; a stale one shows
# wrong flags. Regenerate it from dist/ and fail if it differs from the committed one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
committed=$(mktemp)
cp oclif.manifest.json "$committed"
npx oclif manifest >/dev/null
if ! diff -q "$committed" oclif.manifest.json >/dev/null; then
  diff <(python3 -m json.tool "$committed") <(python3 -m json.tool oclif.manifest.json) | head -20 >&2 || true
  cp "$committed" oclif.manifest.json
  echo "✖ oclif.manifest.json is stale. Run \`npm run manifest\` and commit it" >&2
  exit 1
fi
echo "oclif.manifest.json is up to date"
