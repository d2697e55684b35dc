# lib.sh: helpers for the integration tests (sourced).
# Every test gets a scratch directory, removed at exit.
set -uo pipefail
T=$(mktemp -d "${TMPDIR:-/tmp}/caviar-it-XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0

fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}

# expect_status WANT DESCRIPTION -- COMMAND...: runs COMMAND, capturing
# stdout in $T/out and stderr in $T/err, and checks its exit status.
expect_status() {
  local want=$1 what=$2
  shift 3
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "$what: exit status $got, expected $want"
    sed 's/^/  stderr: /' "$T/err" | head -n 5 >&2
  fi
}

# expect_grep PATTERN FILE DESCRIPTION: FILE must contain the extended regex.
expect_grep() {
  grep -Eq -- "$1" "$2" || { fail "$3: no /$1/ in $(basename "$2")"; head -n 5 "$2" | sed 's/^/  /' >&2; }
}

finish() {
  if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}

# blobs_csv FILE N: N rows of three well-separated classes, label first, 4 features.
blobs_csv() {
  awk -v n="$2" 'BEGIN {
    srand(7); print "label,a,b,c,d";
    for (i = 0; i < n; i++) {
      k = i % 3;
      printf "%d,%.4f,%.4f,%.4f,%.4f\n", k, 3*k + rand(), -2*k + rand(), rand(), k*k + rand();
    }
  }' >"$1"
}

# noisy_csv FILE N: N rows of three overlapping classes, label first, 10
# features: noisy enough that trials differ.
noisy_csv() {
  awk -v n="$2" 'BEGIN {
    srand(5); printf "label"; for (j = 0; j < 10; j++) printf ",f%d", j; print "";
    for (i = 0; i < n; i++) {
      k = i % 3; printf "%d", k;
      for (j = 0; j < 10; j++) printf ",%.3f", (j % 3 == k ? 0.5 : 0) + 2 * rand();
      print "";
    }
  }' >"$1"
}

# The analyst's Python: Debian's python3-h5py and python3-numpy live under
# /usr/bin/python3 (the python3 first on PATH may be another interpreter).
PY=/usr/bin/python3

# h5dump_all DIR: h5dump must read every HDF5 file under DIR (results files
# and side-file checkpoints alike).
h5dump_all() {
  local f n=0
  while IFS= read -r -d '' f; do
    n=$((n + 1))
    h5dump "$f" >/dev/null 2>"$T/h5dump.err" \
      || { fail "h5dump cannot read $(basename "$f")"; head -n 3 "$T/h5dump.err" >&2; }
  done < <(find "$1" -name '*.h5' -print0)
  [ "$n" -gt 0 ] || fail "h5dump_all: no .h5 file under $1"
}

# await_rank PID RANK FILE: waits (up to 20 s) until the MPI rank RANK of the
# job that mpirun PID runs exists and FILE does, then prints the rank's PID
# (nothing if it never came).
await_rank() {
  local pid=$1 rank=$2 file=$3 p found=
  for _ in $(seq 1 400); do
    for p in $(ps -o pid= -s "$pid" 2>/dev/null) $(pgrep -P "$pid" 2>/dev/null); do
      if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$rank"; then
        found=$p
      fi
    done
    [ -n "$found" ] && [ -e "$file" ] && break
    sleep 0.05
  done
  echo "$found"
}

# same_tables A.h5 B.h5 WHAT TABLE...: /trials and each TABLE hold the same
# rows in both files (sorted; without the columns that depend on timing and
# placement; a stop's interrupted segments are the log's, not the study's),
# none of them empty. Needs $PY (Debian's python3 with h5py).
same_tables() {
  local a=$1 b=$2 what=$3
  shift 3
  $PY - "$a" "$b" "$@" >"$T/same" 2>&1 <<'EOF' || fail "$what: $(head -c 600 "$T/same")"
import sys, h5py
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
skip = {"trials": {"worker", "seconds", "samples_per_second"}, "segments": {"worker", "seconds"},
        "curves": {"seconds"}}
def rows(f, name):
    t = f[name][:]
    if name == "segments":
        t = t[t["status"] != b"interrupted"]
    names = [n for n in t.dtype.names if n not in skip.get(name, set())]
    return sorted(tuple(r[n].tobytes() if hasattr(r[n], "tobytes") else r[n] for n in names)
                  for r in t), len(t)
for name in ["trials"] + sys.argv[3:]:
    x, nx = rows(a, name)
    y, ny = rows(b, name)
    if x != y:
        diff = [(p, q) for p, q in zip(x, y) if p != q][:2]
        sys.exit(f"/{name} differs ({nx} and {ny} rows), first: {diff}")
    if nx == 0:
        sys.exit(f"/{name} is empty")
EOF
}
