#!/bin/sh
# make bench: prints `bench: NAME = VALUE UNIT` lines (DESIGN §5).
#   bench/run.sh BUILD GROUP    GROUP: all, or NAME of a bench/group-NAME.sh
set -eu
BUILD=$(cd "$1" && pwd)
GROUP=${2:-all}
SRC=$(cd "$(dirname "$0")/.." && pwd)
export BUILD SRC
W=$(mktemp -d "${TMPDIR:-/tmp}/mss-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
# Servers started by the groups (Postfix, Dovecot) drop privileges: they must reach W.
chmod 755 "$W"

# Each group is bench/group-NAME.sh, run with BUILD, SRC and a scratch directory W.
status=0
for g in "$SRC"/bench/group-*.sh; do
	name=$(basename "$g" .sh)
	name=${name#group-}
	[ "$GROUP" = all ] || [ "$GROUP" = "$name" ] || continue
	mkdir -p "$W/$name"
	W="$W/$name" sh "$g" || { echo "bench: group $name failed" >&2; status=1; }
done
exit $status
