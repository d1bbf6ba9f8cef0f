#!/bin/sh
# The Debian packages on a fresh Debian 12: debootstraps a minimal bookworm under the temporary
# directory from the Debian mirror the host's apt uses, installs the five packages there with
# apt (their dependencies come from the archive), checks files, user, permissions and units,
# runs mssctl, libnss_mss and mss-milter inside, then removes and purges them and checks that
# nothing of theirs is left. Slow (a minute or two): run by `make check-slow`, not `make check`.
# Needs root (debootstrap, chroot, unshare); every mount lives in a private mount namespace
# that ends with the command, so nothing stays mounted on the host.
set -eu
. "$(dirname "$0")/../integration/lib/common.sh"

CODENAME=bookworm
PKGS="mssante-tools mssante-milter libpam-mssante libnss-mssante dovecot-mssante"
DEBS="$BUILD/deb"

[ "$(id -u)" -eq 0 ] || fail "needs root: debootstrap, chroot and unshare"
for tool in debootstrap unshare apt-cache; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool missing (tests/deps/deb.list)"
done

# ---- the packages: those of `make deb`, built now when absent ----
if ! ls "$DEBS"/mssante-tools_*.deb >/dev/null 2>&1; then
	echo "# no packages in $DEBS: running make deb"
	make -C "$SRC" --no-print-directory "BUILD=$BUILD" deb >"$T/make-deb.log" 2>&1 ||
		{ tail -n 40 "$T/make-deb.log" >&2; fail "make deb failed"; }
fi
debs=""
for p in $PKGS; do
	f=$(ls "$DEBS/${p}"_*.deb 2>/dev/null | head -n 1)
	[ -n "$f" ] || fail "no $p package in $DEBS"
	debs="$debs $f"
done
ok "five packages in $DEBS"

# ---- the Debian archive the host's apt uses (deb822 or one-line sources alike) ----
# apt-cache policy lists each index as "PRIO URI SUITE/COMPONENT ARCH Packages", followed by
# its release line; only Debian's own suites of $CODENAME are kept.
apt-cache policy | awk -v c="$CODENAME" '
	$2 ~ /^https?:\/\// && $NF == "Packages" { uri = $2; split($3, sc, "/"); suite = sc[1]; comp = sc[2]; next }
	uri != "" && /release / { if ($0 ~ /o=Debian,/ && comp == "main" && (suite == c || index(suite, c "-") == 1)) print uri, suite; uri = "" }
' | sort -u >"$T/archive"
MIRROR=$(awk -v c="$CODENAME" '$2 == c { print $1; exit }' "$T/archive")
[ -n "$MIRROR" ] || fail "no Debian $CODENAME main in the host's apt sources (apt-cache policy): $(cat "$T/archive")"
ok "mirror $MIRROR ($(awk '{print $2}' "$T/archive" | tr '\n' ' '))"

# ---- a minimal bookworm ----
R="$T/root"
CACHE="$BUILD/debootstrap-cache" # downloaded .debs only, reused between runs
mkdir -p "$CACHE"
start=$(date +%s)
debootstrap --variant=minbase --cache-dir="$CACHE" "$CODENAME" "$R" "$MIRROR" >"$T/debootstrap.log" 2>&1 ||
	{ tail -n 30 "$T/debootstrap.log" >&2; fail "debootstrap failed"; }
ok "debootstrap --variant=minbase $CODENAME ($(($(date +%s) - start)) s)"

awk '{ print "deb " $1 " " $2 " main" }' "$T/archive" >"$R/etc/apt/sources.list"
cp /etc/resolv.conf "$R/etc/resolv.conf"
# As on a host where nothing may start during installation (and no systemd runs here anyway).
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
# The packages were built on this host: same architecture.
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# inroot CMD...: CMD in the chroot, with /proc, a clean environment, in a mount namespace of
# its own (the mount goes away with it).
inroot() {
	unshare --mount -- sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" /usr/bin/env -i \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' \
		"$R" "$@"
}

# Every path of the chroot but the package manager's own records and the pseudo file systems.
list_paths() { # FILE
	(cd "$R" && find . -xdev \( -path ./proc -o -path ./tmp -o -path ./var/cache/apt -o -path ./var/lib/apt \
		-o -path ./var/lib/dpkg -o -path ./var/log/apt -o -path ./var/log/dpkg.log \) -prune -o -print) |
		sort >"$1"
}

start=$(date +%s)
run 0 inroot apt-get -q update
# systemd first, as on any Debian 12 host (its systemd-analyze checks our units below).
run 0 inroot apt-get install -y -q --no-install-recommends systemd
ok "apt: systemd installed from the archive ($(($(date +%s) - start)) s)"
list_paths "$T/paths-before"

# ---- installation ----
mkdir -p "$R/tmp/debs"
for f in $debs; do cp "$f" "$R/tmp/debs/"; done
start=$(date +%s)
run 0 inroot sh -c 'apt-get install -y -q --no-install-recommends /tmp/debs/*.deb'
ok "apt installed the five packages and their dependencies ($(($(date +%s) - start)) s)"
for p in $PKGS dovecot-core; do
	[ "$(inroot dpkg-query -W -f='${Status}' "$p")" = "install ok installed" ] || fail "$p is not installed"
done
ok "installed: $PKGS, and dovecot-core for dovecot-mssante"

inroot dpkg-query -W -f='${Depends}\n' dovecot-mssante >"$T/out"
out_has "dovecot-abi-$(cat /usr/share/dovecot/dovecot-abi)"
ok "dovecot-mssante depends on the exact Dovecot ABI ($(cat /usr/share/dovecot/dovecot-abi))"

# Files where Debian 12 keeps them.
for f in /usr/sbin/mssctl /usr/sbin/mss-milter "/lib/$MA/security/pam_mss.so" "/lib/$MA/libnss_mss.so.2" \
	/usr/lib/dovecot/modules/lib90_mssante_plugin.so /etc/mssante/mssante.conf \
	/lib/systemd/system/mss-milter.service /lib/systemd/system/mssante-sync.service \
	/lib/systemd/system/mssante-sync.timer \
	/usr/share/man/man8/mssctl.8.gz /usr/share/man/man5/mssante.conf.5.gz /usr/share/man/man8/mss-milter.8.gz \
	/usr/share/man/man8/pam_mss.8.gz /usr/share/man/man8/libnss_mss.8.gz \
	/usr/share/man/man7/mssante-dovecot-plugin.7.gz \
	/usr/share/doc/dovecot-mssante/examples/90-mssante.conf /usr/share/doc/libpam-mssante/examples/pam.d/dovecot \
	/usr/share/doc/libnss-mssante/examples/nsswitch.conf; do
	[ -f "$R$f" ] || fail "$f missing after installation"
done
[ -d "$R/var/lib/mssante" ] || fail "/var/lib/mssante missing"
ok "files in place (multiarch $MA, PAM and NSS modules under /lib)"

inroot dpkg-query -W -f='${Conffiles}\n' mssante-tools >"$T/out"
out_has "/etc/mssante/mssante.conf"
cmp -s "$R/etc/mssante/mssante.conf" "$SRC/conf-examples/mssante.conf" ||
	fail "/etc/mssante/mssante.conf differs from conf-examples/mssante.conf"
ok "/etc/mssante/mssante.conf is a conffile, the generated example configuration"

# The system user and the audit directory.
inroot getent passwd mssante >"$T/pw" || fail "no mssante user after installation"
IFS=: read -r _ _ mss_uid mss_gid _ mss_home mss_shell <"$T/pw"
[ "$mss_uid" -lt 1000 ] || fail "mssante is not a system user (uid $mss_uid)"
[ "$mss_shell" = /usr/sbin/nologin ] || fail "mssante has shell $mss_shell"
[ "$mss_home" = /nonexistent ] || fail "mssante has home $mss_home"
[ "$(inroot getent group mssante | cut -d: -f3)" = "$mss_gid" ] || fail "mssante's group is not its primary group"
ok "system user mssante (uid $mss_uid, nologin, no home)"
# (Numeric ids: the host's names are not the chroot's.)
[ "$(stat -c '%u:%g %a' "$R/var/log/mssante")" = "$mss_uid:$mss_gid 2770" ] ||
	fail "/var/log/mssante is $(stat -c '%u:%g %a' "$R/var/log/mssante"), expected mssante:mssante ($mss_uid:$mss_gid) 2770"
[ "$(stat -c '%u:%g %a' "$R/var/lib/mssante")" = "0:0 755" ] || fail "/var/lib/mssante is not root:root 755"
ok "/var/log/mssante mssante:mssante 2770, /var/lib/mssante root:root 755"

# Every shared library the programs and modules need came with the dependencies.
for f in /usr/sbin/mssctl /usr/sbin/mss-milter "/lib/$MA/security/pam_mss.so" "/lib/$MA/libnss_mss.so.2" \
	/usr/lib/dovecot/modules/lib90_mssante_plugin.so; do
	inroot ldd "$f" >"$T/out" 2>&1 || { cat "$T/out" >&2; fail "ldd $f failed"; }
	out_lacks "not found"
done
ok "ldd: no library missing for the five binaries and modules"

# ---- the units ----
inroot systemd-analyze verify --man=no /lib/systemd/system/mss-milter.service \
	/lib/systemd/system/mssante-sync.service /lib/systemd/system/mssante-sync.timer >"$T/out" 2>&1 ||
	{ sed 's/^/    /' "$T/out" >&2; fail "systemd-analyze verify failed"; }
! grep -E 'mss-milter|mssante-sync' "$T/out" || fail "systemd-analyze verify warns about our units"
ok "systemd-analyze verify: mss-milter.service, mssante-sync.service, mssante-sync.timer"
grep -q '^ProtectSystem=strict' "$R/lib/systemd/system/mss-milter.service" &&
	grep -q '^CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_CHOWN$' "$R/lib/systemd/system/mss-milter.service" &&
	grep -q '^NoNewPrivileges=yes' "$R/lib/systemd/system/mss-milter.service" ||
	fail "mss-milter.service lost its hardening"
[ -L "$R/etc/systemd/system/multi-user.target.wants/mss-milter.service" ] || fail "mss-milter.service not enabled"
[ ! -e "$R/etc/systemd/system/timers.target.wants/mssante-sync.timer" ] || fail "mssante-sync.timer enabled before configuration"
ok "mss-milter.service enabled and hardened; mssante-sync.timer installed, not enabled"

# ---- the programs at work inside: a snapshot, an NSS lookup, the milter as mssante ----
# mss-milter runs below with the unit's capability bounding set and no_new_privs (setpriv),
# as systemd would start it: root without CAP_DAC_OVERRIDE must still manage.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$R/lib/systemd/system/mss-milter.service" |
	tr '[:upper:]' '[:lower:]' | sed 's/cap_/+/g; s/ /,/g')
[ -n "$caps" ] || fail "no CapabilityBoundingSet in mss-milter.service"
as_unit() { inroot setpriv --bounding-set="-all,$caps" --no-new-privs "$@"; }
run 0 as_unit mss-milter -t
out_has "configuration valid"
cp "$SRC/tests/fixtures/trust/hopital-test.xml" "$R/var/lib/mssante/listeblanchemssante.xml"
cp "$SRC/tests/fixtures/extraction/good.txt" "$R/root/extraction.txt"
printf '[directory]\nlocal_domains = hopital-test.mssante.fr\n' >"$R/root/test.conf"
run 0 inroot mssctl -c /root/test.conf sync --no-ldap --extraction /root/extraction.txt
[ "$(stat -c '%u %a' "$R/var/lib/mssante/snapshot.cdb")" = "0 644" ] || fail "snapshot not root-owned 0644"
ok "mssctl sync published /var/lib/mssante/snapshot.cdb (root, 0644)"

cp "$R/etc/nsswitch.conf" "$T/nsswitch.orig"
sed -i -e 's/^\(passwd:[[:space:]]*files\)/\1 mss/' -e 's/^\(group:[[:space:]]*files\)/\1 mss/' "$R/etc/nsswitch.conf"
run 0 inroot env MSSANTE_CONF=/root/test.conf getent passwd claire.vasseur@hopital-test.mssante.fr
out_has "claire.vasseur@hopital-test.mssante.fr:"
run 2 inroot env MSSANTE_CONF=/root/test.conf getent passwd nobody.here@hopital-test.mssante.fr
cp "$T/nsswitch.orig" "$R/etc/nsswitch.conf"
ok "glibc finds libnss_mss.so.2 in /lib/$MA: getent passwd answers a BAL from the snapshot"

# mss-milter with the packaged configuration, as its unit would start it (RuntimeDirectory).
mkdir -p "$R/run/mssante"
run 0 as_unit mss-milter
milter_pid=$(cat "$R/run/mssante/mss-milter.pid" 2>/dev/null) || fail "mss-milter wrote no pid file"
at_exit "kill $milter_pid 2>/dev/null || true"
[ "$(awk '/^Uid:/ {print $2}' "/proc/$milter_pid/status")" = "$mss_uid" ] || fail "mss-milter does not run as mssante"
[ "$(stat -c '%F %u %a' "$R/run/mssante/milter.sock")" = "socket $mss_uid 660" ] ||
	fail "milter socket is $(stat -c '%F %u %a' "$R/run/mssante/milter.sock"), expected socket owned by $mss_uid, 0660"
find "$R/var/log/mssante" -type f -uid "$mss_uid" | grep -q . ||
	fail "mss-milter did not open its audit trail in /var/log/mssante as mssante"
kill -TERM "$milter_pid"
i=0
while kill -0 "$milter_pid" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || fail "mss-milter still running 10 s after SIGTERM"
	sleep 0.1
done
# What systemd does when the unit stops (RuntimeDirectory=): the milter, no longer root,
# cannot remove its socket and pid file from the root-owned directory itself.
rm -rf "$R/run/mssante" "$R/root/test.conf" "$R/root/extraction.txt"
ok "mss-milter with the unit's capabilities ($caps): became mssante, socket 0660, audit trail open, stopped on SIGTERM"

# ---- remove: the conffile and the audit trail stay; purge: nothing of ours stays ----
run 0 inroot apt-get remove -y -q $PKGS
[ -f "$R/etc/mssante/mssante.conf" ] || fail "remove deleted the conffile"
[ -d "$R/var/log/mssante" ] || fail "remove deleted the audit trail"
[ ! -e "$R/usr/sbin/mssctl" ] && [ ! -e "$R/lib/$MA/libnss_mss.so.2" ] || fail "remove left programs behind"
ok "apt remove: programs gone, /etc/mssante/mssante.conf and /var/log/mssante kept"

# Only packages with something left to purge are still known to dpkg (config-files).
rc_pkgs=""
for p in $PKGS; do
	case "$(inroot dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" in
	*config-files) rc_pkgs="$rc_pkgs $p" ;;
	esac
done
case "$rc_pkgs" in *mssante-tools*) ;; *) fail "mssante-tools not in config-files state after remove" ;; esac
run 0 inroot apt-get purge -y -q $rc_pkgs
for p in $PKGS; do
	status=$(inroot dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed" | *config-files*) fail "$p still '$status' after purge" ;;
	esac
done
for d in /etc/mssante /var/lib/mssante /var/log/mssante; do
	[ ! -e "$R$d" ] || fail "$d still there after purge"
done
list_paths "$T/paths-after"
# The packages' dependencies (dovecot, libmilter, ...) stay, as apt leaves them; none of ours.
comm -13 "$T/paths-before" "$T/paths-after" >"$T/new-paths"
if grep -E 'mssante|mss-milter|mssctl|pam_mss|libnss_mss|lib90_mssante' "$T/new-paths" >"$T/left"; then
	fail "left after purge: $(tr '\n' ' ' <"$T/left")"
fi
ok "apt purge: /etc/mssante, /var/lib/mssante, /var/log/mssante and every file of the packages gone"

# Debian practice: a system user stays after purge (files it owned may be elsewhere, and its
# uid must not be handed to someone else), but it owns nothing in the chroot any more.
inroot getent passwd mssante >/dev/null || fail "purge deleted the mssante user"
(cd "$R" && find . -xdev -path ./proc -prune -o -uid "$mss_uid" -print) >"$T/owned"
[ ! -s "$T/owned" ] || fail "files still owned by mssante: $(tr '\n' ' ' <"$T/owned")"
ok "the mssante user stays (locked, nologin) and owns no file"

echo "deb chroot: $checks checks passed"
