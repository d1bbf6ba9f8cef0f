#!/bin/sh
# mssctl audit: verify names the line of every kind of tampering (a changed byte, a deleted,
# an inserted, two swapped records) in files written by the real writer, several processes at
# once and across a rotation; report on the November 2026 fixtures (hash-chained by an
# independent Python implementation of the contract); inactive against a snapshot synced from
# a private slapd holding the test hospital.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/slapd.sh"

FIX="$SRC/tests/fixtures"
APPEND="$BUILD/audit-append"
[ -x "$APPEND" ] || make -s -C "$SRC" BUILD="$BUILD" "$BUILD/audit-append" >/dev/null ||
	fail "cannot build audit-append"
A="$T/milter.log"

# ---- verify ----
printf 'event=message\tqueue_id=Q%%N\tservice=inbound\tfrom=a@ope.fr\trcpt=jean.martin@hopital-test.mssante.fr,accept\tdecision=accept\n' >"$T/rec"
"$APPEND" -n 10 "$A" milter <"$T/rec" || fail "audit-append"
run 0 "$MSSCTL" audit verify "$A"
out_has "10 records in 1 file: chain intact"
ok "10 records written by the writer verify"

# Two processes appending at once (sync=always: group commit under contention).
"$APPEND" -n 200 "$A" milter <"$T/rec" &
p1=$!
"$APPEND" -s batch -n 200 "$A" milter <"$T/rec" &
p2=$!
wait $p1 || fail "first writer"
wait $p2 || fail "second writer"
run 0 "$MSSCTL" audit verify --json "$A"
[ "$(json_get 'j["intact"]')" = True ] || fail "not intact"
[ "$(json_get 'j["records"]')" -eq 410 ] || fail "expected 410 records"
ok "two processes appending concurrently: 410 records, chain intact (--json)"

# tamper: one edited byte (the 4th record's queue id)
sed '4s/"queue_id":"Q3"/"queue_id":"Q8"/' "$A" >"$T/x.log"
cmp -s "$A" "$T/x.log" && fail "sed changed nothing"
run 1 "$MSSCTL" audit verify "$T/x.log"
out_has "x.log:4: record modified"
ok "one edited byte: exit 1 naming line 4"

sed '5d' "$A" >"$T/x.log"
run 1 "$MSSCTL" audit verify "$T/x.log"
out_has "x.log:5: record deleted"
ok "a deleted line: exit 1 naming line 5"

# An inserted record with a valid hash of its own: written by the writer after line 3 of a copy.
head -n 3 "$A" >"$T/forge.log"
printf 'event=message\tqueue_id=FORGED\tdecision=accept\n' | "$APPEND" "$T/forge.log" milter
{
	head -n 3 "$A"
	tail -n 1 "$T/forge.log"
	tail -n +4 "$A"
} >"$T/x.log"
run 1 "$MSSCTL" audit verify "$T/x.log"
out_has "x.log:4: record inserted"
ok "an inserted record: exit 1 naming line 4"

awk 'NR == 6 { held = $0; next } NR == 7 { print; print held; next } { print }' "$A" >"$T/x.log"
run 1 "$MSSCTL" audit verify --json "$T/x.log"
[ "$(json_get 'j["intact"]')" = False ] || fail "intact?"
json_get 'j["finding"]' | grep -q 'x.log:6: records reordered' || fail "finding: $(json_get 'j["finding"]')"
ok "two swapped lines: exit 1 naming line 6 (--json)"

run 2 "$MSSCTL" audit verify "$T/absent.log"
out_has "absent.log"
ok "unreadable file: exit 2"
run 2 "$MSSCTL" audit verify
ok "no file: usage error"

# Rotation: the new file continues the chain of the old one.
mv "$A" "$A.1"
"$APPEND" -n 3 "$A" milter <"$T/rec"
run 0 "$MSSCTL" audit verify "$A.1" "$A"
out_has "413 records in 2 files"
run 1 "$MSSCTL" audit verify "$A"
out_has "milter.log:1: the chain does not start here"
ok "rotated series verifies oldest first; the new file alone does not start the trail"

# ---- report ----
run 0 "$MSSCTL" audit verify "$FIX/audit/milter.log"
run 0 "$MSSCTL" audit verify "$FIX/audit/dovecot.log"
run 0 "$MSSCTL" audit verify "$FIX/audit/pam.log"
ok "fixtures chained by the Python implementation verify"

run 0 "$MSSCTL" audit report --month 2026-11 --json "$FIX/audit/milter.log" "$FIX/audit/dovecot.log" \
	"$FIX/audit/pam.log"
[ "$(json_get 'j["records"]')" -eq 14 ] || fail "records: $(json_get 'j["records"]')"
[ "$(json_get 'j["messages"]["total"]')" -eq 9 ] || fail "messages"
[ "$(json_get 'j["messages"]["by_direction"]["inbound"]["total"]')" -eq 5 ] || fail inbound
[ "$(json_get 'j["messages"]["by_direction"]["submission"]["total"]')" -eq 4 ] || fail submission
[ "$(json_get 'j["messages"]["by_direction"]["inbound"]["by_decision"]')" = \
	"{'accept': 3, 'reject': 1, 'tempfail': 1}" ] || fail "inbound decisions"
[ "$(json_get 'j["messages"]["by_bal_type"]')" = "{'APP': 1, 'ORG': 3, 'PER': 3, 'none': 2}" ] ||
	fail "by type: $(json_get 'j["messages"]["by_bal_type"]')"
[ "$(json_get 'j["messages"]["by_decision"]')" = "{'accept': 6, 'reject': 2, 'tempfail': 1}" ] || fail decisions
[ "$(json_get 'j["messages"]["by_reason"]')" = \
	"{'not_delegate': 1, 'sender_domain_not_trusted': 1, 'snapshot_unavailable': 1}" ] || fail reasons
[ "$(json_get 'j["messages"]["recipients"]')" = "{'total': 9, 'by_decision': {'accept': 7, 'reject': 2}}" ] ||
	fail "recipients: $(json_get 'j["messages"]["recipients"]')"
[ "$(json_get 'j["active_bals"]')" = "{'total': 4, 'by_type': {'APP': 1, 'ORG': 1, 'PER': 2}}" ] ||
	fail "active: $(json_get 'j["active_bals"]')"
ok "report --json: per direction, BAL type, decision, reason, recipients; 4 distinct active BALs"

run 0 "$MSSCTL" audit report --month 2026-11 "$FIX/audit/milter.log"
out_has "inbound: 5 (accept 3, reject 1, tempfail 1)"
out_has "submission: 4 (accept 3, reject 1)"
ok "report in text"

run 0 "$MSSCTL" audit report --month 2026-12 --json "$FIX/audit/milter.log"
[ "$(json_get 'j["messages"]["total"]')" -eq 1 ] || fail "December"
run 0 "$MSSCTL" audit report --month 2026-10 --json "$FIX/audit/milter.log"
[ "$(json_get 'j["messages"]["total"]')" -eq 1 ] || fail "October"
ok "month boundaries: the last millisecond of October and the first of December are not November's"

{
	head -n 2 "$FIX/audit/milter.log"
	printf '{"ts":"2026-11-05T1\n'
} >"$T/torn.log"
"$MSSCTL" audit report --month 2026-11 --json "$T/torn.log" >"$T/out" 2>"$T/err" || fail "report on a torn file"
grep -qF "torn.log:3: not a JSON audit record, skipped" "$T/err" || fail "stderr: $(cat "$T/err")"
[ "$(json_get 'j["skipped_lines"]')" -eq 1 ] || fail "skipped"
ok "a torn line is named and skipped by report"
run 2 "$MSSCTL" audit report --month 2026-13 "$FIX/audit/milter.log"
out_has "expected YYYY-MM"
run 2 "$MSSCTL" audit report "$FIX/audit/milter.log"
ok "bad or missing --month: exit 2"

# ---- inactive ----
slapd_start "$T/ldap" "$FIX/hopital.ldif" || fail "slapd did not start"
at_exit slapd_stop
write_conf "$T/mssante.conf" <<EOF
uri = $SLAPD_URI
base = $SLAPD_BASE
bind_dn = cn=mssante-sync,ou=services,$SLAPD_BASE
bind_password_file = $T/bindpw
ca_file = $SLAPD_CA
starttls = yes
snapshot = $T/s.cdb
[trust]
list = $FIX/trust/hopital-test.xml
EOF
printf 'sync-secret\n' >"$T/bindpw"
chmod 600 "$T/bindpw"
run 0 "$MSSCTL" -c "$T/mssante.conf" sync --extraction "$FIX/extraction/good.txt"
slapd_stop
mkdir "$T/auth"
python3 "$FIX/audit/gen.py" inactive "$T/auth"

run 1 "$MSSCTL" -c "$T/mssante.conf" audit inactive --days 30 --json "$T/auth/dovecot.log" "$T/auth/pam.log"
[ "$(json_get '" ".join(b["address"] for b in j["inactive"])')" = \
	"alice.leroy@hopital-test.mssante.fr ancien-service@hopital-test.mssante.fr cardiologie@hopital-test.mssante.fr claire.lefebvre@hopital-test.mssante.fr urgences@hopital-test.mssante.fr" ] ||
	fail "inactive: $(json_get '[b["address"] for b in j["inactive"]]')"
[ "$(json_get 'j["bals"]')" -eq 8 ] || fail "the hospital has 8 BALs in LDAP (extraction ones excluded)"
[ "$(json_get '[b["days_since"] for b in j["inactive"] if b["address"].startswith("claire")][0]')" -eq 100 ] ||
	fail "claire: 100 days"
[ "$(json_get '[b["last_auth"] for b in j["inactive"] if b["address"].startswith("cardio")][0]')" = None ] ||
	fail "cardiologie: never (a read is not an authentication)"
[ "$(json_get '[b["status"] for b in j["inactive"] if b["address"].startswith("ancien")][0]')" = suspended ] ||
	fail "suspended BAL"
ok "inactive --days 30: never-seen, refused-only and 100-day-old BALs listed; recent logins (mixed case too) not"

run 1 "$MSSCTL" -c "$T/mssante.conf" audit inactive --days 365 "$T/auth/dovecot.log" "$T/auth/pam.log"
out_has "4 of 8 BALs inactive"
out_has "cardiologie@hopital-test.mssante.fr ORG: never"
out_lacks "claire.lefebvre"
ok "inactive --days 365 in text: 4 of 8"

run 1 "$MSSCTL" audit inactive --days 1 --snapshot "$T/s.cdb" --json "$T/auth/dovecot.log" "$T/auth/pam.log"
[ "$(json_get 'len(j["inactive"])')" -eq 8 ] || fail "--days 1: all 8"
ok "inactive --days 1 --snapshot FILE: all 8"

# Everybody authenticated yesterday: nothing to report, exit 0.
: >"$T/all.log"
for b in jean.martin sophie.durand claire.lefebvre alice.leroy cardiologie urgences ancien-service dpi; do
	printf 'event=login\tbal=%s@hopital-test.mssante.fr\tdecision=allow\n' "$b"
done | "$APPEND" "$T/all.log" dovecot
run 0 "$MSSCTL" audit inactive --days 30 --snapshot "$T/s.cdb" "$T/all.log"
out_has "0 of 8 BALs inactive"
ok "no inactive BAL: exit 0"

run 2 "$MSSCTL" audit inactive --days 0 --snapshot "$T/s.cdb" "$T/all.log"
run 2 "$MSSCTL" audit inactive --days 30 --snapshot "$T/absent.cdb" "$T/all.log"
run 2 "$MSSCTL" audit inactive --days 30 --snapshot "$T/s.cdb" "$T/absent.log"
ok "bad --days, missing snapshot, missing audit file: exit 2"
echo "all $checks checks passed"
