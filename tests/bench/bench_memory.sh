#!/usr/bin/env bash
# bench_memory.sh CAVIAR [RANKS]: the memory a study's ranks take on one node
# while they train: the proportional set size (Pss: shared pages counted
# once across the processes sharing them) summed over the ranks of a
# Fashion-MNIST study (188 MB of train and dev splits as float32), and each
# worker's private memory. Default 9 ranks (the master and 8 workers).
set -euo pipefail
caviar=$1
ranks=${2:-9}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=$(mktemp -d "${TMPDIR:-/tmp}/caviar-bench-XXXXXX")
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$T"' EXIT
cat >"$T/mem.yaml" <<YAML
name: mem
data: {source: fashion-mnist}
search: {trials: $((4 * ranks)), seed: 1}
checkpoints: {keep: 0}
parameters: {epochs: 3, layers: 1, hidden_units: 32, batch_size: 256}
YAML
mpirun -np "$ranks" --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1 \
  "$caviar" run "$T/mem.yaml" -o "$T/mem.h5" >/dev/null 2>"$T/err" &
pid=$!
# once a trial is recorded every rank holds its data: sample then
rows() { /usr/bin/python3 -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r',libver='latest',swmr=True)['trials']))" "$1" 2>/dev/null || echo 0; }
for _ in $(seq 1 600); do
  [ -e "$T/mem.h5" ] && [ "$(rows "$T/mem.h5")" -ge 1 ] && break
  sleep 0.2
done
pss=0 master=0 worker_private=0 workers=0
for p in $(pgrep -f "caviar run $T/mem.yaml"); do
  r=$(tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
  [ -n "$r" ] || continue
  kb=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")
  priv=$(awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s}' "/proc/$p/smaps_rollup")
  pss=$((pss + kb))
  if [ "$r" = 0 ]; then master=$kb; else worker_private=$((worker_private + priv)); workers=$((workers + 1)); fi
done
wait "$pid" || true
printf '%d ranks: Pss summed over the ranks %d MB (master %d MB); a worker'"'"'s private memory %d MB on average (%d workers)\n' \
  "$ranks" $((pss / 1024)) $((master / 1024)) $((worker_private / 1024 / (workers > 0 ? workers : 1))) "$workers"
