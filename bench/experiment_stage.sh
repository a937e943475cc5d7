#!/bin/bash
# bench/experiment_stage.sh LOG COMMAND...: runs one stage command of `make experiment` under GNU time and
# appends one tab-separated line to LOG: the stage's output file (the argument of --out/-o, else the relmask
# subcommand), wall seconds, user and system CPU seconds, peak RSS in KiB, exit status.
# `make bench-experiment` (bench/experiment.sh) hands it to the Makefile as LAUNCH, which scripts/job.sh puts
# before every stage command. The command's exit status is the script's.
set -u
log=$1
shift
label=
prev=
for a in "$@"; do
    if [[ $prev == --out || $prev == -o ]]; then label=$a; fi
    prev=$a
done
[[ -n $label ]] || label=${2:-$1}
tmp=$(mktemp)
/usr/bin/time -f '%e	%U	%S	%M	%x' -o "$tmp" "$@"
rc=$?
# GNU time writes "Command exited with non-zero status N" before the format line when the command fails
printf '%s\t%s\n' "$label" "$(tail -n 1 "$tmp")" >>"$log"
rm -f "$tmp"
exit $rc
