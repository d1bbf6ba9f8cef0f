#!/bin/sh
# 8 threads look users and groups up through libnss_mss in a loop while `mssctl sync`
# republishes the snapshot 100 times (every lookup re-checks the snapshot:
# check_interval_ms = 0, so old mappings are swapped out under running lookups all the time):
# no crash, no wrong answer, no leaked descriptor or mapping; then the same under helgrind,
# which must report no data race or lock-order problem.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/slapd.sh"
. "$(dirname "$0")/nss-setup.sh"

nss_build
nss_hospital_snapshot "$T/h" <<EOF
check_interval_ms = 0
EOF
D=$HOSPITAL
cat >"$T/expect" <<EOF
u jean.martin@$D 200500
u sophie.durand@$D $(uid_of "sophie.durand@$D")
u claire.lefebvre@$D $(uid_of "claire.lefebvre@$D")
u claire.vasseur@$D $(uid_of "claire.vasseur@$D")
u dpi@$D $(uid_of "dpi@$D")
g cardiologie@$D $(uid_of "cardiologie@$D") jean.martin@$D,sophie.durand@$D
g urgences@$D $(uid_of "urgences@$D") claire.lefebvre@$D
g dim@$D $(uid_of "dim@$D") -
n nobody@$D
n ancien-service@$D
EOF

# stress RUNS [WRAPPER...]: the stress program under WRAPPER while sync republishes RUNS times.
stress() {
	runs=$1
	shift
	rm -f "$T/stop" "$T/stop.ready"
	"$@" "$STRESS" "$SO" mss 8 "$T/expect" "$T/h" "$T/stop" 300 >"$T/stress.out" 2>&1 &
	pid=$!
	i=0
	while [ ! -e "$T/stop.ready" ]; do
		kill -0 "$pid" 2>/dev/null || { cat "$T/stress.out" >&2; fail "the stress program died at start"; }
		sleep 0.1
		i=$((i + 1))
		[ "$i" -lt 3000 ] || { cat "$T/stress.out" >&2; fail "the stress program did not start"; }
	done
	i=0
	while [ "$i" -lt "$runs" ]; do
		$NSS_SYNC >"$T/sync.out" 2>&1 || { cat "$T/sync.out" >&2; fail "sync $i failed"; }
		i=$((i + 1))
	done
	touch "$T/stop"
	set +e
	wait "$pid"
	status=$?
	set -e
	sed 's/^/    /' "$T/stress.out"
	[ "$status" -eq 0 ] || fail "stress under '$*' exited $status"
	grep -q "failures=0 " "$T/stress.out" || fail "wrong answers"
}

stress 100
ok "8 threads x 100 republications: no wrong answer, descriptors and mappings as before, none of a deleted file"

command -v valgrind >/dev/null 2>&1 || fail "valgrind missing (tests/deps/core.list)"
stress 30 valgrind --tool=helgrind --fair-sched=yes --error-exitcode=99 -q
if grep -q "^==[0-9]*==" "$T/stress.out"; then fail "helgrind reported problems"; fi
ok "the same under helgrind (30 republications): no race, no lock-order problem"
echo "$checks checks passed"
