#!/usr/bin/env bash
# Installs dependencies when missing or stale and generates the Prisma client. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
stamp=node_modules/.bridge-install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  # `npm install`, not `npm ci`: the registry these machines reach lacks other platforms' optional
  # binaries (biome, turbo for Windows/macOS), so the lock cannot list them and `npm ci` refuses it.
  # The lock still pins every version that is installed (docs/decisions/004-node-24-bootstrap.md).
  echo "== npm install (from package-lock.json)"
  npm install --no-fund --no-audit
  touch "$stamp"
fi
scripts/prisma.sh generate >/dev/null
