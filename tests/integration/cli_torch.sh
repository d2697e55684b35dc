#!/bin/bash
# cli_torch.sh CAVIAR EXAMPLE_DIR: the PyTorch example of a program of the
# user's own (jobs/examples/torch-cnn) runs a short study end to end: its
# job as written (only a subset of the data, fewer trials and epochs), on
# 3 ranks, successive halving continuing a promoted trial from the state the
# program saved in CAVIAR_CHECKPOINT; curves, the report, the kept checkpoint
# directories and predict's message. Skipped (77) without python3-torch.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
ex=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
$PY -c "import torch, numpy" 2>/dev/null || { echo "no python3-torch: skipped"; exit 77; }
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] \
  || { echo "no dataset-fashion-mnist: skipped"; exit 77; }

# the example's job, made small: 3 trials, rungs of 1 and 3 epochs, 1500
# training and 500 dev examples, narrow networks
sed -e 's/  trials: 12/  trials: 3/' -e 's/  max_epochs: 9/  max_epochs: 3/' \
    -e "s|  workdir: \. .*|  workdir: $ex|" \
    -e 's|--batch-size, "{batch_size}"\]|--batch-size, "{batch_size}", --train-size, "1500", --dev-size, "500"]|' \
    -e 's/  width: {values: \[8, 16, 32\]}/  width: {values: [4, 8]}/' \
    "$ex/job.yaml" >"$T/job.yaml"
grep -q -- '--train-size, "1500"' "$T/job.yaml" || fail "the example's job did not take the subset"
expect_status 0 "validate" -- "$caviar" validate "$T/job.yaml"
expect_status 0 "a short study" -- timeout -k 5 150 mpirun --oversubscribe --bind-to none -np 3 \
  "$caviar" run "$T/job.yaml" -o "$T/t.h5"
expect_grep "study complete: 3 of 3 trials finished \(0 diverged, 0 failed\)" "$T/err" "the study completes"
$PY - "$T/t.h5" >"$T/py" 2>&1 <<'PY' || fail "torch study: $(cat "$T/py")"
import sys, os, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
t, c, s = f["trials"][:], f["curves"][:], f["segments"][:]
assert set(t.dtype.names) >= {"learning_rate", "beta1", "width", "batch_size"}, t.dtype.names
assert all(x == b"done" for x in t["status"]), t["status"]
assert (t["dev_accuracy"] > 0.3).all(), t["dev_accuracy"]
top = t[t["epochs_done"] == 3]
assert len(top) == 1, t["epochs_done"]
cont = s[s["from_epoch"] == 1]
assert len(cont) == 1 and cont["trial"][0] == top["trial"][0], s
k = int(top["trial"][0])
assert list(c[c["trial"] == k]["epoch"]) == [1, 2, 3]
assert np.isfinite(c["train_accuracy"]).all() and np.isfinite(c["samples_per_second"] if "samples_per_second" in c.dtype.names else [0]).all()
log = open(sys.argv[1] + ".ckpt/log_%06d.txt" % k).read()
assert "continuing from epoch 1" in log, log[-500:]
assert os.path.exists(sys.argv[1] + ".ckpt/trial_%06d/state.pt" % k)
PY
expect_status 0 "report" -- "$caviar" report "$T/t.h5"
expect_grep "learning_rate +beta1 +width +batch_size" "$T/out" "report's columns"
expect_status 2 "predict" -- "$caviar" predict "$T/t.h5"
expect_grep "the weights are the program's, not caviar's" "$T/err" "predict's message"
finish
