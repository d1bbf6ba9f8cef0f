#!/bin/sh
# Bench group "dovecot": IMAP throughput with lib90_mssante_plugin.so loaded, divided by the
# same Dovecot without it, in the same run. Two private Dovecots (one with
# `mail_plugins = notify mssante` and imap_mssante for IMAP, one with none) serve copies of
# the same 1,000-message maildir; each round logs in as the PER holder on both, SELECTs INBOX
# and FETCHes BODY[] of every message one UID at a time (1,001 operations on each server), in
# chunks of 25 alternating between the two servers so that machine noise, which comes and goes
# within tens of ms here, hits both alike. With the plugin every FETCH is one "read" audit record.
#   imap_ratio         ops/s with the plugin / ops/s without, default
#                      settings: the read records with [dovecot] audit_sync = batch (written
#                      in groups of 16, right after the FETCH that completes one, or within
#                      10 ms; on disk within a second), the login record
#                      with [audit] sync = always
#                      The median over every chunk of the ratio of the two servers' times for
#                      the same 25 FETCHes, a few ms apart (440 pairs): steal and noise bursts
#                      here last tens of ms and hit one chunk of a pair, which the median sets
#                      aside. Each chunk holds one or two writes of 16 records, so none is set
#                      aside for carrying the plugin's own work (with groups rarer than chunks,
#                      the median would skip them). imap_ratio_rounds: the median of the
#                      rounds' ratios, for comparison.
#   imap_ratio_alike   the same rounds between two Dovecots that both run without the plugin:
#                      what the bench reads when there is no difference, its noise floor on
#                      this machine (1.000 on a quiet one; 0.98-1.03 from run to run when the
#                      hypervisor takes a fifth of the CPU)
#   imap_ratio_always  the same with [dovecot] audit_sync = always (one fdatasync per FETCH)
set -eu
. "$SRC/tests/integration/lib/common.sh"
. "$SRC/tests/integration/lib/slapd.sh"
. "$SRC/tests/integration/dovecot/lib.sh"

MESSAGES=${BENCH_DOVECOT_MESSAGES:-1000}
ROUNDS=${BENCH_DOVECOT_ROUNDS:-11}
make -s --no-print-directory -C "$SRC" "BUILD=$BUILD" "$BUILD/lib90_mssante_plugin.so" "$MSSCTL" >/dev/null

dovecot_world "$T/w" >/dev/null || { echo "bench: dovecot world setup failed" >&2; exit 1; }

fill() { # DIR: MESSAGES messages in jean.martin's INBOX
	python3 - "$1/mail/$H/jean.martin" "$MESSAGES" <<'PY'
import os, sys, time
root, n = sys.argv[1], int(sys.argv[2])
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(root, d), exist_ok=True)
body = ("Compte rendu de consultation, ligne de texte pour le bench.\r\n" * 40).encode()
now = int(time.time())
for i in range(1, n + 1):
    msg = (b"From: bench@hopital-test.mssante.fr\r\nTo: jean.martin@hopital-test.mssante.fr\r\n"
           b"Subject: bench %d\r\nMessage-ID: <bench-%d@hopital-test.mssante.fr>\r\n\r\n" % (i, i)) + body
    with open(os.path.join(root, "cur", "%d.M%dP1.bench,S=%d:2," % (now, i, len(msg))), "wb") as f:
        f.write(msg)
PY
	[ "$(id -u)" -eq 0 ] && chown -R "$DC_MAIL_USER" "$1/mail"
	true
}

start() { # NAME PLUGINS -> sets PORT_<NAME>, PID_<NAME>
	DOVECOT_PLUGINS=$2 dovecot_prepare "$T/$1" "$T/w"
	fill "$T/$1"
	dovecot_start "$T/$1" || { echo "bench: dovecot $1 did not start" >&2; exit 1; }
	# The servers on CPU 0, the client on CPU 1 (below): as with a client on another machine,
	# what a server does after answering overlaps with the client's turn, and the scheduler
	# cannot put both on one CPU for some rounds and not for others.
	[ "$(nproc)" -ge 2 ] && taskset -p -c 0 "$DOVECOT_PID" >/dev/null
	eval "PORT_$1=$DOVECOT_PORT PID_$1=$DOVECOT_PID"
	DOVECOT_PID=""
}
stop_all() {
	for p in ${PID_with:-} ${PID_without:-} ${PID_alike:-}; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}
at_exit stop_all

run_bench() { # LABEL [PORT_A PORT_B] -> prints the ratio lines (PORT_A: the one with the plugin)
	python3 - "${2:-$PORT_with}" "${3:-$PORT_without}" "$MESSAGES" "$ROUNDS" "$1" <<'PY'
import imaplib, os, sys, time
if os.cpu_count() >= 2:
    os.sched_setaffinity(0, {1})
port_with, port_without, n, rounds, label = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

CHUNK = 25  # FETCHes timed on one server before switching to the other
pair_ratios = []  # one per chunk: the same operations on both servers, a few ms apart

def session(port):
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=60)
    imap.login("jean.martin@hopital-test.mssante.fr", "pw-jean")
    return imap

def timed(imap, first, last):
    t0 = time.perf_counter()
    if first == 0:
        typ, _ = imap.select("INBOX")
        assert typ == "OK"
        first = 1
    for uid in range(first, last + 1):
        typ, data = imap.uid("FETCH", str(uid), "(BODY[])")
        assert typ == "OK" and isinstance(data[0], tuple), data
    return time.perf_counter() - t0

def one_round(r):
    """One round: a session on each server, the SELECT and the 1,000 FETCHes done in chunks of
    CHUNK operations alternating between them (which one goes first alternates too), so that
    the machine's noise, which comes and goes over tens of milliseconds, hits both alike.
    Returns (ops/s with, ops/s without)."""
    a, b = session(port_with), session(port_without)
    t = {port_with: 0.0, port_without: 0.0}
    bounds = [(0, CHUNK)] + [(i, min(i + CHUNK - 1, n)) for i in range(CHUNK + 1, n + 1, CHUNK)]
    for k, (first, last) in enumerate(bounds):
        order = [(a, port_with), (b, port_without)]
        if (k + r) % 2:
            order.reverse()
        dt = {}
        for imap, port in order:
            dt[port] = timed(imap, first, last)
            t[port] += dt[port]
        pair_ratios.append(dt[port_without] / dt[port_with])
    a.logout(); b.logout()
    return (n + 1) / t[port_with], (n + 1) / t[port_without]

# Warm-up (caches, index files, the \Seen flags set by the first FETCH BODY[], the Message-ID
# header that the plugin's first lookups add to dovecot.index.cache): two rounds.
for r in range(2):
    one_round(r)
def cpu_times():  # the "cpu" line of /proc/stat: (steal, total) in ticks
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v[7], sum(v)
best_with, best_without, ratios = [], [], []
pair_ratios.clear()
steal0 = cpu_times()
for r in range(rounds):
    w, wo = one_round(r)
    best_with.append(w)
    best_without.append(wo)
    ratios.append(w / wo)
steal1 = cpu_times()
# The share of the machine's CPU time the hypervisor took meanwhile: with it, this machine
# slows down by up to half, and the plugin's work done after each answer stops being hidden.
print("bench dovecot: steal %.0f%% of the CPU time during the rounds%s" %
      (100.0 * (steal1[0] - steal0[0]) / max(1, steal1[1] - steal0[1]), " (%s)" % label[1:] if label else ""),
      file=sys.stderr)
ratios.sort()
median = ratios[len(ratios) // 2]
pair_ratios.sort()
if label == "_alike":
    print("bench: imap_ratio_alike = %.3f ratio" % pair_ratios[len(pair_ratios) // 2])
    sys.exit(0)
print("bench: imap_ops_per_s_with_plugin%s = %.0f ops/s" % (label, sorted(best_with)[len(best_with) // 2]))
print("bench: imap_ops_per_s_without_plugin%s = %.0f ops/s" % (label, sorted(best_without)[len(best_without) // 2]))
print("bench: imap_ratio%s = %.3f ratio" % (label, pair_ratios[len(pair_ratios) // 2]))
print("bench: imap_ratio_rounds%s = %.3f ratio" % (label, median))
PY
}

start with "notify mssante"
start without ""
start alike ""
run_bench ""
run_bench "_alike" "$PORT_alike" "$PORT_without"
lines=$(wc -l <"$T/w/audit/dovecot.log")
echo "bench: imap_audit_records = $lines records"

# The same with every read record on disk before its answer (each login is a new imap process:
# it reads the change).
sed -i 's/^\[dovecot\]$/[dovecot]\naudit_sync = always/' "$T/w/mssante.conf"
grep -q '^audit_sync = always$' "$T/w/mssante.conf" || { echo "bench: could not set audit_sync" >&2; exit 1; }
run_bench "_always"
