#!/usr/bin/env bash
# Chaos stampede: thousands of purchases while everything behind nginx fails.
#
# 4,000 purchases through nginx (test/chaos_buy: pessimistic, atomic and
# optimistic in turn, 48 in flight, each with its own buyer and
# Idempotency-Key) of four items whose stock runs out early, midway, late
# and never, while a fault schedule SIGKILLs random pool workers, SIGKILLs
# and restarts lastitem-events, terminates every client backend with
# pg_terminate_backend and restarts PostgreSQL (pg_ctl restart -m fast).
# Three EventSource-like clients (test/sse_follow) watch through nginx,
# reconnecting with Last-Event-ID. Afterwards:
#   * every item's invariant holds, in the database;
#   * every 201 has its order row with the id, item, quantity, buyer,
#     strategy and key the client was told: nothing acknowledged was lost;
#   * no order exists that this run did not ask for;
#   * the pool is back to its worker count, and no worker died but those
#     the test killed;
#   * each watcher ends on the database's quantities and versions;
#   * the clients saw 201, 409 (sold_out, contention), 502 or 503, nothing
#     else. nginx itself is never faulted here, so a connection to it that
#     got no status line at all is a failure too: every fault behind nginx
#     must reach the client as a 502/503 it can retry.
# A 502/503 may come for a purchase that did commit (a worker killed, or its
# backend terminated, between COMMIT and the answer): that is allowed, since
# the client was not told it succeeded, and a retry with its key replays the
# order. The test counts them, and retries each such key to check it does.
. "$LI_SRCDIR/test/lib.sh"

WORKERS=4
PURCHASES=${CHAOS_PURCHASES:-4000}
RATE=${CHAOS_RATE:-100}          # purchases started per second, at most
PARALLEL=48
ITEMS="chaos-early chaos-mid chaos-late chaos-never"

test_stack_up --workers "$WORKERS"
test_events_up --heartbeat 1
ADDR=${BASE_URL#http://}

# About a quarter of the purchases go to each item, 1.25 units each on
# average: the first sells out early, the second midway, the third near the
# end, the last never, so faults late in the run still meet commits.
per_item=$(( PURCHASES * 5 / 16 ))
stack_sql "INSERT INTO lastitem.items (id, name, quantity, initial_quantity) VALUES
    ('chaos-early', 'Chaos early', $((per_item / 8)), $((per_item / 8))),
    ('chaos-mid', 'Chaos mid', $((per_item / 2)), $((per_item / 2))),
    ('chaos-late', 'Chaos late', $((per_item * 7 / 8)), $((per_item * 7 / 8))),
    ('chaos-never', 'Chaos never', $((per_item * 2)), $((per_item * 2)))" >/dev/null

# ------------------------------------------------------------ the watchers
WATCHERS=3
for ((w = 1; w <= WATCHERS; w++)); do
    "$LI_BUILDDIR/test/sse_follow" "$ADDR" "$TEST_DIR/watch$w.state" \
        >"$TEST_DIR/watch$w.out" 2>"$TEST_DIR/watch$w.err" &
    TEST_EXTRA_PIDS+=("$!")
    WATCH_PID[$w]=$!
done
watcher_synced() {  # watcher_synced N: its state is the database's
    [ "$(cat "$TEST_DIR/watch$1.state" 2>/dev/null)" = "$(db_items_state)" ]
}
for ((w = 1; w <= WATCHERS; w++)); do
    wait_until 20 watcher_synced "$w" || bail "watcher $w did not get its first snapshot"
done
ok 0 "$WATCHERS watchers follow /api/events through nginx"

# ------------------------------------------------------------ the faults
KILLED=0 TERMINATED=0 EVENTS_RESTARTS=0 PG_RESTARTS=0
kill_worker() {
    local victim
    victim=$(pool_workers | shuf -n 1)
    [ -n "$victim" ] && kill -KILL "$victim" 2>/dev/null && KILLED=$((KILLED + 1))
}
terminate_backends() {
    local n
    n=$(stack_sql "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
                     FROM pg_stat_activity
                    WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'") &&
        TERMINATED=$((TERMINATED + n))
}
restart_events() {
    kill -KILL "$EVENTS_PID"
    wait "$EVENTS_PID" 2>/dev/null
    events_start --heartbeat 1
    EVENTS_RESTARTS=$((EVENTS_RESTARTS + 1))
}
restart_pg() {
    pg_restart fast && PG_RESTARTS=$((PG_RESTARTS + 1))
}
FAULTS=(kill_worker terminate_backends kill_worker restart_events
        "kill_worker kill_worker" terminate_backends restart_pg kill_worker
        terminate_backends restart_events kill_worker terminate_backends kill_worker)

start=$(date +%s%N)
"$LI_BUILDDIR/test/chaos_buy" -c "$PARALLEL" -r "$RATE" -p "chaos-$$" \
    "$ADDR" "$PURCHASES" $ITEMS >"$TEST_DIR/acks.tsv" 2>"$TEST_DIR/buy.err" &
BUY_PID=$!
TEST_EXTRA_PIDS+=("$BUY_PID")
# Spread over the run, which takes PURCHASES / RATE seconds at least, with
# room for the faults' own time (a restart takes a second or two).
gap=$(awk -v n="$PURCHASES" -v r="$RATE" -v f=${#FAULTS[@]} 'BEGIN { printf "%.2f", n / r / (f + 3) }')
for fault in "${FAULTS[@]}"; do
    sleep "$gap"
    kill -0 "$BUY_PID" 2>/dev/null || break
    for f in $fault; do $f; done
done
wait "$BUY_PID"
is "$?" 0 "the buyers ran to the end"
took=$(( ($(date +%s%N) - start) / 1000000 ))
is "$(grep -c . "$TEST_DIR/acks.tsv")" "$PURCHASES" "each of the $PURCHASES purchases has its record"

# ------------------------------------------------------------ what the clients saw
count() {  # count AWK-CONDITION: records matching it
    awk -F'\t' "$1 { n++ } END { print n + 0 }" "$TEST_DIR/acks.tsv"
}
n201=$(count '$7 == 201')
n409=$(count '$7 == 409')
n502=$(count '$7 == 502')
n503=$(count '$7 == 503')
nconn=$(count '$7 == 0')
nother=$(count '$7 != 201 && $7 != 409 && $7 != 502 && $7 != 503 && $7 != 0')
contention=$(count '$7 == 409 && $9 == "contention"')
diag "201: $n201  409: $n409 ($contention contention)  502: $n502  503: $n503  no answer: $nconn  other: $nother  in $took ms"
diag "faults: $KILLED workers killed, $TERMINATED backends terminated, $EVENTS_RESTARTS events restarts, $PG_RESTARTS postgres restart"
is "$nother" 0 "no status but 201, 409, 502 and 503"
[ "$nother" = 0 ] || awk -F'\t' '$7 != 201 && $7 != 409 && $7 != 502 && $7 != 503 && $7 != 0' \
    "$TEST_DIR/acks.tsv" | sort -t$'\t' -k7 -u | head -5 | sed 's/^/#   /'
is "$nconn" 0 "every connection to nginx got a status line"
is "$(count '$7 == 409 && $9 != "sold_out" && $9 != "contention"')" 0 \
    "every 409 is sold_out or contention"
[ "$n201" -gt 0 ] && [ "$n409" -gt 0 ]
ok $? "purchases both succeeded ($n201) and found the stock gone ($n409)"
[ "$KILLED" -ge 6 ] && [ "$TERMINATED" -gt 0 ] && [ "$EVENTS_RESTARTS" = 2 ] && [ "$PG_RESTARTS" = 1 ]
ok $? "the faults happened: workers killed, backends terminated, both restarts"
[ $((n502 + n503)) -gt 0 ]
ok $? "and clients felt them: $((n502 + n503)) answers were 502/503"

# ------------------------------------------------------------ the pool heals
full_pool() {
    [ "$(pool_worker_count)" -eq "$WORKERS" ]
}
wait_until 30 full_pool
ok $? "the pool is back to its $WORKERS workers"
deaths=$(grep -cE 'worker [0-9]+ (was killed|exited)' "$STACK_DIR/api.log")
by_us=$(grep -cE 'worker [0-9]+ was killed by signal 9' "$STACK_DIR/api.log")
is "$deaths/$by_us" "$KILLED/$KILLED" "no worker died but the $KILLED the test killed, each logged"
serving() {
    http GET /api/health --max-time 5
    [ "$HTTP_STATUS" = 200 ]
}
wait_until 30 serving
ok $? "the pool serves again"

# ------------------------------------------------------------ the database
for item in $ITEMS charizard-1st-ed golden-ticket launch-hoodie; do
    is "$(invariant "$item")" ok "the invariant holds for $item"
done

stack_sql "CREATE TABLE public.chaos_acks (seq int, item text, strategy text, quantity int,
               buyer text, key text, status int, order_id bigint, code text)" >/dev/null
stack_psql -c "\\copy public.chaos_acks FROM '$TEST_DIR/acks.tsv'"
present=$(stack_sql "SELECT count(*) FROM public.chaos_acks a JOIN lastitem.orders o
                       ON o.id = a.order_id AND o.item_id = a.item AND o.quantity = a.quantity
                      AND o.buyer = a.buyer AND o.strategy = a.strategy AND o.idempotency_key = a.key
                    WHERE a.status = 201")
is "$present" "$n201" "every one of the $n201 acknowledged purchases has its order, as the client was told"
is "$(stack_sql "SELECT count(DISTINCT order_id) FROM public.chaos_acks WHERE status = 201")" "$n201" \
    "no two purchases were told the same order"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders o
                  WHERE NOT EXISTS (SELECT 1 FROM public.chaos_acks a WHERE a.key = o.idempotency_key)")" 0 \
    "every order in the database is one of this run's purchases"
unacked=$(stack_sql "SELECT count(*) FROM public.chaos_acks a JOIN lastitem.orders o
                       ON o.idempotency_key = a.key WHERE a.status <> 201")
diag "orders committed although their client got a 502/503: $unacked"
is "$(stack_sql "SELECT count(*) FROM public.chaos_acks a JOIN lastitem.orders o
                   ON o.idempotency_key = a.key WHERE a.status NOT IN (201, 502, 503)")" 0 \
    "no order for a purchase answered 409"

# A client that got a 502/503 retries with the same key: it gets its order
# when one was committed (201, replayed), and is never sold a second one.
retried=0 replay_ok=0
while IFS=$'\t' read -r seq item strategy quantity buyer key status order_id code; do
    post_json "/api/items/$item/purchase" \
        "{\"buyer\":\"$buyer\",\"strategy\":\"$strategy\",\"quantity\":$quantity}" \
        -H "Idempotency-Key: $key" --max-time 10
    retried=$((retried + 1))
    [ "$HTTP_STATUS" = 201 ] && [ "$(header Idempotent-Replayed)" = true ] &&
        [ "$(body_json .order.id)" = "$order_id" ] && replay_ok=$((replay_ok + 1))
done < <(stack_sql "SELECT a.seq, a.item, a.strategy, a.quantity, a.buyer, a.key, a.status, o.id, a.code
                      FROM public.chaos_acks a JOIN lastitem.orders o ON o.idempotency_key = a.key
                     WHERE a.status <> 201" | tr '|' '\t')
is "$replay_ok/$retried" "$unacked/$unacked" \
    "a retry of each committed-but-unacknowledged purchase replays its order"
for item in $ITEMS; do
    is "$(invariant "$item")" ok "the invariant still holds for $item after the retries"
done

# ------------------------------------------------------------ the watchers
for ((w = 1; w <= WATCHERS; w++)); do
    wait_until 30 watcher_synced "$w"
    ok $? "watcher $w ends on the database's quantities and versions"
done
for ((w = 1; w <= WATCHERS; w++)); do
    kill -TERM "${WATCH_PID[$w]}"
    wait "${WATCH_PID[$w]}"
    stats=$(cat "$TEST_DIR/watch$w.out")
    diag "watcher $w: $stats"
    [ "$(echo "$stats" | awk '{ print $2 }')" -gt "$EVENTS_RESTARTS" ]
    ok $? "watcher $w reconnected after each restart of the event daemon"
done

done_testing
