# Sourced by demo/run.sh after lib/common.sh: brings up the two operators, one piece at a
# time. Each function prints one setup line, records the PIDs it starts, and returns 1 (with
# the log that says why on stderr) when its piece did not come up.
#
# Layout of the demo directory $D:
#   state/     pids (NAME PID per line), tag, ports, run id          stop.sh reads it
#   pki/       the test IGC-Santé PKI (tests/pki/make-pki.sh)
#   ldap/      slapd (tests/integration/lib/slapd.sh) with tests/fixtures/hopital.ldif
#   etc/       mssante.conf, trust list, nsswitch.conf, pam.d/, ld.so.conf and its cache
#   lib/       libnss_mss.so.2, pam_mss.so, dovecot/ (the plugin beside Dovecot's notify)
#   var/       snapshot.cdb, tls_policy(.db)
#   audit/     milter.log, dovecot.log, pam.log: the hash-chained audit trail
#   milter/    mss-milter's socket, pid file and stderr
#   dovecot/   dovecot.conf, run/ (sockets), state/, dovecot.log
#   vmail/     the BALs' homes and maildirs (owned by each BAL's uid from libnss_mss)
#   ours/ peer/  the two Postfix instances: conf/, queue/, data/, maillog
#   logs/      the scenario's SMTP and IMAP transcripts

H=hopital-test.mssante.fr
PEER_DOMAIN=ch-valmont.mssante.fr

# The demo's binaries, copied under $D so that every user the servers run as can read them
# (a clone under /root is not reachable by postfix, dovecot or a BAL's uid).
install_binaries() {
	mkdir -p "$D/lib/dovecot"
	for f in libnss_mss.so.2 pam_mss.so lib90_mssante_plugin.so lib95_imap_mssante_plugin.so mss-milter mssctl; do
		[ -f "$BUILD/$f" ] || { echo "demo: $BUILD/$f is not built (run make all)" >&2; return 1; }
	done
	install -m 0755 "$BUILD/libnss_mss.so.2" "$BUILD/pam_mss.so" "$BUILD/mss-milter" "$D/lib/"
	# The plugin, and its IMAP companion (the refusal's reason in the client's BYE).
	install -m 0755 "$BUILD/lib90_mssante_plugin.so" "$BUILD/lib95_imap_mssante_plugin.so" "$D/lib/dovecot/"
	# Dovecot loads mail plugins from one directory: its own notify beside ours.
	ln -sf /usr/lib/dovecot/modules/lib15_notify_plugin.so "$D/lib/dovecot/"
	setup_line "binaries: mss-milter, libnss_mss.so.2, pam_mss.so and the Dovecot plugins copied to $D/lib"
}

start_pki() {
	sh "$SRC/tests/pki/make-pki.sh" "$D/pki" >"$D/logs/pki.log" 2>&1 || { cat "$D/logs/pki.log" >&2; return 1; }
	chmod 0755 "$D/pki"
	setup_line "test IGC-Santé PKI in $D/pki: CAs 'AC IGC-SANTE ELEMENTAIRE ORGANISATIONS' (+ root), our MTA" \
		"certificate CN=mail.hopital-test.fr, the peer's CN=mss.ch-valmont.fr"
}

start_slapd() {
	# shellcheck source=/dev/null
	. "$SRC/tests/integration/lib/slapd.sh"
	SLAPD_LOGLEVEL=none
	slapd_start "$D/ldap" "$SRC/tests/fixtures/hopital.ldif" >"$D/logs/slapd-start.log" 2>&1 ||
		{ cat "$D/logs/slapd-start.log" >&2; return 1; }
	record_pid slapd "$SLAPD_PID"
	setup_line "slapd (pid $SLAPD_PID) with the fictional hospital (tests/fixtures/hopital.ldif) on $SLAPD_URI"
}

# The configuration files of the demo: mssante.conf, the trust list, NSS, PAM, ld.so.conf.
write_config() {
	mkdir -p "$D/etc/pam.d" "$D/var" "$D/audit"
	printf 'sync-secret\n' >"$D/etc/bindpw"
	chmod 0600 "$D/etc/bindpw"
	RENDER_VARS="D SLAPD_URI SLAPD_BASE SLAPD_CA IN_PORT SUB_PORT PEER_PORT IMAP_PORT"
	render "$SRC/demo/templates/mssante.conf.in" "$D/etc/mssante.conf" &&
		render "$SRC/demo/templates/ld.so.conf.in" "$D/etc/ld.so.conf" &&
		render "$SRC/demo/templates/pam.d/dovecot.in" "$D/etc/pam.d/dovecot" &&
		render "$SRC/demo/templates/pam.d/dovecot-master.in" "$D/etc/pam.d/dovecot-master" &&
		cp "$SRC/demo/templates/pam.d/other" "$D/etc/pam.d/other" &&
		cp "$SRC/demo/templates/nsswitch.conf" "$D/etc/nsswitch.conf" || return 1
	# The fixture trust list, "downloaded today": its generation date is set to now so that
	# `mssctl check` finds it fresh ([trust] max_age), as a real daily download would be.
	TRUST_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	sed "s|<DateDeGeneration>[^<]*</DateDeGeneration>|<DateDeGeneration>$TRUST_DATE</DateDeGeneration>|" \
		"$SRC/tests/fixtures/trust/hopital-test.xml" >"$D/etc/listeblanchemssante.xml"
	chmod 0644 "$D/etc/mssante.conf" "$D/etc/pam.d/"* "$D/etc/nsswitch.conf" "$D/etc/listeblanchemssante.xml"
	# The audit trail: one file per component. The milter writes as postfix, pam_mss as root,
	# the Dovecot plugin as each BAL's uid (gid mail): the files are made beforehand with
	# those owners, in a directory the others cannot list.
	chown root:mail "$D/audit"
	chmod 0751 "$D/audit"
	for c in milter dovecot pam; do
		: >"$D/audit/$c.log"
		: >"$D/audit/.$c.head"
	done
	chown postfix:postfix "$D/audit/milter.log" "$D/audit/.milter.head"
	chown root:mail "$D/audit/dovecot.log" "$D/audit/.dovecot.head"
	chmod 0660 "$D/audit/dovecot.log" "$D/audit/.dovecot.head"
	chmod 0600 "$D/audit/pam.log" "$D/audit/.pam.head" "$D/audit/milter.log" "$D/audit/.milter.head"
	setup_line "configuration: $D/etc/mssante.conf; trust list $D/etc/listeblanchemssante.xml" \
		"(tests/fixtures/trust/hopital-test.xml dated $TRUST_DATE)"
}

run_sync() {
	"$MSSCTL" -c "$D/etc/mssante.conf" sync >"$D/logs/sync.log" 2>&1 || { cat "$D/logs/sync.log" >&2; return 1; }
	postmap "hash:$D/var/tls_policy" || return 1
	chmod 0644 "$D/var/snapshot.cdb"
	setup_line "mssctl sync: snapshot $D/var/snapshot.cdb from slapd + the trust list:"
	sed -n '1,12p' "$D/logs/sync.log" | sed 's/^/        /'
	"$MSSCTL" lookup --snapshot "$D/var/snapshot.cdb" domain "$PEER_DOMAIN" >"$D/logs/lookup-peer.log" 2>&1 || {
		cat "$D/logs/lookup-peer.log" >&2
		return 1
	}
	setup_line "the trust list admits the peer operator: mssctl lookup domain $PEER_DOMAIN"
	sed 's/^/        /' "$D/logs/lookup-peer.log"
}

start_milter() {
	mkdir -p "$D/milter"
	chmod 0755 "$D/milter"
	"$D/lib/mss-milter" -f -c "$D/etc/mssante.conf" </dev/null >"$D/milter/milter.stderr" 2>&1 &
	MILTER_PID=$!
	record_pid mss-milter "$MILTER_PID"
	wait_unix "$D/milter/milter.sock" 20 && kill -0 "$MILTER_PID" 2>/dev/null ||
		{ cat "$D/milter/milter.stderr" >&2; return 1; }
	setup_line "mss-milter (pid $MILTER_PID) on unix:$D/milter/milter.sock, running as postfix"
}

# Dovecot inside the demo's mount namespace (lib/namespace.sh): NSS and PAM are the demo's.
start_dovecot() {
	mkdir -p "$D/dovecot/run" "$D/dovecot/state" "$D/vmail/$H" "$D/ns"
	chmod 0755 "$D/dovecot" "$D/vmail"
	# Each BAL's uid (primary group mail, [nss] gid) creates its home under its domain.
	chown root:mail "$D/vmail/$H"
	chmod 2775 "$D/vmail/$H"
	RENDER_VARS="D IMAP_PORT"
	render "$SRC/demo/templates/dovecot.conf.in" "$D/dovecot/dovecot.conf" || return 1
	: >"$D/dovecot/dovecot.log"
	unshare -m --propagation private sh "$SRC/demo/lib/namespace.sh" "$D" \
		/usr/sbin/dovecot -F -c "$D/dovecot/dovecot.conf" </dev/null >"$D/dovecot/dovecot.stderr" 2>&1 &
	DOVECOT_PID=$!
	record_pid dovecot "$DOVECOT_PID"
	if ! wait_tcp "$IMAP_PORT" 20 || ! kill -0 "$DOVECOT_PID" 2>/dev/null; then
		cat "$D/dovecot/dovecot.stderr" "$D/dovecot/dovecot.log" >&2
		return 1
	fi
	# demo-stop also stops anything left in this namespace.
	readlink "/proc/$DOVECOT_PID/ns/mnt" >"$D/state/mntns"
	wait_unix "$D/dovecot/run/lmtp" 10 && wait_unix "$D/dovecot/run/auth-postfix" 10 || {
		cat "$D/dovecot/dovecot.log" >&2
		return 1
	}
	setup_line "Dovecot $(dovecot --version | cut -d' ' -f1) (pid $DOVECOT_PID) with mail_plugins = notify mssante:" \
		"IMAP on 127.0.0.1:$IMAP_PORT, LMTP and SASL sockets in $D/dovecot/run"
	setup_line "Dovecot runs in its own mount namespace where /etc/nsswitch.conf says 'passwd: files mss'" \
		"and /etc/pam.d/dovecot uses pam_mss (the machine's own files are untouched):"
	ns_getent passwd "cardiologie@$H" >"$D/logs/getent.log" 2>&1 || { cat "$D/logs/getent.log" >&2; return 1; }
	detail "inside:  getent passwd cardiologie@$H -> $(cat "$D/logs/getent.log")"
	if getent passwd "cardiologie@$H" >/dev/null 2>&1; then
		detail "outside: getent passwd cardiologie@$H -> found (the machine's nsswitch already lists mss)"
	else
		detail "outside: getent passwd cardiologie@$H -> not found (the machine's /etc/nsswitch.conf is not changed)"
	fi
}

# ns_getent ARGS...: getent inside Dovecot's mount namespace, with the demo's configuration.
ns_getent() {
	nsenter -t "$DOVECOT_PID" -m env MSSANTE_CONF="$D/etc/mssante.conf" getent "$@"
}

# postfix_up NAME DIR PORT: starts the Postfix instance configured in DIR/conf, waits for
# PORT, records the master's PID.
postfix_up() {
	_name=$1 _dir=$2 _port=$3
	mkdir -p "$_dir/queue" "$_dir/data"
	chmod 0755 "$_dir"
	chown postfix "$_dir/data"
	postfix -c "$_dir/conf" check >"$_dir/check.out" 2>&1 || { cat "$_dir/check.out" >&2; return 1; }
	postfix -c "$_dir/conf" start >"$_dir/start.out" 2>&1 || { cat "$_dir/start.out" "$_dir/maillog" >&2 2>/dev/null; return 1; }
	wait_for 20 test -s "$_dir/queue/pid/master.pid" || { cat "$_dir/maillog" >&2; return 1; }
	_pid=$(tr -d ' \n' <"$_dir/queue/pid/master.pid")
	record_pid "$_name" "$_pid"
	wait_tcp "$_port" 20 || { cat "$_dir/maillog" >&2; return 1; }
	eval "${_name}_PID=$_pid"
}

start_postfix_ours() {
	mkdir -p "$D/ours/conf"
	RENDER_VARS="D IN_PORT SUB_PORT"
	render "$SRC/demo/templates/postfix/main.cf.in" "$D/ours/conf/main.cf" &&
		render "$SRC/demo/templates/postfix/master.cf.in" "$D/ours/conf/master.cf" || return 1
	postfix_up postfix_ours "$D/ours" "$IN_PORT" || return 1
	setup_line "OUR Postfix (master pid $postfix_ours_PID), mail.hopital-test.fr:" \
		"inbound 127.0.0.1:$IN_PORT (TLS required, client certificate verified against IGC-Santé)," \
		"submission 127.0.0.1:$SUB_PORT (TLS + SASL through Dovecot), both with mss-milter;" \
		"BALs delivered over LMTP into Dovecot"
}

start_postfix_peer() {
	mkdir -p "$D/peer/conf"
	RENDER_VARS="D IN_PORT PEER_PORT"
	render "$SRC/demo/templates/peer/main.cf.in" "$D/peer/conf/main.cf" &&
		render "$SRC/demo/templates/peer/master.cf.in" "$D/peer/conf/master.cf" &&
		render "$SRC/demo/templates/peer/tls_policy.in" "$D/peer/conf/tls_policy" || return 1
	postfix_up postfix_peer "$D/peer" "$PEER_PORT" || return 1
	setup_line "PEER Postfix (master pid $postfix_peer_PID), mss.ch-valmont.fr: takes its users' mail on" \
		"127.0.0.1:$PEER_PORT and relays it to our inbound port with its IGC-Santé certificate"
}
