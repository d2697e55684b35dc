#!/usr/bin/env bash
# tests/run.sh: install what is missing, build, run the whole suite.
# Ends with a line "N passed, N failed"; exits nonzero if anything failed.
#   tests/run.sh            unit + integration tests, then unit tests again
#                           under AddressSanitizer and UBSan
set -uo pipefail
cd "$(dirname "$0")/.."
. jobs/setup.sh

caviar_install "${CAVIAR_PACKAGES[@]}" libcmocka-dev valgrind python3-h5py python3-numpy python3-pandas python3-matplotlib python3-torch libxml2-utils chromium chromium-driver python3-selenium python3-pil slurm-wlm munge iproute2 util-linux \
  || { echo "tests/run.sh: could not install packages"; echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0

# run_suite BUILDDIR [meson test args]: runs tests, adds the counts.
run_suite() {
  local dir=$1
  shift
  local log
  log=$(meson test -C "$dir" --print-errorlogs "$@" 2>&1)
  local rc=$?
  printf '%s\n' "$log" | grep -E '^ *[0-9]+/[0-9]+ ' || true
  local ok fail
  ok=$(printf '%s\n' "$log" | awk '/^Ok:/ {print $2}')
  fail=$(printf '%s\n' "$log" | awk '/^(Fail|Timeout|Unexpected Pass):/ {s += $2} END {print s + 0}')
  if [ -z "$ok" ]; then
    printf '%s\n' "$log" | tail -n 40
    ok=0
    fail=$((fail + 1))
  fi
  if [ "$rc" -ne 0 ]; then
    printf '%s\n' "$log" | sed -n '/^=\+ [0-9]/,/^=\+$/p' | tail -n 200
    [ "$fail" -gt 0 ] || fail=1
  fi
  passed=$((passed + ok))
  failed=$((failed + fail))
}

echo "== build (release, warnings as errors)"
if caviar_build build -Dwerror=true; then
  echo "== unit and integration tests"
  run_suite build --suite unit --suite integration
else
  ninja -C build 2>&1 | tail -n 40
  failed=$((failed + 1))
fi

echo "== build (AddressSanitizer + UBSan)"
if caviar_build build-asan -Dwerror=true -Dbuildtype=debugoptimized \
     -Db_sanitize=address,undefined -Db_lundef=false; then
  echo "== unit tests under ASan + UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suite build-asan --suite unit
else
  ninja -C build-asan 2>&1 | tail -n 40
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
