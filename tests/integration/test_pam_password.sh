#!/bin/sh
# pam_mss method=password against a real slapd (StartTLS and ldaps, CA checked), driven by
# pamtester under pam_wrapper: good and wrong passwords, empty password refused before any
# bind, hostile usernames, suspended person, ORG and APP BALs, account management and
# allowed_types, a stale or missing snapshot, unsafe configuration files, the directory
# frozen then stopped mid-test (PAM_AUTHINFO_UNAVAIL, never success). One audit record per
# attempt; no password anywhere in the logs or the audit trail.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/slapd.sh"

FIX="$SRC/tests/fixtures"
slapd_start "$T/ldap" "$FIX/hopital.ldif" || fail "slapd did not start"
at_exit slapd_stop
. "$(dirname "$0")/pam-setup.sh"

printf 'sync-secret\n' >"$T/bindpw"
chmod 600 "$T/bindpw"
conf_body() { # URI STARTTLS CA SNAPSHOT
	cat <<EOF
uri = $1
starttls = $2
ca_file = $3
snapshot = $4
base = $SLAPD_BASE
bind_dn = cn=mssante-sync,ou=services,$SLAPD_BASE
bind_password_file = $T/bindpw
max_age = 1h
[trust]
list = $FIX/trust/hopital-test.xml
[audit]
directory = $T/audit
[pam]
ldap_timeout = 2s
EOF
}
conf_body "$SLAPD_URI" yes "$SLAPD_CA" "$T/s.cdb" | write_conf "$PAM_CONF"
run 0 "$MSSCTL" -c "$PAM_CONF" sync
pam_service imap method=password debug

JM=jean.martin@hopital-test.mssante.fr
JM_PW='Martin-2024!'
SD_PW='Durand-2024!'
AL_PW='motdepasse-aleroy'
binds() { grep -c "BIND dn=\"$1" "$SLAPD_LOG" || true; }
attempts=0
try() { attempts=$((attempts + 1)); pam_try "$@"; }

try SUCCESS imap "$JM" "$JM_PW"
audit_is decision ok
audit_is method password
audit_is actor 810003461033
audit_is bal_type PER
audit_is service imap
ok "right password over StartTLS: success, audited with the actor"

try AUTH_ERR imap "$JM" 'Martin-2024?'
audit_is decision fail
audit_is reason wrong_password
ok "wrong password: PAM_AUTH_ERR"

before=$(binds uid=jmartin)
try AUTH_ERR imap "$JM" ""
audit_is reason empty_password
[ "$(binds uid=jmartin)" = "$before" ] || fail "an empty password reached the directory"
ok "empty password refused before any bind"

# A NUL cuts the password the conversation returns: what is left is simply wrong.
printf 'Martin\000-2024!\n' >"$T/nul-pw"
PAM_STDIN_FILE="$T/nul-pw"
try AUTH_ERR imap "$JM"
PAM_STDIN_FILE=""
audit_is reason wrong_password
ok "password with a NUL inside: cut by the conversation, PAM_AUTH_ERR"

for u in 'jean*@hopital-test.mssante.fr' '*' 'jean.martin@hopital-test.mssante.fr)(uid=*' \
	'(|(uid=*))' 'jean\martin@hopital-test.mssante.fr' 'jean.martin@hopital-test.mssante.fr%00' \
	"$(printf 'jean.martin@hopital-test.mssante.fr\001x')" "$JM " ""; do
	before=$(binds uid=)
	try USER_UNKNOWN imap "$u" "$JM_PW"
	[ "$(binds uid=)" = "$before" ] || fail "username '$u' led to a bind"
done
audit_is decision fail
ok "usernames with * ( ) \\ NUL-escapes, control characters or spaces: PAM_USER_UNKNOWN, no bind"

try SUCCESS imap Sophie.Durand@Hopital-Test.MSSante.fr "$SD_PW"
audit_is actor 810100000017
ok "mixed-case BAL address normalised"

try SUCCESS imap 810003461033 "$JM_PW"
audit_is actor 810003461033
audit_is bal None
ok "idNat_PS as the username (console): the person's own password"

before=$(binds uid=aleroy)
try AUTH_ERR imap alice.leroy@hopital-test.mssante.fr "$AL_PW"
audit_is reason suspended_person
[ "$(binds uid=aleroy)" = "$before" ] || fail "a suspended person was bound"
ok "suspended person: refused without a bind"

try AUTH_ERR imap cardiologie@hopital-test.mssante.fr "$JM_PW"
audit_is reason delegate_login_required
audit_is bal_type ORG
try AUTH_ERR imap dpi@hopital-test.mssante.fr "$JM_PW"
audit_is reason app_not_a_person
try AUTH_ERR imap ancien-service@hopital-test.mssante.fr "$JM_PW"
try USER_UNKNOWN imap nobody@hopital-test.mssante.fr "$JM_PW"
audit_is reason unknown_bal
ok "ORG (delegates log in as master user), APP, suspended and unknown BALs refused"

# A token is never sent to the directory as a password.
TOKEN_LIKE='eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'
before=$(binds uid=)
try AUTH_ERR imap "$JM" "$TOKEN_LIKE"
audit_is reason token_method_not_enabled
[ "$(binds uid=)" = "$before" ] || fail "a JWT was sent to the directory"
ok "a JWT given to method=password is refused without a bind"

# Account management: the person and the BAL, then [pam] allowed_types per service.
try SUCCESS imap "$JM" "$JM_PW" -- authenticate acct_mgmt
attempts=$((attempts + 1)) # two records: auth and account
audit_last "r['event']" | grep -qx account || fail "no account record"
audit_is decision ok
try PERM_DENIED imap alice.leroy@hopital-test.mssante.fr -- acct_mgmt
audit_is reason suspended_person
try PERM_DENIED imap ancien-service@hopital-test.mssante.fr -- acct_mgmt
audit_is reason suspended_bal
try USER_UNKNOWN imap nobody@hopital-test.mssante.fr -- acct_mgmt
try SUCCESS imap cardiologie@hopital-test.mssante.fr -- acct_mgmt
{ cat "$PAM_CONF"; echo "allowed_types = imap-types:ORG, sshd:PER"; } >"$T/types.conf"
sed "s|config=$PAM_CONF|config=$T/types.conf|" "$T/pam.d/imap" >"$T/pam.d/imap-types"
try PERM_DENIED imap-types "$JM" -- acct_mgmt
audit_is reason type_not_allowed
try SUCCESS imap-types cardiologie@hopital-test.mssante.fr -- acct_mgmt
sed "s|config=$PAM_CONF|config=$T/types.conf|" "$T/pam.d/imap" >"$T/pam.d/sshd"
try SUCCESS sshd "$JM" -- acct_mgmt
ok "account: suspended person and BAL refused, allowed_types applied per service"

# ldaps:// works; plaintext ldap:// is refused before connecting; a wrong CA fails closed.
conf_body "$SLAPD_LDAPS" no "$SLAPD_CA" "$T/s.cdb" | write_conf "$T/ldaps.conf"
sed "s|config=$PAM_CONF|config=$T/ldaps.conf|" "$T/pam.d/imap" >"$T/pam.d/imap-ldaps"
try SUCCESS imap-ldaps "$JM" "$JM_PW"
conf_body "$SLAPD_URI" no "$SLAPD_CA" "$T/s.cdb" | write_conf "$T/plain.conf"
sed "s|config=$PAM_CONF|config=$T/plain.conf|" "$T/pam.d/imap" >"$T/pam.d/imap-plain"
before=$(binds uid=)
try AUTHINFO_UNAVAIL imap-plain "$JM" "$JM_PW"
audit_is reason ldap_without_tls
[ "$(binds uid=)" = "$before" ] || fail "a password was sent without TLS"
cp /etc/ssl/certs/ca-certificates.crt "$T/other-ca.pem" 2>/dev/null || cp "$SRC/tests/fixtures/hopital.ldif" "$T/other-ca.pem"
conf_body "$SLAPD_URI" yes "$T/other-ca.pem" "$T/s.cdb" | write_conf "$T/wrongca.conf"
sed "s|config=$PAM_CONF|config=$T/wrongca.conf|" "$T/pam.d/imap" >"$T/pam.d/imap-wrongca"
try AUTHINFO_UNAVAIL imap-wrongca "$JM" "$JM_PW"
audit_is reason directory_unavailable
ok "ldaps:// accepted; ldap:// without StartTLS and an unknown server CA fail closed"

# Snapshot: stale (built two hours ago, max_age 1h) or missing -> PAM_AUTHINFO_UNAVAIL.
old=$(($(date +%s) - 7200))
cdb -d "$T/s.cdb" | awk -v old="$old" '
	/^\+[0-9]+,[0-9]+:Mbuilt->/ { printf "+%d,%d:Mbuilt->%s\n", 6, length(old), old; next } { print }' |
	cdb -c "$T/stale.cdb"
chmod 644 "$T/stale.cdb"
conf_body "$SLAPD_URI" yes "$SLAPD_CA" "$T/stale.cdb" | write_conf "$T/stale.conf"
sed "s|config=$PAM_CONF|config=$T/stale.conf|" "$T/pam.d/imap" >"$T/pam.d/imap-stale"
try AUTHINFO_UNAVAIL imap-stale "$JM" "$JM_PW"
audit_is reason stale_snapshot
try AUTHINFO_UNAVAIL imap-stale "$JM" -- acct_mgmt
conf_body "$SLAPD_URI" yes "$SLAPD_CA" "$T/none.cdb" | write_conf "$T/nosnap.conf"
sed "s|config=$PAM_CONF|config=$T/nosnap.conf|" "$T/pam.d/imap" >"$T/pam.d/imap-nosnap"
try AUTHINFO_UNAVAIL imap-nosnap "$JM" "$JM_PW"
audit_is reason snapshot_unavailable
ok "stale or missing snapshot: PAM_AUTHINFO_UNAVAIL"

# Files read as root: a group-writable or symlinked configuration is refused (no audit
# record is possible without a configuration: these attempts are not counted).
cp "$PAM_CONF" "$T/gw.conf"
chmod 664 "$T/gw.conf"
sed "s|config=$PAM_CONF|config=$T/gw.conf|" "$T/pam.d/imap" >"$T/pam.d/imap-gw"
pam_try SERVICE_ERR imap-gw "$JM" "$JM_PW"
ln -s "$PAM_CONF" "$T/link.conf"
sed "s|config=$PAM_CONF|config=$T/link.conf|" "$T/pam.d/imap" >"$T/pam.d/imap-link"
pam_try SERVICE_ERR imap-link "$JM" "$JM_PW"
echo "auth required $PAM_SO config=$PAM_CONF method=kerberos" >"$T/pam.d/imap-badarg"
pam_try SERVICE_ERR imap-badarg "$JM" "$JM_PW"
ok "group-writable or symlinked configuration, unknown method: PAM_SERVICE_ERR"

# The directory frozen (SIGSTOP: connections hang), then stopped: never a success, and the
# frozen case ends within the configured timeouts.
kill -STOP "$SLAPD_PID"
start=$(date +%s)
try AUTHINFO_UNAVAIL imap "$JM" "$JM_PW"
elapsed=$(($(date +%s) - start))
kill -CONT "$SLAPD_PID"
audit_is reason directory_unavailable
[ "$elapsed" -le 20 ] || fail "a frozen directory held the login for $elapsed s (ldap_timeout = 2s)"
ok "directory frozen: PAM_AUTHINFO_UNAVAIL after the timeout (${elapsed}s)"
try SUCCESS imap "$JM" "$JM_PW"
slapd_stop
try AUTHINFO_UNAVAIL imap "$JM" "$JM_PW"
audit_is reason directory_unavailable
try AUTH_ERR imap "$JM" ""
ok "directory stopped mid-test: PAM_AUTHINFO_UNAVAIL, never success"

[ "$(audit_count)" -eq "$attempts" ] || fail "$(audit_count) audit records for $attempts attempts"
audit_chain_ok
ok "one audit record per attempt ($attempts), chain intact"

cat "$SLAPD_LOG" >>"$T/all-output"
secrets_absent "$JM_PW" "$SD_PW" "$AL_PW" 'Martin-2024?' sync-secret
ok "no password in the module's logs, slapd's log or the audit trail"
echo "$checks checks passed"
