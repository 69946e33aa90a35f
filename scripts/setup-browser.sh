#!/usr/bin/env bash
# Chromium for the browser tests (test/browser) and the browser benchmark: WebGPU runs there on
# Chromium's software adapter (SwiftShader), so no GPU is needed. playwright-core drives the
# installed browser; none is downloaded. DEEPLAB_CHROMIUM names another Chromium or Chrome.
# Where apt-get is (Debian), Chromium is installed at /usr/bin/chromium. Elsewhere this says how
# to point DEEPLAB_CHROMIUM at one and succeeds: nothing but the browser tests needs it.
set -euo pipefail
CHROMIUM="${DEEPLAB_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  echo "setup-browser: $("$CHROMIUM" --version 2>/dev/null | head -1) at $CHROMIUM"
  exit 0
fi
source "$(dirname "$0")/apt.sh"
if [ -n "${DEEPLAB_CHROMIUM:-}" ]; then
  echo "setup-browser: DEEPLAB_CHROMIUM names $CHROMIUM, which is not an executable: the browser tests (test/browser) need it to name a Chromium or Chrome" >&2
  exit 0
fi
if ! have_apt; then
  echo "setup-browser: no Chromium at $CHROMIUM and no apt-get to install one. Only the browser tests (test/browser) and" \
    "the browser benchmark need it: install Chromium or Google Chrome and set DEEPLAB_CHROMIUM to its executable, e.g." \
    "DEEPLAB_CHROMIUM=\"\$(command -v google-chrome)\", or on macOS" \
    "DEEPLAB_CHROMIUM=\"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome\"" >&2
  exit 0
fi
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium
echo "setup-browser: installed $(/usr/bin/chromium --version 2>/dev/null | head -1)"
