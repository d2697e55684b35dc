#!/usr/bin/env bash
# cli_stuck.sh CAVIAR: a worker that stops answering (SIGSTOP: a stalled
# filesystem or a wedged driver looks the same to the master) does not stop
# the study. Past its segment's deadline (trial_timeout) the master gives up
# on the rank, sends the trial to another worker, finishes the study, closes
# the file, and ends the job (MPI_Abort: MPI_Finalize would wait for the
# stopped rank forever). The table equals a 1-rank run's.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

mkdir -p "$T/data"
blobs_csv "$T/data/blobs.csv" 600
cat >"$T/job.yaml" <<YAML
name: stuck
data: {source: data/blobs.csv, dev_size: 0.2}
search: {trials: 12, seed: 4}
trial_timeout: 4
parameters:
  epochs: 150
  hidden_units: 32
  batch_size: 16
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 1.0e-1}
YAML

expect_status 0 "1 rank" -- "$caviar" run "$T/job.yaml" -o "$T/one.h5"
"$PY" "$here/table.py" "$T/one.h5" >"$T/one.table" || fail "cannot read the 1-rank table"

# 3 ranks; once rank 2 has a trial in hand (the file has a row), it is stopped
mpirun -np 3 --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1 \
  "$caviar" run "$T/job.yaml" -o "$T/three.h5" >"$T/out" 2>"$T/err" &
pid=$!
victim=$(await_rank "$pid" 2 "$T/three.h5")
if [ -z "$victim" ]; then
  fail "no rank 2 found"
  kill "$pid" 2>/dev/null
else
  sleep 0.3
  kill -STOP "$victim"
  started=$(date +%s)
  for _ in $(seq 1 1200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  took=$(($(date +%s) - started))
  if kill -0 "$pid" 2>/dev/null; then
    fail "the job did not end within 120 s of the stop"
    kill -9 "$pid" 2>/dev/null
  fi
  wait "$pid"
  echo "the job ended ${took} s after rank 2 was stopped (mpirun's status $?)"
  kill -9 "$victim" 2>/dev/null
  expect_grep "^caviar: rank 2 has not finished trial [0-9]+ in [0-9]+ s \(its deadline: 4 s\): the rank is given up on, and the trial goes to another worker$" "$T/err" "the give-up"
  expect_grep "^study complete: 12 of 12 trials finished" "$T/err" "the study completed"
  expect_grep "^caviar: 1 of 2 workers given up on" "$T/err" "the end"
  expect_grep "^rank +trial" "$T/out" "the leaderboard"
  "$PY" "$here/table.py" "$T/three.h5" --check >"$T/three.table" 2>"$T/check" \
    || fail "the file after a stuck worker: $(tail -n 2 "$T/check")"
  diff "$T/one.table" "$T/three.table" >/dev/null || { fail "the table differs from the 1-rank run's"; diff "$T/one.table" "$T/three.table" | head -n 6 >&2; }
fi
finish
