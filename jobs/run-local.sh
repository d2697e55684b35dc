#!/usr/bin/env bash
# jobs/run-local.sh: the workstation path. Installs what is missing, builds
# caviar, and runs the default Fashion-MNIST job on this machine.
#   jobs/run-local.sh [JOB.yaml] [caviar train options...]
set -euo pipefail
cd "$(dirname "$0")/.."
. jobs/setup.sh

caviar_install "${CAVIAR_PACKAGES[@]}"
caviar_build build

job=${1:-jobs/fashion-mnist.yaml}
shift || true
# Until `caviar run` (the parallel study) lands, this trains the job's
# configuration once: panda mode, one core.
exec build/caviar train "$job" "$@"
