#!/usr/bin/env bash
# Runs a TypeScript entry point with Node 24 (fetched if needed) and dependencies installed.
# npm scripts use it so `npm run bench` works even where the system Node is older.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
scripts/install.sh >&2
exec node "$@"
