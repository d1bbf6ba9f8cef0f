#!/bin/sh
# Runs as the first command of `unshare -m` (a private mount namespace): replaces, for this
# namespace only, the files glibc and libpam read, then becomes COMMAND (same PID).
#
#   unshare -m --propagation private sh demo/lib/namespace.sh DEMO_DIR COMMAND...
#
#   /etc/nsswitch.conf   <- DEMO_DIR/etc/nsswitch.conf    (passwd/group: files mss)
#   /etc/pam.d           <- DEMO_DIR/etc/pam.d            (dovecot, dovecot-master: pam_mss)
#   /etc/ld.so.cache     <- DEMO_DIR/etc/ld.so.cache      (knows DEMO_DIR/lib/libnss_mss.so.2)
#
# The cache is compiled here with ldconfig, whose auxiliary cache (/var/cache/ldconfig) is
# first replaced by a directory of the demo: the machine's own files are never written.
set -eu
D=$1
shift
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] ||
	{ echo "namespace.sh: not in a private mount namespace (run it under unshare -m)" >&2; exit 1; }
mount --make-rprivate /
mkdir -p "$D/ns/ldconfig"
if [ -d /var/cache/ldconfig ]; then
	mount --bind "$D/ns/ldconfig" /var/cache/ldconfig
fi
ldconfig -X -C "$D/etc/ld.so.cache" -f "$D/etc/ld.so.conf"
mount --bind "$D/etc/ld.so.cache" /etc/ld.so.cache
mount --bind "$D/etc/nsswitch.conf" /etc/nsswitch.conf
mount --bind "$D/etc/pam.d" /etc/pam.d
exec "$@"
