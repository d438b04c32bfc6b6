#!/usr/bin/env bash
# Run the whole test suite. The e2e session fixture reuses .cluster/ when it is up, otherwise it starts a
# control plane and stops it at the end. pytest's exit code is then judged against what the session did
# (hack/run_tests_verdict.py): "no tests collected" (5) passes only when the selection holds no e2e tests,
# and a session whose cluster came up but ran no e2e test fails.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS
report=$(mktemp "${TMPDIR:-/tmp}/tradingbot-test-report.XXXXXX")
trap 'rm -f "$report"' EXIT
TRADINGBOT_TEST_REPORT="$report" .venv/bin/python -m pytest "$@"
rc=$?
.venv/bin/python hack/run_tests_verdict.py "$rc" "$report"
rc=$?
echo "tests finished in $((SECONDS - start))s with exit code $rc"
exit "$rc"
