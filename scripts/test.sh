#!/usr/bin/env bash
# Runs every check and test: lint/format, typecheck, then all vitest suites against a real Kafka
# broker and a real Postgres that the test harness starts (or takes from KAFKA_BROKERS /
# DATABASE_URL, or Testcontainers when a Docker engine answers). Extra args go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

scripts/install.sh
# The operator console's browser test drives Debian's Chromium (test/console); no browser download.
scripts/ensure-chromium.sh
if [ -n "${BRIDGE_SKIP_STATIC_CHECKS:-}" ]; then
  # For tests of this script itself (test/ops/private-clone.test.ts): typechecking a fresh clone
  # takes minutes and proves nothing about where the clone lives.
  echo "== lint and typecheck skipped (BRIDGE_SKIP_STATIC_CHECKS)"
else
  echo "== lint and format (biome)"
  npx --no-install biome ci --reporter=summary .
  echo "== typecheck (tsc, every workspace)"
  npx --no-install turbo run typecheck --output-logs=errors-only
  npx --no-install tsc -p tsconfig.json
  echo "== layering (dependency-cruiser: docs/architecture.md)"
  npm run --silent lint:deps
  echo "== copy-paste (jscpd 5.3.2 over the product code: .jscpd.json)"
  npm run --silent lint:duplicates
  echo "== unused code (knip: knip.json)"
  npm run --silent lint:unused
fi
echo "== tests (vitest)"
npx --no-install vitest run "$@"
