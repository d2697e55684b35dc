#!/usr/bin/env bash
# slurm.sh CAVIAR: jobs/slurm.sbatch on a real single-node SLURM (Debian's
# slurm-wlm and munge; tests/run.sh installs them). The test starts its own
# munged, slurmctld and slurmd on loopback, with a config, state and key in
# its scratch directory (no systemd, nothing of the system's touched), and
# stops them at the end. Then, through sbatch:
#   - a small study with srun --mpi=pmix, checked, and the same with the
#     mpirun launcher: the same table;
#   - jobs/pbs.sh run as PBS would run it (it cannot meet a real PBS here):
#     the same table;
#   - a longer study uninterrupted: the reference table;
#   - the same study with a 1-minute wall time: the script's --time-limit
#     (remaining time minus CAVIAR_MARGIN) stops it cleanly before SLURM
#     would, and CAVIAR_REQUEUE=1 requeues the job (cancelled here: the
#     requeued job would only start after SLURM's requeue delay);
#   - the same command submitted again and sent SIGTERM (as
#     --signal=B:TERM@60 does): caviar stops at once, cleanly;
#   - submitted again: it resumes and ends with the reference table;
#     submitted once more (results file only), it finds the study complete
#     and changes nothing.
# Fails (never skips) when SLURM cannot be found or started.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
script=$(cd "$here/../.." && pwd)/jobs/slurm.sbatch
pbs=$(cd "$here/../.." && pwd)/jobs/pbs.sh
py=/usr/bin/python3

for c in munged mungekey slurmctld slurmd sbatch squeue scontrol scancel srun sinfo; do
  command -v "$c" >/dev/null || { echo "FAIL: $c not found (install slurm-wlm and munge: tests/run.sh does)" >&2; exit 1; }
done
[ -x "$script" ] || { echo "FAIL: $script is not executable" >&2; exit 1; }

# Nothing of an enclosing SLURM job or the user's settings leaks in.
for v in $(compgen -v | grep -E '^(SLURM|SBATCH|SRUN|SALLOC|SQUEUE|SINFO)_'); do unset "$v"; done
# The jobs run as root here; SLURM passes the environment through.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export CAVIAR=$caviar

# ---- a private SLURM ------------------------------------------------------
C=$T/slurm
export SLURM_CONF=$C/slurm.conf

# stop_pidfile FILE: stops the daemon whose pid FILE holds (TERM, then KILL).
stop_pidfile() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null
}

stop_cluster() {
  if [ -f "$C/slurmctld.pid" ]; then
    scancel --quiet --user="$(id -un)" 2>/dev/null
    for _ in $(seq 1 100); do # jobs end (their steps' processes too)
      [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  stop_pidfile "$C/slurmd.pid"
  stop_pidfile "$C/slurmctld.pid"
  stop_pidfile "$C/munge/munged.pid"
}
trap 'stop_cluster; rm -rf "$T"' EXIT
trap 'exit 1' TERM INT HUP # a timeout too stops the daemons (they left our process group)

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cluster_logs() {
  local f
  for f in "$C"/log/*.log; do
    echo "--- $(basename "$f")" >&2
    tail -n 15 "$f" >&2
  done
}

mkdir -p "$C/munge" "$C/state" "$C/spool" "$C/log"
chmod 755 "$C/munge"
mungekey --create --keyfile="$C/munge/munge.key" 2>"$C/log/mungekey.log" \
  || { echo "FAIL: mungekey" >&2; cat "$C/log/mungekey.log" >&2; exit 1; }
chmod 400 "$C/munge/munge.key"
munged --force --socket="$C/munge/socket" --key-file="$C/munge/munge.key" \
  --pid-file="$C/munge/munged.pid" --log-file="$C/log/munged.log" --seed-file="$C/munge/seed" \
  || { echo "FAIL: munged did not start" >&2; cluster_logs; exit 1; }

node=$(hostname -s 2>/dev/null || hostname)
# the node's real topology (a node that claims more than it has is drained)
topo=$(slurmd -C 2>/dev/null | sed -n '1s/^NodeName=[^ ]* //p' | sed 's/ RealMemory=[0-9]*//')
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$topo")
[ -n "$cpus" ] || { echo "FAIL: slurmd -C printed no CPUs" >&2; exit 1; }
workers=$((cpus >= 2 ? 2 : 1))
for _ in $(seq 1 50); do
  port=$((20000 + RANDOM % 40000))
  port_free "$port" && port_free $((port + 1)) && break
done
cat >"$SLURM_CONF" <<EOF
ClusterName=caviartest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$C/munge/socket
CredType=cred/munge
StateSaveLocation=$C/state
SlurmdSpoolDir=$C/spool
SlurmctldPidFile=$C/slurmctld.pid
SlurmdPidFile=$C/slurmd.pid
SlurmctldLogFile=$C/log/slurmctld.log
SlurmdLogFile=$C/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=10
NodeName=$node NodeAddr=127.0.0.1 $topo State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -c -i -f "$SLURM_CONF" || { echo "FAIL: slurmctld did not start" >&2; cluster_logs; exit 1; }
slurmd -N "$node" -f "$SLURM_CONF" || { echo "FAIL: slurmd did not start" >&2; cluster_logs; exit 1; }
state=
for _ in $(seq 1 150); do
  state=$(sinfo -h -n "$node" -o %T 2>/dev/null)
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "$state" = idle ] || { echo "FAIL: the SLURM node is '$state', not idle" >&2; cluster_logs; exit 1; }
srun --mpi=list >"$T/mpi-list" 2>&1
expect_grep 'pmix' "$T/mpi-list" "srun --mpi=list offers pmix"
echo "slurm: node $node ($cpus CPUs) up after ${SECONDS} s; jobs use $workers workers" >&2

# ---- jobs -----------------------------------------------------------------
# submit SBATCH ARGS...: submits, prints the job id.
submit() { sbatch --parsable -D "$T" -o "$T/job-%j.out" "$@" | cut -d';' -f1; }

# wait_job ID: until job ID ends (job_state: its state) or was requeued
# (job_state=REQUEUED); at most 5 minutes. (Not in a $(...) subshell: the
# TERM trap must not wait for it.)
wait_job() {
  local info restarts end=$((SECONDS + 300))
  job_state=unknown
  while [ "$SECONDS" -lt "$end" ]; do
    info=$(scontrol show job "$1" 2>/dev/null)
    job_state=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$info")
    restarts=$(sed -n 's/.*Restarts=\([0-9]*\).*/\1/p' <<<"$info")
    case $job_state in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE)
        return 0
        ;;
      PENDING) [ "${restarts:-0}" -ge 1 ] && { job_state=REQUEUED; return 0; } ;;
    esac
    sleep 0.5
  done
  job_state="still ${job_state:-unknown} after 5 minutes"
}

# start_job SBATCH ARGS...: submits; the job's id is then $job.
start_job() {
  job_t=$SECONDS
  job=$(submit "$@") && [ -n "$job" ] || { fail "sbatch $*: failed"; return 1; }
}

# end_job WANT NAME: waits for $job, expects its state WANT; its log is then
# in $T/NAME.out.
end_job() {
  local want=$1 name=$2
  wait_job "$job"
  cp "$T/job-$job.out" "$T/$name.out" 2>/dev/null || : >"$T/$name.out"
  echo "slurm: job $job ($name): $job_state after $((SECONDS - job_t)) s" >&2
  if [ "$job_state" != "$want" ]; then
    fail "$name: job $job is $job_state, expected $want"
    sed 's/^/  job: /' "$T/$name.out" | tail -n 20 >&2
    cluster_logs
    return 1
  fi
}

# run_job WANT NAME SBATCH ARGS...: start_job, then end_job.
run_job() {
  local want=$1 name=$2
  shift 2
  start_job "$@" && end_job "$want" "$name"
}

table() { "$py" "$here/table.py" "$@"; }

mkdir -p "$T/data"
blobs_csv "$T/data/blobs.csv" 900
cat >"$T/tiny.yaml" <<YAML
name: tiny
data: {source: data/blobs.csv, dev_size: 0.2}
search: {trials: 8, rounds: 2, keep: 0.25, seed: 5}
checkpoints: {keep: 3}
parameters:
  epochs: 4
  batch_size: 32
  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0}
  hidden_units: {values: [8, 16, 32]}
YAML
# about 50 s on two workers of a 2-core VM, trials of 1 to 8 s
cat >"$T/long.yaml" <<YAML
name: long
data: {source: data/blobs.csv, dev_size: 0.2}
search: {trials: 16, rounds: 2, keep: 0.25, seed: 5}
checkpoints: {keep: 3}
parameters:
  epochs: 2500
  batch_size: 32
  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0e-1}
  hidden_units: {values: [16, 32]}
  beta1: {distribution: one_minus_log_uniform, min: 0.8, max: 0.99}
YAML

# 1. a small study under srun --mpi=pmix: master + workers, checked
if run_job COMPLETED tiny -n "$workers" --time=5 "$script" tiny.yaml results/tiny.h5; then
  expect_grep 'study complete: 16 of 16 trials' "$T/tiny.out" "tiny"
  expect_grep 'srun --mpi=pmix --ntasks='"$((workers + 1))"' --overcommit' "$T/tiny.out" "tiny: srun line"
  expect_grep 'time limit: (2[89][0-9]|300) s of wall time left - 120 s margin: --time-limit 1[6-8][0-9]' \
    "$T/tiny.out" "tiny: time limit from the wall time"
  table "$T/results/tiny.h5" --check >"$T/t-tiny" 2>"$T/check" || { fail "tiny.h5 invariants"; cat "$T/check" >&2; }
  [ "$(wc -l <"$T/t-tiny")" -eq 16 ] || fail "tiny.h5: expected 16 trial rows"
  ranks=$("$py" -c "import h5py,sys; print(int(h5py.File(sys.argv[1],'r').attrs['ranks']))" "$T/results/tiny.h5")
  [ "$ranks" = $((workers + 1)) ] || fail "tiny.h5: ran on $ranks ranks, expected $((workers + 1))"
fi

# 2. the mpirun launcher inside the allocation: the same table
if CAVIAR_LAUNCHER=mpirun run_job COMPLETED tiny-mpirun -n "$workers" "$script" tiny.yaml results/tiny-mpirun.h5; then
  expect_grep "slurm.sbatch: mpirun -np $((workers + 1)) " "$T/tiny-mpirun.out" "mpirun line"
  table "$T/results/tiny-mpirun.h5" >"$T/t-tiny-mpirun"
  diff -q "$T/t-tiny" "$T/t-tiny-mpirun" >/dev/null || fail "srun and mpirun give different tables"
fi

# 3. jobs/pbs.sh, which cannot meet a real PBS here: it parses, and run
# as PBS would (PBS_* variables, a node file) it gives the same table, then
# resumes the finished study when run again
bash -n "$pbs" || fail "jobs/pbs.sh does not parse"
for _ in $(seq 1 "$workers"); do echo localhost; done >"$T/pbs-nodes"
pbs_env=(env PBS_O_WORKDIR="$T" PBS_NODEFILE="$T/pbs-nodes" PBS_JOBID=1.pbs PBS_WALLTIME=00:10:00)
expect_status 0 "pbs.sh" -- "${pbs_env[@]}" "$pbs" tiny.yaml results/tiny-pbs.h5
expect_grep 'time limit: 600 s of wall time left - 120 s margin: --time-limit 480' "$T/err" "pbs.sh: time limit"
expect_grep "mpirun -np $((workers + 1)) --hostfile $T/pbs-nodes " "$T/err" "pbs.sh: mpirun line"
expect_grep 'pbs.sh: study complete' "$T/err" "pbs.sh"
table "$T/results/tiny-pbs.h5" >"$T/t-tiny-pbs"
diff -q "$T/t-tiny" "$T/t-tiny-pbs" >/dev/null || fail "pbs.sh and srun give different tables"
expect_status 0 "pbs.sh again" -- "${pbs_env[@]}" "$pbs" results/tiny-pbs.h5
expect_grep 'exists: resuming it' "$T/err" "pbs.sh again: resumes"
expect_grep 'study complete: 16 of 16 trials' "$T/err" "pbs.sh again"

# 4. the longer study without interruption: the reference
run_job COMPLETED reference -n "$workers" --time=10 "$script" long.yaml results/reference.h5
table "$T/results/reference.h5" >"$T/t-ref"
[ "$(wc -l <"$T/t-ref")" -eq 32 ] || fail "reference: expected 32 trial rows"

# 5. one minute of wall time: the script's --time-limit (the time left minus
# CAVIAR_MARGIN) stops the study in time, cleanly, and the job requeues
# itself. (The script's --signal=B:TERM@60 would come at SLURM's first
# periodic check, anywhere in this short job: @0 leaves the time limit alone.)
if CAVIAR_MARGIN=52 CAVIAR_REQUEUE=1 run_job REQUEUED stopped -n "$workers" --time=1 --signal=B:TERM@0 \
     "$script" long.yaml results/long.h5; then
  stopped_id=$job
  expect_grep 'time limit: ([3-5][0-9]|60) s of wall time left - 52 s margin: --time-limit [0-9]+$' \
    "$T/stopped.out" "1-minute job: time limit"
  expect_grep 'study stopped: ' "$T/stopped.out" "1-minute job: stopped by the time limit"
  expect_grep "requeueing job $stopped_id" "$T/stopped.out" "1-minute job: requeued"
  grep -q 'DUE TO TIME LIMIT' "$T/stopped.out" && fail "1-minute job: SLURM had to kill it"
  n=$("$py" -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r')['trials']))" "$T/results/long.h5") \
    || fail "1-minute job: the results file does not open plainly (not closed cleanly)"
  { [ "${n:-0}" -ge 1 ] && [ "${n:-0}" -lt 32 ]; } || fail "1-minute job: $n trial rows, expected 1 to 31"
  echo "slurm: the 1-minute job stopped after ${n:-?} of 32 trials" >&2
  scancel "$stopped_id"
  for _ in $(seq 1 50); do # the requeued job must not start now
    scontrol show job "$stopped_id" 2>/dev/null | grep -q 'JobState=CANCELLED' && break
    sleep 0.2
  done
fi

# 6. the same command again, signalled as --signal=B:TERM does once a trial
# is in: the script has caviar stop at once (in-flight trials interrupted)
if start_job -n "$workers" --time=10 "$script" long.yaml results/long.h5; then
  for _ in $(seq 1 600); do
    grep -Eq '^\[[0-9]+/32\] trial' "$T/job-$job.out" 2>/dev/null && break
    sleep 0.1
  done
  scancel --batch --signal=TERM "$job"
  if end_job COMPLETED signalled; then
    expect_grep 'results/long.h5 exists: resuming it' "$T/signalled.out" "resubmission resumes"
    expect_grep 'got SIGTERM: asking caviar to stop' "$T/signalled.out" "SIGTERM to the batch script"
    expect_grep 'study stopped: ' "$T/signalled.out" "SIGTERM: caviar stopped"
    k=$("$py" -c "import h5py,sys; t=h5py.File(sys.argv[1],'r')['trials'][:]; print(sum(s.rstrip(b'\\0') == b'interrupted' for s in t['status']))" "$T/results/long.h5") \
      || fail "SIGTERM: the results file does not open plainly (not closed cleanly)"
    [ "${k:-0}" -ge 1 ] || fail "SIGTERM: no trial in flight was recorded as interrupted"
  fi
fi

# 7. and again: it resumes and finishes, with the reference table
if run_job COMPLETED resumed -n "$workers" --time=10 "$script" long.yaml results/long.h5; then
  expect_grep 'results/long.h5 exists: resuming it' "$T/resumed.out" "resubmission resumes"
  expect_grep 'study complete: 32 of 32 trials' "$T/resumed.out" "resubmission completes"
  table "$T/results/long.h5" --check >"$T/t-long" 2>"$T/check" || { fail "long.h5 invariants"; cat "$T/check" >&2; }
  diff -q "$T/t-ref" "$T/t-long" >/dev/null \
    || { fail "stopped + resubmitted study differs from the uninterrupted one"; diff "$T/t-ref" "$T/t-long" | head -5 >&2; }
fi

# 8. once more, naming only the results file: nothing left to do
if run_job COMPLETED again -n "$workers" "$script" results/long.h5; then
  expect_grep 'study complete: 32 of 32 trials' "$T/again.out" "resubmitting a finished study"
  table "$T/results/long.h5" >"$T/t-again"
  diff -q "$T/t-ref" "$T/t-again" >/dev/null || fail "resubmitting a finished study changed its table"
fi
h5dump_all "$T/results"

echo "slurm: ${SECONDS} s in all" >&2
finish
