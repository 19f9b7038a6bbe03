#!/usr/bin/env bash
# Make Debian's headless Chromium available for the browser tests (Playwright drives it through
# executable_path, so no browser download from Playwright's CDN is needed). Prints what it did.
set -euo pipefail

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ -x "$CHROMIUM" ]; then
  echo "==> chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "error: $CHROMIUM is missing and installing it needs root: apt-get install -y chromium" >&2
  exit 2
fi
echo "==> installing chromium with apt-get (for the browser tests)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
apt-get install -y -qq chromium >/dev/null
echo "==> chromium: $("$CHROMIUM" --version 2>/dev/null || echo installed)"
