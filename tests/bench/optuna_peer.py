"""The Optuna peer of caviar's default study: TPE + Hyperband tuning the same
batch-normalized MLP on Fashion-MNIST, N worker processes sharing one study,
under a wall-clock limit; prints one JSON summary line on stdout.

    /usr/bin/python3 tests/bench/optuna_peer.py [--seconds 300] [--workers 2]
                                                [--seed 1] [--out SUMMARY.json]

Run it with Debian's interpreter (/usr/bin/python3: python3-optuna 3.1,
python3-torch 1.13, python3-numpy); the data are Debian's dataset-fashion-mnist
files, the same ones caviar's built-in source reads.

What matches jobs/fashion-mnist.yaml and caviar's numerics (DESIGN.md):
  space     learning_rate log-uniform [1e-4, 1e-1]; beta1 with 1 - beta1
            log-uniform (beta1 in [0.8, 0.99]; Optuna's parameter is
            one_minus_beta1 in [0.01, 0.2], log=True); hidden_units in
            {128, 256, 512}; batch_size in {64, 128, 256}; layers int 1..3;
            lr_decay log-uniform [1e-3, 1]; 15 epochs at most.
  network   per hidden layer Linear (no bias) -> BatchNorm1d (eps 1e-5,
            torch momentum 0.1 = caviar's bn_momentum 0.9) -> ReLU; output
            Linear with bias; He-normal weights, zero output bias (caviar's
            init); softmax cross-entropy.
  training  Adam (beta2 0.999, eps 1e-8, bias corrected), the learning rate
            lr / (1 + lr_decay * epoch) for epoch 0, 1, ...; a fresh shuffle
            per epoch; a last mini-batch of one example is skipped (as caviar
            does); a loss that is not finite or above 100 ln(10) stops the
            trial as diverged (counted apart, never best).
  data      the 60000 training images minus a dev set of 10000 chosen by a
            seeded split (numpy default_rng(--seed) permutation, the first
            10000 indices; both parts keep the file's order, like caviar's
            seeded split, though not the same members); test = the 10000
            t10k images. Features standardized with the training split's
            mean and population std (a std below 1e-6 becomes 1).
  selection a trial's objective is its best dev accuracy over epochs; the
            test accuracy of that best epoch is measured when the epoch is
            reached and kept (never used for selection).
One known difference: torch's BatchNorm1d keeps the unbiased batch variance
in running_var where caviar keeps the biased one (a factor B / (B - 1), at
most 1.6% at B = 64, only in inference).

Optuna: TPESampler (defaults, seed = 1000 * --seed + worker index so the
workers do not draw the same startup configurations) and HyperbandPruner
(min_resource 1, max_resource 15, reduction_factor 3); dev accuracy is
reported after every epoch (step = epochs done) and trial.should_prune()
asked. The workers are forked processes, one torch thread each, sharing the
study through a JournalStorage(JournalFileStorage) in a temporary directory.

Time: the clock starts when the program starts (data loading included). No
trial starts after --seconds, and a trial still running at --seconds is
stopped within one mini-batch and recorded as failed with status
"stopped_at_limit" (not complete). A trial's time is taken when it ends
(complete, pruned, ...); time_to_reach.points lists (elapsed seconds, best
dev accuracy of the complete trials so far) at each improvement, and
time_to_reach.thresholds the first time each accuracy was reached.
"""
import argparse
import gzip
import json
import math
import multiprocessing
import os
import sys
import tempfile
import time
import warnings

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"
STUDY = "optuna-peer"
MAX_EPOCHS = 15
DEV_SIZE = 10000
DIVERGED_LOSS = 100.0 * math.log(10)
THRESHOLDS = (0.85, 0.86, 0.87, 0.88, 0.885, 0.89, 0.895, 0.90)


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * data[3]).reshape(dims)


def load_data(seed):
    """(Xtr, ytr, Xdev, ydev, Xte, yte): float32 standardized, int64 labels."""
    X = idx(os.path.join(DATA_DIR, "train-images-idx3-ubyte.gz")).reshape(60000, -1)
    y = idx(os.path.join(DATA_DIR, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    Xte = idx(os.path.join(DATA_DIR, "t10k-images-idx3-ubyte.gz")).reshape(10000, -1)
    yte = idx(os.path.join(DATA_DIR, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    in_dev = np.zeros(len(X), dtype=bool)
    in_dev[np.random.default_rng(seed).permutation(len(X))[:DEV_SIZE]] = True
    Xtr, ytr, Xdev, ydev = X[~in_dev], y[~in_dev], X[in_dev], y[in_dev]
    mean = Xtr.mean(0, dtype=np.float64)
    std = Xtr.astype(np.float64).std(0)
    std[std < 1e-6] = 1.0

    def standardize(A):
        return ((A - mean) / std).astype(np.float32)

    return standardize(Xtr), ytr, standardize(Xdev), ydev, standardize(Xte), yte


def sample(trial):
    """The space of jobs/fashion-mnist.yaml, in caviar's vocabulary."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True),
        "beta1": 1.0 - trial.suggest_float("one_minus_beta1", 0.01, 0.2, log=True),
        "hidden_units": trial.suggest_categorical("hidden_units", [128, 256, 512]),
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256]),
        "layers": trial.suggest_int("layers", 1, 3),
        "lr_decay": trial.suggest_float("lr_decay", 1e-3, 1.0, log=True),
    }


def caviar_params(params):
    """Optuna's stored params -> caviar's names (beta1 instead of 1 - beta1)."""
    out = dict(params)
    if "one_minus_beta1" in out:
        out["beta1"] = 1.0 - out.pop("one_minus_beta1")
    return out


def build(p, d, classes):
    import torch.nn as nn
    layers, n_in = [], d
    for _ in range(p["layers"]):
        lin = nn.Linear(n_in, p["hidden_units"], bias=False)
        nn.init.normal_(lin.weight, 0.0, math.sqrt(2.0 / n_in))
        layers += [lin, nn.BatchNorm1d(p["hidden_units"], eps=1e-5, momentum=0.1), nn.ReLU()]
        n_in = p["hidden_units"]
    out = nn.Linear(n_in, classes)
    nn.init.normal_(out.weight, 0.0, math.sqrt(2.0 / n_in))
    nn.init.zeros_(out.bias)
    return nn.Sequential(*layers, out)


def evaluate(model, X, y):
    """(mean cross-entropy, accuracy) in inference mode (running statistics)."""
    import torch
    import torch.nn.functional as F
    model.eval()
    with torch.no_grad():
        logits = model(X)
        loss = F.cross_entropy(logits, y).item()
        acc = (logits.argmax(1) == y).double().mean().item()
    model.train()
    return loss, acc


class Stop(Exception):
    """Ends a trial: status is stopped_at_limit or diverged."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


def train(trial, p, data, seed, deadline, best):
    """Trains one configuration, reporting dev accuracy per epoch; keeps the
    best epoch's figures in best (a dict, also when it raises
    optuna.TrialPruned or Stop)."""
    import optuna
    import torch
    import torch.nn.functional as F
    Xtr, ytr, Xdev, ydev, Xte, yte = data
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = build(p, Xtr.shape[1], 10)
    opt = torch.optim.Adam(model.parameters(), lr=p["learning_rate"],
                           betas=(p["beta1"], 0.999), eps=1e-8)
    n, B = Xtr.shape[0], p["batch_size"]
    best.update(dev_accuracy=-1.0, best_epoch=-1, epochs_done=0)
    model.train()
    for epoch in range(MAX_EPOCHS):
        lr = p["learning_rate"] / (1.0 + p["lr_decay"] * epoch)
        for g in opt.param_groups:
            g["lr"] = lr
        perm = torch.randperm(n, generator=gen)
        for start in range(0, n - 1, B):  # a last batch of one is skipped
            if time.time() >= deadline:
                raise Stop("stopped_at_limit")
            ix = perm[start:start + B]
            loss = F.cross_entropy(model(Xtr[ix]), ytr[ix])
            if not math.isfinite(loss.item()) or loss.item() > DIVERGED_LOSS:
                raise Stop("diverged")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        dev_loss, dev_acc = evaluate(model, Xdev, ydev)
        if not math.isfinite(dev_loss):
            raise Stop("diverged")
        best["epochs_done"] = epoch + 1
        if dev_acc > best["dev_accuracy"]:
            best.update(dev_accuracy=dev_acc, dev_loss=dev_loss, best_epoch=epoch,
                        test_accuracy=evaluate(model, Xte, yte)[1])
        for k, v in best.items():
            trial.set_user_attr(k, v)
        trial.report(dev_acc, epoch + 1)
        if trial.should_prune():
            raise optuna.TrialPruned()


def worker(w, args, storage_path, data_np, t0, deadline):
    import optuna
    import torch
    from optuna.storages import JournalFileStorage, JournalStorage
    from optuna.trial import TrialState
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = [torch.from_numpy(a) for a in data_np]
    study = optuna.load_study(
        study_name=STUDY,
        storage=JournalStorage(JournalFileStorage(storage_path)),
        sampler=optuna.samplers.TPESampler(seed=1000 * args.seed + w),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=MAX_EPOCHS,
                                              reduction_factor=3))
    while time.time() < deadline:
        trial = study.ask()
        p = sample(trial)
        started = time.time()
        state, status, best = TrialState.FAIL, "failed", {}
        try:
            train(trial, p, data, args.seed * 1000003 + trial.number, deadline, best)
            state, status = TrialState.COMPLETE, "complete"
        except optuna.TrialPruned:
            state, status = TrialState.PRUNED, "pruned"
        except Stop as e:
            status = e.status
        finally:
            trial.set_user_attr("status", status)
            trial.set_user_attr("worker", w)
            trial.set_user_attr("seconds", time.time() - started)
            trial.set_user_attr("elapsed_at_end", time.time() - t0)
            study.tell(trial, best["dev_accuracy"] if state == TrialState.COMPLETE else None,
                       state=state)
        dev = best.get("dev_accuracy", -1.0)
        dev = f"{dev:.4f}" if dev >= 0 else "-"
        shown = {k: round(v, 5) if isinstance(v, float) else v for k, v in p.items()}
        print(f"[worker {w}] trial {trial.number} {status} at {time.time() - t0:.1f}s "
              f"({time.time() - started:.1f}s, {best.get('epochs_done', 0)} epochs): best dev "
              f"{dev} {json.dumps(shown)}",
              file=sys.stderr, flush=True)


def summarize(study, args, wall):
    from optuna.trial import TrialState
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    status = [t.user_attrs.get("status", t.state.name.lower()) for t in trials]
    points, best = [], None
    for t in sorted(done, key=lambda t: t.user_attrs.get("elapsed_at_end", math.inf)):
        if best is None or t.value > best.value:
            best = t
            points.append([round(t.user_attrs["elapsed_at_end"], 2), t.value])
    thresholds = {}
    for a in THRESHOLDS:
        hit = [s for s, v in points if v >= a]
        thresholds[f"{a:g}"] = hit[0] if hit else None
    return {
        "peer": "optuna",
        "seconds": args.seconds,
        "wall_seconds": round(wall, 2),
        "workers": args.workers,
        "seed": args.seed,
        "trials": len(trials),
        "complete": len(done),
        "pruned": sum(t.state == TrialState.PRUNED for t in trials),
        "stopped_at_limit": status.count("stopped_at_limit"),
        "diverged": status.count("diverged"),
        "other_incomplete": len(trials) - len(done) - sum(
            s in ("pruned", "stopped_at_limit", "diverged") for s in status),
        "best_dev_accuracy": best.value if best else None,
        "test_accuracy_of_best": best.user_attrs.get("test_accuracy") if best else None,
        "best_trial": best.number if best else None,
        "best_epoch": best.user_attrs.get("best_epoch") if best else None,
        "best_params": caviar_params(best.params) if best else {},
        "time_to_reach": {"points": points, "thresholds": thresholds},
        "dev_split": f"seeded (numpy default_rng({args.seed}), {DEV_SIZE} of 60000)",
    }


def main():
    t0 = time.time()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=300.0, help="wall-clock limit (300)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    ap.add_argument("--seed", type=int, default=1, help="sampler, split and init seed (1)")
    ap.add_argument("--out", metavar="JSON_PATH", help="also write the summary here")
    args = ap.parse_args()
    deadline = t0 + args.seconds

    import optuna
    from optuna.storages import JournalFileStorage, JournalStorage
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # JournalStorage is "experimental" in Optuna 3.1; the workers inherit this
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    data = load_data(args.seed)
    print(f"data loaded in {time.time() - t0:.1f}s: train {len(data[0])}, dev {len(data[2])}, "
          f"test {len(data[4])}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="optuna-peer-") as tmp:
        path = os.path.join(tmp, "journal.log")
        storage = JournalStorage(JournalFileStorage(path))
        optuna.create_study(study_name=STUDY, storage=storage, direction="maximize")
        ctx = multiprocessing.get_context("fork")
        procs = [ctx.Process(target=worker, args=(w, args, path, data, t0, deadline))
                 for w in range(args.workers)]
        for p in procs:
            p.start()
        for p in procs:  # they stop by themselves at the deadline; a grace period after
            p.join(max(0.0, deadline + 60.0 - time.time()))
        for p in procs:
            if p.is_alive():
                print(f"worker pid {p.pid} still running 60 s past the limit: terminated",
                      file=sys.stderr)
                p.terminate()
                p.join()
        wall = time.time() - t0
        study = optuna.load_study(study_name=STUDY,
                                  storage=JournalStorage(JournalFileStorage(path)))
        summary = summarize(study, args, wall)
    line = json.dumps(summary)
    if args.out:
        with open(args.out, "w") as f:
            f.write(line + "\n")
    print(line, flush=True)
    return 0 if all(p.exitcode == 0 for p in procs) else 1


if __name__ == "__main__":
    sys.exit(main())
