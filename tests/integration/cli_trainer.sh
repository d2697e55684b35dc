#!/bin/bash
# cli_trainer.sh CAVIAR TOYTRAINER: a program of the user's own under caviar
# (trainer:, DESIGN.md "Bring your own training program"), with the tiny
# toytrainer (tests/integration/toytrainer.c):
#  - a study on 1 and 3 ranks gives the same /trials, /curves and /segments
#  - successive halving continues promoted trials from their checkpoint
#    directory: every curve equals the same trial trained straight through;
#    PBT's exploits continue from a copy of the parent's directory
#  - every failure kind (signal, non-zero exit, hang past trial_timeout,
#    garbage and nan metrics, no metric line, huge output, a missing or
#    non-executable program) is a failed trial with its reason and output's
#    tail in /failures, and the study completes
#  - a value with ';', spaces, $(...) and backquotes reaches the program as
#    one literal argv item
#  - kill -9 of the study mid-way, then caviar resume: the uninterrupted table
#  - report works, predict and train refuse with exit 2, bad trainer specs
#    exit 2 with file:line:column
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
toy=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPI=(timeout -k 5 120 mpirun --oversubscribe --bind-to none)
cp "$toy" "$T/toytrainer"

# job NAME SEARCH PARAMS [EXTRA]: a job file running ./toytrainer beside it
job() {
  cat >"$T/$1.yaml" <<YAML
name: $1
trainer:
  command: [./toytrainer, --lr, "{lr}", --width, "{width}"${4:-}]
  grace_seconds: 1
search: $2
checkpoints: {keep: 3}
parameters:
$3
YAML
}

PARAMS='  lr: {distribution: log_uniform, min: 1.0e-4, max: 1.0}
  width: {distribution: int_uniform, min: 4, max: 128}
  epochs: 4'

# ---- 1 and 3 ranks: the same tables -------------------------------------------
job rand "{method: random, trials: 10, rounds: 2, seed: 5}" "$PARAMS"
expect_status 0 "validate" -- "$caviar" validate "$T/rand.yaml"
expect_grep "^trainer: \./toytrainer --lr \{lr\}" "$T/out" "validate shows the trainer"
expect_grep "valid: 2 searched, 1 constant" "$T/out" "validate counts the program's parameters"
expect_status 0 "sample" -- "$caviar" sample "$T/rand.yaml" -n 3
expect_grep "^trial,round,lr,width$" "$T/out" "sample's columns are the program's names"
expect_status 0 "1 rank" -- "$caviar" run "$T/rand.yaml" -o "$T/r1.h5"
expect_status 0 "3 ranks" -- "${MPI[@]}" -np 3 "$caviar" run "$T/rand.yaml" -o "$T/r3.h5"
same_tables "$T/r1.h5" "$T/r3.h5" "1 and 3 ranks" segments curves
$PY - "$T/r3.h5" >"$T/py" 2>&1 <<'EOF' || fail "r3.h5: $(cat "$T/py")"
import sys, os, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
t, c = f["trials"][:], f["curves"][:]
assert set(t.dtype.names) >= {"lr", "width", "epochs", "dev_accuracy"}, t.dtype.names
assert "hidden_units" not in t.dtype.names, "caviar's own parameters in a program's table"
assert t["width"].dtype.kind == "i", t["width"].dtype
assert len(t) == 20 and all(s == b"done" for s in t["status"]), t["status"]
assert len(c) == 80, len(c)
assert len(f["failures"]) == 0
# checkpoint directories: the best 3 kept, the others removed
ckpt = sys.argv[1] + ".ckpt"
dirs = sorted(d for d in os.listdir(ckpt) if d.startswith("trial_") and os.path.isdir(os.path.join(ckpt, d)))
best = sorted(zip(-t["dev_accuracy"], t["trial"]))[:3]
assert dirs == ["trial_%06d" % b for _, b in sorted(best, key=lambda x: x[1])], (dirs, best)
assert os.path.exists(os.path.join(ckpt, dirs[0], "state.txt"))
EOF
expect_status 0 "report" -- "$caviar" report "$T/r3.h5"
expect_grep "rank +trial +round +lr +width" "$T/out" "report's columns are the program's names"
expect_status 2 "predict" -- "$caviar" predict "$T/r3.h5"
expect_grep "weights are the program's, not caviar's; trial [0-9]+'s are in .*r3.h5.ckpt/trial_[0-9]{6}/" "$T/err" "predict says where the weights are"
expect_status 2 "train" -- "$caviar" train "$T/rand.yaml"
expect_grep "rand.yaml:3:3: this job trains a program of its own" "$T/err" "train refuses"

# ---- successive halving: continued from the checkpoint directory ---------------
job asha "{method: asha, trials: 9, seed: 7, min_epochs: 1, max_epochs: 9, reduction_factor: 3}" \
  '  lr: {distribution: log_uniform, min: 1.0e-4, max: 1.0}
  width: {distribution: int_uniform, min: 4, max: 128}'
job straight "{method: random, trials: 9, seed: 7}" "$PARAMS
  epochs: 9"
sed -i '/^  epochs: 4$/d' "$T/straight.yaml"
expect_status 0 "asha, 1 rank" -- "$caviar" run "$T/asha.yaml" -o "$T/a1.h5"
expect_status 0 "asha, 3 ranks" -- "${MPI[@]}" -np 3 "$caviar" run "$T/asha.yaml" -o "$T/a3.h5"
same_tables "$T/a1.h5" "$T/a3.h5" "asha on 1 and 3 ranks" rungs segments curves
expect_status 0 "straight" -- "$caviar" run "$T/straight.yaml" -o "$T/s.h5"
$PY - "$T/a3.h5" "$T/s.h5" >"$T/py" 2>&1 <<'EOF' || fail "asha against straight: $(cat "$T/py")"
import sys, h5py, numpy as np
a, s = (h5py.File(p, "r") for p in sys.argv[1:3])
seg = a["segments"][:]
assert (seg["from_epoch"] > 0).sum() >= 2, "no trial continued"
ca, cs = a["curves"][:], s["curves"][:]
for t in a["trials"][:]:
    x = ca[ca["trial"] == t["trial"]]
    y = cs[cs["trial"] == t["trial"]][: len(x)]
    assert list(x["epoch"]) == list(range(1, len(x) + 1)), (t["trial"], x["epoch"])
    for k in ("dev_accuracy", "dev_loss", "train_loss"):
        assert np.array_equal(x[k], y[k]), (t["trial"], k, x[k], y[k])
EOF

# ---- pbt: an exploit copies the parent's checkpoint directory ---------------------
job pbt "{method: pbt, population: 6, perturbation_interval: 2, max_epochs: 6, seed: 7}" \
  '  lr: {distribution: log_uniform, min: 1.0e-4, max: 1.0}
  width: {values: [8, 16, 32, 64]}'
expect_status 0 "pbt, 1 rank" -- "$caviar" run "$T/pbt.yaml" -o "$T/p1.h5"
expect_status 0 "pbt, 3 ranks" -- "${MPI[@]}" -np 3 "$caviar" run "$T/pbt.yaml" -o "$T/p3.h5"
same_tables "$T/p1.h5" "$T/p3.h5" "pbt on 1 and 3 ranks" segments curves lineage
$PY - "$T/p3.h5" >"$T/py" 2>&1 <<'EOF' || fail "pbt: $(cat "$T/py")"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
ex = [r for r in f["lineage"][:] if r["decision"] == b"exploit"]
assert ex, "no exploit"
for r in ex:
    log = open(sys.argv[1] + ".ckpt/log_%06d.txt" % r["trial"]).read()
    assert "continuing from epoch %d" % r["from_epoch"] in log, (r["trial"], log[:300])
EOF

# ---- failures: each kind recorded, the study completes --------------------------
job fail "{method: grid, seed: 3}" \
  '  lr: [0.01]
  width: [16]
  mode: [ok, crash, exit, hang, garbage, nan, huge, nometric, chatty]
  epochs: 3' ', --mode, "{mode}"'
echo "trial_timeout: 3" >>"$T/fail.yaml"
expect_status 0 "hostile programs" -- "${MPI[@]}" -np 3 "$caviar" run "$T/fail.yaml" -o "$T/f.h5"
expect_grep "study complete: 9 of 9 trials finished \(0 diverged, 6 failed\)" "$T/err" "the study completes"
$PY - "$T/f.h5" >"$T/py" 2>&1 <<'EOF' || fail "failures: $(cat "$T/py")"
import sys, os, re, h5py
f = h5py.File(sys.argv[1], "r")
t = {int(r["trial"]): r for r in f["trials"][:]}
fl = {int(r["trial"]): r for r in f["failures"][:]}
mode = {k: t[k]["mode"].decode() for k in t}
want = {"crash": r"killed by signal 11 \(SIGSEGV\)", "exit": r"exited with status 3",
        "hang": r"ran past trial_timeout \(3 s\): stopped with SIGTERM, then SIGKILL",
        "garbage": r"dev_accuracy is 'banana', not a number", "nan": r"dev_accuracy is nan",
        "nometric": r"exited 0 without a metric line"}
for k, m in mode.items():
    status = t[k]["status"].decode()
    if m in want:
        assert status == "failed", (m, status)
        assert re.search(want[m], fl[k]["reason"].decode()), (m, fl[k]["reason"])
        assert b"toytrainer: lr" in fl[k]["log_tail"], (m, fl[k]["log_tail"][-300:])
    else:
        assert status == "done" and k not in fl, (m, status)
assert fl[[k for k in mode if mode[k] == "exit"][0]]["exit_status"] == 3
assert fl[[k for k in mode if mode[k] == "crash"][0]]["signal"] == 11
huge = [k for k in mode if mode[k] == "huge"][0]
size = os.path.getsize(sys.argv[1] + ".ckpt/log_%06d.txt" % huge)
assert (16 << 20) - 4096 <= size < (16 << 20) + 4096, size
EOF
expect_status 0 "report of failures" -- "$caviar" report "$T/f.h5"
expect_grep "^failed: 6 segments of the program" "$T/out" "report lists the failures"
expect_grep "killed by signal 11 \(SIGSEGV\); its log: .*f.h5.ckpt/log_0000[0-9]{2}.txt" "$T/out" "report's reason and log"
# a program that is not there, or not executable
for what in missing noexec; do
  job "$what" "{method: random, trials: 2, seed: 1}" "$PARAMS"
done
sed -i 's|\./toytrainer|./no-such-program|' "$T/missing.yaml"
printf '#!/bin/sh\necho hi\n' >"$T/noexec.sh"
sed -i 's|\./toytrainer|./noexec.sh|' "$T/noexec.yaml"
for what in missing noexec; do
  expect_status 0 "$what program" -- "$caviar" run "$T/$what.yaml" -o "$T/$what.h5"
  expect_grep "study complete: 2 of 2 trials finished \(0 diverged, 2 failed\)" "$T/err" "$what: the study completes"
done
$PY - "$T/missing.h5" "$T/noexec.h5" >"$T/py" 2>&1 <<'EOF' || fail "cannot run: $(cat "$T/py")"
import sys, h5py
m, n = (h5py.File(p, "r")["failures"][:] for p in sys.argv[1:3])
assert all(b"cannot run ./no-such-program" in r and b"No such file or directory" in r for r in m["reason"]), m["reason"]
assert all(b"Permission denied" in r for r in n["reason"]), n["reason"]
EOF

# ---- a value with shell syntax is one literal argument --------------------------
job quote "{method: grid, seed: 1}" '  lr: [0.01]
  width: [16]
  tag: ["a; b $(touch pwned) `touch pwned2` c", plain]
  epochs: 2' ', --tag, "{tag}", "--both={tag}/{width}", "{{literal}}"'
sed -i 's/keep: 3/keep: all/' "$T/quote.yaml"
expect_status 0 "quoted values" -- "$caviar" run "$T/quote.yaml" -o "$T/q.h5"
[ -e "$T/pwned" ] || [ -e "$T/pwned2" ] && fail "a value ran as a command"
printf '%s\n' ./toytrainer --lr 0.01 --width 16 --tag 'a; b $(touch pwned) `touch pwned2` c' \
  '--both=a; b $(touch pwned) `touch pwned2` c/16' "{literal}" >"$T/argv.want"
cmp -s "$T/argv.want" "$T/q.h5.ckpt/trial_000000/argv.txt" \
  || fail "argv: $(diff "$T/argv.want" "$T/q.h5.ckpt/trial_000000/argv.txt" | head -5)"
expect_grep '"tag": "a; b \$\(touch pwned\) `touch pwned2` c"' "$T/q.h5.ckpt/params_000000.json" "CAVIAR_PARAMS"

# ---- kill -9 mid-way, then resume: the uninterrupted table -----------------------
job slow "{method: random, trials: 8, seed: 11}" "$PARAMS" ', --sleep, "150"'
# start_slow: the slow study on 3 ranks in a session of its own ($pid), until
# its fourth trial has started
start_slow() {
  rm -rf "$T/int.h5" "$T/int.h5.ckpt"
  setsid mpirun --oversubscribe --bind-to none -np 3 "$caviar" run "$T/slow.yaml" -o "$T/int.h5" \
    >"$T/int.out" 2>&1 &
  pid=$!
  for _ in $(seq 1 400); do
    [ -e "$T/int.h5.ckpt/log_000003.txt" ] && break
    sleep 0.05
  done
  sleep 0.3
}
expect_status 0 "uninterrupted" -- "${MPI[@]}" -np 3 "$caviar" run "$T/slow.yaml" -o "$T/ref.h5"
start_slow
for s in $(ps -o pid= -s "$pid"); do kill -9 "$s" 2>/dev/null; done
wait "$pid" 2>/dev/null
grep -q "study complete" "$T/int.out" && fail "kill -9: the study had ended before it"
expect_status 0 "resume after kill -9" -- "${MPI[@]}" -np 3 "$caviar" resume "$T/int.h5"
same_tables "$T/ref.h5" "$T/int.h5" "resume after kill -9" segments curves

# ---- SIGUSR1 mid-way: the programs get SIGTERM, resume re-runs them ---------------
start_slow
kill -USR1 "$pid"
for _ in $(seq 1 600); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -0 "$pid" 2>/dev/null && fail "usr1: the study had not ended 30 s after the signal"
for s in $(ps -o pid= -s "$pid" 2>/dev/null); do kill -9 "$s" 2>/dev/null; done
wait "$pid" 2>/dev/null
pgrep -f "$T/toytrainer|\./toytrainer --lr .* --sleep" >/dev/null && fail "usr1: a program outlived the stop"
expect_grep "study stopped" "$T/int.out" "usr1: the study stops"
expect_status 0 "resume after SIGUSR1" -- "${MPI[@]}" -np 3 "$caviar" resume "$T/int.h5"
same_tables "$T/ref.h5" "$T/int.h5" "resume after SIGUSR1" segments curves

# ---- bad trainer specs: exit 2 with file:line:column ------------------------------
bad() { # NAME EXPECTED-REGEX: the job $T/NAME.yaml is refused
  expect_status 2 "$1" -- "$caviar" validate "$T/$1.yaml"
  expect_grep "$2" "$T/err" "$1"
}
job b1 "{method: random, trials: 2}" "$PARAMS" ', "{widht}"'
bad b1 'b1.yaml:3:[0-9]+: trainer.command item 6: .\{widht\}. names no parameter \(expected one of: epochs, lr, width'
printf 'trainer:\n  command: []\n' >"$T/b2.yaml"
bad b2 'b2.yaml:2:12: trainer.command must not be empty'
printf 'trainer:\n  command: ./train.py --lr 1\n' >"$T/b3.yaml"
bad b3 'b3.yaml:2:12: trainer.command must be a list of argv items'
printf 'trainer:\n  workdir: .\n' >"$T/b4.yaml"
bad b4 'b4.yaml:2:3: trainer needs command'
printf 'data: {source: x.csv}\ntrainer:\n  command: [./t]\n' >"$T/b5.yaml"
bad b5 'b5.yaml:1:1: data does not apply to a job with a trainer'
printf 'trainer:\n  command: [./t]\nparameters:\n  2lr: [1, 2]\n' >"$T/b6.yaml"
bad b6 "b6.yaml:4:3: parameter name '2lr'"
printf 'trainer:\n  command: [./t]\n  grace_seconds: -1\n' >"$T/b7.yaml"
bad b7 'b7.yaml:3:18: trainer.grace_seconds must be'
printf 'trainer:\n  command: [./t]\nparameters:\n  seconds: [1, 2]\n' >"$T/b8.yaml"
bad b8 "b8.yaml:4:3: parameter name 'seconds' is one of the results table's own columns"
printf 'trainer:\n  command: [./t]\n  workdir: ./nowhere\n' >"$T/b9.yaml"
expect_status 2 "missing workdir" -- "$caviar" run "$T/b9.yaml" -o "$T/b9.h5"
expect_grep "b9.yaml:2:3: trainer.workdir .*nowhere: No such file or directory" "$T/err" "missing workdir"
# without a trainer, unknown names are still refused
printf 'parameters:\n  width: [1, 2]\n' >"$T/b10.yaml"
bad b10 "b10.yaml:2:3: unknown key 'width' in parameters"

finish
