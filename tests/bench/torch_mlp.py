"""The PyTorch baseline for bench_train: the same batch-normed MLP
(Linear without bias -> BatchNorm1d -> ReLU, Linear with bias, Adam, lr 1e-3)
on Fashion-MNIST, one thread, timed the same way (a warm-up repetition, then
the median samples/s of 5 repetitions of `steps` training steps).
Run with Debian's interpreter: /usr/bin/python3 torch_mlp.py 256,256 256 200"""
import gzip
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * data[3]).reshape(dims)


def main():
    hidden = [int(h) for h in sys.argv[1].split(",")]
    batch, steps = int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    root = "/usr/share/datasets/fashion-mnist/"
    X = idx(root + "train-images-idx3-ubyte.gz").reshape(60000, -1).astype(np.float32)
    y = idx(root + "train-labels-idx1-ubyte.gz").astype(np.int64)
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    layers, d = [], X.shape[1]
    for h in hidden:
        layers += [nn.Linear(d, h, bias=False), nn.BatchNorm1d(h), nn.ReLU()]
        d = h
    model = nn.Sequential(*layers, nn.Linear(d, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    perm = torch.randperm(Xt.shape[0])
    pos, rates = 0, []
    model.train()
    for rep in range(6):
        t = time.perf_counter()
        for _ in range(steps):
            if pos + batch > Xt.shape[0]:
                pos = 0
            ix = perm[pos:pos + batch]
            pos += batch
            opt.zero_grad(set_to_none=True)
            lossf(model(Xt[ix]), yt[ix]).backward()
            opt.step()
        if rep > 0:
            rates.append(steps * batch / (time.perf_counter() - t))
    print(f"{statistics.median(rates):.0f}")


if __name__ == "__main__":
    main()
