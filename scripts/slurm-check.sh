#!/bin/sh
# CI: the cluster launcher for real (docs/scale.md, "Slurm"). A single-node
# Slurm on this machine (scripts/slurm-local.sh) runs the tiny study through
# examples/slurm/study.sbatch, every stage an srun step; its results table
# must equal a plain `make sweep` of the same study. When the Slurm daemons
# cannot start on this machine (a container without the rights), it says so
# and stops without failing: nothing of relmask was tested then.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
work=$(mktemp -d)
trap 'scripts/slurm-local.sh stop "$work/slurm" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
if ! conf=$(scripts/slurm-local.sh start "$work/slurm"); then
  echo "slurm-check: a local Slurm could not start on this machine; the sbatch example was NOT tested" >&2
  exit 0
fi
eval "$conf"
make -s "$BUILD/relmask"
sbatch --wait --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --output="$work/sbatch.log" \
  examples/slurm/study.sbatch SWEEP_TINY=1 SWEEP_DIR="$work/slurm-sweep" BUILD="$BUILD" -o "$BUILD/relmask" \
  || { cat "$work/sbatch.log"; exit 1; }
steps=$(grep -c "^JOBS=.*LAUNCH='srun" "$work/sbatch.log" || true)
make -s sweep SWEEP_TINY=1 JOBS=2 THREADS=1 SWEEP_DIR="$work/plain-sweep" BUILD="$BUILD" -o "$BUILD/relmask" \
  > "$work/plain.log" 2>&1 || { cat "$work/plain.log"; exit 1; }
grep '^| size-' "$work/slurm-sweep/study.md" > "$work/slurm.rows"
grep '^| size-' "$work/plain-sweep/study.md" > "$work/plain.rows"
rows=$(wc -l < "$work/slurm.rows")
if [ "$rows" -eq 0 ] || ! cmp -s "$work/slurm.rows" "$work/plain.rows"; then
  echo "slurm-check: the study run through Slurm differs from the plain run:" >&2
  diff "$work/plain.rows" "$work/slurm.rows" >&2 || true
  exit 1
fi
echo "slurm-check: the tiny study through sbatch ($steps srun steps) equals the plain run ($rows result rows)"
