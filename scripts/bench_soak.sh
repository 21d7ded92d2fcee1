#!/bin/bash
# bench_soak.sh — the last part of `make bench` (alone: `make bench-soak`):
# a sale under a crowd.
#
# $SOAK_CLIENTS (10,000) pages hold /api/events open through nginx while
# $SOAK_PURCHASES (10,000) purchases of one item with a stock of
# $SOAK_STOCK (1,000) arrive at once from $SOAK_BUYERS processes; then the
# pages leave. It checks:
#   * exactly $SOAK_STOCK purchases are 201, every other one 409 sold_out;
#   * the database agrees: $SOAK_STOCK orders, quantity 0, and
#     initial - remaining = sum of the orders' quantities;
#   * every page's newest view of the item says quantity 0;
#   * the event daemon's memory (VmRSS) once the pages have left is back to
#     what it was before they came, within $SOAK_SLACK_KB (1 MiB: what the
#     replay ring may keep of the sale, up to 4,096 events of ~250 bytes,
#     which the daemon holds on purpose for Last-Event-ID).
# test/sse_fanout --stampede is the crowd and the buyers. PASS and FAIL
# lines say what held; the exit status is 1 when anything failed.
#
# Needs: LI_SRCDIR, LI_BUILDDIR, PG_BINDIR, NGINX_BIN (from make), curl.

set -euo pipefail

: "${LI_SRCDIR:?run through make bench-soak}"
: "${LI_BUILDDIR:?run through make bench-soak}"
: "${PG_BINDIR:?run through make bench-soak}"
: "${NGINX_BIN:?run through make bench-soak}"
: "${CURL:=curl}"
: "${SOAK_CLIENTS:=10000}"
: "${SOAK_PURCHASES:=10000}"
: "${SOAK_STOCK:=1000}"
: "${SOAK_BUYERS:=64}"
: "${SOAK_PROCS:=2}"
: "${SOAK_SLACK_KB:=1024}"
: "${SOAK_KEEP:=}"

. "$LI_SRCDIR/scripts/bench_lib.sh"

CLIENT=$LI_BUILDDIR/test/sse_fanout
ITEM=launch-hoodie
[ -x "$CLIENT" ] || { echo "bench_soak: no $CLIENT: run make first" >&2; exit 1; }

CLIENT_PID=
bench_stop_extras() {
    bench_stop_pid "$CLIENT_PID"
}
bench_begin soak "$SOAK_KEEP"
OUT=$BENCH_DIR/out
mkdir -p "$OUT"

echo "bench_soak: starting PostgreSQL, the pool, the event daemon and nginx in $BENCH_DIR" >&2
pg_up
pool_start
events_start
PORT=$(stack_free_port) || { echo "bench_soak: no free port" >&2; exit 1; }
nginx_start "$PORT"

# A clean sale: no orders, the item at $SOAK_STOCK (initial and left).
code=$("$CURL" -s -o "$OUT/reset.json" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' "$STACK_URL/api/reset")
[ "$code" = 200 ] || { echo "bench_soak: reset answered $code" >&2; exit 1; }
stack_sql "UPDATE lastitem.items SET quantity = $SOAK_STOCK, initial_quantity = $SOAK_STOCK
            WHERE id = '$ITEM'" >/dev/null

metric() {
    "$CURL" -s --max-time 10 "$STACK_METRICS_URL/api/events/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}
rss_kb() {
    awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"
}
tree_pids() {
    local kids
    kids=$(cat /proc/"$1"/task/*/children 2>/dev/null | tr -s ' \n' ',,' | sed 's/,$//')
    echo "$1${kids:+,$kids}"
}

# The daemon has its snapshot and no client: its baseline.
for _ in $(seq 1 200); do
    [ "$(metric lastitem_events_db_up)" = 1 ] && break
    sleep 0.1
done
sleep 1
DAEMON_BASE=$(rss_kb "$EVENTS_PID")
NGINX_PIDS=$(tree_pids "$NGINX_PID")

echo "bench_soak: $SOAK_CLIENTS streams, then $SOAK_PURCHASES purchases of $ITEM (stock $SOAK_STOCK) from $SOAK_BUYERS buyers" >&2
START=$(date +%s)
"$CLIENT" --mode lastitem --connect "127.0.0.1:$PORT" -n "$SOAK_CLIENTS" \
    --procs "$SOAK_PROCS" --src-base 2 --src-count 4 --connect-timeout 180 \
    --settle 300 --stampede "$SOAK_PURCHASES" --buyers "$SOAK_BUYERS" \
    --item "$ITEM" --trigger "/api/items/$ITEM/purchase" --label soak \
    --mem "daemon=$EVENTS_PID" --mem "nginx=$NGINX_PIDS" \
    >"$OUT/soak.line" 2>"$OUT/client.log" &
CLIENT_PID=$!
CLIENT_RC=0
wait "$CLIENT_PID" || CLIENT_RC=$?
CLIENT_PID=
LINE=$(grep '^SOAK ' "$OUT/soak.line" || true)
[ -n "$LINE" ] || { cat "$OUT/client.log" >&2; echo "bench_soak: the client printed no result" >&2; exit 1; }
field() { echo "$LINE" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2; exit }'; }

# The pages have left: the daemon streams to no one, and its only
# connection is the metrics request asking; then it settles.
gone() {
    "$CURL" -s --max-time 10 "$STACK_METRICS_URL/api/events/metrics" >"$OUT/left.txt" || return 1
    LEFT=$(awk '$1 == "lastitem_events_clients" { c = $2 } $1 == "lastitem_events_connections" { n = $2 }
                END { print c + 0 " streams, " n - 1 " other connections" }' "$OUT/left.txt")
    [ "$LEFT" = "0 streams, 0 other connections" ]
}
for _ in $(seq 1 600); do
    gone && break
    sleep 0.1
done
sleep 2
DAEMON_AFTER=$(rss_kb "$EVENTS_PID")
ELAPSED=$(( $(date +%s) - START ))
"$CURL" -s "$STACK_METRICS_URL/api/events/metrics" >"$OUT/metrics.txt" || true

# The database's own word.
DB_ORDERS=$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE item_id = '$ITEM'")
DB_LEFT=$(stack_sql "SELECT quantity FROM lastitem.items WHERE id = '$ITEM'")
DB_INVARIANT=$(stack_sql "SELECT CASE WHEN i.initial_quantity - i.quantity = coalesce(sum(o.quantity), 0)
                                 THEN 'ok' ELSE format('initial %s - remaining %s <> ordered %s',
                                      i.initial_quantity, i.quantity, coalesce(sum(o.quantity), 0)) END
                            FROM lastitem.items i LEFT JOIN lastitem.orders o ON o.item_id = i.id
                           WHERE i.id = '$ITEM' GROUP BY i.id, i.initial_quantity, i.quantity")

FAILED=
check() {  # check CONDITION-STATUS TEXT
    if [ "$1" = 0 ]; then echo "PASS  $2"; else echo "FAIL  $2"; FAILED=1; fi
}
kb() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

DAEMON_PEAK=$(field daemon_rss_kb)
NGINX_BASE=$(field nginx_rss_base_kb)
NGINX_PEAK=$(field nginx_rss_kb)
{
    echo
    echo "lastitem soak — $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$LI_SRCDIR" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$LI_SRCDIR" diff --quiet HEAD -- fcgi nginx sql 2>/dev/null || echo ' (+ local changes)')"
    echo "machine:   $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "streams:   $(field ready) of $SOAK_CLIENTS open (failed $(field failed), dropped $(field dropped))"
    echo "purchases: $SOAK_PURCHASES from $SOAK_BUYERS buyers in $(field stampede_s) s: $(field created) × 201, $(field sold_out) × 409, $(field other) other, $(field unanswered) unanswered"
    echo "views:     $(field at_zero) streams ended on quantity 0, $(field not_zero) did not, $(field settle_s) s after the last answer"
    echo "database:  $DB_ORDERS orders, $DB_LEFT left, invariant $DB_INVARIANT"
    echo "daemon:    VmRSS $(kb "$DAEMON_BASE") before the streams, $(kb "$DAEMON_PEAK") with them (after the sale), $(kb "$DAEMON_AFTER") once they left ($LEFT)"
    echo "nginx:     VmRSS $(kb "$NGINX_BASE") before, $(kb "$NGINX_PEAK") with the streams (all its processes)"
    echo "time:      ${ELAPSED} s in all"
    echo
    check "$([ "$(field ready)" = "$SOAK_CLIENTS" ]; echo $?)" "all $SOAK_CLIENTS streams opened and stayed open"
    check "$([ "$(field created)" = "$SOAK_STOCK" ]; echo $?)" "exactly $SOAK_STOCK purchases succeeded ($(field created))"
    check "$([ "$(field sold_out)" = $((SOAK_PURCHASES - SOAK_STOCK)) ] && [ "$(field other)" = 0 ] &&
             [ "$(field unanswered)" = 0 ]; echo $?)" "every other purchase was 409 sold out"
    check "$([ "$DB_ORDERS" = "$SOAK_STOCK" ] && [ "$DB_LEFT" = 0 ]; echo $?)" \
        "the database holds $SOAK_STOCK orders and 0 left ($DB_ORDERS, $DB_LEFT)"
    check "$([ "$DB_INVARIANT" = ok ]; echo $?)" "initial - remaining = sum of the orders ($DB_INVARIANT)"
    check "$([ "$(field at_zero)" = "$SOAK_CLIENTS" ]; echo $?)" "every stream ended on quantity 0 ($(field at_zero))"
    check "$([ "$LEFT" = "0 streams, 0 other connections" ] && [ "$DAEMON_AFTER" -le $((DAEMON_BASE + SOAK_SLACK_KB)) ]; echo $?)" \
        "the daemon's memory returned to its baseline: $DAEMON_AFTER KiB after, $DAEMON_BASE before (+$((DAEMON_AFTER - DAEMON_BASE)) KiB; allowed +$SOAK_SLACK_KB)"
    check "$CLIENT_RC" "the client finished cleanly"
} | tee "$OUT/report.txt"
grep -q '^FAIL' "$OUT/report.txt" && exit 1
exit 0
