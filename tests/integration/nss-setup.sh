# Sourced by tests/integration/test_nss_*.sh after lib/common.sh: builds what the libnss_mss
# tests need, and runs programs with the real module loaded without touching /etc.
#
#   nss_build                      makes libnss_mss.so.2, nss-probe and nss-stress in $BUILD
#   nss_hospital_snapshot DIR      starts a private slapd with the fictional hospital, writes
#                                  DIR/mssante.conf (snapshot DIR/s.cdb) with the [nss] lines
#                                  read from stdin, syncs once (LDAP + extraction). Sets CONF, S
#                                  and NSS_SYNC (the sync command line, for re-publishing).
#   nss_conf FILE                  FILE = $CONF with other [nss] lines (stdin)
#   wrap CMD...                    runs CMD under nss_wrapper: passwd/group = tiny files, then
#                                  libnss_mss (NSS_WRAPPER_MODULE_SO_PATH/FN_PREFIX)
#   probe ARGS...                  $BUILD/nss-probe ARGS (SO and prefix come first: $SO mss)
#   probe_c CONF ARGS...           the same with MSSANTE_CONF=CONF
# Knob: MSSANTE_CONF, read by the module through secure_getenv, is what each test points at.
SO="$BUILD/libnss_mss.so.2"
PROBE="$BUILD/nss-probe"
STRESS="$BUILD/nss-stress"
HOSPITAL=hopital-test.mssante.fr

nss_build() {
	make -s --no-print-directory -C "$SRC" "BUILD=$BUILD" "$SO" "$PROBE" "$STRESS" >"$T/build.log" 2>&1 ||
		{ cat "$T/build.log" >&2; fail "could not build the module and its helpers"; }
	NSS_WRAPPER_SO=$(for d in /usr/lib/*-linux-gnu /usr/lib64 /usr/lib; do
		[ -f "$d/libnss_wrapper.so" ] && echo "$d/libnss_wrapper.so" && break
	done)
	[ -n "$NSS_WRAPPER_SO" ] || fail "libnss_wrapper.so not found (package libnss-wrapper, tests/deps/nss.list)"
	# The files nss_wrapper answers from before the module: one system account, the mail group.
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$T/passwd"
	printf 'root:x:0:\nmail:x:8:\n' >"$T/group"
}

# The configuration of the hospital snapshot; [nss] lines come from stdin.
_nss_write_conf() { # FILE
	write_conf "$1" <<EOF
uri = $SLAPD_URI
base = $SLAPD_BASE
bind_dn = cn=mssante-sync,ou=services,$SLAPD_BASE
bind_password_file = $NSS_DIR/bindpw
starttls = yes
ca_file = $SLAPD_CA
snapshot = $S
[trust]
list = $SRC/tests/fixtures/trust/hopital-test.xml
[nss]
EOF
	cat >>"$1"
}

nss_hospital_snapshot() { # DIR
	NSS_DIR=$1
	mkdir -p "$NSS_DIR"
	S="$NSS_DIR/s.cdb"
	CONF="$NSS_DIR/mssante.conf"
	slapd_start "$NSS_DIR/ldap" "$SRC/tests/fixtures/hopital.ldif" || fail "slapd did not start"
	at_exit slapd_stop
	printf 'sync-secret\n' >"$NSS_DIR/bindpw"
	chmod 600 "$NSS_DIR/bindpw"
	_nss_write_conf "$CONF"
	NSS_SYNC="$MSSCTL -c $CONF sync --extraction $SRC/tests/fixtures/extraction/good.txt"
	run 0 $NSS_SYNC
	export MSSANTE_CONF="$CONF"
}

nss_conf() { # FILE
	_nss_write_conf "$1"
}

wrap() {
	LD_PRELOAD="$NSS_WRAPPER_SO" NSS_WRAPPER_PASSWD="$T/passwd" NSS_WRAPPER_GROUP="$T/group" \
		NSS_WRAPPER_MODULE_SO_PATH="$SO" NSS_WRAPPER_MODULE_FN_PREFIX=mss "$@"
}

probe() {
	"$PROBE" "$@"
}

# The same with MSSANTE_CONF=CONF for this command only.
probe_c() { # CONF ARGS...
	_c=$1
	shift
	env MSSANTE_CONF="$_c" "$PROBE" "$@"
}
wrap_c() ( # CONF CMD... (a subshell: MSSANTE_CONF is changed for this command only)
	MSSANTE_CONF=$1
	export MSSANTE_CONF
	shift
	wrap "$@"
)

# uid_of ADDRESS: the uid the snapshot gives the BAL (through mssctl, not through the module).
uid_of() {
	"$MSSCTL" lookup --snapshot "$S" --json bal "$1" >"$T/uid.json" || fail "mssctl lookup $1"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uid"])' "$T/uid.json"
}
