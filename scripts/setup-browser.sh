#!/usr/bin/env bash
# The browsers for the browser tests (test/browser) and the browser benchmark: Chromium, with
# WebGPU on its software adapter (SwiftShader), and Firefox ESR, with WebGPU from wgpu on the
# machine's Vulkan driver (lavapipe without a GPU), so no GPU is needed. playwright-core drives
# Chromium and puppeteer-core Firefox, both the installed browser; none is downloaded.
# DEEPLAB_CHROMIUM names another Chromium or Chrome, DEEPLAB_FIREFOX another Firefox.
# Where apt-get is (Debian), the missing ones are installed, at /usr/bin/chromium and
# /usr/bin/firefox-esr. Elsewhere this says how to point the variable at one and succeeds:
# nothing but the browser tests needs them.
set -euo pipefail
source "$(dirname "$0")/apt.sh"

# The Debian packages to install.
missing=()

# find_browser NAME VARIABLE DEFAULT PACKAGE HINT: says where the browser is, or why it cannot be
# had (HINT: how to get one without apt-get); adds PACKAGE to `missing` where apt-get can install it.
find_browser() {
  local name=$1 variable=$2 default=$3 package=$4 hint=$5
  local path=${!variable:-$default}
  if [ -x "$path" ]; then
    echo "setup-browser: $("$path" --version 2>/dev/null | head -1) at $path"
  elif [ -n "${!variable:-}" ]; then
    echo "setup-browser: $variable names $path, which is not an executable: the browser tests (test/browser) need it to name a $name" >&2
  elif ! have_apt; then
    echo "setup-browser: no $name at $path and no apt-get to install one. $hint" >&2
  else
    missing+=("$package")
  fi
}

find_browser "Chromium or Chrome" DEEPLAB_CHROMIUM /usr/bin/chromium chromium \
  "Only the browser tests (test/browser) and the browser benchmark need it: install Chromium or Google Chrome and set DEEPLAB_CHROMIUM to its executable, e.g. DEEPLAB_CHROMIUM=\"\$(command -v google-chrome)\", or on macOS DEEPLAB_CHROMIUM=\"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome\""
find_browser Firefox DEEPLAB_FIREFOX /usr/bin/firefox-esr firefox-esr \
  "Only the browser tests (test/browser) need it: install Firefox (the tests are run on Firefox ESR 153) and set DEEPLAB_FIREFOX to its executable, e.g. DEEPLAB_FIREFOX=\"\$(command -v firefox)\", or on macOS DEEPLAB_FIREFOX=\"/Applications/Firefox.app/Contents/MacOS/firefox\""

if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q "${missing[@]}"
  # Each package puts its browser at /usr/bin/<package>.
  for package in "${missing[@]}"; do
    echo "setup-browser: installed $("/usr/bin/$package" --version 2>/dev/null | head -1)"
  done
fi
