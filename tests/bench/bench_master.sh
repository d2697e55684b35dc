#!/usr/bin/env bash
# bench_master.sh CAVIAR [RANKS] [TRIALS]: the master at scale. A study of
# TRIALS trivial trials (default 100000; a 4-unit network, one epoch on 60
# examples of a tiny CSV, no checkpoints kept) on RANKS ranks (default 33: the
# master and 32 workers, oversubscribed on a 2-core machine; tried once each
# on 2 cores at 100000 trials: 9 ranks 7 000 results/s, 17 ranks 16 900,
# 33 ranks 23 000, in the same wall time as 17). Reports
#  - results recorded per second (the run's own figure: first dispatch to last
#    result, HDF5 appends included);
#  - the master's peak memory (VmHWM of rank 0, sampled every 0.2 s until it
#    exits; the last sample is kept);
#  - the results file's size per 1,000 trials;
#  - the wall time of `caviar report` on the file (median of 3).
set -euo pipefail
caviar=$1
ranks=${2:-33}
trials=${3:-100000}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=$(mktemp -d "${TMPDIR:-/tmp}/caviar-bench-XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$T"' EXIT

. "$(dirname "$0")/trivial_job.sh"
trivial_job "$T" master "$trials" 0

mpirun -np "$ranks" --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1 \
  "$caviar" run "$T/master.yaml" -o "$T/master.h5" >/dev/null 2>"$T/err" &
pid=$!
# rank 0: the process of this study whose environment says so
master=
for _ in $(seq 1 300); do
  for p in $(pgrep -f "caviar run $T/master.yaml" || true); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=0'; then
      master=$p
      break 2
    fi
  done
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
hwm=0
if [ -n "$master" ]; then
  while kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$master/status" 2>/dev/null) && [ -n "$kb" ]; do
    hwm=$kb
    sleep 0.2
  done
fi
status=0
wait "$pid" || status=$?
pid=
if [ "$status" != 0 ]; then
  echo "bench_master: the study failed (exit $status):" >&2
  tail -5 "$T/err" >&2
  exit 1
fi

rate=$(sed -n 's/.*study complete: .* \([0-9.]*\) trials\/s.*/\1/p' "$T/err")
bytes=$(stat -c %s "$T/master.h5")
times=()
for _ in 1 2 3; do
  t0=$(date +%s%N)
  "$caviar" report "$T/master.h5" >/dev/null
  t1=$(date +%s%N)
  times+=($(((t1 - t0) / 1000000)))
done
report_ms=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)

echo "the master at scale ($trials trivial trials, $ranks ranks on $(nproc) cores, no checkpoints kept):"
sed -n 's/^.*\(study complete: .*\)$/  \1/p' "$T/err"
printf '  %s results/s recorded\n' "$rate"
if [ -n "$master" ]; then
  printf '  master peak memory (VmHWM) %.1f MB\n' "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')"
else
  echo "  master peak memory: rank 0 not found"
fi
printf '  results file %.1f MB: %.1f kB per 1,000 trials\n' \
  "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" "$(awk -v b="$bytes" -v n="$trials" 'BEGIN { print b / n }')"
printf '  caviar report: %d ms (median of 3: %s ms)\n' "$report_ms" "${times[*]}"
