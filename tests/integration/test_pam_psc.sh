#!/bin/sh
# pam_mss method=psc: Pro Santé Connect tokens signed by keys the test makes (RS256 and
# ES256), validated offline against a JWKS file — the directory is stopped before the first
# login. Valid tokens on PER and ORG BALs; expired, wrong issuer, wrong acr, tampered
# payload, alg none, HS256 keyed with the public key, unknown key, wrong audience; a
# non-delegate on an ORG BAL and a person on an APP BAL. No token in any log or audit record.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/slapd.sh"

FIX="$SRC/tests/fixtures"
ISS=https://psc.test.example/auth/realms/esante-wallet
slapd_start "$T/ldap" "$FIX/hopital.ldif" || fail "slapd did not start"
at_exit slapd_stop
. "$(dirname "$0")/pam-setup.sh"
SIGN="$BUILD/psc-sign"
[ -x "$SIGN" ] || fail "$SIGN not built (make integration-progs)"

printf 'sync-secret\n' >"$T/bindpw"
chmod 600 "$T/bindpw"
write_conf "$PAM_CONF" <<EOF
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
psc_jwks = $T/jwks.json
psc_issuer = $ISS
psc_clock_skew = 30s
EOF
run 0 "$MSSCTL" -c "$PAM_CONF" sync
slapd_stop # tokens are checked offline

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/psc-rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/psc-ec.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rogue.pem" 2>/dev/null
"$SIGN" jwks psc-rsa="$T/psc-rsa.pem" psc-ec="$T/psc-ec.pem" >"$T/jwks.json"
chmod 644 "$T/jwks.json"
openssl pkey -in "$T/psc-rsa.pem" -pubout -out "$T/psc-rsa.pub" 2>/dev/null

now=$(date +%s)
RS='{"alg":"RS256","typ":"JWT","kid":"psc-rsa"}'
ES='{"alg":"ES256","typ":"JWT","kid":"psc-ec"}'
claims() { # IDNAT [EXP] [ISS] [ACR]
	printf '{"exp":%s,"iat":%s,"iss":"%s","aud":"mss-imap","azp":"mss-client","acr":"%s","SubjectNameID":"%s","given_name":"JEAN"}' \
		"${2:-$((now + 300))}" "$now" "${3:-$ISS}" "${4:-eidas1}" "$1"
}
tok() { "$SIGN" token "$@"; }
JM=810003461033 SD=810100000017 PB=810100000025 AL=810100000033
T_JM=$(tok "$T/psc-rsa.pem" "$RS" "$(claims $JM)")
T_JM_ES=$(tok "$T/psc-ec.pem" "$ES" "$(claims $JM)")
T_SD=$(tok "$T/psc-rsa.pem" "$RS" "$(claims $SD)")
T_PB=$(tok "$T/psc-rsa.pem" "$RS" "$(claims $PB)")
T_AL=$(tok "$T/psc-rsa.pem" "$RS" "$(claims $AL)")
T_EXPIRED=$(tok "$T/psc-rsa.pem" "$RS" "$(claims $JM $((now - 120)))")
T_ISS=$(tok "$T/psc-rsa.pem" "$RS" "$(claims $JM "" https://evil.example/auth/realms/x)")
T_ACR=$(tok "$T/psc-rsa.pem" "$RS" "$(claims $JM "" "" eidas2)")
T_NONE=$(tok - '{"alg":"none","typ":"JWT"}' "$(claims $JM)")
T_HS=$("$SIGN" hs256 "$T/psc-rsa.pub" '{"alg":"HS256","typ":"JWT","kid":"psc-rsa"}' "$(claims $JM)")
T_ROGUE=$(tok "$T/rogue.pem" "$RS" "$(claims $JM)")
T_UNKNOWN_KID=$(tok "$T/rogue.pem" '{"alg":"RS256","kid":"rogue"}' "$(claims $JM)")
T_BADJSON=$(tok - '{"alg":"RS256"' "$(claims $JM)")
# Tampered: the payload of Sophie Durand's token under the signature of Jean Martin's.
T_TAMPERED=$(echo "$T_JM" | cut -d. -f1).$(echo "$T_SD" | cut -d. -f2).$(echo "$T_JM" | cut -d. -f3)

pam_service imap method=psc
pam_service imap-both method=password,psc debug
attempts=0
try() { attempts=$((attempts + 1)); pam_try "$@"; }
PER=jean.martin@hopital-test.mssante.fr
ORG=cardiologie@hopital-test.mssante.fr

try SUCCESS imap "$PER" "$T_JM"
audit_is decision ok
audit_is method psc
audit_is actor $JM
audit_is bal_type PER
try SUCCESS imap "$PER" "$T_JM_ES"
try SUCCESS imap-both "$PER" "$T_JM"
audit_is method psc
ok "valid RS256 and ES256 tokens of the holder open the PER BAL, directory down"

try SUCCESS imap "$ORG" "$T_JM" -- authenticate acct_mgmt
attempts=$((attempts + 1))
audit_is actor $JM
audit_is bal_type ORG
try AUTH_ERR imap "$ORG" "$T_PB"
audit_is reason not_delegate
audit_is actor $PB
ok "a delegate's token opens the ORG BAL; a non-delegate's is refused"

try AUTH_ERR imap dpi@hopital-test.mssante.fr "$T_JM"
audit_is reason app_not_a_person
try AUTH_ERR imap "$PER" "$T_SD"
audit_is reason not_owner
try AUTH_ERR imap alice.leroy@hopital-test.mssante.fr "$T_AL"
audit_is reason suspended_person
try SUCCESS imap $JM "$T_JM"
try AUTH_ERR imap $SD "$T_JM"
audit_is reason not_this_person
ok "person token on an APP BAL, on another's PER BAL, of a suspended person: refused"

check_bad() { # TOKEN REASON
	try AUTH_ERR imap "$PER" "$1"
	audit_is reason "$2"
	audit_is decision fail
}
check_bad "$T_EXPIRED" expired
check_bad "$T_ISS" wrong_issuer
check_bad "$T_ACR" wrong_acr
check_bad "$T_TAMPERED" bad_signature
check_bad "$T_NONE" unsupported_alg
check_bad "$T_HS" unsupported_alg
check_bad "$T_ROGUE" bad_signature
check_bad "$T_UNKNOWN_KID" unknown_key
check_bad "$T_BADJSON" malformed_token
ok "expired, wrong issuer, wrong acr, tampered, alg none, HS256 with the public key, rogue key: refused"

# aud / azp when configured.
{ cat "$PAM_CONF"; echo "psc_audience = other-service"; } >"$T/aud.conf"
sed "s|config=$PAM_CONF|config=$T/aud.conf|" "$T/pam.d/imap" >"$T/pam.d/imap-aud"
try AUTH_ERR imap-aud "$PER" "$T_JM"
audit_is reason wrong_audience
{ cat "$PAM_CONF"; echo "psc_audience = other, mss-imap"; echo "psc_client_ids = mss-client"; } >"$T/aud2.conf"
sed "s|config=$PAM_CONF|config=$T/aud2.conf|" "$T/pam.d/imap" >"$T/pam.d/imap-aud2"
try SUCCESS imap-aud2 "$PER" "$T_JM"
ok "audience and client checked when configured"

# A password given to method=psc is not a token (and never reaches LDAP: it is down anyway).
try AUTH_ERR imap "$PER" 'Martin-2024!'
audit_is reason password_method_not_enabled
# The key file must be safe and present.
chmod 666 "$T/jwks.json"
try AUTHINFO_UNAVAIL imap "$PER" "$T_JM"
audit_is reason jwks_unavailable
chmod 644 "$T/jwks.json"
mv "$T/jwks.json" "$T/jwks.moved"
try AUTHINFO_UNAVAIL imap "$PER" "$T_JM"
echo '{"keys":[]}' >"$T/jwks.json"
try AUTHINFO_UNAVAIL imap "$PER" "$T_JM"
mv "$T/jwks.moved" "$T/jwks.json"
try SUCCESS imap "$PER" "$T_JM"
ok "JWKS world-writable, missing or empty: PAM_AUTHINFO_UNAVAIL"

[ "$(audit_count)" -eq "$attempts" ] || fail "$(audit_count) audit records for $attempts attempts"
audit_chain_ok
ok "one audit record per attempt ($attempts), chain intact"

# No token, nor any of its signature parts, in the logs or the audit trail.
for t in "$T_JM" "$T_JM_ES" "$T_SD" "$T_PB" "$T_AL" "$T_EXPIRED" "$T_ISS" "$T_ACR" "$T_NONE" "$T_HS" \
	"$T_ROGUE" "$T_UNKNOWN_KID" "$T_TAMPERED" "$T_BADJSON"; do
	secrets_absent "$t" "$(echo "$t" | cut -d. -f2)"
	sig=$(echo "$t" | cut -d. -f3)
	[ -z "$sig" ] || secrets_absent "$sig"
done
secrets_absent 'Martin-2024!'
ok "no token or password in the logs or the audit trail"
echo "$checks checks passed"
