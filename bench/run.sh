#!/bin/sh
# Runs every benchmark; each prints one JSON line per figure on stdout.
set -eu
BUILD=${BUILD:-build}
for b in "$BUILD"/bench/*; do
  [ -x "$b" ] || continue
  "$b"
done
