#!/bin/sh
# Installs the Debian packages the build and the tests need, when they are missing.
# Runs non-interactively and never starts or reconfigures the machine's own services:
# the tests start their own private slapd, Postfix and Dovecot under a temporary directory.
set -eu

# One list per area in tests/deps/*.list, so that each module brings its own test tools;
# more lists may be named as arguments (debian/build-deps.list for `make deb`).
PACKAGES=$(cat "$(dirname "$0")"/deps/*.list "$@" | sed -e 's/#.*//' | tr -s ' \t\n' ' ')

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root, or install them)" >&2
	exit 1
fi

echo "install-deps: installing$missing"
# A policy-rc.d that answers 101 stops maintainer scripts from starting services.
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	created_policy=yes
fi
cleanup() { [ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d; true; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing
