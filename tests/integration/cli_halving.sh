#!/usr/bin/env bash
# cli_halving.sh CAVIAR: successive halving (asha, hyperband).
#  - the same table, the same promotions (/rungs), segments and curves on
#    1, 2 and 3 ranks;
#  - a promoted trial continues bit for bit: its curve equals the same
#    trial trained straight through by a random study of the same seed;
#  - kill -9 mid-rung, SIGTERM and --time-limit, each then resumed, equal
#    the uninterrupted run;
#  - budgets that do not fit exit 2 naming file:line:column.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# (bounded: a hang fails the check instead of the whole test's time)
MPI=(timeout -k 5 120 mpirun --oversubscribe --bind-to none)

mkdir -p "$T/data"
noisy_csv "$T/data/noisy.csv" 1500
noisy_csv "$T/data/big.csv" 12000

# job NAME METHOD DATA EXTRA [UNITS]: a halving job (min 2, max 18 epochs,
# factor 3: rungs of 2, 6 and 18 epochs; Hyperband's two brackets start at
# 2 and 6).
job() {
  cat >"$T/$1.yaml" <<YAML
name: $1
data: {source: data/$3, dev_size: 0.2}
search: {method: $2, trials: 12, rounds: 2, keep: 0.5, seed: 7,
         min_epochs: 2, max_epochs: 18, reduction_factor: 3$4}
checkpoints: {keep: 3}
parameters:
  batch_size: 16
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 0.3}
  hidden_units: {values: [${5:-8, 16, 32}]}
  layers: {distribution: int_uniform, min: 1, max: 2}
YAML
}
job asha asha noisy.csv ""
job hyperband hyperband noisy.csv ""

# same A.h5 B.h5 WHAT: the study's tables equal (lib.sh's same_tables)
same() { same_tables "$1" "$2" "$3" rungs segments curves; }

# ---- 1, 2, 3 ranks ------------------------------------------------------------
for m in asha hyperband; do
  expect_status 0 "$m on 1 rank" -- "$caviar" run "$T/$m.yaml" -o "$T/${m}1.h5"
  $PY "$here/table.py" "$T/${m}1.h5" --check >"$T/${m}1.txt" || fail "$m: table.py --check"
  for np in 2 3; do
    expect_status 0 "$m on $np ranks" -- "${MPI[@]}" -np "$np" "$caviar" run "$T/$m.yaml" -o "$T/$m$np.h5"
    $PY "$here/table.py" "$T/$m$np.h5" --check >"$T/$m$np.txt" || fail "$m $np ranks: table.py --check"
    cmp -s "$T/${m}1.txt" "$T/$m$np.txt" || fail "$m: the table on $np ranks differs from 1 rank's"
    same "$T/${m}1.h5" "$T/$m$np.h5" "$m on 1 and $np ranks"
  done
done

# what the file says: promotions, stops, rungs and budgets, states gone
$PY - "$T/asha1.h5" "$T/hyperband1.h5" >"$T/shape" 2>&1 <<'EOF' || fail "file shape: $(cat "$T/shape")"
import sys, h5py, numpy as np
for path, brackets in zip(sys.argv[1:], (1, 2)):
    f = h5py.File(path, "r")
    t, g, r = f["trials"][:], f["segments"][:], f["rungs"][:]
    assert len(t) == 24, len(t)
    assert sorted(set(g["bracket"])) == list(range(brackets)), set(g["bracket"])
    d = set(r["decision"])
    assert d == {b"promoted", b"stopped"}, d
    # every trial that went past a rung was promoted there, and the top rung is reached
    for row in t:
        rung = row["rung"]
        for k in range(rung):
            sel = r[(r["trial"] == row["trial"]) & (r["rung"] == k)]
            assert len(sel) == 1 and sel[0]["decision"] == b"promoted", (row["trial"], k)
    assert (t["budget"] == 18).any() and (t["budget"] < 18).any()
    assert (t["epochs_done"] == t["budget"]).all()
    # segments run on: each starts where the previous one of its trial ended
    for tr in set(g["trial"]):
        s = np.sort(g[g["trial"] == tr], order="rung")
        assert s["from_epoch"][0] == (0 if brackets == 1 else s["from_epoch"][0])
        assert (s["from_epoch"][1:] == s["to_epoch"][:-1]).all(), s
    # fewer epochs than training every trial in full
    assert t["epochs_done"].sum() < 18 * len(t)
import os
assert not os.path.exists(sys.argv[1] + ".ckpt"), "side files left after a complete study"
EOF

# ---- continuing is bit for bit ------------------------------------------------
cat >"$T/full.yaml" <<YAML
name: full
data: {source: data/noisy.csv, dev_size: 0.2}
search: {method: random, trials: 12, rounds: 1, seed: 7}
checkpoints: {keep: 3}
parameters:
  epochs: 18
  batch_size: 16
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 0.3}
  hidden_units: {values: [8, 16, 32]}
  layers: {distribution: int_uniform, min: 1, max: 2}
YAML
expect_status 0 "random, 18 epochs" -- "$caviar" run "$T/full.yaml" -o "$T/full.h5"
$PY - "$T/asha1.h5" "$T/full.h5" >"$T/bits" 2>&1 <<'EOF' || fail "continuation: $(cat "$T/bits")"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["curves"][:] for p in sys.argv[1:3])
cols = ["train_loss", "train_accuracy", "dev_loss", "dev_accuracy", "learning_rate"]
promoted = 0
for t in range(12):  # round 0: the same configurations and seeds
    x = np.sort(a[a["trial"] == t], order="epoch")
    y = np.sort(b[b["trial"] == t], order="epoch")[: len(x)]
    assert len(x) in (2, 6, 18), (t, len(x))
    for c in cols:
        assert (x[c].view(np.uint64) == y[c].view(np.uint64)).all(), (t, c)
    promoted += len(x) > 2
assert promoted >= 2, promoted
EOF

# ---- kill -9 mid-rung, SIGTERM, time limit: resumed, the same table --------------
job slow asha big.csv "" "32, 64, 128"
expect_status 0 "uninterrupted" -- "${MPI[@]}" -np 3 "$caviar" run "$T/slow.yaml" -o "$T/ref.h5"
[ -s "$T/ref.h5" ] || fail "no reference file"

# interrupt HOW: starts the slow study on 3 ranks, waits until a trial waits
# with its state to continue from (mid-rung), then kills or signals it.
interrupt() {
  rm -rf "$T/int.h5" "$T/int.h5.ckpt"
  setsid mpirun --oversubscribe --bind-to none -np 3 "$caviar" run "$T/slow.yaml" \
    -o "$T/int.h5" >"$T/int.out" 2>&1 &
  local pid=$! s
  for _ in $(seq 1 600); do
    ls "$T/int.h5.ckpt"/state_*.bin >/dev/null 2>&1 && break
    sleep 0.05
  done
  ls "$T/int.h5.ckpt"/state_*.bin >/dev/null 2>&1 || fail "$1: no state file appeared"
  sleep 0.3
  if [ "$1" = kill ]; then
    for s in $(ps -o pid= -s "$pid"); do kill -9 "$s" 2>/dev/null; done
  else
    kill -USR1 "$pid"
  fi
  # a stop that has not ended in 60 s is said, then killed: the resume
  # below must still give the uninterrupted table (seen rarely under meson,
  # not understood yet; see issue 13's note)
  for _ in $(seq 1 1200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "cli_halving: $1: the study had not ended 60 s after it; killed" >&2
    ps -o pid,stat,etime,args -s "$pid" >&2
  fi
  for s in $(ps -o pid= -s "$pid" 2>/dev/null); do kill -9 "$s" 2>/dev/null; done
  wait "$pid" 2>/dev/null
}
for how in kill usr1; do
  interrupt "$how"
  expect_status 0 "resume after $how" -- "${MPI[@]}" -np 2 "$caviar" resume "$T/int.h5"
  same "$T/ref.h5" "$T/int.h5" "resume after $how"
done

# a time limit ends before the limit, then resume completes the same study
rm -rf "$T/tl.h5" "$T/tl.h5.ckpt"
start=$(date +%s.%N)
expect_status 0 "--time-limit 3" -- "${MPI[@]}" -np 3 "$caviar" run "$T/slow.yaml" -o "$T/tl.h5" --time-limit 3
took=$(echo "$(date +%s.%N) - $start" | bc)
# mpirun's own start and end are outside caviar's clock: allow a second
[ "$(echo "$took < 4" | bc)" -eq 1 ] || fail "--time-limit 3 took $took s"
grep -q "study stopped" "$T/err" || fail "--time-limit 3: the study did not stop early (too fast to test?)"
expect_status 0 "resume after the time limit" -- "$caviar" resume "$T/tl.h5"
same "$T/ref.h5" "$T/tl.h5" "resume after the time limit"

# ---- budgets that do not fit -----------------------------------------------------
bad() { # bad NAME SEARCH-EXTRA PARAM-EXTRA PATTERN
  cat >"$T/bad-$1.yaml" <<YAML
name: bad
data: {source: data/noisy.csv, dev_size: 0.2}
search:
  method: ${5:-asha}
  trials: 12
$2
parameters:
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 0.3}
$3
YAML
  expect_status 2 "bad budget $1" -- "$caviar" run "$T/bad-$1.yaml" -o "$T/bad.h5"
  expect_grep "bad-$1.yaml:[0-9]+:[0-9]+: .*$4" "$T/err" "bad budget $1"
  [ ! -e "$T/bad.h5" ] || fail "bad budget $1: a results file was written"
}
bad min-over-max "  min_epochs: 20
  max_epochs: 10" "" "min_epochs \\(20\\) must be at most max_epochs \\(10\\)"
bad factor-1 "  reduction_factor: 1
  max_epochs: 10" "" "search.reduction_factor must be an integer in \\[2,"
bad one-rung "  min_epochs: 4
  max_epochs: 10
  reduction_factor: 3" "" "at least two rungs"
bad brackets "  max_epochs: 9
  brackets: 3" "" "search.brackets \\(3\\) is more than the rungs below the top \\(2" hyperband
bad asha-brackets "  max_epochs: 9
  brackets: 2" "" "asha runs one bracket"
bad searched-epochs "" "  epochs: {values: [5, 10]}" "epochs is the budget asha gives out"
bad disagree "  max_epochs: 9" "  epochs: 10" "max_epochs is 9 but parameters.epochs is 10"
bad random-keys "  min_epochs: 2" "" "search.min_epochs belongs to successive halving" random
bad few-trials "  max_epochs: 125
  reduction_factor: 5
  brackets: 3" "" "search.trials \\(12\\) is too few for hyperband" hyperband

finish
