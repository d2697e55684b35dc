#!/usr/bin/env bash
# jobs/pbs.sh: a caviar study as a PBS batch job (PBS Pro, OpenPBS, Torque),
# run or resumed. The PBS twin of jobs/slurm.sbatch.
#
#   qsub -v CAVIAR_JOB=JOB.yaml,CAVIAR_RESULTS=RESULTS.h5 jobs/pbs.sh
#   qsub -F "JOB.yaml RESULTS.h5" jobs/pbs.sh            (Torque: arguments)
#
# JOB.yaml defaults to jobs/fashion-mnist.yaml and RESULTS.h5 to
# results/NAME.h5, relative to the directory qsub was run in
# (PBS_O_WORKDIR). If RESULTS.h5 exists the job resumes it (`caviar resume`,
# the study stored in the file; JOB.yaml is then not read), otherwise it
# starts the study (`caviar run`). Resuming a finished study only prints its
# leaderboard again, so the same qsub can be repeated, or chained
# (qsub -W depend=afterany:JOBID ...), until the log says "study complete".
#
# Ranks: one worker per line of $PBS_NODEFILE (one per core: ask for
# nodes=N:ppn=CORES, or select=N:ncpus=CORES:mpiprocs=CORES on PBS Pro) and
# one more rank, the master, which sleeps while it waits and shares a core
# (mpirun --oversubscribe). Debian's OpenMPI is built without PBS's TM
# interface, so mpirun is given the node file (--hostfile $PBS_NODEFILE) and
# starts its daemons on the other nodes with ssh: passwordless ssh between
# the job's nodes is needed for more than one node. Only rank 0 writes
# RESULTS.h5 and RESULTS.h5.ckpt/: put them on a filesystem the first node
# writes and the next job sees.
#
# Wall time: caviar gets --time-limit = the job's walltime (PBS_WALLTIME on
# Torque, otherwise qstat -f's Resource_List.walltime) minus the walltime
# used so far (resources_used.walltime) minus a margin (CAVIAR_MARGIN
# seconds, default 120): it stops handing out trials that could not end in
# time and closes the file, ready to be resumed. When PBS ends the job
# (qdel, walltime) it sends SIGTERM to all the job's processes, mpirun
# included, which stops caviar at once (trials in flight are recorded as
# interrupted and re-run on resume); the kill_delay before SIGKILL is short,
# hence the margin.
#
# Environment (all optional): CAVIAR (the executable; default `caviar` on
# PATH, else build/caviar in PBS_O_WORKDIR), CAVIAR_MARGIN, CAVIAR_TIME_LIMIT
# (seconds, instead of computing it; 0 for none), CAVIAR_THREADS (BLAS
# threads per worker, default 1; workers = node-file lines / threads). As
# root, OpenMPI's mpirun also wants OMPI_ALLOW_RUN_AS_ROOT=1 and
# OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; this script does not set them.
#
# Exit status: 0 when the study is complete or stopped cleanly (resumable:
# submit again), 1 when caviar failed, 2 for a bad argument.
#
#PBS -N caviar
#PBS -l nodes=1:ppn=16
#PBS -l walltime=04:00:00
#PBS -j oe
set -uo pipefail

say() { echo "pbs.sh: $*" >&2; }

cd "${PBS_O_WORKDIR:-.}" || exit 1

# ---- what to run --------------------------------------------------------
job=${CAVIAR_JOB:-}
results=${CAVIAR_RESULTS:-}
if [ $# -ge 1 ] && [[ $1 == *.h5 ]]; then
  results=$1
  shift
fi
[ $# -ge 1 ] && job=$1
[ $# -ge 2 ] && results=$2
if [ $# -gt 2 ]; then
  say "usage: jobs/pbs.sh [JOB.yaml [RESULTS.h5]] (got $# arguments)"
  exit 2
fi
job=${job:-jobs/fashion-mnist.yaml}
if [ -z "$results" ]; then
  name=$(basename "$job")
  results=results/${name%%.*}.h5
fi

caviar=${CAVIAR:-}
if [ -z "$caviar" ]; then
  caviar=$(command -v caviar || true)
  [ -n "$caviar" ] || caviar=$PWD/build/caviar
fi
if [ ! -x "$caviar" ]; then
  say "no caviar executable at '$caviar' (set CAVIAR, put caviar on PATH, or build/ in the submission directory)"
  exit 2
fi

if [ -e "$results" ]; then
  cmd=(resume "$results")
  say "$results exists: resuming it (remove it to start over)"
else
  if [ ! -r "$job" ]; then
    say "job file '$job' not found (and no results file '$results' to resume)"
    exit 2
  fi
  mkdir -p "$(dirname "$results")" || exit 1
  cmd=(run "$job" -o "$results")
fi

# ---- ranks and threads --------------------------------------------------
threads=${CAVIAR_THREADS:-1}
hostfile=()
if [ -n "${PBS_NODEFILE:-}" ] && [ -r "$PBS_NODEFILE" ]; then
  slots=$(grep -c . "$PBS_NODEFILE")
  hostfile=(--hostfile "$PBS_NODEFILE")
else
  slots=$(nproc)
fi
workers=$((slots / threads))
[ "$workers" -ge 1 ] || workers=1
ranks=$((workers + 1)) # the workers and the master
export OPENBLAS_NUM_THREADS=$threads
[ "$threads" -eq 1 ] || cmd+=(--threads-per-worker "$threads")

# ---- the time limit -----------------------------------------------------
# seconds_of [[H:]M:]S or seconds: that duration in seconds.
seconds_of() {
  local t=$1 s=0 f
  [[ $t =~ ^[0-9]+(:[0-9]+){0,2}$ ]] || return 1
  local IFS=:
  for f in $t; do s=$((s * 60 + 10#$f)); done
  echo "$s"
}

# qstat_field NAME: that attribute of this job in qstat -f, if any.
qstat_field() {
  [ -n "${PBS_JOBID:-}" ] || return 0
  qstat -f "$PBS_JOBID" 2>/dev/null | sed -n "s/^ *$1 = *//p" | head -n 1
}

limit=
if [ -n "${CAVIAR_TIME_LIMIT:-}" ]; then
  [ "$CAVIAR_TIME_LIMIT" = 0 ] || limit=$CAVIAR_TIME_LIMIT
  say "time limit: ${limit:-none} (CAVIAR_TIME_LIMIT)"
else
  margin=${CAVIAR_MARGIN:-120}
  wall=$(seconds_of "${PBS_WALLTIME:-}" 2>/dev/null || seconds_of "$(qstat_field Resource_List.walltime)" 2>/dev/null || true)
  if [ -n "$wall" ]; then
    used=$(seconds_of "$(qstat_field resources_used.walltime)" 2>/dev/null || echo 0)
    left=$((wall - used))
    limit=$((left - margin))
    if [ "$limit" -lt 1 ]; then
      limit=$((left / 2 > 1 ? left / 2 : 1))
      say "only ${left} s of wall time left, less than the margin of ${margin} s (CAVIAR_MARGIN)"
    fi
    say "time limit: ${left} s of wall time left - ${margin} s margin: --time-limit ${limit}"
  else
    say "time limit: none (no walltime found)"
  fi
fi
[ -z "$limit" ] || cmd+=(--time-limit "$limit")

# ---- launch -------------------------------------------------------------
launch=(mpirun -np "$ranks" "${hostfile[@]}" --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/caviar-pbs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
log=$tmp/stderr
say "job ${PBS_JOBID:-?}: $workers workers + master on $slots slots, $threads BLAS thread(s) each"
say "${launch[*]} $caviar ${cmd[*]}"

# PBS signals every process of the job itself (mpirun forwards SIGTERM to
# its ranks once; a second SIGTERM would kill them): this script only waits.
woke=0
trap 'woke=1; say "got SIGTERM: caviar stops (the trials in flight are re-run on resume)"' TERM
trap 'woke=1' INT

# caviar's stderr goes to the job's log and to $log, read below; tee ignores
# the job's SIGTERM.
mkfifo "$tmp/fifo" || exit 1
(trap '' TERM INT; exec tee "$log" <"$tmp/fifo" >&2) &
tee_pid=$!
"${launch[@]}" "$caviar" "${cmd[@]}" 2>"$tmp/fifo" &
pid=$!
while :; do
  woke=0
  rc=0
  wait "$pid" || rc=$?
  [ "$woke" = 1 ] || break # woken by the trap: wait for mpirun to end
done
wait "$tee_pid"
trap - TERM INT

if [ "$rc" -eq 0 ] && grep -q 'study complete:' "$log"; then
  say "study complete: $results"
  exit 0
fi
if grep -q 'study stopped:' "$log"; then
  say "study stopped before its end; submit this job again to resume $results"
  exit 0
fi
say "caviar failed (exit status $rc); $results keeps every finished trial"
exit 1
