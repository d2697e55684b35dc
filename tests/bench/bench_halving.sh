#!/usr/bin/env bash
# bench_halving.sh CAVIAR MODE [SECONDS [SEEDS]]: successive halving on the
# default study's space (jobs/fashion-mnist.yaml), side by side, one run
# after the other on the same machine, 2 workers each (mpirun -np 3: the
# master sleeps), each for SECONDS of wall clock (default 300):
#
#   peer    caviar's default study (halving) under --time-limit SECONDS,
#           then the Optuna peer (TPE + Hyperband, PyTorch, optuna_peer.py)
#           for SECONDS: each one's best dev accuracy, the test accuracy of
#           that trial, and when caviar first reached Optuna's best.
#     tests/bench/bench_halving.sh build/caviar peer 300
#   random  for each seed FIRST_SEED..SEEDS (default 1..3): the same space searched at
#           random (every trial 15 epochs, 2 rounds of 32) and by halving,
#           each for SECONDS: best dev accuracy, and the worker-seconds
#           halving needed to reach the random study's best.
#     tests/bench/bench_halving.sh build/caviar random 300 3
#   pbt     for each seed FIRST_SEED..SEEDS: population-based training
#           (population PBT_POPULATION, default 8; generations of 3 epochs
#           to 15; Ray Tune's defaults otherwise) against the default
#           study (halving) and random search, each for SECONDS: best dev
#           accuracy, the test accuracy of that trial, epochs trained.
#     tests/bench/bench_halving.sh build/caviar pbt 150 3
#
# Times come from caviar's progress lines ("best dev_accuracy X (trial N);
# T elapsed"). Not a test: it prints figures. Skips (exit 0) without the
# dataset (and, for peer, without python3-optuna and python3-torch).
set -uo pipefail
caviar=$(realpath "$1")
mode=${2:-peer}
seconds=${3:-300}
seeds=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "bench-halving: skipped (apt-get install dataset-fashion-mnist)"
  exit 0
fi
# the studies' files and logs stay in $T for a look afterwards
T=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/caviar-bench-XXXXXX")}
mkdir -p "$T"
echo "files and logs in $T"

# study NAME JOB: runs JOB on 2 workers under the time limit, in $T/NAME.*
study() {
  mpirun -np 3 --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1 \
    "$caviar" run "$2" -o "$T/$1.h5" --force --time-limit "$seconds" >"$T/$1.log" 2>&1
}

# summary NAME: "best_dev test_of_best trials epochs" of a finished study;
# the test accuracy is caviar predict's for the best trial's checkpoint.
summary() {
  local test
  test=$("$caviar" predict "$T/$1.h5" --trial best 2>&1 | sed -n 's/^accuracy \([0-9.]*\).*/\1/p' | head -n 1)
  $py - "$T/$1.h5" "${test:-nan}" <<'EOF'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
t = f["trials"][:]
t = t[t["status"] == b"done"]
i = int(np.argmax(t["dev_accuracy"]))
# epochs trained: from /segments (a pbt trial's epochs_done counts its parents' too)
s = f["segments"][:]
s = s[s["status"] != b"interrupted"]
print(f"{t['dev_accuracy'][i]:.4f} {sys.argv[2]} {len(t)} {int((s['epochs_done'] - s['from_epoch']).sum())}")
EOF
}

# reached NAME TARGET: the elapsed seconds at which the study's best dev
# accuracy first reached TARGET (from its progress lines), or "never".
reached() {
  $py - "$T/$1.log" "$2" <<'EOF'
import re, sys
target = float(sys.argv[2])
def secs(s):
    s = s.strip()
    if s.endswith(" s"):
        return float(s[:-2])
    parts = [float(p) for p in s.split(":")]
    v = 0.0
    for p in parts:
        v = v * 60 + p
    return v
for line in open(sys.argv[1]):
    m = re.search(r"best dev_accuracy ([0-9.]+) \(trial \d+\); (.+?) elapsed", line)
    if m and float(m.group(1)) >= target:
        print(f"{secs(m.group(2)):.0f}")
        break
else:
    print("never")
EOF
}

job=$root/jobs/fashion-mnist.yaml

# seeded_jobs SEED: $T/halving.yaml (the default job), $T/random.yaml (its
# space searched at random: 32 trials of 15 epochs per round) and
# $T/pbt.yaml (a population of PBT_POPULATION, default 8, in generations of
# 3 epochs to 15), all with study seed SEED.
seeded_jobs() {
  sed -e "s/^  seed: .*/  seed: $1/" "$job" >"$T/halving.yaml"
  sed -e "s/^  seed: .*/  seed: $1/" -e 's/^  method: .*/  method: random/' \
      -e 's/^  trials: .*/  trials: 32/' -e '/^  min_epochs:/d' -e '/^  max_epochs:/d' \
      -e '/^  reduction_factor:/d' -e '/^  brackets:/d' "$job" >"$T/random.yaml"
  sed -e "s/^  seed: .*/  seed: $1/" -e 's/^  method: .*/  method: pbt/' \
      -e "s/^  trials: .*/  population: ${PBT_POPULATION:-8}/" -e '/^  rounds:/d' \
      -e '/^  keep:/d' -e '/^  min_epochs:/d' -e '/^  reduction_factor:/d' \
      -e 's/^  max_epochs: .*/  max_epochs: 15\n  perturbation_interval: 3/' "$job" >"$T/pbt.yaml"
}

case $mode in
peer)
  if ! "$py" -c 'import optuna, torch' 2>/dev/null; then
    echo "bench-halving peer: skipped (apt-get install python3-optuna python3-torch)"
    exit 0
  fi
  study halving "$job"
  read -r c_dev c_test c_trials c_epochs < <(summary halving)
  "$py" "$here/optuna_peer.py" --seconds "$seconds" --workers 2 --out "$T/optuna.json" \
    >/dev/null 2>"$T/optuna.log"
  read -r o_dev o_test o_done o_pruned < <($py - "$T/optuna.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
f = lambda v: "-" if v is None else "%.4f" % v
print(f(j["best_dev_accuracy"]), f(j["test_accuracy_of_best"]), j["complete"], j["pruned"])
EOF
)
  at=never
  [ "$o_dev" = - ] || at=$(reached halving "$o_dev")
  echo "side by side, $seconds s of wall clock each, 2 workers of one thread"
  printf '%-34s %10s %10s %s\n' "" "best dev" "its test" "trials"
  printf '%-34s %10s %10s %s\n' "caviar (halving, jobs/fashion-mnist.yaml)" "$c_dev" "$c_test" "$c_trials trials, $c_epochs epochs"
  printf '%-34s %10s %10s %s\n' "Optuna TPE + Hyperband (PyTorch)" "$o_dev" "$o_test" "$o_done complete + $o_pruned pruned"
  echo "caviar reached Optuna's best ($o_dev) after: $at s"
  ;;
random)
  echo "halving against random, $seconds s of wall clock each (2 workers: $((2 * seconds)) worker-seconds)"
  printf '%-5s %-10s %9s %9s %8s %s\n' "seed" "method" "best dev" "its test" "epochs" "halving reached random's best after"
  for seed in $(seq "${FIRST_SEED:-1}" "$seeds"); do
    seeded_jobs "$seed"
    study random "$T/random.yaml"
    read -r r_dev r_test _ r_epochs < <(summary random)
    study halving "$T/halving.yaml"
    read -r h_dev h_test _ h_epochs < <(summary halving)
    at=$(reached halving "$r_dev")
    printf '%-5s %-10s %9s %9s %8s\n' "$seed" random "$r_dev" "$r_test" "$r_epochs"
    if [ "$at" = never ]; then
      printf '%-5s %-10s %9s %9s %8s %s\n' "$seed" halving "$h_dev" "$h_test" "$h_epochs" "never"
    else
      printf '%-5s %-10s %9s %9s %8s %s\n' "$seed" halving "$h_dev" "$h_test" "$h_epochs" "$at s ($((2 * at)) worker-seconds)"
    fi
  done
  ;;
pbt)
  echo "pbt against halving and random, $seconds s of wall clock each (2 workers: $((2 * seconds)) worker-seconds)"
  printf '%-5s %-10s %9s %9s %8s %s\n' "seed" "method" "best dev" "its test" "epochs" "trials"
  for seed in $(seq "${FIRST_SEED:-1}" "$seeds"); do
    seeded_jobs "$seed"
    for m in random halving pbt; do
      study "$m" "$T/$m.yaml"
      read -r dev test trials epochs < <(summary "$m")
      printf '%-5s %-10s %9s %9s %8s %s\n' "$seed" "$m" "$dev" "$test" "$epochs" "$trials"
    done
  done
  ;;
*)
  echo "usage: bench_halving.sh CAVIAR peer|random|pbt [SECONDS [SEEDS]]" >&2
  exit 2
  ;;
esac
