#!/usr/bin/env bash
# cli_pbt.sh CAVIAR: population-based training (search.method pbt).
#  - the same /trials, /lineage, /segments and /curves on 1, 2 and 3 ranks;
#  - the lineage's shape: every member in every generation, the bottom
#    exploited from the top, explore inside the job's bounds;
#  - caviar train --replay retrains the best member's schedule (and an
#    exploited member's) bit for bit: every epoch equals the study's curve,
#    so the exploited state was copied exactly;
#  - kill -9 mid-generation, then resume, equals the uninterrupted run;
#  - bad pbt specs exit 2 naming file:line:column.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI=(timeout -k 5 120 mpirun --oversubscribe --bind-to none)

mkdir -p "$T/data"
noisy_csv "$T/data/noisy.csv" 1500
noisy_csv "$T/data/big.csv" 12000

# job NAME DATA UNITS: a population of 8 in generations of 3 epochs, 12 in all.
job() {
  cat >"$T/$1.yaml" <<YAML
name: $1
data: {source: data/$2, dev_size: 0.2}
search: {method: pbt, population: 8, perturbation_interval: 3, max_epochs: 12, seed: 7}
checkpoints: {keep: 3}
parameters:
  batch_size: {values: [16, 32, 64]}
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 0.3}
  beta1: {distribution: one_minus_log_uniform, min: 0.8, max: 0.99}
  dropout: {distribution: uniform, min: 0.0, max: 0.3}
  hidden_units: {values: [$3]}
  layers: {distribution: int_uniform, min: 1, max: 2}
YAML
}
job pbt noisy.csv "8, 16, 32"
job slow big.csv "32, 64, 128"
same() { same_tables "$1" "$2" "$3" lineage segments curves; }

# ---- 1, 2, 3 ranks ------------------------------------------------------------
expect_status 0 "pbt on 1 rank" -- "$caviar" run "$T/pbt.yaml" -o "$T/p1.h5"
$PY "$here/table.py" "$T/p1.h5" --check >"$T/p1.txt" || fail "table.py --check"
for np in 2 3; do
  expect_status 0 "pbt on $np ranks" -- "${MPI[@]}" -np "$np" "$caviar" run "$T/pbt.yaml" -o "$T/p$np.h5"
  $PY "$here/table.py" "$T/p$np.h5" --check >"$T/p$np.txt" || fail "$np ranks: table.py --check"
  cmp -s "$T/p1.txt" "$T/p$np.txt" || fail "the table on $np ranks differs from 1 rank's"
  same "$T/p1.h5" "$T/p$np.h5" "1 and $np ranks"
done

# the lineage's shape, and explore within the bounds
$PY - "$T/p1.h5" >"$T/shape" 2>&1 <<'EOF' || fail "lineage: $(cat "$T/shape")"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
l, t = f["lineage"][:], f["trials"][:]
P, G = 8, 4
assert len(l) == P * G, f"{len(l)} lineage rows, expected {P * G}"
for g in range(G):
    rows = l[l["generation"] == g]
    assert sorted(rows["member"]) == list(range(P)), f"generation {g}: members {rows['member']}"
    assert all(rows["from_epoch"] == 3 * g) and all(rows["to_epoch"] == 3 * g + 3)
    ex = rows[rows["decision"] == b"exploit"]
    if g == 0:
        assert all(rows["decision"] == b"start") and all(rows["parent"] == -1)
        continue
    assert len(ex) >= 2, f"generation {g}: {len(ex)} exploits"  # floor(0.25 * 8)
    assert all(ex["place"] > P - 2) or not all(np.isfinite(ex["metric"])), ex["place"]
    for r in ex:
        assert r["parent"] != r["trial"] and b"copied member" in r["explore"], r
        # the parent was a top-2 member of the generation before
        prev = l[(l["generation"] == g - 1) & (l["trial"] == r["parent"])]
        assert len(prev) == 1, r
    cont = rows[rows["decision"] == b"continue"]
    assert all(cont["parent"] == cont["trial"])
# every trial's configuration inside the job's bounds
assert all((t["learning_rate"] >= 1e-3) & (t["learning_rate"] <= 0.3))
assert all((t["beta1"] >= 0.8) & (t["beta1"] <= 0.99))
assert all((t["dropout"] >= 0) & (t["dropout"] <= 0.3))
assert set(t["batch_size"]) <= {16, 32, 64}
# an exploited trial keeps its parent's shape (layers, hidden_units)
byid = {int(r["trial"]): r for r in t}
for r in l[l["decision"] == b"exploit"]:
    c, p = byid[int(r["trial"])], byid[int(r["parent"])]
    assert c["layers"] == p["layers"] and c["hidden_units"] == p["hidden_units"], r
# the final population trained the whole budget; exploited trials stopped early
top = t[t["budget"] == 12]
assert len(top) == P, f"{len(top)} trials reached 12 epochs"
assert len(t) > P and all(t[t["budget"] < 12]["budget"] % 3 == 0)
EOF

# ---- replay: the best member's schedule, and an exploited one's ------------------
expect_status 0 "replay the best" -- "$caviar" train --replay "$T/p1.h5" --trial best -o "$T/replay.h5"
expect_grep 'identical to the study: the dev accuracy of all 12 epochs equals its /curves bit for bit' "$T/out" "replay best"
exploited=$($PY -c "
import h5py; l = h5py.File('$T/p1.h5', 'r')['lineage'][:]
print(int(l[(l['decision'] == b'exploit') & (l['generation'] == 1)][0]['trial']))")
expect_status 0 "replay trial $exploited" -- "$caviar" train --replay "$T/p1.h5" --trial "$exploited"
expect_grep "from trial [0-9]+'s state at epoch 3" "$T/out" "replay of an exploited trial names its parent"
expect_grep 'identical to the study' "$T/out" "replay of an exploited trial"
$PY "$here/table.py" "$T/replay.h5" --check >/dev/null || fail "the replay's file: table.py --check"
expect_status 2 "replay of a replay" -- "$caviar" train --replay "$T/replay.h5" --trial 0
expect_grep 'holds no generation of trial 0: not a trial of a pbt study' "$T/err" "replay of a replay"
sed 's/method: pbt, population: 8, perturbation_interval: 3, max_epochs: 12/method: random, trials: 2/' \
  "$T/pbt.yaml" | sed 's/^parameters:/parameters:\n  epochs: 2/' >"$T/random.yaml"
expect_status 0 "a random study" -- "$caviar" run "$T/random.yaml" -o "$T/random.h5"
expect_status 2 "replay of a random study" -- "$caviar" train --replay "$T/random.h5" --trial 0
expect_grep 'a random study: --replay retrains a pbt member' "$T/err" "replay of a random study"
expect_status 2 "replay of a trial that is not there" -- "$caviar" train --replay "$T/p1.h5" --trial 999
expect_grep 'no such trial' "$T/err" "replay of a missing trial"

# ---- report: the generations, the best member's schedule, pbt.svg, the page --------
expect_status 0 "report" -- "$caviar" report "$T/p1.h5" --svg "$T/svg"
expect_grep '^population-based training: a population of 8, generations of 3 epochs to 12' "$T/out" "report: pbt section"
expect_grep "^the best member's schedule: trial [0-9]+, dev_accuracy" "$T/out" "report: the best member"
expect_grep '^  epochs  1-[0-9]+ +trial [0-9]+ +from scratch: learning_rate=' "$T/out" "report: the first stretch"
expect_grep 'wrote .*/pbt.svg: 8 members, 4 generations, [1-9][0-9]* exploits' "$T/out" "report: pbt.svg"
xmllint --noout "$T/svg/pbt.svg" 2>"$T/xml" || fail "pbt.svg is not well-formed: $(head -c 300 "$T/xml")"
grep -q 'class="exploit"' "$T/svg/pbt.svg" || fail "pbt.svg marks no exploit"
expect_status 0 "report --html" -- "$caviar" report "$T/p1.h5" --html "$T/p.html"
$PY "$here/html_check.py" static "$T/p.html" >"$T/hc" 2>&1 || fail "the page: $(head -c 400 "$T/hc")"
grep -q '<section id="pbt">' "$T/p.html" && grep -q 'class="exploit"' "$T/p.html" ||
  fail "the page has no population-based training section"

# ---- kill -9 mid-generation, then resume: the uninterrupted table ----------------
expect_status 0 "uninterrupted" -- "${MPI[@]}" -np 3 "$caviar" run "$T/slow.yaml" -o "$T/ref.h5"
for delay in 0 0.4; do
  rm -rf "$T/int.h5" "$T/int.h5.ckpt"
  setsid mpirun --oversubscribe --bind-to none -np 3 "$caviar" run "$T/slow.yaml" \
    -o "$T/int.h5" >"$T/int.out" 2>&1 &
  pid=$!
  # an exploited trial's copied state (trial 8 and up) means a generation was decided
  for _ in $(seq 1 600); do
    compgen -G "$T/int.h5.ckpt/state_00000[89].bin" >/dev/null && break
    compgen -G "$T/int.h5.ckpt/state_00001?.bin" >/dev/null && break
    sleep 0.02
  done
  sleep "$delay"
  kill -0 "$pid" 2>/dev/null || fail "kill -9 (+${delay}s): the study ended before it: $(tail -n 3 "$T/int.out")"
  for s in $(ps -o pid= -s "$pid" 2>/dev/null); do kill -9 "$s" 2>/dev/null; done
  wait "$pid" 2>/dev/null
  expect_status 0 "resume after kill -9 (+${delay}s)" -- "${MPI[@]}" -np 2 "$caviar" resume "$T/int.h5"
  same "$T/ref.h5" "$T/int.h5" "resume after kill -9 (+${delay}s)"
  [ ! -d "$T/int.h5.ckpt" ] || ! ls "$T/int.h5.ckpt"/state_*.bin >/dev/null 2>&1 ||
    fail "states left after the study completed"
done

# ---- bad specs: exit 2 with file:line:column ----------------------------------
bad() {
  printf '%b\n' "$2" >"$T/bad.yaml"
  expect_status 2 "$1" -- "$caviar" run "$T/bad.yaml" -o "$T/bad.h5"
  expect_grep "bad.yaml:$3: .*$4" "$T/err" "$1"
  [ ! -e "$T/bad.h5" ] || fail "$1: a results file was written"
}
lr='parameters:\n  learning_rate: {distribution: log_uniform, min: 0.001, max: 1}\n  epochs: 8'
bad "shape explored" "search: {method: pbt, population: 8,\n  hyperparam_mutations: [hidden_units]}\n$lr" \
  2:26 "hidden_units cannot be explored: it shapes the network"
bad "population too small" "search: {method: pbt, population: 3}\n$lr" 1:35 \
  "population \\(3\\) \\* quantile_fraction \\(0.25\\) is below 1"
bad "one generation" "search: {method: pbt, population: 8, perturbation_interval: 8}\n$lr" 1:61 \
  "must be below max_epochs"
bad "rounds" "search: {method: pbt, population: 8, rounds: 3}\n$lr" 1:46 "pbt trains one population"
bad "patience" "search: {method: pbt, population: 8}\n$lr\n  patience: 3" 5:13 "patience must be 0 with pbt"
bad "epochs searched" "search: {method: pbt, population: 8}\nparameters:\n  learning_rate: {distribution: log_uniform, min: 0.001, max: 1}\n  epochs: {values: [4, 8]}" \
  4:11 "epochs is the budget every pbt member trains"
finish
