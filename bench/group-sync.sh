#!/bin/sh
# Bench group "sync": mssctl sync on a generated 1,000,000-row extraction in the real
# 31-column format. Prints sync_1m_seconds (second sync, every uid looked up in the published
# snapshot) and sync_bytes_per_bal, with reading the file once as the baseline.
set -eu
now() { date +%s.%N; }

rows=1000000
make -s --no-print-directory -C "$SRC" "BUILD=$BUILD" "$BUILD/gen-extraction" >/dev/null
"$BUILD/gen-extraction" $rows "$W/extraction.csv"
printf '[directory]\nsnapshot_owner_check = no\n' >"$W/mssante.conf"
# Baseline in the same run: reading the file once (what any parser must at least do).
t0=$(now)
wc -l "$W/extraction.csv" >/dev/null
t1=$(now)
# First sync: every uid is new. Second: every uid is looked up in the published snapshot.
"$BUILD/mssctl" -c "$W/mssante.conf" sync --no-ldap --trust-list "$SRC/tests/fixtures/trust/hopital-test.xml" \
	--extraction "$W/extraction.csv" --output "$W/s.cdb" --json >"$W/first.json"
t2=$(now)
"$BUILD/mssctl" -c "$W/mssante.conf" sync --no-ldap --trust-list "$SRC/tests/fixtures/trust/hopital-test.xml" \
	--extraction "$W/extraction.csv" --output "$W/s.cdb" --json >"$W/second.json"
t3=$(now)
python3 - "$W/first.json" "$W/second.json" "$t0" "$t1" "$t2" "$t3" "$W/extraction.csv" <<'PY'
import json, os, sys
first, second = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
t0, t1, t2, t3 = map(float, sys.argv[3:7])
size = os.path.getsize(sys.argv[7])
bals = second["bals"]
print(f"bench: sync_input_mb = {size / 1e6:.1f} MB")
print(f"bench: sync_read_baseline_seconds = {t1 - t0:.2f} s")
print(f"bench: sync_1m_first_seconds = {t2 - t1:.2f} s")
print(f"bench: sync_1m_seconds = {t3 - t2:.2f} s")
print(f"bench: sync_bals = {bals} BALs")
print(f"bench: sync_bytes_per_bal = {second['bytes'] / bals:.0f} bytes")
PY
