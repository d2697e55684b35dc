#!/usr/bin/env bash
# cli_shared.sh CAVIAR BENCH_MEMORY: one copy of the data per node. A
# Fashion-MNIST study (188 MB of train and dev splits) on 5 ranks: no
# worker holds a private copy of the data (the node's ranks share one
# window), and the ranks' summed Pss is about one copy plus the processes'
# own, not five copies (tests/bench/bench_memory.sh measures).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
bench=$2
bash "$bench" "$caviar" 5 >"$T/mem" 2>"$T/err" || fail "bench_memory.sh: $(tail -n 3 "$T/err")"
cat "$T/mem"
read -r pss master private workers < <(sed -n 's/^5 ranks: Pss summed over the ranks \([0-9]*\) MB (master \([0-9]*\) MB); a worker.s private memory \([0-9]*\) MB on average (\([0-9]*\) workers)$/\1 \2 \3 \4/p' "$T/mem")
[ "${workers:-0}" -eq 4 ] || fail "expected 4 workers measured, got '${workers:-}'"
[ "${private:-999}" -lt 60 ] || fail "a worker holds ${private} MB of its own: a private copy of the data (188 MB)?"
[ "${pss:-9999}" -lt 600 ] || fail "the ranks take ${pss} MB (Pss): more than about one copy of the data (188 MB) per node"
finish
