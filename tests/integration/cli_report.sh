#!/usr/bin/env bash
# cli_report.sh CAVIAR: `caviar report` on a study run in the test (3 ranks,
# two coarse-to-fine rounds): the leaderboard is the trials table sorted by
# the metric (ties by trial id), the status counts and time figures are
# there, each searched parameter has its bins, the rounds their regions; the
# suggested next region pasted into a job passes `caviar validate`; every
# SVG is well-formed XML (xmllint) with one mark per trial; a `train -o`
# file and bad usage are handled.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { local np=$1; shift; mpirun -np "$np" --oversubscribe --bind-to none "$@"; }

# Overlapping classes, so that trials differ in accuracy (blobs_csv's are
# separated well enough for every trial to reach 1.0).
mkdir -p "$T/data"
awk 'BEGIN {
  srand(11); print "label,a,b,c,d";
  for (i = 0; i < 600; i++) {
    k = i % 3;
    printf "%d,%.4f,%.4f,%.4f,%.4f\n", k, 0.8*k + 2*rand(), -0.5*k + 2*rand(), rand(), 0.3*k*k + 2*rand();
  }
}' >"$T/data/noisy.csv"
cat >"$T/study.yaml" <<YAML
name: report-study
data:
  source: data/noisy.csv
  dev_size: 0.25
search:
  trials: 8
  rounds: 2
  keep: 0.25
  seed: 9
checkpoints: {keep: 3}
parameters:
  epochs: 3
  batch_size: 32
  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0}
  beta1: {distribution: one_minus_log_uniform, min: 0.8, max: 0.999}
  layers: {distribution: int_uniform, min: 1, max: 2}
  hidden_units: {values: [8, 16, 32]}
YAML

expect_status 0 "run" -- mpi 3 "$caviar" run "$T/study.yaml" -o "$T/r.h5"
expect_status 0 "report" -- "$caviar" report "$T/r.h5" --top 16 --svg "$T/figs"
cp "$T/out" "$T/report"
expect_grep '^trials: 16 finished of 16 planned: [0-9]+ done, [0-9]+ diverged, 0 failed, 0 interrupted$' "$T/report" "status counts"
expect_grep '^time: wall .*worker utilization [0-9]+%$' "$T/report" "time figures"
expect_grep '^leaderboard: the best 16 of 16 trials by dev_accuracy$' "$T/report" "leaderboard title"
expect_grep '^rank +trial +round +learning_rate +beta1 +layers +hidden_units +dev_acc' "$T/report" "leaderboard columns"
expect_grep '^  learning_rate +[0-9.]+% +[0-9.]+%' "$T/report" "importance"
expect_grep '^  learning_rate \(log_uniform, 5 bins on log10 x\)$' "$T/report" "learning_rate bins"
expect_grep '^  beta1 \(one_minus_log_uniform, 5 bins on log10\(1 - x\)\)$' "$T/report" "beta1 bins"
expect_grep '^  layers \(int_uniform, 2 bins on linear\)$' "$T/report" "layers: a bin per value"
expect_grep '^  hidden_units \(values\)$' "$T/report" "hidden_units per value"
expect_grep '^  learning_rate +\[0.0001, 1\] +\[' "$T/report" "round regions"
expect_grep '^parameters:$' "$T/report" "suggested region"

# the leaderboard's order is the trials table sorted by dev_accuracy
# (higher first, ties by trial id; trials without a metric last)
awk '/^rank +trial/ {on = 1; next} on && /^[0-9]+ / {print $2} on && !/^[0-9]+ / {on = 0}' \
  "$T/report" >"$T/board"
$PY - "$T/r.h5" >"$T/sorted" <<'PY'
import math, sys, h5py
t = h5py.File(sys.argv[1], "r")["trials"][:]
def key(r):
    m = float(r["dev_accuracy"])
    bad = r["status"].decode().rstrip("\0") in ("failed", "interrupted") or math.isnan(m)
    return (bad, 0.0 if bad else -m, int(r["trial"]))
for r in sorted(t, key=key):
    print(int(r["trial"]))
PY
[ "$(wc -l <"$T/board")" -eq 16 ] || fail "leaderboard: $(wc -l <"$T/board") rows, expected 16"
diff -q "$T/board" "$T/sorted" >/dev/null \
  || { fail "leaderboard order differs from the sorted table"; paste "$T/board" "$T/sorted" | head >&2; }
expect_status 0 "report --top 3" -- "$caviar" report "$T/r.h5" --top 3
[ "$(awk '/^rank +trial/ {on = 1; next} on && /^[0-9]+ / {n++} on && !/^[0-9]+ / {on = 0} END {print n}' "$T/out")" -eq 3 ] \
  || fail "--top 3: not 3 leaderboard rows"

# the suggested region, pasted into a job file, is valid
awk '/^parameters:$/ {on = 1} on && /^$/ {on = 0} on' "$T/report" >"$T/region"
{ printf 'name: next\ndata: {source: data/noisy.csv, dev_size: 0.25}\nsearch: {trials: 8, rounds: 2}\n'
  cat "$T/region"; } >"$T/next.yaml"
expect_status 0 "validate the suggested region" -- "$caviar" validate "$T/next.yaml"
expect_grep '^  learning_rate +log_uniform' "$T/out" "the suggested region searches the learning rate"
expect_grep '^  epochs +3$' "$T/out" "the suggested region keeps the constants"

# every figure: well-formed, one mark per trial with a metric
n_metric=$($PY -c "
import math, sys, h5py
t = h5py.File(sys.argv[1], 'r')['trials'][:]
print(sum(1 for r in t if not math.isnan(r['dev_accuracy'])
          and r['status'].decode().rstrip(chr(0)) not in ('failed', 'interrupted')))" "$T/r.h5")
n_curves=$($PY -c "
import sys, h5py
c = h5py.File(sys.argv[1], 'r')['curves'][:]
print(len(set(int(t) for t in c['trial'])))" "$T/r.h5")
[ "$n_curves" -gt 10 ] && n_curves=16
for f in metric_learning_rate metric_beta1 metric_layers metric_hidden_units curves parallel; do
  svg="$T/figs/$f.svg"
  [ -s "$svg" ] || { fail "$f.svg not written"; continue; }
  xmllint --noout "$svg" 2>"$T/xml.err" || { fail "$f.svg is not well-formed XML"; head -3 "$T/xml.err" >&2; }
  case $f in
    metric_*) want=$n_metric; got=$(grep -c '<circle class="trial"' "$svg") ;;
    parallel) want=$n_metric; got=$(grep -c '<polyline class="trial"' "$svg") ;;
    curves) want=$((4 * n_curves)); got=$(grep -c '<polyline class="trial"' "$svg") ;;
  esac
  [ "$got" -eq "$want" ] || fail "$f.svg: $got marks, expected $want"
  grep -q 'class="best"' "$svg" || [ "$f" = curves ] || fail "$f.svg: the best is not marked"
done
expect_grep "^wrote .*/metric_learning_rate.svg: $n_metric points(, [0-9]+ crosses .*)?$" "$T/report" "svg log"
grep -q '>0.99<' "$T/figs/metric_beta1.svg" || fail "metric_beta1.svg: no 0.99 tick on the 1 - beta1 axis"
grep -q '>0.001<' "$T/figs/metric_learning_rate.svg" || fail "metric_learning_rate.svg: no decade ticks"

# a `caviar train -o` file: one trial, nothing searched
cat >"$T/one.yaml" <<YAML
data: {source: data/noisy.csv, dev_size: 0.25}
parameters: {epochs: 2, hidden_units: 8}
YAML
expect_status 0 "train -o" -- "$caviar" train "$T/one.yaml" -o "$T/one.h5"
expect_status 0 "report on a train -o file" -- "$caviar" report "$T/one.h5" --svg "$T/onefigs"
expect_grep '^trials: 1 finished of 1 planned' "$T/out" "train -o counts"
xmllint --noout "$T/onefigs/curves.svg" || fail "train -o: curves.svg"

# bad usage and bad input: exit 2, naming the problem
expect_status 2 "report without a file" -- "$caviar" report
expect_status 2 "report --top 0" -- "$caviar" report "$T/r.h5" --top 0
expect_grep 'top 0: expected a whole number' "$T/err" "report --top 0"
expect_status 2 "report on a missing file" -- "$caviar" report "$T/missing.h5"
expect_grep 'missing.h5' "$T/err" "report on a missing file"
expect_status 2 "report on a CSV" -- "$caviar" report "$T/data/noisy.csv"
expect_grep 'noisy.csv: not an HDF5 file' "$T/err" "report on a CSV"
expect_status 0 "report --help" -- "$caviar" report --help
expect_grep '^usage: caviar report' "$T/out" "report --help"

finish
