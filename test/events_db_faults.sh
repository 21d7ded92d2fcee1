#!/usr/bin/env bash
# The database goes away; the daemon and its clients ride it out.
#   * Its LISTEN backend (application_name lastitem-events) is terminated,
#     and for a while it cannot connect again, while psql changes a stock it
#     cannot hear about. The daemon lives, keeps its client connected (with
#     heartbeats), and once it is back sends that client a snapshot that is
#     what the database holds, change included; new purchases stream again.
#   * PostgreSQL stops and starts again, with a change made before the
#     daemon gets back in: the same.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 2
test_events_up --heartbeat 1

daemon_backends() {
    stack_sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lastitem-events'"
}
metric() {
    events_metric "$1"
}
db_down() {
    [ "$(metric lastitem_events_db_up)" = 0 ]
}
# pings NAME: how many heartbeats the client has had.
pings() {
    sse_count "$1" comment
}
more_pings() {  # more_pings NAME N: more than N heartbeats
    [ "$(pings "$1")" -gt "$2" ]
}
# buy_ok BUYER: a purchase of golden-ticket, true when it is 201 (retried by
# wait_until while the pool gets its connections back); sets LAST_ORDER.
buy_ok() {
    post_json /api/items/golden-ticket/purchase "{\"buyer\":\"$1\"}" --max-time 5
    [ "$HTTP_STATUS" = 201 ] && LAST_ORDER=$(body_json .order.id)
}
# Items other than golden-ticket are left alone, so its stock is free for
# purchases; psql changes launch-hoodie.
set_hoodie() {
    stack_sql "UPDATE lastitem.items SET quantity = $1 WHERE id = 'launch-hoodie'" >/dev/null
}

sse_open w
wait_until 20 sse_has w snapshot
ok $? "a client streams"
is "$(daemon_backends)" 1 "the daemon holds one connection, named lastitem-events"

# ------------------------------------------------------------ terminated backend
# While the role may not connect, the daemon cannot get back in, and the
# change below is one it cannot hear: only a fresh snapshot can tell it.
stack_sql "ALTER ROLE lastitem_events CONNECTION LIMIT 0" >/dev/null
is "$(stack_sql "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))
                   FROM pg_stat_activity WHERE application_name = 'lastitem-events'")" 1 \
    "its backend is terminated"
wait_until 20 db_down
ok $? "the daemon notices (lastitem_events_db_up 0)"
set_hoodie 17
p=$(pings w)
wait_until 20 more_pings w $((p + 1))
ok $? "the client keeps getting heartbeats while the database is away"
kill -0 "$EVENTS_PID" && sse_alive w
ok $? "the daemon and the client's connection are alive"
snaps=$(sse_count w snapshot)
stack_sql "ALTER ROLE lastitem_events CONNECTION LIMIT -1" >/dev/null

wait_until 30 sse_has w snapshot $((snaps + 1))
ok $? "once the daemon is back in, the client gets a new snapshot"
is "$(snapshot_state "$(sse_data w snapshot | tail -1)")" "$(db_items_state)" \
    "it matches the database, every item's quantity and version"
is "$(sse_data w snapshot | tail -1 | jq '.items[] | select(.id == "launch-hoodie") | .quantity')" 17 \
    "including the change made while the daemon was away"
sse_alive w
ok $? "on the same connection"
is "$(metric lastitem_events_db_reconnects_total)" 1 "the daemon counts one reconnection"
is "$(daemon_backends)" 1 "and holds one connection again"

wait_until 20 buy_ok after-terminate
ok $? "a purchase"
wait_until 20 sse_has_order w "$LAST_ORDER"
ok $? "streams to the client again"

# ------------------------------------------------------------ PostgreSQL restart
stack_sql "ALTER ROLE lastitem_events CONNECTION LIMIT 0" >/dev/null
pg_stop fast
[ ! -e "$STACK_DIR/pg/data/postmaster.pid" ]
ok $? "PostgreSQL is stopped"
wait_until 20 db_down
ok $? "the daemon notices"
p=$(pings w)
wait_until 20 more_pings w $((p + 1))
ok $? "the client keeps getting heartbeats"
snaps=$(sse_count w snapshot)
pg_start
set_hoodie 23
stack_sql "ALTER ROLE lastitem_events CONNECTION LIMIT -1" >/dev/null

# The daemon retries with a backoff of up to 5 s.
wait_until 30 sse_has w snapshot $((snaps + 1))
ok $? "after the restart, the client gets a new snapshot"
is "$(snapshot_state "$(sse_data w snapshot | tail -1)")" "$(db_items_state)" \
    "it matches the database, every item's quantity and version"
is "$(sse_data w snapshot | tail -1 | jq '.items[] | select(.id == "launch-hoodie") | .quantity')" 23 \
    "including the change made before the daemon got back in"
kill -0 "$EVENTS_PID" && sse_alive w
ok $? "the daemon is the same process, and the client the same connection"
is "$(metric lastitem_events_db_reconnects_total)" 2 "two reconnections counted"
is "$(metric lastitem_events_db_up)" 1 "the daemon streams again"

wait_until 30 buy_ok after-restart
ok $? "a purchase after the restart"
wait_until 20 sse_has_order w "$LAST_ORDER"
ok $? "streams to the client"
set_hoodie 29
wait_until 20 sse_has_item_version w launch-hoodie \
    "$(stack_sql "SELECT version FROM lastitem.items WHERE id = 'launch-hoodie'")"
ok $? "and so does a change from psql"
grep -q 'database connection regained' "$STACK_DIR/events.log"
ok $? "the daemon logged that it regained the database"
grep -q 'database connection lost (read): terminating connection due to administrator command' \
    "$STACK_DIR/events.log"
ok $? "and that it lost it, with the server's reason"
is "$(grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z lastitem-events\[[0-9]+\] (info|warn|error): ' \
        "$STACK_DIR/events.log")" "" \
    "every line of its log has a timestamp and a level (none is libpq's bare notice)"

done_testing
