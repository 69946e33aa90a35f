#!/usr/bin/env bash
# Installs what the project needs outside npm when no WebGPU adapter can be created: a Vulkan
# driver that Dawn accepts. On a machine without a GPU that is Mesa's software rasteriser
# (lavapipe). Debian 12 ships Mesa 22.3, which Dawn rejects, so the driver comes from the
# bookworm-backports suite (Mesa 25). Without apt-get it says what to install and fails.
set -euo pipefail

if [ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || [ -e /usr/share/vulkan/icd.d/lvp_icd.json ]; then
  if dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^2[5-9]\.'; then
    echo "setup-system: Mesa Vulkan drivers already installed ($(dpkg-query -W -f='${Version}' mesa-vulkan-drivers))"
    exit 0
  fi
fi

source "$(dirname "$0")/apt.sh"
if ! have_apt; then
  echo "setup-system: no apt-get here to install a Vulkan driver: install one Dawn accepts (your GPU's driver, or Mesa >= 23's" \
    "lavapipe: on Fedora dnf install mesa-vulkan-drivers, on Arch pacman -S vulkan-swrast), then run npm run setup again" >&2
  exit 1
fi

SOURCES=/etc/apt/sources.list.d/debian.sources
if [ -f "$SOURCES" ] && ! grep -q 'bookworm-backports' "$SOURCES"; then
  # Add the backports suite to the existing Debian entry (same mirror, same key).
  $SUDO sed -i '0,/^Suites: bookworm bookworm-updates$/s//Suites: bookworm bookworm-updates bookworm-backports/' "$SOURCES"
  if ! grep -q 'bookworm-backports' "$SOURCES"; then
    $SUDO sed -i '0,/^Suites: bookworm\b/s//Suites: bookworm bookworm-backports/' "$SOURCES"
  fi
fi

$SUDO apt-get update -q
$SUDO apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers
echo "setup-system: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
