#!/usr/bin/env bash
# faults.sh CAVIAR FAULTKILL.so: fault injection on the runner.
#
#  1. kill -9 of the whole study (every process of its session: mpirun and
#     its ranks, which sit in process groups of their own) at chosen calls
#     (faultkill.so, preloaded: during the data broadcast, mid-append, during
#     a checkpoint write, during the final gathering, while resume opens the
#     file) and at random moments, on 1 and 3 ranks; after every kill the file
#     must open (or not exist yet, when nothing had finished) with no finished
#     trial lost, duplicated or changed (faults_check.py against the
#     uninterrupted run), and every chain of kills and resumes must end with
#     the uninterrupted run's table (table.py, --check);
#  2. kill -9 of one worker: OpenMPI ends the job, resume completes;
#  3. a full disk (a small tmpfs, mounted here): a clear error, the rows
#     written before intact, and resume completes once there is room again;
#  4. a read-only output directory (a read-only tmpfs: root ignores mode
#     bits): run, train -o and resume fail with a clear message before any
#     training.
# Prints the kills attempted and survived. FAULTS_SEED=N picks another
# sequence of random moments (default 1). Needs root for mount.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
shim=$2
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1
RANDOM=${FAULTS_SEED:-1}
mounts=()
sessions=()
cleanup() {
  local sid m
  for sid in "${sessions[@]}"; do kill_session "$sid"; done
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

# kill_session SID: SIGKILL to every process of session SID until none is left.
kill_session() {
  local pids
  for _ in $(seq 1 100); do
    pids=$(ps -o pid= -s "$1" 2>/dev/null | tr -d ' ' | tr '\n' ' ')
    [ -n "${pids// /}" ] || return 0
    kill -9 $pids 2>/dev/null
    sleep 0.05
  done
  fail "session $1 would not die: $pids"
}

# Noisy data, so that trials differ: 1500 examples, 10 features, 3 classes.
mkdir -p "$T/data" "$T/res"
noisy_csv "$T/data/noisy.csv" 1500
cat >"$T/study.yaml" <<YAML
name: faults
data: {source: data/noisy.csv, dev_size: 0.2}
search: {trials: 6, rounds: 2, keep: 0.5, seed: 7}
checkpoints: {keep: 3}
parameters:
  epochs: 80
  batch_size: 16
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 0.3}
  hidden_units: {values: [8, 16, 32]}
  layers: {distribution: int_uniform, min: 1, max: 2}
YAML

# launch NP FAULT ARGS...: caviar ARGS in a session of its own (1 rank:
# directly; else under mpirun), faultkill preloaded with CAVIAR_FAULT=FAULT
# (empty: none). Sets $pid (= the session id); output in $T/out, $T/err.
launch() {
  local np=$1 fault=$2
  shift 2
  if [ "$np" -eq 1 ]; then
    setsid env LD_PRELOAD="$shim" CAVIAR_FAULT="$fault" "$caviar" "$@" >"$T/out" 2>"$T/err" &
  else
    setsid mpirun -np "$np" --bind-to none -x LD_PRELOAD="$shim" -x CAVIAR_FAULT="$fault" \
      "$caviar" "$@" >"$T/out" 2>"$T/err" &
  fi
  pid=$!
  sessions+=("$pid")
}

# await_study [DELAY]: waits for the launched study (killing its session after
# DELAY seconds if given, or after 120 s in any case); sets $rc.
await_study() {
  local delay=${1:-120}
  # (the killer takes its sleep with it when it is killed, and holds no
  # pipe of the test's: an orphaned sleep would keep meson waiting)
  (
    trap 'kill "$s" 2>/dev/null; exit 0' TERM
    sleep "$delay" &
    s=$!
    wait "$s"
    kill_session "$pid"
  ) >/dev/null 2>&1 &
  local killer=$!
  wait "$pid" 2>/dev/null
  rc=$?
  kill "$killer" 2>/dev/null
  wait "$killer" 2>/dev/null
  kill_session "$pid" # whatever a killed mpirun left behind
}

R=$T/res/study.h5
STATE=$T/state
attempted=0
survived=0
chains=0
declare -A phase_attempted phase_survived

# check PHASE: after a kill: the file as readers find it, against the reference.
check() {
  attempted=$((attempted + 1))
  phase_attempted[$1]=$((${phase_attempted[$1]:-0} + 1))
  if $PY "$here/faults_check.py" "$R" "$T/ref.h5" "$STATE" >"$T/check" 2>&1; then
    survived=$((survived + 1))
    phase_survived[$1]=$((${phase_survived[$1]:-0} + 1))
  else
    fail "kill at $2 ($1): $(tr '\n' ' ' <"$T/check")"
  fi
  last_check=$(head -n 1 "$T/check")
}

# The command that continues the chain: a fresh run while no file opens
# (killed before it held anything), else resume.
next_cmd() {
  case ${last_check:-absent} in
    absent* | unopenable*) cmd=(run "$T/study.yaml" -o "$R" --force) ;;
    *) cmd=(resume "$R") ;;
  esac
}

# complete: resumes (or runs) without faults to the end, on 1 rank (a file
# killed on 3 ranks resumes on 1 just as well); the table must be the
# uninterrupted run's. Starts a new chain.
complete() {
  next_cmd
  launch 1 "" "${cmd[@]}"
  await_study
  if [ "$rc" -ne 0 ]; then
    fail "${cmd[0]} after kills: exit status $rc"
    sed 's/^/  /' "$T/err" | tail -n 5 >&2
  fi
  $PY "$here/table.py" "$R" --check >"$T/tab" 2>"$T/tabcheck" || fail "after kills: $(tail -n 3 "$T/tabcheck")"
  if diff -q "$T/tref" "$T/tab" >/dev/null; then
    chains=$((chains + 1))
  else
    fail "chain ended with a table that differs from the uninterrupted one"
    diff "$T/tref" "$T/tab" | head -n 6 >&2
  fi
  rm -rf "$R" "$R.ckpt" "$STATE"
  last_check=absent
}

# inject NP PHASE FAULT: runs the chain's next command with FAULT; a kill
# (SIGKILL: status 137) is then checked.
inject() {
  local np=$1 phase=$2 fault=$3
  next_cmd
  launch "$np" "$fault" "${cmd[@]}"
  await_study
  if [ "$rc" -eq 137 ]; then
    check "$phase" "$fault (${cmd[0]}, $np ranks)"
  elif [ "$rc" -eq 0 ]; then
    missed=$((missed + 1)) # the call never came: the command just finished
    $PY "$here/faults_check.py" "$R" "$T/ref.h5" "$STATE" >"$T/check" 2>&1 \
      || fail "$fault: finished, but $(tr '\n' ' ' <"$T/check")"
    last_check=$(head -n 1 "$T/check")
  else
    fail "$fault (${cmd[0]}, $np ranks): exit status $rc, expected a kill (137) or 0"
    sed 's/^/  /' "$T/err" | grep -v '^  \[' | tail -n 30 >&2
  fi
}

# ---- the uninterrupted run, and how often it calls what ---------------------
export CAVIAR_FAULT_COUNT=$T/counts3
t0=$(date +%s%N)
launch 3 "" run "$T/study.yaml" -o "$T/ref.h5"
await_study
ms3=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" -eq 0 ] || { fail "uninterrupted run: exit status $rc"; tail -n 5 "$T/err" >&2; finish; }
export CAVIAR_FAULT_COUNT=$T/counts1
t0=$(date +%s%N)
launch 1 "" run "$T/study.yaml" -o "$T/ref1.h5"
await_study
ms1=$((($(date +%s%N) - t0) / 1000000))
unset CAVIAR_FAULT_COUNT
[ "$rc" -eq 0 ] || { fail "uninterrupted run on 1 rank: exit status $rc"; finish; }
$PY "$here/table.py" "$T/ref.h5" --check >"$T/tref" 2>"$T/tabcheck" || fail "reference: $(cat "$T/tabcheck")"
$PY "$here/table.py" "$T/ref1.h5" >"$T/tref1"
diff -q "$T/tref" "$T/tref1" >/dev/null || fail "1 and 3 ranks give different tables"
[ "$(wc -l <"$T/tref")" -eq 12 ] || fail "reference: expected 12 trials"

# count NP FUNC: how many times rank 0 (the one that calls HDF5) called FUNC.
count() {
  local file=$T/counts$1 p
  p=$(awk '$2 == "H5Fcreate" {print $1; exit}' "$file")
  awk -v p="$p" -v f="$2" '$1 == p && $2 == f {print $3}' "$file"
}
# pick LO HI: a random integer in [LO, HI]; 0 when HI < LO (no such call).
pick() { if [ "${2:-0}" -lt "$1" ]; then echo 0; else echo $(($1 + RANDOM % ($2 - $1 + 1))); fi; }

# ---- 1. kill -9 at chosen calls ----------------------------------------------
# Each line: the phase, a fault in a fresh run (N drawn within the calls an
# uninterrupted run makes), optionally a fault in the resume that follows;
# then a clean resume to the end. Lines marked 3: run on 1 and on 3 ranks,
# those marked 1: on 1 rank only.
missed=0
for np in 1 3; do
  bcasts=$(count "$np" MPI_Bcast)
  writes=$(count "$np" H5Dwrite)
  flushes=$(count "$np" H5Dflush)
  extents=$(count "$np" H5Dset_extent)
  creates=$(count "$np" H5Fcreate)
  renames=$(count "$np" rename)
  copies=$(count "$np" H5Ocopy)
  closes=$(count "$np" H5Fclose)
  plan=(
    "3:startup MPI_Bcast:$(pick 1 "$bcasts") H5Fopen:1"
    "1:startup H5Fcreate:1:after"
    "1:startup H5Fstart_swmr_write:1"
    "3:startup H5Fstart_swmr_write:1:after H5Fopen:1:after"
    "3:append H5Dwrite:$(pick 2 "$writes") H5Fstart_swmr_write:1"
    "1:append H5Dwrite:$(pick 2 "$writes"):after H5Fstart_swmr_write:1:after"
    "1:append H5Dset_extent:$(pick 1 $((extents - 2))):after H5Fincrement_filesize:1:after"
    "3:append H5Dflush:$(pick 1 "$flushes") H5Dflush:1"
    "3:checkpoint H5Fcreate:$(pick 2 "$creates"):after"
    "1:checkpoint H5Dwrite:$(pick 2 "$writes")"
    "1:checkpoint rename:$(pick 1 "$renames") H5Fopen:1:after"
    "3:checkpoint rename:$(pick 1 "$renames"):after"
    "3:gather H5Ocopy:$(pick 1 "$copies") H5Fopen:1:after"
    "1:gather H5Ocopy:$copies:after"
    "1:gather H5Lcreate_soft:1:after H5Fstart_swmr_write:1:after"
    "1:gather H5Dset_extent:$((extents - 1)):after"
    "3:gather H5Dset_extent:$extents:after H5Ocopy:1"
    "1:gather H5Fclose:$((closes - 1))"
    "1:gather H5Fclose:$closes"
  )
  for step in "${plan[@]}"; do
    read -r phase fault resume_fault <<<"$step"
    case $phase in 1:*) [ "$np" -eq 1 ] || continue ;; esac
    phase=${phase#*:}
    case $fault in *:0 | *:0:* | *:-*) continue ;; esac # a call this run never makes
    rm -rf "$R" "$R.ckpt" "$STATE"
    last_check=absent
    inject "$np" "$phase" "$fault"
    [ -n "${resume_fault:-}" ] && inject "$np" resume "$resume_fault"
    complete
  done
done

# ---- ... and at random moments ----------------------------------------------
# Within the time an uninterrupted run took (start-up included) after the
# start of each command (run or resume, 1 or 3 ranks), six kills per chain.
echo "uninterrupted runs: ${ms1} ms on 1 rank, ${ms3} ms on 3 ranks"
for k in $(seq 1 18); do
  np=$((k % 2 ? 1 : 3))
  next_cmd
  ms=$((np == 1 ? ms1 : ms3))
  ms=$((RANDOM % (ms > 0 ? ms : 1)))
  delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
  launch "$np" "" "${cmd[@]}"
  await_study "$delay"
  if [ "$rc" -eq 137 ]; then
    check random "${delay} s (${cmd[0]}, $np ranks)"
  elif [ "$rc" -eq 0 ]; then
    missed=$((missed + 1))
    $PY "$here/faults_check.py" "$R" "$T/ref.h5" "$STATE" >"$T/check" 2>&1 \
      || fail "finished before the kill, but $(tr '\n' ' ' <"$T/check")"
    last_check=$(head -n 1 "$T/check")
  else
    fail "${cmd[0]} killed after $delay s: exit status $rc"
  fi
  [ $((k % 6)) -eq 0 ] && complete
done

# ---- 2. one worker killed ------------------------------------------------------
# A longer study, so that the kill lands mid-trial; OpenMPI then aborts the job.
sed 's/epochs: 80/epochs: 2000/' "$T/study.yaml" >"$T/long.yaml"
W=$T/res/worker.h5
launch 3 "" run "$T/long.yaml" -o "$W"
victim=$(await_rank "$pid" 2 "$W")
sleep 0.5
if [ -z "$victim" ]; then
  fail "worker kill: no rank 2 found"
else
  kill -9 "$victim"
  started=$(date +%s)
  await_study 60
  took=$(($(date +%s) - started))
  [ "$rc" -ne 0 ] || fail "worker kill: the job exited 0"
  [ "$took" -lt 60 ] || fail "worker kill: the job did not end by itself within 60 s"
  grep -qiE 'killed|signal|exited|abort' "$T/err" || fail "worker kill: mpirun said nothing"
  echo "worker kill: mpirun ended the job after ${took} s with status $rc"
  launch 3 "" resume "$W"
  await_study
  [ "$rc" -eq 0 ] || { fail "resume after a worker kill: exit status $rc"; tail -n 5 "$T/err" >&2; }
  $PY "$here/table.py" "$W" --check >/dev/null 2>"$T/tabcheck" || fail "after a worker kill: $(tail -n 2 "$T/tabcheck")"
fi

# ---- 3. a full disk ------------------------------------------------------------
# A 1 MiB tmpfs filled up to FREE KB before the run: the study stops at
# whatever write finds the disk full first (creating the file, an append, a
# checkpoint, the gathering) with a clear error; the rows written before are
# intact; once there is room, resume (or a new run, when the file was never
# complete) ends with the uninterrupted table.
F=$T/full
mkdir -p "$F"
if mount -t tmpfs -o size=1m tmpfs "$F"; then
  mounts+=("$F")
  cp "$T/study.yaml" "$F/"
  cp -r "$T/data" "$F/"
  full_errors=0
  for free in 8 40 72 136; do
    rm -rf "$F/full.h5" "$F/full.h5.ckpt" "$STATE"
    used=$(du -sk "$F" | awk '{print $1}')
    dd if=/dev/zero of="$F/filler" bs=1k count=$((1024 - used - free)) 2>/dev/null
    launch 1 "" run "$F/study.yaml" -o "$F/full.h5"
    await_study
    rm -f "$F/filler"
    msg=$(grep -m1 'caviar run:' "$T/err" | cut -c1-150)
    if [ "$rc" -ne 1 ]; then
      fail "full disk ($free KB free): exit status $rc, expected 1"
      grep -v '^\[' "$T/err" | tail -n 5 >&2
      continue
    fi
    full_errors=$((full_errors + 1))
    grep -q 'No space left on device' "$T/err" || fail "full disk ($free KB free): the message does not say why: $msg"
    [ -e "$F/full.h5" ] && cp "$F/full.h5" "$T/full-copy.h5" || rm -f "$T/full-copy.h5"
    $PY "$here/faults_check.py" "$T/full-copy.h5" "$T/ref.h5" "$STATE" >"$T/check" 2>&1 \
      || fail "full disk ($free KB free): $(tr '\n' ' ' <"$T/check")"
    echo "full disk, $free KB free: ${msg#caviar run: } ...; the file: $(head -n 1 "$T/check")"
    if [ -e "$F/full.h5" ]; then
      launch 1 "" resume "$F/full.h5"
    else
      launch 1 "" run "$F/study.yaml" -o "$F/full.h5"
    fi
    await_study
    [ "$rc" -eq 0 ] || { fail "after a full disk ($free KB): exit status $rc"; tail -n 3 "$T/err" >&2; }
    $PY "$here/table.py" "$F/full.h5" --check >"$T/tab" 2>"$T/tabcheck" \
      || fail "after a full disk ($free KB): $(tail -n 2 "$T/tabcheck")"
    diff -q "$T/tref" "$T/tab" >/dev/null || fail "full disk ($free KB) + resume: the table differs from the uninterrupted one"
  done
else
  fail "cannot mount a tmpfs (not root?)"
fi

# ---- 4. a read-only output directory --------------------------------------------
RO=$T/ro
mkdir -p "$RO"
if mount -t tmpfs -o size=1m tmpfs "$RO"; then
  mounts+=("$RO")
  cp "$T/ref.h5" "$RO/done.h5"
  mount -o remount,ro "$RO" || fail "cannot remount read-only"
  # the output is checked before the job's data is even read: a job whose
  # data is missing fails on the directory, not on the data
  sed 's#data/noisy.csv#data/missing.csv#' "$T/study.yaml" >"$T/missing.yaml"
  for np in 1 3; do
    launch "$np" "" run "$T/missing.yaml" -o "$RO/r.h5"
    await_study
    [ "$rc" -eq 2 ] || fail "read-only, $np ranks: exit status $rc, expected 2"
    expect_grep "r\.h5: cannot write in directory .*ro: Read-only file system" "$T/err" \
      "read-only, $np ranks"
    grep -q 'missing.csv' "$T/err" && fail "read-only, $np ranks: the data was read before the output was checked"
  done
  echo "read-only: $(grep -m1 'caviar run:' "$T/err")"
  launch 1 "" run "$T/study.yaml" -o "$RO/r.h5"
  await_study
  [ "$rc" -eq 2 ] || fail "read-only (data present): exit status $rc"
  grep -q 'trial' "$T/err" && fail "read-only: training started"
  expect_status 2 "train -o read-only" -- "$caviar" train "$T/missing.yaml" -o "$RO/t.h5" --set learning_rate=0.01 \
    --set hidden_units=8 --set layers=1
  expect_grep 'cannot write in directory' "$T/err" "train -o read-only"
  sum=$(md5sum <"$RO/done.h5")
  launch 1 "" resume "$RO/done.h5"
  await_study
  [ "$rc" -ne 0 ] || fail "resume in a read-only directory: exit status 0"
  expect_grep 'done\.h5.*(Read-only|read-only|cannot)' "$T/err" "resume read-only"
  grep -q 'trial' "$T/err" && fail "resume read-only: training started"
  [ "$(md5sum <"$RO/done.h5")" = "$sum" ] || fail "resume read-only: the file changed"
  echo "read-only resume: $(grep -m1 'caviar resume:' "$T/err")"
else
  fail "cannot mount a tmpfs (not root?)"
fi

# ---- figures ------------------------------------------------------------------
echo "kills attempted: $attempted, survived: $survived (calls never reached or studies that ended before their kill: $missed); chains ended with the uninterrupted table: $chains"
for ph in startup append checkpoint gather resume random; do
  echo "  $ph: ${phase_survived[$ph]:-0} of ${phase_attempted[$ph]:-0} survived"
done
[ "$attempted" -ge 36 ] || fail "only $attempted kills landed"
finish
