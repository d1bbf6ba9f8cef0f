#!/bin/sh
# mss-milter at the protocol level: the real binary on a UNIX socket, driven by miltertest Lua
# scripts, one per verdict class (tests/integration/milter/{accept,reject,tempfail}.lua), over
# a snapshot built by `mssctl sync` from a private slapd. Every transaction must end in exactly
# one audit record with the decision and reason the script expects; the trail must verify.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$SRC/tests/integration/milter/lib.sh"

milter_world "$T/world"
milter_conf "$T/m.conf" </dev/null
milter_start "$T/m.conf"

# ---- accept ----
run 0 mt accept
out_has "accept: 6 messages"
run 0 trail_reasons "$MILTER_AUDIT/milter.log"
[ "$(grep -c '^accept ' "$T/out")" -eq 6 ] || { cat "$T/out"; fail "expected 6 accept records"; }
python3 - "$MILTER_AUDIT/milter.log" <<'PY' || fail "accepted records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = recs[0]
assert r["service"] == "inbound" and r["from"] == "dr.x@ch-valmont.mssante.fr", r
assert r["tls"]["peer_cn"] == "mss.ch-valmont.fr" and r["tls"]["issuer_cn"].startswith("AC IGC-SANTE"), r
assert [x["decision"] for x in r["rcpt"]] == ["accept", "accept"], r
assert r["mss"] == {"nil": "DEV935997", "ins": "O", "codecda": "34112-3"}, r
assert r["message_id"] == "<accept-1@ch-valmont.mssante.fr>", r
assert "not to be recorded" not in open(sys.argv[1]).read(), "a subject reached the trail"
assert recs[1]["tls"]["peer_cn"] == "mss2.ch-valmont.fr", recs[1]
m = recs[2]  # mixed recipients
assert m["service"] == "submission" and m["actor"] == "810003461033" and m["bal_type"] == "PER", m
assert [(x["addr"], x["decision"], x.get("reason")) for x in m["rcpt"]] == [
    ("dr.x@ch-valmont.mssante.fr", "accept", None),
    ("friend@gmail.com", "reject", "domain_not_trusted"),
    ("123456789012345@patient.mssante.fr", "accept", None)], m["rcpt"]
assert recs[3]["bal"] == "cardiologie@hopital-test.mssante.fr" and recs[3]["bal_type"] == "ORG", recs[3]
assert recs[4]["actor"] == "810100000041" and recs[4]["auth_user"] == "810100000041", recs[4]
assert recs[5]["bal_type"] == "APP" and "actor" not in recs[5], recs[5]
PY
ok "accept: inbound from both listed MTAs, PER holder, ORG delegate, idNat_PS login, APP; one record each"

# ---- reject ----
run 0 mt reject
out_has "reject: 13 transactions"
trail_reasons "$MILTER_AUDIT/milter.log" | tail -n 13 >"$T/got"
cat >"$T/want" <<'EOF'
reject no_tls
reject no_client_cert
reject issuer_not_trusted
reject domain_not_trusted
reject cn_not_listed
reject no_recipient_accepted
reject no_auth
reject not_delegate
reject not_owner
reject app_not_itself
reject mes_not_patient
reject bad_ins
reject bad_codecda
EOF
# One record per transaction; a transaction refused at its end (no recipient accepted) is
# recorded when libmilter closes it, which can come after the next connection's record.
sort -o "$T/want" "$T/want"
sort -o "$T/got" "$T/got"
diff -u "$T/want" "$T/got" || fail "reject: records differ"
python3 - "$MILTER_AUDIT/milter.log" <<'PY' || fail "refused recipients"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = [x for x in recs if x.get("reason") == "no_recipient_accepted"][0]
assert [(x["decision"], x["reason"]) for x in r["rcpt"]] == [("reject", "unknown_bal"), ("reject", "suspended_bal")], r
PY
ok "reject: 13 refusals, each recorded with its reason, in order"

# ---- tempfail: a listener name mapped to no role ----
run 0 mt tempfail -D daemon=smtpd
out_has "tempfail: 2 transactions"
trail_reasons "$MILTER_AUDIT/milter.log" | tail -n 2 >"$T/got"
printf 'tempfail unknown_listener\ntempfail unknown_listener\n' | diff -u - "$T/got" || fail "unknown listener"
ok "tempfail: unmapped {daemon_name} answered 451 and recorded"

# ---- the trail verifies, and an edited line is found ----
run 0 "$MSSCTL" audit verify "$MILTER_AUDIT/milter.log"
milter_stop
sed '3s/"decision":"accept"/"decision":"reject"/' "$MILTER_AUDIT/milter.log" >"$T/edited.log"
cmp -s "$T/edited.log" "$MILTER_AUDIT/milter.log" && fail "the edit did not change the trail"
run 1 "$MSSCTL" audit verify "$T/edited.log"
out_has ":3"
ok "mssctl audit verify: the milter's trail is intact; an edited record is named by its line"

# ---- tempfail: no snapshot ----
WORLD=$MILTER_SNAPSHOT
MILTER_AUDIT=$T/audit-nosnap
MILTER_SNAPSHOT=$T/missing.cdb
milter_conf "$T/nosnap.conf" </dev/null
milter_start "$T/nosnap.conf" "$T/nosnap.log"
run 0 mt tempfail
trail_reasons "$MILTER_AUDIT/milter.log" >"$T/got"
printf 'tempfail no_snapshot\ntempfail no_snapshot\n' | diff -u - "$T/got" || fail "no snapshot"
grep -q "missing.cdb" "$MILTER_AUDIT/milter.log" || fail "the record does not say which snapshot"
# The first sync publishes it: used without a restart.
cp "$T/world/snapshot.cdb" "$T/missing.cdb.tmp" && mv "$T/missing.cdb.tmp" "$T/missing.cdb"
sleep 1
run 0 mt accept
milter_stop
ok "snapshot missing: 451 4.3.0 with a record saying why; picked up once published"

# ---- tempfail: on_internal_error = reject ----
MILTER_SNAPSHOT=$T/missing-too.cdb
milter_conf "$T/reject.conf" <<'EOF'
[milter]
on_internal_error = reject
EOF
milter_start "$T/reject.conf" "$T/reject.log"
run 0 mt tempfail
trail_reasons "$MILTER_AUDIT/milter.log" | tail -n 2 >"$T/got"
printf 'reject no_snapshot\nreject no_snapshot\n' | diff -u - "$T/got" || fail "on_internal_error = reject"
milter_stop
ok "on_internal_error = reject: the same failure answered 550 5.3.0"

# ---- tempfail: audit trail not writable ----
MILTER_AUDIT=$T/audit-ro
MILTER_SNAPSHOT=$WORLD
milter_conf "$T/ro.conf" </dev/null
if [ "$(id -u)" -eq 0 ]; then chown root "$MILTER_AUDIT"; fi
chmod 0555 "$MILTER_AUDIT"
milter_start "$T/ro.conf" "$T/ro.log"
run 0 mt tempfail
[ ! -e "$MILTER_AUDIT/milter.log" ] || fail "a trail appeared in a read-only directory"
grep -q "audit trail unavailable" "$T/ro.log" || { cat "$T/ro.log"; fail "the log does not say why"; }
milter_stop
chmod 0755 "$MILTER_AUDIT"
ok "audit directory not writable: 451 4.3.0, the log says why"
echo "$checks checks passed"
