#!/bin/sh
# `make demo` end to end (demo/run.sh: slapd, mss-milter, Dovecot with the plugin and NSS/PAM
# in a mount namespace, two Postfix instances, the six-step scenario), run twice (the second
# run stops the first), then `make demo-stop`: exit 0 and the summary each time, every
# process the demo started gone, its ports closed, the machine's nsswitch.conf, pam.d and
# ld.so.cache untouched; `make demo-stop` once more is harmless. Needs root.
set -eu
. "$(dirname "$0")/lib/common.sh"
[ "$(id -u)" -eq 0 ] || fail "make demo starts Postfix and Dovecot as root: run this test as root"

# The demo under the test's directory, reachable by the postfix, dovecot and BAL users.
chmod 0711 "$T"
MSS_DEMO_DIR=$T/demo
export MSS_DEMO_DIR
DEMO_DIR_NOTE="$BUILD/.demo-dir"
[ -f "$DEMO_DIR_NOTE" ] && cp "$DEMO_DIR_NOTE" "$T/demo-dir.saved"
MAKE="make --no-print-directory -C $SRC BUILD=$BUILD"
# Until the top-level Makefile includes demo/*.mk, name the fragment.
grep -q 'demo/\*\.mk' "$SRC/Makefile" || MAKE="$MAKE -f Makefile -f demo/demo.mk"
at_exit "$MAKE demo-stop >/dev/null 2>&1 || true; if [ -f '$T/demo-dir.saved' ]; then cp '$T/demo-dir.saved' '$DEMO_DIR_NOTE'; else rm -f '$DEMO_DIR_NOTE'; fi"

# What must not change on the machine.
machine_files() {
	{
		sha256sum /etc/nsswitch.conf /etc/ld.so.cache
		[ -f /var/cache/ldconfig/aux-cache ] && sha256sum /var/cache/ldconfig/aux-cache
		find /etc/pam.d -type f -exec sha256sum {} + | sort
	} 2>&1
}
machine_files >"$T/machine.before"

# demo_ran: the last output is a complete, successful demo.
demo_ran() {
	out_has "demo: 6/6 steps behaved as expected"
	for s in "1 peer operator -> organisational BAL          OK       as expected" \
		"2 sender domain off the trust list             REFUSED  as expected" \
		"3 submission to a recipient outside the space  REFUSED  as expected" \
		"4 delegate reads the organisational BAL (IMAP) OK       as expected" \
		"5 audit trail: chains and monthly report       OK       as expected" \
		"6 mssctl check of the demo's wiring            OK       as expected"; do
		out_has "  $s"
	done
	out_lacks "UNEXPECTED"
}

# ---- first run ----
t0=$(date +%s)
run 0 $MAKE demo
elapsed=$(($(date +%s) - t0))
[ "$elapsed" -lt 600 ] || fail "make demo took $elapsed s (at most 10 minutes)"
demo_ran
out_has "status=sent (250 2.0.0 <cardiologie@hopital-test.mssante.fr>"
out_has "mss-milter audit record: decision=accept service=inbound tls.peer_cn=mss.ch-valmont.fr"
out_has "RCPT TO:<cardiologie@hopital-test.mssante.fr> -> 550 5.7.1 <secretariat@clinique-hors-liste.fr>: domain not in the MSSante trust space"
out_has "AUTH PLAIN jean.martin@hopital-test.mssante.fr -> 235 "
out_has "RCPT TO:<ami@gmail.com> -> 550 5.7.1 <ami@gmail.com>: domain not in the MSSante trust space"
out_has "Dovecot plugin audit record: event=read bal=cardiologie@hopital-test.mssante.fr bal_type=ORG actor=810003461033 method=master"
out_has "Dovecot plugin audit record: event=login decision=deny reason=not_delegate actor=0751001234"
out_has "chain intact"
out_has "everything wired"
out_has "outside: getent passwd cardiologie@hopital-test.mssante.fr -> not found"
ok "make demo: the six steps behave as expected, in $elapsed s"

# Independently of the demo's own story: the message is in the BAL's maildir, owned by the
# BAL's uid, and the milter's trail holds the accept.
f=$(grep -rlF "Subject: Compte rendu de consultation (fictif)" "$MSS_DEMO_DIR/vmail/hopital-test.mssante.fr/cardiologie/Maildir" |
	head -n 1)
[ -n "$f" ] || fail "the peer's message is not in cardiologie's maildir"
uid=$("$MSSCTL" lookup --snapshot "$MSS_DEMO_DIR/var/snapshot.cdb" --json bal cardiologie@hopital-test.mssante.fr |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["uid"])')
[ "$(stat -c %u "$f")" = "$uid" ] || fail "the maildir file is owned by $(stat -c %u "$f"), not the BAL's uid $uid"
run 0 "$MSSCTL" audit verify "$MSS_DEMO_DIR/audit/milter.log"
ok "the message sits in cardiologie's maildir, owned by the BAL's uid $uid; the milter's chain verifies"

# The servers keep running after make demo, each recorded with its start time.
cp "$MSS_DEMO_DIR/state/pids" "$T/pids.first"
[ "$(wc -l <"$T/pids.first")" -eq 5 ] || fail "expected 5 recorded servers: $(cat "$T/pids.first")"
while read -r name pid start; do
	[ "$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f20)" = "$start" ] ||
		fail "$name (pid $pid) is not running after make demo"
done <"$T/pids.first"
ok "after make demo the five servers run: $(awk '{printf "%s ", $1}' "$T/pids.first")"

# gone PIDS_FILE: none of the recorded processes runs (same PID and start time; a zombie
# has exited, only its parent has not collected it yet).
gone() {
	while read -r name pid start; do
		if [ "$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f20)" = "$start" ] &&
			[ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" != Z ]; then
			fail "$name (pid $pid) still runs"
		fi
	done <"$1"
}

# ---- second run: stops the first, starts afresh ----
run 0 $MAKE demo
demo_ran
gone "$T/pids.first"
ok "make demo again: the previous demo is stopped first, the new one behaves the same"

# ---- make demo-stop ----
cp "$MSS_DEMO_DIR/state/pids" "$T/pids.second"
tag=$(cat "$MSS_DEMO_DIR/state/tag")
mntns=$(cat "$MSS_DEMO_DIR/state/mntns")
. "$MSS_DEMO_DIR/state/ports"
run 0 $MAKE demo-stop
out_has "nothing of the demo under $MSS_DEMO_DIR is running any more"
gone "$T/pids.second"
# Nothing anywhere that belongs to the demo: tagged, in its mount namespace, running from its
# directory or with it on the command line.
python3 - "$tag" "$mntns" "$MSS_DEMO_DIR" <<'PY' || fail "processes of the demo survived make demo-stop"
import os, sys
tag, mntns, d = sys.argv[1:4]
left = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    if int(pid) in (os.getpid(), os.getppid()):
        continue
    try:
        env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode("utf-8", "replace")
        ns = os.readlink(f"/proc/{pid}/ns/mnt")
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        continue
    if f"MSS_DEMO_TAG={tag}".encode() in env or ns == mntns or d in cmd or cwd.startswith(d):
        left.append(f"{pid} {cmd}")
for l in left:
    print("left:", l, file=sys.stderr)
sys.exit(1 if left else 0)
PY
for p in $IN_PORT $SUB_PORT $PEER_PORT $IMAP_PORT; do
	[ -z "$(ss -Htln "sport = :$p")" ] || fail "port $p still listens"
done
ok "make demo-stop: every process of the demo gone (by PID, tag, namespace, command line), its ports closed"

run 0 $MAKE demo-stop
out_has "nothing to stop"
ok "make demo-stop once more: harmless"

machine_files >"$T/machine.after"
diff "$T/machine.before" "$T/machine.after" >&2 || fail "the machine's nsswitch.conf, pam.d or ld.so cache changed"
ok "the machine's /etc/nsswitch.conf, /etc/pam.d and ld.so caches are unchanged"
echo "$checks checks passed"
