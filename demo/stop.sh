#!/bin/sh
# `make demo-stop`: stops every process `make demo` started, by PID, and waits for them.
#
#   BUILD=DIR sh demo/stop.sh [--quiet]     (MSS_DEMO_DIR: the demo directory, as for run.sh)
#
# 1. each PID of $D/state/pids, last started first, if it is still the process recorded (same
#    start time: a recycled PID of another program is never killed): TERM, then KILL after
#    10 s; Postfix's and Dovecot's masters take their children along;
# 2. any process left with the run's tag in its environment or in the demo's mount namespace
#    (a child that outlived its master): TERM, then KILL.
# Exit 0 when nothing of the demo runs any more (also when there was no demo), 1 otherwise.
# The demo directory stays, with its logs and audit trail, until the next `make demo`.
set -u
# Called from a demo process (run.sh when its setup fails): shed the tag first, so that this
# script and its subshells are not taken for processes of the demo.
[ -z "${MSS_DEMO_TAG:-}" ] || exec env -u MSS_DEMO_TAG sh "$0" "$@"
SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=demo/lib/common.sh
. "$SRC/demo/lib/common.sh"

quiet=""
[ "${1:-}" = "--quiet" ] && quiet=yes
note() { [ -n "$quiet" ] || echo "demo-stop: $*"; }

D=$(demo_dir stop)
if [ ! -f "$D/state/tag" ]; then
	note "no demo running under $D: nothing to stop"
	exit 0
fi
tag=$(cat "$D/state/tag")
# The namespace criterion only while Dovecot's master is still the one recorded: a namespace
# number is reused once the namespace is gone.
mntns=""
dovecot=$(awk '$1 == "dovecot" {print $2, $3}' "$D/state/pids" 2>/dev/null)
# shellcheck disable=SC2086
[ -n "$dovecot" ] && pid_is_ours $dovecot && mntns=$(cat "$D/state/mntns" 2>/dev/null)

if [ -f "$D/state/pids" ]; then
	# Last started first: the peer's and our Postfix, Dovecot, the milter, slapd.
	tac "$D/state/pids" | while read -r name pid start; do
		[ -n "$pid" ] || continue
		if pid_is_ours "$pid" "$start"; then
			stop_pid "$pid"
			note "stopped $name (pid $pid)"
		fi
	done
fi

# Children that outlived their master (an smtpd finishing a session, a Dovecot worker).
n=0
while :; do
	left=$(demo_pids "$tag" "$mntns")
	[ -z "$left" ] && break
	n=$((n + 1))
	if [ $n -gt 50 ]; then
		echo "demo-stop: still running after 10 s:" $left >&2
		exit 1
	fi
	# shellcheck disable=SC2086
	if [ $n -eq 1 ]; then
		kill -TERM $left 2>/dev/null
	elif [ $n -eq 25 ]; then
		kill -KILL $left 2>/dev/null
	fi
	sleep 0.2
done

# Give init a moment to collect the exited servers (zombies), so that `ps` shows nothing.
exited_and_reaped() {
	[ -f "$D/state/pids" ] || return 0
	for pid in $(awk '{print $2}' "$D/state/pids"); do
		[ -z "$(proc_state "$pid")" ] || return 1
	done
}
n=0
until exited_and_reaped || [ $n -ge 30 ]; do
	sleep 0.1
	n=$((n + 1))
done

rm -f "$D/state/pids" "$D/state/tag" "$D/state/mntns"
note "nothing of the demo under $D is running any more"
exit 0
