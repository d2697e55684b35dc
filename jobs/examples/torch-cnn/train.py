#!/usr/bin/python3
"""train.py: a convolutional network for Fashion-MNIST in PyTorch, written to
be tuned by caviar (DESIGN.md, "Bring your own training program"; the job is
job.yaml beside it). Run it by hand too:

    CAVIAR_EPOCHS=2 CAVIAR_SEED=1 CAVIAR_CHECKPOINT=/tmp/ck /usr/bin/python3 train.py --lr 0.003

The network: two blocks of conv 3x3 (no bias) -> batch norm -> ReLU -> 2x2 max
pool (normalize before the nonlinearity, as caviar's own MLPs do), then a
linear layer to the 10 classes; Adam with the given learning rate and beta1.

The contract, as this program keeps it:
  - hyperparameters come as arguments (caviar substitutes "{name}" in the
    job's command); CAVIAR_SEED seeds everything, so a run is deterministic
    (one thread: CAVIAR_THREADS, deterministic algorithms);
  - it trains until epoch CAVIAR_EPOCHS, saving its state (weights, batch
    norm statistics, Adam's moments, the epoch) in CAVIAR_CHECKPOINT at the end
    of every epoch, and continues from there when started again: successive
    halving promotes a trial by running it again with a larger CAVIAR_EPOCHS;
    the shuffle of epoch e is keyed by (seed, e), so a continued run is the run
    straight through;
  - after each epoch it prints one line caviar reads:
        CAVIAR epoch=3 dev_accuracy=0.9012 dev_loss=0.27 train_loss=... ...
  - everything else it prints goes to the trial's log.

Data: the Debian package dataset-fashion-mnist (IDX files, gzipped). The dev
set is the last --dev-size examples of the training set (never trained on);
--train-size takes only the first examples of the rest (the tests use a few
thousand to stay fast); --test also scores the test set at the end."""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(train_size, dev_size):
    x = idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    y = idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    xd, yd = x[-dev_size:], y[-dev_size:]
    xt, yt = x[:-dev_size], y[:-dev_size]
    if train_size:
        xt, yt = xt[:train_size], yt[:train_size]
    mean, std = xt.mean(), xt.std()
    norm = lambda a: torch.from_numpy((a - mean) / std).unsqueeze(1)
    xs = idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    ys = idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return ((norm(xt), torch.from_numpy(yt)), (norm(xd), torch.from_numpy(yd)),
            (norm(xs), torch.from_numpy(ys)))


class Net(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.c1 = nn.Conv2d(1, width, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(width)
        self.c2 = nn.Conv2d(width, 2 * width, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(2 * width)
        self.out = nn.Linear(2 * width * 7 * 7, 10)

    def forward(self, x):                              # (B, 1, 28, 28)
        x = F.max_pool2d(F.relu(self.b1(self.c1(x))), 2)  # (B, w, 14, 14)
        x = F.max_pool2d(F.relu(self.b2(self.c2(x))), 2)  # (B, 2w, 7, 7)
        return self.out(x.flatten(1))                  # (B, 10)


def evaluate(net, x, y, batch=1000):
    net.eval()
    loss, right = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            z = net(x[i:i + batch])
            loss += F.cross_entropy(z, y[i:i + batch], reduction="sum").item()
            right += (z.argmax(1) == y[i:i + batch]).sum().item()
    return loss / len(x), right / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--train-size", type=int, default=0, help="0: all 50000")
    ap.add_argument("--dev-size", type=int, default=10000)
    ap.add_argument("--test", action="store_true", help="score the test set at the end")
    a = ap.parse_args()

    epochs = int(os.environ.get("CAVIAR_EPOCHS", "10"))
    seed = int(os.environ.get("CAVIAR_SEED", "1"))
    ckpt = os.environ.get("CAVIAR_CHECKPOINT", ".")
    torch.set_num_threads(int(os.environ.get("CAVIAR_THREADS", "1")))
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed % (1 << 63))

    (xt, yt), (xd, yd), (xs, ys) = load(a.train_size, a.dev_size)
    net = Net(a.width)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr, betas=(a.beta1, 0.999))
    state_path = os.path.join(ckpt, "state.pt")
    start = 0
    if os.path.exists(state_path):
        st = torch.load(state_path)
        net.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        start = st["epoch"]
        print(f"continuing from epoch {start} ({state_path})")
    print(f"train {len(xt)}, dev {len(xd)}; width {a.width}, batch {a.batch_size}, "
          f"lr {a.lr:g}, beta1 {a.beta1:g}; epochs {start + 1} to {epochs}", flush=True)

    for epoch in range(start + 1, epochs + 1):
        t0 = time.time()
        net.train()
        g = torch.Generator().manual_seed((seed * 1000003 + epoch) % (1 << 63))
        order = torch.randperm(len(xt), generator=g)
        tl, tr, n = 0.0, 0, 0
        for i in range(0, len(xt), a.batch_size):
            b = order[i:i + a.batch_size]
            if len(b) < 2:
                continue  # batch norm needs two examples
            z = net(xt[b])
            loss = F.cross_entropy(z, yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tl += loss.item() * len(b)
            tr += (z.argmax(1) == yt[b]).sum().item()
            n += len(b)
        train_seconds = time.time() - t0
        dl, da = evaluate(net, xd, yd)
        tmp = state_path + ".tmp"
        torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch}, tmp)
        os.replace(tmp, state_path)
        print(f"CAVIAR epoch={epoch} dev_accuracy={da:.6f} dev_loss={dl:.6f} "
              f"train_loss={tl / n:.6f} train_accuracy={tr / n:.6f} learning_rate={a.lr:g} "
              f"samples_per_second={n / train_seconds:.1f}", flush=True)
    if a.test:
        sl, sa = evaluate(net, xs, ys)
        print(f"test: accuracy {sa:.4f}, loss {sl:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
