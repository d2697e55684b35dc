"""analyst.py RESULTS.h5 PRED.csv DATA.csv: what an analyst does with a results
file, using nothing but h5py and numpy (and pandas when it is installed).

Checks that /trials is a table with one named, typed column per field (the
DESIGN.md layout), that /curves holds one row per epoch numbered from 1, that
the best epoch's checkpoint is where /best points, and recomputes the
checkpoint's predictions on DATA.csv with numpy from the stored arrays and
the formulas of DESIGN.md (standardize with /data, dense, batch norm with the
running statistics, activation, output layer, softmax), matching the CSV that
`caviar predict --trial best --data DATA.csv -o PRED.csv` wrote on every
example. Exits 1 with a message on the first mismatch."""
import sys

import h5py
import numpy as np

try:
    import pandas as pd
except ImportError:  # pandas is optional: numpy's structured arrays suffice
    pd = None

VOCABULARY = [  # name, numpy kind: f float, i integer, b bool, S string
    ("learning_rate", "f"), ("momentum", "f"), ("beta1", "f"), ("beta2", "f"),
    ("epsilon", "f"), ("layers", "i"), ("hidden_units", "i"), ("batch_size", "i"),
    ("lr_decay", "f"), ("lr_schedule", "S"), ("epochs", "i"), ("optimizer", "S"),
    ("activation", "S"), ("batch_norm", "b"), ("bn_momentum", "f"), ("bn_epsilon", "f"),
    ("weight_decay", "f"), ("dropout", "f"), ("init", "S"), ("patience", "i"),
]
TRIAL_FIELDS = ([("trial", "i"), ("round", "i"), ("status", "S"), ("worker", "i"),
                 ("seed", "u"), ("parent", "i")] + VOCABULARY +
                [("dev_accuracy", "f"), ("dev_loss", "f"), ("train_accuracy", "f"),
                 ("train_loss", "f"), ("test_accuracy", "f"), ("best_epoch", "i"),
                 ("epochs_done", "i"), ("rung", "i"), ("budget", "i"), ("seconds", "f"), ("samples_per_second", "f")])
CURVE_FIELDS = [("trial", "i"), ("epoch", "i"), ("train_loss", "f"), ("train_accuracy", "f"),
                ("dev_loss", "f"), ("dev_accuracy", "f"), ("learning_rate", "f"),
                ("seconds", "f")]


def fail(msg):
    print("analyst.py: " + msg, file=sys.stderr)
    sys.exit(1)


def check_fields(name, arr, fields):
    got = list(arr.dtype.names)
    want = [f for f, _ in fields]
    if got != want:
        fail(f"/{name} fields {got}, expected {want}")
    for f, kind in fields:
        if arr.dtype[f].kind != kind:
            fail(f"/{name}.{f} has numpy kind {arr.dtype[f].kind!r}, expected {kind!r}")


def activation(name, z):
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    fail(f"unknown activation {name!r}")


def main():
    path, pred_path, data_path = sys.argv[1:4]
    f = h5py.File(path, "r")
    if f.attrs["format"] != "caviar-results" or f.attrs["format_version"] != 1:
        fail("root attributes format / format_version")
    for a in ("caviar_version", "job", "created", "ranks", "seed"):
        if a not in f.attrs:
            fail(f"no root attribute {a}")

    # /trials: one readable column per field.
    trials = f["trials"][:]
    check_fields("trials", trials, TRIAL_FIELDS)
    if len(trials) != 1:
        fail(f"{len(trials)} trials, expected 1")
    t = trials[0]
    if t["status"] != b"done" or t["parent"] != -1:
        fail(f"trial row status {t['status']!r}, parent {t['parent']}")
    if pd is not None:
        df = pd.DataFrame(trials)
        if list(df.columns) != [name for name, _ in TRIAL_FIELDS]:
            fail(f"DataFrame columns {list(df.columns)}")
        if df["batch_norm"].dtype != bool or df["epochs"].dtype.kind != "i":
            fail(f"DataFrame dtypes: batch_norm {df['batch_norm'].dtype}")
        if df.loc[0, "activation"] not in (b"relu", b"leaky_relu", b"tanh", b"sigmoid"):
            fail(f"DataFrame activation {df.loc[0, 'activation']!r}")

    # /curves: one row per epoch, numbered 1..epochs_done.
    curves = f["curves"][:]
    check_fields("curves", curves, CURVE_FIELDS)
    if list(curves["epoch"]) != list(range(1, t["epochs_done"] + 1)):
        fail(f"curve epochs {list(curves['epoch'])}, epochs_done {t['epochs_done']}")
    best = curves[curves["epoch"] == t["best_epoch"]]
    if len(best) != 1 or best["dev_loss"][0] != t["dev_loss"]:
        fail(f"best_epoch {t['best_epoch']} does not hold the trial's dev_loss")

    # The checkpoint /best points at, and the stored standardization.
    ck = f["best"]
    if ck.attrs["trial"] != t["trial"] or ck.attrs["epochs_trained"] != t["best_epoch"]:
        fail("/best is not the trial's best epoch")
    mean = f["data/feature_mean"][:].astype(np.float64)
    std = f["data/feature_std"][:].astype(np.float64)
    act = ck.attrs["activation"]
    bn = bool(ck.attrs["batch_norm"])
    eps = float(ck.attrs["bn_epsilon"])
    layers = int(ck.attrs["layers"])
    if act.encode() != t["activation"] or bn != t["batch_norm"] or layers != t["layers"]:
        fail("checkpoint attributes disagree with the trial row")

    # DESIGN.md's network, in float64 from the float32 arrays.
    data = np.loadtxt(data_path, delimiter=",", skiprows=1)
    labels, a = data[:, 0].astype(int), (data[:, 1:] - mean) / std
    for k in range(layers):
        g = ck[f"layer_{k}"]
        z = a @ g["W"][:].astype(np.float64)
        beta = g["beta"][:].astype(np.float64)
        if bn:
            gamma = g["gamma"][:].astype(np.float64)
            rm = g["running_mean"][:].astype(np.float64)
            rv = g["running_var"][:].astype(np.float64)
            z = gamma * (z - rm) / np.sqrt(rv + eps) + beta
        else:
            z = z + beta  # beta is the layer's bias without batch norm
        a = activation(act, z)
    logits = a @ ck["output/W"][:].astype(np.float64) + ck["output/b"][:].astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)

    pred = np.loadtxt(pred_path, delimiter=",", skiprows=1, ndmin=2)
    header = open(pred_path).readline().strip().split(",")
    classes = int(ck.attrs["classes"])
    if header != ["index", "label", "predicted"] + [f"p_{c}" for c in range(classes)]:
        fail(f"prediction CSV header {header}")
    if pred.shape != (len(labels), 3 + classes):
        fail(f"prediction CSV shape {pred.shape}, expected {(len(labels), 3 + classes)}")
    if not np.array_equal(pred[:, 0], np.arange(len(labels))) or \
            not np.array_equal(pred[:, 1].astype(int), labels):
        fail("prediction CSV index or label columns")
    if not np.array_equal(pred[:, 2].astype(int), probs.argmax(axis=1)):
        bad = np.nonzero(pred[:, 2].astype(int) != probs.argmax(axis=1))[0]
        fail(f"predicted class differs from numpy on {len(bad)} examples, first {bad[0]}")
    diff = np.abs(pred[:, 3:] - probs).max()
    if diff > 1e-4:
        fail(f"probabilities differ from numpy by up to {diff:.3g}")
    print(f"analyst: {len(labels)} predictions match numpy (max |dp| {diff:.2g}); "
          f"{len(curves)} epochs; pandas {'yes' if pd is not None else 'no'}")


main()
