#!/usr/bin/env bash
# The operator console's browser test (test/console) drives Debian's Chromium through
# playwright-core, which never downloads a browser. Installs /usr/bin/chromium when it is missing
# (apt-get, as root or through sudo); does nothing when it is there. Called by scripts/test.sh.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: /usr/bin/chromium is missing and apt-get is not available; install Chromium so that /usr/bin/chromium exists" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "== installing Chromium (Debian package) for the console's browser test"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
