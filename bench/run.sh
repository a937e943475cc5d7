#!/bin/sh
# make bench: every relmask benchmark and, in the same run, the peers from
# bench/peers (the PyTorch peer on fer-small, the machine's FMA peak; see
# bench/peers/README.md), then the ratios. Every line on stdout is one JSON
# object. PEERS=DIR takes the peers from another folder.
set -eu
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
[ "$THREADS" -gt 0 ] 2>/dev/null || THREADS=$(nproc)
PEERS=${PEERS:-bench/peers}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export OMP_NUM_THREADS="$THREADS"

"$BUILD/bench/bench_ingest" | tee -a "$OUT/all.jsonl"
"$BUILD/bench/bench_synth" | tee -a "$OUT/all.jsonl"
"$BUILD/bench/bench_train" fer-small | tee -a "$OUT/all.jsonl"
"$BUILD/bench/bench_lrp" | tee -a "$OUT/all.jsonl"
# a graph: residual sums, depthwise convolutions, batchnorm, global pooling
"$BUILD/bench/bench_train" fer-mini-xception | tee -a "$OUT/all.jsonl"
"$BUILD/bench/bench_lrp" fer-mini-xception | tee -a "$OUT/all.jsonl"
"$BUILD/bench/bench_encode" | tee -a "$OUT/all.jsonl"
"$BUILD/bench/bench_occlusion" | tee -a "$OUT/all.jsonl"
# make bench MPI=1: relevance and training as ranks x threads on the same cores
if [ "${MPI:-0}" = 1 ]; then
  BUILD="$BUILD" THREADS="$THREADS" bench/mpi_scaling.sh | tee -a "$OUT/all.jsonl"
fi

# Peers, measured now on this machine (figures vary 15-25% between runs).
if [ -f "$PEERS/fma_peak.c" ]; then
  gcc -O2 -march=native -fopenmp "$PEERS/fma_peak.c" -o "$OUT/fma_peak"
  "$OUT/fma_peak" "$THREADS" | sed 's/^{/{"peer":"fma_peak",/' | tee -a "$OUT/all.jsonl"
fi
if [ -f "$PEERS/torch_peer.py" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 "$PEERS/torch_peer.py" --threads "$THREADS" --tuned 2>/dev/null \
    | tail -n 1 | sed 's/^{/{"measured_as":"torch_tuned",/' | tee -a "$OUT/all.jsonl"
  /usr/bin/python3 "$PEERS/torch_peer.py" --threads "$THREADS" --tuned --net fer-mini-xception 2>/dev/null \
    | tail -n 1 | sed 's/^{/{"measured_as":"torch_tuned",/' | tee -a "$OUT/all.jsonl"
else
  echo '{"measured_as":"torch_tuned","unavailable":"install python3-torch python3-numpy libopenblas0-openmp (scripts/deps.sh --bench)"}'
fi
/usr/bin/python3 bench/ratios.py "$OUT/all.jsonl"
