#!/bin/sh
# Bench group "milter": Postfix throughput with mss-milter divided by the same Postfix without
# any milter, measured in this run, runs interleaved (the machine is noisy).
#
#   smtp-source -> socat (TLS, op-valmont's IGC-Santé client certificate) -> Postfix inbound
#   listener (TLS wrapper mode, certificate verified) [-> mss-milter] -> smtp-sink
#
# Every message goes through the milter's full inbound checks (TLS, issuer, the peer CN against
# the trust list, the recipient BAL) and is accepted, recorded and delivered. Two Postfix
# instances, identical but for smtpd_milters; a run is timed from the first connection until the
# instance's queue is empty (everything delivered to the sink).
#   milter_ratio                 10 sessions, 2,000 messages, [audit] sync = batch, median of
#                                7 interleaved pairs (MILTER_BENCH_PAIRS), in alternating order
#   milter_ratio_durable         the same with [audit] sync = always (group commit)
#   milter_single_session_ratio  1 session, 300 messages (catches per-message stalls)
#   milter_msgs_per_s            messages/s through Postfix with the milter (10 sessions, batch)
# Needs root (Postfix). Knobs: MILTER_BENCH_MSGS, MILTER_BENCH_PAIRS.
set -eu
T=$W
MSSCTL="$BUILD/mssctl"
cleanup_hooks=""
at_exit() { cleanup_hooks="$1; $cleanup_hooks"; }
trap 'eval "$cleanup_hooks"' EXIT
fail() {
	echo "bench milter: $*" >&2
	exit 1
}
write_conf() {
	{
		echo "[directory]"
		cat
	} >"$1"
}
[ "$(id -u)" -eq 0 ] || fail "needs root (a private Postfix)"
MSGS=${MILTER_BENCH_MSGS:-2000}
PAIRS=${MILTER_BENCH_PAIRS:-7}
. "$SRC/tests/integration/milter/lib.sh"
. "$SRC/tests/integration/milter/postfix.sh"

milter_world "$W/world"
pki_make "$W/pki"
sink_start "$W/sink"
milter_conf "$W/batch.conf" <<'EOF'
[audit]
sync = batch
EOF
sed -i '/^sync = none$/d' "$W/batch.conf"
sed 's/^sync = batch$/sync = always/' "$W/batch.conf" >"$W/always.conf"
cp "$W/batch.conf" "$W/m.conf"
milter_start "$W/m.conf" "$W/milter.log"

postfix_start "$W/pf-milter" "unix:$MILTER_SOCK"
tls_wrap "$PF_SMTPS_PORT" "$PKI/op-valmont.crt" "$PKI/op-valmont.key"
WITH_DIR=$PF_DIR WITH_PORT=$WRAP_PORT
postfix_start "$W/pf-plain" ""
tls_wrap "$PF_SMTPS_PORT" "$PKI/op-valmont.crt" "$PKI/op-valmont.key"
PLAIN_DIR=$PF_DIR PLAIN_PORT=$WRAP_PORT

cat >"$W/message" <<'EOF'
From: dr.x@ch-valmont.mssante.fr
To: jean.martin@hopital-test.mssante.fr
Subject: bench
X-MSS-NIL: BENCH 1.0

Compte rendu de consultation (bench): a few lines of text, as a short clinical letter would have.
Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore
et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut
aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse
cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in
culpa qui officia deserunt mollit anim id est laborum.
EOF

now() { date +%s.%N; }
accepts() {
	[ -f "$MILTER_AUDIT/milter.log" ] || { echo 0; return; }
	grep -c '"decision":"accept"' "$MILTER_AUDIT/milter.log" || true
}

# one DIR PORT SESSIONS MESSAGES -> messages/s on stdout
one() {
	_t0=$(now)
	smtp-source -s "$3" -m "$4" -d -M mss.ch-valmont.fr -f dr.x@ch-valmont.mssante.fr \
		-t jean.martin@hopital-test.mssante.fr -F "$W/message" "127.0.0.1:$2" >"$W/source.out" 2>&1 ||
		{ cat "$W/source.out" >&2; fail "smtp-source failed"; }
	PF_DIR=$1
	postfix_wait_empty 300 || fail "queue of $1 did not drain"
	python3 -c 'import sys; print("%.1f" % (int(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2]))))' \
		"$4" "$_t0" "$(now)"
}

# pairs SESSIONS MESSAGES -> "ratio median_with"; the milter must have accepted every message.
pairs() {
	: >"$W/pairs"
	for _i in $(seq "$PAIRS"); do
		_before=$(accepts)
		# Each pair in the other order than the one before: a drift of the machine (page
		# cache, journal, steal time) does not always fall on the same side.
		if [ $((_i % 2)) -eq 1 ]; then
			_base=$(one "$PLAIN_DIR" "$PLAIN_PORT" "$1" "$2")
			_with=$(one "$WITH_DIR" "$WITH_PORT" "$1" "$2")
		else
			_with=$(one "$WITH_DIR" "$WITH_PORT" "$1" "$2")
			_base=$(one "$PLAIN_DIR" "$PLAIN_PORT" "$1" "$2")
		fi
		[ $(($(accepts) - _before)) -eq "$2" ] || fail "the milter did not accept every message"
		echo "$_base $_with" >>"$W/pairs"
		echo "bench milter: pair $_i ($1 sessions, $2 messages): without $_base msg/s, with $_with msg/s" >&2
	done
	python3 - "$W/pairs" <<'PY'
import statistics, sys
pairs = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
print("%.3f %.1f" % (statistics.median(w / b for b, w in pairs), statistics.median(w for _, w in pairs)))
PY
}

reload() { # CONF: switch the milter's configuration with SIGHUP
	cp "$1" "$W/m.conf"
	_n=$(grep -c "reloaded" "$W/milter.log" || true)
	kill -HUP "$MILTER_PID"
	_k=0
	until [ "$(grep -c "reloaded" "$W/milter.log" || true)" -gt "$_n" ]; do
		_k=$((_k + 1))
		[ $_k -lt 200 ] || fail "the milter did not reload"
		sleep 0.05
	done
}

# Warm-up (processes spawned, TLS caches, page cache), not measured.
one "$PLAIN_DIR" "$PLAIN_PORT" 10 200 >/dev/null
one "$WITH_DIR" "$WITH_PORT" 10 200 >/dev/null

set -- $(pairs 10 "$MSGS")
ratio=$1 rate=$2
reload "$W/always.conf"
set -- $(pairs 10 "$MSGS")
durable=$1
reload "$W/batch.conf"
set -- $(pairs 1 300)
single=$1

"$MSSCTL" audit verify "$MILTER_AUDIT/milter.log" >/dev/null || fail "the audit trail does not verify"
echo "bench: milter_ratio = $ratio ratio"
echo "bench: milter_ratio_durable = $durable ratio"
echo "bench: milter_single_session_ratio = $single ratio"
echo "bench: milter_msgs_per_s = $rate msg/s"
