#!/bin/sh
# lib90_mssante_plugin.so in a real, private Dovecot 2.3: the BAL access policy (PER holder,
# ORG delegates through master-user logins, APP through TLS client certificates, suspended
# BALs and people), delegate rights, and the hash-chained access trace, driven over IMAP and
# IMAPS with python3's imaplib. The directory snapshot comes from `mssctl sync` against a
# private slapd holding tests/fixtures/hopital.ldif.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/slapd.sh"
. "$(dirname "$0")/dovecot/lib.sh"

[ -f "$BUILD/lib90_mssante_plugin.so" ] || make -s -C "$SRC" "BUILD=$BUILD" "$BUILD/lib90_mssante_plugin.so" >/dev/null
[ -x "$MSSCTL" ] || make -s -C "$SRC" "BUILD=$BUILD" "$MSSCTL" >/dev/null

W=$T/w
D=$T/dc
dovecot_world "$W" || fail "could not build the test world (slapd, sync, PKI)"
at_exit slapd_stop
dovecot_prepare "$D" "$W"
dovecot_start "$D" || fail "dovecot did not start"
at_exit dovecot_stop
ok "Dovecot $(dovecot --version | cut -d' ' -f1) started with mail_plugins = notify mssante"

AUDIT=$W/audit/dovecot.log
LOG=$D/dovecot.log
IMAP="python3 $SRC/tests/integration/dovecot/imap.py --port $DOVECOT_PORT"
IMAPS="python3 $SRC/tests/integration/dovecot/imap.py --tls-port $DOVECOT_TLS_PORT --ca $W/pki/igc-sante-org.pem"
audit() { python3 "$SRC/tests/integration/dovecot/audit_check.py" "$AUDIT" "$@"; }
# log_has TEXT: Dovecot's log holds TEXT (the reason a refusal gives).
log_has() { grep -qF -- "$1" "$LOG" || { tail -n 20 "$LOG" >&2; fail "dovecot log lacks '$1'"; }; }
# refused [TEXT]: the login was accepted by the passdb, then the plugin ended the session with
# its reason in the client's BYE (lib95_imap_mssante_plugin.so), TEXT included when given.
refused() {
	out_has "login: bye"
	out_has "[AUTHORIZATIONFAILED] mssante: access to BAL"
	[ $# -eq 0 ] || out_has "$1"
	out_lacks "Internal error"
}

JEAN=810003461033
SOPHIE=810100000017
TMOREAU=810100000041
PBERNARD=810100000025

# --- PER: the holder, and only the holder ---
run 0 $IMAP --user "jean.martin@$H" --password pw-jean select INBOX append INBOX fetch 1 list
audit has event=login decision=allow bal="jean.martin@$H" bal_type=PER actor=$JEAN method=password service=imap ||
	fail "no login record for the holder"
audit has event=read bal="jean.martin@$H" actor=$JEAN mailbox=INBOX uid=1 message_id="<test-1@$H>" ||
	fail "no read record"
audit has event=append bal="jean.martin@$H" actor=$JEAN uid=1 || fail "no append record"
ok "PER: the holder logs in, reads and appends; login, append and read traced with uid and Message-ID"

[ "$(audit count event=flag bal="jean.martin@$H")" = 0 ] ||
	fail "the \Seen set by FETCH BODY[] got a flag record of its own (it is part of the read)"
run 0 $IMAP --user "jean.martin@$H" --password pw-jean select INBOX append INBOX store 2 '\Seen' fetch 2 create Patients
audit has event=flag bal="jean.martin@$H" uid=2 reason='() -> (\Seen)' message_id='<test-1@hopital-test.mssante.fr>' || fail "an explicit STORE \Seen not traced"
[ "$(audit count event=read bal="jean.martin@$H" uid=2)" = 1 ] || fail "the read of uid 2 not traced once"
ok "PER: the \Seen that FETCH BODY[] sets is part of the read record; an explicit STORE +FLAGS (\Seen) is a flag record"

# The Message-ID comes from the first block of the message's stream; a header longer than
# that block (here 40 KB of Received lines before it) takes Dovecot's own lookup.
python3 - "$DOVECOT_PORT" "jean.martin@$H" >"$T/out" 2>&1 <<'PY' || { cat "$T/out" >&2; fail "long header session"; }
import imaplib, sys
imap = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=30)
imap.login(sys.argv[2], "pw-jean")
received = "".join("Received: from relay%d.example.org by mx.example.org; Mon, 23 Nov 2026 10:00:00 +0100\r\n" % i for i in range(450))
for mid, hdr in (("<long-header@test>", received), ("<short-header@test>", "")):
    msg = hdr + "From: a@b.fr\r\nSubject: s\r\nMessage-ID: " + mid + "\r\n\r\nbody\r\n"
    typ, data = imap.append("INBOX", None, None, msg.encode())
    assert typ == "OK", data
imap.select("INBOX")
for mid in ("<long-header@test>", "<short-header@test>"):
    typ, data = imap.uid("SEARCH", None, "HEADER", "Message-ID", mid)
    uid = data[0].split()[-1].decode()
    typ, data = imap.uid("FETCH", uid, "(BODY[])")
    assert typ == "OK" and mid.encode() in data[0][1], data
    print("read", mid, "uid", uid)
imap.logout()
PY
for mid in "<long-header@test>" "<short-header@test>"; do
	uid=$(sed -n "s/^read $mid uid //p" "$T/out")
	audit has event=read bal="jean.martin@$H" uid="$uid" message_id="$mid" || fail "read of uid $uid lacks Message-ID $mid"
done
ok "PER: the read record's Message-ID, from the first block of the stream or, past 40 KB of header, from Dovecot"

# Reads queued by one command are written once it has returned (16 or more: at once, 64 or
# more: by the command itself), while the session goes on: counted with the session still open.
python3 - "$DOVECOT_PORT" "jean.martin@$H" "$AUDIT" >"$T/out" 2>&1 <<'PY' || { cat "$T/out" >&2; fail "bulk FETCH session"; }
import imaplib, json, sys, time
port, user, audit = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def reads_in_trail():
    with open(audit, encoding="utf-8") as f:
        return sum(1 for line in f if (lambda r: r["event"] == "read" and r.get("mailbox") == "Bulk")(json.loads(line)))

imap = imaplib.IMAP4("127.0.0.1", port, timeout=30)
imap.login(user, "pw-jean")
assert imap.create("Bulk")[0] == "OK"
for i in range(70):
    msg = "From: a@b.fr\r\nSubject: s\r\nMessage-ID: <bulk-%d@test>\r\n\r\nbody\r\n" % i
    assert imap.append("Bulk", None, None, msg.encode())[0] == "OK"
assert imap.select("Bulk")[0] == "OK"
for first, last in ((1, 20), (21, 70)):
    typ, data = imap.uid("FETCH", "%d:%d" % (first, last), "(BODY[])")
    assert typ == "OK" and len([d for d in data if isinstance(d, tuple)]) == last - first + 1, (typ, data)
    time.sleep(0.3)
    print("after FETCH %d:%d, session open: %d reads in the trail" % (first, last, reads_in_trail()))
imap.logout()
PY
out_has "after FETCH 1:20, session open: 20 reads in the trail"
out_has "after FETCH 21:70, session open: 70 reads in the trail"
ok "PER: the reads of a FETCH of 20 and of 50 messages are in the trail right after the command, the session still open"

run 1 $IMAP --user "jean.martin@$H*sophie.durand@$H" --password pw-sophie select INBOX
refused "refused for idNat_PS $SOPHIE (master login): a personal BAL is open to its holder only"
log_has "access to BAL jean.martin@$H refused for idNat_PS $SOPHIE (master login): a personal BAL is open to its holder only"
audit has event=login decision=deny reason=not_owner bal="jean.martin@$H" actor=$SOPHIE method=master ||
	fail "refusal not traced"
ok "PER: another person (master-user login) refused: the reason in the client's BYE [AUTHORIZATIONFAILED], the log and the trail"

# Commands pipelined after LOGIN run before that BYE: they find every folder closed.
python3 - "$DOVECOT_PORT" "jean.martin@$H*sophie.durand@$H" pw-sophie >"$T/out" 2>&1 <<'PY' ||
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.recv(4096)
s.sendall(b'a LOGIN "%s" "%s"\r\nb SELECT INBOX\r\nc LIST "" "*"\r\nd CREATE Dossier\r\n' % (sys.argv[2].encode(), sys.argv[3].encode()))
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.decode("utf-8", "replace"))
PY
	fail "pipelined session"
out_has "b NO [NOPERM] mssante: access to BAL jean.martin@$H refused"
out_lacks 'Patients' # INBOX itself is listed by Dovecot's IMAP layer, not by the folder list
out_has "d NO [NOPERM] mssante:"
out_has "* BYE [AUTHORIZATIONFAILED] mssante: access to BAL jean.martin@$H refused for idNat_PS $SOPHIE"
[ ! -d "$D/mail/$H/jean.martin/.Dossier" ] || fail "a refused session created a folder"
ok "PER: commands pipelined after a refused LOGIN open, list and create nothing, then the BYE with the reason"

# --- ORG: delegates, each action under the delegate's idNat_PS ---
run 0 $IMAP --user "cardiologie@$H*sophie.durand@$H" --password pw-sophie select INBOX append INBOX append INBOX \
	fetch 1 store 1 '\Flagged' create Archive copy 1 Archive move 2 Archive store 1 '\Deleted' expunge \
	rename Archive Ancien delete Ancien
for ev in login append read flag mailbox_create copy move expunge mailbox_rename mailbox_delete; do
	audit has event=$ev bal="cardiologie@$H" bal_type=ORG actor=$SOPHIE method=master auth_user="sophie.durand@$H" ||
		fail "delegate's $ev not traced with her idNat_PS"
done
audit has event=move mailbox="INBOX -> Archive" uid=2 actor=$SOPHIE || fail "move record lacks its folders"
audit has event=flag actor=$SOPHIE uid=1 reason='(\Seen) -> (\Flagged \Seen)' || fail "flag record lacks the flags"
[ "$(audit count event=expunge bal="cardiologie@$H" mailbox=INBOX uid=2)" = 0 ] ||
	fail "the expunge ending a MOVE was traced as an expunge"
audit has event=expunge bal="cardiologie@$H" mailbox=INBOX uid=1 actor=$SOPHIE || fail "EXPUNGE not traced"
ok "ORG: a delegate (BAL*address) works; login, append, read, flag, copy, move, expunge, folder create/rename/delete traced with her idNat_PS"

run 0 $IMAP --user "cardiologie@$H*$TMOREAU" --password pw-tmoreau select INBOX append INBOX fetch 3
audit has event=read bal="cardiologie@$H" actor=$TMOREAU auth_user=$TMOREAU || fail "read by idNat master not traced"
ok "ORG: a delegate with no BAL of his own logs in as BAL*idNat_PS"

run 1 $IMAP --user "cardiologie@$H*$PBERNARD" --password pw-pbernard select INBOX
refused
log_has "refused for idNat_PS $PBERNARD (master login): this person is not a delegate of this organisational BAL"
audit has event=login decision=deny reason=not_delegate bal="cardiologie@$H" actor=$PBERNARD || fail "not traced"
ok "ORG: a person who is not a delegate refused"

run 1 $IMAP --user "cardiologie@$H" --password pw-cardiologie select INBOX
refused
log_has "an organisational BAL is opened by its delegates"
ok "ORG: the BAL's own password opens nothing (no person to trace)"

# --- delegate rights: urgences gets read,flag,move,append through a userdb field ---
run 1 $IMAP --user "urgences@$H*$PBERNARD" --password pw-pbernard select INBOX append INBOX store 1 '\Deleted' \
	expunge peek 1
out_has "expunge: no [CANNOT] mssante: 'expunge' is not among the rights of a delegate on ORG BAL urgences@$H"
out_has "peek: ok"
audit has event=denied decision=deny reason=no_expunge_right bal="urgences@$H" actor=$PBERNARD uid=1 ||
	fail "refused expunge not traced"
[ "$(audit count event=expunge bal="urgences@$H")" = 0 ] || fail "an expunge happened"
ok "rights: a delegate without 'expunge' gets NO [CANNOT] with the reason, the message stays, the attempt is traced"

run 1 $IMAP --user "urgences@$H*$PBERNARD" --password pw-pbernard select INBOX create Dossier
out_has "create: no [NOPERM] mssante: 'mailbox' is not among the rights"
audit has event=denied reason=no_mailbox_right bal="urgences@$H" || fail "refused create not traced"
ok "rights: folder creation outside the delegate's rights refused (NO [NOPERM]) and traced"

# --- APP: the application's certificate, never a password ---
run 0 $IMAPS --cert "$W/pki/app-dpi.crt" --key "$W/pki/app-dpi.key" --external "dpi@$H" select INBOX append INBOX fetch 1
audit has event=login decision=allow bal="dpi@$H" bal_type=APP method=certificate auth_user=dpi.hopital-test.fr \
	actor=- || fail "certificate login not traced"
audit has event=read bal="dpi@$H" method=certificate actor=- || fail "application's read not traced"
ok "APP: the registered application's IGC-Santé certificate (AUTHENTICATE EXTERNAL) opens its BAL"

run 1 $IMAP --user "dpi@$H" --password pw-dpi select INBOX
refused
log_has "an applicative BAL is opened only with its application's TLS client certificate"
audit has event=login decision=deny reason=app_not_a_person bal="dpi@$H" method=password || fail "not traced"
ok "APP: a password login refused"

run 1 $IMAPS --source 127.0.0.2 --cert "$W/pki/op-valmont.crt" --key "$W/pki/op-valmont.key" --external "dpi@$H" \
	select INBOX
refused
audit has event=login decision=deny reason=wrong_app bal="dpi@$H" auth_user=mss.ch-valmont.fr || fail "not traced"
ok "APP: another IGC-Santé certificate refused (not the registered application)"

run 1 $IMAPS --source 127.0.0.3 --cert "$W/pki/op-valmont-foreign.crt" --key "$W/pki/op-valmont-foreign.key" \
	--external "dpi@$H" select INBOX
out_has "login: no"
ok "APP: a certificate from a CA outside IGC-Santé does not even authenticate"

run 1 $IMAPS --cert "$W/pki/app-dpi.crt" --key "$W/pki/app-dpi.key" --external "cardiologie@$H" select INBOX
refused
audit has event=login decision=deny reason=not_an_app bal="cardiologie@$H" || fail "not traced"
ok "APP: an application certificate cannot open an organisational BAL"

# --- suspended ---
run 1 $IMAP --user "ancien-service@$H*$PBERNARD" --password pw-pbernard select INBOX
refused
audit has event=login decision=deny reason=suspended_bal bal="ancien-service@$H" actor=$PBERNARD || fail "not traced"
ok "suspended BAL refused, even to its delegate"

run 1 $IMAP --user "alice.leroy@$H" --password pw-alice select INBOX
refused
audit has event=login decision=deny reason=suspended_person bal="alice.leroy@$H" actor=810100000033 ||
	fail "not traced"
ok "suspended person refused on her own PER BAL"

# --- without the IMAP companion: still refused (Dovecot's own BYE), reason in log and trail ---
! grep -E "Panic|Fatal|killed with signal|assertion failed" "$LOG" || fail "Dovecot crashed or panicked"
dovecot_stop
DOVECOT_IMAP_PLUGINS="" dovecot_prepare "$T/dc2" "$W"
dovecot_start "$T/dc2" || fail "the second dovecot did not start"
run 1 python3 "$SRC/tests/integration/dovecot/imap.py" --port "$DOVECOT_PORT" --user "cardiologie@$H*$PBERNARD" \
	--password pw-pbernard select INBOX
out_has "login: bye"
out_has "Internal error"
grep -qF "refused for idNat_PS $PBERNARD (master login): this person is not a delegate" "$T/dc2/dovecot.log" ||
	fail "reason not in the log"
n=$(audit count event=login decision=deny reason=not_delegate bal="cardiologie@$H" actor=$PBERNARD)
[ "$n" = 2 ] ||
	fail "second refusal not traced ($n records)"
ok "without imap_mssante (mail plugin alone): the login still fails closed, Dovecot's BYE, the reason in log and trail"

# --- the trail itself ---
audit lacks "compte rendu" || fail "a subject reached the audit trail"
audit lacks "Corps du message" || fail "a message body reached the audit trail"
audit lacks "pw-" || fail "a password reached the audit trail"
ok "no subject, body or password in the trail"

audit verify >"$T/out" 2>&1 || { cat "$T/out" >&2; fail "audit chain"; }
"$MSSCTL" audit verify "$AUDIT" >"$T/verify.out" 2>&1 || { cat "$T/verify.out" >&2; fail "mssctl audit verify rejects the Dovecot trail"; }
ok "audit chain verifies (mssctl audit verify and an independent check): $(cat "$T/out")"

# A tampered record breaks the chain.
cp "$AUDIT" "$T/tampered.log"
sed -i '3s/"decision":"[a-z]*"/"decision":"forged"/' "$T/tampered.log"
python3 "$SRC/tests/integration/dovecot/audit_check.py" "$T/tampered.log" verify >/dev/null 2>&1 &&
	fail "a modified record went unnoticed"
ok "a modified record breaks the chain"
# --- the trail refuses records (audit_sync = batch: written in groups within 10 ms) ---
# Mid-session the log's path becomes a directory: the read already answered waits in memory
# and is written first once the path is free. While the trail still refuses, the next read
# fails closed (Dovecot ends the session on a failed FETCH), and the record it never took goes
# to Dovecot's error log. (The second Dovecot, the one now running.)
LOG=$T/dc2/dovecot.log
python3 - "$DOVECOT_PORT" "jean.martin@$H" "$AUDIT" "$LOG" >"$T/out" 2>&1 <<'PY' || { cat "$T/out" >&2; grep -F mssante "$LOG" | tail -n 12 >&2; fail "sessions with the trail refusing records"; }
import imaplib, os, sys, time
port, user, audit, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def session():
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    imap.login(user, "pw-jean")
    assert imap.select("INBOX")[0] == "OK"
    return imap

imap = session()
for i in (1, 2):
    msg = "From: a@b.fr\r\nSubject: s\r\nMessage-ID: <trail-%d@test>\r\n\r\nbody\r\n" % i
    assert imap.append("INBOX", None, None, msg.encode())[0] == "OK"
imap.noop()
uids = imap.uid("SEARCH", "ALL")[1][0].split()
assert len(uids) >= 2, uids
u1, u2 = uids[0].decode(), uids[1].decode()
print("uids", u1, u2)
os.rename(audit, audit + ".1")
os.mkdir(audit)
typ, data = imap.uid("FETCH", u1, "(BODY[])")
print("fetch 1 (trail refusing, record queued):", typ, isinstance(data[0], tuple))
time.sleep(0.3)  # the queue is written (and here refused) 10 ms later
os.rmdir(audit)
print("fetch 2 (trail back):", imap.uid("FETCH", u2, "(BODY[])")[0])
imap.logout()

imap = session()
os.rename(audit, audit + ".2")
os.mkdir(audit)
typ, data = imap.uid("FETCH", u2, "(BODY[])")
print("fetch 2 again (trail refusing):", typ, isinstance(data[0], tuple))
time.sleep(0.4)
try:
    typ, data = imap.uid("FETCH", u1, "(BODY[])")
    print("fetch 1 again:", typ, data)
except imap.abort as e:
    print("fetch 1 again (still refusing): session ended:", e)
# The session's end is where the waiting record goes to the log: wait for it, trail refusing.
for _ in range(200):
    if "audit record lost from the trail" in open(log, encoding="utf-8", errors="replace").read():
        break
    time.sleep(0.05)
os.rmdir(audit)
PY
out_has "fetch 1 (trail refusing, record queued): OK True"
out_has "fetch 2 (trail back): OK"
out_has "fetch 2 again (trail refusing): OK True"
out_has "fetch 1 again (still refusing): session ended:"
out_has "FETCH failed: mssante: the access trace cannot be written; try again later"
log_has "audit records wait in memory, the trail refuses them"
set -- $(sed -n 's/^uids //p' "$T/out")
U1=$1 U2=$2
for uid in $U1 $U2; do
	python3 "$SRC/tests/integration/dovecot/audit_check.py" "$AUDIT.2" has event=read bal="jean.martin@$H" uid=$uid ||
		fail "read of uid $uid (answered while the trail refused, or just after) not in the trail"
done
grep -F "audit record lost from the trail, kept here:" "$LOG" | grep -F '"event":"read"' | grep -F "\"uid\":$U2" |
	grep -qF "\"bal\":\"jean.martin@$H\"" || { tail -n 5 "$LOG" >&2; fail "the record the trail never took is not in Dovecot's log"; }
run 0 python3 "$SRC/tests/integration/dovecot/imap.py" --port "$DOVECOT_PORT" --user "jean.martin@$H" \
	--password pw-jean select INBOX
"$MSSCTL" audit verify "$AUDIT.1" "$AUDIT.2" "$AUDIT" >"$T/verify.out" 2>&1 || { cat "$T/verify.out" >&2; fail "the rotated series does not verify"; }
ok "trail refusing records: an answered read waits and is written when the trail is back; while it refuses, the next read fails closed and the record it never took is in Dovecot's log; the series verifies"


! grep -E "Panic|Fatal|killed with signal|assertion failed" "$LOG" || fail "Dovecot crashed or panicked"
ok "no crash, panic or failed assertion in Dovecot's log"
echo "$checks checks passed"
