# trivial_job.sh (sourced by the runner's benchmarks): trivial_job DIR NAME
# TRIALS KEEP writes DIR/NAME.yaml, a study of TRIALS trivial trials (a
# 4-unit network, one epoch on 60 examples of DIR/tiny.csv) keeping KEEP
# checkpoints: what measures the master, not training.
trivial_job() {
  local dir=$1 name=$2 trials=$3 keep=$4
  awk 'BEGIN { srand(3); print "label,a,b,c,d";
    for (i = 0; i < 60; i++) { k = i % 3; printf "%d,%.3f,%.3f,%.3f,%.3f\n", k, k + rand(), rand(), -k + rand(), rand() } }' \
    >"$dir/tiny.csv"
  cat >"$dir/$name.yaml" <<YAML
name: $name
data: {source: tiny.csv, dev_size: 12}
search: {trials: $trials, seed: 1}
checkpoints: {keep: $keep}
parameters:
  epochs: 1
  layers: 1
  hidden_units: 4
  batch_size: 16
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 1.0}
YAML
}
