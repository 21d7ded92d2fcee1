#!/usr/bin/env bash
# A worker that dies is replaced by the master, and the pool goes on serving:
# one worker killed with SIGKILL, then every worker at once.
. "$LI_SRCDIR/test/lib.sh"

WORKERS=4
test_stack_up --workers "$WORKERS"

worker_count() {
    pool_workers | grep -c .
}

# full_pool_without PID…: the pool has $WORKERS workers again, none of them PID.
full_pool_without() {
    local now pid
    now=$(pool_workers)
    [ "$(echo "$now" | grep -c .)" -eq "$WORKERS" ] || return 1
    for pid in "$@"; do
        echo "$now" | grep -qx "$pid" && return 1
    done
    return 0
}

restart_logged() {  # restart_logged PID
    grep -q "worker $1 was killed by signal 9; restarting it" "$STACK_DIR/api.log"
}

health_ok() {
    http GET /api/health --max-time 2
    [ "$HTTP_STATUS" = 200 ]
}

# n_health_ok N: N requests in a row all answer 200.
n_health_ok() {
    local i
    for ((i = 0; i < $1; i++)); do
        health_ok || return 1
    done
}

is "$(worker_count)" "$WORKERS" "the pool starts with $WORKERS workers"

# A worker younger than a second is restarted after a pause (it is taken to
# have failed to start): let them all grow older than that.
sleep 1.2

# ------------------------------------------------------------ one worker
victim=$(pool_workers | head -1)
kill -KILL "$victim"
wait_until 5 restart_logged "$victim"
ok $? "the master logs that worker $victim was killed by signal 9 and restarts it"
wait_until 5 full_pool_without "$victim"
ok $? "the worker count returns to $WORKERS, without the killed worker"
kill -0 "$POOL_PID" 2>/dev/null
ok $? "the master is still running"
n_health_ok $((WORKERS * 3))
ok $? "$((WORKERS * 3)) requests in a row after the restart all answer 200"

# ------------------------------------------------------------ every worker
sleep 1.2
victims=$(pool_workers)
is "$(echo "$victims" | grep -c .)" "$WORKERS" "$WORKERS workers before killing them all"
start=$(date +%s%N)
# shellcheck disable=SC2086  # one pid per word
kill -KILL $victims
wait_until 5 health_ok
ok $? "requests succeed again within 5 s of killing every worker"
diag "first 200 after $(( ($(date +%s%N) - start) / 1000000 )) ms"
# shellcheck disable=SC2086
wait_until 5 full_pool_without $victims
ok $? "the worker count returns to $WORKERS, all of them new"
logged=0
for pid in $victims; do
    restart_logged "$pid" && logged=$((logged + 1))
done
is "$logged" "$WORKERS" "the master logs the death and restart of each of the $WORKERS workers"
kill -0 "$POOL_PID" 2>/dev/null
ok $? "the master is still running"
n_health_ok $((WORKERS * 3))
ok $? "$((WORKERS * 3)) requests in a row after the restart all answer 200"

# ------------------------------------------------------------ and it still sells
before=$(stack_sql "SELECT quantity FROM lastitem.items WHERE id = 'golden-ticket'")
post_json /api/items/golden-ticket/purchase '{"buyer":"after-restarts"}'
is "$HTTP_STATUS" 201 "a purchase after the restarts answers 201"
order_id=$(body_json .order.id)
is "$(stack_sql "SELECT buyer FROM lastitem.orders WHERE id = ${order_id:-0}")" \
    after-restarts "its order is in the database"
is "$(stack_sql "SELECT quantity FROM lastitem.items WHERE id = 'golden-ticket'")" \
    $((before - 1)) "the stock went down by one"
is "$(invariant golden-ticket)" ok "the invariant holds"

restarts=$(grep -c 'was killed by signal 9; restarting it' "$STACK_DIR/api.log")
is "$restarts" $((WORKERS + 1)) "no other worker died: $((WORKERS + 1)) restarts logged in all"

done_testing
