#!/bin/sh
# mssctl sync against a real slapd holding a fictional hospital: StartTLS with the CA checked,
# a bind DN with its password in a file, paged results; then lookups of every kind of BAL;
# the directory stopped -> exit 2 and the published snapshot untouched.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/slapd.sh"

FIX="$SRC/tests/fixtures"
S="$T/s.cdb"
slapd_start "$T/ldap" "$FIX/hopital.ldif" || fail "slapd did not start"
at_exit slapd_stop

printf 'sync-secret\n' >"$T/bindpw"
chmod 600 "$T/bindpw"
write_conf "$T/mssante.conf" <<EOF
uri = $SLAPD_URI
base = $SLAPD_BASE
bind_dn = cn=mssante-sync,ou=services,$SLAPD_BASE
bind_password_file = $T/bindpw
starttls = yes
ca_file = $SLAPD_CA
page_size = 3
timeout = 5s
snapshot = $S
[trust]
list = $FIX/trust/hopital-test.xml
EOF
M="$MSSCTL -c $T/mssante.conf"

run 0 $M sync --extraction "$FIX/extraction/good.txt"
out_has "from LDAP"
out_lacks "sync-secret"
ok "sync from slapd over StartTLS, paged, plus the extraction"
run 0 $M lookup --json bal jean.martin@hopital-test.mssante.fr
[ "$(json_get 'j["type"]')" = PER ] || fail type
[ "$(json_get 'j["owner"]')" = 810003461033 ] || fail owner
[ "$(json_get 'j["uid"]')" = 200500 ] || fail "mapped uidNumber not kept"
[ "$(json_get 'j["source"]')" = ldap ] || fail source
ok "PER BAL: owner idNat_PS, mapped uidNumber 200500"
run 0 $M lookup --json bal Sophie.Durand@hopital-test.mssante.fr
[ "$(json_get 'j["owner"]')" = 810100000017 ] || fail "owner of a mixed-case BAL"
ok "mixed-case address in LDAP normalised"
run 0 $M lookup --json bal cardiologie@hopital-test.mssante.fr
[ "$(json_get 'j["type"]')" = ORG ] || fail type
[ "$(json_get '",".join(sorted(j["delegates"]))')" = "810003461033,810100000017,810100000041" ] ||
	fail "delegates: $(json_get 'j["delegates"]')"
ok "ORG BAL with its three delegates"
run 0 $M lookup --json bal ancien-service@hopital-test.mssante.fr
[ "$(json_get 'j["status"]')" = suspended ] || fail "suspended BAL"
ok "suspended BAL"
run 0 $M lookup --json bal dpi@hopital-test.mssante.fr
[ "$(json_get 'j["type"]')" = APP ] || fail type
[ "$(json_get 'j["app_subject"]')" = "CN=dpi.hopital-test.fr,OU=31234567800019,O=CH TEST,ST=Paris (75),C=FR" ] ||
	fail "app subject: $(json_get 'j["app_subject"]')"
[ "$(json_get 'j["delegates"]')" = "[]" ] || fail "an APP BAL has no delegates"
ok "APP BAL with its certificate subject"
run 0 $M lookup --json person 810003461033
json_get 'j["ldap_dn"]' | grep -q '^uid=jmartin,ou=people' || fail "person DN"
json_get 'j["bals"]' | grep -q cardiologie || fail "person's BALs"
ok "person record: LDAP DN and BALs"
run 0 $M lookup --json person 810100000033
[ "$(json_get 'j["status"]')" = suspended ] || fail "suspended person"
ok "suspended person"
run 0 $M lookup --json bal claire.vasseur@hopital-test.mssante.fr
[ "$(json_get 'j["source"]')" = extraction ] || fail "extraction BAL lost"
ok "national BALs of the extraction beside the local ones"
run 0 $M lookup --json domain hopital-test.mssante.fr
[ "$(json_get 'j["local"]')" = True ] || fail "local domain"
ok "hopital-test.mssante.fr is a local domain"

# Second sync: every BAL keeps its uid.
run 0 $M lookup --json bal urgences@hopital-test.mssante.fr
uid=$(json_get 'j["uid"]')
run 0 $M sync --extraction "$FIX/extraction/good.txt"
run 0 $M lookup --json bal urgences@hopital-test.mssante.fr
[ "$(json_get 'j["uid"]')" = "$uid" ] || fail "uid changed"
ok "uids stable across syncs"

# A wrong CA: StartTLS fails, never a plaintext fallback.
sed "s|^ca_file = .*|ca_file = /etc/ssl/certs/ca-certificates.crt|" "$T/mssante.conf" >"$T/wrongca.conf"
cp "$S" "$T/before.cdb"
run 2 "$MSSCTL" -c "$T/wrongca.conf" sync
cmp -s "$S" "$T/before.cdb" || fail "snapshot changed"
ok "wrong CA: exit 2, snapshot unchanged"

printf 'wrong-password\n' >"$T/badpw"
chmod 600 "$T/badpw"
sed "s|^bind_password_file = .*|bind_password_file = $T/badpw|" "$T/mssante.conf" >"$T/badpw.conf"
run 2 "$MSSCTL" -c "$T/badpw.conf" sync
out_lacks "wrong-password"
cmp -s "$S" "$T/before.cdb" || fail "snapshot changed"
ok "wrong bind password: exit 2, password not printed, snapshot unchanged"

slapd_stop
start=$(date +%s)
run 2 $M sync
[ $(($(date +%s) - start)) -le 10 ] || fail "sync took too long with the directory down"
cmp -s "$S" "$T/before.cdb" || fail "snapshot changed"
ok "directory down: exit 2 quickly, snapshot byte-identical"
echo "$checks checks passed"
