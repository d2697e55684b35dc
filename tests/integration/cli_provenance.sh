#!/usr/bin/env bash
# cli_provenance.sh CAVIAR GOLDEN: what a results file records about the runs
# on it (/runs: when each began, the command, caviar's version, the BLAS
# kernels and threads, the CPU, the ranks and their hosts), what `caviar
# report` shows of it, and the warning of a resume on another kind of machine
# (other OpenBLAS kernels: the last bits of new trials differ). GOLDEN holds
# results files of caviar 0.1.0, which recorded none of it.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
golden=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

mkdir -p "$T/data"
blobs_csv "$T/data/blobs.csv" 300
cat >"$T/job.yaml" <<YAML
name: blobs
data: {source: data/blobs.csv, dev_size: 0.2}
search: {trials: 4, seed: 2}
parameters:
  epochs: 2
  hidden_units: 8
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 1.0e-1}
YAML

# runs: FILE: the rows of /runs, one per line: command|core|threads|ranks|hosts|version
runs() {
  "$PY" - "$1" <<'PYEOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    for r in f["runs"][:]:
        print("|".join(str(r[k].decode() if isinstance(r[k], bytes) else r[k])
                       for k in ("command", "blas_core", "blas_threads", "ranks", "hosts",
                                 "caviar_version")))
PYEOF
}

# a study on 3 ranks: one row, the hosts of all 3 ranks
expect_status 0 "run -np 3" -- mpirun -np 3 --oversubscribe --bind-to none "$caviar" run "$T/job.yaml" -o "$T/a.h5"
runs "$T/a.h5" >"$T/runs" || fail "cannot read /runs"
[ "$(wc -l <"$T/runs")" -eq 1 ] || fail "run: $(wc -l <"$T/runs") rows in /runs, expected 1"
expect_grep "^run\|[A-Za-z0-9]+\|1\|3\|$(hostname) x3\|$("$caviar" --version | cut -d' ' -f2)$" "$T/runs" "run's row"
core=$(cut -d'|' -f2 "$T/runs")
expect_status 0 "report" -- "$caviar" report "$T/a.h5"
expect_grep "^provenance: caviar [0-9.]+, OpenBLAS $core kernels \(1 thread per worker\), .+; 3 ranks on $(hostname) x3; run 20" "$T/out" "report's provenance"

# a resume on the same kernels says nothing; on others it warns, and the
# report flags that run
expect_status 0 "resume, same kernels" -- env OPENBLAS_CORETYPE="$core" "$caviar" resume "$T/a.h5"
grep -q 'warning' "$T/err" && fail "resume on the same kernels warned: $(grep warning "$T/err")"
other=Prescott
[ "$core" = Prescott ] && other=Nehalem
expect_status 0 "resume, other kernels" -- env OPENBLAS_CORETYPE="$other" "$caviar" resume "$T/a.h5"
expect_grep "^caviar resume: warning: this results file was started with caviar [0-9.]+ on OpenBLAS's $core kernels .* this run uses caviar [0-9.]+ on $other kernels .*: the trials it trains may differ in the last bits" "$T/err" "resume's warning"
runs "$T/a.h5" >"$T/runs"
[ "$(cut -d'|' -f1,2 "$T/runs" | tr '\n' ' ')" = "run|$core resume|$core resume|$other " ] \
  || fail "runs after two resumes: $(tr '\n' ' ' <"$T/runs")"
expect_status 0 "report after the resumes" -- "$caviar" report "$T/a.h5"
expect_grep "^  then resume 20.*: 1 rank on $(hostname) x1$" "$T/out" "the same kind of machine"
expect_grep "^  then resume 20.*; caviar [0-9.]+ on OpenBLAS $other kernels .*: its trials may differ in the last bits" "$T/out" "another kind of machine"

# panda mode records itself too, with its threads
expect_status 0 "train -o" -- "$caviar" train "$T/job.yaml" -o "$T/t.h5" --threads 2
runs "$T/t.h5" >"$T/runs"
[ "$(wc -l <"$T/runs")" -eq 1 ] || fail "train: $(wc -l <"$T/runs") rows in /runs, expected 1"
expect_grep "^train\|$core\|2\|1\|$(hostname) x1\|" "$T/runs" "train's row"
expect_status 0 "train --from" -- "$caviar" train --from "$T/t.h5" --trial 0
runs "$T/t.h5" >"$T/runs"
[ "$(wc -l <"$T/runs")" -eq 2 ] || fail "train --from appended no row: $(tr '\n' ' ' <"$T/runs")"

# a file of caviar 0.1.0: nothing recorded, said so
cp "$golden/run_1rank.h5" "$T/old.h5"
expect_status 0 "report on an old file" -- "$caviar" report "$T/old.h5"
expect_grep "^provenance: not recorded \(a file of caviar 0\.1\.0\)$" "$T/out" "old file's provenance"
finish
