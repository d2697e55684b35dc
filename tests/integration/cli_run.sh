#!/usr/bin/env bash
# cli_run.sh CAVIAR: `caviar run` and `caviar resume` under mpirun on a small
# study: every trial once with its curves and checkpoints; the same table on
# 1, 2 and 3 ranks; a study killed with SIGKILL, or stopped by SIGTERM, and
# resumed (also while an h5py reader holds the file open) ends with the table
# of an uninterrupted run; a diverging trial is
# recorded as diverged and the study goes on.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { local np=$1; shift; mpirun -np "$np" --oversubscribe --bind-to none "$@"; }

mkdir -p "$T/data"
blobs_csv "$T/data/blobs.csv" 900
cat >"$T/study.yaml" <<YAML
name: blobs-study
data:
  source: data/blobs.csv
  dev_size: 0.2
search:
  trials: 8
  rounds: 2
  keep: 0.25
  seed: 5
checkpoints: {keep: 3}
parameters:
  epochs: 4
  batch_size: 32
  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0}
  hidden_units: {values: [8, 16, 32]}
  beta1: {distribution: one_minus_log_uniform, min: 0.8, max: 0.99}
YAML

# 3 ranks: master + 2 workers
expect_status 0 "run -np 3" -- mpi 3 "$caviar" run "$T/study.yaml" -o "$T/r3.h5"
expect_grep 'study complete: 16 of 16 trials' "$T/err" "run -np 3"
expect_grep '^rank +trial' "$T/out" "leaderboard"
"$py" "$here/table.py" "$T/r3.h5" --check >"$T/t3" 2>"$T/check" || { fail "r3.h5 invariants"; cat "$T/check" >&2; }
[ "$(wc -l <"$T/t3")" -eq 16 ] || fail "r3.h5: expected 16 trial rows"
h5dump -H "$T/r3.h5" >/dev/null || fail "h5dump r3.h5"

# the same study on 1 and 2 ranks: the same table
expect_status 0 "run -np 1" -- mpi 1 "$caviar" run "$T/study.yaml" -o "$T/r1.h5"
expect_status 0 "run -np 2" -- mpi 2 "$caviar" run "$T/study.yaml" -o "$T/r2.h5"
"$py" "$here/table.py" "$T/r1.h5" >"$T/t1"
"$py" "$here/table.py" "$T/r2.h5" >"$T/t2"
diff -q "$T/t1" "$T/t3" >/dev/null || { fail "1 and 3 ranks give different tables"; diff "$T/t1" "$T/t3" | head -5 >&2; }
diff -q "$T/t2" "$T/t3" >/dev/null || fail "2 and 3 ranks give different tables"

# an existing results file is not overwritten without --force
expect_status 2 "run over an existing file" -- mpi 1 "$caviar" run "$T/study.yaml" -o "$T/r3.h5"
expect_grep 'r3.h5' "$T/err" "run over an existing file"

# kill -9 the whole job mid-study, then resume: the uninterrupted table
sed 's/epochs: 4/epochs: 1200/' "$T/study.yaml" >"$T/long.yaml"
expect_status 0 "long reference" -- mpi 3 "$caviar" run "$T/long.yaml" -o "$T/long-ref.h5"
"$py" "$here/table.py" "$T/long-ref.h5" >"$T/tref"
setsid bash -c "exec mpirun -np 3 --oversubscribe --bind-to none '$caviar' run '$T/long.yaml' -o '$T/killed.h5'" \
  >"$T/kill.out" 2>"$T/kill.err" &
pid=$!
for _ in $(seq 1 200); do
  # wait until some trials are in: the file holds rows
  n=$("$py" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r',libver='latest',swmr=True); print(len(f['trials']))" "$T/killed.h5" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 3 ] && break
  sleep 0.1
done
{ kill -9 -- -"$pid"; wait "$pid"; } 2>/dev/null
# the killed ranks may outlive mpirun by a moment (and hold the writer's lock)
for _ in $(seq 1 100); do pgrep -f "run $T/long.yaml -o $T/killed.h5" >/dev/null || break; sleep 0.1; done
[ "${n:-0}" -ge 3 ] || fail "kill -9: the study never wrote 3 rows"
expect_status 0 "resume after kill -9" -- mpi 3 "$caviar" resume "$T/killed.h5"
"$py" "$here/table.py" "$T/killed.h5" --check >"$T/tkilled" 2>"$T/check" || { fail "killed.h5 invariants"; cat "$T/check" >&2; }
diff -q "$T/tref" "$T/tkilled" >/dev/null || { fail "resumed table differs from the uninterrupted one"; diff "$T/tref" "$T/tkilled" | head -5 >&2; }

# A clean stop, then resume finishes: SIGUSR1 to mpirun (which forwards it
# to every rank and lets the job end by itself), SIGTERM to a single rank.
wait_rows() { # FILE N: until FILE holds N trial rows (at most 20 s)
  local n=0
  for _ in $(seq 1 200); do
    n=$("$py" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r',libver='latest',swmr=True); print(len(f['trials']))" "$1" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
mpirun -np 3 --oversubscribe --bind-to none "$caviar" run "$T/long.yaml" -o "$T/termed.h5" >"$T/term.out" 2>"$T/term.err" &
pid=$!
wait_rows "$T/termed.h5" 2 || fail "SIGTERM: the study never wrote 2 rows"
kill -USR1 "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || fail "SIGUSR1 under mpirun: exit status $rc, expected 0"
expect_grep 'study stopped: .*resume with: caviar resume' "$T/term.err" "SIGUSR1 under mpirun"
"$py" -c "import h5py,sys; h5py.File(sys.argv[1],'r')" "$T/termed.h5" || fail "SIGUSR1: file does not open plainly"
# an analyst's notebook holds the file open (h5py, plainly): resume goes on
"$py" -c "import h5py,sys,time; f=h5py.File(sys.argv[1],'r'); print(len(f['trials']), flush=True); time.sleep(60)" \
  "$T/termed.h5" >"$T/reader.out" 2>&1 &
reader=$!
for _ in $(seq 1 100); do [ -s "$T/reader.out" ] && break; sleep 0.1; done
expect_status 0 "resume after SIGUSR1, a reader holding the file" -- mpi 2 "$caviar" resume "$T/termed.h5"
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
"$py" "$here/table.py" "$T/termed.h5" >"$T/ttermed"
diff -q "$T/tref" "$T/ttermed" >/dev/null || { fail "table after SIGUSR1 + resume differs"; diff "$T/tref" "$T/ttermed" | head -5 >&2; }

"$caviar" run "$T/long.yaml" -o "$T/termed1.h5" >"$T/term1.out" 2>"$T/term1.err" &
pid=$!
wait_rows "$T/termed1.h5" 1 || fail "SIGTERM (1 rank): the study never wrote a row"
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || fail "SIGTERM (1 rank): exit status $rc, expected 0"
expect_grep 'study stopped' "$T/term1.err" "SIGTERM (1 rank)"
expect_status 0 "resume after SIGTERM (1 rank)" -- mpi 3 "$caviar" resume "$T/termed1.h5"
"$py" "$here/table.py" "$T/termed1.h5" >"$T/ttermed1"
diff -q "$T/tref" "$T/ttermed1" >/dev/null || fail "table after SIGTERM (1 rank) + resume differs"

# a diverging trial is recorded and the study goes on
cat >"$T/diverge.yaml" <<YAML
data: {source: data/blobs.csv, dev_size: 0.2}
search: {method: grid, seed: 2}
parameters:
  epochs: 3
  optimizer: sgd
  batch_norm: false
  learning_rate: {values: [1.0e+6, 0.05]}
YAML
expect_status 0 "diverging study" -- mpi 3 "$caviar" run "$T/diverge.yaml" -o "$T/div.h5"
"$py" "$here/table.py" "$T/div.h5" >"$T/tdiv"
grep -q 'status=diverged' "$T/tdiv" || fail "no diverged trial recorded"
grep -q 'status=done' "$T/tdiv" || fail "no trial done beside the diverged ones"

finish
