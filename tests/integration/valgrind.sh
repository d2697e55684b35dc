#!/usr/bin/env bash
# valgrind.sh CAVIAR SUPPRESSIONS: valgrind memcheck over a small study and
# what follows it: `caviar run` (1 rank: the master trains, writes rows,
# side-file checkpoints, gathers them and scores the test set), `caviar
# resume` of a study stopped by SIGTERM, `caviar predict`, `caviar train
# --from` (continuing a trial into a new file), `caviar report`, `caviar
# validate` and `caviar sample`. Every one must end with no memcheck error and
# no leak outside the libraries SUPPRESSIONS names (OpenMPI's runtime;
# Debian's openmpi-valgrind.supp is used too), in caviar's process and in
# the child processes that read HDF5 files for it. About a minute.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
supp=$2
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 1; }
# one BLAS thread; no re-exec for OpenBLAS's core type, so that valgrind
# follows the process that does the work
export OPENBLAS_NUM_THREADS=1 CAVIAR_BLAS_KEEP=1
vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,possible
    --num-callers=40 --suppressions="$supp")
[ -f /usr/share/openmpi/openmpi-valgrind.supp ] \
  && vg+=(--suppressions=/usr/share/openmpi/openmpi-valgrind.supp)

mkdir -p "$T/data"
blobs_csv "$T/data/train.csv" 150
blobs_csv "$T/data/test.csv" 30
cat >"$T/job.yaml" <<YAML
name: vg
data: {source: data/train.csv, test: data/test.csv, dev_size: 0.2}
search: {trials: 2, rounds: 2, seed: 3}
checkpoints: {keep: 2}
parameters:
  epochs: 3
  batch_size: 16
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 0.1}
  hidden_units: {values: [8, 16]}
  optimizer: {values: [adam, momentum]}
YAML

# memcheck NAME CAVIAR-ARGS...: runs caviar under valgrind; fails on an error.
memcheck() {
  local name=$1
  shift
  "${vg[@]}" --log-file="$T/$name.vg" "$caviar" "$@" >"$T/$name.out" 2>"$T/$name.err"
  local rc=$?
  local summary
  summary=$(grep -h 'ERROR SUMMARY' "$T/$name.vg" | tail -n 1 | sed 's/^==[0-9]*== //')
  # every process (caviar and the child processes that read HDF5 files for
  # it) ends with no error
  if [ "$rc" -eq 99 ] || ! grep -q 'ERROR SUMMARY: 0 errors' "$T/$name.vg" ||
     grep 'ERROR SUMMARY' "$T/$name.vg" | grep -vq 'ERROR SUMMARY: 0 errors'; then
    fail "$name: $summary"
    grep -E -A12 '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|.*definitely lost|.*possibly lost)' \
      "$T/$name.vg" | head -n 40 >&2
  elif [ "$rc" -ne 0 ]; then
    fail "$name: exit status $rc"
    tail -n 3 "$T/$name.err" >&2
  fi
  grep -q "Command: $caviar" "$T/$name.vg" || fail "$name: valgrind did not run caviar"
  echo "$name: $summary"
}

memcheck run run "$T/job.yaml" -o "$T/r.h5"
expect_grep 'study complete: 4 of 4' "$T/run.err" "run"
memcheck predict predict "$T/r.h5" --data "$T/data/test.csv" -o "$T/pred.csv"
memcheck train-from train --from "$T/r.h5" --trial best --set epochs=2 -o "$T/t.h5"
memcheck report report "$T/r.h5" --svg "$T/svg"
memcheck validate validate "$T/job.yaml"
memcheck sample sample "$T/job.yaml" -n 3 --all

# A study stopped by SIGTERM after its first trial, then resumed.
sed 's/epochs: 3/epochs: 40/' "$T/job.yaml" >"$T/long.yaml"
"${vg[@]}" --log-file="$T/stopped.vg" "$caviar" run "$T/long.yaml" -o "$T/s.h5" \
  >"$T/stopped.out" 2>"$T/stopped.err" &
pid=$!
for _ in $(seq 1 600); do
  grep -q '^\[1/4\]' "$T/stopped.err" 2>/dev/null && break
  sleep 0.1
done
kill -TERM "$pid"
wait "$pid"
grep -q 'ERROR SUMMARY: 0 errors' "$T/stopped.vg" || fail "stopped run: $(grep -h 'ERROR SUMMARY' "$T/stopped.vg")"
memcheck resume resume "$T/s.h5"
expect_grep 'study complete: 4 of 4' "$T/resume.err" "resume"
finish
