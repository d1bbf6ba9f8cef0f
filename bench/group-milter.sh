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
#   milter_single_session_ratio  1 session, 300 messages (catches per-message stalls), median of
#                                15 rounds (MILTER_BENCH_SINGLE_PAIRS): a run lasts about a
#                                second, as long as the machine's slow spells
#   milter_msgs_per_s            messages/s through Postfix with the milter (10 sessions, batch)
#   milter_floor_ratio           the same as milter_ratio for bench/floor-milter, a third
#                                Postfix instance in the same rounds (each round runs the three
#                                instances, in a rotating order): libmilter with mss-milter's
#                                negotiation and callbacks that accept without looking. What
#                                separates it from milter_ratio is mss-milter's own work; what
#                                separates it from 1 is the protocol, libmilter and Postfix.
#   milter_floor_single_session_ratio  the same for milter_single_session_ratio
# Needs root (Postfix). Knobs: MILTER_BENCH_MSGS, MILTER_BENCH_PAIRS, MILTER_BENCH_SINGLE_PAIRS.
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
SINGLE_PAIRS=${MILTER_BENCH_SINGLE_PAIRS:-15}
. "$SRC/tests/integration/milter/lib.sh"
. "$SRC/tests/integration/milter/postfix.sh"
make -s --no-print-directory -C "$SRC" "BUILD=$BUILD" "$BUILD/floor-milter" >/dev/null

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
"$BUILD/floor-milter" "unix:$W/floor.sock" >"$W/floor.log" 2>&1 &
FLOOR_PID=$!
at_exit "kill $FLOOR_PID 2>/dev/null || true"
_milter_wait "unix:$W/floor.sock" || { cat "$W/floor.log" >&2; fail "floor-milter did not listen"; }
postfix_start "$W/pf-floor" "unix:$W/floor.sock"
tls_wrap "$PF_SMTPS_PORT" "$PKI/op-valmont.crt" "$PKI/op-valmont.key"
FLOOR_DIR=$PF_DIR FLOOR_PORT=$WRAP_PORT

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

accepts() {
	[ -f "$MILTER_AUDIT/milter.log" ] || { echo 0; return; }
	grep -c '"decision":"accept"' "$MILTER_AUDIT/milter.log" || true
}

# one DIR PORT SESSIONS MESSAGES -> messages/s on stdout; the share of the machine's CPU time
# the hypervisor took (steal) during the run in $W/steal, for the round's line: this machine's
# throughput moves by a factor of two with it, and a round's ratio with it.
one() {
	# smtp-source, then the queue until it is empty (everything handed to the sink), looked at
	# every 5 ms: a run of one session lasts about a second, which a coarser wait would blur.
	python3 - "$1/queue" "$4" "$W/source.out" smtp-source -s "$3" -m "$4" -d -M mss.ch-valmont.fr \
		-f dr.x@ch-valmont.mssante.fr -t jean.martin@hopital-test.mssante.fr -F "$W/message" \
		"127.0.0.1:$2" <<'PY' || { cat "$W/source.out" >&2; fail "smtp-source failed or the queue of $1 did not drain"; }
import os, subprocess, sys, time
queue, n, out, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
def cpu_times():  # the "cpu" line of /proc/stat: (steal, total) in ticks
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v[7], sum(v)
s0 = cpu_times()
dirs = [os.path.join(queue, d) for d in ("incoming", "active", "deferred", "maildrop")]
def busy():
    return any(files for d in dirs for _, _, files in os.walk(d))
t0 = time.time()
with open(out, "wb") as f:
    if subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode != 0:
        sys.exit(1)
deadline = time.time() + 300
while busy():
    if time.time() > deadline:
        sys.exit(1)
    time.sleep(0.005)
print("%.1f" % (n / (time.time() - t0)))
s1 = cpu_times()
with open(os.path.join(os.path.dirname(out), "steal"), "w") as f:
    f.write("%.0f\n" % (100.0 * (s1[0] - s0[0]) / max(1, s1[1] - s0[1])))
PY
}

# pairs ROUNDS SESSIONS MESSAGES [floor] -> "ratio median_with [floor_ratio]"; the milter must
# have accepted every message. With "floor", each round runs the floor instance too.
pairs() {
	_rounds=$1
	shift
	: >"$W/pairs"
	for _i in $(seq "$_rounds"); do
		_before=$(accepts)
		# Each round in another order than the one before: a drift of the machine (page
		# cache, journal, steal time) does not always fall on the same instance.
		if [ "${3:-}" = floor ]; then
			case $((_i % 3)) in
			1) _order="plain with floor" ;;
			2) _order="with floor plain" ;;
			*) _order="floor plain with" ;;
			esac
		elif [ $((_i % 2)) -eq 1 ]; then
			_order="plain with"
		else
			_order="with plain"
		fi
		_floor=- _st_floor=-
		for _k in $_order; do
			case $_k in
			plain) _base=$(one "$PLAIN_DIR" "$PLAIN_PORT" "$1" "$2") _st_base=$(cat "$W/steal") ;;
			with) _with=$(one "$WITH_DIR" "$WITH_PORT" "$1" "$2") _st_with=$(cat "$W/steal") ;;
			floor) _floor=$(one "$FLOOR_DIR" "$FLOOR_PORT" "$1" "$2") _st_floor=$(cat "$W/steal") ;;
			esac
		done
		[ $(($(accepts) - _before)) -eq "$2" ] || fail "the milter did not accept every message"
		echo "$_base $_with $_floor" >>"$W/pairs"
		echo "bench milter: round $_i ($1 sessions, $2 messages): without $_base msg/s (steal $_st_base%), with $_with msg/s ($_st_with%), floor $_floor msg/s ($_st_floor%)" >&2
	done
	python3 - "$W/pairs" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
out = "%.3f %.1f" % (statistics.median(float(w) / float(b) for b, w, _ in rows), statistics.median(float(w) for _, w, _ in rows))
if rows[0][2] != "-":
    out += " %.3f" % statistics.median(float(f) / float(b) for b, _, f in rows)
print(out)
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
one "$FLOOR_DIR" "$FLOOR_PORT" 10 200 >/dev/null

set -- $(pairs "$PAIRS" 10 "$MSGS" floor)
ratio=$1 rate=$2 floor=$3
reload "$W/always.conf"
set -- $(pairs "$PAIRS" 10 "$MSGS")
durable=$1
reload "$W/batch.conf"
set -- $(pairs "$SINGLE_PAIRS" 1 300 floor)
single=$1 floor_single=$3

"$MSSCTL" audit verify "$MILTER_AUDIT/milter.log" >/dev/null || fail "the audit trail does not verify"
echo "bench: milter_ratio = $ratio ratio"
echo "bench: milter_ratio_durable = $durable ratio"
echo "bench: milter_single_session_ratio = $single ratio"
echo "bench: milter_msgs_per_s = $rate msg/s"
echo "bench: milter_floor_ratio = $floor ratio"
echo "bench: milter_floor_single_session_ratio = $floor_single ratio"
