# Sourced by tests/integration/test_milter_*.sh (after lib/common.sh): the test world and a
# real mss-milter started and stopped by PID.
#
#   milter_world DIR        the hospital snapshot, built by `mssctl sync` from a private slapd
#                           loaded with tests/fixtures/hopital.ldif and the trust list
#                           tests/fixtures/trust/hopital-test.xml -> DIR/snapshot.cdb
#   milter_user             the user mss-milter drops to: postfix when run as root (so that
#                           Postfix reaches its 0660 socket), else the current user
#   milter_conf FILE        writes a configuration; extra lines on stdin (sections allowed).
#                           Uses MILTER_SOCK, MILTER_SNAPSHOT, MILTER_AUDIT (defaults under $T)
#   milter_start CONF [LOG] starts `mss-milter -f -c CONF` (stderr to LOG), waits until its
#                           socket answers; MILTER_PID is its pid; stopped at exit
#   milter_stop             SIGTERM, waits; MILTER_STOP_MS is how long it took
#   mt SCRIPT [-D ...]      runs tests/integration/milter/SCRIPT.lua with miltertest on MILTER_SOCK
#                           (lib: common.lua, the helpers the scripts share)
#   trail_reasons FILE      "decision reason" per record of an audit trail, one per line

MILTER_BIN="$BUILD/mss-milter"
MILTER_LUA="$SRC/tests/integration/milter"
MILTER_PID=""
MILTER_SOCK=${MILTER_SOCK:-$T/milter.sock}
MILTER_AUDIT=${MILTER_AUDIT:-$T/audit}
# Every directory on the way must be reachable by the milter's user and by Postfix.
chmod 0711 "$T"

[ -x "$MILTER_BIN" ] || make -s --no-print-directory -C "$SRC" "BUILD=$BUILD" "$MILTER_BIN" >/dev/null ||
	fail "cannot build $MILTER_BIN"

milter_user() {
	if [ "$(id -u)" -eq 0 ]; then
		if id postfix >/dev/null 2>&1; then echo postfix; else echo nobody; fi
	else
		id -un
	fi
}

milter_world() { # DIR
	_w=$1
	mkdir -p "$_w"
	chmod 0755 "$_w"
	(
		. "$SRC/tests/integration/lib/slapd.sh"
		slapd_start "$_w/ldap" "$SRC/tests/fixtures/hopital.ldif" >"$_w/slapd-start.log" 2>&1 ||
			{ cat "$_w/slapd-start.log" >&2; exit 1; }
		printf 'sync-secret\n' >"$_w/bindpw"
		chmod 600 "$_w/bindpw"
		write_conf "$_w/sync.conf" <<EOF
uri = $SLAPD_URI
base = $SLAPD_BASE
bind_dn = cn=mssante-sync,ou=services,$SLAPD_BASE
bind_password_file = $_w/bindpw
starttls = yes
ca_file = $SLAPD_CA
snapshot = $_w/snapshot.cdb
[trust]
list = $SRC/tests/fixtures/trust/hopital-test.xml
EOF
		"$MSSCTL" -c "$_w/sync.conf" sync >"$_w/sync.log" 2>&1
		rc=$?
		slapd_stop
		[ $rc -eq 0 ] || { cat "$_w/sync.log" >&2; exit 1; }
	) || fail "could not build the test snapshot"
	chmod 0644 "$_w/snapshot.cdb"
	MILTER_SNAPSHOT=$_w/snapshot.cdb
}

milter_conf() { # FILE, extra lines on stdin
	mkdir -p "$MILTER_AUDIT"
	[ "$(id -u)" -eq 0 ] && chown "$(milter_user)" "$MILTER_AUDIT"
	{
		echo "[directory]"
		[ "$(id -u)" -ne 0 ] && echo "snapshot_owner_check = no"
		echo "snapshot = ${MILTER_SNAPSHOT:-$T/world/snapshot.cdb}"
		echo "[milter]"
		echo "socket = unix:$MILTER_SOCK"
		echo "pid_file = $T/mss-milter.pid"
		echo "user = $(milter_user)"
		echo "[audit]"
		echo "directory = $MILTER_AUDIT"
		echo "sync = none"
		cat
	} >"$1"
}

# Waits until something accepts connections on the milter's socket.
_milter_wait() {
	python3 - "$1" <<'PY'
import socket, sys, time
spec = sys.argv[1]
deadline = time.time() + 10
while time.time() < deadline:
    try:
        if spec.startswith("unix:"):
            s = socket.socket(socket.AF_UNIX)
            s.connect(spec[5:])
        else:
            port, host = spec.split(":", 1)[1].split("@")
            s = socket.create_connection((host, int(port)))
        s.close()
        sys.exit(0)
    except OSError:
        time.sleep(0.02)
sys.exit(1)
PY
}

milter_start() { # CONF [LOG]
	_log=${2:-$T/milter.log}
	milter_stop
	_spec=$(sed -n 's/^socket = //p' "$1" | tail -n 1)
	"$MILTER_BIN" -f -c "$1" 2>>"$_log" &
	MILTER_PID=$!
	if ! _milter_wait "$_spec"; then
		sed 's/^/    milter: /' "$_log" >&2
		fail "mss-milter did not listen on $_spec"
	fi
	kill -0 "$MILTER_PID" 2>/dev/null || { sed 's/^/    milter: /' "$_log" >&2; fail "mss-milter exited"; }
}

milter_stop() {
	[ -n "$MILTER_PID" ] || return 0
	_t0=$(date +%s%N)
	kill "$MILTER_PID" 2>/dev/null || true
	wait "$MILTER_PID" 2>/dev/null || true
	MILTER_STOP_MS=$((($(date +%s%N) - _t0) / 1000000))
	MILTER_PID=""
}
at_exit milter_stop

mt() { # SCRIPT [miltertest args]
	_s=$1
	shift
	miltertest -D "sock=unix:$MILTER_SOCK" -D "lib=$MILTER_LUA/common.lua" "$@" -s "$MILTER_LUA/$_s.lua"
}

trail_reasons() { # FILE
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["decision"], (r.get("reason") or "-").split(":")[0])' "$1"
}
