#!/bin/sh
# Writes mssante.conf(5): the hand-written page with the key list from the option table.
#   man/gen-mssante-conf.sh path/to/mssctl > man/mssante.conf.5
set -eu
mssctl=$1
dir=$(dirname "$0")
keys=$(mktemp)
trap 'rm -f "$keys"' EXIT
"$mssctl" dump-options --man >"$keys"
sed -e "/^@KEYS@\$/{r $keys" -e 'd}' "$dir/mssante.conf.5.in"
