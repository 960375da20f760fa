#!/usr/bin/env bash
# Runs the whole bridge locally: Kafka, Postgres, the Stripe emulator and the three services.
# Works on a fresh clone (installs Node 24 and dependencies when needed). Kafka's and Postgres'
# data stay in .data/ across runs (`--ephemeral` for a throwaway run); a service that exits is
# restarted; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
scripts/install.sh
exec node scripts/run-local.ts "$@"
