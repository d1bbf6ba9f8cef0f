#!/bin/sh
# pam_mss method=cps with SoftHSM2 tokens (under the test directory, SOFTHSM2_CONF) holding
# the test CPS certificates of tests/pki in the real DN layout: right PIN, wrong PIN,
# revoked certificate, foreign CA, a card that may not open the BAL (no PIN asked), no card
# (the next method is tried), a CRL missing, and a PKCS#11 module that hangs (time-bounded,
# PAM_AUTHINFO_UNAVAIL). No PIN in any log or audit record.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/slapd.sh"

FIX="$SRC/tests/fixtures"
P11=$(for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so; do [ -f "$m" ] && echo "$m"; done | head -n 1)
[ -n "$P11" ] || fail "libsofthsm2.so not found (apt-get install softhsm2)"
command -v pkcs11-tool >/dev/null 2>&1 || fail "pkcs11-tool not found (apt-get install opensc)"
slapd_start "$T/ldap" "$FIX/hopital.ldif" || fail "slapd did not start"
at_exit slapd_stop
. "$(dirname "$0")/pam-setup.sh"
sh "$SRC/tests/pki/make-pki.sh" "$T/pki" >/dev/null
PKI="$T/pki"

PIN=cps-pin-7359
WRONG_PIN=cps-pin-0000x
# token NAME CERT: a SoftHSM2 token directory holding CERT's key and certificate (id 01),
# as a CPS card holds its authentication pair; NAME.conf is its SOFTHSM2_CONF.
token() {
	mkdir -p "$T/hsm/$1"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$T/hsm/$1" \
		>"$T/hsm/$1.conf"
	[ -n "$2" ] || return 0
	export SOFTHSM2_CONF="$T/hsm/$1.conf"
	softhsm2-util --init-token --free --label CPS --pin "$PIN" --so-pin so-secret-1 >/dev/null
	openssl pkcs8 -topk8 -nocrypt -in "$PKI/$2.key" -out "$T/hsm/$1.p8"
	softhsm2-util --import "$T/hsm/$1.p8" --token CPS --label auth --id 01 --pin "$PIN" >/dev/null
	rm -f "$T/hsm/$1.p8"
	openssl x509 -in "$PKI/$2.crt" -outform DER -out "$T/hsm/$1.der"
	pkcs11-tool --module "$P11" --token-label CPS --login --pin "$PIN" --write-object "$T/hsm/$1.der" \
		--type cert --id 01 --label auth >/dev/null 2>&1 || fail "pkcs11-tool could not store $2"
	unset SOFTHSM2_CONF
}
token martin cps-martin
token durand cps-durand
token foreign cps-foreign
token empty ""
card() { PAM_EXTRA_ENV="SOFTHSM2_CONF=$T/hsm/$1.conf"; }

printf 'sync-secret\n' >"$T/bindpw"
chmod 600 "$T/bindpw"
conf() { # PKCS11_MODULE CRL
	cat <<EOF
uri = $SLAPD_URI
ca_file = $SLAPD_CA
snapshot = $T/s.cdb
base = $SLAPD_BASE
bind_dn = cn=mssante-sync,ou=services,$SLAPD_BASE
bind_password_file = $T/bindpw
[trust]
list = $FIX/trust/hopital-test.xml
[audit]
directory = $T/audit
[pam]
pkcs11_module = $1
pkcs11_timeout = 3s
cps_ca_file = $PKI/igc-sante-personnes.pem
crl = $2
EOF
}
conf "$P11" "$PKI/ca-personnes.crl" | write_conf "$PAM_CONF"
run 0 "$MSSCTL" -c "$PAM_CONF" sync
pam_service login method=cps debug
pam_service imap method=cps,password
attempts=0
try() { attempts=$((attempts + 1)); pam_try "$@"; }
PER=jean.martin@hopital-test.mssante.fr

card martin
try SUCCESS login "$PER" "$PIN"
audit_is decision ok
audit_is method cps
audit_is actor 810003461033
audit_is bal_type PER
grep -q "CPS card PIN" "$T/out" || fail "the PIN was not asked through the conversation"
ok "CPS of the holder, right PIN: challenge signed on the card, success"

try AUTH_ERR login "$PER" "$WRONG_PIN"
audit_is reason wrong_pin
try AUTH_ERR login "$PER" ""
audit_is reason empty_pin
ok "wrong or empty PIN: PAM_AUTH_ERR"

try SUCCESS login cardiologie@hopital-test.mssante.fr "$PIN" -- authenticate acct_mgmt
attempts=$((attempts + 1))
audit_is actor 810003461033
try SUCCESS login 810003461033 "$PIN"
audit_is bal None
ok "the same card opens an ORG BAL of which the holder is a delegate, and a console login by idNat_PS"

try AUTH_ERR login sophie.durand@hopital-test.mssante.fr "$PIN"
audit_is reason not_owner
grep -q "CPS card PIN" "$T/out" && fail "a PIN was asked for a BAL the card may not open"
try AUTH_ERR login dpi@hopital-test.mssante.fr "$PIN"
audit_is reason app_not_a_person
try AUTH_ERR login 810100000017 "$PIN"
audit_is reason not_this_person
ok "another person's BAL, an APP BAL, another idNat_PS: refused before any PIN"

card durand
try AUTH_ERR login sophie.durand@hopital-test.mssante.fr "$PIN"
audit_is reason certificate_revoked
card foreign
try AUTH_ERR login 810100000025 "$PIN"
audit_is reason certificate_untrusted
ok "revoked certificate (local CRL) and certificate of a foreign CA: refused"

# No card: method=cps alone fails; cps,password goes on to the password.
card empty
try AUTH_ERR login "$PER"
audit_is reason no_card
try SUCCESS imap "$PER" 'Martin-2024!'
audit_is method password
ok "no card: cps passes to the next method (password), never a success by itself"

# Trust files: no CRL -> no card login.
card martin
conf "$P11" "$T/none.crl" | write_conf "$T/nocrl.conf"
sed "s|config=$PAM_CONF|config=$T/nocrl.conf|" "$T/pam.d/login" >"$T/pam.d/login-nocrl"
try AUTHINFO_UNAVAIL login-nocrl "$PER" "$PIN"
audit_is reason cps_trust_unavailable
cp "$PKI/ca-personnes.crl" "$T/ww.crl"
chmod 666 "$T/ww.crl"
conf "$P11" "$T/ww.crl" | write_conf "$T/wwcrl.conf"
sed "s|config=$PAM_CONF|config=$T/wwcrl.conf|" "$T/pam.d/login" >"$T/pam.d/login-wwcrl"
try AUTHINFO_UNAVAIL login-wwcrl "$PER" "$PIN"
ok "CRL missing or world-writable: PAM_AUTHINFO_UNAVAIL"

# A module that hangs: the child is killed after pkcs11_timeout (3 s).
conf "$BUILD/pkcs11-hang.so" "$PKI/ca-personnes.crl" | write_conf "$T/hang.conf"
sed "s|config=$PAM_CONF|config=$T/hang.conf|" "$T/pam.d/login" >"$T/pam.d/login-hang"
start=$(date +%s)
try AUTHINFO_UNAVAIL login-hang "$PER" "$PIN"
elapsed=$(($(date +%s) - start))
audit_is reason card_timeout
[ "$elapsed" -le 20 ] || fail "a hanging PKCS#11 module held the login for $elapsed s"
ok "hanging PKCS#11 module: PAM_AUTHINFO_UNAVAIL after the timeout (${elapsed}s)"

[ "$(audit_count)" -eq "$attempts" ] || fail "$(audit_count) audit records for $attempts attempts"
audit_chain_ok
ok "one audit record per attempt ($attempts), chain intact"
secrets_absent "$PIN" "$WRONG_PIN" 'Martin-2024!' so-secret-1
ok "no PIN or password in the logs or the audit trail"
echo "$checks checks passed"
