#!/bin/sh
# ensure_packages.sh PACKAGE...
# Installs the Debian packages that are missing when run as root; otherwise prints the
# exact command to run and fails. Used by the top-level Makefile before configuring.
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing missing packages:$missing"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$missing >/dev/null
else
  echo "missing Debian packages; run:"
  echo "  sudo apt-get install -y$missing"
  exit 1
fi
