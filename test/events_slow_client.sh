#!/usr/bin/env bash
# A client that stops reading is dropped; the others do not notice.
#   A client connects with a tiny receive buffer and never reads, once on the
#   daemon's own TCP listener and once through nginx (whose buffers fill
#   first). Events pile up; once its unsent bytes pass --max-buffer the
#   daemon drops it (lastitem_events_clients_dropped_total rises, its
#   connection ends), while a normal client beside it gets every event.
#   Behind nginx, the daemon sees the stalled stream's bytes left unread
#   and holds its ticks meanwhile (lastitem_events_ticks_waited_total).
. "$LI_SRCDIR/test/lib.sh"

# The daemon on its own drops at a small --max-buffer. The one behind nginx
# keeps the default: nginx reads its stream through a unix socket, whose
# buffer holds only some 28 KB of small frames, so a burst of events must
# wait in the daemon for nginx to take it, and a healthy nginx is not
# dropped for that.
MAX_BUFFER=4096
test_stack_up --workers 1
test_events_up                                         # behind nginx
# (--fanout-share 0: ticks never wait for a reader, over TCP they could
# not see it anyway; the option once divided by it.)
events_tcp_start --max-buffer "$MAX_BUFFER" --fanout-share 0   # on its own
DIRECT=$EVENTS_TCP_URL
NGINX_ADDR=${BASE_URL#http://}

# A thousand items with the longest ids: one UPDATE of them all is a
# thousand item events of some 160 bytes. Their quantities only fall: stock
# coming back would send each tick at once (doc/design.md).
stack_sql "INSERT INTO lastitem.items (id, name, quantity, initial_quantity)
           SELECT 'pad-' || lpad(i::text, 60, '0'), 'padding', 100000, 100000
             FROM generate_series(1, 1000) i" >/dev/null

sse_open normal_nginx
SSE_BASE=$DIRECT sse_open normal_direct

"$LI_BUILDDIR/test/sse_poke" stall "$EVENTS_TCP_ADDR" >"$TEST_DIR/stall_direct.out" 2>&1 &
STALL_DIRECT=$!
"$LI_BUILDDIR/test/sse_poke" stall "$NGINX_ADDR" >"$TEST_DIR/stall_nginx.out" 2>&1 &
STALL_NGINX=$!
TEST_EXTRA_PIDS+=("$STALL_DIRECT" "$STALL_NGINX")

streaming() {  # streaming N BASE: the daemon at BASE streams to N clients
    [ "$(events_metric lastitem_events_clients "$2")" = "$1" ]
}
wait_until 20 sse_has normal_nginx snapshot && wait_until 20 sse_has normal_direct snapshot
ok $? "the normal clients have their snapshots"
wait_until 20 streaming 2 "$METRICS_URL" && wait_until 20 streaming 2 "$DIRECT"
ok $? "each daemon streams to two clients: a normal one and one that never reads"
is "$(cat "$TEST_DIR/stall_direct.out" "$TEST_DIR/stall_nginx.out" | paste -sd' ')" \
    "stalled stalled" "the stalled clients are connected and not reading"
seq0=$(sse_last_id normal_direct)
seq0=${seq0##*-}

# pump: a thousand item events (some 160 KB), then: have both daemons
# dropped a client? (On loopback the kernel alone takes a megabyte or two
# for a client that does not read, before the daemon has to hold any.)
PUMPS=0
pump() {
    stack_sql "UPDATE lastitem.items SET quantity = quantity - 1 WHERE id LIKE 'pad-%'" >/dev/null
    PUMPS=$((PUMPS + 1))
    [ "$(events_metric lastitem_events_clients_dropped_total "$DIRECT")" -ge 1 ] &&
        [ "$(events_metric lastitem_events_clients_dropped_total)" -ge 1 ]
}
wait_until 60 pump
ok $? "with events piling up, both daemons drop a client"
diag "$PUMPS thousand changes made"
is "$(events_metric lastitem_events_clients_dropped_total "$DIRECT")" 1 "the daemon on its own dropped one"
is "$(events_metric lastitem_events_clients_dropped_total)" 1 "the daemon behind nginx dropped one"
is "$(events_metric lastitem_events_clients "$DIRECT")" 1 "the daemon on its own still streams to one client"
is "$(events_metric lastitem_events_clients)" 1 "the one behind nginx too"
grep -q "past --max-buffer" "$EVENTS_TCP_LOG"
ok $? "the drop is logged"
# While nginx did not read the stalled stream, the daemon behind it saw
# the bytes left unread on that stream's socket and held its next ticks
# (doc/design.md "Ticks wait for nginx"); the one at --fanout-share 0
# never does.
waited=$(events_metric lastitem_events_ticks_waited_total)
[ "${waited:-0}" -gt 0 ]
ok $? "the daemon behind nginx held ticks while nginx had not read them ($waited)"
is "$(events_metric lastitem_events_ticks_waited_total "$DIRECT")" 0 \
    "the daemon at --fanout-share 0 never held one"

events_sync normal_nginx normal_direct
ok $? "the normal clients are in step with the database"
# in_order NAME: "ok" when the client's event ids only grow. (Numbers may
# be skipped: an item event that a newer one of the same item follows in
# its tick is not sent, doc/api.md "Ticks"; what the client ends on is
# checked against the database below.)
db_pad=$(stack_sql "SELECT string_agg(id || '/' || version, ',' ORDER BY id) FROM lastitem.items WHERE id LIKE 'pad-%'")
in_order() {
    sse_frames "$1" | awk -F'\t' '
        $2 == "" { next }
        { s = $2; sub(/.*-/, "", s) }
        prev != "" && s + 0 <= prev + 0 { print "out of order after " prev; bad = 1; exit }
        { prev = s }
        END { if (!bad) print "ok" }'
}
for c in normal_direct normal_nginx; do
    is "$(in_order "$c")" ok "$c got its events in order"
    is "$(sse_data "$c" item | jq -r 'select(.id | startswith("pad-")) | "\(.id)/\(.version)"' |
            awk -F/ '{ v[$1] = $2 } END { for (i in v) print i "/" v[i] }' | sort | paste -sd,)" \
        "$db_pad" "$c ends on the database's version of every item"
    is "$(sse_count "$c" snapshot)" 1 "$c got no second snapshot"
    sse_alive "$c"
    ok $? "$c is still connected"
done

# Once the stalled clients read, they find their streams ended.
kill -USR1 "$STALL_DIRECT" "$STALL_NGINX"
wait "$STALL_DIRECT"
wait "$STALL_NGINX"
is "$(cut -d' ' -f1 "$TEST_DIR/stall_direct.out" | paste -sd' ')" "stalled eof" \
    "the client stalled on the daemon's listener finds its stream closed"
# nginx ends the response with its last chunk and keeps the connection.
is "$(cut -d' ' -f1 "$TEST_DIR/stall_nginx.out" | paste -sd' ')" "stalled end" \
    "the one stalled behind nginx finds its response ended"
diag "bytes read after waking: direct $(tail -1 "$TEST_DIR/stall_direct.out"), nginx $(tail -1 "$TEST_DIR/stall_nginx.out")"

done_testing
