#!/bin/sh
# libnss_mss never hangs and never guesses: a missing or unusable configuration or snapshot
# gives NSS_STATUS_UNAVAIL at once (measured: under 1 ms), a removed snapshot is noticed
# (at once with [nss] check_interval_ms = 0, within the interval otherwise) and the module
# recovers when it comes back; a replaced snapshot is picked up; between two checks the
# mapped snapshot keeps answering (availability).
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/nss-setup.sh"

nss_build
D=$HOSPITAL
S="$T/s.cdb"
NAME=claire.vasseur@$D
GOOD="$SRC/tests/fixtures/extraction/good.txt"
# conf FILE [SNAPSHOT]: a configuration naming SNAPSHOT (default $S); [nss] lines on stdin.
conf() {
	write_conf "$1" <<-END
		snapshot = ${2:-$S}
		[nss]
	END
	cat >>"$1"
}
conf "$T/base.conf" </dev/null
SYNC="$MSSCTL -c $T/base.conf sync --no-ldap --force --trust-list $SRC/tests/fixtures/trust/hopital-test.xml"
run 0 $SYNC --extraction "$GOOD"
run 0 probe_c "$T/base.conf" "$SO" mss getpwnam "$NAME"
out_has "status=SUCCESS"
ok "baseline: $NAME is a user"

# median_us: the median elapsed_us of the status lines of the last output.
median_us() {
	sed -n 's/.* elapsed_us=\([0-9]*\).*/\1/p' "$T/out" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
# statuses: the status words of the last output, in order, on one line.
statuses() {
	sed -n 's/.*status=\([A-Z]*\).*/\1/p' "$T/out" | tr '\n' ' '
}
L="getpwnam:$NAME"

# ---- missing or unusable: UNAVAIL, fast, every time ----
run 0 probe_c "$T/missing.conf" script "$SO" mss "$L" "$L" "$L" "$L" "$L"
[ "$(grep -c 'status=UNAVAIL errno=ENOENT' "$T/out")" -eq 5 ] || fail "missing config: $(cat "$T/out")"
[ "$(median_us)" -lt 1000 ] || fail "missing config: median $(median_us) us, not under 1 ms"
ok "configuration missing: UNAVAIL (ENOENT), median $(median_us) us"
printf '[nss]\nno_such_key = 1\n' >"$T/invalid.conf"
run 0 probe_c "$T/invalid.conf" "$SO" mss getpwnam "$NAME"
out_has "status=UNAVAIL"
ok "configuration invalid: UNAVAIL"
run 2 wrap_c "$T/missing.conf" getent passwd "$NAME"
run 0 wrap_c "$T/missing.conf" getent passwd root
ok "getent through nss_wrapper: not found, and the files entries still answer"

conf "$T/nosnap.conf" "$T/nowhere.cdb" </dev/null
run 0 probe_c "$T/nosnap.conf" script "$SO" mss "$L" "$L" "$L" "$L" "$L"
[ "$(grep -c 'status=UNAVAIL errno=ENOENT' "$T/out")" -eq 5 ] || fail "missing snapshot: $(cat "$T/out")"
[ "$(median_us)" -lt 1000 ] || fail "missing snapshot: median $(median_us) us, not under 1 ms"
ok "snapshot missing: UNAVAIL (ENOENT), median $(median_us) us"

# unusable CONF: the module answers UNAVAIL with that configuration.
unusable() {
	run 0 probe_c "$1" "$SO" mss getpwnam "$NAME"
	out_has "status=UNAVAIL"
}
conf "$T/bad.conf" "$T/bad.cdb" </dev/null
head -c 5000 /dev/urandom >"$T/bad.cdb"
unusable "$T/bad.conf"
head -c 100 "$S" >"$T/bad.cdb"
unusable "$T/bad.conf"
cp "$S" "$T/bad.cdb"
chmod 664 "$T/bad.cdb"
unusable "$T/bad.conf"
rm -f "$T/bad.cdb"
ln -s "$S" "$T/bad.cdb"
unusable "$T/bad.conf"
rm -f "$T/bad.cdb"
# The owner check on (the default): as root the file is given to nobody; as another user
# it is that user's already.
cp "$S" "$T/bad.cdb"
if [ "$(id -u)" -eq 0 ]; then chown 65534 "$T/bad.cdb"; fi
printf '[directory]\nsnapshot = %s\n' "$T/bad.cdb" >"$T/owner.conf"
unusable "$T/owner.conf"
ok "snapshot garbage, truncated, group-writable, a symbolic link, not owned by root: UNAVAIL"

# ---- removal and return, in one long-running process ----
conf "$T/each.conf" <<EOF
check_interval_ms = 0
EOF
run 0 probe_c "$T/each.conf" script "$SO" mss "$L" "run:mv $S $S.away" "$L" "$L" "$L" "$L" "$L" \
	"run:mv $S.away $S" "$L"
[ "$(statuses)" = "SUCCESS UNAVAIL UNAVAIL UNAVAIL UNAVAIL UNAVAIL SUCCESS " ] ||
	fail "check_interval_ms = 0: $(cat "$T/out")"
sed -n '/UNAVAIL/p' "$T/out" >"$T/unavail" && mv "$T/unavail" "$T/out"
[ "$(median_us)" -lt 1000 ] || fail "removed snapshot: median $(median_us) us, not under 1 ms"
ok "check_interval_ms = 0: removal noticed at the next lookup (UNAVAIL, median $(median_us) us), recovery at once"

# The default interval (100 ms): noticed once it has passed.
run 0 probe_c "$T/base.conf" script "$SO" mss "$L" "run:mv $S $S.away" "sleep:300" "$L" "run:mv $S.away $S" "$L"
[ "$(statuses)" = "SUCCESS UNAVAIL SUCCESS " ] || fail "default interval: $(cat "$T/out")"
ok "default check_interval_ms (100): removal noticed once the interval has passed, recovery at once"

# Between two checks the mapped snapshot answers: a long interval makes that deterministic.
conf "$T/long.conf" <<EOF
check_interval_ms = 60000
EOF
run 0 probe_c "$T/long.conf" script "$SO" mss "$L" "run:mv $S $S.away" "$L" "run:mv $S.away $S"
[ "$(statuses)" = "SUCCESS SUCCESS " ] || fail "long interval: $(cat "$T/out")"
ok "within the interval the mapped snapshot keeps answering (availability over freshness)"

# ---- replacement: a new snapshot (new inode) is picked up, both ways ----
grep -v "^PER|claire.vasseur@" "$GOOD" >"$T/without.txt"
run 0 probe_c "$T/each.conf" script "$SO" mss "$L" "run:$SYNC --extraction $T/without.txt >/dev/null" "$L" \
	"run:$SYNC --extraction $GOOD >/dev/null" "$L"
[ "$(statuses)" = "SUCCESS NOTFOUND SUCCESS " ] || fail "replacement: $(cat "$T/out")"
ok "mssctl sync republishing: the BAL disappears and comes back in the same process"

# The configuration is re-read when it changes (here: the home template).
cp "$T/each.conf" "$T/live.conf"
run 0 probe_c "$T/live.conf" script "$SO" mss "$L" \
	"run:printf 'home_template = /home/mss/%%u\\n' >>$T/live.conf" "$L"
out_has ":/var/vmail/$D/claire.vasseur:"
out_has ":/home/mss/$NAME:"
ok "a changed configuration is picked up without restarting the process"
cp "$T/each.conf" "$T/live.conf"
run 0 probe_c "$T/live.conf" script "$SO" mss "$L" "run:printf 'no_such_key = 1\\n' >>$T/live.conf" "$L" \
	"run:mv $S $S.away" "$L" "run:mv $S.away $S" "$L" "run:cp $T/each.conf $T/live.conf" "$L"
[ "$(statuses)" = "SUCCESS SUCCESS UNAVAIL UNAVAIL SUCCESS " ] || fail "broken configuration: $(cat "$T/out")"
ok "a configuration broken in a running process: the previous one keeps answering while its snapshot stays"
echo "$checks checks passed"
