# Sourced by demo/run.sh and demo/stop.sh: where the demo lives, how its processes are
# recorded, and how the story is printed.
#
# Every server the demo starts has its PID and start time written to $D/state/pids, and
# carries MSS_DEMO_TAG=<tag of this run> in its environment (Postfix hands it on to its
# children through import_environment); Dovecot, which wipes its processes' environment,
# runs in the demo's own mount namespace. demo/stop.sh stops the recorded PIDs, then anything
# left with the tag or in that namespace: nothing the demo started stays behind, and nothing
# else is touched.

: "${SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${BUILD:=$SRC/build}"
BUILD=$(cd "$BUILD" 2>/dev/null && pwd || echo "$BUILD")

# Can the postfix, dovecot and mailbox users reach PATH (every directory above it o+x)?
demo_path_reachable() { # PATH
	_p=$1
	while [ -n "$_p" ] && [ "$_p" != "/" ]; do
		if [ -d "$_p" ]; then
			[ "$(($(stat -c '0%a' "$_p") & 1))" -eq 1 ] || return 1
		fi
		_p=$(dirname "$_p")
	done
	return 0
}

# The demo directory: $MSS_DEMO_DIR, else $BUILD/demo when the service users can reach it
# and its socket paths stay short (a UNIX socket path holds 107 bytes), else
# /var/tmp/mssante-demo. `demo_dir stop` prefers the one the last `make demo` used (noted in
# $BUILD/.demo-dir), so that `make demo-stop` finds it whatever MSS_DEMO_DIR says.
demo_dir() { # [stop]
	if [ -n "${MSS_DEMO_DIR:-}" ]; then
		case $MSS_DEMO_DIR in
		/*) echo "$MSS_DEMO_DIR" ;;
		*) echo "$(pwd)/$MSS_DEMO_DIR" ;;
		esac
	elif [ "${1:-}" = stop ] && [ -f "$BUILD/.demo-dir" ]; then
		cat "$BUILD/.demo-dir"
	elif demo_path_reachable "$BUILD" && [ ${#BUILD} -le 60 ]; then
		echo "$BUILD/demo"
	else
		echo /var/tmp/mssante-demo
	fi
}

# ---- recording processes ----

# start_time PID: the process's start time (clock ticks since boot, /proc/PID/stat field 22);
# with the PID it names one process for good, whatever PIDs get reused later.
start_time() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# record_pid NAME PID: the demo started PID; demo/stop.sh will stop it.
record_pid() {
	echo "$1 $2 $(start_time "$2")" >>"$D/state/pids"
}

# pid_is_ours PID START: PID is alive and is the very process that was recorded.
pid_is_ours() {
	[ -n "$2" ] && [ "$(start_time "$1")" = "$2" ]
}

# demo_pids TAG [MNTNS]: every live process of the demo, except this shell and its
# ancestors: those carrying TAG in their environment (Postfix and Dovecot hand it to their
# children through import_environment) and those in the demo's mount namespace MNTNS
# (Dovecot's master wipes its own environment).
demo_pids() {
	_self=" $$ "
	_p=$$
	while [ "$_p" -gt 1 ] 2>/dev/null; do
		_p=$(awk '/^PPid:/ {print $2}' "/proc/$_p/status" 2>/dev/null)
		[ -n "$_p" ] || _p=0
		_self="$_self$_p "
	done
	_host_ns=$(readlink /proc/self/ns/mnt)
	for _d in /proc/[0-9]*; do
		_pid=${_d#/proc/}
		case $_self in *" $_pid "*) continue ;; esac
		if [ -n "${2:-}" ] && [ "$2" != "$_host_ns" ] && [ "$(readlink "$_d/ns/mnt" 2>/dev/null)" = "$2" ]; then
			echo "$_pid"
		elif { tr '\0' '\n' <"$_d/environ"; } 2>/dev/null | grep -qxF "MSS_DEMO_TAG=$1"; then
			echo "$_pid"
		fi
	done
	return 0
}

# proc_state PID: R, S, D, Z... of PID; empty when there is no such process.
proc_state() {
	awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null
}

# stop_pid PID: TERM, up to 10 s, then KILL; returns once it has exited. (A server the
# demo left running belongs to init once run.sh has ended: init reaps it, in its own time.)
stop_pid() {
	kill -CONT "$1" 2>/dev/null
	kill -TERM "$1" 2>/dev/null || return 0
	_n=0
	while [ -n "$(proc_state "$1")" ] && [ "$(proc_state "$1")" != Z ] && [ $_n -lt 100 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	if [ -n "$(proc_state "$1")" ] && [ "$(proc_state "$1")" != Z ]; then
		kill -KILL "$1" 2>/dev/null
		sleep 0.1
	fi
	# A child of this shell is reaped here.
	wait "$1" 2>/dev/null
	return 0
}

# ---- ports and waiting ----

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_tcp PORT [SECS]: until something accepts connections on 127.0.0.1:PORT.
wait_tcp() {
	python3 - "$1" "${2:-20}" <<'PY'
import socket, sys, time
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

# wait_unix PATH [SECS]: until something accepts connections on the UNIX socket PATH.
wait_unix() {
	python3 - "$1" "${2:-20}" <<'PY'
import socket, sys, time
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        s.close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

# wait_for SECS COMMAND...: until COMMAND succeeds (every 0.1 s).
wait_for() {
	_secs=$1
	shift
	_n=0
	until "$@"; do
		_n=$((_n + 1))
		[ $_n -lt $((_secs * 10)) ] || return 1
		sleep 0.1
	done
}

# ---- templates ----

# render TEMPLATE OUT: copies TEMPLATE with every @NAME@ replaced by the value of $NAME
# (only the names listed in RENDER_VARS).
render() {
	_script=$D/state/render.sed
	: >"$_script"
	for _v in $RENDER_VARS; do
		eval "_val=\${$_v}"
		printf 's|@%s@|%s|g\n' "$_v" "$(printf '%s' "$_val" | sed -e 's/[\\|&]/\\&/g')" >>"$_script"
	done
	sed -f "$_script" "$1" >"$2" || return 1
	if grep -q '@[A-Z_]*@' "$2"; then
		echo "demo: $1: unknown placeholder $(grep -o '@[A-Z_]*@' "$2" | head -n 1)" >&2
		return 1
	fi
}

# ---- the story ----

say() { printf '%s\n' "$*"; }
detail() { printf '      %s\n' "$*"; }
# detail_file FILE: each line of FILE indented as evidence.
detail_file() { sed 's/^/      | /' "$1"; }

# setup_line TEXT: one line of the setup, and the same in the log.
setup_line() { printf '  - %s\n' "$*"; }

die() {
	echo "demo: $*" >&2
	exit 1
}
