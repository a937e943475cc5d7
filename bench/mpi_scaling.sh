#!/bin/sh
# make bench MPI=1: the MPI build's relevance and training throughput as
# ranks x threads on the same cores: 1 process x T threads against T ranks x
# 1 thread (and every split between). Relevance: fer-small LRP
# epsilon-plus-flat on 48x48 faces in blocks of 64; training: fer-small,
# global batch 64, one epoch. One JSON line per figure, with its ratio to
# 1 x T. Wall times include the start-up (mpirun, reading the data).
set -eu
BUILD=${BUILD:-build-mpi}
CORES=${THREADS:-2}
RECORDS=${RECORDS:-4096}
BIN="$BUILD/relmask"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$BIN" synth -q -n "$RECORDS" --size 48 --seed 7 -o "$OUT/d.h5"
"$BIN" train -q -t "$CORES" --data "$OUT/d.h5" --net fer-small --epochs 1 --out "$OUT/m.h5" 2>/dev/null
TRAIN=$("$BIN" info "$OUT/d.h5" 2>/dev/null | sed -n "s/^  total *\([0-9][0-9]*\).*/\1/p")

# run NAME RANKS THREADS COUNT ARGS...: one JSON line
base_relevance="" base_train=""
run() {
  name=$1 ranks=$2 threads=$3 count=$4
  shift 4
  if [ "$ranks" -eq 1 ]; then launch=""
  else launch="mpirun -np $ranks --map-by slot:PE=$threads --bind-to core --mca btl self,vader"
  fi
  start=$(date +%s.%N)
  $launch "$BIN" "$@" -q -t "$threads" --force
  end=$(date +%s.%N)
  rate=$(echo "$count $start $end" | awk '{printf "%.1f", $1 / ($3 - $2)}')
  if [ "$name" = relevance ]; then base=${base_relevance:-$rate}; base_relevance=$base
  else base=${base_train:-$rate}; base_train=$base
  fi
  echo "{\"bench\":\"mpi_$name\",\"net\":\"fer-small\",\"ranks\":$ranks,\"threads\":$threads,\"records\":$count,\
\"per_s\":$rate,\"unit\":\"$([ "$name" = relevance ] && echo heatmaps || echo img)\",\
\"ratio_to_1x$CORES\":$(echo "$rate $base" | awk '{printf "%.3f", $1 / $2}'),\"note\":\"wall time incl. start-up\"}"
}

ranks=1
while [ "$ranks" -le "$CORES" ]; do
  if [ $((CORES % ranks)) -eq 0 ]; then
    threads=$((CORES / ranks))
    run relevance "$ranks" "$threads" "$RECORDS" relevance --data "$OUT/d.h5" --model "$OUT/m.h5" --split all \
      --composite epsilon-plus-flat --out "$OUT/r$ranks.h5"
    run train "$ranks" "$threads" "${TRAIN:-$RECORDS}" train --data "$OUT/d.h5" --net fer-small --epochs 1 \
      --batch 64 --out "$OUT/t$ranks.h5"
  fi
  ranks=$((ranks + 1))
done
