#!/usr/bin/env bash
# No one but the database's own triggers can tell the daemon anything.
#   NOTIFY needs no privilege in PostgreSQL, so the channel's name is a
#   secret (sql/triggers.sql). With the pool's credentials (lastitem_app):
#   * a forged item event with a huge version, on the old channel name, is
#     not heard (it used to hide every genuine change of that item);
#   * the secret table, and the functions that send and listen on the
#     channel, are refused;
#   * the daemon's session (its own role) shows lastitem_app no query.
#   A genuine purchase then streams with the version the database holds.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 1
test_events_up

# as_app SQL: runs SQL as the pool's role; output in APP_OUT, errors in
# APP_ERR, psql's exit status returned.
as_app() {
    local rc
    APP_OUT=$("$PG_BINDIR/psql" -X -At -v ON_ERROR_STOP=1 "$(stack_app_conninfo)" \
        -c "$1" 2>"$TEST_DIR/app.err")
    rc=$?
    APP_ERR=$(tr '\n' ' ' <"$TEST_DIR/app.err")
    return $rc
}
# refused SQL ERROR-REGEX: SQL as lastitem_app fails with a matching error.
refused() {
    if as_app "$1"; then
        ok 1 "refused to lastitem_app: $1"
        diag "it succeeded: $APP_OUT"
    elif [[ "$APP_ERR" =~ ^ERROR:\ \ ($2) ]]; then
        ok 0 "refused to lastitem_app: $1"
    else
        ok 1 "refused to lastitem_app: $1"
        diag "it failed otherwise: $APP_ERR"
    fi
}
# item_versions NAME ITEM: the versions of ITEM's item events, one a line.
item_versions() {
    sse_data "$1" item | jq -r --arg id "$2" 'select(.id == $id) | .version'
}

sse_open a
wait_until 20 sse_has a snapshot
ok $? "a client streams"
heard0=$(events_metric lastitem_events_notifications_total)

FORGED='{"kind":"item","id":"golden-ticket","quantity":0,"initial_quantity":5,"version":9223372036854775806}'
as_app "NOTIFY lastitem_events, '$FORGED'"
ok $? "lastitem_app may NOTIFY the old channel name (PostgreSQL has no privilege for it)"
as_app "SELECT pg_notify('lastitem_events', '{\"kind\":\"reset\"}')"
ok $? "and pg_notify a reset there"

refused "SELECT name FROM lastitem.events_channel" "permission denied for table events_channel"
refused "SELECT lastitem.events_listen()" "permission denied for function events_listen"
refused "SELECT lastitem.events_notify('$FORGED')" "permission denied for function events_notify"
as_app "SELECT coalesce(string_agg(query, ','), 'none') FROM pg_stat_activity
         WHERE application_name = 'lastitem-events'"
is "$APP_OUT" "<insufficient privilege>" "lastitem_app cannot see the daemon's query"
as_app "SELECT count(*) FROM pg_proc WHERE prosrc ~ 'lastitem_events_[0-9a-f]{32}'"
is "$APP_OUT" 0 "no function's source holds the channel's name"

# ------------------------------------------------------------ a genuine change
post_json /api/items/golden-ticket/purchase '{"buyer":"genuine"}'
is "$HTTP_STATUS" 201 "a genuine purchase of golden-ticket"
order=$(body_json .order.id)
v=$(stack_sql "SELECT version FROM lastitem.items WHERE id = 'golden-ticket'")
wait_until 20 sse_has_order a "$order"
ok $? "its order streams"
is "$(item_versions a golden-ticket | paste -sd,)" "$v" \
    "and golden-ticket's item event, with the version the database holds ($v), and no other"
is "$(sse_count a reset)" 0 "no forged reset arrived"
is "$(events_metric lastitem_events_notifications_total)" $((heard0 + 2)) \
    "the daemon heard the purchase's two notifications, and none of the forged ones"
sse_open b
wait_until 20 sse_has b snapshot
is "$(snapshot_state "$(sse_data b snapshot)")" "$(db_items_state)" \
    "a new client's snapshot is what the database holds"

done_testing
