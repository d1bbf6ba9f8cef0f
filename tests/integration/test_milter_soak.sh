#!/bin/sh
# 100,000 messages through mss-milter: resident memory stays flat; then 2,000 under valgrind:
# no leak (about 15 s).
set -eu
. "$SRC/tests/integration/lib/common.sh"
. "$SRC/tests/integration/milter/lib.sh"
N=${SOAK_MESSAGES:-100000}

milter_world "$T/world"
milter_conf "$T/m.conf" </dev/null
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$MILTER_PID/status"; }

milter_start "$T/m.conf"
miltertest -D "sock=unix:$MILTER_SOCK" -D n=$((N / 10)) -s "$SRC/tests/integration/milter/soak.lua" >"$T/mt.out" 2>&1 ||
	{ cat "$T/mt.out"; fail "miltertest failed in the first tenth"; }
rss_tenth=$(rss)
miltertest -D "sock=unix:$MILTER_SOCK" -D n=$((N - N / 10)) -s "$SRC/tests/integration/milter/soak.lua" >"$T/mt.out" 2>&1 ||
	{ cat "$T/mt.out"; fail "miltertest failed"; }
rss_end=$(rss)
records=$(grep -c '"decision":"accept"' "$MILTER_AUDIT/milter.log")
[ "$records" -eq "$N" ] || fail "$records accept records for $N messages"
echo "resident memory: ${rss_tenth} kB after $((N / 10)) messages, ${rss_end} kB after $N"
[ "$rss_end" -le $((rss_tenth + rss_tenth / 10 + 512)) ] || fail "resident memory grew: $rss_tenth -> $rss_end kB"
ok "$N messages, one record each, resident memory flat ($rss_tenth -> $rss_end kB)"
milter_stop

# The same path under valgrind: every allocation of a transaction is freed.
rm -f "$MILTER_SOCK"
valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	--log-file="$T/valgrind.log" "$MILTER_BIN" -f -c "$T/m.conf" 2>>"$T/milter-vg.log" &
MILTER_PID=$!
i=0
until [ -S "$MILTER_SOCK" ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$MILTER_SOCK" ] || fail "mss-milter under valgrind did not listen"
miltertest -D "sock=unix:$MILTER_SOCK" -D n=2000 -s "$SRC/tests/integration/milter/soak.lua" >"$T/mt.out" 2>&1 ||
	{ cat "$T/mt.out"; fail "miltertest failed under valgrind"; }
kill "$MILTER_PID"
set +e
wait "$MILTER_PID"
status=$?
set -e
MILTER_PID=""
grep -E "definitely lost|indirectly lost|ERROR SUMMARY" "$T/valgrind.log" || true
[ "$status" -ne 99 ] || { cat "$T/valgrind.log"; fail "valgrind found errors or leaks"; }
grep -q "ERROR SUMMARY: 0 errors" "$T/valgrind.log" || { cat "$T/valgrind.log"; fail "valgrind errors"; }
ok "2,000 messages under valgrind: no error, no leak"
echo "$checks checks passed"
