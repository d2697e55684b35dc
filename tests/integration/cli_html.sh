#!/usr/bin/env bash
# cli_html.sh CAVIAR: `caviar report --html` and `caviar watch --html`.
#  - the page of a real small study (2 ranks, two rounds) and of a halving
#    study: one whole document, every inline SVG well-formed with a mark and
#    a tooltip per trial, nothing fetched from outside the page, the job's
#    name escaped; then in headless Chromium as a person would look at it
#    (html_check.py browser): no console error, the leaderboard sorts by the
#    heading clicked, the copy button, the print layout, a screenshot that is
#    not blank;
#  - watch --html on a study while it runs: every version of the page seen
#    while polling it is whole, those of the live study reload themselves,
#    the last one (the final table) does not;
#  - bad input: a foreign or damaged file, and a page that cannot be written
#    (no such directory, a directory, no permission, the results file
#    itself), refused with exit 2 before any work. About 30 s.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
caviar=$1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI=(timeout -k 5 120 mpirun --oversubscribe --bind-to none)
check() { timeout -k 5 90 $PY "$here/html_check.py" "$@"; }

for need in /usr/bin/chromium /usr/bin/chromedriver; do
  [ -x "$need" ] || { echo "FAIL: $need is missing (tests/run.sh installs chromium and chromium-driver)" >&2; exit 1; }
done

mkdir -p "$T/data"
noisy_csv "$T/data/noisy.csv" 900
# a name with characters HTML gives a meaning to: the page must show them
cat >"$T/study.yaml" <<YAML
name: "html <b>&amp; 'study'"
data: {source: data/noisy.csv, dev_size: 0.25}
search: {trials: 8, rounds: 2, keep: 0.25, seed: 5}
parameters:
  epochs: 2
  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0}
  beta1: {distribution: one_minus_log_uniform, min: 0.8, max: 0.999}
  layers: {distribution: int_uniform, min: 1, max: 3}
  batch_size: {values: [16, 32]}
  optimizer: {values: [adam, momentum]}
YAML
cat >"$T/asha.yaml" <<YAML
name: html-asha
data: {source: data/noisy.csv, dev_size: 0.25}
search: {method: asha, trials: 12, rounds: 1, seed: 7, min_epochs: 1, max_epochs: 9,
         reduction_factor: 3}
parameters:
  batch_size: 32
  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 0.3}
  hidden_units: {values: [8, 16]}
YAML

expect_status 0 "run" -- "${MPI[@]}" -np 2 "$caviar" run "$T/study.yaml" -o "$T/r.h5"
expect_status 0 "run asha" -- "${MPI[@]}" -np 1 "$caviar" run "$T/asha.yaml" -o "$T/asha.h5"
expect_status 0 "report --html" -- "$caviar" report "$T/r.h5" --top 5 --html "$T/page.html"
expect_grep "^wrote $T/page.html\$" "$T/out" "report --html says what it wrote"
expect_grep '^leaderboard: the best 5 of 16' "$T/out" "report --html prints the text report too"
expect_status 0 "report --html, halving" -- "$caviar" report "$T/asha.h5" --html "$T/asha.html"
[ ! -e "$T/page.html.tmp" ] || fail "report --html left its temporary file"

# the page alone: whole, SVGs well-formed, a mark per trial with a metric
n_metric=$($PY -c "
import math, sys, h5py
t = h5py.File(sys.argv[1], 'r')['trials'][:]
print(sum(1 for r in t if not math.isnan(r['dev_accuracy'])
          and r['status'].decode().rstrip(chr(0)) not in ('failed', 'interrupted')))" "$T/r.h5")
check static "$T/page.html" "$n_metric" || fail "the page (see above)"
check static "$T/asha.html" 12 || fail "the halving page (see above)"
expect_grep '<h1>Study html &lt;b&gt;&amp;amp; .study.</h1>' "$T/page.html" "the job's name, escaped"
grep -q '<b>&amp;' "$T/page.html" && fail "the job's name is not escaped somewhere"
for id in summary leaderboard importance effects curves parallel rounds next; do
  grep -q "<section id=\"$id\">" "$T/page.html" || fail "the page has no section $id"
done
expect_grep '<section id="halving">' "$T/asha.html" "the halving page's rungs"
expect_grep '<th scope="col"><button type="button">rung</button></th>' "$T/asha.html" "the rung column"
expect_grep 'class="stopped"' "$T/asha.html" "stopped curves in grey"
grep -q 'http-equiv="refresh"' "$T/page.html" && fail "a finished study's page reloads itself"
# the region block is the text report's, to the letter
"$caviar" report "$T/r.h5" | awk '/^parameters:$/ {on = 1} on' >"$T/region.txt"
$PY - "$T/page.html" "$T/region.txt" <<'EOF' || fail "the page's region differs from the text report's"
import html, re, sys
page = open(sys.argv[1]).read()
pre = re.search(r'<pre id="region">(.*?)</pre>', page, re.S).group(1)
sys.exit(html.unescape(pre).strip() != open(sys.argv[2]).read().strip())
EOF

# in Chromium, as a person would look at it
check browser "$T" "$T/page.html" "$T/asha.html" >"$T/browser.out" 2>&1 \
  || fail "in Chromium: $(grep FAIL "$T/browser.out" | head -n 12)"
sed 's/^/  /' "$T/browser.out"

# watch --html while a study runs: every version whole
blobs_csv "$T/data/blobs.csv" 3000
cat >"$T/live.yaml" <<YAML
name: watched
data: {source: data/blobs.csv, dev_size: 0.2}
search: {trials: 8, rounds: 2, keep: 0.25, seed: 3}
parameters:
  epochs: 200
  batch_size: 16
  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0e-1}
  hidden_units: {values: [16, 32]}
YAML
timeout 120 "$caviar" watch "$T/live.h5" --interval 0.2 --html "$T/live.html" \
  >"$T/watch.out" 2>"$T/watch.err" &
watch_pid=$!
check poll "$T/live.html" "$T/stop" >"$T/poll.out" 2>&1 &
poll_pid=$!
"${MPI[@]}" -np 3 "$caviar" run "$T/live.yaml" -o "$T/live.h5" >"$T/run.out" 2>"$T/run.err" \
  || { fail "the watched study: exit status $?"; tail -n 5 "$T/run.err" >&2; }
wait "$watch_pid" || { fail "watch --html: exit status $?"; cat "$T/watch.err" >&2; }
touch "$T/stop"
wait "$poll_pid" || fail "a version of the watched page was not whole: $(grep FAIL "$T/poll.out" | head -n 3)"
cat "$T/poll.out"
read -r versions reloading < <(awk '/versions seen/ {print $1, $4}' "$T/poll.out")
[ "${versions:-0}" -ge 3 ] || fail "watch --html: ${versions:-0} versions of the page seen, expected several"
[ "${reloading:-0}" -ge 1 ] || fail "watch --html: no version of the live study's page reloads itself"
expect_grep '^study complete: 16 of 16 trials finished$' "$T/watch.out" "watch --html keeps its text"
grep -q 'http-equiv="refresh"' "$T/live.html" && fail "the final page still reloads itself"
expect_grep '16 of 16 trials finished' "$T/live.html" "the final page has the final table"
[ ! -e "$T/live.html.tmp" ] || fail "watch --html left its temporary file"
check static "$T/live.html" || fail "the final watched page"

# bad input: exit 2, the message naming what is wrong, no page
expect_status 2 "report --html on a CSV" -- "$caviar" report "$T/data/noisy.csv" --html "$T/csv.html"
expect_grep 'noisy.csv: not an HDF5 file' "$T/err" "report --html on a CSV"
head -c 4000 "$T/r.h5" >"$T/cut.h5"
expect_status 2 "report --html on a damaged file" -- "$caviar" report "$T/cut.h5" --html "$T/cut.html"
[ -s "$T/err" ] || fail "report --html on a damaged file: no message"
[ ! -e "$T/csv.html" ] && [ ! -e "$T/cut.html" ] || fail "a page was written for bad input"
# an output that cannot be written is refused before the results are read
# (the results file does not even exist here: the page's path is named)
expect_status 2 "--html in a missing directory" -- "$caviar" report "$T/none.h5" --html "$T/no/such/p.html"
expect_grep "$T/no/such/p.html: cannot write the page there: No such file or directory" "$T/err" "--html in a missing directory"
expect_status 2 "--html naming a directory" -- "$caviar" report "$T/r.h5" --html "$T/data"
expect_grep "$T/data: is a directory" "$T/err" "--html naming a directory"
expect_status 2 "--html where nothing can be written" -- "$caviar" report "$T/r.h5" --html /proc/caviar.html
expect_grep '/proc/caviar.html: cannot write the page there' "$T/err" "--html where nothing can be written"
if [ "$(id -u)" -ne 0 ]; then
  mkdir "$T/ro" && chmod 555 "$T/ro"
  expect_status 2 "--html without permission" -- "$caviar" report "$T/r.h5" --html "$T/ro/p.html"
  expect_grep "$T/ro/p.html: cannot write the page there: Permission denied" "$T/err" "--html without permission"
fi
cp "$T/r.h5" "$T/keep.h5"
expect_status 2 "--html naming the results file" -- "$caviar" report "$T/r.h5" --html "$T/r.h5"
expect_grep 'r.h5: is the results file' "$T/err" "--html naming the results file"
cmp -s "$T/r.h5" "$T/keep.h5" || fail "--html naming the results file changed it"
expect_status 2 "report --html without a value" -- "$caviar" report "$T/r.h5" --html
expect_grep 'html needs a value' "$T/err" "report --html without a value"
expect_status 2 "watch --html in a missing directory" -- timeout 10 "$caviar" watch "$T/none.h5" --html "$T/no/p.html"
expect_grep "$T/no/p.html: cannot write the page there" "$T/err" "watch --html in a missing directory"
grep -q 'waiting for' "$T/err" && fail "watch --html waited before refusing its page"

finish
