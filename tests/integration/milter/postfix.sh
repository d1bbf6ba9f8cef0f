# Sourced by the Postfix tests of mss-milter and by bench/group-milter.sh: a private Postfix per
# run, with everything under one directory, stopped by PID. Needs root (Postfix's master must
# start as root); never touches /etc/postfix or the machine's own mail system.
#
#   free_port                  a free TCP port on 127.0.0.1
#   pki_make DIR               the test IGC-Santé PKI (tests/pki/make-pki.sh) -> PKI=DIR
#   sink_start DIR             smtp-sink on 127.0.0.1:SINK_PORT, every message appended to
#                              DIR/mail (SINK_DUMP); SINK_PID
#   sink_count                 messages the sink received (each carries X-Test-Seq or not: it
#                              counts the "MAIL FROM" records of the dump)
#   dovecot_auth_start DIR     a private Dovecot with only its auth service, for SMTP AUTH;
#                              users from stdin, "login password" per line; DOVECOT_AUTH is the
#                              socket Postfix uses
#   postfix_start DIR [MILTER] Postfix with its configuration in DIR/conf, queue in DIR/queue,
#                              log in DIR/maillog (postlogd), two listeners on 127.0.0.1:
#                                PF_IN_PORT   inbound (milter_macro_daemon_name=mss-inbound):
#                                             STARTTLS offered, client certificates asked and
#                                             verified against the IGC-Santé CAs only
#                                PF_SUB_PORT  submission (mss-submission): SASL via Dovecot
#                                PF_SMTPS_PORT the inbound listener in TLS wrapper mode (for
#                                             smtp-source behind a TLS wrapper, see tls_wrap)
#                              everything delivered to the sink. MILTER: "unix:PATH" or empty
#                              (no milter at all). PF_DIR is DIR.
#   postfix_stop               master stopped by PID (TERM, then KILL), children with it
#                              (every instance started is also stopped at exit)
#   postfix_wait_empty [SECS]  until the queue is empty
#   postfix_peer_start DIR PORT  another operator's MTA (ch-valmont.mssante.fr): listens in
#                              clear on PEER_PORT for injection, relays everything over TLS
#                              with op-valmont's certificate to 127.0.0.1:PORT, retries a
#                              deferred message after 1 to 2 s; PEER_DIR, PEER_MASTER_PID
#   tls_wrap PORT CERT KEY     socat on 127.0.0.1:WRAP_PORT speaking TLS with that client
#                              certificate to 127.0.0.1:PORT; WRAP_PID

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pki_make() {
	sh "$SRC/tests/pki/make-pki.sh" "$1" >/dev/null 2>&1 || fail "cannot make the test PKI"
	PKI=$1
	chmod 0755 "$PKI"
}

sink_start() { # DIR
	mkdir -p "$1"
	chown postfix "$1"
	SINK_PORT=$(free_port)
	SINK_DUMP=$1/mail
	smtp-sink -u postfix -D "$SINK_DUMP" "127.0.0.1:$SINK_PORT" 256 >"$1/sink.log" 2>&1 &
	SINK_PID=$!
	at_exit "kill $SINK_PID 2>/dev/null || true"
	n=0
	until python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' \
		"$SINK_PORT" 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt 200 ] || fail "smtp-sink did not start"
		sleep 0.05
	done
}

sink_count() {
	[ -f "$SINK_DUMP" ] || { echo 0; return; }
	grep -c '^X-Test-Seq: ' "$SINK_DUMP" || true
}

dovecot_auth_start() { # DIR, users on stdin
	_d=$1
	mkdir -p "$_d"
	chmod 0755 "$_d"
	: >"$_d/passwd"
	while read -r _u _p; do
		[ -n "$_u" ] && printf '%s:{PLAIN}%s::::::\n' "$_u" "$_p" >>"$_d/passwd"
	done
	chmod 0644 "$_d/passwd"
	DOVECOT_AUTH=$_d/auth-postfix
	cat >"$_d/dovecot.conf" <<EOF
# Dovecot for SASL only (the Dovecot tests of the project run the full server).
base_dir = $_d/run
state_dir = $_d/state
log_path = $_d/dovecot.log
instance_name = mss-milter-test-$$
protocols =
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $_d/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  unix_listener $DOVECOT_AUTH {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
	dovecot -F -c "$_d/dovecot.conf" >"$_d/dovecot.out" 2>&1 &
	DOVECOT_PID=$!
	at_exit "kill $DOVECOT_PID 2>/dev/null || true"
	n=0
	until [ -S "$DOVECOT_AUTH" ]; do
		n=$((n + 1))
		[ $n -lt 200 ] || { cat "$_d/dovecot.out" "$_d/dovecot.log" >&2 2>/dev/null; fail "dovecot auth did not start"; }
		sleep 0.05
	done
}

postfix_start() { # DIR [MILTER]
	PF_DIR=$1
	_milter=${2:-}
	mkdir -p "$PF_DIR/conf" "$PF_DIR/queue" "$PF_DIR/data"
	chmod 0755 "$PF_DIR"
	chown postfix "$PF_DIR/data"
	PF_IN_PORT=$(free_port)
	PF_SUB_PORT=$(free_port)
	PF_SMTPS_PORT=$(free_port)
	cat >"$PF_DIR/conf/main.cf" <<EOF
# A private Postfix for the mss-milter tests: nothing here reaches the machine's mail system.
compatibility_level = 3.6
queue_directory = $PF_DIR/queue
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.hopital-test.fr
mydomain = hopital-test.fr
myorigin = hopital-test.mssante.fr
mydestination =
mynetworks = 127.0.0.1/32
local_recipient_maps =
relay_domains = hopital-test.mssante.fr
# Everything, local BALs and other operators alike, goes to the sink.
relayhost = [127.0.0.1]:$SINK_PORT
smtp_tls_security_level = none
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
maillog_file = $PF_DIR/maillog
maillog_file_prefixes = $PF_DIR
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C
# TLS: this hospital's MTA certificate; clients verified against the IGC-Santé CAs only.
smtpd_tls_cert_file = $PKI/op-hopital-test.crt
smtpd_tls_key_file = $PKI/op-hopital-test.key
smtpd_tls_CAfile = $PKI/igc-sante-org.pem
smtpd_tls_ask_ccert = yes
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_relay_restrictions = reject_unauth_destination
# The milter: any failure to reach it means 4xx, never an unchecked accept.
smtpd_milters = $_milter
milter_default_action = tempfail
milter_protocol = 6
# Room for the burst test and the bench.
default_process_limit = 100
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
in_flow_delay = 0
EOF
	cat >"$PF_DIR/conf/master.cf" <<EOF
# Inbound from other operators: TLS offered (the milter refuses mail without it, so that the
# test sees the milter's answer; production uses smtpd_tls_security_level = encrypt).
127.0.0.1:$PF_IN_PORT inet n - n - - smtpd
  -o syslog_name=postfix/inbound
  -o milter_macro_daemon_name=mss-inbound
127.0.0.1:$PF_SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/inbound-smtps
  -o milter_macro_daemon_name=mss-inbound
  -o smtpd_tls_wrappermode=yes
# Submission by the hospital's users: SASL through Dovecot.
127.0.0.1:$PF_SUB_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o milter_macro_daemon_name=mss-submission
  -o smtpd_tls_ask_ccert=no
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=dovecot
  -o smtpd_sasl_path=${DOVECOT_AUTH:-/nonexistent}
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	postfix -c "$PF_DIR/conf" check >"$PF_DIR/check.out" 2>&1 || { cat "$PF_DIR/check.out" "$PF_DIR/maillog" >&2 2>/dev/null; fail "postfix check failed"; }
	postfix -c "$PF_DIR/conf" start >"$PF_DIR/start.out" 2>&1 || { cat "$PF_DIR/start.out" "$PF_DIR/maillog" >&2 2>/dev/null; fail "postfix did not start"; }
	n=0
	until [ -s "$PF_DIR/queue/pid/master.pid" ] &&
		python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$PF_IN_PORT" 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt 200 ] || { cat "$PF_DIR/maillog" >&2; fail "postfix does not listen"; }
		sleep 0.05
	done
	PF_MASTER_PID=$(tr -d ' \n' <"$PF_DIR/queue/pid/master.pid")
	at_exit "postfix_kill $PF_MASTER_PID"
}

postfix_kill() { # MASTER_PID: TERM (master stops its children), KILL after 10 s
	kill "$1" 2>/dev/null || return 0
	n=0
	while kill -0 "$1" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	kill -9 "$1" 2>/dev/null || true
}

postfix_stop() {
	[ -n "${PF_MASTER_PID:-}" ] || return 0
	postfix_kill "$PF_MASTER_PID"
	PF_MASTER_PID=""
}

postfix_wait_empty() { # [SECS]
	n=0
	while [ -n "$(find "$PF_DIR/queue/incoming" "$PF_DIR/queue/active" "$PF_DIR/queue/deferred" \
		"$PF_DIR/queue/maildrop" -type f 2>/dev/null | head -n 1)" ]; do
		n=$((n + 1))
		[ $n -lt $((${1:-60} * 10)) ] || return 1
		sleep 0.1
	done
}

tls_wrap() { # PORT CERT KEY
	WRAP_PORT=$(free_port)
	socat "TCP-LISTEN:$WRAP_PORT,bind=127.0.0.1,fork,reuseaddr" \
		"OPENSSL:127.0.0.1:$1,cert=$2,key=$3,verify=0" 2>/dev/null &
	WRAP_PID=$!
	at_exit "kill $WRAP_PID 2>/dev/null || true"
	n=0
	until python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' \
		"$WRAP_PORT" 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt 200 ] || fail "socat did not start"
		sleep 0.05
	done
}

postfix_peer_start() { # DIR PORT
	PEER_DIR=$1
	mkdir -p "$PEER_DIR/conf" "$PEER_DIR/queue" "$PEER_DIR/data"
	chmod 0755 "$PEER_DIR"
	chown postfix "$PEER_DIR/data"
	PEER_PORT=$(free_port)
	cat >"$PEER_DIR/conf/main.cf" <<EOF
# The peer operator's MTA: it queues, delivers over TLS with its IGC-Santé certificate, retries.
compatibility_level = 3.6
queue_directory = $PEER_DIR/queue
data_directory = $PEER_DIR/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mss.ch-valmont.fr
mydomain = ch-valmont.fr
myorigin = ch-valmont.mssante.fr
mydestination =
mynetworks = 127.0.0.1/32
smtpd_relay_restrictions = permit_mynetworks, reject
always_add_missing_headers = yes
relayhost = [127.0.0.1]:$2
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtp_tls_security_level = encrypt
smtp_tls_cert_file = $PKI/op-valmont.crt
smtp_tls_key_file = $PKI/op-valmont.key
minimal_backoff_time = 1s
maximal_backoff_time = 2s
queue_run_delay = 1s
maillog_file = $PEER_DIR/maillog
maillog_file_prefixes = $PEER_DIR
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C
default_process_limit = 100
smtpd_client_connection_count_limit = 0
in_flow_delay = 0
EOF
	sed -n '/^pickup/,$p' "$PF_DIR/conf/master.cf" >"$PEER_DIR/conf/master.cf.tail"
	{
		echo "127.0.0.1:$PEER_PORT inet n - n - - smtpd"
		cat "$PEER_DIR/conf/master.cf.tail"
	} >"$PEER_DIR/conf/master.cf"
	rm -f "$PEER_DIR/conf/master.cf.tail"
	postfix -c "$PEER_DIR/conf" start >"$PEER_DIR/start.out" 2>&1 || { cat "$PEER_DIR/start.out" "$PEER_DIR/maillog" >&2 2>/dev/null; fail "peer postfix did not start"; }
	n=0
	until [ -s "$PEER_DIR/queue/pid/master.pid" ] &&
		python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$PEER_PORT" 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt 200 ] || { cat "$PEER_DIR/maillog" >&2; fail "peer postfix does not listen"; }
		sleep 0.05
	done
	PEER_MASTER_PID=$(tr -d ' \n' <"$PEER_DIR/queue/pid/master.pid")
	at_exit "postfix_kill $PEER_MASTER_PID"
}
