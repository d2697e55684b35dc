#!/usr/bin/python3
"""make_data.py: writes the golden test's small data set, deterministically.

data/train.csv (720 rows) and data/test.csv (240 rows): label first, then 8
noisy features, 3 overlapping classes (so that trials differ). Uses only
Python's random.Random (its random() sequence for a given integer seed is
stable across Python versions); the CSV files are committed, so this script
is a record of how they were made, not something the test runs.
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def write(path, n, seed):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("label," + ",".join("f%d" % j for j in range(8)) + "\n")
        for i in range(n):
            k = i % 3
            xs = []
            for j in range(8):
                centre = 0.6 if j % 3 == k else 0.0
                xs.append("%.4f" % (centre + 1.5 * (rng.random() - 0.5) + 0.3 * (rng.random() - 0.5)))
            f.write("%d,%s\n" % (k, ",".join(xs)))


os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
write(os.path.join(HERE, "data", "train.csv"), 720, 11)
write(os.path.join(HERE, "data", "test.csv"), 240, 12)
