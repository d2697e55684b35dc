#!/usr/bin/env bash
# cli_results.sh CAVIAR: `caviar train -o` writes a results file that the
# analyst's client (analyst.py: h5py, numpy, pandas when installed) reads as a
# table, and whose best checkpoint it recomputes with numpy from the stored
# arrays, matching `caviar predict` on every example; for several
# architectures (batch norm or not, each activation). -o refuses to overwrite
# without --force, and checks the output directory before training. h5dump
# reads every file written.
here=$(dirname "$0")
. "$here/lib.sh"
caviar=$1

mkdir -p "$T/data" "$T/res"
blobs_csv "$T/data/blobs.csv" 600
blobs_csv "$T/data/more.csv" 240
cat >"$T/job.yaml" <<YAML
name: blobs
data:
  source: data/blobs.csv
  test: data/more.csv
  dev_size: 0.2
search:
  seed: 5
parameters:
  epochs: 5
  hidden_units: 12
  batch_size: 32
  learning_rate: 0.003
YAML

# name: --set arguments
configs=(
  "relu-bn:"
  "tanh-nobn:--set activation=tanh --set batch_norm=false --set layers=3"
  "leaky-dropout:--set activation=leaky_relu --set dropout=0.2 --set optimizer=momentum"
  "sigmoid-rmsprop:--set activation=sigmoid --set optimizer=rmsprop --set layers=1"
)
for c in "${configs[@]}"; do
  name=${c%%:*}
  read -r -a sets <<<"${c#*:}"
  r="$T/res/$name.h5"
  expect_status 0 "train -o ($name)" -- "$caviar" train "$T/job.yaml" "${sets[@]}" -o "$r"
  expect_grep "^results: .*$name.h5" "$T/out" "train -o ($name)"
  [ -d "$r.ckpt" ] && fail "$name: side files left after the run"
  expect_status 0 "predict ($name)" -- "$caviar" predict "$r" --data "$T/data/more.csv" \
    -o "$T/res/$name.csv"
  expect_grep '^accuracy [0-9.]+, loss [0-9.]+ \([0-9]+ of 240 correct\)' "$T/out" "predict ($name)"
  expect_grep '^confusion matrix' "$T/out" "predict ($name)"
  $PY "$here/analyst.py" "$r" "$T/res/$name.csv" "$T/data/more.csv" >"$T/py.out" 2>&1 \
    || { fail "analyst ($name)"; sed 's/^/  /' "$T/py.out" >&2; }
done

# The file is readable while it is written: SWMR mode during the run ends
# with a file a plain reader (and h5dump) opens.
$PY - "$T/res/relu-bn.h5" <<'PY' >"$T/py.out" 2>&1 || { fail "plain h5py open"; cat "$T/py.out" >&2; }
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert f.attrs["job"].startswith("name: blobs"), f.attrs["job"]
assert len(f["curves"]) == 5 and len(f["trials"]) == 1
assert sorted(f["checkpoints"]) == ["trial_000000"]
PY

# -o never overwrites without --force, and fails before training.
expect_status 2 "-o existing" -- "$caviar" train "$T/job.yaml" -o "$T/res/relu-bn.h5"
expect_grep 'relu-bn.h5: already exists.*--force' "$T/err" "-o existing"
grep -qE '^ +[0-9]+  ' "$T/out" && fail "-o existing: trained before refusing"
expect_status 0 "-o --force" -- "$caviar" train "$T/job.yaml" -o "$T/res/relu-bn.h5" --force
expect_status 2 "-o in a missing directory" -- "$caviar" train "$T/job.yaml" -o "$T/nope/r.h5"
expect_grep 'nope/r.h5: cannot write in directory' "$T/err" "-o in a missing directory"
grep -qE '^ +[0-9]+  ' "$T/out" && fail "-o in a missing directory: trained before refusing"

h5dump_all "$T/res"
finish
