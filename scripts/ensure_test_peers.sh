#!/usr/bin/env bash
# The SSO tests run independent protocol peers from npm (an OpenID Provider, a SAML IdP) on loopback.
# Install them from the lock file when missing or when the lock changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/../tests/peers"
stamp=node_modules/.installed-lock
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: install Node.js 20+ and npm to run the SSO tests' protocol peers." >&2
  exit 1
fi
npm ci --no-audit --no-fund --silent
cp package-lock.json "$stamp"
