#!/bin/sh
# make fuzz: runs each fuzz target (BUILD/fuzz/<target>) for SECONDS on a
# fresh copy of its seed corpus (tests/fuzz/corpus/<target>/, never grown
# in place) plus tests/fuzz/regressions/<target>/, one at a time. Fails on
# the first crash, leak, timeout or sanitizer report; the input is left in
# BUILD/artifacts/<target>/ and libFuzzer's log in BUILD/logs/<target>.log.
# Prints one line per target: executions, seconds, final corpus size.
# Usage: scripts/fuzz.sh BUILD SECONDS TARGET...
set -eu
build=$1 seconds=$2
shift 2
root=$(pwd)
status=0
# The targets' scratch files (libFuzzer exits without atexit handlers).
scratch=$(mktemp -d /dev/shm/relmask-fuzz.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM
export RELMASK_FUZZ_TMP="$scratch"
for t in "$@"; do
  bin=$build/fuzz/$t
  [ -x "$bin" ] || { echo "fuzz: no target $bin (known: $(ls "$build/fuzz" | tr '\n' ' '))" >&2; exit 2; }
  work=$build/corpus-run/$t
  rm -rf "$work" "$build/artifacts/$t"
  mkdir -p "$work" "$build/artifacts/$t" "$build/logs"
  cp "$root/tests/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
  [ -d "$root/tests/fuzz/regressions/$t" ] && cp "$root/tests/fuzz/regressions/$t/"* "$work/" 2>/dev/null || true
  dict=""
  [ -f "$root/tests/fuzz/dict/$t.dict" ] && dict="-dict=$root/tests/fuzz/dict/$t.dict"
  log=$build/logs/$t.log
  start=$(date +%s)
  # Leaks fail (ASan's LeakSanitizer); -rss_limit_mb also limits single
  # mallocs (a header-driven allocation of gigabytes is a bug).
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     RELMASK_QUIET=1 OMP_NUM_THREADS=1 \
     nice -n 10 "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" $dict "$work" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corp=$(ls "$work" | wc -l)
  printf 'fuzz: %-14s %-6s %8s executions in %4ss, corpus %s files\n' "$t" "$result" "${execs:-?}" \
    "$(( $(date +%s) - start ))" "$corp"
  if [ $result = FAILED ]; then
    grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -8 >&2 || true
    echo "fuzz: $t failed; log $log, input in $build/artifacts/$t/" >&2
  fi
done
exit $status
