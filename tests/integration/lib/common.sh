# Sourced by the integration tests: a scratch directory removed at exit, and assertions
# that say what was expected and what came instead.
set -u
: "${BUILD:=$(cd "$(dirname "$0")/../.." && pwd)/build}"
: "${SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
MSSCTL="$BUILD/mssctl"
T=$(mktemp -d "${TMPDIR:-/tmp}/mss-test.XXXXXX")
# Never read the machine's own configuration.
export MSSANTE_CONF="$T/none.conf"
cleanup_hooks=""
at_exit() { cleanup_hooks="$1; $cleanup_hooks"; }
trap 'set +e; eval "$cleanup_hooks"; [ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT

checks=0
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
ok() {
	checks=$((checks + 1))
	echo "ok $checks - $*"
}

# run EXPECTED_STATUS command...: runs it, output in $T/out, fails on another status.
run() {
	expected=$1
	shift
	set +e
	"$@" >"$T/out" 2>&1
	status=$?
	set -e
	if [ "$status" -ne "$expected" ]; then
		sed 's/^/    /' "$T/out" >&2
		fail "'$*' exited $status, expected $expected"
	fi
}

# out_has TEXT: the last run's output contains TEXT.
out_has() {
	grep -qF -- "$1" "$T/out" || { sed 's/^/    /' "$T/out" >&2; fail "output lacks '$1'"; }
}
out_lacks() {
	! grep -qF -- "$1" "$T/out" || { sed 's/^/    /' "$T/out" >&2; fail "output has '$1'"; }
}

# json_get EXPR: evaluates a Python expression on the last output parsed as JSON (j).
json_get() {
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$T/out"
}

# A configuration for tests running as root or not: the owner check of the snapshot is off
# only when not root (it is exercised by the unit tests).
write_conf() { # FILE, then extra lines on stdin
	{
		echo "[directory]"
		[ "$(id -u)" -ne 0 ] && echo "snapshot_owner_check = no"
		cat
	} >"$1"
}
