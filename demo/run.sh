#!/bin/sh
# `make demo`: two MSSanté operators on 127.0.0.1, then a short scenario told step by step.
# See demo/README.md. Root only (Postfix's master and Dovecot start as root; the mount
# namespace that gives Dovecot the demo's nsswitch.conf and pam.d needs CAP_SYS_ADMIN).
#
#   BUILD=DIR sh demo/run.sh        (make demo sets BUILD; MSS_DEMO_DIR picks the directory)
#
# Exit 0 only when every step behaved as the rules require. The servers keep running for
# you to try things; `make demo-stop` (demo/stop.sh) stops them. Running it again first stops
# the previous demo, then starts from an empty directory.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
export SRC
# shellcheck source=demo/lib/common.sh
. "$SRC/demo/lib/common.sh"
# shellcheck source=demo/lib/servers.sh
. "$SRC/demo/lib/servers.sh"
# shellcheck source=demo/lib/scenario.sh
. "$SRC/demo/lib/scenario.sh"
export LANG=C LC_ALL=C
umask 022

[ "$(id -u)" -eq 0 ] || die "run it as root: Postfix's master and Dovecot start as root, and Dovecot gets the demo's nsswitch.conf and pam.d in a private mount namespace"
for tool in postfix dovecot swaks slapd unshare nsenter python3 openssl ldconfig; do
	command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
		die "$tool is missing (make deps installs tests/deps/*.list)"
done
[ -x /usr/lib/dovecot/lmtp ] || die "Dovecot's LMTP server is missing (apt-get install dovecot-lmtpd)"

started=$(date +%s)
D=$(demo_dir)
# Stop the demo that is running, here or where the last `make demo` ran.
MSS_DEMO_DIR=$D sh "$SRC/demo/stop.sh" --quiet || die "could not stop the previous demo"
if [ -f "$BUILD/.demo-dir" ] && [ "$(cat "$BUILD/.demo-dir")" != "$D" ]; then
	MSS_DEMO_DIR=$(cat "$BUILD/.demo-dir") sh "$SRC/demo/stop.sh" --quiet || die "could not stop the previous demo"
fi
if [ -e "$D" ]; then
	[ -f "$D/.mssante-demo" ] || [ -z "$(ls -A "$D" 2>/dev/null)" ] ||
		die "$D exists and is not a demo directory: remove it or set MSS_DEMO_DIR"
	rm -rf "$D"
fi
mkdir -p "$D/state" "$D/logs" || die "cannot create $D"
: >"$D/.mssante-demo"
chmod 0755 "$D"
demo_path_reachable "$D" ||
	die "the postfix and dovecot users cannot reach $D (a directory above it is not o+x): set MSS_DEMO_DIR, e.g. /var/tmp/mssante-demo"
echo "$D" >"$BUILD/.demo-dir"

RUN_ID=$(date -u +%Y%m%d%H%M%S).$$
MSS_DEMO_TAG="mssante-demo:$D:$RUN_ID"
export MSS_DEMO_TAG
echo "$MSS_DEMO_TAG" >"$D/state/tag"
: >"$D/state/pids"

# Four distinct free ports on 127.0.0.1.
ports=""
while [ "$(echo "$ports" | wc -w)" -lt 4 ]; do
	p=$(free_port)
	case " $ports " in *" $p "*) ;; *) ports="$ports $p" ;; esac
done
set -- $ports
IN_PORT=$1 SUB_PORT=$2 PEER_PORT=$3 IMAP_PORT=$4
printf 'IN_PORT=%s\nSUB_PORT=%s\nPEER_PORT=%s\nIMAP_PORT=%s\n' "$IN_PORT" "$SUB_PORT" "$PEER_PORT" "$IMAP_PORT" \
	>"$D/state/ports"

# Interrupted (Ctrl-C): stop what was started rather than leave half a demo running.
trap 'echo; echo "demo: interrupted, stopping what was started" >&2; MSS_DEMO_DIR=$D sh "$SRC/demo/stop.sh" --quiet; exit 130' INT TERM

setup_failed() {
	echo "demo: $1 did not come up (logs under $D); stopping what was started" >&2
	MSS_DEMO_DIR=$D sh "$SRC/demo/stop.sh" --quiet
	exit 1
}

say "== MSSanté demo: two operators of the trust space on 127.0.0.1 =="
say "Everything lives under $D (MSS_DEMO_DIR); the machine's own /etc, Postfix, Dovecot and slapd"
say "are not touched. Every process started is recorded in $D/state/pids for make demo-stop."
say ""
say "Setting up:"
install_binaries || setup_failed "the binaries"
MSSCTL=$BUILD/mssctl
start_pki || setup_failed "the test PKI"
start_slapd || setup_failed "slapd"
write_config || setup_failed "the configuration"
run_sync || setup_failed "mssctl sync"
start_milter || setup_failed "mss-milter"
start_dovecot || setup_failed "Dovecot"
start_postfix_ours || setup_failed "our Postfix"
start_postfix_peer || setup_failed "the peer's Postfix"
say "  - up in $(($(date +%s) - started)) s"

run_scenario

say ""
say "Summary"
printf '%s' "$SUMMARY"
elapsed=$(($(date +%s) - started))
say ""
say "The demo keeps running (ports in $D/state/ports). Try it:"
say "  swaks --server 127.0.0.1:$SUB_PORT --tls --auth-user jean.martin@$H --auth-password 'Martin-2024!' \\"
say "        --from jean.martin@$H --to cardiologie@$H"
say "  python3 -c 'import imaplib; i=imaplib.IMAP4(\"127.0.0.1\", $IMAP_PORT); print(i.login(\"jean.martin@$H\", \"Martin-2024!\"))'"
say "  tail -f $D/audit/milter.log $D/audit/dovecot.log $D/audit/pam.log"
say "Stop it with: make demo-stop"
if [ "$steps_good" -eq "$steps_total" ]; then
	say "demo: $steps_good/$steps_total steps behaved as expected ($elapsed s)"
	exit 0
fi
say "demo: $((steps_total - steps_good)) of $steps_total steps did NOT behave as expected ($elapsed s); logs under $D"
exit 1
