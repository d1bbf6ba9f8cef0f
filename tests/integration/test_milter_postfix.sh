#!/bin/sh
# mss-milter behind a real Postfix: a private instance (config, queue and log under a temp
# dir, 127.0.0.1 high ports), the test IGC-Santé PKI, a private Dovecot for SMTP AUTH, swaks as
# the client (with client certificates), smtp-sink capturing what Postfix delivers.
# Needs root: Postfix's master starts as root.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$SRC/tests/integration/milter/lib.sh"
. "$SRC/tests/integration/milter/postfix.sh"
[ "$(id -u)" -eq 0 ] || fail "this test starts a private Postfix: run it as root"

milter_world "$T/world"
WORLD=$MILTER_SNAPSHOT
pki_make "$T/pki"
sink_start "$T/sink"
dovecot_auth_start "$T/dovecot" <<'EOF'
jean.martin@hopital-test.mssante.fr Martin-2024!
810100000041 motdepasse-tmoreau
EOF
milter_conf "$T/m.conf" </dev/null
milter_start "$T/m.conf"
postfix_start "$T/postfix" "unix:$MILTER_SOCK"

seq=0
# inbound [swaks args]: a message to our inbound listener over STARTTLS with op-valmont's
# certificate, from dr.x@ch-valmont.mssante.fr to jean.martin@ unless the args say otherwise.
inbound() {
	seq=$((seq + 1))
	swaks --server 127.0.0.1 --port "$PF_IN_PORT" --ehlo mss.ch-valmont.fr --tls \
		--tls-cert "$PKI/op-valmont.crt" --tls-key "$PKI/op-valmont.key" \
		--from dr.x@ch-valmont.mssante.fr --to jean.martin@hopital-test.mssante.fr \
		--header "X-Test-Seq: $seq" --header "X-MSS-NIL: DEV935997" --header "Subject: Compte rendu" "$@"
}
# submission LOGIN PASSWORD [swaks args]
submission() {
	_login=$1 _pw=$2
	shift 2
	seq=$((seq + 1))
	swaks --server 127.0.0.1 --port "$PF_SUB_PORT" --ehlo poste-12.hopital-test.fr --tls \
		--auth PLAIN --auth-user "$_login" --auth-password "$_pw" \
		--from "$_login" --to dr.x@ch-valmont.mssante.fr \
		--header "X-Test-Seq: $seq" --header "X-MSS-NIL: LOGICIEL 1.0" "$@"
}
# delivered SEQ: the sink received message number SEQ (waits for the queue).
delivered() {
	postfix_wait_empty 30 || fail "the queue did not drain"
	grep -q "^X-Test-Seq: $1\$" "$SINK_DUMP"
}
last_record() {
	tail -n 1 "$MILTER_AUDIT/milter.log" >"$T/rec.json"
	python3 -c "import json,sys; r=json.load(open(sys.argv[1])); v=($1); print(repr(v) if isinstance(v, tuple) else v)" \
		"$T/rec.json"
}

# ---- inbound ----
run 0 inbound --header "Message-Id: <in-1@ch-valmont.mssante.fr>"
delivered $seq || fail "accepted inbound message not delivered"
qid=$(last_record 'r.get("queue_id", "")')
[ -n "$qid" ] || fail "no queue id in the record"
grep -q "$qid: .*message-id=<in-1@ch-valmont.mssante.fr>" "$PF_DIR/maillog" || fail "queue id $qid unknown to Postfix"
[ "$(last_record 'r["decision"], r["service"], r["tls"]["peer_cn"], r["tls"]["issuer_cn"], r["message_id"]')" = \
	"('accept', 'inbound', 'mss.ch-valmont.fr', 'AC IGC-SANTE ELEMENTAIRE ORGANISATIONS', '<in-1@ch-valmont.mssante.fr>')" ] ||
	fail "record: $(cat "$T/rec.json")"
grep -q "Compte rendu" "$MILTER_AUDIT/milter.log" && fail "the subject reached the audit trail"
ok "inbound from a listed operator: delivered, one record with Postfix's queue id $qid, TLS peer and issuer"

# A refused sender is refused at each recipient (the milter asks Postfix for no reply to MAIL
# FROM): swaks exits 24, "every recipient refused".
run 24 swaks --server 127.0.0.1 --port "$PF_IN_PORT" --ehlo mss.ch-valmont.fr \
	--from dr.x@ch-valmont.mssante.fr --to jean.martin@hopital-test.mssante.fr
out_has "550 5.7.10 TLS is required"
grep -A1 "RCPT TO:<jean.martin@hopital-test.mssante.fr>" "$T/out" | grep -q "550 5.7.10" ||
	fail "the refusal is not the answer to RCPT TO"
ok "inbound without TLS: 550 5.7.10"

run 24 inbound --tls-cert "$PKI/op-valmont-foreign.crt" --tls-key "$PKI/op-valmont-foreign.key"
out_has "550 5.7.1 a client certificate from an IGC-Sante operator CA is required"
ok "inbound with a certificate from a foreign CA (Postfix does not verify it): 550 5.7.1"

run 24 inbound --from someone@gmail.com
out_has "550 5.7.1 <someone@gmail.com>: domain not in the MSSante trust space"
ok "sender domain off the trust list: 550 5.7.1"

run 24 inbound --tls-cert "$PKI/op-hopital-test.crt" --tls-key "$PKI/op-hopital-test.key"
out_has "certificate CN 'mail.hopital-test.fr' is not an operator listed for ch-valmont.mssante.fr"
ok "certificate of another listed operator, CN not listed for the sender domain: 550 5.7.1"

# What the milter cannot see: same CN, other O/OU, same CA. Postfix gives milters the CN only;
# refusing it needs the full DN or a pinned fingerprint (mss-milter(8), BUGS).
run 0 inbound --tls-cert "$PKI/op-valmont-impostor.crt" --tls-key "$PKI/op-valmont-impostor.key"
ok "known limit: a listed CN with another DN from the same CA passes the milter (documented)"

run 24 inbound --to nobody@hopital-test.mssante.fr
out_has "550 5.1.1 <nobody@hopital-test.mssante.fr>: no such BAL here"
run 24 inbound --to ancien-service@hopital-test.mssante.fr
out_has "550 5.2.1 <ancien-service@hopital-test.mssante.fr>: this BAL is suspended"
ok "unknown recipient 550 5.1.1, suspended BAL 550 5.2.1"

# ---- submission ----
run 24 swaks --server 127.0.0.1 --port "$PF_SUB_PORT" --ehlo poste-12.hopital-test.fr --tls \
	--from jean.martin@hopital-test.mssante.fr --to dr.x@ch-valmont.mssante.fr
# Postfix's own relay restriction answers RCPT TO before the milter is asked. The milter's
# verdict on MAIL FROM (no_auth) would come with the first recipient; none reaches it, and
# Postfix does not pass on a MAIL FROM that needs no reply: the refusal is in Postfix's log,
# not in the milter's trail (documented in mss-milter(8)).
out_has "554 5.7.1 <dr.x@ch-valmont.mssante.fr>: Recipient address rejected: Access denied"
grep -q "NOQUEUE: reject: RCPT .*Access denied; from=<jean.martin@hopital-test.mssante.fr>" "$PF_DIR/maillog" ||
	fail "Postfix did not log its refusal"
ok "submission without AUTH: refused by Postfix's relay restriction, logged by Postfix"

run 0 submission jean.martin@hopital-test.mssante.fr 'Martin-2024!'
delivered $seq || fail "PER owner's message not delivered"
[ "$(last_record 'r["actor"], r["bal_type"], r["auth_user"]')" = \
	"('810003461033', 'PER', 'jean.martin@hopital-test.mssante.fr')" ] || fail "record: $(cat "$T/rec.json")"
ok "submission by the PER holder: delivered, actor recorded"

run 0 submission 810100000041 motdepasse-tmoreau --from cardiologie@hopital-test.mssante.fr
delivered $seq || fail "ORG delegate's message not delivered"
run 24 submission 810100000041 motdepasse-tmoreau --from urgences@hopital-test.mssante.fr
out_has "550 5.7.1 <urgences@hopital-test.mssante.fr>: 810100000041 may not send as this BAL"
ok "ORG BAL: a delegate sends, a non-delegate gets 550 5.7.1"

run 0 submission jean.martin@hopital-test.mssante.fr 'Martin-2024!' \
	--to dr.x@ch-valmont.mssante.fr,friend@gmail.com,sophie.durand@hopital-test.mssante.fr
out_has "550 5.7.1 <friend@gmail.com>: domain not in the MSSante trust space"
delivered $seq || fail "mixed recipients: nothing delivered"
python3 - "$SINK_DUMP" "$seq" <<'PY' || fail "mixed recipients: wrong deliveries"
import sys
# smtp-sink's dump: each transaction starts with X-Client-Addr, its envelope in X-Rcpt-Args.
blocks = ("\n" + open(sys.argv[1], errors="replace").read()).split("\nX-Client-Addr: ")[1:]
# (Postfix may deliver in one transaction per transport: relay for local BALs, smtp else.)
found = [b for b in blocks if "\nX-Test-Seq: %s\n" % sys.argv[2] in b]
rcpts = sorted(l.split()[1] for b in found for l in b.splitlines() if l.startswith("X-Rcpt-Args: "))
assert rcpts == ["<dr.x@ch-valmont.mssante.fr>", "<sophie.durand@hopital-test.mssante.fr>"], rcpts
PY
ok "mixed recipients: the off-list one refused alone, the others delivered"

run 26 submission jean.martin@hopital-test.mssante.fr 'Martin-2024!' --header "X-MSS-MES: FIN"
out_has "550 5.7.1 <dr.x@ch-valmont.mssante.fr>: X-MSS-MES is only for messages to patients"
ok "X-MSS-MES towards a professional: 550 5.7.1 at end of data"

# ---- failures: 451, never an unchecked accept ----
milter_stop
MILTER_SNAPSHOT=$T/missing.cdb
milter_conf "$T/nosnap.conf" </dev/null
milter_start "$T/nosnap.conf" "$T/nosnap.log"
run 24 inbound
out_has "451 4.3.0"
[ "$(last_record 'r["decision"], r["reason"].split(":")[0]')" = "('tempfail', 'no_snapshot')" ] ||
	fail "record: $(cat "$T/rec.json")"
ok "snapshot missing: 451 4.3.0 and a record saying why"

milter_stop
MILTER_SNAPSHOT=$WORLD
MILTER_AUDIT=$T/audit-ro
milter_conf "$T/ro.conf" </dev/null
chown root "$MILTER_AUDIT"
chmod 0755 "$MILTER_AUDIT"
milter_start "$T/ro.conf" "$T/ro.log"
run 24 inbound
out_has "451 4.3.0"
grep -q "audit trail unavailable" "$T/ro.log" || fail "the log does not say why"
# The transaction's line tells the answer given, not the verdict the trail refused to record.
grep -q ": mss: tempfail: inbound from=<dr.x@ch-valmont.mssante.fr> .* reason=audit_unwritable" "$T/ro.log" ||
	{ cat "$T/ro.log" >&2; fail "no 'mss: tempfail ... reason=audit_unwritable' line"; }
ok "audit directory not writable: 451 4.3.0, logged as tempfail with the reason"

# The trail open and then taken away (its path now a directory): the message passed every
# check, but its record cannot be written, so it is not accepted, and the log says so.
milter_stop
MILTER_AUDIT=$T/audit-gone
milter_conf "$T/gone.conf" </dev/null
milter_start "$T/gone.conf" "$T/gone.log"
run 0 inbound
mv "$MILTER_AUDIT/milter.log" "$MILTER_AUDIT/milter.log.1"
mkdir "$MILTER_AUDIT/milter.log"
run 26 inbound
out_has "451 4.3.0"
out_lacks "queued as"
[ "$(grep -c ": mss: accept:" "$T/gone.log")" -eq 1 ] ||
	{ cat "$T/gone.log" >&2; fail "the log says 'accept' for a message answered 451"; }
grep -q ": mss: tempfail: inbound from=<dr.x@ch-valmont.mssante.fr> .* reason=audit_unwritable" "$T/gone.log" ||
	{ cat "$T/gone.log" >&2; fail "no 'mss: tempfail ... reason=audit_unwritable' line"; }
ok "trail taken away after a message: the next, checked and accepted by the policy, is answered 451 and logged as tempfail"

milter_stop
set +e
inbound >"$T/out" 2>&1
status=$?
set -e
[ "$status" -ne 0 ] || fail "accepted without the milter"
out_lacks "queued as"
grep -q '^ *<\*\* 4[0-9][0-9] 4\.' "$T/out" || { cat "$T/out"; fail "no 4xx answer"; }
ok "milter not running: Postfix (milter_default_action = tempfail) answers 4xx"

# ---- the trail ----
MILTER_AUDIT=$T/audit
run 0 "$MSSCTL" audit verify "$MILTER_AUDIT/milter.log"
n=$(wc -l <"$MILTER_AUDIT/milter.log")
sed '2s/"decision":"[a-z]*"/"decision":"accept"/; 2s/"from":"[^"]*"/"from":"someone@else.fr"/' \
	"$MILTER_AUDIT/milter.log" >"$T/edited.log"
run 1 "$MSSCTL" audit verify "$T/edited.log"
out_has "edited.log:2"
ok "mssctl audit verify: $n records intact; an edited line is named"
echo "$checks checks passed"
