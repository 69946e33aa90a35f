#!/usr/bin/env bash
# Runs a command with Debian's package tools (apt, apt-get, dpkg, ...) hidden from PATH, as on a
# machine without them (macOS, Fedora, ...): PATH becomes a folder of links to every other
# command on it. test/setup/setup.test.ts and CI run the set-up this way.
set -euo pipefail
hidden='^(apt|apt-get|apt-cache|apt-key|aptitude|dpkg|dpkg-query)$'
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
declare -A seen=()
IFS=: read -ra dirs <<< "$PATH"
for dir in "${dirs[@]}"; do
  [ -d "$dir" ] || continue
  links=()
  for file in "$dir"/*; do
    name=${file##*/}
    # The first of a name on PATH wins, as it does for the shell.
    [[ $name =~ $hidden || -n ${seen[$name]:-} ]] && continue
    seen[$name]=1
    links+=("$file")
  done
  if [ ${#links[@]} -gt 0 ]; then ln -s "${links[@]}" "$bin/"; fi
done
PATH="$bin" "$@"
