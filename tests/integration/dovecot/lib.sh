# A private Dovecot for the plugin tests and bench. Source after lib/common.sh, then:
#
#   dovecot_prepare DIR WORLD
#       writes DIR/dovecot.conf: IMAP on 127.0.0.1:DOVECOT_PORT and IMAPS (client certificates
#       requested, IGC-Santé ORGANISATIONS chain from WORLD/pki) on DOVECOT_TLS_PORT, base_dir,
#       state_dir, log and maildirs under DIR, passdbs from WORLD/passwd (BALs) and
#       WORLD/masters (people logging in as BAL*PERSON), EXTERNAL for certificates, userdb
#       WORLD/passwd (extra fields become plugin settings), plugin { mssante_config =
#       WORLD/mssante.conf } (see dovecot_world). `mail_plugins` is "notify mssante" unless DOVECOT_PLUGINS says
#       otherwise, plus imap_mssante for IMAP (DOVECOT_IMAP_PLUGINS) when mssante is loaded;
#       the modules come from DIR/modules (Dovecot's notify + build/'s plugins).
#   dovecot_start DIR      starts `dovecot -F -c DIR/dovecot.conf`, waits for the ports
#   dovecot_stop           stops it by PID (TERM, then KILL) and waits
#
# As root (CI), mail processes run as the `dovecot` user, login processes as `dovenull`
# (both exist once dovecot-core is installed); as an ordinary user, everything runs as that
# user. The machine's own Dovecot (/etc/dovecot, its ports and sockets) is never touched.

DOVECOT_BIN=${DOVECOT_BIN:-/usr/sbin/dovecot}
DOVECOT_MODDIR=${DOVECOT_MODDIR:-/usr/lib/dovecot/modules}
DOVECOT_PID=""

_dc_port_free() {
	if command -v ss >/dev/null 2>&1; then
		[ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
	else
		return 0
	fi
}

_dc_pick_ports() {
	while :; do
		DOVECOT_PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
		DOVECOT_TLS_PORT=$((DOVECOT_PORT + 1))
		_dc_port_free $DOVECOT_PORT && _dc_port_free $DOVECOT_TLS_PORT && break
	done
	export DOVECOT_PORT DOVECOT_TLS_PORT
}

dovecot_prepare() { # DIR WORLD
	_d=$1
	_w=$2
	mkdir -p "$_d/run" "$_d/state" "$_d/mail" "$_d/modules"
	if [ "$(id -u)" -eq 0 ]; then
		DC_MAIL_USER=dovecot
		DC_LOGIN_USER=dovenull
	else
		DC_MAIL_USER=$(id -un)
		DC_LOGIN_USER=$(id -un)
	fi
	DC_MAIL_GROUP=$(id -gn "$DC_MAIL_USER")
	export DC_MAIL_USER
	[ "$(id -u)" -eq 0 ] && chown "$DC_MAIL_USER:$DC_MAIL_GROUP" "$_d/mail"
	# Dovecot loads mail plugins from one directory: its own notify beside ours.
	ln -sf "$DOVECOT_MODDIR/lib15_notify_plugin.so" "$_d/modules/"
	ln -sf "$BUILD/lib90_mssante_plugin.so" "$_d/modules/"
	ln -sf "$BUILD/lib95_imap_mssante_plugin.so" "$_d/modules/"
	# The IMAP companion (the refusal's reason in the BYE) goes with the plugin, unless
	# DOVECOT_IMAP_PLUGINS says otherwise.
	_mp=${DOVECOT_PLUGINS-notify mssante}
	case " $_mp " in
	*" mssante "*) _ip=${DOVECOT_IMAP_PLUGINS-imap_mssante} ;;
	*) _ip="" ;;
	esac
	_dh=""
	[ -f /usr/share/dovecot/dh.pem ] && _dh="ssl_dh = </usr/share/dovecot/dh.pem"
	_dc_pick_ports
	cat >"$_d/dovecot.conf" <<CONF
# Written by tests/integration/dovecot/lib.sh
protocols = imap
listen = 127.0.0.1
base_dir = $_d/run
state_dir = $_d/state
instance_name = mss-test-$$
log_path = $_d/dovecot.log
info_log_path = $_d/dovecot.log
debug_log_path = $_d/dovecot.log
default_internal_user = $DC_MAIL_USER
default_internal_group = $DC_MAIL_GROUP
default_login_user = $DC_LOGIN_USER
first_valid_uid = 1
first_valid_gid = 1
auth_verbose = yes
auth_mechanisms = plain login external
auth_master_user_separator = *
disable_plaintext_auth = no
# APP BALs: the TLS client certificate (Dovecot passes its commonName on).
ssl = yes
ssl_cert = <$_w/pki/op-hopital-test.crt
ssl_key = <$_w/pki/op-hopital-test.key
ssl_ca = <$_w/pki/igc-sante-org.pem
ssl_verify_client_cert = yes
ssl_cert_username_field = commonName
auth_ssl_username_from_cert = yes
ssl_min_protocol = TLSv1.2
# The test ORGANISATIONS CA publishes no CRL; in production give Dovecot the IGC-Santé CRLs
# (appended to ssl_ca) and keep ssl_require_crl = yes.
ssl_require_crl = no
auth_failure_delay = 0
$_dh
mail_location = maildir:$_d/mail/%d/%n
mail_plugin_dir = $_d/modules
mail_plugins = $_mp
protocol imap {
  mail_plugins = \$mail_plugins $_ip
}
namespace inbox {
  inbox = yes
  separator = /
}
# People acting on a BAL they do not hold: BAL*PERSON, PERSON's own password.
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $_w/masters
  master = yes
  mechanisms = plain login
}
# Applications: SASL EXTERNAL, identity from the verified client certificate.
passdb {
  driver = static
  args = nopassword=y
  master = yes
  mechanisms = external
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $_w/passwd
  mechanisms = plain login
}
userdb {
  driver = passwd-file
  args = username_format=%u $_w/passwd
  default_fields = uid=$DC_MAIL_USER gid=$DC_MAIL_GROUP home=$_d/mail/%d/%n
}
plugin {
  mssante_config = $_w/mssante.conf
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DOVECOT_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $DOVECOT_TLS_PORT
    ssl = yes
  }
  inet_listener imap-default {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0600
  }
}
CONF
}

dovecot_start() { # DIR
	_d=$1
	: >"$_d/dovecot.log"
	[ "$(id -u)" -eq 0 ] && chmod 0644 "$_d/dovecot.log"
	"$DOVECOT_BIN" -F -c "$_d/dovecot.conf" >"$_d/dovecot.stderr" 2>&1 </dev/null &
	DOVECOT_PID=$!
	_n=0
	while [ $_n -lt 150 ]; do
		if ! kill -0 "$DOVECOT_PID" 2>/dev/null; then
			cat "$_d/dovecot.stderr" "$_d/dovecot.log" >&2
			DOVECOT_PID=""
			return 1
		fi
		if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
			"$DOVECOT_PORT" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
		_n=$((_n + 1))
	done
	echo "dovecot did not listen within 15 s" >&2
	cat "$_d/dovecot.stderr" "$_d/dovecot.log" >&2
	return 1
}

dovecot_stop() {
	[ -n "${DOVECOT_PID:-}" ] || return 0
	if kill -0 "$DOVECOT_PID" 2>/dev/null; then
		kill "$DOVECOT_PID" 2>/dev/null
		_n=0
		while kill -0 "$DOVECOT_PID" 2>/dev/null && [ $_n -lt 100 ]; do
			sleep 0.1
			_n=$((_n + 1))
		done
		kill -0 "$DOVECOT_PID" 2>/dev/null && kill -9 "$DOVECOT_PID" 2>/dev/null
	fi
	wait "$DOVECOT_PID" 2>/dev/null
	DOVECOT_PID=""
	return 0
}

# dovecot_world DIR: the fictional hospital as the plugin sees it. Starts a private slapd with
# tests/fixtures/hopital.ldif, builds DIR/s.cdb with `mssctl sync`, stops slapd; makes the test
# PKI under DIR/pki; writes DIR/mssante.conf (snapshot, audit directory DIR/audit, every
# delegate right including folders), DIR/passwd (BALs, their passwords; urgences gets
# narrower delegate rights through a userdb field) and DIR/masters (people, for BAL*PERSON).
# Needs lib/slapd.sh sourced.
H=hopital-test.mssante.fr
dovecot_world() { # DIR
	_w=$1
	mkdir -p "$_w/audit"
	sh "$SRC/tests/pki/make-pki.sh" "$_w/pki" >"$_w/pki.log" 2>&1 || { cat "$_w/pki.log" >&2; return 1; }
	slapd_start "$_w/ldap" "$SRC/tests/fixtures/hopital.ldif" || return 1
	printf 'sync-secret\n' >"$_w/bindpw"
	chmod 600 "$_w/bindpw"
	write_conf "$_w/mssante.conf" <<CONF
uri = $SLAPD_URI
base = $SLAPD_BASE
bind_dn = cn=mssante-sync,ou=services,$SLAPD_BASE
bind_password_file = $_w/bindpw
ca_file = $SLAPD_CA
snapshot = $_w/s.cdb
[trust]
list = $SRC/tests/fixtures/trust/hopital-test.xml
[audit]
directory = $_w/audit
[dovecot]
org_delegate_rights = read,flag,move,expunge,append,mailbox
CONF
	"$MSSCTL" -c "$_w/mssante.conf" sync >"$_w/sync.log" 2>&1 || { cat "$_w/sync.log" >&2; slapd_stop; return 1; }
	slapd_stop
	chmod 0644 "$_w/mssante.conf" "$_w/s.cdb"
	if [ "$(id -u)" -eq 0 ]; then
		chown dovecot:dovecot "$_w/audit"
		# The mail processes (user dovecot) read the configuration and the snapshot under DIR.
		chmod 0755 "$_w" "$T"
	fi
	cat >"$_w/passwd" <<PW
jean.martin@$H:{PLAIN}pw-jean::::::
sophie.durand@$H:{PLAIN}pw-sophie::::::
alice.leroy@$H:{PLAIN}pw-alice::::::
cardiologie@$H:{PLAIN}pw-cardiologie::::::
urgences@$H:{PLAIN}pw-urgences::::::userdb_mssante_org_delegate_rights=read,flag,move,append
ancien-service@$H:{PLAIN}pw-ancien::::::
dpi@$H:{PLAIN}pw-dpi::::::
PW
	cat >"$_w/masters" <<PW
jean.martin@$H:{PLAIN}pw-jean
sophie.durand@$H:{PLAIN}pw-sophie
alice.leroy@$H:{PLAIN}pw-alice
810100000041:{PLAIN}pw-tmoreau
810100000025:{PLAIN}pw-pbernard
PW
}
