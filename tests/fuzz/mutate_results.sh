#!/usr/bin/env bash
# mutate_results.sh BUILDDIR [N] [SEED]: damaged copies of a real results file
# against caviar's readers.
#
# Runs a small study (3 trials with checkpoints) into a results file, writes
# N copies of it with 1 to 8 random bytes changed (mutate.py, seeded), and
# runs on each copy
#   - the results fuzz target's reader in this process (BUILDDIR/tests/fuzz/
#     replay_results, child processes off): how often HDF5 itself crashes or
#     loops on such files;
#   - `caviar report` and `caviar predict` as users run them: each must end
#     with exit status 0, 1 or 2 within 60 s, never die of a signal.
# Prints the counts. A copy on which caviar died or hung is kept in
# build-fuzz/mutants-failed/ and makes the exit status 1; copies that crash
# the in-process reader are kept in build-fuzz/mutants-hdf5/ (candidates for
# tests/fuzz/hdf5-crashes/results/). Complements the libFuzzer target, whose
# small synthetic corpus rarely reaches the checkpoint groups of a real file.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: mutate_results.sh BUILDDIR [N] [SEED]}" && pwd)
n=${2:-1000}
seed=${3:-1}
caviar=$build/caviar
replay=$build/tests/fuzz/replay_results
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1
T=$(mktemp -d "${TMPDIR:-/tmp}/caviar-mutate-XXXXXX")
trap 'rm -rf "$T"' EXIT

awk 'BEGIN { srand(3); print "label,a,b,c";
  for (i = 0; i < 300; i++) { k = i % 3; printf "%d,%.3f,%.3f,%.3f\n", k, k + rand(), rand(), k * rand() } }' >"$T/data.csv"
cat >"$T/job.yaml" <<YAML
name: mutate
data: {source: data.csv, dev_size: 0.2}
search: {trials: 3, seed: 1}
checkpoints: {keep: 2}
parameters:
  epochs: 2
  hidden_units: 4
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 1.0e-1}
YAML
(cd "$T" && "$caviar" run job.yaml -o ref.h5 >/dev/null 2>&1) || { echo "mutate_results.sh: the study failed"; exit 1; }

mkdir -p "$root/build-fuzz/mutants-failed" "$root/build-fuzz/mutants-hdf5"
inproc_crash=0 inproc_hang=0 died=0 hung=0 refused=0 read=0
for ((i = 0; i < n; i++)); do
  d=$T/m
  rm -rf "$d"
  mkdir -p "$d"
  $PY "$root/tests/fuzz/mutate.py" "$T/ref.h5" "$d/results.h5" $((seed * 1000003 + i)) || exit 1
  timeout 60 "$replay" "$d" >/dev/null 2>&1
  rc=$?
  if [ "$rc" -eq 124 ]; then
    inproc_hang=$((inproc_hang + 1))
  elif [ "$rc" -ge 128 ]; then
    inproc_crash=$((inproc_crash + 1))
    cp "$d/results.h5" "$root/build-fuzz/mutants-hdf5/s${seed}-$i.h5"
  fi
  for cmd in report predict; do
    (cd "$T" && timeout 60 "$caviar" "$cmd" m/results.h5 >/dev/null 2>"$T/err")
    rc=$?
    if [ "$rc" -eq 124 ]; then
      hung=$((hung + 1))
      cp "$d/results.h5" "$root/build-fuzz/mutants-failed/s${seed}-$i-$cmd-hang.h5"
    elif [ "$rc" -ge 128 ]; then
      died=$((died + 1))
      cp "$d/results.h5" "$root/build-fuzz/mutants-failed/s${seed}-$i-$cmd-$rc.h5"
    elif [ "$rc" -eq 0 ]; then
      read=$((read + 1))
    else
      refused=$((refused + 1))
    fi
  done
done
echo "$n damaged copies (seed $seed): in-process reader crashed on $inproc_crash, hung on $inproc_hang;" \
  "caviar report + predict ($((2 * n)) runs): $read read, $refused refused with a message," \
  "$died died of a signal, $hung hung"
[ "$died" -eq 0 ] && [ "$hung" -eq 0 ]
