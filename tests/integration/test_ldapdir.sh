#!/bin/sh
# Reading the hospital directory from a real slapd (tests/fixtures/hopital.ldif) with
# build/ldapdir-dump: StartTLS + CA + simple bind + paged results, SASL EXTERNAL over ldapi,
# and the failures that must be clear and safe (wrong CA, wrong password, loose password
# file, a server that stops answering, invalid entries).
# Environment: BUILD (absolute build dir) and SRC (repo root), as set by tests/run-tests.sh.
set -eu

SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
DUMP=$BUILD/ldapdir-dump
. "$SRC/tests/integration/lib/slapd.sh"

# Normally built by the top-level Makefile (INTEGRATION_PROGS, tests/integration/integration.mk).
if [ ! -x "$DUMP" ]; then
	make -s -C "$SRC" BUILD="$BUILD" "$DUMP" >&2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mss-test-ldapdir.XXXXXX")
cleanup() {
	slapd_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failures=0
checks=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
ok() {
	checks=$((checks + 1))
}

slapd_start "$TMP/slapd" "$SRC/tests/fixtures/hopital.ldif"
echo "slapd on $SLAPD_URI (pid $SLAPD_PID)"

SYNC_DN="cn=mssante-sync,ou=services,$SLAPD_BASE"
PASSWORD=sync-secret
printf '%s\n' "$PASSWORD" >"$TMP/bind.pw"
chmod 600 "$TMP/bind.pw"

# write_conf FILE key=value...: a [directory] section (and [nss] defaults).
write_conf() {
	_f=$1
	shift
	{
		echo "[directory]"
		for kv in "$@"; do
			echo "${kv%%=*} = ${kv#*=}"
		done
	} >"$_f"
}

# run NAME CONF: runs the dump with a hard outer limit; output in $TMP/NAME.out/.err, exit in $rc.
run() {
	rc=0
	timeout 60 "$DUMP" "$2" >"$TMP/$1.out" 2>"$TMP/$1.err" || rc=$?
}

# ---- the expected directory, in the order entries come back sorted ----
cat >"$TMP/expected" <<EOF
bal|address=alice.leroy@hopital-test.mssante.fr|type=PER|status=active|uid=-|name=Dr Alice Leroy|owner=uid=aleroy,ou=people,dc=hopital-test,dc=fr|delegates=uid=aleroy,ou=people,dc=hopital-test,dc=fr|app_subject=-|dn=cn=alice.leroy,ou=bal,dc=hopital-test,dc=fr
bal|address=ancien-service@hopital-test.mssante.fr|type=ORG|status=suspended|uid=-|name=Ancien service de rhumatologie|owner=-|delegates=uid=pbernard,ou=people,dc=hopital-test,dc=fr|app_subject=-|dn=cn=ancien-service,ou=bal,dc=hopital-test,dc=fr
bal|address=cardiologie@hopital-test.mssante.fr|type=ORG|status=active|uid=-|name=Service de cardiologie|owner=-|delegates=uid=jmartin,ou=people,dc=hopital-test,dc=fr;uid=sdurand,ou=people,dc=hopital-test,dc=fr;uid=tmoreau,ou=people,dc=hopital-test,dc=fr|app_subject=-|dn=cn=cardiologie,ou=bal,dc=hopital-test,dc=fr
bal|address=claire.lefebvre@hopital-test.mssante.fr|type=PER|status=active|uid=-|name=claire.lefebvre|owner=uid=clefebvre,ou=people,dc=hopital-test,dc=fr|delegates=uid=clefebvre,ou=people,dc=hopital-test,dc=fr|app_subject=-|dn=cn=claire.lefebvre,ou=bal,dc=hopital-test,dc=fr
bal|address=dpi@hopital-test.mssante.fr|type=APP|status=active|uid=-|name=Dossier patient informatise|owner=-|delegates=cn=dpi,ou=bal,dc=hopital-test,dc=fr|app_subject=CN=dpi.hopital-test.fr,OU=31234567800019,O=CH TEST,ST=Paris (75),C=FR|dn=cn=dpi,ou=bal,dc=hopital-test,dc=fr
bal|address=jean.martin@hopital-test.mssante.fr|type=PER|status=active|uid=200500|name=Dr Jean Martin|owner=uid=jmartin,ou=people,dc=hopital-test,dc=fr|delegates=uid=jmartin,ou=people,dc=hopital-test,dc=fr|app_subject=-|dn=cn=jean.martin,ou=bal,dc=hopital-test,dc=fr
bal|address=sophie.durand@hopital-test.mssante.fr|type=PER|status=active|uid=-|name=Dr Sophie Durand|owner=uid=sdurand,ou=people,dc=hopital-test,dc=fr|delegates=uid=sdurand,ou=people,dc=hopital-test,dc=fr|app_subject=-|dn=cn=sophie.durand,ou=bal,dc=hopital-test,dc=fr
bal|address=urgences@hopital-test.mssante.fr|type=ORG|status=active|uid=-|name=Service des urgences adultes — accueil|owner=-|delegates=uid=pbernard,ou=people,dc=hopital-test,dc=fr;uid=clefebvre,ou=people,dc=hopital-test,dc=fr|app_subject=-|dn=cn=urgences,ou=bal,dc=hopital-test,dc=fr
person|idnat=0751001234|status=active|name=Dr Claire Lefèbvre|dn=uid=clefebvre,ou=people,dc=hopital-test,dc=fr
person|idnat=810003461033|status=active|name=Dr Jean Martin|dn=uid=jmartin,ou=people,dc=hopital-test,dc=fr
person|idnat=810100000017|status=active|name=Dr Sophie Durand|dn=uid=sdurand,ou=people,dc=hopital-test,dc=fr
person|idnat=810100000025|status=active|name=Pierre Bernard|dn=uid=pbernard,ou=people,dc=hopital-test,dc=fr
person|idnat=810100000033|status=suspended|name=Dr Alice Leroy|dn=uid=aleroy,ou=people,dc=hopital-test,dc=fr
person|idnat=810100000041|status=active|name=Thomas Moreau|dn=uid=tmoreau,ou=people,dc=hopital-test,dc=fr
summary|persons=6|bals=8|skipped=0
EOF

# Counts the paged SRCH requests slapd logged so far for a filter.
count_searches() {
	grep -c "SRCH base=\"$SLAPD_BASE\" scope=2 deref=0 filter=\"$1\"" "$SLAPD_LOG" || true
}

# ---- 1. StartTLS + CA + simple bind + page_size=2 ----
write_conf "$TMP/tls.conf" "uri=$SLAPD_URI" "base=$SLAPD_BASE" "starttls=yes" "ca_file=$SLAPD_CA" \
	"bind_dn=$SYNC_DN" "bind_password_file=$TMP/bind.pw" "page_size=2" "timeout=10"
bal_searches_before=$(count_searches '(&(mail=\*)(businessCategory=\*))')
run tls "$TMP/tls.conf"
if [ "$rc" -ne 0 ]; then
	fail "StartTLS dump exited $rc: $(cat "$TMP/tls.err")"
else
	ok
fi
LC_ALL=C sort "$TMP/tls.out" >"$TMP/tls.sorted"
LC_ALL=C sort "$TMP/expected" >"$TMP/expected.sorted"
if cmp -s "$TMP/tls.sorted" "$TMP/expected.sorted"; then ok; else
	fail "StartTLS dump differs from the expected directory:"
	diff "$TMP/expected.sorted" "$TMP/tls.sorted" >&2 || true
fi
[ ! -s "$TMP/tls.err" ] && ok || fail "unexpected stderr: $(cat "$TMP/tls.err")"
# 8 BALs in pages of 2: at least 4 search requests (the last page may be empty).
bal_searches=$(($(count_searches '(&(mail=\*)(businessCategory=\*))') - bal_searches_before))
[ "$bal_searches" -ge 4 ] && ok || fail "expected >= 4 paged BAL searches, slapd saw $bal_searches"
# The connection really was TLS: slapd logs the StartTLS extended operation.
grep -q 'EXT oid=1.3.6.1.4.1.1466.20037' "$SLAPD_LOG" && ok || fail "slapd saw no StartTLS"
grep -q "BIND dn=\"$SYNC_DN\" method=128" "$SLAPD_LOG" && ok || fail "slapd saw no simple bind as $SYNC_DN"

# ---- 2. one big page gives the same directory in a single search each ----
write_conf "$TMP/bigpage.conf" "uri=$SLAPD_URI" "base=$SLAPD_BASE" "starttls=yes" "ca_file=$SLAPD_CA" \
	"bind_dn=$SYNC_DN" "bind_password_file=$TMP/bind.pw" "page_size=1000"
before=$(count_searches '(&(mail=\*)(businessCategory=\*))')
run bigpage "$TMP/bigpage.conf"
LC_ALL=C sort "$TMP/bigpage.out" >"$TMP/bigpage.sorted"
[ "$rc" -eq 0 ] && cmp -s "$TMP/bigpage.sorted" "$TMP/expected.sorted" && ok ||
	fail "page_size=1000 dump differs (exit $rc): $(cat "$TMP/bigpage.err")"
after=$(count_searches '(&(mail=\*)(businessCategory=\*))')
[ $((after - before)) -eq 1 ] && ok || fail "page_size=1000: expected 1 BAL search, saw $((after - before))"

# ---- 3. ldapi:// without bind_dn: SASL EXTERNAL as the local user ----
write_conf "$TMP/ldapi.conf" "uri=$SLAPD_LDAPI" "base=$SLAPD_BASE" "page_size=3"
run ldapi "$TMP/ldapi.conf"
LC_ALL=C sort "$TMP/ldapi.out" >"$TMP/ldapi.sorted"
[ "$rc" -eq 0 ] && cmp -s "$TMP/ldapi.sorted" "$TMP/expected.sorted" && ok ||
	fail "ldapi dump differs (exit $rc): $(cat "$TMP/ldapi.err")"
grep -q 'BIND dn="" method=163' "$SLAPD_LOG" && ok || fail "slapd saw no SASL bind over ldapi"

# ---- 4. anonymous over StartTLS: allowed to connect, reads nothing (ACL) -> empty result ----
write_conf "$TMP/anon.conf" "uri=$SLAPD_URI" "base=$SLAPD_BASE" "starttls=yes" "ca_file=$SLAPD_CA"
run anon "$TMP/anon.conf"
# The base is invisible to anonymous users: slapd answers noSuchObject, which is an error.
[ "$rc" -eq 1 ] && grep -q 'No such object' "$TMP/anon.err" && ok ||
	fail "anonymous read: expected exit 1 with 'No such object', got $rc: $(cat "$TMP/anon.err")"

# ---- 5. wrong CA: StartTLS fails clearly, nothing is read, no plaintext fallback ----
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout "$TMP/other-ca.key" -out "$TMP/other-ca.crt" \
	-subj "/CN=Some Other CA" >/dev/null 2>&1
write_conf "$TMP/wrongca.conf" "uri=$SLAPD_URI" "base=$SLAPD_BASE" "starttls=yes" "ca_file=$TMP/other-ca.crt" \
	"bind_dn=$SYNC_DN" "bind_password_file=$TMP/bind.pw"
binds_before=$(grep -c 'BIND dn=' "$SLAPD_LOG" || true)
run wrongca "$TMP/wrongca.conf"
echo "wrong CA: $(cat "$TMP/wrongca.err")"
[ "$rc" -eq 1 ] && ok || fail "wrong CA: expected exit 1, got $rc"
grep -q 'StartTLS on ldap://127.0.0.1:[0-9]* failed' "$TMP/wrongca.err" && ok ||
	fail "wrong CA: error does not name StartTLS: $(cat "$TMP/wrongca.err")"
grep -qi 'certificate\|verif\|issuer' "$TMP/wrongca.err" && ok ||
	fail "wrong CA: error does not say the certificate is the problem: $(cat "$TMP/wrongca.err")"
[ ! -s "$TMP/wrongca.out" ] && ok || fail "wrong CA: entries were printed"
binds_after=$(grep -c 'BIND dn=' "$SLAPD_LOG" || true)
[ "$binds_after" -eq "$binds_before" ] && ok || fail "wrong CA: a bind was sent anyway"

# ---- 5b. ldaps:// with the right CA reads everything; with the wrong one fails clearly ----
write_conf "$TMP/ldaps.conf" "uri=$SLAPD_LDAPS" "base=$SLAPD_BASE" "ca_file=$SLAPD_CA" \
	"bind_dn=$SYNC_DN" "bind_password_file=$TMP/bind.pw"
run ldaps "$TMP/ldaps.conf"
LC_ALL=C sort "$TMP/ldaps.out" >"$TMP/ldaps.sorted"
[ "$rc" -eq 0 ] && cmp -s "$TMP/ldaps.sorted" "$TMP/expected.sorted" && ok ||
	fail "ldaps dump differs (exit $rc): $(cat "$TMP/ldaps.err")"
write_conf "$TMP/ldaps-wrongca.conf" "uri=$SLAPD_LDAPS" "base=$SLAPD_BASE" "ca_file=$TMP/other-ca.crt" \
	"bind_dn=$SYNC_DN" "bind_password_file=$TMP/bind.pw"
run ldapswrong "$TMP/ldaps-wrongca.conf"
echo "ldaps, wrong CA: $(cat "$TMP/ldapswrong.err")"
[ "$rc" -eq 1 ] && grep -q "TLS connection to $SLAPD_LDAPS failed.*was refused" "$TMP/ldapswrong.err" && ok ||
	fail "ldaps, wrong CA: exit $rc: $(cat "$TMP/ldapswrong.err")"
[ ! -s "$TMP/ldapswrong.out" ] && ok || fail "ldaps, wrong CA: entries were printed"

# ---- 6. wrong password: clear error, the password appears nowhere ----
WRONG='Wr0ng-P4ss-Zz9'
printf '%s\n' "$WRONG" >"$TMP/wrong.pw"
chmod 600 "$TMP/wrong.pw"
write_conf "$TMP/wrongpw.conf" "uri=$SLAPD_URI" "base=$SLAPD_BASE" "starttls=yes" "ca_file=$SLAPD_CA" \
	"bind_dn=$SYNC_DN" "bind_password_file=$TMP/wrong.pw"
run wrongpw "$TMP/wrongpw.conf"
echo "wrong password: $(cat "$TMP/wrongpw.err")"
[ "$rc" -eq 1 ] && ok || fail "wrong password: expected exit 1, got $rc"
grep -q "bind as $SYNC_DN failed: Invalid credentials" "$TMP/wrongpw.err" && ok ||
	fail "wrong password: unclear error: $(cat "$TMP/wrongpw.err")"
if grep -qF "$WRONG" "$TMP/wrongpw.err" "$TMP/wrongpw.out"; then fail "wrong password printed"; else ok; fi
[ ! -s "$TMP/wrongpw.out" ] && ok || fail "wrong password: entries were printed"

# ---- 7. a password file readable by others is refused before connecting ----
printf '%s\n' "$PASSWORD" >"$TMP/loose.pw"
chmod 644 "$TMP/loose.pw"
write_conf "$TMP/loose.conf" "uri=$SLAPD_URI" "base=$SLAPD_BASE" "starttls=yes" "ca_file=$SLAPD_CA" \
	"bind_dn=$SYNC_DN" "bind_password_file=$TMP/loose.pw"
run loose "$TMP/loose.conf"
[ "$rc" -eq 1 ] && grep -q 'loose.pw: accessible by group or others (mode 0644)' "$TMP/loose.err" && ok ||
	fail "loose password file: exit $rc: $(cat "$TMP/loose.err")"
if grep -qF "$PASSWORD" "$TMP/loose.err"; then fail "loose password file: password printed"; else ok; fi

# ---- 8. invalid entries are skipped, counted and described; the rest is read ----
cat >"$TMP/bad.ldif" <<EOF
dn: cn=bad-type,ou=bal,$SLAPD_BASE
objectClass: groupOfNames
objectClass: extensibleObject
cn: bad-type
mail: bad-type@hopital-test.mssante.fr
businessCategory: XYZ
member: uid=jmartin,ou=people,$SLAPD_BASE

dn: cn=bad-mail,ou=bal,$SLAPD_BASE
objectClass: groupOfNames
objectClass: extensibleObject
cn: bad-mail
mail: not an address@@hopital-test.mssante.fr
businessCategory: ORG
member: uid=jmartin,ou=people,$SLAPD_BASE

dn: cn=two-mails,ou=bal,$SLAPD_BASE
objectClass: groupOfNames
objectClass: extensibleObject
cn: two-mails
mail: one@hopital-test.mssante.fr
mail: two@hopital-test.mssante.fr
businessCategory: ORG
member: uid=jmartin,ou=people,$SLAPD_BASE

dn: cn=root-uid,ou=bal,$SLAPD_BASE
objectClass: groupOfNames
objectClass: extensibleObject
cn: root-uid
mail: root-uid@hopital-test.mssante.fr
businessCategory: PER
uidNumber: 0
owner: uid=jmartin,ou=people,$SLAPD_BASE
member: uid=jmartin,ou=people,$SLAPD_BASE

dn: cn=two-owners,ou=bal,$SLAPD_BASE
objectClass: groupOfNames
objectClass: extensibleObject
cn: two-owners
mail: two-owners@hopital-test.mssante.fr
businessCategory: PER
owner: uid=jmartin,ou=people,$SLAPD_BASE
owner: uid=sdurand,ou=people,$SLAPD_BASE
member: uid=jmartin,ou=people,$SLAPD_BASE

dn: uid=badid,ou=people,$SLAPD_BASE
objectClass: inetOrgPerson
uid: badid
cn: Bad Id
sn: Id
employeeNumber: 12345

dn: uid=ctrl,ou=people,$SLAPD_BASE
objectClass: inetOrgPerson
uid: ctrl
cn: Ctrl Name
sn: Name
displayName:: RHIgQmVsbAdOYW1l
employeeNumber: 810100000058
EOF
if ldapadd -x -H "$SLAPD_LDAPI" -D "$SLAPD_ROOTDN" -w "$SLAPD_ROOTPW" -f "$TMP/bad.ldif" >"$TMP/ldapadd.log" 2>&1; then
	run bad "$TMP/tls.conf"
	[ "$rc" -eq 0 ] && ok || fail "invalid entries: dump exited $rc: $(cat "$TMP/bad.err")"
	grep -q '^summary|persons=6|bals=8|skipped=7$' "$TMP/bad.out" && ok ||
		fail "invalid entries: wrong summary: $(grep summary "$TMP/bad.out")"
	while IFS= read -r line; do
		grep -qxF "$line" "$TMP/bad.out" && ok || fail "invalid entries: missing line: $line"
	done <<EOF
skipped|dn=cn=bad-type,ou=bal,$SLAPD_BASE|reason=attribute businessCategory: unknown BAL type (PER, ORG, APP, CAB)
skipped|dn=cn=two-mails,ou=bal,$SLAPD_BASE|reason=attribute mail: has several values
skipped|dn=cn=root-uid,ou=bal,$SLAPD_BASE|reason=attribute uidNumber: uid is out of the [nss] uid_min..uid_max range
skipped|dn=cn=two-owners,ou=bal,$SLAPD_BASE|reason=attribute owner: has several values on a PER BAL
skipped|dn=uid=badid,ou=people,$SLAPD_BASE|reason=attribute employeeNumber: not an idNat_PS ('8' + 11-digit RPPS or '0' + 9-digit ADELI)
skipped|dn=uid=ctrl,ou=people,$SLAPD_BASE|reason=attribute displayName: contains a control character
EOF
	grep -q "^skipped|dn=cn=bad-mail,ou=bal,$SLAPD_BASE|reason=attribute mail: " "$TMP/bad.out" && ok ||
		fail "invalid entries: bad-mail not described"
	# The good entries are all still there.
	grep -v '^skipped\|^summary' "$TMP/bad.out" | LC_ALL=C sort >"$TMP/bad.kept"
	grep -v '^summary' "$TMP/expected.sorted" >"$TMP/expected.entries"
	cmp -s "$TMP/bad.kept" "$TMP/expected.entries" && ok || fail "invalid entries: the valid ones changed"
	sed -n 's/^dn: //p' "$TMP/bad.ldif" | while IFS= read -r dn; do
		ldapdelete -x -H "$SLAPD_LDAPI" -D "$SLAPD_ROOTDN" -w "$SLAPD_ROOTPW" "$dn"
	done
else
	fail "ldapadd of the invalid entries failed: $(cat "$TMP/ldapadd.log")"
fi

# ---- 9. a server that stops answering: the reader gives up after [directory] timeout ----
write_conf "$TMP/hang.conf" "uri=$SLAPD_URI" "base=$SLAPD_BASE" "starttls=yes" "ca_file=$SLAPD_CA" \
	"bind_dn=$SYNC_DN" "bind_password_file=$TMP/bind.pw" "timeout=2"
kill -STOP "$SLAPD_PID"
start=$(date +%s)
run hang "$TMP/hang.conf"
elapsed=$(($(date +%s) - start))
kill -CONT "$SLAPD_PID"
echo "stopped server: $(cat "$TMP/hang.err") (${elapsed}s)"
[ "$rc" -eq 1 ] && ok || fail "stopped server: expected exit 1, got $rc"
[ "$elapsed" -le 10 ] && ok || fail "stopped server: took ${elapsed}s with timeout=2"

# And it answers again once resumed.
run again "$TMP/tls.conf"
[ "$rc" -eq 0 ] && grep -q '^summary|persons=6|bals=8|skipped=0$' "$TMP/again.out" && ok ||
	fail "after resume: exit $rc: $(cat "$TMP/again.err")"

echo "test_ldapdir: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
