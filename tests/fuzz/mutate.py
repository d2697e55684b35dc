"""mutate.py IN OUT SEED: writes to OUT a copy of IN with 1 to 8 random
bytes changed (one time in five a run of 8 bytes set to 0xff, HDF5's
"undefined address"), chosen by SEED. Used by mutate_results.sh."""
import random
import sys

src, dst, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
data = bytearray(open(src, "rb").read())
for _ in range(rng.randint(1, 8)):
    at = rng.randrange(len(data))
    if rng.random() < 0.2:
        data[at:at + 8] = b"\xff" * min(8, len(data) - at)
    else:
        data[at] = rng.randrange(256)
open(dst, "wb").write(bytes(data))
