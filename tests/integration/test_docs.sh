#!/bin/sh
# The example configuration and mssante.conf(5) are generated from the option table:
# the committed files must be what `make docs` writes now. Every page renders without warnings.
set -eu
. "$(dirname "$0")/lib/common.sh"

"$MSSCTL" dump-options --conf >"$T/mssante.conf"
cmp -s "$T/mssante.conf" "$SRC/conf-examples/mssante.conf" ||
	fail "conf-examples/mssante.conf is out of date: run make docs"
ok "conf-examples/mssante.conf matches the option table"
sh "$SRC/man/gen-mssante-conf.sh" "$MSSCTL" >"$T/mssante.conf.5"
cmp -s "$T/mssante.conf.5" "$SRC/man/mssante.conf.5" || fail "man/mssante.conf.5 is out of date: run make docs"
ok "man/mssante.conf.5 matches the option table"

# The generated example is itself a valid configuration, and so is every key uncommented.
run 0 "$MSSCTL" -c "$SRC/conf-examples/mssante.conf" check --config-only
sed -n 's/^#\([a-z_]* = .\+\)$/\1/p; s/^\(\[[a-z]*\]\)$/\1/p' "$SRC/conf-examples/mssante.conf" >"$T/all.conf"
run 0 "$MSSCTL" -c "$T/all.conf" check --config-only
ok "the example configuration, with every default uncommented, is valid"

for page in "$SRC"/man/*.[0-9]; do
	if command -v groff >/dev/null 2>&1; then
		warnings=$(groff -man -ww -z "$page" 2>&1) || fail "$page: groff failed"
		[ -z "$warnings" ] || fail "$page: $warnings"
	fi
done
ok "man pages render"

printf '[directory]\nmax_age = soon\n' >"$T/bad.conf"
run 2 "$MSSCTL" -c "$T/bad.conf" check --config-only
out_has "bad.conf:2: key 'max_age': 'soon' is not a duration"
ok "mssctl check names file, line and key"
echo "$checks checks passed"
