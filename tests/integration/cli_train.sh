#!/usr/bin/env bash
# cli_train.sh CAVIAR: `caviar train` end to end on a small CSV data set, and
# the exit status and message of each kind of bad input.
here=$(dirname "$0")
. "$here/lib.sh"
caviar=$1

mkdir -p "$T/data"
blobs_csv "$T/data/blobs.csv" 600
cat >"$T/job.yaml" <<YAML
name: blobs
data:
  source: data/blobs.csv
  dev_size: 0.2
search:
  seed: 3
parameters:
  epochs: 4
  hidden_units: 16
  batch_size: 32
  learning_rate: 0.01
YAML

# A good run: a header, one line per epoch, a summary that learned the blobs.
expect_status 0 "train" -- "$caviar" train "$T/job.yaml"
expect_grep '^data: .*blobs.csv: 480 train, 120 dev, 0 test, 4 features, 3 classes' "$T/out" "train"
[ "$(grep -cE '^ +[0-9]+  ' "$T/out")" -eq 4 ] || fail "train: expected 4 epoch lines"
expect_grep '^done after 4 epochs' "$T/out" "train"
acc=$(sed -n 's/.*dev accuracy \([0-9.]*\).*/\1/p' "$T/out")
awk -v a="${acc:-0}" 'BEGIN { exit !(a > 0.95) }' || fail "train: dev accuracy $acc, expected > 0.95"

# Same job, same output (training is deterministic), epochs aside.
cp "$T/out" "$T/first"
expect_status 0 "train again" -- "$caviar" train "$T/job.yaml"
diff <(awk '{ $(NF-1) = ""; $NF = ""; print }' "$T/first" | grep -E '^ +[0-9]') \
     <(awk '{ $(NF-1) = ""; $NF = ""; print }' "$T/out" | grep -E '^ +[0-9]') >/dev/null \
  || fail "train: two runs of the same job differ"

# --set overrides the file.
expect_status 0 "--set" -- "$caviar" train "$T/job.yaml" --set epochs=2 --set optimizer=momentum
[ "$(grep -cE '^ +[0-9]+  ' "$T/out")" -eq 2 ] || fail "--set epochs=2: expected 2 epoch lines"
expect_grep 'optimizer=momentum' "$T/out" "--set optimizer"

# Bad usage and bad input: exit 2, a message naming the place.
expect_status 2 "no job" -- "$caviar" train
expect_status 2 "unknown option" -- "$caviar" train "$T/job.yaml" --bogus
expect_grep "unknown option '--bogus'" "$T/err" "unknown option"
expect_status 2 "unknown command" -- "$caviar" frobnicate
expect_status 2 "missing job" -- "$caviar" train "$T/nope.yaml"
expect_grep 'nope.yaml' "$T/err" "missing job"
expect_status 2 "bad --set" -- "$caviar" train "$T/job.yaml" --set dropout=1
expect_grep 'dropout' "$T/err" "bad --set"
expect_status 2 "unknown --set" -- "$caviar" train "$T/job.yaml" --set lerning_rate=1
expect_grep 'lerning_rate' "$T/err" "unknown --set"

printf 'parameters:\n  epochs: 3\n  lerning_rate: 0.1\n' >"$T/typo.yaml"
expect_status 2 "unknown key" -- "$caviar" train "$T/typo.yaml"
expect_grep 'typo.yaml:3:3: .*lerning_rate' "$T/err" "unknown key"

printf 'parameters:\n  batch_size: 1\n' >"$T/range.yaml"
expect_status 2 "out of range" -- "$caviar" train "$T/range.yaml"
expect_grep 'range.yaml:2:15: .*batch_size' "$T/err" "out of range"

printf 'parameters: [1, 2\n' >"$T/broken.yaml"
expect_status 2 "malformed YAML" -- "$caviar" train "$T/broken.yaml"
expect_grep 'broken.yaml:[0-9]+:[0-9]+' "$T/err" "malformed YAML"

printf 'label,a\n0,1\n1,x\n' >"$T/data/bad.csv"
printf 'data: {source: data/bad.csv}\n' >"$T/badcsv.yaml"
expect_status 2 "bad CSV" -- "$caviar" train "$T/badcsv.yaml"
expect_grep 'bad.csv:3' "$T/err" "bad CSV"

: >"$T/data/empty.csv"
printf 'data: {source: data/empty.csv}\n' >"$T/empty.yaml"
expect_status 2 "empty CSV" -- "$caviar" train "$T/empty.yaml"
expect_grep 'empty.csv' "$T/err" "empty CSV"

printf 'label,a\n0,1\n0,2\n0,3\n0,4\n' >"$T/data/oneclass.csv"
printf 'data: {source: data/oneclass.csv, dev_size: 1}\n' >"$T/oneclass.yaml"
expect_status 2 "one class" -- "$caviar" train "$T/oneclass.yaml"
expect_grep 'oneclass.csv: .*two classes' "$T/err" "one class"

finish
