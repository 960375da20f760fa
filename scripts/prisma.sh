#!/usr/bin/env bash
# Runs the Prisma CLI the offline way (see prisma.config.ts). `generate` needs DATABASE_URL only to
# parse the schema; without it the CLI falls back to downloading a native engine, which fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
export DATABASE_URL="${DATABASE_URL:-postgresql://placeholder:placeholder@127.0.0.1:5432/placeholder}"
export PRISMA_HIDE_UPDATE_MESSAGE=1
exec npx --no-install prisma "$@"
