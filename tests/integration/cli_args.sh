#!/usr/bin/env bash
# cli_args.sh CAVIAR: every subcommand reads its arguments with the one
# parser (src/args.c), so all say the same about bad usage, in the same
# words: an unknown option, a missing (or empty) value, a bad number, one
# positional argument too many or too few. Each is exit 2 with the message
# as the first line of stderr, the usage after it (not after a bad value),
# nothing on stdout; --help and -h print the usage on stdout and exit 0.
# None of these needs a file: the arguments are refused before any is read.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1

# usage_error DESCRIPTION MESSAGE [usage|alone] -- COMMAND...: exit 2 with
# MESSAGE, then the usage (or nothing more), on stderr.
usage_error() {
  local what=$1 msg=$2 then=$3
  shift 4
  expect_status 2 "$what" -- "$@"
  local first
  first=$(head -n 1 "$T/err")
  [ "$first" = "$msg" ] || fail "$what: stderr begins '$first', expected '$msg'"
  if [ "$then" = usage ]; then
    sed -n 2p "$T/err" | grep -q '^usage: ' || fail "$what: no usage after the message"
  else
    [ "$(wc -l <"$T/err")" -eq 1 ] || fail "$what: more than the message on stderr"
  fi
  [ ! -s "$T/out" ] || fail "$what: wrote on stdout"
}

# command, an option that takes a value, what its positional argument is
for spec in "run --time-limit job" "resume --time-limit results" "report --top results" \
  "watch --interval results" "train --threads job" "predict --trial results" \
  "sample -n job" "validate - job"; do
  read -r cmd opt what <<<"$spec"
  usage_error "$cmd --bogus" "caviar $cmd: unknown option '--bogus'" usage -- \
    "$caviar" "$cmd" "$T/a" --bogus
  usage_error "$cmd --bogus=1 first" "caviar $cmd: unknown option '--bogus=1'" usage -- \
    "$caviar" "$cmd" --bogus=1 "$T/a"
  usage_error "$cmd: two positional arguments" \
    "caviar $cmd: one $what file expected, got '$T/a' and '$T/b'" usage -- \
    "$caviar" "$cmd" "$T/a" "$T/b"
  if [ "$cmd" = train ]; then # train --from needs no job file: train checks itself
    usage_error "$cmd: no positional argument" "caviar $cmd: no $what file given" usage -- \
      "$caviar" "$cmd" --threads 1
  else
    usage_error "$cmd: no positional argument" "caviar $cmd: no $what file given" usage -- \
      "$caviar" "$cmd"
  fi
  if [ "$opt" != - ]; then
    usage_error "$cmd $opt (last)" "caviar $cmd: $opt needs a value" usage -- \
      "$caviar" "$cmd" "$T/a" "$opt"
    usage_error "$cmd $opt=" "caviar $cmd: $opt needs a value" usage -- \
      "$caviar" "$cmd" "$opt=" "$T/a"
  fi
  for help in --help -h; do
    expect_status 0 "$cmd $help" -- "$caviar" "$cmd" "$T/a" "$help"
    head -n 1 "$T/out" | grep -q '^usage: ' || fail "$cmd $help: no usage on stdout"
    [ ! -s "$T/err" ] || fail "$cmd $help: wrote on stderr"
  done
done

# Bad values: the option as typed, the value, what it should be; both forms.
usage_error "run --time-limit 0" "caviar run: --time-limit 0: expected a number in [0.001, 1e+09]" \
  alone -- "$caviar" run "$T/a" --time-limit 0
usage_error "run --threads-per-worker=1.5" \
  "caviar run: --threads-per-worker 1.5: expected an integer in [1, 1024]" \
  alone -- "$caviar" run --threads-per-worker=1.5 "$T/a"
usage_error "resume -o" "caviar resume: unknown option '-o'" usage -- "$caviar" resume "$T/a" -o x
usage_error "train --threads 0" "caviar train: --threads 0: expected an integer in [1, 1024]" \
  alone -- "$caviar" train "$T/a" --threads 0
usage_error "sample -n x" "caviar sample: -n x: expected an integer in [1, 2147483647]" \
  alone -- "$caviar" sample "$T/a" -n x
usage_error "report --top=0" "caviar report: --top 0: expected a whole number >= 1" \
  alone -- "$caviar" report "$T/a" --top=0
usage_error "watch --interval 0" "caviar watch: --interval 0: expected a number in [0.1, 1e+06]" \
  alone -- "$caviar" watch "$T/a" --interval 0
usage_error "predict --trial first" \
  "caviar predict: --trial first: expected a trial number or 'best'" \
  alone -- "$caviar" predict "$T/a" --trial first
usage_error "train --trial first" "caviar train: --trial first: expected a trial number or 'best'" \
  alone -- "$caviar" train --from "$T/a" --trial first
usage_error "predict --output" "caviar predict: --output needs a value" usage -- \
  "$caviar" predict "$T/a" --output
usage_error "sample --all=1" "caviar sample: unknown option '--all=1'" usage -- \
  "$caviar" sample "$T/a" --all=1
usage_error "train --trial without --from" "caviar train: --trial needs --from RESULTS.h5" \
  usage -- "$caviar" train "$T/a" --trial 0

# Options before the positional argument, "--opt=VALUE", --set repeated.
mkdir -p "$T/data"
blobs_csv "$T/data/blobs.csv" 60
printf 'data: {source: data/blobs.csv, dev_size: 0.2}\nparameters: {epochs: 3, hidden_units: 4}\n' \
  >"$T/job.yaml"
expect_status 0 "train, options first" -- "$caviar" train --set=epochs=1 --threads=1 \
  --set optimizer=momentum "$T/job.yaml"
[ "$(grep -cE '^ +[0-9]+  ' "$T/out")" -eq 1 ] || fail "--set=epochs=1: expected 1 epoch line"
expect_grep 'optimizer=momentum' "$T/out" "--set repeated"

finish
