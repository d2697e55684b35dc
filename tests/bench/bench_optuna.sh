#!/usr/bin/env bash
# bench_optuna.sh [SECONDS [WORKERS]]: the Optuna peer of caviar's default
# study (TPE + Hyperband on the same batch-normed MLP, Fashion-MNIST, the
# space of jobs/fashion-mnist.yaml) for SECONDS of wall clock (default 300)
# on WORKERS processes of one thread (default 2); prints its JSON summary.
#   tests/bench/bench_optuna.sh 300 2
# which runs
#   /usr/bin/python3 tests/bench/optuna_peer.py --seconds 300 --workers 2
# Per-trial progress goes to stderr. Skips (exit 0) without Debian's
# python3-optuna, python3-torch or dataset-fashion-mnist.
set -euo pipefail
seconds=${1:-300}
workers=${2:-2}
here=$(dirname "$0")
py=/usr/bin/python3
if ! "$py" -c 'import optuna, torch, numpy' 2>/dev/null ||
   [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "optuna-peer: skipped (apt-get install python3-optuna python3-torch dataset-fashion-mnist)"
  exit 0
fi
exec "$py" "$here/optuna_peer.py" --seconds "$seconds" --workers "$workers"
