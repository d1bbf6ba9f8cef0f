#!/bin/sh
# mssctl check on a private, fully wired configuration (Postfix from conf-examples/postfix,
# a Dovecot configuration loading the plugin with a PAM passdb, nsswitch and pam.d files):
# everything wired, exit 0. Then each piece unwired in turn: exit 1 naming the line to add.
set -eu
. "$(dirname "$0")/lib/common.sh"

FIX="$SRC/tests/fixtures"
sh "$SRC/tests/pki/make-pki.sh" "$T/pki"

# A snapshot from the fixture trust list (generated 2026-11-01: [trust] max_age is widened).
write_conf "$T/mssante.conf" <<EOF
snapshot = $T/s.cdb
[trust]
list = $FIX/trust/hopital-test.xml
max_age = 365d
postfix_tls_policy = $T/tls_policy
[milter]
socket = unix:$T/milter.sock
EOF
M="$MSSCTL -c $T/mssante.conf"
run 0 $M sync --no-ldap

# Postfix: the example snippets, pointed at the test CA bundle and the test socket.
mkdir "$T/postfix"
sed -e "s|^smtpd_tls_CAfile = .*|smtpd_tls_CAfile = $T/pki/igc-sante-org.pem|" \
	-e "s|^smtpd_milters = .*|smtpd_milters = unix:$T/milter.sock|" \
	-e "s|^smtp_tls_policy_maps = .*|smtp_tls_policy_maps = hash:$T/tls_policy|" \
	"$SRC/conf-examples/postfix/main.cf" >"$T/postfix/main.cf"
cp "$SRC/conf-examples/postfix/master.cf" "$T/postfix/master.cf"
cat >"$T/dovecot.conf" <<EOF
ssl = no
mail_plugins = \$mail_plugins mssante
plugin {
  mssante_config = $T/mssante.conf
}
passdb {
  driver = pam
  args = dovecot
}
userdb {
  driver = passwd
}
EOF
printf 'passwd:         files mss\ngroup:          files mss\nshadow:         files\n' >"$T/nsswitch.conf"
mkdir "$T/pam.d"
cp "$SRC/conf-examples/pam.d/dovecot" "$T/pam.d/dovecot"
CHECK="$M check --postfix $T/postfix --dovecot $T/dovecot.conf --nsswitch $T/nsswitch.conf --pam-dir $T/pam.d"

run 0 $CHECK
out_has "everything wired"
out_lacks "MISSING"
ok "a fully wired configuration: everything wired"

# Without the milter in main.cf.
cp "$T/postfix/main.cf" "$T/main.cf.good"
sed -i '/^smtpd_milters/d' "$T/postfix/main.cf"
run 1 $CHECK
out_has "MISSING  postfix: smtpd_milters does not name the milter socket unix:$T/milter.sock"
out_has "add: smtpd_milters = unix:$T/milter.sock"
ok "Postfix without the milter: the missing line is named, exit 1"
cp "$T/main.cf.good" "$T/postfix/main.cf"

printf 'milter_default_action = accept\n' >>"$T/postfix/main.cf"
run 1 $CHECK
out_has "add: milter_default_action = tempfail"
ok "milter_default_action = accept is a finding"
cp "$T/main.cf.good" "$T/postfix/main.cf"

cat "$T/pki/igc-sante-org.pem" "$T/pki/foreign-ca.crt" >"$T/mixed.pem"
sed -i "s|^smtpd_tls_CAfile = .*|smtpd_tls_CAfile = $T/mixed.pem|" "$T/postfix/main.cf"
run 1 $CHECK
out_has "certificates not of IGC-Santé (first: 'Foreign Test CA')"
ok "a CA file with a non IGC-Santé CA is a finding"
cp "$T/main.cf.good" "$T/postfix/main.cf"

sed -i 's/mssante//' "$T/dovecot.conf"
run 1 $CHECK
out_has "add: mail_plugins = \$mail_plugins mssante"
ok "Dovecot without the plugin is a finding"
sed -i 's/^mail_plugins = .*/mail_plugins = $mail_plugins mssante/' "$T/dovecot.conf"

printf 'auth required pam_unix.so\naccount required pam_unix.so\n' >"$T/pam.d/dovecot"
run 1 $CHECK
out_has "does not use pam_mss for auth"
ok "a PAM stack without pam_mss is a finding"
cp "$SRC/conf-examples/pam.d/dovecot" "$T/pam.d/dovecot"

printf 'passwd: files\ngroup: files\n' >"$T/nsswitch.conf"
run 1 $CHECK
out_has "add: passwd:         files mss"
ok "nsswitch without mss is a finding"
printf 'passwd:         files mss\ngroup:          files mss\n' >"$T/nsswitch.conf"

run 0 $CHECK
rm "$T/s.cdb"
run 1 $CHECK
out_has "MISSING  snapshot:"
ok "a missing snapshot is a finding"

run 0 $M check --config-only
ok "--config-only validates the configuration alone"
echo "$checks checks passed"
