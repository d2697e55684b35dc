#!/usr/bin/env bash
# make_corpus.sh CAVIAR: (re)writes the seed corpora of tests/fuzz/corpus/
# from scratch: small valid inputs of every format and a few invalid ones,
# written by hand, by h5py (/usr/bin/python3) and by caviar itself (results
# files of a tiny study, repacked with small chunks so that each is a few
# KB). The corpus is kept in the repository; run this only to regenerate it
# (the fuzzers then add what they find, see run_fuzz.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
caviar=$(realpath "${1:-$here/../../build/caviar}")
py=/usr/bin/python3
C=$here/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for t in job csv idx h5in results; do
  rm -rf "${C:?}/$t"
  mkdir -p "$C/$t"
done

# ---- job files ---------------------------------------------------------------
cp "$here/../../jobs/fashion-mnist.yaml" "$C/job/fashion-mnist.yaml"
cp "$here/../../jobs/bn-ablation.yaml" "$C/job/bn-ablation.yaml"
cp "$here/../../jobs/panda.yaml" "$C/job/panda.yaml"
j() { cat >"$C/job/$1"; }
j empty.yaml </dev/null
printf -- '---\n# only a comment\n' | j comment.yaml
j grid.yaml <<'EOF'
name: grid
data: {source: data/blobs.csv, test: data/test.csv, dev_size: 0.2}
search: {method: grid, rounds: 2, keep: 0.5, seed: 3, metric: dev_loss}
checkpoints: all
parameters:
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 0.1, points: 3}
  layers: {distribution: int_uniform, min: 1, max: 3}
  optimizer: [sgd, adam]
  batch_norm: {values: [true, false]}
EOF
j sobol.yaml <<'EOF'
search: {method: sobol, trials: 16, rounds: 3}
checkpoints: {keep: 0}
parameters:
  beta2: {distribution: one_minus_log_uniform, min: 0.9, max: 0.9999}
  hidden_units: {distribution: log_int_uniform, min: 16, max: 1024}
  dropout: {distribution: uniform, min: 0, max: 0.5}
  lr_schedule: exponential
  lr_decay: {distribution: uniform, min: 0.5, max: 1}
  activation: {value: tanh}
  patience: 3
#set learning_rate=0.01
EOF
j bad-key.yaml <<'EOF'
parameters:
  lerning_rate: 0.1
EOF
j bad-value.yaml <<'EOF'
parameters:
  learning_rate: {distribution: log_uniform, min: 0, max: 1}
EOF
j bad-yaml.yaml <<'EOF'
parameters: {learning_rate: [1, 2
search:
EOF
j alias.yaml <<'EOF'
a: &x 1
b: *x
EOF
printf 'name: a\n---\nname: b\n' | j two-docs.yaml
printf 'search: {trials: 1e3, rounds: 2147483647, seed: 18446744073709551615}\n' | j big.yaml
printf 'parameters:\n  optimizer: adamw\n#set epochs=0\n' | j bad-word.yaml
printf 'data:\n  source: "a\\0b"\n' | j nul-escape.yaml
printf '\xef\xbb\xbfname: "\xc3\xa9t\xc3\xa9"\nparameters: {epochs: \xff}\n' | j encoding.yaml

# ---- CSV ------------------------------------------------------------------
c() { cat >"$C/csv/$1"; }
printf 'label,a,b\n0,1.5,2\n1,3,-4e2\n0,0.25,7\n1,2,2\n2,9,1\n0,1,1\n1,5,5\n2,3,3\n' | c header.csv
printf '0,1,2\n1,3,4\n0,5,6\n1,7,8\n0,9,10\n1,11,12\n' | c noheader.csv
printf '\xef\xbb\xbf"label" , "x"\r\n1 , 2\r\n\r\n0,\t3\r\n1,4\r\n0,5' | c bom-crlf.csv
printf 'x,label\n1,0\n2,1\n3,0\n4,1\n5,0\n' | c label-last.csv
printf 'label,a\n0,1\n1,2,3\n' | c bad-row.csv
printf 'label,a\n0,x\n' | c not-a-number.csv
printf 'label,a\n0,nan\n1,inf\n' | c nan.csv
printf 'label,a\n4096,1\n' | c bad-label.csv
printf 'label,a\n0.5,1\n' | c fractional-label.csv
printf 'label,a,b\n' | c header-only.csv
printf '0\n1\n' | c one-column.csv
printf 'label,a\n0,1e39\n1,-1e39\n' | c beyond-float.csv
printf 'label,a\n0,\n' | c empty-field.csv
printf 'label,a\n0,3.4e38\n1,-3.4e38\n0,3.4e38\n1,-3.4e38\n0,1\n1,0\n' | c huge-range.csv
printf 'label,a\n0,1\n0,2\n0,3\n' | c one-class.csv
printf 'label,a\n0,1\n1,2\n' | c two-rows.csv
printf 'label,a,b\n0,1,2\n1,2,3\n0,3,1\n1,0,0\n2,5,5\n' | gzip -n >"$C/csv/gzip.csv"
printf 'label,a,b\n0,1,2\n1,2,3\n0,3,1\n1,0,0\n2,5,5\n' | gzip -n | head -c 30 >"$C/csv/gzip-cut.csv"

# ---- IDX: a 2-byte little-endian length, the images file, the labels file ----
$py - "$C/idx" <<'PY'
import gzip, struct, sys
out = sys.argv[1]

def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload

def case(name, images, labels):
    with open(f"{out}/{name}", "wb") as f:
        f.write(struct.pack("<H", len(images)) + images + labels)

n = 6
u8 = idx(0x08, [n, 2, 2], bytes(range(n * 4)))
lab = idx(0x08, [n], bytes([0, 1, 2, 0, 1, 2]))
case("u8", u8, lab)
case("u8-gzip", gzip.compress(u8, mtime=0), gzip.compress(lab, mtime=0))
case("i8", idx(0x09, [n, 3], bytes([0x80, 0x7f, 1] * n)), lab)
case("i16", idx(0x0B, [n, 2], struct.pack(">12h", *range(-6, 6))), lab)
case("i32", idx(0x0C, [n, 1], struct.pack(">6i", *range(-3, 3))), idx(0x0C, [n], struct.pack(">6i", 0, 1, 0, 1, 0, 1)))
case("f32", idx(0x0D, [n, 2], struct.pack(">12f", *[0.5 * i for i in range(12)])), idx(0x0B, [n], struct.pack(">6h", 1, 0, 1, 0, 1, 0)))
case("f64", idx(0x0E, [n, 1], struct.pack(">6d", 1e300, 0, 1, 2, 3, 4)), lab)
case("f32-nan", idx(0x0D, [n, 1], struct.pack(">6f", 0, 1, float("nan"), 3, 4, 5)), lab)
case("truncated", u8[:-3], lab)
case("trailing", u8 + b"\0", lab)
case("count-mismatch", u8, idx(0x08, [n - 1], bytes(n - 1)))
case("labels-float", u8, idx(0x0D, [n], bytes(4 * n)))
case("labels-2d", u8, idx(0x08, [n, 2], bytes(2 * n)))
case("labels-range", u8, idx(0x0C, [n], struct.pack(">6i", 0, 1, 5000, 0, 1, 2)))
case("no-labels", u8, b"")
case("bad-magic", b"\x01\x02\x08\x03" + u8[4:], lab)
case("bad-type", b"\0\0\x0a\x03" + u8[4:], lab)
case("zero-dims", b"\0\0\x08\x00", lab)
case("zero-examples", idx(0x08, [0, 2], b""), idx(0x08, [0], b""))
case("huge-header", idx(0x08, [0x7fffffff, 0x7fffffff, 4], b"\0" * 16), lab)
case("header-cut", u8[:9], lab)
case("gzip-cut", gzip.compress(u8, mtime=0)[:-6], lab)
case("one-class", u8, idx(0x08, [n], bytes(n)))
PY

# ---- HDF5 inputs (datasets X, y) --------------------------------------------
$py - "$C/h5in" <<'PY'
import sys
import h5py
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(1)

def h5(name, **sets):
    with h5py.File(f"{out}/{name}", "w") as f:
        for k, v in sets.items():
            f[k] = v

X = rng.normal(size=(8, 3)).astype("float32")
y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
h5("float32.h5", X=X, y=y)
h5("uint8-3d.h5", X=rng.integers(0, 255, size=(8, 2, 2), dtype="uint8"), y=y.astype("uint8"))
h5("float64-y-float.h5", X=X.astype("float64"), y=y.astype("float64"))
h5("y-column.h5", X=X, y=y.reshape(8, 1))
h5("y-fraction.h5", X=X, y=y + 0.5)
h5("y-negative.h5", X=X, y=-y)
h5("x-rank1.h5", X=X[:, 0], y=y)
h5("x-strings.h5", X=np.array([b"a", b"b"]), y=y[:2])
h5("y-missing.h5", X=X)
h5("n-mismatch.h5", X=X, y=y[:5])
h5("x-nan.h5", X=np.where(X > 1, np.nan, X), y=y)
h5("x-huge.h5", X=X.astype("float64") * 1e300, y=y)
h5("empty.h5", X=np.zeros((0, 3), "float32"), y=np.zeros(0, "int64"))
h5("one-class.h5", X=X, y=np.zeros(8, "int64"))
with h5py.File(f"{out}/x-group.h5", "w") as f:
    f.create_group("X")
    f["y"] = y
with h5py.File(f"{out}/gzip-chunked.h5", "w") as f:
    f.create_dataset("X", data=X, chunks=(4, 3), compression="gzip")
    f.create_dataset("y", data=y, chunks=(4,), compression="gzip", shuffle=True)
with h5py.File(f"{out}/latest.h5", "w", libver="latest") as f:
    f["X"] = X
    f["y"] = y.astype("int16")
with h5py.File(f"{out}/unallocated-big.h5", "w") as f:
    f.create_dataset("X", shape=(100000, 10), dtype="float32", chunks=(1000, 10))
    f.create_dataset("y", shape=(100000,), dtype="int8", chunks=(10000,))
with h5py.File(f"{out}/dangling.h5", "w") as f:
    f["X"] = h5py.SoftLink("/nowhere")
    f["y"] = y
PY
head -c 1200 "$C/h5in/float32.h5" >"$C/h5in/truncated.h5"
printf 'not hdf5 at all\n' >"$C/h5in/text.h5"

# ---- results files ------------------------------------------------------------
# A tiny study (1 rank: 2 rounds of 2 trials, 2 features, 2 hidden units),
# a babysat trial, a `train -o` run, each rewritten compactly (2-row chunks,
# attributes in the object headers: shrink_results.py).
mkdir -p "$tmp/data"
$py - "$tmp/data/tiny.csv" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(3)
with open(sys.argv[1], "w") as f:
    f.write("label,a,b\n")
    for i in range(40):
        k = i % 2
        f.write(f"{k},{k + rng.random():.3f},{rng.random() - k:.3f}\n")
PY
cat >"$tmp/study.yaml" <<'EOF'
name: tiny
data: {source: data/tiny.csv, dev_size: 0.25}
search: {trials: 2, rounds: 2, seed: 4}
checkpoints: {keep: 1}
parameters:
  epochs: 2
  layers: 1
  hidden_units: 2
  batch_size: 8
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 0.1}
  optimizer: {values: [sgd, adam]}
EOF
(cd "$tmp" && "$caviar" run study.yaml -o study.h5 >/dev/null 2>&1)
(cd "$tmp" && "$caviar" train --from study.h5 --trial best --set epochs=1 -o babysat.h5 >/dev/null 2>&1) || true
sed -e 's/trials: 2, rounds: 2/trials: 1/' -e '/learning_rate:/d' -e '/optimizer:/d' \
  "$tmp/study.yaml" >"$tmp/fixed.yaml"
(cd "$tmp" && "$caviar" train fixed.yaml -o train.h5 >/dev/null 2>&1)
for f in study babysat train; do
  [ -f "$tmp/$f.h5" ] || continue
  $py "$here/shrink_results.py" "$tmp/$f.h5" "$C/results/$f.h5"
done
# Variants of the study: a writer killed before it gathered (no
# /checkpoints, /best, rounds), not caviar's, wrong version, truncated.
$py - "$C/results" <<'PY'
import sys, shutil
import h5py
import numpy as np
d = sys.argv[1]
src = f"{d}/study.h5"
shutil.copy(src, f"{d}/no-checkpoints.h5")
with h5py.File(f"{d}/no-checkpoints.h5", "a") as f:
    del f["best"]
    del f["checkpoints"]
    del f["rounds"]
shutil.copy(src, f"{d}/version-2.h5")
with h5py.File(f"{d}/version-2.h5", "a") as f:
    f.attrs["format_version"] = np.int32(2)
shutil.copy(src, f"{d}/bad-status.h5")
with h5py.File(f"{d}/bad-status.h5", "a") as f:
    t = f["trials"][:]
    t["status"][0] = b"weird"
    t["optimizer"][1] = b"adamw"
    f["trials"][:] = t
shutil.copy(src, f"{d}/dangling-best.h5")
with h5py.File(f"{d}/dangling-best.h5", "a") as f:
    del f["best"]
    f["best"] = h5py.SoftLink("/checkpoints/trial_999999")
    for g in f["checkpoints"].values():
        g.attrs["hidden_units"] = np.int64(3)
with h5py.File(f"{d}/not-caviar.h5", "w") as f:
    f["x"] = np.arange(3)
with h5py.File(f"{d}/format-int.h5", "w") as f:
    f.attrs["format"] = 7
PY
head -c 2000 "$C/results/study.h5" >"$C/results/truncated.h5"
# A writer killed in SWMR mode: the superblock keeps its status flags.
cp "$C/results/no-checkpoints.h5" "$C/results/killed-writer.h5"
$py -c 'import os, sys, h5py
f = h5py.File(sys.argv[1], "a", libver="latest")
f.swmr_mode = True
f.flush()
os._exit(0)' "$C/results/killed-writer.h5"
ls -la "$C"/* | awk '/^-/ {n++; s += $5} END {printf "%d seed files, %d bytes\n", n, s}'
