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
