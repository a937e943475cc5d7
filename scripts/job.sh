#!/bin/bash
# scripts/job.sh LABEL COMMAND...: runs one stage of `make experiment` or
# `make sweep` (docs/scale.md) and prints one line when it ends:
#
#   job: done   runs/mean/seed3  41.2 s  (students: 12 done, 2 running, 21 left)
#
# With JOBS > 1, make runs up to JOBS stages at once; each takes a free slot
# s in 0..JOBS-1 and is pinned to THREADS cores of its own: the cores
# s*THREADS .. s*THREADS+THREADS-1 of the CPUs this process may use
# (OMP_PLACES with OMP_PROC_BIND=close), so no two jobs share a core. When
# JOBS * THREADS exceeds those CPUs, or PIN=0, nothing is pinned.
#
# Environment (the Makefile exports it): JOBS, THREADS (> 0 to pin), PIN,
# JOB_STATE (a folder for the slot locks and the counters of this make run),
# JOB_TOTAL (the student runs this make run has to do), LAUNCH (a prefix for
# the command, e.g. srun ...). The command's exit status is the script's.
set -u
label=$1
shift
jobs=${JOBS:-1}
threads=${THREADS:-0}
state=${JOB_STATE:-}
start=$(date +%s.%N)

allowed_cpus() {
    # the CPUs this process may run on, one per line (Cpus_allowed_list: "0-3,8,10-11")
    local list
    list=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
    local IFS=,
    for r in $list; do
        if [[ $r == *-* ]]; then seq "${r%-*}" "${r#*-}"; else echo "$r"; fi
    done
}

lockfd=
if [[ -n $state && $jobs -gt 1 ]]; then
    mkdir -p "$state"
    # make -j JOBS runs at most JOBS recipes, so a slot is free; wait briefly
    # in case a finished job has not released its lock yet.
    slot=-1
    for _ in $(seq 1 600); do
        for ((s = 0; s < jobs; s++)); do
            exec {fd}>"$state/slot.$s"
            if flock -n "$fd"; then
                slot=$s lockfd=$fd
                break 2
            fi
            exec {fd}>&-
        done
        sleep 0.1
    done
    if [[ $slot -lt 0 ]]; then
        echo "job: $label: no free slot of $jobs in $state after 60 s (another make using the same folder?)" >&2
        exit 1
    fi
    mapfile -t cpus < <(allowed_cpus)
    if [[ ${PIN:-1} != 0 && $threads -gt 0 && $((jobs * threads)) -le ${#cpus[@]} ]]; then
        places=
        for ((i = slot * threads; i < (slot + 1) * threads; i++)); do places+="${places:+,}{${cpus[i]}}"; done
        export OMP_PLACES=$places OMP_PROC_BIND=close
    fi
fi

# a student run is its model.h5 (training) and then its test.json (evaluation)
student=0
[[ $label == */seed*/model.h5 || $label == */seed*/test.json ]] && student=1
running=
if [[ -n $state && $student == 1 ]]; then
    mkdir -p "$state/running"
    running="$state/running/$$"
    : >"$running"
    trap 'rm -f "$running"' EXIT
fi

${LAUNCH:-} "$@"
rc=$?

seconds=$(echo "$start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
where=${OMP_PLACES:+ on cores $OMP_PLACES}
counts=
if [[ -n $state ]]; then
    [[ -n $running ]] && rm -f "$running"
    # a student run ends with its test.json
    if [[ $rc -eq 0 && $label == */test.json ]]; then echo "$label" >>"$state/done"; fi
    done_n=$(cat "$state/done" 2>/dev/null | wc -l)
    running_n=$(find "$state/running" -type f 2>/dev/null | wc -l)
    total=${JOB_TOTAL:-0}
    left=$((total - done_n - running_n))
    ((left < 0)) && left=0
    counts="  (students: $done_n done, $running_n running, $left left)"
fi
if [[ $rc -eq 0 ]]; then
    echo "job: done   $label  $seconds s$where$counts"
else
    echo "job: FAILED $label  $seconds s$where, exit $rc$counts" >&2
fi
exit $rc
