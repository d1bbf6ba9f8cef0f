#!/bin/sh
# A real Dovecot IMAP login through pam_mss (issue 5: "once through a real Dovecot IMAP login"):
# a private Dovecot whose passdb is `driver = pam` with a service of its own, pam_wrapper
# preloaded into Dovecot's processes (import_environment) so that the PAM stack comes from
# this test's directory, never /etc/pam.d; pam_mss binds to a private slapd holding
# tests/fixtures/hopital.ldif with the person's LDAP password. lib90_mssante_plugin.so is
# loaded too: the whole chain of a PER holder's login, PAM then the BAL policy, each with its
# own audit record.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/slapd.sh"
. "$(dirname "$0")/dovecot/lib.sh"

for f in "$BUILD/pam_mss.so" "$BUILD/lib90_mssante_plugin.so" "$BUILD/lib95_imap_mssante_plugin.so" "$MSSCTL"; do
	[ -e "$f" ] || make -s -C "$SRC" "BUILD=$BUILD" "$f" >/dev/null
done
PAMWRAP=$(for d in /usr/lib/*/libpam_wrapper.so /usr/lib/libpam_wrapper.so; do [ -f "$d" ] && echo "$d"; done | head -n 1)
[ -n "$PAMWRAP" ] || fail "libpam_wrapper.so not found (apt-get install libpam-wrapper)"

W=$T/w
D=$T/dc
mkdir -p "$W/audit" "$W/pam.d"
sh "$SRC/tests/pki/make-pki.sh" "$W/pki" >"$W/pki.log" 2>&1 || { cat "$W/pki.log" >&2; fail "test PKI"; }
slapd_start "$W/ldap" "$SRC/tests/fixtures/hopital.ldif" || fail "slapd did not start"
at_exit slapd_stop
printf 'sync-secret\n' >"$W/bindpw"
chmod 600 "$W/bindpw"
write_conf "$W/mssante.conf" <<CONF
uri = $SLAPD_URI
starttls = yes
ca_file = $SLAPD_CA
base = $SLAPD_BASE
bind_dn = cn=mssante-sync,ou=services,$SLAPD_BASE
bind_password_file = $W/bindpw
snapshot = $W/s.cdb
[trust]
list = $SRC/tests/fixtures/trust/hopital-test.xml
[audit]
directory = $W/audit
[pam]
ldap_timeout = 2s
CONF
run 0 "$MSSCTL" -c "$W/mssante.conf" sync
chmod 0644 "$W/mssante.conf" "$W/s.cdb"
if [ "$(id -u)" -eq 0 ]; then
	chown dovecot:dovecot "$W/audit"
	chmod 0755 "$W" "$T"
fi
# The userdb: BALs known to Dovecot (no password here: the passdb is PAM).
cat >"$W/passwd" <<PW
jean.martin@$H:::::::
cardiologie@$H:::::::
PW
: >"$W/masters"

# The PAM stack, as conf-examples/pam.d/dovecot, in the test's own service directory.
printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$W/pam.d/other"
cat >"$W/pam.d/dovecot-mss" <<PAM
auth    required $BUILD/pam_mss.so config=$W/mssante.conf method=password
account required $BUILD/pam_mss.so config=$W/mssante.conf
PAM

dovecot_prepare "$D" "$W"
# Only the PAM passdb; pam_wrapper for every Dovecot process (the auth worker runs PAM).
python3 - "$D/dovecot.conf" "$PAMWRAP" "$W/pam.d" <<'PY'
import re, sys
path, wrapper, service_dir = sys.argv[1:]
conf = open(path).read()
conf = re.sub(r"(?ms)^passdb \{.*?^\}\n", "", conf)
conf += """passdb {
  driver = pam
  args = dovecot-mss
}
import_environment = TZ LD_PRELOAD=%s PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=%s PAM_WRAPPER_USE_SYSLOG=0 MSSANTE_CONF=/nonexistent
""" % (wrapper, service_dir)
open(path, "w").write(conf)
PY
dovecot_start "$D" || fail "dovecot did not start"
at_exit dovecot_stop
ok "Dovecot $(dovecot --version | cut -d' ' -f1) with passdb { driver = pam } and pam_wrapper in its auth processes"

IMAP="python3 $SRC/tests/integration/dovecot/imap.py --port $DOVECOT_PORT"
PAM_AUDIT=$W/audit/pam.log
DC_AUDIT=$W/audit/dovecot.log
JM_PW='Martin-2024!'
JEAN=810003461033

run 0 $IMAP --user "jean.martin@$H" --password "$JM_PW" select INBOX append INBOX fetch 1
out_has "login: ok"
python3 "$SRC/tests/integration/dovecot/audit_check.py" "$PAM_AUDIT" has event=auth decision=ok method=password \
	service=dovecot-mss bal="jean.martin@$H" actor=$JEAN || fail "no pam_mss record for the login"
python3 "$SRC/tests/integration/dovecot/audit_check.py" "$DC_AUDIT" has event=login decision=allow \
	method=password bal="jean.martin@$H" actor=$JEAN || fail "no plugin login record"
python3 "$SRC/tests/integration/dovecot/audit_check.py" "$DC_AUDIT" has event=read uid=1 actor=$JEAN ||
	fail "no read record"
ok "PER holder logs in to IMAP with her LDAP password through pam_mss (slapd bind), then reads; pam and dovecot trails record it"

run 1 $IMAP --source 127.0.0.2 --user "jean.martin@$H" --password 'Martin-2024?' select INBOX
out_has "login: no"
python3 "$SRC/tests/integration/dovecot/audit_check.py" "$PAM_AUDIT" has event=auth decision=fail \
	reason=wrong_password bal="jean.martin@$H" || fail "wrong password not in the pam trail"
ok "a wrong password: the IMAP LOGIN fails (NO), pam_mss records wrong_password"

run 1 $IMAP --source 127.0.0.3 --user "cardiologie@$H" --password "$JM_PW" select INBOX
out_has "login: no"
python3 "$SRC/tests/integration/dovecot/audit_check.py" "$PAM_AUDIT" has event=auth decision=fail \
	bal="cardiologie@$H" bal_type=ORG || fail "ORG password login not in the pam trail"
ok "an organisational BAL cannot be opened with a person's password through PAM"

grep -rqF -- "$JM_PW" "$D/dovecot.log" "$W/audit" && fail "a password reached a log or the trail"
! grep -E "Panic|Fatal|killed with signal|assertion failed" "$D/dovecot.log" || fail "Dovecot crashed or panicked"
ok "no password in Dovecot's log or the trails; no crash"
echo "$checks checks passed"
