#!/usr/bin/env bash
# cli_babysit.sh CAVIAR: panda mode from a checkpoint, `caviar train --from
# RESULTS.h5 --trial N`. Continuing with the same hyperparameters for k epochs
# gives exactly what an uninterrupted run would have (2 + 2 epochs == 4
# epochs: curves, weights, optimizer moments and step count bit for bit); the
# new trial's parent is N; --set changes hyperparameters but not the
# architecture; the new trial goes back into RESULTS.h5 (keeping its
# checkpoints) or into -o OUT.h5 (created, then appended to); bad trial
# numbers, a trial without checkpoint and mismatched data are refused with
# exit 2. h5dump reads every file.
here=$(dirname "$0")
. "$here/lib.sh"
caviar=$1

mkdir -p "$T/data" "$T/res"
blobs_csv "$T/data/blobs.csv" 600
cat >"$T/job.yaml" <<YAML
name: blobs
data:
  source: data/blobs.csv
  dev_size: 0.2
search:
  seed: 3
  metric: dev_loss
checkpoints: {keep: 1}
parameters:
  epochs: 4
  hidden_units: 16
  batch_size: 32
  learning_rate: 0.001
YAML
a="$T/res/a.h5" b="$T/res/b.h5" c="$T/res/c.h5"

# 4 epochs straight; 2 epochs, then 2 more from the checkpoint.
expect_status 0 "4 epochs" -- "$caviar" train "$T/job.yaml" -o "$a"
expect_status 0 "2 epochs" -- "$caviar" train "$T/job.yaml" --set epochs=2 -o "$b"
expect_status 0 "--from 2 more" -- "$caviar" train --from "$b" --trial 0 --set epochs=2
expect_grep '^continuing trial 0 of .*b.h5 from epoch 2 \([0-9]+ optimizer steps\) as trial 1' \
  "$T/out" "--from"
expect_grep '^    3  ' "$T/out" "--from numbers epochs on from the checkpoint"
expect_grep '^results: .*b.h5: trial 1 \(parent 0\)' "$T/out" "--from"

$PY - "$a" "$b" <<'PY' >"$T/py.out" 2>&1 || { fail "2 + 2 epochs != 4 epochs"; cat "$T/py.out" >&2; }
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
ta, tb = a["trials"][:], b["trials"][:]
assert len(ta) == 1 and len(tb) == 2, (len(ta), len(tb))
# the premise: each run's best epoch is its last (dev_loss keeps falling)
assert ta["best_epoch"][0] == 4 and tb["best_epoch"][0] == 2, (ta["best_epoch"], tb["best_epoch"])
assert list(tb["parent"]) == [-1, 0] and list(tb["trial"]) == [0, 1], tb[["trial", "parent"]]
assert tb["epochs_done"][1] == 4 and tb["best_epoch"][1] == 4, tb[["epochs_done", "best_epoch"]]
assert tb["seed"][1] == tb["seed"][0] == ta["seed"][0]
ca, cb = a["curves"][:], b["curves"][:]
for e in (3, 4):
    ra, rb = ca[ca["epoch"] == e][0], cb[(cb["trial"] == 1) & (cb["epoch"] == e)][0]
    for k in ("train_loss", "train_accuracy", "dev_loss", "dev_accuracy", "learning_rate"):
        assert ra[k] == rb[k], (e, k, ra[k], rb[k])
for k in ("dev_loss", "dev_accuracy", "train_loss", "train_accuracy", "test_accuracy"):
    assert np.array_equal(ta[k][0], tb[k][1], equal_nan=True), k
# the continued checkpoint is the uninterrupted one, optimizer state included
ga, gb = a["checkpoints/trial_000000"], b["checkpoints/trial_000001"]
names = []
ga.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
assert len(names) == 2 * 5 + 2 + 2 * (2 * 3 + 2), names
for n in names:
    assert np.array_equal(ga[n][:], gb[n][:]), n
assert ga["optimizer"].attrs["steps"] == gb["optimizer"].attrs["steps"] > 0
assert ga.attrs["epochs_trained"] == gb.attrs["epochs_trained"] == 4
# appending kept trial 0's checkpoint; /best is the better one
assert sorted(b["checkpoints"]) == ["trial_000000", "trial_000001"], list(b["checkpoints"])
assert b["best"].attrs["trial"] == 1
print("2 + 2 == 4:", len(names), "tensors equal")
PY

# --set changes hyperparameters; --trial best; the schedule goes on.
expect_status 0 "--set learning_rate" -- "$caviar" train --from "$b" --trial best \
  --set learning_rate=0.0005 --set epochs=1
expect_grep '^ +5 +0.0005 ' "$T/out" "--set learning_rate"
expect_grep 'trial 2 \(parent 1\)' "$T/out" "--set learning_rate"

# -o OUT.h5: created, then appended to; ids go on from the source's.
expect_status 0 "-o new" -- "$caviar" train --from "$b" --trial 1 --set epochs=1 -o "$c"
expect_grep 'c.h5: trial 3 \(parent 1\)' "$T/out" "-o new"
expect_status 0 "-o append" -- "$caviar" train --from "$b" --trial 0 --set epochs=1 -o "$c"
expect_grep 'c.h5: trial 4 \(parent 0\)' "$T/out" "-o append"
$PY - "$b" "$c" <<'PY' >"$T/py.out" 2>&1 || { fail "trial rows after --from"; cat "$T/py.out" >&2; }
import sys, h5py
b, c = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
tb, tc = b["trials"][:], c["trials"][:]
assert list(tb["trial"]) == [0, 1, 2] and list(tb["parent"]) == [-1, 0, 1], tb[["trial", "parent"]]
assert tb["learning_rate"][2] == 0.0005 and tb["epochs"][2] == 1 and tb["epochs_done"][2] == 5
assert list(tc["trial"]) == [3, 4] and list(tc["parent"]) == [1, 0], tc[["trial", "parent"]]
assert list(tc["epochs_done"]) == [5, 3], tc["epochs_done"]
assert sorted(c["checkpoints"]) == ["trial_000003", "trial_000004"], list(c["checkpoints"])
PY

# Refused, with exit 2, and nothing appended.
expect_status 2 "--set layers" -- "$caviar" train --from "$b" --trial 0 --set layers=3
expect_grep "--set layers=3: trial 0's checkpoint has layers=2.*cannot change" "$T/err" "--set layers"
expect_status 2 "--set activation" -- "$caviar" train --from "$b" --trial 0 --set activation=tanh
expect_status 2 "--set bad value" -- "$caviar" train --from "$b" --trial 0 --set dropout=2
expect_grep 'dropout' "$T/err" "--set bad value"
expect_status 2 "missing trial" -- "$caviar" train --from "$b" --trial 9
expect_grep 'b.h5: no trial 9 \(the file has trials 0 to 2\)' "$T/err" "missing trial"
expect_status 2 "--trial word" -- "$caviar" train --from "$b" --trial first
expect_status 2 "--from without --trial" -- "$caviar" train --from "$b"
expect_grep 'needs --trial' "$T/err" "--from without --trial"
expect_status 2 "--from missing file" -- "$caviar" train --from "$T/res/nope.h5" --trial 0
expect_grep 'nope.h5: No such file' "$T/err" "--from missing file"

sed 's/keep: 1/keep: 0/' "$T/job.yaml" >"$T/keep0.yaml"
expect_status 0 "keep 0" -- "$caviar" train "$T/keep0.yaml" --set epochs=1 -o "$T/res/k0.h5"
expect_status 2 "trial without checkpoint" -- "$caviar" train --from "$T/res/k0.h5" --trial 0
expect_grep 'k0.h5: trial 0 has no checkpoint' "$T/err" "trial without checkpoint"

# Other data: a file of other trials is not appended to; other shapes are refused.
awk 'NR == 1 || NR % 2 == 0' "$T/data/blobs.csv" >"$T/data/half.csv"
sed 's#data/blobs.csv#data/half.csv#' "$T/job.yaml" >"$T/half.yaml"
expect_status 2 "other data into the file" -- "$caviar" train --from "$b" --trial 0 "$T/half.yaml"
expect_grep 'other data' "$T/err" "other data into the file"
expect_status 0 "other data, new file" -- "$caviar" train --from "$b" --trial 0 "$T/half.yaml" \
  --set epochs=1 -o "$T/res/half.h5"
cut -d, -f1-4 "$T/data/blobs.csv" >"$T/data/three.csv"
sed 's#data/blobs.csv#data/three.csv#' "$T/job.yaml" >"$T/three.yaml"
expect_status 2 "other feature count" -- "$caviar" train --from "$b" --trial 0 "$T/three.yaml" \
  -o "$T/res/three.h5"
expect_grep "3 features and 3 classes, but trial 0's network takes 4 features" "$T/err" \
  "other feature count"
$PY -c "import h5py, sys; n = len(h5py.File(sys.argv[1])['trials']); sys.exit(n != 3)" "$b" \
  || fail "a refused --from appended to the file"

h5dump_all "$T/res"
finish
