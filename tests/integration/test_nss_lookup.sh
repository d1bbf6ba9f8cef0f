#!/bin/sh
# libnss_mss on the fictional hospital (private slapd -> mssctl sync -> snapshot), through
# nss_wrapper (getent, id) and through glibc itself in a private mount namespace (a test
# nsswitch.conf bind-mounted over /etc/nsswitch.conf, the module on the library path):
# users, groups, initgroups, the mapping rules ([nss] keys), unknown and unsafe names,
# enumeration on and off, small buffers (ERANGE) and no output from the module.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/slapd.sh"
. "$(dirname "$0")/nss-setup.sh"

nss_build
nss_hospital_snapshot "$T/h" <<EOF
enumerate = yes
EOF
D=$HOSPITAL
JEAN=jean.martin@$D
CARDIO_GID=$(uid_of "cardiologie@$D")
URG_GID=$(uid_of "urgences@$D")
SOPHIE_UID=$(uid_of "sophie.durand@$D")

# ---- users ----
run 0 wrap getent passwd "$JEAN"
[ "$(cat "$T/out")" = "$JEAN:*:200500:8:Dr Jean Martin:/var/vmail/$D/jean.martin:/usr/sbin/nologin" ] ||
	fail "getent passwd $JEAN: $(cat "$T/out")"
ok "getent passwd ADDRESS: uid from the snapshot, gid 8, gecos, home from the template, nologin"
run 0 wrap getent passwd 200500
[ "$(cut -d: -f1 "$T/out")" = "$JEAN" ] || fail "getent passwd 200500: $(cat "$T/out")"
ok "getent passwd UID"
run 0 wrap getent passwd "Sophie.Durand@Hopital-Test.MSSante.fr"
[ "$(cut -d: -f1,3 "$T/out")" = "sophie.durand@$D:$SOPHIE_UID" ] || fail "mixed case: $(cat "$T/out")"
ok "a name in mixed case finds the BAL; the entry's name is the address in lower case"
run 0 wrap getent passwd "dpi@$D"
ok "APP BAL is a user with the default [nss] types"
run 0 wrap getent passwd "claire.vasseur@$D"
out_has "Claire VASSEUR"
ok "a BAL of the national extraction is a user too"

# ---- absent: unknown, suspended, system names, out-of-range uids ----
run 2 wrap getent passwd "nobody@$D"
run 2 wrap getent passwd "ancien-service@$D"
run 2 wrap getent group "ancien-service@$D"
ok "unknown address and suspended ORG BAL: neither user nor group (getent exit 2)"
run 0 probe "$SO" mss getpwnam daemon
out_has "status=NOTFOUND errno=ENOENT"
run 0 probe "$SO" mss getpwuid 0
out_has "status=NOTFOUND errno=ENOENT"
run 0 probe "$SO" mss getpwuid 199999
out_has "status=NOTFOUND"
run 0 probe "$SO" mss getpwnam ""
out_has "status=NOTFOUND"
ok "names without '@', uid 0 and uids below [nss] uid_min are never ours"

# ---- groups ----
run 0 wrap getent group "cardiologie@$D"
[ "$(cat "$T/out")" = "cardiologie@$D:*:$CARDIO_GID:$JEAN,sophie.durand@$D" ] ||
	fail "getent group cardiologie: $(cat "$T/out")"
ok "getent group ORG: gid = the ORG BAL's uid, members = its delegates' PER BALs"
run 0 wrap getent group "$CARDIO_GID"
[ "$(cut -d: -f1 "$T/out")" = "cardiologie@$D" ] || fail "getent group GID: $(cat "$T/out")"
ok "getent group GID"
run 0 wrap getent group "urgences@$D"
[ "$(cut -d: -f4 "$T/out")" = "claire.lefebvre@$D" ] || fail "urgences members: $(cat "$T/out")"
ok "a delegate without a PER BAL is not a member"
run 0 wrap getent group "secretariat.cardiologie@$D"
[ "$(cut -d: -f4 "$T/out")" = "" ] || fail "extraction ORG: $(cat "$T/out")"
ok "an ORG BAL of the national extraction is a group without members"
run 2 wrap getent group "$JEAN"
ok "a PER BAL is not a group"

# ---- initgroups ----
run 0 probe "$SO" mss initgroups "$JEAN"
out_has "groups=$CARDIO_GID"
run 0 probe "$SO" mss initgroups "CLAIRE.LEFEBVRE@$D"
out_has "groups=$URG_GID"
run 0 probe "$SO" mss initgroups "dpi@$D"
[ "$(tail -n 1 "$T/out")" = "groups=" ] || fail "initgroups of an APP BAL: $(cat "$T/out")"
run 0 probe "$SO" mss initgroups "nobody@$D"
out_has "status=NOTFOUND"
ok "initgroups_dyn: the ORG groups of a BAL, any case; none for an APP BAL; NOTFOUND for an unknown one"
# nss_wrapper's getgrouplist walks getgrent (hence enumerate = yes in this configuration);
# glibc calls initgroups_dyn, tested below with enumeration off.
run 0 wrap id "$JEAN"
[ "$(cat "$T/out")" = "uid=200500($JEAN) gid=8(mail) groups=8(mail),$CARDIO_GID(cardiologie@$D)" ] ||
	fail "id: $(cat "$T/out")"
ok "id ADDRESS through nss_wrapper"

# The real glibc path: nsswitch.conf "files mss" in a private mount namespace, the module
# found on the library path, enumeration off (so groups come from initgroups_dyn).
nss_conf "$T/h/noenum.conf" </dev/null
mkdir -p "$T/lib" "$T/empty"
cp "$SO" "$T/lib/"
printf 'passwd: files mss\ngroup: files mss\nshadow: files\n' >"$T/nsswitch.conf"
cat >"$T/ns.sh" <<EOF
set -e
mount --bind "$T/nsswitch.conf" /etc/nsswitch.conf
# A host nscd would answer instead of the module: hide its socket in this namespace.
[ -d /var/run/nscd ] && mount --bind "$T/empty" /var/run/nscd
export LD_LIBRARY_PATH="$T/lib" MSSANTE_CONF="$T/h/noenum.conf"
id "$JEAN"
getent passwd "$SOPHIE_UID"
getent group "cardiologie@$D"
getent passwd root
EOF
ns=""
for try in "unshare -m" "unshare -r -m"; do
	if $try true 2>/dev/null; then
		ns=$try
		break
	fi
done
[ -n "$ns" ] || fail "no private mount namespace (needs root with CAP_SYS_ADMIN, or user namespaces)"
run 0 $ns sh "$T/ns.sh"
out_has "uid=200500($JEAN) gid=8(mail) groups=8(mail),$CARDIO_GID(cardiologie@$D)"
out_has "sophie.durand@$D:*:$SOPHIE_UID:"
out_has "cardiologie@$D:*:$CARDIO_GID:$JEAN,sophie.durand@$D"
out_has "root:x:0:0:"
ok "glibc with 'passwd: files mss' (mount namespace): id, getent passwd UID, getent group, root from files"

# ---- enumeration ----
run 0 wrap getent passwd
[ "$(grep -c "@" "$T/out")" -eq 19 ] || fail "enumeration: $(grep -c @ "$T/out") BAL users, expected 19"
out_lacks "ancien-service"
out_has "root:x:0:0"
run 0 wrap getent group
[ "$(grep -c "@" "$T/out")" -eq 5 ] || fail "group enumeration: $(cat "$T/out")"
ok "enumerate = yes: 19 active BALs with a uid, 5 ORG groups, nothing suspended"
MSSANTE_CONF="$T/h/noenum.conf"
export MSSANTE_CONF
run 0 wrap getent passwd
out_lacks "@"
run 0 wrap getent group
out_lacks "@"
run 0 wrap getent passwd "$JEAN"
ok "enumerate = no (the default): getent passwd lists files only; lookups still answer"

# ---- mapping rules ([nss] keys) ----
nss_conf "$T/h/map.conf" <<'EOF'
gid = 5000
home_template = /srv/mail/%u/%%/%n
shell = /bin/false
types = PER,ORG
uid_max = 200500
EOF
run 0 probe_c "$T/h/map.conf" "$SO" mss getpwnam "$JEAN"
out_has "$JEAN:*:200500:5000:Dr Jean Martin:/srv/mail/$JEAN/%/jean.martin:/bin/false"
run 0 probe_c "$T/h/map.conf" "$SO" mss getpwnam "dpi@$D"
out_has "status=NOTFOUND"
run 0 probe_c "$T/h/map.conf" "$SO" mss getpwuid "$SOPHIE_UID"
out_has "status=NOTFOUND"
ok "[nss] gid, home_template (%u %% %n), shell, types (APP left out), uid_max (above it: absent)"
for bad in 'var/vmail/%d' '/var/vmail/../%n' '/var/vmail/%x' '/var//%n'; do
	nss_conf "$T/h/bad.conf" <<EOF
home_template = $bad
EOF
	run 0 probe_c "$T/h/bad.conf" "$SO" mss getpwnam "$JEAN"
	out_has "status=UNAVAIL"
done
ok "an unusable home template makes the module unavailable instead of guessing"

# ---- unsafe values from the directory ----
# Addresses RFC 5321 allows but a user name must not carry, and a display name with ':'
# and ',': the snapshot keeps them, the module refuses or cleans them.
{
	head -n 1 "$SRC/tests/fixtures/extraction/good.txt"
	sed -n 2p "$SRC/tests/fixtures/extraction/good.txt" |
		sed -e 's/^PER|claire.vasseur@/PER|evil\/dir@/'
	sed -n 2p "$SRC/tests/fixtures/extraction/good.txt" |
		sed -e "s/^PER|claire.vasseur@/PER|o'neil@/"
	sed -n 2p "$SRC/tests/fixtures/extraction/good.txt" |
		sed -e 's/^PER|claire.vasseur@/PER|-rf@/'
	sed -n 2p "$SRC/tests/fixtures/extraction/good.txt" |
		sed -e 's/|VASSEUR|Claire|/|ROOT:0:0,X|Claire|/'
} >"$T/unsafe.txt"
write_conf "$T/unsafe.conf" <<EOF
snapshot = $T/unsafe.cdb
EOF
run 0 "$MSSCTL" -c "$T/unsafe.conf" sync --no-ldap --trust-list "$SRC/tests/fixtures/trust/hopital-test.xml" \
	--extraction "$T/unsafe.txt"
in_snapshot=0
for name in "evil/dir@$D" "o'neil@$D" "-rf@$D"; do
	# Only what the snapshot holds tests the module (mssctl may refuse some addresses itself).
	"$MSSCTL" lookup --snapshot "$T/unsafe.cdb" bal "$name" >/dev/null 2>&1 || continue
	in_snapshot=$((in_snapshot + 1))
	run 0 probe_c "$T/unsafe.conf" "$SO" mss getpwnam "$name"
	out_has "status=NOTFOUND"
done
[ "$in_snapshot" -gt 0 ] || fail "no unsafe address reached the snapshot: the check below tests nothing"
run 0 probe_c "$T/unsafe.conf" "$SO" mss getpwnam "claire.vasseur@$D"
out_has "claire.vasseur@$D:*:"
out_has ":Claire ROOT 0 0 X:/var/vmail/$D/claire.vasseur:"
ok "unsafe addresses are not users; ':' and ',' of a display name become spaces"

# ---- small buffers: ERANGE, and nothing written past the buffer ----
run 0 probe buffers "$SO" mss getpwnam "$JEAN"
out_has "min_buflen="
run 0 probe buffers "$SO" mss getgrnam "cardiologie@$D"
out_has "min_buflen="
ok "every buffer size below the entry's answers TRYAGAIN/ERANGE, none is overrun"
run 0 probe_c "$CONF" -b 4096 "$SO" mss getpwent
cp "$T/out" "$T/enum-big"
run 0 probe_c "$CONF" -b 8 "$SO" mss getpwent
grep -q "erange_retries=[1-9]" "$T/out" || fail "no ERANGE retry with an 8-byte buffer"
[ "$(grep -v '^status=' "$T/out")" = "$(grep -v '^status=' "$T/enum-big")" ] ||
	fail "enumeration with small buffers differs"
run 0 probe_c "$CONF" -b 8 "$SO" mss getgrent
grep -q "entries=5 erange_retries=[1-9]" "$T/out" || fail "group enumeration: $(tail -n 1 "$T/out")"
ok "enumeration: an entry refused for its buffer comes again with a bigger one"

# ---- quiet ----
wrap_c "$CONF" getent passwd "$JEAN" >"$T/stdout" 2>"$T/err"
[ "$(wc -l <"$T/stdout")" -eq 1 ] || fail "more than the entry on stdout: $(cat "$T/stdout")"
wrap_c "$T/missing.conf" getent passwd "$JEAN" >"$T/stdout" 2>>"$T/err" || true
wrap_c "$T/h/bad.conf" getent passwd "$JEAN" >>"$T/stdout" 2>>"$T/err" || true
[ ! -s "$T/stdout" ] || fail "the module wrote to stdout: $(cat "$T/stdout")"
[ ! -s "$T/err" ] || fail "the module wrote to stderr: $(cat "$T/err")"
ok "nothing on stdout or stderr, whether the lookup succeeds or the module is unavailable"
echo "$checks checks passed"
