#!/usr/bin/env bash
# cli_predict.sh CAVIAR: `caviar predict RESULTS.h5 [--trial N|best]
# [--data test|PATH] [-o PRED.csv]`: the summary (accuracy, loss, confusion
# matrix), the CSV's shape, the job's test set by default, and exit 2 for
# data of another feature count, unknown labels, missing trials, trials
# without checkpoint, and files that are not results files (plain HDF5,
# text, truncated, missing). h5dump reads every results file.
here=$(dirname "$0")
. "$here/lib.sh"
caviar=$1

mkdir -p "$T/data" "$T/res" "$T/bad"
blobs_csv "$T/data/blobs.csv" 600
blobs_csv "$T/data/test.csv" 150
cat >"$T/job.yaml" <<YAML
data:
  source: data/blobs.csv
  test: data/test.csv
  dev_size: 0.2
parameters:
  epochs: 3
  hidden_units: 16
  batch_size: 32
  learning_rate: 0.01
YAML
r="$T/res/r.h5"
expect_status 0 "train -o" -- "$caviar" train "$T/job.yaml" -o "$r"

# Defaults: the best trial on the job's test set; the summary only.
expect_status 0 "predict" -- "$caviar" predict "$r"
expect_grep '^model: .*r.h5 trial 0 \(best\): 4 inputs -> 2 x 16 relu with batch norm -> 3 classes' \
  "$T/out" "predict"
expect_grep "^data: the test set of the job's data .*: 150 examples" "$T/out" "predict"
expect_grep '^accuracy [0-9.]+, loss [0-9.]+ \([0-9]+ of 150 correct\)' "$T/out" "predict"
expect_grep '^confusion matrix' "$T/out" "predict"
[ "$(grep -cE '^ +[0-2]( +[0-9]+){3}$' "$T/out")" -eq 3 ] || fail "predict: 3 confusion rows expected"
sum=$(awk '/^confusion/ { on = 1; next } on && NF == 4 { s += $2 + $3 + $4 } END { print s }' "$T/out")
[ "$sum" = 150 ] || fail "predict: the confusion matrix counts $sum examples, expected 150"

# The CSV: a header and a row per example; to a file or standard output.
expect_status 0 "predict -o" -- "$caviar" predict "$r" --trial 0 --data "$T/data/blobs.csv" \
  -o "$T/res/pred.csv"
[ "$(wc -l <"$T/res/pred.csv")" -eq 601 ] || fail "predict -o: expected 601 lines"
[ "$(head -n 1 "$T/res/pred.csv")" = "index,label,predicted,p_0,p_1,p_2" ] \
  || fail "predict -o: header $(head -n 1 "$T/res/pred.csv")"
awk -F, 'NR > 1 && (NF != 6 || $1 != NR - 2 || $3 !~ /^[0-2]$/ || ($4 + $5 + $6) < 0.999 || ($4 + $5 + $6) > 1.001) { bad = 1 }
         END { exit bad }' "$T/res/pred.csv" || fail "predict -o: malformed rows"
expect_status 0 "predict -o -" -- "$caviar" predict "$r" --data="$T/data/test.csv" -o -
[ "$(wc -l <"$T/out")" -eq 151 ] || fail "predict -o -: expected the CSV alone on stdout"
expect_grep '^accuracy' "$T/err" "predict -o -: summary on stderr"

# Bad data and bad trials: exit 2, naming the problem.
cut -d, -f1-4 "$T/data/test.csv" >"$T/data/three.csv"
expect_status 2 "feature count" -- "$caviar" predict "$r" --data "$T/data/three.csv" -o "$T/res/x.csv"
expect_grep "three.csv: 3 features per example, but trial 0's network takes 4" "$T/err" "feature count"
[ -e "$T/res/x.csv" ] && fail "feature count: a CSV was written"
printf 'label,a,b,c,d\n7,1,2,3,4\n' >"$T/data/label7.csv"
expect_status 2 "unknown label" -- "$caviar" predict "$r" --data "$T/data/label7.csv"
expect_grep 'label 7.*classes 0 to 2' "$T/err" "unknown label"
expect_status 2 "missing data" -- "$caviar" predict "$r" --data "$T/data/nope.csv"
expect_status 2 "missing trial" -- "$caviar" predict "$r" --trial 5
expect_grep 'r.h5: no trial 5' "$T/err" "missing trial"
expect_status 2 "bad --trial" -- "$caviar" predict "$r" --trial -1
expect_status 2 "no results file" -- "$caviar" predict
expect_status 2 "unknown option" -- "$caviar" predict "$r" --bogus
sed 's/^parameters:/checkpoints: 0\nparameters:/' "$T/job.yaml" >"$T/keep0.yaml"
expect_status 0 "keep 0" -- "$caviar" train "$T/keep0.yaml" -o "$T/res/k0.h5"
expect_status 2 "no checkpoint" -- "$caviar" predict "$T/res/k0.h5"
expect_grep 'k0.h5: no trial has a checkpoint' "$T/err" "no checkpoint"
expect_status 2 "trial without checkpoint" -- "$caviar" predict "$T/res/k0.h5" --trial 0
expect_grep 'k0.h5: trial 0 has no checkpoint' "$T/err" "trial without checkpoint"
# a job without a test set
sed '/test: data/d' "$T/job.yaml" >"$T/notest.yaml"
expect_status 0 "no test set" -- "$caviar" train "$T/notest.yaml" -o "$T/res/notest.h5"
expect_status 2 "predict without a test set" -- "$caviar" predict "$T/res/notest.h5"
expect_grep 'no test set: give one with --data PATH' "$T/err" "predict without a test set"

# Files that are not results files.
$PY -c "import h5py, numpy as np, sys; f = h5py.File(sys.argv[1], 'w'); f['X'] = np.zeros((4, 2)); f['y'] = np.zeros(4)" \
  "$T/bad/plain.h5"
expect_status 2 "plain HDF5" -- "$caviar" predict "$T/bad/plain.h5"
expect_grep "plain.h5: not a caviar results file \(no 'format' attribute\)" "$T/err" "plain HDF5"
expect_status 2 "text file" -- "$caviar" predict "$T/data/test.csv"
expect_grep 'test.csv: not an HDF5 file' "$T/err" "text file"
head -c 4000 "$r" >"$T/bad/truncated.h5"
expect_status 2 "truncated" -- "$caviar" predict "$T/bad/truncated.h5"
expect_grep 'truncated.h5: (cannot open|damaged HDF5 file)' "$T/err" "truncated"
expect_status 2 "missing" -- "$caviar" predict "$T/bad/nope.h5"
expect_grep 'nope.h5: No such file' "$T/err" "missing"
expect_status 2 "train --from plain HDF5" -- "$caviar" train --from "$T/bad/plain.h5" --trial 0
expect_grep "not a caviar results file" "$T/err" "train --from plain HDF5"

h5dump_all "$T/res"
finish
