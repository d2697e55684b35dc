#!/usr/bin/env bash
# bench_run.sh CAVIAR: the runner's figures on this machine.
#  1. parallel efficiency: the same Fashion-MNIST study with 1 worker (-np 2)
#     and with one worker per core (-np cores+1); trials per second of each
#     (first dispatch to last result, as the master reports it) and the ratio;
#     the master's CPU while its workers train.
#  2. master capacity: trivial trials (a 4-unit network, one epoch on 60
#     examples) on many ranks: results recorded per second, HDF5 appends
#     included.
set -euo pipefail
caviar=$1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=$(mktemp -d "${TMPDIR:-/tmp}/caviar-bench-XXXXXX")
trap 'rm -rf "$T"' EXIT
cores=$(nproc)
mpi() { local np=$1; shift; mpirun -np "$np" --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1 "$@"; }
field() { sed -n "s/.*study complete: .* \([0-9.]*\) trials\/s.*/\1/p" "$1"; }
master_cpu() { sed -n 's/.*master CPU \([0-9.]*\)% of a core.*/\1/p' "$1"; }

cat >"$T/scale.yaml" <<YAML
name: scale
data: {source: fashion-mnist}
search: {trials: $((6 * cores)), seed: 3}
checkpoints: {keep: 2}
parameters:
  epochs: 2
  layers: 2
  hidden_units: 256
  batch_size: 128
  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0e-2}
YAML
mpi 2 "$caviar" run "$T/scale.yaml" -o "$T/s1.h5" >/dev/null 2>"$T/s1.err"
mpi $((cores + 1)) "$caviar" run "$T/scale.yaml" -o "$T/sN.h5" >/dev/null 2>"$T/sN.err"
one=$(field "$T/s1.err")
many=$(field "$T/sN.err")
echo "parallel efficiency ($((6 * cores)) trials of 784-256-256-10, 2 epochs):"
printf '  %-28s %10s trials/s   master CPU %s%% of a core\n' "1 worker (-np 2)" "$one" "$(master_cpu "$T/s1.err")"
printf '  %-28s %10s trials/s   master CPU %s%% of a core\n' "$cores workers (-np $((cores + 1)))" "$many" "$(master_cpu "$T/sN.err")"
printf '  speed-up %.2fx with %d workers (ideal %d)\n' "$(awk -v a="$many" -v b="$one" 'BEGIN { print a / b }')" "$cores" "$cores"

. "$(dirname "$0")/trivial_job.sh"
trials=3000
trivial_job "$T" tiny "$trials" 5
ranks=$((4 * cores + 1))
mpi "$ranks" "$caviar" run "$T/tiny.yaml" -o "$T/tiny.h5" >/dev/null 2>"$T/tiny.err"
echo "master capacity ($trials trivial trials, $ranks ranks on $cores cores):"
printf '  %s results/s recorded (rows, curves and checkpoints in the HDF5 file)\n' "$(field "$T/tiny.err")"
