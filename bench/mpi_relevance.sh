#!/bin/sh
# make bench MPI=1: relevance throughput of the MPI build as ranks x threads
# on the same cores: 1 process x T threads against T ranks x 1 thread (and
# every split between), fer-small LRP epsilon-plus-flat on 48x48 faces,
# blocks of 64. One JSON line per split, then the ratios to 1 x T.
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
base=""
ranks=1
while [ "$ranks" -le "$CORES" ]; do
  if [ $((CORES % ranks)) -eq 0 ]; then
    threads=$((CORES / ranks))
    if [ "$ranks" -eq 1 ]; then launch=""
    else launch="mpirun -np $ranks --map-by slot:PE=$threads --bind-to core --mca btl self,vader"
    fi
    start=$(date +%s.%N)
    $launch "$BIN" relevance -q -t "$threads" --data "$OUT/d.h5" --model "$OUT/m.h5" --split all \
      --out "$OUT/r$ranks.h5" --force
    end=$(date +%s.%N)
    rate=$(echo "$RECORDS $start $end" | awk '{printf "%.1f", $1 / ($3 - $2)}')
    [ -z "$base" ] && base=$rate
    echo "{\"bench\":\"relevance_mpi\",\"net\":\"fer-small\",\"composite\":\"epsilon-plus-flat\",\"ranks\":$ranks,\
\"threads\":$threads,\"records\":$RECORDS,\"heatmaps_per_s\":$rate,\
\"ratio_to_1x$CORES\":$(echo "$rate $base" | awk '{printf "%.3f", $1 / $2}'),\"note\":\"wall time incl. start-up\"}"
  fi
  ranks=$((ranks + 1))
done
