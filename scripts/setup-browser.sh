#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test (test/browser): WebGPU runs there on Chromium's
# software adapter (SwiftShader), so no GPU is needed. playwright-core drives this installed
# browser; no browser is downloaded.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "setup-browser: $(/usr/bin/chromium --version 2>/dev/null | head -1) already installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-browser: no apt-get here; install Chromium at /usr/bin/chromium by hand for the browser test" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium
echo "setup-browser: installed $(/usr/bin/chromium --version 2>/dev/null | head -1)"
