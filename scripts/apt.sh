# Sourced by the set-up scripts that install Debian packages: `have_apt` says whether apt-get is
# here; $SUDO is empty for root, else sudo.
have_apt() {
  command -v apt-get >/dev/null 2>&1
}
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
