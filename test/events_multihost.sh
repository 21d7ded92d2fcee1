#!/usr/bin/env bash
# The daemon gets through to its database whatever libpq does on the way.
#   * A multi-host conninfo whose first address refuses: libpq closes that
#     socket and opens another for the next host, often under the same
#     descriptor number. The daemon follows it (it used to wait for ever on
#     a socket that was no longer in epoll), reaches the database and
#     streams a purchase.
#   * A first host that accepts and never answers (freeport --silent): each
#     attempt is abandoned at its deadline (--connect-timeout, or the
#     conninfo's connect_timeout) and retried, and once that host is gone
#     the daemon reaches the real server behind it.
. "$LI_SRCDIR/test/lib.sh"

TEST_PG_TCP=1
test_stack_up --workers 1
ROLE=lastitem_events
# Over TCP the cluster wants a password (scram), as a real server would.
stack_sql "ALTER ROLE lastitem_events PASSWORD 'multihost-test'" >/dev/null ||
    bail "cannot set the daemon's password"
AUTH="password=multihost-test"

# daemon_start NAME CONNINFO [options…]: a daemon on a TCP port of its own,
# with nothing in front of it; sets URL[NAME] and PID[NAME]; log NAME.log.
declare -A URL=() PID=()
daemon_start() {
    local name=$1 conninfo=$2 port
    shift 2
    port=$("$LI_BUILDDIR/test/freeport") || bail "freeport"
    "$LI_BUILDDIR/fcgi/lastitem-events" --listen "127.0.0.1:$port" --db "$conninfo" \
        "$@" >>"$TEST_DIR/$name.log" 2>&1 &
    PID[$name]=$!
    TEST_EXTRA_PIDS+=("$!")
    URL[$name]=http://127.0.0.1:$port
    wait_until 10 answers "$name" || bail "the daemon $name did not start"
}
answers() {
    [ -n "$(events_metric lastitem_events_db_up "${URL[$1]}")" ]
}
metric() {  # metric NAME DAEMON
    events_metric "$1" "${URL[$2]}"
}
db_up() {
    [ "$(metric lastitem_events_db_up "$1")" = 1 ]
}
timeouts_at_least() {  # timeouts_at_least DAEMON N
    [ "$(metric lastitem_events_db_timeouts_total "$1")" -ge "$2" ] 2>/dev/null
}
# buy_streams DAEMON: a purchase through the pool reaches a client of DAEMON.
buy_streams() {
    local name=$1
    SSE_BASE=${URL[$name]} sse_open "client_$name"
    wait_until 20 sse_has "client_$name" snapshot || return 1
    post_json /api/items/launch-hoodie/purchase "{\"buyer\":\"multihost-$name\"}"
    [ "$HTTP_STATUS" = 201 ] || return 1
    wait_until 20 sse_has_order "client_$name" "$(body_json .order.id)"
}

# ------------------------------------------------------------ a refusing first host
# Port 1 on 127.0.0.1 refuses at once (nobody listens there, and we are not
# allowed to): libpq moves on to the second host with a new socket.
daemon_start refused "host=127.0.0.1,127.0.0.1 port=1,$PG_PORT dbname=lastitem user=$ROLE $AUTH"
wait_until 20 db_up refused
ok $? "with host=127.0.0.1,127.0.0.1 port=1,$PG_PORT the daemon reaches the database"
buy_streams refused
ok $? "and a purchase streams to its client"
is "$(stack_sql "SELECT count(*) FROM pg_stat_activity
                  WHERE application_name = 'lastitem-events' AND usename = '$ROLE'
                    AND client_addr IS NOT NULL")" 1 \
    "its connection is the one over TCP, as $ROLE"

# ------------------------------------------------------------ a silent first host
"$LI_BUILDDIR/test/freeport" --silent >"$TEST_DIR/silent.port" 2>&1 &
SILENT_PID=$!
TEST_EXTRA_PIDS+=("$SILENT_PID")
wait_until 10 test -s "$TEST_DIR/silent.port" || bail "freeport --silent"
SILENT=$(cat "$TEST_DIR/silent.port")
diag "a server that never answers on 127.0.0.1:$SILENT"

# One daemon with --connect-timeout 2, one with the conninfo's
# connect_timeout=2 and a --connect-timeout it must not wait for.
daemon_start option "host=127.0.0.1,127.0.0.1 port=$SILENT,$PG_PORT dbname=lastitem user=$ROLE $AUTH" \
    --connect-timeout 2
daemon_start conninfo "host=127.0.0.1,127.0.0.1 port=$SILENT,$PG_PORT dbname=lastitem user=$ROLE $AUTH connect_timeout=2" \
    --connect-timeout 3600
started=$(date +%s%N)
sleep 1
is "$(metric lastitem_events_db_timeouts_total option)/$(metric lastitem_events_db_up option)" "0/0" \
    "after 1 s the attempt still waits for the silent server (deadline 2 s)"
wait_until 20 timeouts_at_least option 2
ok $? "with --connect-timeout 2 the attempt is abandoned at its deadline, and the next one too"
elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
[ "$elapsed" -ge 2000 ]
ok $? "not before its deadline: two attempts took ${elapsed} ms"
wait_until 20 timeouts_at_least conninfo 2
ok $? "with connect_timeout=2 in the conninfo, the same"
grep -q 'cannot reach the database (connect; 1 attempts in [0-9.]* s): no answer within 2 s; abandoned' \
    "$TEST_DIR/option.log"
ok $? "the daemon logs the abandoned attempt"
is "$(metric lastitem_events_db_up option)/$(metric lastitem_events_db_up conninfo)" "0/0" \
    "neither is streaming from the silent server"

# The silent host goes away: its address now refuses, and libpq goes on to
# the real server.
kill -TERM "$SILENT_PID"
wait "$SILENT_PID" 2>/dev/null
wait_until 30 db_up option
ok $? "once the silent host is gone, the daemon (--connect-timeout) reaches the database"
wait_until 30 db_up conninfo
ok $? "and so does the one with connect_timeout"
buy_streams option
ok $? "a purchase streams to a client of the first"
buy_streams conninfo
ok $? "and of the second"
for name in refused option conninfo; do
    kill -0 "${PID[$name]}" 2>/dev/null
    ok $? "the daemon $name is still running"
done

done_testing
