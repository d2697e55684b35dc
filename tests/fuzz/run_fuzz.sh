#!/usr/bin/env bash
# run_fuzz.sh [SECONDS] [TARGET...]: builds the libFuzzer targets with clang
# (build-fuzz/: -Dfuzz=true, ASan + UBSan) and fuzzes each TARGET (default:
# all five) for SECONDS (default 180) on one core (taskset -c 1), one after
# the other. New inputs go to build-fuzz/corpus/TARGET (the seeds of
# tests/fuzz/corpus/TARGET are read, not written); a crash is written to
# tests/fuzz/crashes/TARGET/ and ends that target's run. Prints libFuzzer's
# final figures per target (executions, coverage) and keeps its log in
# build-fuzz/fuzz-TARGET.log.
#
#   MERGE=1 tests/fuzz/run_fuzz.sh ...   afterwards also merges the inputs that
#                                        add coverage into tests/fuzz/corpus/
#   KEEP_GOING=1 tests/fuzz/run_fuzz.sh ...  goes on after a crash (libFuzzer's
#                                        fork mode, one job): for the HDF5
#                                        targets, where HDF5 itself crashes on
#                                        some damaged files (hdf5-crashes/)
#
# Needs clang and libclang-rt-14-dev (installed if missing). Not part of the
# suite, which replays the corpus instead (fuzz-replay-* unit tests).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. jobs/setup.sh
secs=${1:-180}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(job csv idx h5in results)

caviar_install "${CAVIAR_PACKAGES[@]}" clang libclang-rt-14-dev libcmocka-dev || exit 1
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized >/dev/null || exit 1
fi
ninja -C build-fuzz -j1 $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}") >/dev/null || exit 1

# Allocations beyond 256 MiB fail (malloc returns NULL) instead of ending the
# run: caviar must report them as out of memory, and the fuzzer thereby
# reaches those paths. A file may legitimately declare a large data set.
export ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=256:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# HDF5's own leaks on damaged files (see lsan.supp)
export LSAN_OPTIONS=print_suppressions=0:suppressions=$root/tests/fuzz/lsan.supp
export OPENBLAS_NUM_THREADS=1
status=0
for t in "${targets[@]}"; do
  work=build-fuzz/corpus/$t
  mkdir -p "$work" "tests/fuzz/crashes/$t"
  case $t in
    job|csv) max_len=4096 ;;
    idx) max_len=2048 ;;
    results) max_len=65536 ;; # a real file's checkpoint groups (B-trees, heaps)
    *) max_len=32768 ;;
  esac
  dict=tests/fuzz/$t.dict
  [ -f "$dict" ] && dict_opt=("-dict=$dict") || dict_opt=()
  log=build-fuzz/fuzz-$t.log
  keep=()
  [ "${KEEP_GOING:-0}" = 1 ] && keep=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  taskset -c 1 "build-fuzz/tests/fuzz/fuzz_$t" "$work" "tests/fuzz/corpus/$t" \
    -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="tests/fuzz/crashes/$t/" "${dict_opt[@]}" "${keep[@]}" \
    >"$log" 2>&1
  rc=$?
  [ "$rc" -eq 0 ] || status=1
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last") # fork mode
  crashes=$(sed -n 's/.*oom\/timeout\/crash: \([0-9/]*\).*/\1/p' <<<"$last")
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
  printf '%-8s %s s: %s executions, cov %s, ft %s, corpus %s%s, exit %d%s\n' "$t" "$secs" \
    "${runs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${crashes:+, oom/timeout/crash $crashes}" "$rc" \
    "$( [ "$rc" -ne 0 ] && grep -m1 -E 'ERROR|SUMMARY|runtime error' "$log" | sed 's/^/: /')"
  if [ "${MERGE:-0}" = 1 ] && [ "$rc" -eq 0 ]; then
    taskset -c 1 "build-fuzz/tests/fuzz/fuzz_$t" -merge=1 -max_len="$max_len" \
      "tests/fuzz/corpus/$t" "$work" >>"$log" 2>&1
  fi
done
exit "$status"
