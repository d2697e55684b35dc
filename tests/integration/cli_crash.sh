#!/usr/bin/env bash
# cli_crash.sh CAVIAR: a `caviar train -o` killed with SIGKILL in the middle
# of its run. While it runs, a SWMR reader (h5py swmr=True) sees its rows
# live; after the kill every row flushed before it is still readable (by
# h5py and by caviar), every side-file checkpoint is whole, `caviar predict`
# uses the best of them, and `caviar train --from` continues the killed
# trial, appending to the file (which is repaired) so that a plain reader
# and h5dump open it again.
here=$(dirname "$0")
. "$here/lib.sh"
caviar=$1

# Enough data that an epoch takes a while: 6000 examples, 20 noisy features.
mkdir -p "$T/data" "$T/res"
awk 'BEGIN {
  srand(5); printf "label"; for (j = 0; j < 20; j++) printf ",f%d", j; print "";
  for (i = 0; i < 6000; i++) {
    k = i % 3; printf "%d", k;
    for (j = 0; j < 20; j++) printf ",%.3f", (j % 3 == k ? 0.6 : 0) + 2 * rand();
    print "";
  }
}' >"$T/data/noisy.csv"
head -n 301 "$T/data/noisy.csv" >"$T/data/few.csv"
cat >"$T/job.yaml" <<YAML
data:
  source: data/noisy.csv
  dev_size: 0.2
search:
  seed: 2
  metric: dev_loss
parameters:
  epochs: 100000
  hidden_units: 64
  batch_size: 16
  learning_rate: 0.0003
YAML

r="$T/res/crash.h5"
exec 3>&2 2>/dev/null # the shell's stderr, meanwhile: not its "Killed" notice
"$caviar" train "$T/job.yaml" -o "$r" >"$T/train.out" 2>"$T/train.err" &
pid=$!
$PY "$here/crash_reader.py" watch "$r" "$pid" "$T/seen.npy" >"$T/py.out" 2>&1
watched=$?
wait "$pid"
status=$?
exec 2>&3 3>&-
[ "$watched" -eq 0 ] || { fail "live SWMR reading"; cat "$T/py.out" >&2; }
[ "$status" -eq 137 ] || fail "the writer ended with status $status, expected 137 (SIGKILL)"

$PY "$here/crash_reader.py" check "$r" "$T/seen.npy" "$T/train.out" >"$T/py.out" 2>&1 \
  || { fail "rows or checkpoints lost in the crash"; cat "$T/py.out" >&2; }
cat "$T/py.out"

# SIGTERM (as SLURM sends) and Ctrl-C stop the run cleanly instead: the
# trial is recorded as interrupted, its best checkpoint gathered, and the
# file closed, so that a plain reader opens it.
for sig in TERM INT; do
  q="$T/res/$sig.h5"
  "$caviar" train "$T/job.yaml" -o "$q" >"$T/$sig.out" 2>&1 &
  pid=$!
  $PY "$here/crash_reader.py" watch "$q" "$pid" "$T/$sig.npy" "$sig" >"$T/py.out" 2>&1 \
    || { fail "SIG$sig: live reading"; cat "$T/py.out" >&2; }
  wait "$pid"
  status=$?
  [ "$status" -eq 0 ] || { fail "SIG$sig: exit status $status, expected 0"; cat "$T/$sig.out" >&2; }
  expect_grep '^interrupted after' "$T/$sig.out" "SIG$sig"
  $PY - "$q" "$T/$sig.npy" <<'PY' >"$T/py.out" 2>&1 || { fail "SIG$sig: the file"; cat "$T/py.out" >&2; }
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
seen, curves, t = np.load(sys.argv[2]), f["curves"][:], f["trials"][:]
assert np.array_equal(curves[: len(seen)], seen), "rows seen live changed"
assert len(t) == 1 and t["status"][0] == b"interrupted", t["status"]
assert t["epochs_done"][0] == len(curves) and 1 <= t["best_epoch"][0] <= len(curves)
assert f["best"].attrs["epochs_trained"] == t["best_epoch"][0]
PY
done

# caviar reads the killed file too: the best side-file checkpoint predicts.
expect_status 0 "predict on a killed run" -- "$caviar" predict "$r" --data "$T/data/few.csv"
expect_grep '^model: .*trial 0 \(best\)' "$T/out" "predict on a killed run"
expect_grep '^accuracy [0-9.]+, loss' "$T/out" "predict on a killed run"

# Babysitting the killed trial: the file is repaired and appended to.
expect_status 0 "train --from a killed run" -- "$caviar" train --from "$r" --trial 0 \
  --set epochs=1
expect_grep '^results: .*crash.h5: trial 1 \(parent 0\)' "$T/out" "train --from a killed run"
$PY - "$r" "$T/seen.npy" <<'PY' >"$T/py.out" 2>&1 || { fail "after the repair"; cat "$T/py.out" >&2; }
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")  # a plain open works again
seen = np.load(sys.argv[2])
curves = f["curves"][:]
assert np.array_equal(curves[: len(seen)], seen), "rows seen live changed"
t = f["trials"][:]
assert len(t) == 1 and t["trial"][0] == 1 and t["parent"][0] == 0, t
assert curves[-1]["trial"] == 1 and curves[-1]["epoch"] == t["epochs_done"][0], curves[-1]
assert sorted(f["checkpoints"]) == ["trial_000000", "trial_000001"], list(f["checkpoints"])
PY
[ -e "$r.ckpt" ] && fail "side files left after the continued run"
h5dump_all "$T/res"
finish
