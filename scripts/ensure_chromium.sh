#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright (no browser download). Install it when
# missing; that needs root, as on CI and these development machines.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Chromium is missing: install Debian's 'chromium' package (as root) to run the browser tests." >&2
  exit 1
fi
echo "Installing Debian's chromium for the browser tests..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
