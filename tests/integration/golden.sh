#!/usr/bin/env bash
# golden.sh CAVIAR: results files bit-identical to those of the reference code.
#
# tests/integration/golden/ holds results files written by caviar at commit
# 0a8e74a (see golden/README.txt) on a small study and a panda-mode job. This
# test runs the same commands with CAVIAR into a scratch directory and
# compares every result with golden_check.py (bit for bit, but for timing and
# rank assignment):
#   1. caviar run study.yaml                  (1 rank, no mpirun)  run_1rank.h5
#   2. mpirun -np 3 caviar run study.yaml                          run_3ranks.h5
#   3. the same killed with SIGKILL mid-study (4 trials recorded), then
#      mpirun -np 3 caviar resume: the uninterrupted table          run_3ranks.h5
#   4. caviar train panda.yaml -o train.h5                          train.h5
#   5. caviar train --from train.h5 --trial 0 --set learning_rate=0.002 -o D.h5
#                                                                   train_from.h5
#      and the same without -o (appended to a copy of train.h5)     train_append.h5
# Training results depend on the BLAS kernels: the references were made with
# the OpenBLAS core type and version in golden/blas.txt; on a machine where
# caviar would use other ones the test is skipped (exit 77). About 15 s (25 s
# on a busy machine).
#
# GOLDEN_MAKE=1 golden.sh CAVIAR makes the references instead: the same
# commands, their files copied into golden/ and golden/blas.txt written (case
# 3 is still compared, with the reference just made).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
G=$here/golden
CHECK=$here/golden_check.py
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi3() { mpirun --allow-run-as-root --oversubscribe -np 3 "$@"; }
make=${GOLDEN_MAKE:-}

# ---- the BLAS kernels: those the references were made with, or skip -----------
mapfile -t blas < <($PY "$CHECK" core "$caviar")
[ "${#blas[@]}" -eq 2 ] || { echo "golden: cannot tell the OpenBLAS core type of $caviar" >&2; exit 1; }
if [ -n "$make" ]; then
  printf 'core=%s\nopenblas=%s\ncpu=%s\n' "${blas[0]}" "${blas[1]}" \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" >"$G/blas.txt"
else
  want_core=$(sed -n 's/^core=//p' "$G/blas.txt")
  want_version=$(sed -n 's/^openblas=//p' "$G/blas.txt")
  if [ "${blas[0]}" != "$want_core" ] || [ "${blas[1]}" != "$want_version" ]; then
    echo "SKIP: the golden results were made with OpenBLAS $want_version's $want_core kernels;" \
      "caviar would use OpenBLAS ${blas[1]}'s ${blas[0]} kernels here, whose results differ in the" \
      "last bits (set OPENBLAS_CORETYPE=$want_core to compare anyway, if the CPU runs them)"
    exit 77
  fi
  echo "OpenBLAS ${blas[1]}, ${blas[0]} kernels: as the references"
fi

# compare NAME REF [--resumed]: $T/NAME against the reference golden/REF.
compare() {
  local name=$1 ref=$2
  shift 2
  if [ -n "$make" ] && [ "$name" = "$ref" ]; then
    cp "$T/$name" "$G/$ref"
    return
  fi
  $PY "$CHECK" compare "$G/$ref" "$T/$name" "$@" >"$T/diff" 2>&1 || fail "$name: differs from golden/$ref"
  cat "$T/diff"
}

# ok WHAT -- COMMAND...: COMMAND must exit 0 (its output in $T/out, $T/err).
ok() {
  local what=$1
  shift 2
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  [ "$rc" -eq 0 ] && return 0
  fail "$what: exit status $rc"
  tail -n 5 "$T/err" | sed 's/^/  stderr: /' >&2
  return 1
}

# kill_session SID: SIGKILL to every process of session SID until none is left.
kill_session() {
  local pids
  for _ in $(seq 1 100); do
    pids=$(ps -o pid= -s "$1" 2>/dev/null | tr -d ' ' | tr '\n' ' ')
    [ -n "${pids// /}" ] || return 0
    kill -9 $pids 2>/dev/null # (word splitting intended)
    sleep 0.05
  done
  fail "session $1 would not die: $pids"
}
sid=
trap '[ -n "$sid" ] && kill_session "$sid"; rm -rf "$T"' EXIT

t0=$SECONDS
# 1. a study on 1 rank
ok "run (1 rank)" -- "$caviar" run "$G/study.yaml" -o "$T/run_1rank.h5" &&
  compare run_1rank.h5 run_1rank.h5

# 2. the same study on 3 ranks (master + 2 workers)
ok "run (3 ranks)" -- mpi3 "$caviar" run "$G/study.yaml" -o "$T/run_3ranks.h5" &&
  compare run_3ranks.h5 run_3ranks.h5

# 3. killed with SIGKILL (mpirun and every rank) once 4 of its 12 trials are in
# the file, then resumed: the table of the uninterrupted run. A kill that
# comes too late (the study done) is tried again.
K=$T/run_killed.h5
killed=0
for attempt in 1 2 3; do
  rm -rf "$K" "$K.ckpt"
  setsid mpirun --allow-run-as-root --oversubscribe -np 3 "$caviar" run "$G/study.yaml" -o "$K" \
    >"$T/kill.out" 2>"$T/kill.err" &
  sid=$!
  $PY "$CHECK" wait-rows "$K" 4 "$sid" 60
  { kill_session "$sid"; wait "$sid"; } 2>/dev/null
  sid=
  n=$($PY "$CHECK" rows "$K")
  if [ "$n" -ge 4 ] && [ "$n" -lt 12 ]; then
    killed=1
    echo "killed with $n of 12 trials recorded"
    break
  fi
  echo "attempt $attempt: the kill found $n of 12 trials recorded; again" >&2
done
if [ "$killed" -eq 1 ]; then
  ok "resume after kill -9" -- mpi3 "$caviar" resume "$K" &&
    compare run_killed.h5 run_3ranks.h5 --resumed
else
  fail "could not kill the study mid-way (3 attempts)"
  tail -n 5 "$T/kill.err" >&2
fi

# 4. panda mode: one fixed configuration
ok "train -o" -- "$caviar" train "$G/panda.yaml" -o "$T/train.h5" &&
  compare train.h5 train.h5

# 5. continuing trial 0 with another learning rate: into a new file, and
# appended to the file it came from (a copy of case 4's)
if [ -f "$T/train.h5" ]; then
  ok "train --from -o" -- "$caviar" train --from "$T/train.h5" --trial 0 --set learning_rate=0.002 \
    -o "$T/train_from.h5" && compare train_from.h5 train_from.h5
  cp "$T/train.h5" "$T/train_append.h5"
  ok "train --from (append)" -- "$caviar" train --from "$T/train_append.h5" --trial 0 \
    --set learning_rate=0.002 && compare train_append.h5 train_append.h5
fi

echo "$((SECONDS - t0)) s"
finish
