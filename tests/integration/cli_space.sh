#!/usr/bin/env bash
# cli_space.sh CAVIAR: `caviar validate` and `caviar sample` end to end: the
# printed space, the warnings, the CSV's shape and determinism, the exit
# status and place of each kind of bad spec, and `caviar train` drawing
# trial 0 of a searched job.
here=$(dirname "$0")
. "$here/lib.sh"
caviar=$1

cat >"$T/job.yaml" <<'YAML'
name: space
search:
  trials: 16
  rounds: 2
  keep: 0.25
  seed: 4
parameters:
  epochs: 3
  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0}
  beta1: {distribution: one_minus_log_uniform, min: 0.9, max: 0.999}
  layers: {distribution: int_uniform, min: 1, max: 4}
  hidden_units: {values: [64, 128, 256, 512]}
  optimizer: [momentum, adam]
YAML

# validate: the resolved space, constants, no warnings, exit 0.
expect_status 0 "validate" -- "$caviar" validate "$T/job.yaml"
expect_grep '^search: random, 16 trials per round, 2 rounds \(the best 4 of each define the next region\), seed 4' "$T/out" "validate"
expect_grep '^searched parameters \(5\):' "$T/out" "validate"
expect_grep '^  learning_rate +log_uniform +\[0\.0001, 1\] +log10\(x\) +continuous$' "$T/out" "validate"
expect_grep '^  beta1 +one_minus_log_uniform +\[0\.9, 0\.999\] +log10\(1 - x\) +continuous$' "$T/out" "validate"
expect_grep '^  layers +int_uniform +\[1, 4\] +linear +4$' "$T/out" "validate"
expect_grep '^  hidden_units +values +\{64, 128, 256, 512\} +categorical +4$' "$T/out" "validate"
expect_grep '^constants \(15\):' "$T/out" "validate"
expect_grep '^  epochs +3$' "$T/out" "validate"
expect_grep '^  momentum +0\.9 \(default\)$' "$T/out" "validate"
expect_grep '^valid: 5 searched, 15 constant; 32 trials in all; 0 warnings$' "$T/out" "validate"
[ -s "$T/err" ] && fail "validate: unexpected stderr: $(head -n 3 "$T/err")"

# Warnings that help, on stderr with their place; still valid.
cat >"$T/warn.yaml" <<'YAML'
parameters:
  learning_rate: {distribution: uniform, min: 1.0e-5, max: 1.0}
  beta2: {distribution: uniform, min: 0.9, max: 0.9999}
YAML
expect_status 0 "validate with warnings" -- "$caviar" validate "$T/warn.yaml"
expect_grep 'warn.yaml:2:18: warning: learning_rate: .*consider distribution: log_uniform' "$T/err" "decades warning"
expect_grep 'warn.yaml:3:10: warning: beta2: .*consider distribution: one_minus_log_uniform' "$T/err" "beta warning"
expect_grep '2 warnings$' "$T/out" "warning count"

# sample: a header, one row per trial, one column per searched parameter.
expect_status 0 "sample" -- "$caviar" sample "$T/job.yaml"
header=$(head -n 1 "$T/out")
[ "$header" = "trial,round,learning_rate,beta1,layers,hidden_units,optimizer" ] \
  || fail "sample: header '$header'"
[ "$(wc -l <"$T/out")" -eq 17 ] || fail "sample: expected 16 rows, got $(($(wc -l <"$T/out") - 1))"
awk -F, 'NR > 1 {
  if (NF != 7) { print "fields " NF; exit 1 }
  if ($1 != NR - 2 || $2 != 0) { print "trial/round " $1 "," $2; exit 1 }
  if (!($3 >= 1e-4 && $3 <= 1)) { print "learning_rate " $3; exit 1 }
  if (!($4 >= 0.9 && $4 <= 0.999)) { print "beta1 " $4; exit 1 }
  if ($5 !~ /^[1-4]$/) { print "layers " $5; exit 1 }
  if ($6 !~ /^(64|128|256|512)$/) { print "hidden_units " $6; exit 1 }
  if ($7 != "momentum" && $7 != "adam") { print "optimizer " $7; exit 1 }
}' "$T/out" >"$T/bad" || fail "sample: bad row: $(cat "$T/bad")"
[ -s "$T/err" ] && fail "sample: unexpected stderr: $(head -n 3 "$T/err")"

# The same job always prints the same rows; -n takes a prefix.
cp "$T/out" "$T/first"
expect_status 0 "sample again" -- "$caviar" sample "$T/job.yaml"
cmp -s "$T/first" "$T/out" || fail "sample: two calls differ"
expect_status 0 "sample -n" -- "$caviar" sample "$T/job.yaml" -n 5
diff <(head -n 6 "$T/first") "$T/out" >/dev/null || fail "sample -n 5: not the first 5 rows"
expect_status 0 "sample -n 40" -- "$caviar" sample "$T/job.yaml" -n 40
[ "$(wc -l <"$T/out")" -eq 41 ] || fail "sample -n 40: expected 40 rows"

# Another seed, other rows.
sed 's/seed: 4/seed: 5/' "$T/job.yaml" >"$T/seed5.yaml"
expect_status 0 "sample seed 5" -- "$caviar" sample "$T/seed5.yaml"
cmp -s "$T/first" "$T/out" && fail "sample: seeds 4 and 5 give the same rows"

# --round: round 1's counters over the whole space, said on stderr.
expect_status 0 "sample --round 1" -- "$caviar" sample "$T/job.yaml" --round 1 -n 4
expect_grep '^0,1,' "$T/out" "--round 1"
expect_grep 'note: round 1 samples where round 0' "$T/err" "--round 1 note"
cmp -s <(head -n 5 "$T/first" | cut -d, -f3-) <(cut -d, -f3- "$T/out") \
  && fail "sample --round 1: same draws as round 0"
expect_status 2 "sample --round 2" -- "$caviar" sample "$T/job.yaml" --round 2
expect_grep 'the job has 2 rounds' "$T/err" "--round 2"

# --all: every parameter, constants included.
expect_status 0 "sample --all" -- "$caviar" sample "$T/job.yaml" --all -n 2
[ "$(head -n 1 "$T/out" | awk -F, '{ print NF }')" -eq 22 ] || fail "sample --all: expected 22 columns"
expect_grep '^trial,round,learning_rate,momentum,beta1,' "$T/out" "sample --all"

# A grid: every combination once, trials sized by the grid.
cat >"$T/grid.yaml" <<'YAML'
search: {method: grid}
parameters:
  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0, points: 5}
  layers: {distribution: int_uniform, min: 1, max: 3}
  batch_norm: [true, false]
YAML
expect_status 0 "sample grid" -- "$caviar" sample "$T/grid.yaml"
[ "$(tail -n +2 "$T/out" | cut -d, -f3- | sort -u | wc -l)" -eq 30 ] \
  || fail "grid: expected 30 distinct rows"
[ "$(tail -n +2 "$T/out" | cut -d, -f3 | sort -u | tr '\n' ' ')" = "0.0001 0.001 0.01 0.1 1 " ] \
  || fail "grid: learning rates $(tail -n +2 "$T/out" | cut -d, -f3 | sort -u | tr '\n' ' ')"
expect_status 0 "validate grid" -- "$caviar" validate "$T/grid.yaml"
expect_grep '^search: grid, 30 trials per round' "$T/out" "validate grid"

# sobol runs too, and differs from random.
sed 's/^search:$/search:\n  method: sobol/' "$T/job.yaml" >"$T/sobol.yaml"
expect_status 0 "sample sobol" -- "$caviar" sample "$T/sobol.yaml"
[ "$(wc -l <"$T/out")" -eq 17 ] || fail "sobol: expected 16 rows"
cmp -s "$T/first" "$T/out" && fail "sobol: same rows as random"

# Bad specs: exit 2 with file:line:column, from validate and sample alike.
bad() { # bad NAME EXPECTED-REGEX YAML
  printf '%s\n' "$3" >"$T/$1.yaml"
  expect_status 2 "validate $1" -- "$caviar" validate "$T/$1.yaml"
  expect_grep "$1.yaml:$2" "$T/err" "validate $1"
  expect_status 2 "sample $1" -- "$caviar" sample "$T/$1.yaml"
  expect_grep "$1.yaml:$2" "$T/err" "sample $1"
}
bad minmax '2:57: learning_rate: max must be greater than min' \
  $'parameters:\n  learning_rate: {distribution: uniform, min: 0.5, max: 0.1}'
bad logzero '2:46: lr_decay: min must be > 0 for log_uniform' \
  $'parameters:\n  lr_decay: {distribution: log_uniform, min: 0, max: 1}'
bad omlmax '2:63: max: beta2 must be in \[0, 1\)' \
  $'parameters:\n  beta2: {distribution: one_minus_log_uniform, min: 0.9, max: 1}'
bad intbound '2:44: min: layers must be an integer' \
  $'parameters:\n  layers: {distribution: int_uniform, min: 1.5, max: 4}'
bad empty '2:17: hidden_units: values must not be empty' $'parameters:\n  hidden_units: []'
bad unknowndist "2:27: unknown distribution 'gaussian'" \
  $'parameters:\n  dropout: {distribution: gaussian, min: 0, max: 0.5}'
bad unknownparam "2:3: unknown key 'lerning_rate'" $'parameters:\n  lerning_rate: 0.1'
bad keep '1:16: search.keep must be a number in \(0, 1\]' 'search: {keep: 0}'
bad rounds '1:18: search.rounds must be an integer' 'search: {rounds: 0}'
bad gridsize '1:32: search.trials is 7 but the grid has 6 points' \
  $'search: {method: grid, trials: 7}\nparameters:\n  layers: [1, 2, 3]\n  init: [he, xavier]'
bad decay '3:13: lr_decay: lr_schedule exponential needs lr_decay in \(0, 1\]' \
  $'parameters:\n  lr_schedule: exponential\n  lr_decay: {distribution: uniform, min: 0, max: 0.5}'

# Usage errors.
expect_status 2 "validate without a job" -- "$caviar" validate
expect_status 2 "validate two jobs" -- "$caviar" validate "$T/job.yaml" "$T/job.yaml"
expect_status 2 "validate --bogus" -- "$caviar" validate "$T/job.yaml" --bogus
expect_grep "unknown option '--bogus'" "$T/err" "validate --bogus"
expect_status 2 "validate missing file" -- "$caviar" validate "$T/nope.yaml"
expect_grep 'nope.yaml' "$T/err" "validate missing file"
expect_status 2 "sample -n 0" -- "$caviar" sample "$T/job.yaml" -n 0
expect_status 2 "sample -n x" -- "$caviar" sample "$T/job.yaml" -n x
expect_status 2 "sample -n" -- "$caviar" sample "$T/job.yaml" -n
expect_status 2 "sample --round -1" -- "$caviar" sample "$T/job.yaml" --round -1
expect_status 0 "validate --help" -- "$caviar" validate --help
expect_status 0 "sample --help" -- "$caviar" sample --help
expect_status 0 "--help" -- "$caviar" --help
expect_grep 'caviar validate JOB.yaml' "$T/out" "--help lists validate"
expect_grep 'caviar sample JOB.yaml' "$T/out" "--help lists sample"

# train on a searched job: trial 0 of round 0, the same as sample's first row.
mkdir -p "$T/data"
blobs_csv "$T/data/blobs.csv" 300
cat >"$T/train.yaml" <<'YAML'
data: {source: data/blobs.csv, dev_size: 0.2}
search: {seed: 9}
parameters:
  epochs: 2
  hidden_units: 8
  batch_size: 32
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 1.0e-1}
  optimizer: [momentum, adam]
YAML
expect_status 0 "sample for train" -- "$caviar" sample "$T/train.yaml" -n 1
row=$(sed -n 2p "$T/out")
lr=$(echo "$row" | cut -d, -f3)
opt=$(echo "$row" | cut -d, -f4)
expect_status 0 "train searched" -- "$caviar" train "$T/train.yaml"
expect_grep "^drawn from the search space \(round 0, trial 0\): learning_rate=$lr optimizer=$opt$" "$T/out" "train draws trial 0"
expect_grep "learning_rate=$lr " "$T/out" "train's configuration"
expect_grep '^done after 2 epochs' "$T/out" "train searched"
# --set fixes a parameter; a fully fixed job draws nothing.
expect_status 0 "train --set" -- "$caviar" train "$T/train.yaml" --set learning_rate=0.01 --set optimizer=adam
grep -q '^drawn' "$T/out" && fail "train --set: a fixed job should draw nothing"

finish
