#!/bin/sh
# mssctl sync on trust lists: the real ANS file when ../shared/data has it, the project's
# fixtures always; broken lists fail with the line and leave the published snapshot as it was.
set -eu
. "$(dirname "$0")/lib/common.sh"

FIX="$SRC/tests/fixtures/trust"
REAL="$SRC/../shared/data/liste-blanche-2025-03-13.xml"
S="$T/s.cdb"

run 0 "$MSSCTL" sync --no-ldap --trust-list "$FIX/hopital-test.xml" --output "$S"
out_has "trust list:"
ok "sync of the fixture trust list"

if [ -f "$REAL" ]; then
	run 0 "$MSSCTL" sync --no-ldap --trust-list "$REAL" --output "$S"
	out_has "5002 domains"
	out_has "closing tag missing, tolerated"
	ok "real ANS list of 2025-03-13: 5002 domains, missing closing tag tolerated"
	run 0 "$MSSCTL" lookup --snapshot "$S" --json domain UC-CMP.mssante.fr
	[ "$(json_get 'len(j["operators"])')" -ge 1 ] || fail "no operator for UC-CMP.mssante.fr"
	json_get 'j["operators"][0]["dn"]' | grep -q '^CN=' || fail "operator DN missing"
	ok "lookup domain UC-CMP.mssante.fr lists its operator DN"
	run 0 "$MSSCTL" lookup --snapshot "$S" --json domain 15-20.mssante.fr
	[ "$(json_get 'len(j["operators"])')" -eq 5 ] || fail "15-20.mssante.fr: expected 5 operator DNs"
	ok "lookup domain 15-20.mssante.fr lists 5 operator DNs"
	run 0 "$MSSCTL" lookup --snapshot "$S" domain 15-20.mssante.fr
	out_has "5 operator certificates"
	ok "text lookup"
else
	echo "note: $REAL absent, real-list checks not run"
fi

run 1 "$MSSCTL" lookup --snapshot "$S" --json domain gmail.com
[ "$(json_get 'j["trusted"]')" = "False" ] || fail "gmail.com trusted?"
ok "gmail.com is not in the trust space (exit 1)"
run 2 "$MSSCTL" lookup --snapshot "$S" domain 'bad..domain'
ok "invalid domain is a usage error"

cp "$S" "$T/before.cdb"
printf 'this is not XML at all\n<<<\n' >"$T/garbage.xml"
run 2 "$MSSCTL" sync --no-ldap --trust-list "$T/garbage.xml" --output "$S"
out_has "garbage.xml:"
out_has "published snapshot unchanged"
cmp -s "$S" "$T/before.cdb" || fail "snapshot changed after a failed sync"
ok "garbage XML: exit 2 naming the file and line, snapshot byte-identical"

# Truncated in the middle of an element.
head -c 700 "$FIX/hopital-test.xml" >"$T/truncated.xml"
run 2 "$MSSCTL" sync --no-ldap --trust-list "$T/truncated.xml" --output "$S"
grep -Eq 'truncated.xml:[0-9]+:' "$T/out" || fail "no line number in: $(cat "$T/out")"
cmp -s "$S" "$T/before.cdb" || fail "snapshot changed after a failed sync"
ok "XML truncated mid-element: exit 2 naming the line, snapshot byte-identical"

run 2 "$MSSCTL" sync --no-ldap --trust-list "$T/absent.xml" --output "$S"
cmp -s "$S" "$T/before.cdb" || fail "snapshot changed after a failed sync"
ok "missing trust list: exit 2"

run 2 "$MSSCTL" sync --trust-list "$FIX/hopital-test.xml" --output "$S"
out_has "no [directory] uri configured"
ok "LDAP wanted but not configured: exit 2"

# The outbound TLS policy table, from the same trust list.
write_conf "$T/tp.conf" <<EOF
[trust]
postfix_tls_policy = $T/tls_policy
EOF
run 0 "$MSSCTL" -c "$T/tp.conf" sync --no-ldap --trust-list "$FIX/hopital-test.xml" --output "$T/tp.cdb"
out_has "Postfix TLS policy table rewritten"
grep -qx "ch-valmont.mssante.fr	secure match=mss.ch-valmont.fr:mss2.ch-valmont.fr" "$T/tls_policy" ||
	fail "policy line for ch-valmont: $(cat "$T/tls_policy")"
[ "$(grep -vc '^#' "$T/tls_policy")" -eq 4 ] || fail "expected one line per domain"
if [ -x /usr/sbin/postmap ]; then
	[ -f "$T/tls_policy.db" ] || fail "postmap did not index the table"
fi
ok "sync writes the Postfix TLS policy table: one line per domain, secure match= the listed CNs"
cp "$T/tls_policy" "$T/tls_policy.before"
cp "$T/tp.cdb" "$T/tp.before"
run 2 "$MSSCTL" -c "$T/tp.conf" sync --no-ldap --trust-list "$T/garbage.xml" --output "$T/tp.cdb"
cmp -s "$T/tls_policy" "$T/tls_policy.before" && cmp -s "$T/tp.cdb" "$T/tp.before" || fail "changed after a failed sync"
ok "a failed sync leaves the TLS policy table as it was"

echo "$checks checks passed"
