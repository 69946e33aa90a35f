#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test (test/browser): WebGPU runs there on Chromium's
# software adapter (SwiftShader), so no GPU is needed. playwright-core drives this installed
# browser; no browser is downloaded.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "setup-browser: $(/usr/bin/chromium --version 2>/dev/null | head -1) already installed"
  exit 0
fi
source "$(dirname "$0")/apt.sh"
require_apt setup-browser "Chromium at /usr/bin/chromium for the browser test"
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium
echo "setup-browser: installed $(/usr/bin/chromium --version 2>/dev/null | head -1)"
