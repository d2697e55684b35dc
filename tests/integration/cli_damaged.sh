#!/usr/bin/env bash
# cli_damaged.sh CAVIAR FUZZDIR: damaged HDF5 files on which HDF5 1.10
# itself crashes (FUZZDIR/hdf5-crashes: the in-process replays of those
# files are expected failures) never crash caviar: it reads them in a child
# process first (and the commands that read results files run in a child
# of their own), so every command refuses them with exit 2 and a message
# naming the file, and leaves the file as it was.
#   results files: caviar report, predict, watch, resume, train --from
#   data sources:  caviar train, caviar predict --data
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
crashes=$2/hdf5-crashes
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# expect_damaged WHAT FILE -- COMMAND...: exit 2 naming FILE as damaged, and
# FILE unchanged.
expect_damaged() {
  local what=$1 file=$2 sum
  shift 3
  sum=$(md5sum <"$file")
  expect_status 2 "$what" -- "$@"
  expect_grep "$(basename "$file"): damaged HDF5 file(: the HDF5 library failed reading it|, or a bug in caviar: the command crashed) \(the process reading it (died of SIG[A-Z]+|was stopped after [0-9.]+ s)\)" \
    "$T/err" "$what"
  [ "$(md5sum <"$file")" = "$sum" ] || fail "$what: the file was changed"
}

blobs_csv "$T/blobs.csv" 300
printf 'data: {source: blobs.csv, dev_size: 0.2}\nparameters: {epochs: 1, hidden_units: 4}\n' >"$T/job.yaml"

n=0
for f in "$crashes"/results/*.h5; do
  n=$((n + 1))
  name=$(basename "$f")
  cp "$f" "$T/$name"
  r=$T/$name
  expect_damaged "report $name" "$r" -- "$caviar" report "$r"
  expect_damaged "predict $name" "$r" -- "$caviar" predict "$r"
  expect_damaged "watch $name" "$r" -- timeout 60 "$caviar" watch "$r" --interval 0.1
  expect_damaged "resume $name" "$r" -- "$caviar" resume "$r"
  expect_damaged "train --from $name" "$r" -- "$caviar" train "$T/job.yaml" --from "$r" --trial best
done
[ "$n" -ge 1 ] || fail "no damaged results files in $crashes/results"

# Files whose crash depends on where HDF5's out-of-bounds read lands (on
# this machine, the command's own process crashes where the probe did not):
# whatever HDF5 does with them here, caviar ends with 0, 1 or 2, never of a
# signal, and a crash it met is reported as a damaged file.
expect_no_crash() { # WHAT FILE -- COMMAND...
  local what=$1 file=$2 sum rc
  shift 3
  sum=$(md5sum <"$file")
  "$@" >"$T/out" 2>"$T/err"
  rc=$?
  echo "$rc" >"$T/rc"
  [ "$rc" -le 2 ] || { fail "$what: exit status $rc"; head -n 3 "$T/err" >&2; }
  if grep -q 'crashed\|died of' "$T/err"; then
    expect_grep "$(basename "$file"): damaged HDF5 file" "$T/err" "$what"
  fi
  [ "$(md5sum <"$file")" = "$sum" ] || fail "$what: the file was changed"
}
for f in "$crashes"/results-late/*.h5; do
  n=$((n + 1))
  name=$(basename "$f")
  cp "$f" "$T/$name"
  r=$T/$name
  expect_no_crash "report $name" "$r" -- "$caviar" report "$r"
  expect_no_crash "predict $name" "$r" -- "$caviar" predict "$r"
  expect_no_crash "train --from $name" "$r" -- "$caviar" train "$T/job.yaml" --from "$r" --trial best
done

# The fuzzers' reproducers of the results reader (FUZZDIR/crashes/results:
# files HDF5 reads wrongly rather than crashes on): every command that reads
# a results file ends with 0 or 2, never of a signal, and leaves the file as
# it was; resume, which opens it for writing, refuses the damaged ones
# before anything is written.
for f in "$2"/crashes/results/*-*; do
  n=$((n + 1))
  name=$(basename "$f").h5
  cp "$f" "$T/$name"
  r=$T/$name
  for cmd in report predict resume; do
    expect_no_crash "$cmd $name" "$r" -- "$caviar" "$cmd" "$r"
    [ "$(cat "$T/rc" 2>/dev/null)" != 1 ] || fail "$cmd $name: a runtime failure"
  done
done

# a sound results file to predict with, then damaged data sources
expect_status 0 "a sound results file" -- "$caviar" train "$T/job.yaml" -o "$T/sound.h5"
m=0
for f in "$crashes"/h5in/*; do
  m=$((m + 1))
  name=$(basename "$f").h5
  cp "$f" "$T/$name"
  printf 'data: {source: %s}\nparameters: {epochs: 1}\n' "$name" >"$T/data.yaml"
  expect_damaged "train on $name" "$T/$name" -- "$caviar" train "$T/data.yaml"
  expect_damaged "predict --data $name" "$T/$name" -- "$caviar" predict "$T/sound.h5" --data "$T/$name"
done
[ "$m" -ge 1 ] || fail "no damaged data files in $crashes/h5in"
# the sound file is still sound
expect_status 0 "report on the sound file" -- "$caviar" report "$T/sound.h5"

finish
