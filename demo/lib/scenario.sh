# Sourced by demo/run.sh once both operators are up: the six steps of the story. Each step
# says what is tried and why, shows the SMTP/IMAP reply or the audit field that proves the
# outcome, and ends with OK or REFUSED and whether that is what the rules require.

SWAKS_COMMON="--server 127.0.0.1 --timeout 30 --hide-informational"
AUDIT_FIND="python3 $SRC/demo/lib/audit_find.py"
steps_total=0
steps_good=0
SUMMARY=""

# step_begin N TITLE
step_begin() {
	STEP=$1
	STEP_TITLE=$2
	STEP_PROBLEMS=""
	say ""
	say "Step $1 - $2"
}

# problem TEXT: something in this step is not as the rules require.
problem() {
	STEP_PROBLEMS="$STEP_PROBLEMS$*; "
	detail "!! $*"
}

# step_end EXPECTED OBSERVED WHY: OBSERVED (OK or REFUSED) against EXPECTED, and one line of
# evidence for the summary.
step_end() {
	steps_total=$((steps_total + 1))
	if [ "$1" = "$2" ] && [ -z "$STEP_PROBLEMS" ]; then
		steps_good=$((steps_good + 1))
		say "  => $2, as expected: $3"
		SUMMARY="$SUMMARY$(printf '  %s %-44s %-8s as expected  (%s)' "$STEP" "$STEP_TITLE" "$2" "$3")
"
	else
		say "  => $2, NOT as expected (expected $1): $STEP_PROBLEMS$3"
		SUMMARY="$SUMMARY$(printf '  %s %-44s %-8s UNEXPECTED   (expected %s%s)' "$STEP" "$STEP_TITLE" "$2" "$1" \
			"$(printf '%s' "${STEP_PROBLEMS:+: $STEP_PROBLEMS}" | sed 's/; $//')")
"
	fi
}

# replies FILE: the server's replies in a swaks transcript (lines swaks marks <-, <~, <** or <~*).
replies() {
	sed -n 's/^ *<[-~*]* \{1,\}\([0-9][0-9][0-9][ -].*\)$/\1/p' "$1"
}

# reply_to FILE COMMAND: the first reply line after the client sent COMMAND.
reply_to() {
	awk -v cmd="$2" '
		found && /^ *<[-~*]+ +[0-9][0-9][0-9][ -]/ { sub(/^ *<[-~*]+ +/, ""); print; exit }
		/^ *[-~]> / { line = $0; sub(/^ *[-~]> +/, "", line); if (index(line, cmd) == 1) found = 1 }
	' "$1"
}

# in_mailbox MAILDIR TEXT: the file of MAILDIR (new/ or cur/) holding TEXT; 1 when none.
in_mailbox() {
	_f=$(find "$1/new" "$1/cur" -type f -exec grep -lF -- "$2" {} + 2>/dev/null | head -n 1)
	[ -n "$_f" ] && echo "$_f"
}

# grep_wait SECS PATTERN FILE: until FILE has a line matching PATTERN (extended regex).
grep_wait() {
	wait_for "$1" grep -qE -- "$2" "$3"
}

# ---------------------------------------------------------------------------------------
step1_peer_delivery() {
	step_begin 1 "peer operator -> organisational BAL"
	MSGID="<demo-$RUN_ID@$PEER_DOMAIN>"
	say "  Dr Xavier Dubois of CH de Valmont (dr.x@$PEER_DOMAIN) sends a consultation report to the"
	say "  cardiology service of our hospital (cardiologie@$H, an organisational BAL). His message"
	say "  goes into his operator's Postfix, which relays it to our inbound port over TLS, presenting"
	say "  its IGC-Santé certificate CN=mss.ch-valmont.fr, the certificate the trust list names for"
	say "  $PEER_DOMAIN. mss-milter checks the chain, the CN against the trust list and the recipient."
	# shellcheck disable=SC2086
	swaks $SWAKS_COMMON --port "$PEER_PORT" --ehlo poste-3.ch-valmont.fr \
		--from "dr.x@$PEER_DOMAIN" --to "cardiologie@$H" \
		--header "Subject: Compte rendu de consultation (fictif)" --header "Message-Id: $MSGID" \
		--header "X-MSS-NIL: LOGICIEL-VALMONT 2.1" \
		--body "Compte rendu fictif pour la demonstration." >"$D/logs/step1-swaks.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || { detail_file "$D/logs/step1-swaks.log"; problem "the peer's Postfix did not take the message (swaks exit $rc)"; }
	peer_qid=$(sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' "$D/logs/step1-swaks.log" | tail -n 1)
	detail "peer MTA accepted it from its user: $(reply_to "$D/logs/step1-swaks.log" "." | cut -c1-80)"
	observed=REFUSED
	if [ -n "$peer_qid" ] && grep_wait 30 "$peer_qid: to=<cardiologie@$H>.*status=(sent|bounced|deferred)" "$D/peer/maillog"; then
		line=$(grep -E "$peer_qid: to=<cardiologie@$H>" "$D/peer/maillog" | tail -n 1)
		tls=$(grep -E "(Verified|Trusted|Untrusted|Anonymous) TLS connection established to 127.0.0.1\[127.0.0.1\]:$IN_PORT" \
			"$D/peer/maillog" | tail -n 1 | sed -e 's/.*: \([A-Za-z]* TLS connection\)/\1/' -e 's/ (.*//')
		detail "peer MTA -> our inbound: ${tls:-TLS line not found}"
		detail "peer MTA log: $(echo "$line" | sed 's/.*\(status=.*\)/\1/')"
		our_qid=$(echo "$line" | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p')
		if [ -n "$our_qid" ]; then
			rec=$($AUDIT_FIND "$D/audit/milter.log" queue_id="$our_qid" -- decision service tls.peer_cn tls.issuer_cn from rcpt.0.addr rcpt.0.decision mss.nil)
			detail "mss-milter audit record: $rec"
			if grep_wait 30 "$our_qid: to=<cardiologie@$H>.*status=" "$D/ours/maillog"; then
				detail "our MTA -> Dovecot: $(grep "$our_qid: to=<cardiologie@$H>" "$D/ours/maillog" | tail -n 1 | sed 's/.*\(relay=.*\)/\1/')"
			fi
		fi
	fi
	box=$D/vmail/$H/cardiologie/Maildir
	if wait_for 30 in_mailbox "$box" "$MSGID" >/dev/null; then
		file=$(in_mailbox "$box" "$MSGID")
		detail "in the BAL: ${file#"$D/"} (owner uid $(stat -c %u "$file"), the uid libnss_mss gives cardiologie@$H)"
		observed=OK
		uid_nss=$(ns_getent passwd "cardiologie@$H" | cut -d: -f3)
		[ "$(stat -c %u "$file")" = "$uid_nss" ] || problem "the maildir is not owned by the BAL's uid $uid_nss"
	else
		detail "nothing arrived in $box"
		tail -n 5 "$D/ours/maillog" | sed 's/^/      | /'
	fi
	step_end OK "$observed" "delivered into cardiologie@$H by LMTP, milter decision accept"
}

# ---------------------------------------------------------------------------------------
step2_untrusted_domain() {
	step_begin 2 "sender domain off the trust list"
	say "  An MTA presenting a valid IGC-Santé certificate (here the peer's) tries to bring in mail"
	say "  from secretariat@clinique-hors-liste.fr: that domain is not on the trust list, so nothing"
	say "  from it may enter the MSSanté space, whatever the certificate."
	# shellcheck disable=SC2086
	swaks $SWAKS_COMMON --port "$IN_PORT" --ehlo mx.clinique-hors-liste.fr --tls \
		--tls-cert "$D/pki/op-valmont.crt" --tls-key "$D/pki/op-valmont.key" \
		--from secretariat@clinique-hors-liste.fr --to "cardiologie@$H" \
		--header "X-MSS-NIL: LOGICIEL-X 1.0" >"$D/logs/step2-swaks.log" 2>&1
	rc=$?
	# The sender's verdict is the answer to each recipient: mss-milter asks Postfix for no
	# reply to MAIL FROM (one round trip less per message).
	detail "MAIL FROM:<secretariat@clinique-hors-liste.fr> -> $(reply_to "$D/logs/step2-swaks.log" "MAIL FROM:")"
	reply=$(reply_to "$D/logs/step2-swaks.log" "RCPT TO:")
	detail "RCPT TO:<cardiologie@$H> -> $reply"
	rec=$($AUDIT_FIND "$D/audit/milter.log" from=secretariat@clinique-hors-liste.fr -- decision reason service tls.peer_cn)
	detail "mss-milter audit record: $rec"
	case $reply in
	5[0-9][0-9]*) observed=REFUSED ;;
	*) observed=OK ;;
	esac
	[ $rc -ne 0 ] || problem "swaks says the message was accepted"
	case $reply in
	*"550 5.7.1 <secretariat@clinique-hors-liste.fr>: domain not in the MSSante trust space"*) ;;
	*) problem "the reply is not the trust-space refusal" ;;
	esac
	case $rec in *decision=reject*) ;; *) problem "no reject record in the audit trail" ;; esac
	step_end REFUSED "$observed" "$(echo "$reply" | cut -d' ' -f1-2), reason $(echo "$rec" | sed -n 's/.*reason=\([^ ]*\).*/\1/p')"
}

# ---------------------------------------------------------------------------------------
step3_submission_outside() {
	step_begin 3 "submission to a recipient outside the space"
	say "  Dr Jean Martin, cardiologist of our hospital, logs in on the submission port (SMTP AUTH:"
	say "  Postfix asks Dovecot, Dovecot asks PAM, pam_mss binds to the directory as him) and writes"
	say "  to ami@gmail.com. Health data may only travel inside the trust space: refused."
	# shellcheck disable=SC2086
	swaks $SWAKS_COMMON --port "$SUB_PORT" --ehlo poste-12.hopital-test.fr --tls \
		--auth PLAIN --auth-user "jean.martin@$H" --auth-password 'Martin-2024!' \
		--from "jean.martin@$H" --to ami@gmail.com \
		--header "X-MSS-NIL: LOGICIEL-HOPITAL 3.0" >"$D/logs/step3-swaks.log" 2>&1
	rc=$?
	auth=$(reply_to "$D/logs/step3-swaks.log" "AUTH PLAIN")
	reply=$(reply_to "$D/logs/step3-swaks.log" "RCPT TO:")
	detail "AUTH PLAIN jean.martin@$H -> $auth"
	rec=$($AUDIT_FIND "$D/audit/pam.log" event=auth service=dovecot auth_user="jean.martin@$H" -- event service method decision actor bal bal_type)
	detail "pam_mss audit record: $rec"
	detail "RCPT TO:<ami@gmail.com> -> $reply"
	rec=$($AUDIT_FIND "$D/audit/milter.log" service=submission rcpt.0.addr=ami@gmail.com -- decision auth_user actor rcpt.0.decision rcpt.0.reason)
	detail "mss-milter audit record: $rec"
	case $reply in
	5[0-9][0-9]*) observed=REFUSED ;;
	*) observed=OK ;;
	esac
	case $auth in 235*) ;; *) problem "SMTP AUTH through Dovecot and pam_mss failed" ;; esac
	case $reply in
	*"550 5.7.1 <ami@gmail.com>: domain not in the MSSante trust space"*) ;;
	*) problem "the reply is not the trust-space refusal" ;;
	esac
	[ $rc -ne 0 ] || problem "swaks says the message was accepted"
	case $rec in *actor=810003461033*) ;; *) problem "the milter record does not name Dr Martin's idNat_PS" ;; esac
	step_end REFUSED "$observed" "$(echo "$reply" | cut -d' ' -f1-2) domain not in the MSSante trust space"
}

# ---------------------------------------------------------------------------------------
step4_delegate_reads() {
	step_begin 4 "delegate reads the organisational BAL (IMAP)"
	say "  Dr Martin is a delegate of cardiologie@$H. He opens that BAL over IMAP with his own"
	say "  credentials, as cardiologie@$H*jean.martin@$H (Dovecot's master-user login;"
	say "  PAM service dovecot-master, pam_mss). The Dovecot plugin checks he is a delegate and"
	say "  traces every access under his national id (idNat_PS), never as 'the service'."
	python3 "$SRC/demo/lib/imap_read.py" "$IMAP_PORT" "cardiologie@$H*jean.martin@$H" 'Martin-2024!' "$MSGID" \
		>"$D/logs/step4-imap.log" 2>&1
	rc=$?
	detail_file "$D/logs/step4-imap.log"
	observed=REFUSED
	[ $rc -eq 0 ] && observed=OK
	rec=$($AUDIT_FIND "$D/audit/pam.log" service=dovecot-master auth_user="jean.martin@$H" -- event service decision reason actor bal)
	detail "pam_mss audit record: $rec"
	rec=$($AUDIT_FIND "$D/audit/dovecot.log" event=read bal="cardiologie@$H" message_id="$MSGID" -- event bal bal_type actor method auth_user mailbox uid message_id)
	detail "Dovecot plugin audit record: $rec"
	case $rec in *actor=810003461033*) ;; *) problem "the read is not traced with Dr Martin's idNat_PS" ;; esac
	say "  Claire Lefebvre, a nurse of the hospital with her own BAL but no delegation on"
	say "  cardiologie@, tries the same with her password: her password is right, the BAL is not hers."
	python3 "$SRC/demo/lib/imap_read.py" "$IMAP_PORT" "cardiologie@$H*claire.lefebvre@$H" 'motdepasse-clefebvre' "$MSGID" \
		>"$D/logs/step4-imap-refused.log" 2>&1 && problem "a person who is not a delegate read the BAL"
	detail_file "$D/logs/step4-imap-refused.log"
	rec=$($AUDIT_FIND "$D/audit/dovecot.log" event=login bal="cardiologie@$H" auth_user="claire.lefebvre@$H" -- event decision reason actor method)
	detail "Dovecot plugin audit record: $rec"
	case $rec in *"decision=deny reason=not_delegate actor=0751001234"*) ;; *) problem "the refusal of a non-delegate is not traced" ;; esac
	step_end OK "$observed" "read traced with actor 810003461033 (Dr Jean Martin); a non-delegate refused"
}

# ---------------------------------------------------------------------------------------
step5_audit() {
	step_begin 5 "audit trail: chains and monthly report"
	say "  Every component wrote one hash-chained JSON record per transaction or access, never a"
	say "  body, subject or password. mssctl checks each chain and makes the month's report."
	observed=OK
	for c in milter dovecot pam; do
		if "$MSSCTL" audit verify "$D/audit/$c.log" >"$D/logs/verify-$c.log" 2>&1; then
			detail "mssctl audit verify audit/$c.log: $(tail -n 1 "$D/logs/verify-$c.log")"
		else
			detail_file "$D/logs/verify-$c.log"
			observed=REFUSED
		fi
	done
	if grep -qF "Compte rendu" "$D/audit/"*.log || grep -qF "Martin-2024" "$D/audit/"*.log; then
		problem "a subject or a password reached the audit trail"
	else
		detail "no subject, body or password in audit/*.log"
	fi
	month=$(date -u +%Y-%m)
	detail "mssctl audit report --month $month audit/milter.log audit/dovecot.log audit/pam.log:"
	if "$MSSCTL" audit report --month "$month" "$D/audit/milter.log" "$D/audit/dovecot.log" "$D/audit/pam.log" \
		>"$D/logs/report.log" 2>&1; then
		detail_file "$D/logs/report.log"
	else
		detail_file "$D/logs/report.log"
		problem "mssctl audit report failed"
	fi
	step_end OK "$observed" "3 chains intact, report for $month"
}

# ---------------------------------------------------------------------------------------
step6_check() {
	step_begin 6 "mssctl check of the demo's wiring"
	say "  The administrator's check, on the demo's own files: mssante.conf and the snapshot,"
	say "  Postfix (postconf -c), Dovecot (doveconf -c), nsswitch.conf and the PAM stack."
	"$MSSCTL" -c "$D/etc/mssante.conf" check --postfix "$D/ours/conf" --dovecot "$D/dovecot/dovecot.conf" \
		--nsswitch "$D/etc/nsswitch.conf" --pam-dir "$D/etc/pam.d" >"$D/logs/check.log" 2>&1
	rc=$?
	detail_file "$D/logs/check.log"
	observed=REFUSED
	[ $rc -eq 0 ] && grep -qx "everything wired" "$D/logs/check.log" && observed=OK
	step_end OK "$observed" "everything wired (exit $rc)"
}

run_scenario() {
	step1_peer_delivery
	step2_untrusted_domain
	step3_submission_outside
	step4_delegate_reads
	step5_audit
	step6_check
}
