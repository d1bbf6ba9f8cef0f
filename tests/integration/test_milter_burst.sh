#!/bin/sh
# Never lose a message, never deliver one twice: a burst of 500 messages from another operator's
# MTA (a second private Postfix, relaying over TLS with op-valmont's certificate) to our Postfix
# with mss-milter; the milter is killed (SIGKILL) in the middle of the burst and restarted over
# the socket it left. Postfix answers 4xx while it is gone, the peer retries, and the sink must
# end up with every message exactly once (counted by Message-ID). Needs root.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$SRC/tests/integration/milter/lib.sh"
. "$SRC/tests/integration/milter/postfix.sh"
[ "$(id -u)" -eq 0 ] || fail "this test starts private Postfix instances: run it as root"
N=500

milter_world "$T/world"
pki_make "$T/pki"
sink_start "$T/sink"
milter_conf "$T/m.conf" </dev/null
milter_start "$T/m.conf"
postfix_start "$T/postfix" "unix:$MILTER_SOCK"
postfix_peer_start "$T/peer" "$PF_IN_PORT"

cat >"$T/message" <<'EOF'
From: dr.x@ch-valmont.mssante.fr
To: jean.martin@hopital-test.mssante.fr
Subject: burst
X-MSS-NIL: BURST 1.0
X-Test-Seq: burst

Compte rendu.
EOF
accepted() {
	[ -f "$MILTER_AUDIT/milter.log" ] || { echo 0; return; }
	grep -c '"decision":"accept"' "$MILTER_AUDIT/milter.log" || true
}

# The burst, into the peer's queue (its cleanup gives each message its own Message-ID).
smtp-source -s 5 -m $N -d -f dr.x@ch-valmont.mssante.fr -t jean.martin@hopital-test.mssante.fr \
	-F "$T/message" "127.0.0.1:$PEER_PORT" >"$T/source.out" 2>&1 &
src=$!

# Kill the milter once some of it went through, while the rest is in flight.
n=0
until [ "$(accepted)" -ge 50 ] || [ $n -ge 600 ]; do sleep 0.05; n=$((n + 1)); done
[ "$(accepted)" -ge 50 ] || fail "the burst did not start"
kill -9 "$MILTER_PID"
wait "$MILTER_PID" 2>/dev/null || true
MILTER_PID=""
killed_at=$(accepted)
sleep 2
wait "$src" || { cat "$T/source.out"; fail "smtp-source failed"; }
grep -q "4[0-9][0-9] 4\.[0-9]\.[0-9]" "$T/peer/maillog" || fail "the peer saw no 4xx while the milter was down"
ok "milter killed after $killed_at accepted messages; Postfix answered 4xx meanwhile"

# Restart over the socket the killed one left: it binds at once.
[ -S "$MILTER_SOCK" ] || fail "the killed milter left no socket (nothing to test)"
milter_start "$T/m.conf" "$T/milter2.log"
grep -q "removed the stale socket" "$T/milter2.log" || fail "stale socket not reported"
ok "restarted over the stale socket"

# Everything arrives, once.
n=0
until [ "$(sink_count)" -ge $N ] || [ $n -ge 1200 ]; do sleep 0.1; n=$((n + 1)); done
PF_DIR_SAVE=$PF_DIR
PF_DIR=$PEER_DIR
postfix_wait_empty 120 || {
	echo "sink has $(sink_count) of $N; the peer's queue:" >&2
	find "$PEER_DIR/queue/incoming" "$PEER_DIR/queue/active" "$PEER_DIR/queue/deferred" -type f >&2
	tail -n 30 "$PEER_DIR/maillog" >&2
	fail "the peer's queue did not drain"
}
PF_DIR=$PF_DIR_SAVE
postfix_wait_empty 60 || fail "the queue did not drain"
sleep 1
python3 - "$SINK_DUMP" "$N" <<'PY' || fail "not every message exactly once"
import collections, sys
blocks = ("\n" + open(sys.argv[1], errors="replace").read()).split("\nX-Client-Addr: ")[1:]
ids = collections.Counter()
for b in blocks:
    for line in b.splitlines():
        if line.lower().startswith("message-id:"):
            ids[line.split(":", 1)[1].strip()] += 1
            break
n = int(sys.argv[2])
dups = [i for i, c in ids.items() if c > 1]
print("delivered %d messages, %d distinct, %d duplicated" % (sum(ids.values()), len(ids), len(dups)))
assert len(ids) == n and not dups, dups[:5]
PY
ok "$N messages sent, $N delivered, each exactly once"
echo "$checks checks passed"
