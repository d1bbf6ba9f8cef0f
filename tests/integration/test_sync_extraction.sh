#!/bin/sh
# mssctl sync with the ANS extraction: broken rows skipped and reported by line, too many
# fail the sync; shrink protection; uids stable across syncs; the published snapshot is
# byte-identical after every failed sync.
set -eu
. "$(dirname "$0")/lib/common.sh"

FIX="$SRC/tests/fixtures"
TRUST="$FIX/trust/hopital-test.xml"
S="$T/s.cdb"
write_conf "$T/mssante.conf" </dev/null
sync() { "$MSSCTL" -c "$T/mssante.conf" sync --no-ldap --trust-list "$TRUST" --output "$S" "$@"; }

run 0 sync --extraction "$FIX/extraction/good.txt"
out_has "from the extraction"
ok "sync of a good extraction"
run 0 "$MSSCTL" lookup --snapshot "$S" --json bal Jean-Noel.Leveque@Hopital-Test.MSSante.fr
[ "$(json_get 'j["address"]')" = "jean-noel.leveque@hopital-test.mssante.fr" ] || fail "address not normalised"
[ "$(json_get 'j["type"]')" = "PER" ] || fail "type"
[ "$(json_get 'j["owner"]')" = "810009990029" ] || fail "owner idNat_PS"
[ "$(json_get 'j["source"]')" = "extraction" ] || fail "source"
uid=$(json_get 'j["uid"]')
ok "lookup bal: normalised address, type, owner, uid $uid"
run 0 "$MSSCTL" lookup --snapshot "$S" --json uid "$uid"
[ "$(json_get 'j["address"]')" = "jean-noel.leveque@hopital-test.mssante.fr" ] || fail "uid lookup"
ok "lookup uid $uid gives the same BAL"
run 1 "$MSSCTL" lookup --snapshot "$S" bal nobody@hopital-test.mssante.fr
ok "unknown BAL: exit 1"

# Same rows in reverse order: every BAL keeps its uid.
run 0 "$MSSCTL" lookup --snapshot "$S" --json bal claire.vasseur@hopital-test.mssante.fr
uid2=$(json_get 'j["uid"]')
{ head -n 1 "$FIX/extraction/good.txt"; tail -n +2 "$FIX/extraction/good.txt" | tac; } >"$T/reversed.txt"
run 0 sync --extraction "$T/reversed.txt"
out_has "uids: 12 kept"
run 0 "$MSSCTL" lookup --snapshot "$S" --json bal claire.vasseur@hopital-test.mssante.fr
[ "$(json_get 'j["uid"]')" = "$uid2" ] || fail "uid changed across syncs"
ok "uids stable across syncs"

run 0 sync --extraction "$FIX/extraction/two-bad-rows.txt"
grep -Eq 'two-bad-rows.txt:[0-9]+: row skipped' "$T/out" || fail "bad rows not reported by line"
[ "$(grep -c 'row skipped' "$T/out")" -eq 2 ] || fail "expected 2 reported rows"
out_has "2 bad rows skipped"
ok "two broken rows reported by line number and skipped, the rest published"

cp "$S" "$T/before.cdb"
run 2 sync --extraction "$FIX/extraction/many-bad-rows.txt"
out_has "published snapshot unchanged"
cmp -s "$S" "$T/before.cdb" || fail "snapshot changed"
ok "too many broken rows: exit 2, snapshot byte-identical"

printf 'not|the|header\n' >"$T/badheader.txt"
run 2 sync --extraction "$T/badheader.txt"
out_has "badheader.txt:1:"
cmp -s "$S" "$T/before.cdb" || fail "snapshot changed"
ok "wrong header: exit 2 naming line 1"

{ cat "$FIX/extraction/good.txt"; printf 'PER|x\377y@hopital-test.mssante.fr\n'; } >"$T/latin1.txt"
run 2 sync --extraction "$T/latin1.txt"
grep -Eq 'latin1.txt:14:.*UTF-8' "$T/out" || fail "not-UTF-8 not reported with its line: $(cat "$T/out")"
cmp -s "$S" "$T/before.cdb" || fail "snapshot changed"
ok "invalid UTF-8: exit 2 naming the line"

: >"$T/empty.txt"
run 2 sync --extraction "$T/empty.txt"
cmp -s "$S" "$T/before.cdb" || fail "snapshot changed"
ok "empty extraction: exit 2"

# Shrink protection: from ~300 BALs down to 12 is refused, unless --force.
run 2 sync --extraction "$FIX/extraction/good.txt"
out_has "max_shrink_percent"
cmp -s "$S" "$T/before.cdb" || fail "snapshot changed"
ok "a snapshot that shrank too much is refused"
run 0 sync --extraction "$FIX/extraction/good.txt" --force
ok "--force publishes it"

# Nothing at all is never published.
printf '<?xml version="1.0"?><ListeBlancheMSSante xmlns="https://listeblanche.mssante.fr/schema"><ListeDomaines></ListeDomaines></ListeBlancheMSSante>\n' >"$T/empty.xml"
cp "$S" "$T/before.cdb"
run 2 "$MSSCTL" -c "$T/mssante.conf" sync --no-ldap --trust-list "$T/empty.xml" --output "$S" --force
cmp -s "$S" "$T/before.cdb" || fail "snapshot changed"
ok "an empty snapshot is refused, even with --force"

# A snapshot that cannot be read is not silently replaced (uids would be lost).
printf 'garbage' >"$T/corrupt.cdb"
run 2 "$MSSCTL" -c "$T/mssante.conf" sync --no-ldap --trust-list "$TRUST" --output "$T/corrupt.cdb"
[ "$(cat "$T/corrupt.cdb")" = garbage ] || fail "corrupt snapshot replaced"
ok "an unreadable published snapshot stops the sync"
echo "$checks checks passed"
