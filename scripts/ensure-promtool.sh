#!/usr/bin/env bash
# test/ops/deploy.test.ts checks and unit-tests deploy/prometheus/alerts.yml with Prometheus'
# promtool. Takes the one on PATH, else unpacks Debian's `prometheus` package (without installing
# it: no service, no user) into ~/.cache/limio-stripe-bridge/promtool. Prints promtool's path.
# Idempotent: prints the path at once when promtool is there.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/limio-stripe-bridge/promtool"
if [ -x "$cache/usr/bin/promtool" ]; then
  echo "$cache/usr/bin/promtool"
  exit 0
fi
echo "== unpacking promtool (Debian's prometheus package) for the alert rules' test" >&2
download="$(mktemp -d)"
trap 'rm -rf "$download"' EXIT
fetch() { (cd "$download" && apt-get download -qq prometheus >/dev/null 2>&1); }
# `apt-get download` needs no root; refreshing the package lists (a fresh machine) does.
if ! fetch && ! { [ "$(id -u)" -eq 0 ] && apt-get update -qq >&2 && fetch; }; then
  echo "ensure-promtool: promtool is missing and Debian's prometheus package could not be downloaded (apt-get); put promtool on PATH" >&2
  exit 1
fi
mkdir -p "$(dirname "$cache")"
staging="$(mktemp -d "$cache.XXXXXX")"
dpkg-deb -x "$download"/prometheus_*.deb "$staging"
# Another run may have unpacked it meanwhile: keep the first.
mv -T "$staging" "$cache" 2>/dev/null || rm -rf "$staging"
echo "$cache/usr/bin/promtool"
