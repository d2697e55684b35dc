#!/usr/bin/env bash
# jobs/run-local.sh: the workstation path. Installs what is missing, builds
# caviar, and runs the default Fashion-MNIST study on every local core: one
# worker rank per core plus the master (which sleeps while it waits), then
# prints the leaderboard. Run it again after an interruption and it resumes.
#   jobs/run-local.sh [JOB.yaml [RESULTS.h5]]
set -euo pipefail
cd "$(dirname "$0")/.."
. jobs/setup.sh

caviar_install "${CAVIAR_PACKAGES[@]}"
caviar_build build

job=${1:-jobs/fashion-mnist.yaml}
name=$(basename "$job" .yaml)
results=${2:-results/$name.h5}
mkdir -p "$(dirname "$results")"
cores=$(nproc)
# One BLAS thread per worker; no binding, so the sleeping master shares a core.
mpi=(mpirun -np $((cores + 1)) --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1)
if [ -e "$results" ]; then
  echo "run-local: $results exists: resuming it (remove it to start over)" >&2
  exec "${mpi[@]}" build/caviar resume "$results"
fi
exec "${mpi[@]}" build/caviar run "$job" -o "$results"
