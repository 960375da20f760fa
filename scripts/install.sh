#!/usr/bin/env bash
# Installs dependencies when missing or stale and generates the Prisma client. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
stamp=node_modules/.bridge-install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  # `npm ci`: exactly what package-lock.json pins. The lock lists every platform's optional
  # binaries (biome, turbo), so it installs on any OS (docs/decisions/004-node-24-bootstrap.md).
  echo "== npm ci (from package-lock.json)"
  if ! npm ci --no-fund --no-audit; then
    echo "[install] npm ci failed (its error is above): dependencies are not installed" >&2
    exit 1
  fi
  touch "$stamp"
fi
if ! scripts/prisma.sh generate >/dev/null; then
  echo "[install] prisma generate failed (its error is above): the store's client is missing" >&2
  exit 1
fi
