#!/usr/bin/env bash
# pool_lock_timeout — a purchase never waits on a row lock past the pool's
# timeouts, whoever holds it.
#
# A psql session locks an item (SELECT … FOR UPDATE) and sleeps. Without a
# timeout a purchase of that item waits as long as the lock is held, and the
# worker with it, until nginx gives up after 30 s. With them:
#   * the default --lock-timeout (2 s): every safe strategy answers 503
#     problem+json "unavailable" with Retry-After within a few seconds;
#     nothing changed in the database; the same worker (there is one) serves
#     the next requests; once the lock is gone the purchase succeeds, with
#     the Idempotency-Key of the one that was given up;
#   * --statement-timeout below --lock-timeout: the statement timeout ends
#     the wait instead, with the same answer;
#   * after the pool's backend is terminated and it reconnects, the timeouts
#     are still in force.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 1
ITEM=golden-ticket

# hold_lock: a psql session that locks $ITEM and sleeps, in the background;
# returns once the lock is held.
HOLDER_PID=
hold_lock() {
    "$PG_BINDIR/psql" -X -q "$(stack_admin_conninfo) application_name=lock-holder" \
        -c "BEGIN; SELECT 1 FROM lastitem.items WHERE id = '$ITEM' FOR UPDATE; SELECT pg_sleep(120); COMMIT" \
        >>"$TEST_DIR/holder.log" 2>&1 &
    HOLDER_PID=$!
    TEST_EXTRA_PIDS+=("$HOLDER_PID")
    wait_until 30 holding || bail "the psql session did not take the lock"
}

holding() {
    [ "$(stack_sql "SELECT count(*) FROM pg_stat_activity
                     WHERE application_name = 'lock-holder' AND state = 'active'
                       AND query LIKE '%pg_sleep%'")" = 1 ]
}

# app_backend: the pid of the backend that answered GET /api/items last.
app_backend() {
    stack_sql "SELECT pid FROM pg_stat_activity
                WHERE usename = 'lastitem_app' AND query LIKE '%items_json%'"
}

no_app_backend() {
    [ "$(stack_sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'lastitem_app'
                     AND application_name = 'lastitem-api'")" = 0 ]
}

# release_lock: ends the psql session, and with it its lock.
release_lock() {
    stack_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE application_name = 'lock-holder'" >/dev/null
    wait "$HOLDER_PID" 2>/dev/null
    ! holding
}

# buy STRATEGY [KEY]: a purchase of $ITEM; sets ELAPSED_MS. At most 25 s,
# less than nginx's 30 s: an answer of nginx's own would not be the pool's.
buy() {
    local t0 key=()
    [ -n "${2:-}" ] && key=(-H "Idempotency-Key: $2")
    t0=$(date +%s%N)
    post_json "/api/items/$ITEM/purchase" "{\"buyer\":\"waiter\",\"strategy\":\"$1\"}" \
        "${key[@]}" --max-time 25
    ELAPSED_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}

# given_up STRATEGY WHAT: the purchase was answered 503 "unavailable" with
# Retry-After, within 10 s (the timeout in force is 1 or 2 s), and the pool
# logged the server's reason WHAT.
given_up() {
    is "$HTTP_STATUS/$(body_json .code)" 503/unavailable \
        "$1: 503 unavailable while the item is locked"
    is "$(header Content-Type)/$(header Retry-After)" application/problem+json/1 \
        "$1: … problem+json with Retry-After"
    [ "$ELAPSED_MS" -lt 10000 ]
    ok $? "$1: … after ${ELAPSED_MS} ms, well before nginx's 30 s"
    grep -q "given up.*canceling statement due to $2" "$STACK_DIR/api.log"
    ok $? "$1: … the pool logged the $2"
}

# ---- the default lock timeout
hold_lock
snapshot=$(db_snapshot)
for s in pessimistic atomic optimistic batched; do
    buy "$s" "key-$s"
    given_up "$s" "lock timeout"
    [ "$ELAPSED_MS" -ge 1500 ]
    ok $? "$s: … not before the lock timeout of 2 s"
done
is "$(db_snapshot)" "$snapshot" "nothing changed in the database"

# The one worker is free again while the lock is still held.
http GET /api/items --max-time 10
is "$HTTP_STATUS" 200 "the worker goes on serving: items"
post_json /api/items/launch-hoodie/purchase '{"buyer":"other"}' --max-time 10
is "$HTTP_STATUS" 201 "the worker goes on serving: a purchase of another item"

release_lock
ok $? "the lock is released"
before=$(stack_sql "SELECT quantity FROM lastitem.items WHERE id = '$ITEM'")
for s in pessimistic atomic optimistic batched; do
    buy "$s" "key-$s"
    is "$HTTP_STATUS/$(header Idempotent-Replayed)" 201/ \
        "$s: after the release the purchase with the same key buys"
done
is "$(stack_sql "SELECT quantity FROM lastitem.items WHERE id = '$ITEM'")" $((before - 4)) \
    "… four taken"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE buyer = 'waiter'")" 4 \
    "… four orders, none from the purchases given up"

# ---- the statement timeout, when it comes first
pool_stop
pool_start --drain-timeout 5 --lock-timeout 20000 --statement-timeout 1000
hold_lock
snapshot=$(db_snapshot)
buy pessimistic
given_up "statement timeout" "statement timeout"
is "$(db_snapshot)" "$snapshot" "statement timeout: nothing changed in the database"

# ---- after a reconnect the timeouts are still in force
release_lock
ok $? "the lock is released"
http GET /api/items --max-time 10
old_backend=$(app_backend)
stack_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE usename = 'lastitem_app' AND application_name = 'lastitem-api'" >/dev/null
wait_until 10 no_app_backend || bail "the pool's backends did not go"
http GET /api/items --max-time 10
is "$HTTP_STATUS" 200 "after its backend was terminated the pool serves again"
new_backend=$(app_backend)
[ -n "$old_backend" ] && [ -n "$new_backend" ] && [ "$old_backend" != "$new_backend" ]
ok $? "… on a new connection (backend $old_backend, now $new_backend)"
: >"$STACK_DIR/api.log"
hold_lock
snapshot=$(db_snapshot)
buy atomic
given_up "after a reconnect" "statement timeout"
is "$(db_snapshot)" "$snapshot" "after a reconnect: nothing changed in the database"
release_lock
buy atomic
is "$HTTP_STATUS" 201 "after the release the purchase buys"

is "$(invariant "$ITEM")" ok "invariant holds for $ITEM"

done_testing
