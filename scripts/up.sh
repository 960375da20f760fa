#!/usr/bin/env bash
# Runs the whole bridge locally: Kafka, Postgres, the Stripe emulator and the three services.
# Works on a fresh clone (installs Node 24 and dependencies when needed). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
scripts/install.sh
exec node scripts/run-local.ts
