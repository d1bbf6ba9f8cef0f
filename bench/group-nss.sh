#!/bin/sh
# Bench group "nss": getpwnam through libnss_mss on a snapshot of 1,000,000 BALs, against
# glibc's nss_files on a 26-line passwd file measured in the same run, both called the same
# way (dlopen/dlsym of _nss_mss_getpwnam_r and _nss_files_getpwnam_r by build/nss-probe, the
# way glibc calls them; glibc's dispatch around them is the same for both and left out).
# nss_files reads /etc/passwd: the 26-line file is bind-mounted over it in a private mount
# namespace (unshare -m as root, unshare -r -m otherwise); the machine's file is never touched.
# Prints nss_getpwnam_us, nss_files_getpwnam_us, nss_speedup_vs_files, and
# nss_getpwnam_check_each_us (the same with [nss] check_interval_ms = 0: a stat(2) of the
# configuration and of the snapshot on every call, the price of the throttled default).
set -eu
rows=1000000
make -s --no-print-directory -C "$SRC" "BUILD=$BUILD" "$BUILD/gen-extraction" "$BUILD/libnss_mss.so.2" \
	"$BUILD/nss-probe" >/dev/null
"$BUILD/gen-extraction" $rows "$W/extraction.csv"
printf '[directory]\nsnapshot_owner_check = no\nsnapshot = %s\n' "$W/s.cdb" >"$W/mssante.conf"
"$BUILD/mssctl" -c "$W/mssante.conf" sync --no-ldap --trust-list "$SRC/tests/fixtures/trust/hopital-test.xml" \
	--extraction "$W/extraction.csv" >/dev/null
# 1,000 addresses spread over the whole file (every 1,000th row), in lower case.
awk -F'|' 'NR > 1 && NR % 1000 == 0 { print tolower($2) }' "$W/extraction.csv" >"$W/names"
rm -f "$W/extraction.csv"
cp "$W/mssante.conf" "$W/each.conf"
printf '[nss]\ncheck_interval_ms = 0\n' >>"$W/each.conf"

# A 26-line passwd file as on a fresh Debian 12 server.
for u in root daemon bin sys sync games man lp mail news uucp proxy www-data backup list irc _apt nobody \
	systemd-network systemd-timesync messagebus sshd postfix dovecot dovenull openldap; do
	echo "$u:x:$(($(printf '%s' "$u" | cksum | cut -d' ' -f1) % 60000)):65534:$u:/nonexistent:/usr/sbin/nologin"
done >"$W/passwd"
cut -d: -f1 "$W/passwd" >"$W/files-names"
[ "$(wc -l <"$W/passwd")" -eq 26 ] || { echo "bench: nss: passwd file is not 26 lines" >&2; exit 1; }
# A private mount namespace for the bind mount; without one (a container without
# CAP_SYS_ADMIN, no user namespaces) the machine's own /etc/passwd is measured, and said so.
ns=""
for try in "unshare -m" "unshare -r -m"; do
	if $try sh -c 'mount --bind "$1" /etc/passwd' sh "$W/passwd" 2>/dev/null; then
		ns=$try
		break
	fi
done
if [ -z "$ns" ]; then
	echo "bench: nss: no private mount namespace: nss_files measured on this machine's /etc/passwd" >&2
	echo "bench: nss_files_passwd_lines = $(wc -l </etc/passwd) lines"
	cut -d: -f1 /etc/passwd >"$W/files-names"
fi

mss() { # CONF -> median ns per call
	MSSANTE_CONF=$1 "$BUILD/nss-probe" bench "$BUILD/libnss_mss.so.2" mss "$W/names" 300 | sed -n 's/^median_ns=//p'
}
files() {
	if [ -n "$ns" ]; then
		$ns sh -c 'mount --bind "$1" /etc/passwd && exec "$2" bench libc.so.6 files "$3" 2000' sh \
			"$W/passwd" "$BUILD/nss-probe" "$W/files-names"
	else
		"$BUILD/nss-probe" bench libc.so.6 files "$W/files-names" 2000
	fi | sed -n 's/^median_ns=//p'
}
# Interleaved, three of each: the median of each series.
: >"$W/mss.ns"
: >"$W/files.ns"
: >"$W/each.ns"
for i in 1 2 3; do
	mss "$W/mssante.conf" >>"$W/mss.ns"
	files >>"$W/files.ns"
	mss "$W/each.conf" >>"$W/each.ns"
done
median() { sort -n "$1" | sed -n 2p; }
m=$(median "$W/mss.ns")
f=$(median "$W/files.ns")
e=$(median "$W/each.ns")
[ -n "$m" ] && [ -n "$f" ] && [ -n "$e" ] || { echo "bench: nss: a measurement failed" >&2; exit 1; }
awk -v m="$m" -v f="$f" -v e="$e" 'BEGIN {
	printf "bench: nss_getpwnam_us = %.2f us\n", m / 1000
	printf "bench: nss_files_getpwnam_us = %.2f us\n", f / 1000
	printf "bench: nss_speedup_vs_files = %.1f x\n", f / m
	printf "bench: nss_getpwnam_check_each_us = %.2f us\n", e / 1000
}'
