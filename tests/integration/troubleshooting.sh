#!/usr/bin/env bash
# troubleshooting.sh CAVIAR README.md: runs every row of the README's
# Troubleshooting table as written and checks its exit status and message.
#
# The rows are read from README.md (the table under "## Troubleshooting":
# input | `caviar COMMAND ARGS` | exit | `message fragment`), so the table
# and this test cannot drift apart. Each command runs in a scratch
# directory holding the files the rows name, made below; `caviar` is this
# build's executable. A fragment matches when its pieces between "..."
# appear in stderr in that order. A row naming a file this script does not
# make fails.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
readme=$2
PY=/usr/bin/python3
ro_mounted=
trap '[ -n "$ro_mounted" ] && umount "$T/ro"; rm -rf "$T"' EXIT

# ---- the files the rows name --------------------------------------------------
cd "$T" || exit 1
blobs_csv train.csv 60
blobs_csv test.csv 20
awk -F, '{print $1 "," $2 "," $3}' test.csv >narrow.csv
printf 'data: {source: train.csv, dev_size: 0.2}\nparameters: {epochs: 1, hidden_units: 4, layers: 1}\n' >job.yaml
printf 'parameters:\n  lerning_rate: 0.1\n' >bad-key.yaml
printf 'parameters:\n  optimizer: adamw\n' >bad-value.yaml
printf 'parameters:\n  learning_rate: {distribution: log_uniform, min: 0, max: 1}\n' >bad-range.yaml
printf 'parameters: {learning_rate: [0.1, 0.2\nsearch:\n' >bad-yaml.yaml
printf 'data: {source: missing.csv}\n' >missing-data.yaml
printf 'label,a,b\n0,1,2\n1,3\n' >bad-row.csv
printf 'label,a\n0,x\n1,2\n' >not-number.csv
printf 'label,a\n12.5,1\n1,2\n' >bad-label.csv
for f in bad-row not-number bad-label; do printf 'data: {source: %s.csv}\n' "$f" >"$f.yaml"; done
printf 'data: {source: cut-images-idx3-ubyte}\n' >cut-idx.yaml
printf 'data: {source: alone-images-idx3-ubyte}\n' >alone-idx.yaml
printf 'data: {source: no-y.h5}\n' >no-y.yaml
printf 'not an HDF5 file\n' >notes.h5
# a file the HDF5 loader fuzzer made: its root group's name heap is damaged
cp "$(dirname "$readme")/tests/fuzz/crashes/h5in/crash-149ed76b9c4108924ae63653bbf5977814a7b48a" damaged.h5
printf 'data: {source: damaged.h5}\n' >damaged.yaml
# one on which HDF5 1.10 itself crashes (a root symbol table message overwritten)
cp "$(dirname "$readme")/tests/fuzz/hdf5-crashes/h5in/btree-lookup-a0024182" crashing.h5
printf 'data: {source: crashing.h5}\n' >crashing.yaml
$PY - <<'PY'
import struct
import h5py
import numpy as np

def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload

open("cut-images-idx3-ubyte", "wb").write(idx(8, [10, 2, 2], bytes(30)))
open("cut-labels-idx1-ubyte", "wb").write(idx(8, [10], bytes([0, 1] * 5)))
open("alone-images-idx3-ubyte", "wb").write(idx(8, [4, 2, 2], bytes(16)))
with h5py.File("no-y.h5", "w") as f:
    f["X"] = np.zeros((4, 2), "float32")
with h5py.File("other.h5", "w") as f:
    f["x"] = np.arange(3)
PY
"$caviar" train job.yaml -o results.h5 >/dev/null 2>&1 || fail "cannot make results.h5"
# a read-only directory: a read-only tmpfs (root ignores permission bits)
mkdir ro
if mount -t tmpfs -o ro,size=64k tmpfs ro; then
  ro_mounted=1
else
  fail "cannot mount a read-only tmpfs on ro/ (not root?)"
fi

# ---- the rows -----------------------------------------------------------------
# One line per row: command <TAB> exit status <TAB> message fragment.
$PY - "$readme" >"$T/rows" <<'PY' || fail "cannot read the table from README.md"
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"^## Troubleshooting\n(.*?)(?=^## )", text, re.S | re.M)
if not m:
    sys.exit("README.md: no '## Troubleshooting' section")
for line in m.group(1).splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
    if len(cells) != 4 or not cells[1].startswith("`caviar "):
        continue
    cmd, status, msg = (c.strip("`") for c in cells[1:])
    print(f"{cmd}\t{status}\t{msg}")
PY
rows=0
while IFS=$'\t' read -r cmd want msg; do
  rows=$((rows + 1))
  read -r -a argv <<<"${cmd#caviar }"
  for a in "${argv[@]}"; do # every file the row names must have been made above
    case $a in
      *.yaml | *.h5 | *.csv | *idx*)
        [ -e "$a" ] || [ "${a%%/*}" = ro ] || [ "${a#missing}" != "$a" ] || [ "${a#nothing}" != "$a" ] \
          || fail "row '$cmd': no file $a here (add it to troubleshooting.sh)" ;;
    esac
  done
  "$caviar" "${argv[@]}" >"$T/out" 2>"$T/err"
  got=$?
  [ "$got" -eq "$want" ] || fail "'$cmd': exit status $got, README says $want"
  if ! $PY - "$T/err" "$msg" <<'PY'; then
import sys
err = open(sys.argv[1], encoding="utf-8", errors="replace").read()
pos = 0
for piece in sys.argv[2].split("..."):
    piece = piece.strip()
    i = err.find(piece, pos)
    if i < 0:
        sys.exit(1)
    pos = i + len(piece)
PY
    fail "'$cmd': stderr does not match the README's message"
    echo "  README: $msg" >&2
    sed 's/^/  stderr: /' "$T/err" | head -n 3 >&2
  fi
done <"$T/rows"
echo "$rows rows of the README's troubleshooting table checked"
[ "$rows" -ge 20 ] || fail "only $rows rows in the README's troubleshooting table"
finish
