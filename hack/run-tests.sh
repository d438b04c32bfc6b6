#!/usr/bin/env bash
# Run the whole test suite. The e2e session fixture reuses .cluster/ when it is up, otherwise it starts a
# control plane and stops it at the end. pytest's exit code is then judged against what the session did
# (hack/run_tests_verdict.py): "no tests collected" (5) passes only when the selection holds no e2e tests,
# and a session whose cluster came up but ran no e2e test fails.
#
# usage: hack/run-tests.sh [--prepare] [PYTEST_ARGS...]
#   --prepare  (make test) build what the e2e tests need - the cluster's binaries, the real node's, the image:
#              hack/prepare-tests.sh - in the background at a lower CPU priority, while the tests that need nothing
#              built run first; a test that needs them waits for its stage (tests/support/prepared.py). On a cold
#              machine that overlaps the builds with the unit, integration and kwok e2e tests.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS
report=$(mktemp "${TMPDIR:-/tmp}/tradingbot-test-report.XXXXXX")
prepare_pid=
cleanup() {
  rm -f "$report"
  # Interrupted while the builds still run: stop them (their process group) rather than leave them behind.
  if [ -n "$prepare_pid" ] && kill -0 "$prepare_pid" 2>/dev/null; then kill -TERM -- "-$prepare_pid" 2>/dev/null; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${1:-}" = --prepare ]; then
  shift
  mkdir -p build
  prepare_log="$PWD/build/test-prepare.log"
  prepare_dir="$PWD/build/test-prepare"
  rm -rf "$prepare_dir"
  echo "building the cluster's binaries and the image in the background (log: $prepare_log);" \
       "the tests that need nothing built run meanwhile"
  # setsid: its own process group, so an interrupt stops all of it.
  setsid nice -n 10 hack/prepare-tests.sh "$prepare_dir" >"$prepare_log" 2>&1 &
  prepare_pid=$!
  export TRADINGBOT_PREPARE_DIR="$prepare_dir" TRADINGBOT_PREPARE_LOG="$prepare_log"
fi

# The slowest tests are listed at the end: where the time of a run goes (docs/development.md#timings).
TRADINGBOT_TEST_REPORT="$report" .venv/bin/python -m pytest --durations=20 "$@"
rc=$?
.venv/bin/python hack/run_tests_verdict.py "$rc" "$report"
rc=$?

if [ -n "$prepare_pid" ]; then
  # A selection without e2e tests never waited for the builds: let them finish (an apt install must not be cut
  # short), and fail if they failed - the next run would need them.
  if kill -0 "$prepare_pid" 2>/dev/null; then echo "waiting for the background builds to finish (log: $prepare_log)"; fi
  wait "$prepare_pid"
  prepared=$(cat "$prepare_dir/all" 2>/dev/null || echo "?")
  if [ "$prepared" != 0 ]; then
    echo "the background builds failed (exit code $prepared); the end of $prepare_log:"
    tail -n 30 "$prepare_log"
    rc=1
  fi
  prepare_pid=
fi
echo "tests finished in $((SECONDS - start))s with exit code $rc"
exit "$rc"
