"""golden_check.py: the checker of tests/integration/golden.sh.
Run with /usr/bin/python3 (Debian's h5py and numpy).

  golden_check.py compare REF.h5 NEW.h5 [--resumed]
      NEW (written by the code under test) must hold the results REF (written
      by the reference code, tests/integration/golden/) holds, bit for bit:
        /          the deterministic attributes (format, format_version,
                   caviar_version, job, name, seed, ranks, job_path's file
                   name); created, finished, wall_seconds, worker_seconds are
                   timing and not compared
        /trials    every row and field but seconds, samples_per_second
                   (timing) and worker (rank assignment); the same row order
        /curves    every row and field but seconds, sorted by (trial, epoch)
                   (rows are appended as epochs stream in from the workers);
                   on 1 rank, where the order is fixed, in file order too
        /rounds    every row and field
        /data      every dataset and attribute (source: its file name)
        /checkpoints  the same kept trials; every dataset (dtype, shape,
                   bytes) and every attribute of every group and dataset
        /best      the same target
      and the same objects at the top level and the same dtypes (field names,
      order, types) everywhere. Floats are compared bit for bit (a NaN equals
      a NaN). An attribute only one of the files has is a difference too.
      --resumed: NEW is a study killed and resumed, compared with the
      uninterrupted REF (the same comparison; it only says so). Prints every
      difference (at most 20 values per table) and exits 1 on any.

  golden_check.py core CAVIAR
      Prints the OpenBLAS core type CAVIAR trains with in this environment,
      then the OpenBLAS version, one per line.

  golden_check.py rows FILE
      Prints the number of rows in FILE's /trials (0 if it cannot be read),
      reading as a SWMR reader would (FILE may be left by a killed writer).

  golden_check.py wait-rows FILE N PID TIMEOUT
      Returns (exit 0) as soon as FILE's /trials holds N rows or more; exit 1
      when process PID has ended first, or after TIMEOUT seconds.
"""
import ctypes
import os
import re
import subprocess
import sys
import time

import h5py
import numpy as np

MAX_SHOWN = 20
ROOT_TIMING = {"created", "finished", "wall_seconds", "worker_seconds"}
# Root attributes the new code adds on purpose, each checked against what it
# must say: metric (the study's metric, so that the store need not parse the
# job's YAML) must name the metric the stored job asks for.
ADDED = {"metric"}
# Tables the new code adds on purpose: /runs, the provenance of each run;
# /segments and /rungs, a trial's stretches of training and the halving
# decisions (a random study: one segment per trial, no decision); /lineage,
# population-based training's decisions (none in a random study).
ADDED_TABLES = {"runs", "segments", "rungs", "lineage"}
# Fields of /trials the new code adds on purpose (successive halving): the
# trial's last rung (0 here) and its budget (its epochs here).
ADDED_FIELDS = {"rung", "budget"}
TRIALS_SKIP = {"seconds", "samples_per_second", "worker"}
CURVES_SKIP = {"seconds"}
BY_NAME = {"job_path", "source"}  # absolute paths: only the file name is compared


# ---- value comparison -----------------------------------------------------------

def same_array(a, b):
    """Element-wise: equal bit for bit (a NaN equals a NaN) for arrays of one dtype."""
    if a.dtype.kind == "f":
        bits = {2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
        return (a.view(bits) == b.view(bits)) | (np.isnan(a) & np.isnan(b))
    if a.dtype.kind == "c":
        return same_array(a.real.copy(), b.real.copy()) & same_array(a.imag.copy(), b.imag.copy())
    return a == b


def show(v):
    """A value as the diff shows it: floats in full, with their bits."""
    if isinstance(v, bytes):
        return repr(v.rstrip(b"\0").decode(errors="replace"))
    if isinstance(v, (float, np.floating)):
        x = np.array(v)
        h = x.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[x.dtype.itemsize])
        return f"{float(v)!r} (0x{int(h):0{2 * x.dtype.itemsize}x})"
    if isinstance(v, str):
        return repr(v if len(v) <= 120 else v[:120] + "...")
    if isinstance(v, np.ndarray):
        return np.array2string(v, threshold=8, precision=17)
    return repr(v)


def same_value(a, b):
    """Attribute values: same type and dtype, equal bit for bit."""
    if isinstance(a, str) or isinstance(b, str):
        return type(a) is type(b) and a == b
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.names:
        return all(bool(np.all(same_array(a[n], b[n]))) for n in a.dtype.names)
    return bool(np.all(same_array(a, b)))


class Diff:
    def __init__(self):
        self.lines = []

    def add(self, where, what):
        self.lines.append(f"{where}: {what}")

    def values(self, where, ref, new):
        self.add(where, f"reference {show(ref)}, new {show(new)}")


def compare_attrs(d, where, ref, new, skip=()):
    rk, nk = set(ref.attrs.keys()) - set(skip), set(new.attrs.keys()) - set(skip)
    for k in sorted(rk - nk):
        d.add(where, f"attribute {k} missing from the new file (reference {show(ref.attrs[k])})")
    for k in sorted(nk - rk):
        d.add(where, f"attribute {k} only in the new file ({show(new.attrs[k])})")
    for k in sorted(rk & nk):
        a, b = ref.attrs[k], new.attrs[k]
        if k in BY_NAME and isinstance(a, str) and isinstance(b, str):
            a, b = os.path.basename(a), os.path.basename(b)
        if not same_value(a, b):
            d.values(f"{where} attribute {k}", a, b)


def compare_table(d, name, ref, new, skip, order=None, strict_order=True):
    """Compound datasets: same dtype, same rows (in file order, or sorted by
    the fields in order), every field but skip equal bit for bit."""
    rf = [(n, str(ref.dtype.fields[n][0])) for n in ref.dtype.names or ()]
    nf = [(n, str(new.dtype.fields[n][0])) for n in new.dtype.names or ()]
    added = [f for f in nf if f[0] in ADDED_FIELDS and f not in rf]
    if ref.dtype != new.dtype and [f for f in nf if f not in added] != rf:
        d.add(name, f"dtype differs:\n    reference {rf}\n    new       {nf}")
        return
    r, n = ref[()], new[()]
    if added:
        if name == "/trials" and len(n) and (np.any(n["rung"] != 0) or
                                             np.any(n["budget"] != n["epochs"])):
            d.add(name, "rung is not 0, or budget not the trial's epochs, in a study without "
                  "halving")
        n = n[list(ref.dtype.names)]
    if len(r) != len(n):
        d.add(name, f"{len(r)} rows in the reference, {len(n)} in the new file")
    if order:
        if strict_order:
            keys = lambda t: [tuple(x) for x in t[list(order)].tolist()]  # noqa: E731
            if len(r) == len(n) and keys(r) != keys(n):
                d.add(name, f"rows in another order ({', '.join(order)}): reference "
                      f"{keys(r)[:12]}..., new {keys(n)[:12]}...")
        r = r[np.lexsort([r[k] for k in reversed(order)])]
        n = n[np.lexsort([n[k] for k in reversed(order)])]
    rows = min(len(r), len(n))
    fields = [f for f in r.dtype.names if f not in skip]
    shown = 0
    total = 0
    for f in fields:
        eq = same_array(r[f][:rows], n[f][:rows])
        for i in np.flatnonzero(~eq):
            total += 1
            if shown < MAX_SHOWN:
                ident = ", ".join(f"{k} {r[k][i]}" for k in (order or ("trial",)) if k in r.dtype.names)
                d.values(f"{name} row {i} ({ident}) field {f}", r[f][i], n[f][i])
                shown += 1
    if total > shown:
        d.add(name, f"... and {total - shown} more differing values")
    compare_attrs(d, name, ref, new)


def compare_tree(d, where, ref, new):
    """Groups and datasets, recursively: names, attributes, dtype, shape, bytes."""
    compare_attrs(d, where, ref, new)
    if isinstance(ref, h5py.Dataset) or isinstance(new, h5py.Dataset):
        if not (isinstance(ref, h5py.Dataset) and isinstance(new, h5py.Dataset)):
            d.add(where, "a dataset in one file, a group in the other")
            return
        if ref.dtype != new.dtype or ref.shape != new.shape:
            d.add(where, f"reference {ref.dtype} {ref.shape}, new {new.dtype} {new.shape}")
            return
        a, b = ref[()], new[()]
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype.names:
            eq = np.ones(a.shape, bool)
            for f in a.dtype.names:
                eq &= same_array(a[f], b[f])
        else:
            eq = same_array(a, b)
        bad = np.flatnonzero(~np.asarray(eq).reshape(-1))
        if bad.size:
            fa, fb = a.reshape(-1), b.reshape(-1)
            shown = ", ".join(f"[{np.unravel_index(i, a.shape) if a.ndim > 1 else i}] "
                              f"{show(fa[i])} vs {show(fb[i])}" for i in bad[:5])
            d.add(where, f"{bad.size} of {a.size} values differ (reference vs new): {shown}"
                  + (" ..." if bad.size > 5 else ""))
        return
    rk, nk = set(ref.keys()), set(new.keys())
    for k in sorted(rk - nk):
        d.add(where, f"{k} missing from the new file")
    for k in sorted(nk - rk):
        d.add(where, f"{k} only in the new file")
    for k in sorted(rk & nk):
        rl, nl = ref.get(k, getlink=True), new.get(k, getlink=True)
        if type(rl) is not type(nl):
            d.add(f"{where}/{k}", f"link kind differs: {type(rl).__name__} vs {type(nl).__name__}")
            continue
        if isinstance(rl, h5py.SoftLink):
            if rl.path != nl.path:
                d.values(f"{where}/{k} (soft link)", rl.path, nl.path)
            continue
        compare_tree(d, f"{where.rstrip('/')}/{k}", ref[k], new[k])


def compare(ref_path, new_path, resumed):
    d = Diff()
    with h5py.File(ref_path, "r") as ref, h5py.File(new_path, "r") as new:
        # the root: the deterministic attributes
        compare_attrs(d, "/", ref, new, skip=ROOT_TIMING | ADDED)
        want = "dev_loss" if re.search(r"^\s*metric:\s*dev_loss\b", new.attrs["job"], re.M) \
            else "dev_accuracy"
        got = new.attrs.get("metric")
        got = got.decode() if isinstance(got, bytes) else got
        if got != want:
            d.add("/", f"attribute metric is {got!r}, the job's metric is {want!r}")
        rk, nk = set(ref.keys()), set(new.keys())
        for k in sorted(rk - nk):
            d.add("/", f"{k} missing from the new file")
        for k in sorted(nk - rk - ADDED_TABLES):
            d.add("/", f"{k} only in the new file")
        # /runs (provenance, added on purpose): one row per run on the file,
        # each naming a command and this caviar
        if "runs" in nk - rk:
            runs = new["runs"][:]
            if len(runs) == 0:
                d.add("/runs", "no row")
            for r in runs:
                cmd = r["command"].decode()
                if cmd not in ("run", "resume", "train") or not r["blas_core"] \
                        or r["caviar_version"].decode() != str(new.attrs["caviar_version"]):
                    d.add("/runs", f"an unexpected row {r}")
        one_rank = not resumed and ref.attrs.get("ranks") == 1 and new.attrs.get("ranks") == 1
        for k in sorted(rk & nk):
            if k == "trials":
                compare_table(d, "/trials", ref[k], new[k], TRIALS_SKIP, order=("trial",))
            elif k == "curves":
                compare_table(d, "/curves", ref[k], new[k], CURVES_SKIP, order=("trial", "epoch"),
                              strict_order=one_rank)
            elif k == "rounds":
                compare_table(d, "/rounds", ref[k], new[k], set())
            elif k == "checkpoints":
                rc, nc = set(ref[k].keys()), set(new[k].keys())
                if rc != nc:
                    d.add("/checkpoints", f"kept trials differ: reference {sorted(rc)}, new {sorted(nc)}")
                compare_tree(d, "/checkpoints", ref[k], new[k])
            elif k == "best":
                rl, nl = ref.get(k, getlink=True), new.get(k, getlink=True)
                rp = rl.path if isinstance(rl, h5py.SoftLink) else type(rl).__name__
                np_ = nl.path if isinstance(nl, h5py.SoftLink) else type(nl).__name__
                if rp != np_:
                    d.values("/best (target)", rp, np_)
                elif k not in new or k not in ref:
                    d.add("/best", "dangling link")
            else:  # /data and anything else
                compare_tree(d, "/" + k, ref[k], new[k])
    return d


# ---- the BLAS core type ---------------------------------------------------------

# Kernel families of OpenBLAS 0.3.21 that already use AVX2 or better: the list
# of src/util/blas.c, which re-executes caviar with OPENBLAS_CORETYPE set from
# the CPU's features when OpenBLAS picked an older one.
MODERN = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"}


def blas_core(caviar):
    """(core type, OpenBLAS version) that caviar trains with here, as
    cv_blas_setup decides: OpenBLAS's own choice (OPENBLAS_CORETYPE if set)
    unless that is a pre-AVX2 kernel on a CPU with AVX-512 or AVX2+FMA."""
    out = subprocess.run(["ldd", caviar], capture_output=True, text=True).stdout
    m = re.search(r"libopenblas\S*\s+=>\s+(\S+)", out)
    if not m:
        sys.exit(f"golden_check: {caviar} does not load libopenblas (ldd):\n{out}")
    lib = ctypes.CDLL(m.group(1))
    lib.openblas_get_corename.restype = ctypes.c_char_p
    lib.openblas_get_config.restype = ctypes.c_char_p
    core = lib.openblas_get_corename().decode()
    config = lib.openblas_get_config().decode()
    v = re.match(r"OpenBLAS (\S+)", config)
    version = v.group(1) if v else config
    if "OPENBLAS_CORETYPE" in os.environ or "CAVIAR_BLAS_KEEP" in os.environ or core.lower() in MODERN:
        return core, version
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        return "SkylakeX", version
    if {"avx2", "fma"} <= flags:
        return "Haswell", version
    return core, version


# ---- rows of a file being written -----------------------------------------------

def count_rows(path):
    try:
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            return len(f["trials"])
    except Exception:  # noqa: BLE001 - not there yet, or not readable: no rows
        return 0


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main():
    args = sys.argv[1:]
    if len(args) >= 3 and args[0] == "compare":
        resumed = "--resumed" in args[3:]
        d = compare(args[1], args[2], resumed)
        what = " (killed and resumed)" if resumed else ""
        if d.lines:
            print(f"{args[2]}{what} differs from the reference {args[1]}:")
            for line in d.lines:
                print("  " + line)
            sys.exit(1)
        print(f"{os.path.basename(args[2])}{what}: identical to {os.path.basename(args[1])}")
    elif len(args) == 2 and args[0] == "core":
        core, version = blas_core(args[1])
        print(core)
        print(version)
    elif len(args) == 2 and args[0] == "rows":
        print(count_rows(args[1]))
    elif len(args) == 5 and args[0] == "wait-rows":
        path, n, pid, timeout = args[1], int(args[2]), int(args[3]), float(args[4])
        end = time.monotonic() + timeout
        while time.monotonic() < end and alive(pid):
            if os.path.exists(path) and count_rows(path) >= n:
                sys.exit(0)
            time.sleep(0.005)
        sys.exit(1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
