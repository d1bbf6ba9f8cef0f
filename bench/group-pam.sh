#!/bin/sh
# Bench group "pam" (make bench BENCH=pam). Every figure has its baseline measured in this run:
#   psc_validations_per_s       PSC token validations per second (RS256, what PSC signs with;
#                               ES256 beside it), against the bare signature check of the same
#                               token (psc_overhead_vs_bare_verify: 1.0 = no cost but the crypto)
#   pam_password_ratio_vs_ldapwhoami
#                               password logins per second through pam_mss (pamtester-like loop
#                               under pam_wrapper, real slapd, StartTLS, audit with fsync)
#                               divided by what the same directory work costs done with bare
#                               libldap in a C loop (connect, StartTLS, simple bind, unbind): like
#                               for like. The ratio against `ldapwhoami -x -ZZ` processes (which
#                               pay a fork/exec each) is printed as ..._cli.
set -eu
now() { date +%s.%N; }
make -s --no-print-directory -C "$SRC" "BUILD=$BUILD" "$BUILD/pam-bench" "$BUILD/pam_mss.so" >/dev/null
B="$BUILD/pam-bench"

psc_rs=$("$B" psc rs256 30000)
verify_rs=$("$B" verify rs256 30000)
psc_es=$("$B" psc es256 5000)
verify_es=$("$B" verify es256 5000)

# A private slapd with the test hospital, and the snapshot pam_mss reads.
T="$W" # lib/slapd.sh and the config below live in the scratch directory
. "$SRC/tests/integration/lib/slapd.sh"
SLAPD_LOGLEVEL=none slapd_start "$W/ldap" "$SRC/tests/fixtures/hopital.ldif" >/dev/null
trap 'slapd_stop' EXIT
printf 'sync-secret\n' >"$W/bindpw"
chmod 600 "$W/bindpw"
{
	echo "[directory]"
	[ "$(id -u)" -ne 0 ] && echo "snapshot_owner_check = no"
	cat <<EOF
uri = $SLAPD_URI
ca_file = $SLAPD_CA
snapshot = $W/s.cdb
base = $SLAPD_BASE
bind_dn = cn=mssante-sync,ou=services,$SLAPD_BASE
bind_password_file = $W/bindpw
[trust]
list = $SRC/tests/fixtures/trust/hopital-test.xml
[audit]
directory = $W/audit
EOF
} >"$W/mssante.conf"
"$BUILD/mssctl" -c "$W/mssante.conf" sync >/dev/null
mkdir -p "$W/pam.d" "$W/audit"
echo "auth required $BUILD/pam_mss.so config=$W/mssante.conf method=password" >"$W/pam.d/bench"
printf 'auth required pam_deny.so\n' >"$W/pam.d/other"
PAMWRAP=$(for d in /usr/lib/*/libpam_wrapper.so; do [ -f "$d" ] && echo "$d"; done | head -n 1)
DN="uid=jmartin,ou=people,$SLAPD_BASE"
N=300

"$B" ldapbind "$SLAPD_URI" "$SLAPD_CA" "$DN" 'Martin-2024!' 20 >/dev/null # warm-up
ldap_c=$("$B" ldapbind "$SLAPD_URI" "$SLAPD_CA" "$DN" 'Martin-2024!' $N)
pam=$(env LD_PRELOAD="$PAMWRAP" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" \
	"$B" pam bench jean.martin@hopital-test.mssante.fr 'Martin-2024!' $N)
t0=$(now)
i=0
while [ $i -lt 100 ]; do
	LDAPTLS_CACERT="$SLAPD_CA" ldapwhoami -x -ZZ -H "$SLAPD_URI" -D "$DN" -w 'Martin-2024!' >/dev/null
	i=$((i + 1))
done
t1=$(now)

python3 - "$psc_rs" "$verify_rs" "$psc_es" "$verify_es" "$pam" "$ldap_c" "$t0" "$t1" <<'PY'
import sys
psc_rs, verify_rs, psc_es, verify_es, pam, ldap_c = map(float, sys.argv[1:7])
cli = 100 / (float(sys.argv[8]) - float(sys.argv[7]))
print(f"bench: psc_validations_per_s = {psc_rs:.0f} validations/s")
print(f"bench: psc_validation_us = {1e6 / psc_rs:.1f} us")
print(f"bench: psc_overhead_vs_bare_verify = {verify_rs / psc_rs:.2f} x")
print(f"bench: psc_es256_validations_per_s = {psc_es:.0f} validations/s")
print(f"bench: psc_es256_overhead_vs_bare_verify = {verify_es / psc_es:.2f} x")
print(f"bench: pam_password_auths_per_s = {pam:.1f} auths/s")
print(f"bench: ldap_starttls_binds_per_s = {ldap_c:.1f} binds/s")
print("# pam_password_ratio_vs_ldapwhoami: baseline a C loop of libldap StartTLS + bind, like ldapwhoami -ZZ without its process start")
print(f"bench: pam_password_ratio_vs_ldapwhoami = {pam / ldap_c:.2f} ratio")
print(f"bench: ldapwhoami_cli_binds_per_s = {cli:.1f} binds/s")
print(f"bench: pam_password_ratio_vs_ldapwhoami_cli = {pam / cli:.2f} ratio")
PY
