#!/usr/bin/env bash
# cli_readme.sh CAVIAR README.md: the h5py + pandas + matplotlib example of
# README.md's "Analyzing results" section runs exactly as written (the first
# ```python block after that heading), with Debian's /usr/bin/python3 and a
# headless matplotlib, against a results file of a small study run here
# under the name the example opens (fashion-mnist.h5); it prints the top
# trials and saves its figure.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
readme=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

awk '/^## Analyzing results/ {sec = 1; next}
     sec && /^```python$/ {code = 1; next}
     code && /^```$/ {exit}
     code' "$readme" >"$T/example.py"
[ -s "$T/example.py" ] || { fail "no python block under '## Analyzing results' in $readme"; finish; }
name=$(grep -oE '"[^"]+\.h5"' "$T/example.py" | head -n 1 | tr -d '"')
[ -n "$name" ] || { fail "the example opens no .h5 file"; finish; }
png=$(grep -oE '"[^"]+\.png"' "$T/example.py" | head -n 1 | tr -d '"')

# a study whose table has the default study's columns (every parameter is a column)
mkdir -p "$T/work/data"
blobs_csv "$T/work/data/blobs.csv" 600
blobs_csv "$T/work/data/test.csv" 150
cat >"$T/work/job.yaml" <<YAML
name: readme
data: {source: data/blobs.csv, test: data/test.csv, dev_size: 0.2}
search: {trials: 6, rounds: 2, keep: 0.5, seed: 4}
checkpoints: {keep: 3}
parameters:
  epochs: 3
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 1.0e-1}
  hidden_units: {values: [8, 16]}
  batch_size: {values: [32, 64]}
YAML
expect_status 0 "the study" -- mpirun -np 3 --oversubscribe --bind-to none "$caviar" run \
  "$T/work/job.yaml" -o "$T/work/$name"

# exactly as written, from the directory holding the file
(cd "$T/work" && MPLBACKEND=Agg "$PY" "$T/example.py") >"$T/py.out" 2>"$T/py.err" \
  || { fail "the README example failed"; sed 's/^/  /' "$T/py.err" | tail -n 15 >&2; }
grep -qE '^ *[0-9]+ +[0-9]+ +[0-9.]+ ' "$T/py.out" || { fail "the example printed no trial rows"; head "$T/py.out" >&2; }
if [ -n "$png" ]; then
  head -c 8 "$T/work/$png" 2>/dev/null | od -An -c | grep -q 'P   N   G' \
    || fail "the example did not save the PNG $png"
fi

finish
