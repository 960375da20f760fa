#!/usr/bin/env bash
# Installs dependencies when missing or stale and generates the Prisma client. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
stamp=node_modules/.bridge-install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "== npm ci"
  npm ci --no-fund --no-audit
  touch "$stamp"
fi
scripts/prisma.sh generate >/dev/null
