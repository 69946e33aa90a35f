# Sourced by the set-up scripts that install Debian packages: `require_apt WHO WHAT` exits with a
# hint where apt-get is missing; $SUDO is empty for root, else sudo.
require_apt() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$1: no apt-get here; install $2 by hand" >&2
    exit 1
  fi
}
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
