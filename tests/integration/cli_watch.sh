#!/usr/bin/env bash
# cli_watch.sh CAVIAR: `caviar watch` on a study while it runs (3 ranks):
# started before the results file exists, it waits for it, prints a block
# whenever trials have finished (rows appear: the finished count grows),
# and exits 0 once the study ends, with the final table; the study ends
# cleanly although watch holds the file open as a SWMR reader. A study
# stopped by SIGTERM ends the watch with the resume hint. Bad usage: 2.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

mkdir -p "$T/data"
blobs_csv "$T/data/blobs.csv" 3000
# trials of a few tenths of a second each: the study lasts a few seconds
cat >"$T/study.yaml" <<YAML
name: watched
data: {source: data/blobs.csv, dev_size: 0.2}
search: {trials: 8, rounds: 2, keep: 0.25, seed: 3}
checkpoints: {keep: 2}
parameters:
  epochs: 300
  batch_size: 16
  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0e-1}
  hidden_units: {values: [16, 32]}
YAML

# watch first: it waits for the file the run creates
timeout 120 "$caviar" watch "$T/w.h5" --interval 0.3 --top 5 >"$T/watch.out" 2>"$T/watch.err" &
watch_pid=$!
sleep 0.5
mpirun -np 3 --oversubscribe --bind-to none "$caviar" run "$T/study.yaml" -o "$T/w.h5" \
  >"$T/run.out" 2>"$T/run.err"
run_rc=$?
wait "$watch_pid"
watch_rc=$?
[ "$run_rc" -eq 0 ] || { fail "the watched study: exit status $run_rc"; tail -n 5 "$T/run.err" >&2; }
[ "$watch_rc" -eq 0 ] || { fail "watch: exit status $watch_rc"; cat "$T/watch.err" >&2; }
expect_grep 'waiting for .*w.h5 to appear' "$T/watch.err" "watch before the file exists"
expect_grep '^study complete: 16 of 16 trials finished$' "$T/watch.out" "watch's last line"
[ "$(tail -n 1 "$T/watch.out")" = "study complete: 16 of 16 trials finished" ] || fail "watch: not its last line"
# rows appear: the finished counts of successive blocks grow, from below 16 to 16
grep -oE '\] [0-9]+/16 trials' "$T/watch.out" | grep -oE '[0-9]+/' | tr -d / >"$T/counts"
blocks=$(wc -l <"$T/counts")
[ "$blocks" -ge 3 ] || { fail "watch printed $blocks blocks, expected several"; cat "$T/watch.out" >&2; }
sort -n -c "$T/counts" 2>/dev/null || fail "watch: finished counts go down: $(tr '\n' ' ' <"$T/counts")"
[ "$(head -n 1 "$T/counts")" -lt 16 ] || fail "watch never saw the study before its end"
[ "$(tail -n 1 "$T/counts")" -eq 16 ] || fail "watch's last block is not 16/16"
expect_grep '^rank +trial +round +learning_rate +hidden_units' "$T/watch.out" "watch leaderboard"
expect_grep '^in flight: trial [0-9]+ epoch [0-9]+' "$T/watch.out" "watch: trials in flight"
# the last block's leaderboard is the final one: 5 rows, best first as report ranks them
"$caviar" report "$T/w.h5" --top 5 | awk '/^rank +trial/ {on = 1; next} on && /^[0-9]+ / {print $2}' >"$T/want"
tac "$T/watch.out" | awk '/^[0-9]+ / {print $2} /^rank +trial/ {exit}' | tac >"$T/got"
diff -q "$T/want" "$T/got" >/dev/null || { fail "watch's final leaderboard differs from report's"; paste "$T/got" "$T/want" >&2; }
h5dump -H "$T/w.h5" >/dev/null || fail "the watched file does not open plainly"

# a study stopped by SIGTERM: watch ends and says how to finish it
sed 's/epochs: 300/epochs: 30000/' "$T/study.yaml" >"$T/long.yaml"
mpirun -np 3 --oversubscribe --bind-to none "$caviar" run "$T/long.yaml" -o "$T/s.h5" \
  >"$T/srun.out" 2>"$T/srun.err" &
run_pid=$!
for _ in $(seq 1 100); do [ -f "$T/s.h5" ] && break; sleep 0.1; done
timeout 60 "$caviar" watch "$T/s.h5" --interval 0.3 >"$T/swatch.out" 2>"$T/swatch.err" &
watch_pid=$!
sleep 2
kill -TERM "$run_pid"
wait "$run_pid"
wait "$watch_pid" || fail "watch of a stopped study: exit status $?"
expect_grep 'study stopped before its end .*caviar resume .*s.h5' "$T/swatch.out" "watch of a stopped study"

expect_status 2 "watch without a file" -- "$caviar" watch
expect_status 2 "watch --interval 0" -- "$caviar" watch "$T/w.h5" --interval 0
expect_status 2 "watch on a CSV" -- "$caviar" watch "$T/data/blobs.csv"
expect_grep 'not an HDF5 file' "$T/err" "watch on a CSV"

finish
