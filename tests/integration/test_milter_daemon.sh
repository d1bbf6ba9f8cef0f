#!/bin/sh
# mss-milter as a daemon: configuration check, detaching with a pid file, the socket bound
# before the privilege drop, one instance per socket, a stale socket removed safely, SIGHUP
# reloads (a bad configuration is refused with FILE:LINE and the old one stays), SIGTERM drains
# an open transaction and exits within 2 s, a restart binds at once; an inet: socket.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$SRC/tests/integration/milter/lib.sh"

milter_world "$T/world"
milter_conf "$T/m.conf" </dev/null
USER_=$(milter_user)

# ---- configuration check ----
run 0 "$MILTER_BIN" -t -c "$T/m.conf"
out_has "configuration valid"
cp "$T/m.conf" "$T/bad.conf"
printf '[milter]\non_stale_snapshot = accept\n' >>"$T/bad.conf"
run 2 "$MILTER_BIN" -t -c "$T/bad.conf"
out_has "bad.conf:$(wc -l <"$T/m.conf" | awk '{print $1 + 2}'): key 'on_stale_snapshot'"
printf '[milter]\nsubmission_daemons = mss-inbound\n' >"$T/overlap.conf"
run 2 "$MILTER_BIN" -t -c "$T/overlap.conf"
out_has "also in inbound_daemons"
run 2 "$MILTER_BIN" -c "$T/nonexistent.conf"
out_has "nonexistent.conf"
ok "-t validates the configuration; errors name FILE:LINE and the key, exit 2"

# ---- detached: pid file, socket owner and mode, privileges dropped ----
run 0 "$MILTER_BIN" -c "$T/m.conf"
pid=$(cat "$T/mss-milter.pid")
kill -0 "$pid" || fail "no process $pid"
at_exit "kill $pid 2>/dev/null || true"
[ "$(stat -c %a "$MILTER_SOCK")" = 660 ] || fail "socket mode $(stat -c %a "$MILTER_SOCK")"
[ "$(stat -c %U "$MILTER_SOCK")" = "$USER_" ] || fail "socket owner $(stat -c %U "$MILTER_SOCK")"
[ "$(ps -o user= -p "$pid" | tr -d ' ')" = "$USER_" ] || fail "runs as $(ps -o user= -p "$pid")"
run 0 mt accept
ok "detached: pid file, socket 0660 owned by $USER_, running as $USER_"

# A second instance on the same socket is refused; the running one is untouched.
run 1 "$MILTER_BIN" -f -c "$T/m.conf"
out_has "another mss-milter is listening"
run 0 mt accept
ok "a second instance on a live socket is refused"

# SIGTERM with no transaction open: gone at once. (Detached, its parent is init: a zombie
# waiting to be reaped has exited already.)
running() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
t0=$(date +%s%N)
kill "$pid"
n=0
while running "$pid" && [ $n -lt 300 ]; do sleep 0.01; n=$((n + 1)); done
running "$pid" && fail "still running 3 s after SIGTERM"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -le 2000 ] || fail "SIGTERM took $ms ms"
ok "SIGTERM: exited in $ms ms"

# ---- a restart binds at once, over the socket left behind ----
if [ ! -S "$MILTER_SOCK" ]; then
	# Not privileged enough to have left it (the milter could remove it itself): leave one.
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$MILTER_SOCK"
fi
milter_start "$T/m.conf"
run 0 mt accept
grep -q "removed the stale socket" "$T/milter.log" || fail "stale socket not reported"
ok "restart over a stale socket binds at once"

# A path that is not a socket is never removed.
milter_stop
rm -f "$MILTER_SOCK"
echo "precious" >"$MILTER_SOCK"
run 1 "$MILTER_BIN" -f -c "$T/m.conf"
out_has "is not a socket"
[ "$(cat "$MILTER_SOCK")" = precious ] || fail "the file was touched"
rm -f "$MILTER_SOCK"
ok "a regular file in the socket's place is left alone, exit 1"

# ---- SIGHUP ----
milter_start "$T/m.conf" "$T/hup.log"
cp "$T/m.conf" "$T/m.conf.good"
printf '[milter]\nrequire_nil = sometimes\n' >>"$T/m.conf"
kill -HUP "$MILTER_PID"
n=0
until grep -q "reload refused" "$T/hup.log" || [ $n -ge 200 ]; do sleep 0.05; n=$((n + 1)); done
grep -q "reload refused, keeping the configuration in force: $T/m.conf:[0-9]*: key 'require_nil'" "$T/hup.log" ||
	{ cat "$T/hup.log"; fail "refused reload not explained"; }
kill -0 "$MILTER_PID" || fail "SIGHUP stopped the milter"
run 0 mt accept
ok "SIGHUP with a bad configuration: refused with FILE:LINE, the old one serves"

cp "$T/m.conf.good" "$T/m.conf"
printf '[milter]\ninbound_daemons = other-inbound\n' >>"$T/m.conf"
kill -HUP "$MILTER_PID"
n=0
until grep -q "configuration and snapshot reloaded" "$T/hup.log" || [ $n -ge 200 ]; do sleep 0.05; n=$((n + 1)); done
grep -q "configuration and snapshot reloaded" "$T/hup.log" || { cat "$T/hup.log"; fail "no reload"; }
run 0 mt tempfail -D daemon=mss-inbound
trail_reasons "$MILTER_AUDIT/milter.log" | tail -n 2 >"$T/got"
printf 'tempfail unknown_listener\ntempfail unknown_listener\n' | diff -u - "$T/got" ||
	fail "the old listener name is still mapped"
cp "$T/m.conf.good" "$T/m.conf"
kill -HUP "$MILTER_PID"
ok "SIGHUP with a valid configuration: applied without a restart"

# ---- SIGTERM drains an open transaction, then exits within 2 s ----
rm -f "$T/marker"
miltertest -D "sock=unix:$MILTER_SOCK" -D "marker=$T/marker" -s "$MILTER_LUA/drain.lua" >"$T/drain.out" 2>&1 &
mtpid=$!
n=0
until [ -f "$T/marker" ] || [ $n -ge 500 ]; do sleep 0.02; n=$((n + 1)); done
[ -f "$T/marker" ] || fail "the transaction did not start"
milter_stop
wait "$mtpid" || { cat "$T/drain.out"; fail "the open transaction was not answered"; }
grep -q "drain: answered" "$T/drain.out" || fail "drain"
[ "$MILTER_STOP_MS" -le 2000 ] || fail "SIGTERM with an open transaction took $MILTER_STOP_MS ms"
trail_reasons "$MILTER_AUDIT/milter.log" | tail -n 1 | grep -q "^accept" || fail "drained message not recorded"
ok "SIGTERM: the open transaction was answered and recorded, exit after $MILTER_STOP_MS ms"

# ---- inet socket (TCP_NODELAY set on the listener) ----
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed "s|^socket = .*|socket = inet:$port@127.0.0.1|" "$T/m.conf.good" >"$T/inet.conf"
milter_start "$T/inet.conf" "$T/inet.log"
run 0 miltertest -D "sock=inet:$port@127.0.0.1" -s "$MILTER_LUA/accept.lua"
milter_stop
[ "$MILTER_STOP_MS" -le 2000 ] || fail "inet: SIGTERM took $MILTER_STOP_MS ms"
ok "inet:$port@127.0.0.1 works and stops at once"
echo "$checks checks passed"
