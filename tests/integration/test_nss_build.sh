#!/bin/sh
# What libnss_mss.so.2 brings into every process of the host: libc (and at most tinycdb's
# library) per ldd, only the _nss_mss_* entry points exported (version script), no call
# that could print, log or reach the network, and every descriptor it opens is O_CLOEXEC
# and closed again.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/nss-setup.sh"

nss_build

ldd "$SO" >"$T/ldd" 2>&1 || { cat "$T/ldd" >&2; fail "ldd $SO failed"; }
# Every line must be libc, the dynamic loader, the vDSO or tinycdb.
if grep -Ev '^[[:space:]]*(linux-vdso\.so\.1|libc\.so\.6|libcdb\.so\.1|/lib64/ld-linux[^ ]*|/lib/ld-linux[^ ]*)[[:space:]]' \
	"$T/ldd" >"$T/extra"; then
	fail "unexpected libraries: $(cat "$T/extra")"
fi
! grep -Eq 'ssl|crypto|ldap|lber|xml|json' "$T/ldd" || fail "a heavy library is linked: $(cat "$T/ldd")"
ok "ldd: $(awk '{print $1}' "$T/ldd" | tr '\n' ' ')"

nm -D --defined-only "$SO" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort >"$T/exported"
grep -v '^_nss_mss_' "$T/exported" >"$T/other" && fail "exported beyond _nss_mss_*: $(cat "$T/other")"
for f in getpwnam_r getpwuid_r setpwent getpwent_r endpwent getgrnam_r getgrgid_r setgrent getgrent_r endgrent \
	initgroups_dyn; do
	grep -qx "_nss_mss_$f" "$T/exported" || fail "_nss_mss_$f not exported"
done
[ "$(wc -l <"$T/exported")" -eq 11 ] || fail "expected 11 exported symbols: $(cat "$T/exported")"
ok "exports exactly the 11 _nss_mss_* entry points"

nm -D --undefined-only "$SO" | awk '{print $2}' | sed 's/@.*//' >"$T/imports"
for f in printf fprintf vfprintf puts fputs fwrite write writev syslog vsyslog openlog socket connect sendto \
	getaddrinfo dlopen fork system popen execve perror err warn; do
	grep -qx "$f" "$T/imports" && fail "imports $f: the module must not print, log, fork or use the network"
done
ok "imports nothing that prints, logs, forks or opens a network connection"

# Every open(2) the module makes carries O_CLOEXEC, and nothing stays open after a lookup.
command -v strace >/dev/null 2>&1 || fail "strace missing (tests/deps/nss.list)"
printf '[directory]\nsnapshot = %s\nsnapshot_owner_check = no\n' "$T/s.cdb" >"$T/mssante.conf"
run 0 "$MSSCTL" -c "$T/mssante.conf" sync --no-ldap --trust-list "$SRC/tests/fixtures/trust/hopital-test.xml" \
	--extraction "$SRC/tests/fixtures/extraction/good.txt"
strace -f -e trace=open,openat,openat2 -o "$T/strace" env MSSANTE_CONF="$T/mssante.conf" \
	"$PROBE" "$SO" mss getpwnam "claire.vasseur@$HOSPITAL" >"$T/out" 2>&1 || fail "strace failed"
out_has "status=SUCCESS"
grep -E "\"$T/(mssante\\.conf|s\\.cdb)\"" "$T/strace" >"$T/opens" || fail "no open of the config or snapshot traced"
[ "$(wc -l <"$T/opens")" -ge 2 ] || fail "expected the config and the snapshot opened: $(cat "$T/opens")"
if grep -v O_CLOEXEC "$T/opens" >"$T/bad"; then fail "open without O_CLOEXEC: $(cat "$T/bad")"; fi
ok "config and snapshot opened with O_CLOEXEC ($(wc -l <"$T/opens") opens)"
echo "$checks checks passed"
