#!/usr/bin/env bash
# cli_nodes.sh CAVIAR: a study across several nodes, on one machine. Two
# "nodes" are network and UTS namespaces this test makes (each with its own
# hostname and address, joined by veth pairs to a bridge); mpirun starts its
# daemons in them through a launcher agent (plm_rsh_agent: a script that
# enters the namespace where ssh would log in). The study must give the 1-rank
# table, hold the data once per node, and name the hosts in /runs. Everything
# the test makes is torn down at the end. Needs root (skipped otherwise).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

[ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && command -v unshare >/dev/null \
  || { echo "SKIP: needs root, ip (iproute2) and unshare"; exit 77; }
tag=$$
br=cvbr$tag
net=10.$((100 + tag % 100)).$((tag / 100 % 250)).
ns() { echo "cvn${tag}_$1"; }
teardown() {
  for i in 1 2; do ip netns del "$(ns $i)" 2>/dev/null; done
  ip link del "$br" 2>/dev/null
  rm -rf "$T"
}
trap teardown EXIT
ip link add "$br" type bridge && ip addr add "${net}254/24" dev "$br" && ip link set "$br" up \
  || { echo "SKIP: cannot make a bridge here"; exit 77; }
for i in 1 2; do
  ip netns add "$(ns $i)" &&
    ip link add "cvv${tag}x$i" type veth peer name eth0 netns "$(ns $i)" &&
    ip link set "cvv${tag}x$i" master "$br" up &&
    ip netns exec "$(ns $i)" ip addr add "${net}$i/24" dev eth0 &&
    ip netns exec "$(ns $i)" ip link set eth0 up &&
    ip netns exec "$(ns $i)" ip link set lo up ||
    { echo "SKIP: cannot make network namespaces here"; exit 77; }
done
# the launcher agent: "agent [ssh options] HOST COMMAND...", HOST an address
cat >"$T/agent.sh" <<AGENT
#!/usr/bin/env bash
while [ \$# -gt 0 ] && [ "\${1#-}" != "\$1" ]; do shift; done
i=\${1##*.}; shift
exec ip netns exec cvn${tag}_\$i unshare --uts sh -c "hostname cvnode\$i && exec \$*"
AGENT
chmod +x "$T/agent.sh"

mkdir -p "$T/data"
blobs_csv "$T/data/blobs.csv" 600
cat >"$T/job.yaml" <<YAML
name: nodes
data: {source: data/blobs.csv, dev_size: 0.2}
search: {trials: 8, rounds: 2, seed: 6}
parameters:
  epochs: 20
  hidden_units: {values: [8, 16]}
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 1.0e-1}
YAML

expect_status 0 "1 rank" -- "$caviar" run "$T/job.yaml" -o "$T/one.h5"
expect_status 0 "4 ranks on 2 nodes" -- timeout 120 mpirun --mca plm_rsh_agent "$T/agent.sh" \
  --host "${net}1:2,${net}2:2" -np 4 --oversubscribe --bind-to none \
  --mca oob_tcp_if_include "${net}0/24" --mca btl_tcp_if_include "${net}0/24" \
  --mca btl tcp,self,vader -x OPENBLAS_NUM_THREADS=1 \
  "$caviar" run "$T/job.yaml" -o "$T/nodes.h5"
cp "$T/err" "$T/nodes.err"
expect_grep "^data: 480 train and 120 dev examples \([0-9.]+ MB\), one copy on each of 2 nodes$" "$T/nodes.err" "the data once per node"
expect_grep "^study complete: 16 of 16 trials" "$T/nodes.err" "the study"
"$PY" "$here/table.py" "$T/one.h5" >"$T/one.table" || fail "cannot read the 1-rank table"
"$PY" "$here/table.py" "$T/nodes.h5" --check >"$T/nodes.table" 2>"$T/check" || fail "$(tail -n 2 "$T/check")"
diff "$T/one.table" "$T/nodes.table" >/dev/null || { fail "the 2-node table differs from the 1-rank table"; diff "$T/one.table" "$T/nodes.table" | head -n 6 >&2; }
"$PY" -c "import h5py, sys; print(h5py.File(sys.argv[1], 'r')['runs'][0]['hosts'].decode())" "$T/nodes.h5" >"$T/hosts"
expect_grep "^cvnode1 x2, cvnode2 x2$" "$T/hosts" "the hosts in /runs"
finish
