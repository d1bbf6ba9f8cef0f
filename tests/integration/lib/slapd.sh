# A throw-away slapd for the tests. Source this file, then:
#
#   slapd_start DIR LDIF   builds cn=config under DIR/slapd.d (slapadd -n0), loads LDIF into an
#                          mdb database under DIR/db (slapadd -n1), makes a test CA and server
#                          certificate under DIR/tls, starts /usr/sbin/slapd on
#                          ldap://127.0.0.1:PORT (free high port, StartTLS available) and on
#                          ldaps://127.0.0.1:PORT+1 and ldapi:// (socket DIR/ldapi), and waits
#                          until it answers.
#   slapd_stop             stops it (TERM, then KILL after 10 s) and waits for it.
#
# Exports after slapd_start:
#   SLAPD_URI     ldap://127.0.0.1:PORT          SLAPD_LDAPI   ldapi://%2F...%2Fldapi
#   SLAPD_LDAPS   ldaps://127.0.0.1:PORT+1 (TLS from the first byte, same certificate)
#   SLAPD_PID     pid of slapd                   SLAPD_CA      PEM file of the test CA
#   SLAPD_BASE    suffix (the first DN of LDIF)  SLAPD_PORT    the TCP port
#   SLAPD_ROOTDN  cn=admin,SUFFIX                SLAPD_ROOTPW  its password
#   SLAPD_DIR     DIR                            SLAPD_LOG     slapd's stderr (debug output)
#
# Access: userPassword is usable for binds only; every authenticated identity (a simple bind,
# or SASL EXTERNAL over ldapi, whatever the local user) may read everything else; anonymous
# users may read nothing. Size limits are off so that paged searches of big test
# directories (bench) are not cut short.
# Environment knobs: SLAPD_LOGLEVEL (default "stats": one line per operation in SLAPD_LOG),
# SLAPD_DB_MAXSIZE (bytes, default 4 GiB, sparse).
#
# It never touches /etc/ldap nor the machine's own slapd: everything lives under DIR, and
# slapd is started with explicit -F and -h. Works as root and as an ordinary user.

SLAPD_BIN=${SLAPD_BIN:-/usr/sbin/slapd}
SLAPADD_BIN=${SLAPADD_BIN:-/usr/sbin/slapadd}
SLAPD_SCHEMA_DIR=${SLAPD_SCHEMA_DIR:-/etc/ldap/schema}
SLAPD_MODULE_DIR=${SLAPD_MODULE_DIR:-/usr/lib/ldap}
SLAPD_PID=""

_slapd_die() {
	echo "slapd.sh: $*" >&2
	return 1
}

# URL-encodes a socket path for ldapi:// (only '/' and the few characters that matter).
_slapd_ldapi_url() {
	printf 'ldapi://%s' "$(printf '%s' "$1" | sed -e 's/%/%25/g' -e 's|/|%2F|g' -e 's/ /%20/g' -e 's/:/%3A/g')"
}

# Is a TCP port on 127.0.0.1 free? (Best effort: the start loop retries on a race.)
_slapd_port_free() {
	if command -v ss >/dev/null 2>&1; then
		[ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
	else
		return 0
	fi
}

_slapd_make_tls() { # dir
	_t=$1/tls
	mkdir -p "$_t" || return 1
	(
		umask 077
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 \
			-keyout "$_t/ca.key" -out "$_t/ca.crt" -subj "/O=mssante tests/CN=Test LDAP CA" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
			openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$_t/server.key" -out "$_t/server.csr" \
				-subj "/O=mssante tests/CN=localhost" &&
			printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
				"extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$_t/server.ext" &&
			openssl x509 -req -in "$_t/server.csr" -CA "$_t/ca.crt" -CAkey "$_t/ca.key" -CAcreateserial \
				-days 2 -sha256 -extfile "$_t/server.ext" -out "$_t/server.crt"
	) >"$_t/openssl.log" 2>&1 || { cat "$_t/openssl.log" >&2; return 1; }
	chmod 644 "$_t/ca.crt" "$_t/server.crt"
}

_slapd_config_ldif() { # dir suffix
	cat <<CONF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $1/slapd.pid
olcArgsFile: $1/slapd.args
olcTLSCACertificateFile: $1/tls/ca.crt
olcTLSCertificateFile: $1/tls/server.crt
olcTLSCertificateKeyFile: $1/tls/server.key

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: $SLAPD_MODULE_DIR
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://$SLAPD_SCHEMA_DIR/core.ldif

include: file://$SLAPD_SCHEMA_DIR/cosine.ldif

include: file://$SLAPD_SCHEMA_DIR/inetorgperson.ldif

include: file://$SLAPD_SCHEMA_DIR/nis.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: unlimited
olcTimeLimit: unlimited

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $2
olcRootDN: $SLAPD_ROOTDN
olcRootPW: $SLAPD_ROOTPW
olcDbDirectory: $1/db
olcDbMaxSize: ${SLAPD_DB_MAXSIZE:-4294967296}
olcDbIndex: objectClass eq
olcDbIndex: mail,employeeNumber,uid eq
olcSizeLimit: unlimited
olcTimeLimit: unlimited
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to * by users read by * none
CONF
}

slapd_start() { # DIR LDIF
	[ $# -eq 2 ] || { _slapd_die "usage: slapd_start DIR LDIF"; return 1; }
	[ -x "$SLAPD_BIN" ] || { _slapd_die "$SLAPD_BIN not found (apt-get install slapd)"; return 1; }
	[ -f "$2" ] || { _slapd_die "$2: no such LDIF"; return 1; }
	mkdir -p "$1" || return 1
	SLAPD_DIR=$(cd "$1" && pwd)
	_ldif=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
	# The suffix is the first DN of the LDIF (its root entry).
	SLAPD_BASE=$(sed -n 's/^dn: *//p' "$_ldif" | head -n 1)
	[ -n "$SLAPD_BASE" ] || { _slapd_die "$_ldif: no dn: line"; return 1; }
	SLAPD_ROOTDN="cn=admin,$SLAPD_BASE"
	SLAPD_ROOTPW=${SLAPD_ROOTPW:-root-secret}
	SLAPD_CA=$SLAPD_DIR/tls/ca.crt
	SLAPD_LOG=$SLAPD_DIR/slapd.log
	_sock=$SLAPD_DIR/ldapi
	SLAPD_LDAPI=$(_slapd_ldapi_url "$_sock")
	export SLAPD_DIR SLAPD_BASE SLAPD_ROOTDN SLAPD_ROOTPW SLAPD_CA SLAPD_LOG SLAPD_LDAPI

	rm -rf "$SLAPD_DIR/slapd.d" "$SLAPD_DIR/db"
	mkdir -p "$SLAPD_DIR/slapd.d" "$SLAPD_DIR/db" || return 1
	_slapd_make_tls "$SLAPD_DIR" || { _slapd_die "cannot make the test certificates"; return 1; }
	_slapd_config_ldif "$SLAPD_DIR" "$SLAPD_BASE" >"$SLAPD_DIR/config.ldif"
	"$SLAPADD_BIN" -n 0 -F "$SLAPD_DIR/slapd.d" -l "$SLAPD_DIR/config.ldif" >"$SLAPD_DIR/slapadd.log" 2>&1 ||
		{ cat "$SLAPD_DIR/slapadd.log" >&2; _slapd_die "slapadd of cn=config failed"; return 1; }
	"$SLAPADD_BIN" -q -n 1 -F "$SLAPD_DIR/slapd.d" -l "$_ldif" >>"$SLAPD_DIR/slapadd.log" 2>&1 ||
		{ cat "$SLAPD_DIR/slapadd.log" >&2; _slapd_die "slapadd of $_ldif failed"; return 1; }

	_tries=0
	while :; do
		_tries=$((_tries + 1))
		[ "$_tries" -le 20 ] || { _slapd_die "could not start slapd (see $SLAPD_LOG)"; return 1; }
		# A port in 20000..59999 that nothing listens on.
		SLAPD_PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
		_slapd_port_free "$SLAPD_PORT" && _slapd_port_free $((SLAPD_PORT + 1)) || continue
		SLAPD_URI=ldap://127.0.0.1:$SLAPD_PORT
		SLAPD_LDAPS=ldaps://127.0.0.1:$((SLAPD_PORT + 1))
		rm -f "$_sock"
		# -d keeps slapd in the foreground (its pid is $!) and sends its log to SLAPD_LOG.
		"$SLAPD_BIN" -F "$SLAPD_DIR/slapd.d" -h "$SLAPD_URI/ $SLAPD_LDAPS/ $SLAPD_LDAPI/" \
			-d "${SLAPD_LOGLEVEL:-stats}" >"$SLAPD_LOG" 2>&1 </dev/null &
		SLAPD_PID=$!
		_waited=0
		while [ "$_waited" -lt 100 ]; do
			if ! kill -0 "$SLAPD_PID" 2>/dev/null; then
				break # died: most likely the port was taken meanwhile; try another
			fi
			if ldapsearch -x -H "$SLAPD_URI" -o nettimeout=2 -l 2 -b "" -s base \
				namingContexts >/dev/null 2>&1; then
				export SLAPD_URI SLAPD_LDAPS SLAPD_PID SLAPD_PORT
				return 0
			fi
			sleep 0.1
			_waited=$((_waited + 1))
		done
		if kill -0 "$SLAPD_PID" 2>/dev/null; then
			kill "$SLAPD_PID" 2>/dev/null
			wait "$SLAPD_PID" 2>/dev/null
			SLAPD_PID=""
			_slapd_die "slapd did not answer within 10 s (see $SLAPD_LOG)"
			tail -n 20 "$SLAPD_LOG" >&2
			return 1
		fi
		wait "$SLAPD_PID" 2>/dev/null
		SLAPD_PID=""
		if ! grep -q 'bind(.*) failed\|Address already in use' "$SLAPD_LOG"; then
			tail -n 20 "$SLAPD_LOG" >&2
			_slapd_die "slapd exited at start (see $SLAPD_LOG)"
			return 1
		fi
	done
}

slapd_stop() {
	[ -n "${SLAPD_PID:-}" ] || return 0
	if kill -0 "$SLAPD_PID" 2>/dev/null; then
		kill -CONT "$SLAPD_PID" 2>/dev/null # in case a test left it stopped
		kill "$SLAPD_PID" 2>/dev/null
		_n=0
		while kill -0 "$SLAPD_PID" 2>/dev/null && [ "$_n" -lt 100 ]; do
			sleep 0.1
			_n=$((_n + 1))
		done
		kill -0 "$SLAPD_PID" 2>/dev/null && kill -9 "$SLAPD_PID" 2>/dev/null
	fi
	wait "$SLAPD_PID" 2>/dev/null
	SLAPD_PID=""
	return 0
}
