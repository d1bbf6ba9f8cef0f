#!/bin/sh
# Runs every test suite and ends with one summary line "N passed, N failed".
#   tests/run-tests.sh BUILD              unit (BUILD and BUILD/asan), integration, fuzz smoke
#   tests/run-tests.sh --unit-only BUILD  unit tests of BUILD only
# Each suite's output goes to BUILD/test-logs/NAME.log and is shown when it fails.
set -u
unit_only=""
if [ "${1:-}" = "--unit-only" ]; then unit_only=yes; shift; fi
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
LOGS="$BUILD/test-logs"
mkdir -p "$LOGS"
export BUILD SRC

passed=0
failed=0
failed_names=""

run_suite() { # name command...
	name=$1
	shift
	log="$LOGS/$(echo "$name" | tr '/ ' '__').log"
	start=$(date +%s)
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1))
		echo "PASS $name ($(($(date +%s) - start))s)"
	else
		rc=$?
		failed=$((failed + 1))
		failed_names="$failed_names $name"
		echo "FAIL $name (exit $rc)"
		sed 's/^/    | /' "$log" | tail -n 60
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && run_suite "unit/$(basename "$t")" "$t"
done
if [ -z "$unit_only" ]; then
	for t in "$BUILD"/asan/tests/test_*; do
		[ -x "$t" ] && run_suite "asan/$(basename "$t")" "$t"
	done
	for t in "$SRC"/tests/integration/test_*.sh; do
		[ -f "$t" ] && run_suite "integration/$(basename "$t" .sh)" sh "$t"
	done
	for f in "$BUILD"/fuzz/fuzz_*; do
		[ -x "$f" ] && run_suite "fuzz/$(basename "$f")" sh "$SRC/tests/run-fuzz.sh" "$f" "${FUZZ_SECONDS:-8}"
	done
fi

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
