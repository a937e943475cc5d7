#!/bin/bash
# bench/experiment.sh (make bench-experiment): the whole job, relmask against the PyTorch pipeline a
# researcher would write (bench/peers/experiment_torch.py), back to back on this machine with the same data,
# settings and thread count. docs/benchmarks.md, "The whole job: make bench-experiment".
#
# 1. relmask: `make experiment` with its own EXP_DIR (results/default is not touched), JOBS=1, THREADS=T,
#    every stage command run under GNU time (bench/experiment_stage.sh, as LAUNCH) -> relmask_stages.tsv
# 2. the peer: experiment_torch.py on relmask's source.h5 and target.h5, torch.set_num_threads(T)
#    -> peer_stages.jsonl
# 3. bench/experiment_compare.py: one JSON line per stage and the totals on stdout (and in bench.jsonl):
#    wall, CPU, peak RSS of each side and the ratios peer / relmask.
#
# Environment: BUILD (build), BENCH_THREADS (2), BENCH_EXPERIMENT_DIR ($BUILD/bench-experiment, emptied
# first), BENCH_EXPERIMENT_SEEDS (1: the default experiment has 1 2 3 4 5), BENCH_EXPERIMENT_TINY=1 (a
# miniature for testing: 600 source and 140/70/140 target images, 1 source and 2 student epochs), PEER_TUNED
# (1: the peer as `make bench` runs it, torch_peer.py --tuned; 0: PyTorch as installed), PYTHON
# (/usr/bin/python3), and the experiment's own settings (config.mk names): SOURCE_IMAGES, TARGET_TRAIN,
# TARGET_VAL, TARGET_TEST, SOURCE_EPOCHS, STUDENT_EPOCHS, ENCODED_EPOCHS (the K of --encoded-epochs K),
# QUALITY_IMAGES. Everything else is config.mk's default experiment, which the peer implements.
set -eu
set -o pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
T=${BENCH_THREADS:-2}
DIR=${BENCH_EXPERIMENT_DIR:-$BUILD/bench-experiment}
PY=${PYTHON:-/usr/bin/python3}
SEEDS=${BENCH_EXPERIMENT_SEEDS:-1}
if [ "${BENCH_EXPERIMENT_TINY:-0}" = 1 ]; then
    : "${SOURCE_IMAGES:=600}" "${TARGET_TRAIN:=140}" "${TARGET_VAL:=70}" "${TARGET_TEST:=140}"
    : "${SOURCE_EPOCHS:=1}" "${STUDENT_EPOCHS:=2}" "${ENCODED_EPOCHS:=1}" "${QUALITY_IMAGES:=20}"
fi
# config.mk's defaults
SOURCE_IMAGES=${SOURCE_IMAGES:-20000} TARGET_TRAIN=${TARGET_TRAIN:-1000} TARGET_VAL=${TARGET_VAL:-500}
TARGET_TEST=${TARGET_TEST:-1000} SOURCE_EPOCHS=${SOURCE_EPOCHS:-12} STUDENT_EPOCHS=${STUDENT_EPOCHS:-20}
ENCODED_EPOCHS=${ENCODED_EPOCHS:-5} QUALITY_IMAGES=${QUALITY_IMAGES:-500}

if [ -n "${DATA:-}" ] && [ "$DATA" != synth ]; then
    echo "bench-experiment: the peer implements the default experiment (DATA=synth), not DATA=$DATA" >&2
    exit 2
fi
if ! "$PY" -c 'import torch, h5py, numpy' 2>/dev/null; then
    echo "bench-experiment: $PY cannot import torch, h5py and numpy (scripts/deps.sh --bench installs them)" >&2
    exit 1
fi
case "$PWD/$DIR" in
*[[:space:]]*)
    echo "bench-experiment: '$PWD/$DIR' has a space; LAUNCH (bench/experiment_stage.sh) cannot take it" >&2
    exit 2 ;;
esac
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
rm -rf "$DIR/relmask" "$DIR/peer"
rm -f "$DIR/relmask_stages.tsv" "$DIR/peer_stages.jsonl" "$DIR/bench.jsonl"
settings="{\"threads\": $T, \"seeds\": \"$SEEDS\", \"source_images\": $SOURCE_IMAGES, \"target\": \"$TARGET_TRAIN/$TARGET_VAL/$TARGET_TEST\", \"source_epochs\": $SOURCE_EPOCHS, \"student_epochs\": $STUDENT_EPOCHS, \"encoded_epochs\": $ENCODED_EPOCHS, \"quality_images\": $QUALITY_IMAGES, \"peer_tuned\": ${PEER_TUNED:-1}}"
echo "bench-experiment: $settings" >&2
now() { date +%s.%N; }

# --- relmask ------------------------------------------------------------------------------------------------
echo "bench-experiment: relmask: make experiment in $DIR/relmask (log: $DIR/relmask.log)" >&2
t0=$(now)
OMP_NUM_THREADS=$T make --no-print-directory -j1 experiment BUILD="$BUILD" EXP_DIR="$DIR/relmask" JOBS=1 \
    THREADS="$T" SEEDS="$SEEDS" SOURCE_IMAGES="$SOURCE_IMAGES" TARGET_TRAIN="$TARGET_TRAIN" \
    TARGET_VAL="$TARGET_VAL" TARGET_TEST="$TARGET_TEST" SOURCE_EPOCHS="$SOURCE_EPOCHS" \
    STUDENT_EPOCHS="$STUDENT_EPOCHS" ENCODED_SCHEDULE="--encoded-epochs $ENCODED_EPOCHS" \
    QUALITY_IMAGES="$QUALITY_IMAGES" LAUNCH="$PWD/bench/experiment_stage.sh $DIR/relmask_stages.tsv" \
    2>&1 | tee "$DIR/relmask.log" | grep --line-buffered '^job:' >&2
t_relmask=$(echo "$t0 $(now)" | awk '{print $2 - $1}')

# --- the PyTorch peer -----------------------------------------------------------------------------------------
tuned=
[ "${PEER_TUNED:-1}" = 1 ] && tuned=--tuned
echo "bench-experiment: peer: bench/peers/experiment_torch.py $tuned in $DIR/peer (log: $DIR/peer.log)" >&2
t0=$(now)
OMP_NUM_THREADS=$T "$PY" bench/peers/experiment_torch.py --source "$DIR/relmask/source.h5" \
    --target "$DIR/relmask/target.h5" --out "$DIR/peer" --timings "$DIR/peer_stages.jsonl" --threads "$T" \
    $tuned --quiet --seeds "$SEEDS" --source-epochs "$SOURCE_EPOCHS" --student-epochs "$STUDENT_EPOCHS" \
    --encoded-epochs "$ENCODED_EPOCHS" --quality-images "$QUALITY_IMAGES" \
    2>&1 | tee "$DIR/peer.log" | grep --line-buffered '^{"stage"' >&2
t_peer=$(echo "$t0 $(now)" | awk '{print $2 - $1}')

# --- the comparison -------------------------------------------------------------------------------------------
"$PY" bench/experiment_compare.py "$DIR/relmask_stages.tsv" "$DIR/peer_stages.jsonl" "$DIR/relmask" \
    --elapsed "$t_relmask" "$t_peer" --settings "$settings" --out "$DIR/bench.jsonl"
echo "bench-experiment: the lines above are in $DIR/bench.jsonl; relmask's report $DIR/relmask/report.md," \
     "the peer's $DIR/peer/results.csv" >&2
