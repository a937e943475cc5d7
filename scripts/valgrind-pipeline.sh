#!/bin/sh
# A tiny end-to-end pipeline under valgrind memcheck: ingest a FER2013 CSV,
# synthesize faces, train one epoch of a small net, evaluate, compute LRP
# relevance, import fixations, encode, train a student on the encoding,
# draw heatmaps, score the relevance and write the report. Every command
# must exit 0 and valgrind must find no invalid read or write, no use of
# uninitialised values and no definitely lost block (--error-exitcode);
# known third-party noise is suppressed by scripts/valgrind.supp.
#
# Built without -march=native (valgrind 3.19 cannot run AVX-512 code; oneDNN
# asks the CPU and, under valgrind, sees no AVX-512 either) at -O1 in
# build-valgrind. Usage: scripts/valgrind-pipeline.sh [WORKDIR]
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
build=${VALGRIND_BUILD:-build-valgrind}
make -s BUILD="$build" OPT="-O1" "$build/relmask" >/dev/null
bin=$root/$build/relmask
work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/relmask-valgrind.XXXXXX")}
mkdir -p "$work"
log=$work/logs
mkdir -p "$log" "$work/runs/raw/seed1" "$work/runs/mean/seed1"
export OMP_NUM_THREADS=1 RELMASK_QUIET=1 RELMASK_NETS="$root/nets"
step=0
vg() {
  step=$((step + 1))
  name=$(printf '%02d-%s' "$step" "$1")
  shift
  start=$(date +%s)
  if ! valgrind -q --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
      --show-leak-kinds=definite --track-origins=yes --smc-check=all-non-file \
      --suppressions="$root/scripts/valgrind.supp" --error-exitcode=99 \
      --log-file="$log/$name.vg" "$bin" "$@" >"$log/$name.out" 2>&1; then
    echo "valgrind-pipeline: $name failed: relmask $*" >&2
    cat "$log/$name.out" "$log/$name.vg" >&2
    exit 1
  fi
  echo "valgrind-pipeline: $name ok ($(( $(date +%s) - start ))s)"
}

cat >"$work/net.cfg" <<'NET'
# 16x16 faces, 7 classes: a convolution, batchnorm, pooling and a dense layer
[net]
input = 1x16x16
classes = 7
[conv]
filters = 4
size = 3
pad = 1
[batchnorm]
[relu]
[maxpool]
size = 2
[dense]
units = 7
NET
awk 'BEGIN { print "emotion,pixels,Usage";
  for (r = 0; r < 4; r++) { s = ""; for (i = 0; i < 2304; i++) s = s (i ? " " : "") (i * 7 + r) % 256;
    print r % 7 "," s "," (r < 2 ? "Training" : "PublicTest") } }' >"$work/fer.csv"
printf 'image,x,y,duration\n0,3,4,100\n1,8,8,50\n2,12.5,2,20\n5,0,15,10\n' >"$work/fix.csv"

vg ingest ingest fer2013 "$work/fer.csv" --force -o "$work/fer.h5"
vg synth synth --count 42 --size 16 --threads 1 --deflate 1 --quiet --force -o "$work/data.h5"
vg train train --data "$work/data.h5" --net "$work/net.cfg" --epochs 1 --batch 8 --threads 1 --quiet --force \
  --out "$work/runs/raw/seed1/model.h5"
vg eval eval --model "$work/runs/raw/seed1/model.h5" --data "$work/data.h5" --split test --quiet --force \
  --out "$work/runs/raw/seed1/test.json"
vg relevance relevance --model "$work/runs/raw/seed1/model.h5" --data "$work/data.h5" --target true --threads 1 \
  --force --out "$work/relevance.h5"
vg import relevance import --fixations "$work/fix.csv" --data "$work/data.h5" --force --out "$work/fix.h5"
vg encode encode --data "$work/data.h5" --relevance "$work/relevance.h5" --mode mean --keep 0.3 --threads 1 \
  --quiet --force --out "$work/encoded.h5"
vg student train --data "$work/data.h5" --encoded "$work/encoded.h5" --encoded-epochs 1 --net "$work/net.cfg" \
  --epochs 1 --batch 8 --threads 1 --quiet --force --out "$work/runs/mean/seed1/model.h5"
vg eval-student eval --model "$work/runs/mean/seed1/model.h5" --data "$work/data.h5" --split test --quiet \
  --force --out "$work/runs/mean/seed1/test.json"
vg heatmap heatmap --relevance "$work/relevance.h5" --data "$work/data.h5" --force --out "$work/heatmaps.png"
vg relevance-eval relevance-eval --relevance "$work/relevance.h5" --data "$work/data.h5" \
  --model "$work/runs/raw/seed1/model.h5" --max-images 6 --threads 1 --force --out "$work/relevance_eval.json"
vg report report --dir "$work" --conditions raw,mean --seeds 1 --baseline raw --force
[ -n "${1:-}" ] || rm -rf "$work"
echo "valgrind-pipeline: $step commands clean under memcheck"
