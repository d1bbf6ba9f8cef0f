# Sourced by the pam_mss integration tests (after lib/common.sh): drives the real module with
# pamtester under pam_wrapper, so the machine's /etc/pam.d is never read nor changed.
#
#   pam_service NAME ARGS...      writes $T/pam.d/NAME: auth and account lines of pam_mss.so
#                                 with config=$PAM_CONF and ARGS
#   pam_try STATUS NAME USER [SECRET_LINES...] [-- OPERATIONS]
#                                 runs `pamtester NAME USER authenticate` (or OPERATIONS) with
#                                 the secrets fed to the conversation, one per line; fails the
#                                 test unless pamtester's PAM result is STATUS (see pam_code)
#   audit_last EXPR               a Python expression on the last audit record (r)
#
# The module's syslog lines go to pam_wrapper's log (PAM_WRAPPER_DEBUGLEVEL=2: the module's
# messages, not pam_wrapper's own traces, which print PAM_AUTHTOK), which lands
# in $T/out with pamtester's output; every run is appended to $T/all-output for the
# secret grep at the end of each test.
PAM_SO="$BUILD/pam_mss.so"
PAM_CONF="$T/pam-mss.conf"
PAMWRAP=$(for d in /usr/lib/*/libpam_wrapper.so /usr/lib/libpam_wrapper.so; do [ -f "$d" ] && echo "$d"; done | head -n 1)
[ -n "$PAMWRAP" ] || fail "libpam_wrapper.so not found (apt-get install libpam-wrapper)"
command -v pamtester >/dev/null 2>&1 || fail "pamtester not found (apt-get install pamtester)"
[ -f "$PAM_SO" ] || fail "$PAM_SO not built"
mkdir -p "$T/pam.d" "$T/audit"
# libpam wants a fallback service; an unknown service name must fail, never pass.
printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$T/pam.d/other"
: >"$T/all-output"

pam_service() { # NAME ARGS...
	_name=$1
	shift
	{
		echo "auth    required $PAM_SO config=$PAM_CONF $*"
		echo "account required $PAM_SO config=$PAM_CONF $*"
	} >"$T/pam.d/$_name"
}

# pamtester's last line says which PAM error the module returned (pam_strerror).
pam_code() { # STATUS -> text pamtester prints
	case $1 in
	SUCCESS) echo "successfully" ;;
	AUTH_ERR) echo "Authentication failure" ;;
	AUTHINFO_UNAVAIL) echo "Authentication service cannot retrieve authentication info" ;;
	USER_UNKNOWN) echo "User not known to the underlying authentication module" ;;
	PERM_DENIED) echo "Permission denied" ;;
	SERVICE_ERR) echo "Error in service module" ;;
	MAXTRIES) echo "Have exhausted maximum number of retries for service" ;;
	*) fail "pam_code: unknown status $1" ;;
	esac
}

pam_try() { # STATUS NAME USER [SECRETS...] [-- OPERATIONS...]
	_want=$1 _svc=$2 _user=$3
	shift 3
	: >"$T/stdin"
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		printf '%s\n' "$1" >>"$T/stdin"
		shift
	done
	[ $# -gt 0 ] && shift
	[ $# -gt 0 ] || set -- authenticate
	# PAM_STDIN_FILE: raw bytes for the conversation (a NUL inside a secret...)
	[ -z "${PAM_STDIN_FILE:-}" ] || cp "$PAM_STDIN_FILE" "$T/stdin"
	set +e
	env LD_PRELOAD="$PAMWRAP" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" PAM_WRAPPER_DEBUGLEVEL=2 \
		PAM_WRAPPER_USE_SYSLOG=0 ${PAM_EXTRA_ENV:-} \
		pamtester -v "$_svc" "$_user" "$@" <"$T/stdin" >"$T/out" 2>&1
	_status=$?
	set -e
	cat "$T/out" >>"$T/all-output"
	_text=$(pam_code "$_want")
	if [ "$_want" = SUCCESS ]; then
		[ "$_status" -eq 0 ] || { sed 's/^/    /' "$T/out" >&2; fail "pamtester $_svc $_user $*: expected success"; }
	else
		[ "$_status" -ne 0 ] && grep -qF -- "$_text" "$T/out" ||
			{ sed 's/^/    /' "$T/out" >&2; fail "pamtester $_svc $_user $*: expected '$_text'"; }
	fi
}

audit_last() { # EXPR over r, the last record of $T/audit/pam.log
	python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print($1)" \
		"$T/audit/pam.log"
}

# audit_is FIELD VALUE: the last audit record's FIELD is VALUE.
audit_is() {
	_got=$(audit_last "r.get('$1')")
	[ "$_got" = "$2" ] || { tail -n 1 "$T/audit/pam.log" >&2; fail "audit: $1 is '$_got', expected '$2'"; }
}

audit_count() {
	if [ -f "$T/audit/pam.log" ]; then wc -l <"$T/audit/pam.log" | tr -d ' '; else echo 0; fi
}

# secrets_absent SECRET...: none of them in any output, log or audit record of the test.
secrets_absent() {
	for _s in "$@"; do
		if grep -rqF -- "$_s" "$T/all-output" "$T/audit" 2>/dev/null; then
			fail "a secret leaked into the logs or the audit trail"
		fi
	done
}

# audit_chain_ok: every record's hash and prev link hold (common/audit.h), recomputed here
# independently of the writer.
audit_chain_ok() {
	python3 - "$T/audit/pam.log" <<'PY' || fail "audit chain broken"
import hashlib, json, re, sys
prev = "0" * 64
for n, line in enumerate(open(sys.argv[1], "rb").read().splitlines(), 1):
    m = re.search(rb',"hash":"([0-9a-f]{64})"}$', line)
    assert m, f"line {n}: no hash"
    body = line[:m.start()] + b"}"
    assert hashlib.sha256(body).hexdigest() == m.group(1).decode(), f"line {n}: hash"
    assert json.loads(line)["prev"] == prev, f"line {n}: prev"
    prev = m.group(1).decode()
PY
}
