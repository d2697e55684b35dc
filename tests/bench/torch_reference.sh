#!/usr/bin/env bash
# torch_reference.sh BENCH_TRAIN: caviar's training throughput beside
# PyTorch's on the same core, same networks, same timing, one run after the
# other. Prints a table with the ratio. Skips (exit 0) without python3-torch.
set -euo pipefail
bench=$1
here=$(dirname "$0")
py=/usr/bin/python3
if ! "$py" -c 'import torch, numpy' 2>/dev/null; then
  echo "torch-reference: skipped ($py has no torch; apt-get install python3-torch)"
  exit 0
fi
core=0
out=$(OMP_NUM_THREADS=1 taskset -c $core "$bench")
echo "$out"
echo
printf '%-22s %6s %12s %12s %8s\n' network batch caviar pytorch ratio
# rows of bench_train: network batch samples/s ceiling pct
echo "$out" | awk '$1 ~ /^[0-9]+-/ {print $1, $2, $3}' | while read -r net batch ours; do
  hidden=$(echo "$net" | cut -d- -f2- | rev | cut -d- -f2- | rev | tr - ,)
  case $hidden in *1024*) steps=12 ;; *) steps=$((40000 / batch)) ;; esac
  theirs=$(OMP_NUM_THREADS=1 taskset -c $core "$py" "$here/torch_mlp.py" "$hidden" "$batch" "$steps")
  printf '%-22s %6s %12s %12s %7sx\n' "$net" "$batch" "$ours" "$theirs" \
    "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')"
done
