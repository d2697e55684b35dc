"""table.py RESULTS.h5 [--check]: prints a results file's /trials as text,
one line per trial in file order, without the columns that depend on timing
and placement (worker, seconds, samples_per_second), so that two studies can
be compared with diff. With --check, also verifies the file's invariants:
every trial id once, curves complete, checkpoints gathered, /best right.
Run with /usr/bin/python3 (Debian's h5py and numpy)."""
import math
import sys

import h5py
import numpy as np

VARYING = {"worker", "seconds", "samples_per_second"}


def fmt(v):
    if isinstance(v, bytes):
        return v.decode().rstrip("\0")
    if isinstance(v, (float, np.floating)):
        return "nan" if math.isnan(v) else repr(float(v))
    return str(v)


def main():
    path = sys.argv[1]
    check = "--check" in sys.argv[2:]
    with h5py.File(path, "r") as f:
        trials = f["trials"][:]
        names = [n for n in trials.dtype.names if n not in VARYING]
        for row in trials:
            print(" ".join(f"{n}={fmt(row[n])}" for n in names))
        if not check:
            return
        ids = [int(t) for t in trials["trial"]]
        assert len(ids) == len(set(ids)), f"duplicate trial ids: {ids}"
        assert ids == sorted(ids), "trials not in id order"
        curves = f["curves"][:]
        # a pbt trial exploited from another's state starts at its first generation
        start = {}
        if "lineage" in f:
            for r in f["lineage"][:]:
                t = int(r["trial"])
                start[t] = min(start.get(t, 1 << 30), int(r["from_epoch"]))
        for row in trials:
            status = row["status"].decode().rstrip("\0")
            assert status in ("done", "diverged", "failed"), f"trial {row['trial']}: {status}"
            n = int(np.sum(curves["trial"] == row["trial"]))
            if status == "done":
                want = row["epochs_done"] - start.get(int(row["trial"]), 0)
                assert n == want, f"trial {row['trial']}: {n} curve rows, {want} epochs"
        groups = sorted(f["checkpoints"].keys()) if "checkpoints" in f else []
        keep = f.attrs.get("checkpoints_keep", None)
        metric = trials["dev_accuracy"]
        finite = [(-m, int(t)) for m, t in zip(metric, trials["trial"]) if math.isfinite(m)]
        best = min(finite)[1]
        assert "best" in f, "no /best"
        assert f["best"].attrs["trial"] == best, f"/best is {f['best'].attrs['trial']}, expected {best}"
        print(f"checked: {len(ids)} trials, {len(curves)} curve rows, {len(groups)} checkpoints, best {best}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
