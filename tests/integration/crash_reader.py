"""crash_reader.py: the reader's side of the crash test (cli_crash.sh).

  crash_reader.py watch RESULTS.h5 PID SEEN.npy [SIGNAL]
      Reads RESULTS.h5 live as a SWMR reader (h5py swmr=True) until it holds
      at least 3 curve rows, saves the rows it saw to SEEN.npy, then kills
      the writer PID with SIGKILL (or SIGNAL: TERM, INT).
  crash_reader.py check RESULTS.h5 SEEN.npy STDOUT
      After the kill: every row seen live is still there, unchanged; every
      epoch line the writer printed has its curve row (rows are flushed
      before the line is printed); every side-file checkpoint
      RESULTS.h5.ckpt/trial_*.h5 opens and is whole."""
import glob
import os
import re
import signal
import sys
import time

import h5py
import numpy as np

TENSORS = ["W", "gamma", "beta", "running_mean", "running_var"]


def fail(msg):
    print("crash_reader.py: " + msg, file=sys.stderr)
    sys.exit(1)


def open_swmr(path):
    return h5py.File(path, "r", libver="latest", swmr=True)


def watch(path, pid, seen_path, sig=signal.SIGKILL):
    deadline = time.time() + 30
    rows = None
    while time.time() < deadline:
        try:
            with open_swmr(path) as f:
                rows = f["curves"][:]
                if len(rows) >= 3:
                    break
        except (OSError, KeyError):
            pass  # not created yet, or not yet in SWMR mode
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
        fail("no 3 curve rows within 30 s")
    os.kill(pid, sig)
    np.save(seen_path, rows)
    print(f"watch: saw {len(rows)} curve rows live, sent {sig.name} to {pid}")


def check(path, seen_path, stdout_path):
    seen = np.load(seen_path)
    with open_swmr(path) as f:
        curves = f["curves"][:]
        if len(f["trials"]) != 0:
            fail("a trial row, but the run was killed before its end")
        if len(f["data/feature_mean"]) != 20:
            fail("/data/feature_mean lost")
    if len(curves) < len(seen) or not np.array_equal(curves[: len(seen)], seen):
        fail(f"rows seen live before the kill changed or vanished ({len(seen)} seen, "
             f"{len(curves)} now)")
    if list(curves["epoch"]) != list(range(1, len(curves) + 1)):
        fail(f"curve epochs {list(curves['epoch'])}")
    printed = [line.split() for line in open(stdout_path) if re.match(r"^ +[0-9]+  ", line)]
    if len(curves) < len(printed):
        fail(f"{len(printed)} epochs printed but only {len(curves)} curve rows in the file")
    for p in printed:
        row = curves[int(p[0]) - 1]
        if abs(row["train_loss"] - float(p[2])) > 6e-5 or abs(row["dev_loss"] - float(p[4])) > 6e-5:
            fail(f"epoch {p[0]}: printed {p[2]} {p[4]}, stored {row['train_loss']} {row['dev_loss']}")

    side = sorted(glob.glob(path + ".ckpt/trial_*.h5"))
    if not side:
        fail("no side-file checkpoint: the run improved in its first epochs")
    for s in side:
        with h5py.File(s, "r") as f:  # a whole file opens plainly
            g = f[os.path.basename(s)[:-3]]
            epochs = int(g.attrs["epochs_trained"])
            if not 1 <= epochs <= len(curves):
                fail(f"{s}: epochs_trained {epochs}")
            for k in range(int(g.attrs["layers"])):
                for t in TENSORS:
                    if not np.all(np.isfinite(g[f"layer_{k}/{t}"][:])):
                        fail(f"{s}: layer_{k}/{t} not finite")
            for t in ("output/W", "output/b", "optimizer/m/output/W", "optimizer/v/output/W"):
                if not np.all(np.isfinite(g[t][:])):
                    fail(f"{s}: {t} not finite")
    print(f"check: {len(seen)} rows seen live kept, {len(curves)} rows in all, "
          f"{len(printed)} printed, {len(side)} side file(s) whole")


if sys.argv[1] == "watch":
    sig = signal.Signals["SIG" + sys.argv[5]] if len(sys.argv) > 5 else signal.SIGKILL
    watch(sys.argv[2], int(sys.argv[3]), sys.argv[4], sig)
else:
    check(sys.argv[2], sys.argv[3], sys.argv[4])
