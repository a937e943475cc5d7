#!/bin/sh
# Installs the Debian 12 packages relmask needs, when any is missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -eu
PKGS="gcc make libc6-dev libdnnl-dev libhdf5-dev hdf5-tools libcriterion-dev
      libpng-dev libjpeg-dev libtiff-dev zlib1g-dev"
missing=""
for p in $PKGS; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
  esac
done
[ -z "$missing" ] && exit 0
echo "relmask: missing Debian packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends $missing
else
  echo "relmask: run as root:  apt-get update && apt-get install -y$missing" >&2
  exit 1
fi
