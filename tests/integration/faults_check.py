"""faults_check.py FILE REF.h5 STATE: after a study was killed (or ended),
checks what a reader finds in FILE against the uninterrupted run REF.h5.

FILE is copied first (the study's own file is left as the kill left it),
then opened as readers would: plainly, else as a SWMR reader (a writer
killed in SWMR mode), else after `h5clear -s --increment=0` of the copy (a
writer killed outside SWMR mode, as during the final gathering). Then:

  - every finished row (done, diverged, failed) equals REF's row of the
    same trial, field for field, but for timing and placement (worker,
    seconds, samples_per_second) and test_accuracy (scored at the end);
  - no trial has two finished rows (nothing duplicated);
  - every trial that STATE (a file of trial ids, one per line) lists as
    finished before is still there (nothing lost); STATE is then updated.

A missing file, or one that does not open, passes only while no trial has
been seen finished (a study killed while it was starting). Prints one line
("opens plain|swmr|repaired: N finished rows ..." or "absent" or
"unopenable") and exits 1 with the reasons when an invariant fails.
Run with /usr/bin/python3 (Debian's h5py)."""
import os
import shutil
import subprocess
import sys
import tempfile

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from table import VARYING, fmt  # noqa: E402

SKIP = VARYING | {"test_accuracy"}
FINISHED = ("done", "diverged", "failed")


def line(row, names):
    return " ".join(f"{n}={fmt(row[n])}" for n in names if n not in SKIP)


def open_any(path):
    """The trials of path and how they were read, or (None, why)."""
    attempts = [("plain", {}), ("swmr", {"libver": "latest", "swmr": True})]
    last = None
    for how, kw in attempts:
        try:
            with h5py.File(path, "r", **kw) as f:
                return f["trials"][:], how
        except Exception as e:  # noqa: BLE001 - any failure means "not this way"
            last = e
    r = subprocess.run(["h5clear", "-s", "--increment=0", path], capture_output=True)
    if r.returncode == 0:
        try:
            with h5py.File(path, "r") as f:
                return f["trials"][:], "repaired"
        except Exception as e:  # noqa: BLE001
            last = e
    return None, str(last).splitlines()[0] if last else "?"


def main():
    path, ref_path, state_path = sys.argv[1:4]
    with h5py.File(ref_path, "r") as f:
        ref_rows = f["trials"][:]
    names = ref_rows.dtype.names
    ref = {int(r["trial"]): line(r, names) for r in ref_rows}
    seen = set()
    if os.path.exists(state_path):
        with open(state_path) as s:
            seen = {int(x) for x in s.read().split()}

    problems = []
    if not os.path.exists(path):
        rows, how = None, "absent"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "copy.h5")
            shutil.copyfile(path, copy)
            rows, how = open_any(copy)
    if rows is None:
        if seen:
            problems.append(f"the file does not open ({how}) but {len(seen)} trials had finished")
        print(f"{'absent' if how == 'absent' else 'unopenable'}: {how}")
    else:
        finished = {}
        for r in rows:
            status = fmt(r["status"])
            if status not in FINISHED:
                continue
            t = int(r["trial"])
            if t in finished:
                problems.append(f"trial {t}: finished twice")
            finished[t] = r
            if t not in ref:
                problems.append(f"trial {t}: not in the uninterrupted run")
            elif line(r, r.dtype.names) != ref[t]:
                problems.append(f"trial {t} differs from the uninterrupted run:\n  got  "
                                f"{line(r, r.dtype.names)}\n  want {ref[t]}")
        lost = sorted(seen - finished.keys())
        if lost:
            problems.append(f"finished trials lost: {lost}")
        seen |= finished.keys()
        statuses = [fmt(r["status"]) for r in rows]
        print(f"opens {how}: {len(finished)} finished rows, {len(rows)} rows "
              f"({statuses.count('interrupted')} interrupted)")
    with open(state_path, "w") as s:
        s.write("\n".join(str(t) for t in sorted(seen)))
    for p in problems:
        print("PROBLEM:", p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
