#!/usr/bin/env bash
# What a client may make the daemon hold is bounded by --max-buffer.
#   * A client resuming from the ring's oldest id, whose replay would pass
#     --max-buffer, gets a snapshot instead (what a client too far behind
#     gets anyway); a short gap is still replayed.
#   * Ten clients that resume so and never read cost the daemon neither
#     buffered bytes nor memory (they used to hold the ring each, some
#     megabytes).
#   * Resyncs (the daemon's backend terminated, again and again) send every
#     client a new snapshot; a client that reads none of them is dropped
#     once they pass what it is allowed, instead of being allowed one more
#     snapshot at each resync.
. "$LI_SRCDIR/test/lib.sh"

MAX_BUFFER=16384
RING=20000
STALLED=10
test_stack_up --workers 1
events_tcp_start --max-buffer "$MAX_BUFFER" --ring "$RING"
DIRECT=$EVENTS_TCP_URL
PAD=pad-$(printf '%060d' 1)

metric() {
    events_metric "$1" "$DIRECT"
}
rss_kb() {
    awk '$1 == "VmRSS:" { print $2 }' "/proc/$EVENTS_TCP_PID/status"
}
streaming() {  # streaming N: the daemon streams to N clients
    [ "$(metric lastitem_events_clients)" = "$1" ]
}
all_say() {  # all_say PREFIX N WORD: each PREFIX1..N.out starts with WORD
    local i
    for ((i = 1; i <= $2; i++)); do
        [ "$(head -c ${#3} "$TEST_DIR/$1$i.out" 2>/dev/null)" = "$3" ] || return 1
    done
}

stack_sql "INSERT INTO lastitem.items (id, name, quantity, initial_quantity)
           VALUES ('$PAD', 'padding', 1000, 1000)" >/dev/null
SSE_BASE=$DIRECT sse_open always
wait_until 20 sse_has always snapshot
ok $? "a client that stays streams"
stack_sql "UPDATE lastitem.items SET quantity = 999 WHERE id = '$PAD'" >/dev/null
wait_until 20 sse_has_item_version always "$PAD" 2
FIRST=$(sse_last_id always)
# Orders, then one change of the item: item changes of one transaction
# arrive in one flush tick, where each would supersede the one before.
stack_sql "DO \$\$ BEGIN FOR i IN 1..$((RING - 2)) LOOP
             INSERT INTO lastitem.orders (item_id, quantity, buyer, strategy)
                 VALUES ('$PAD', 1, '$PAD', 'atomic');
           END LOOP;
           UPDATE lastitem.items SET quantity = 998 WHERE id = '$PAD'; END \$\$" >/dev/null
v=$(stack_sql "SELECT version FROM lastitem.items WHERE id = '$PAD'")
wait_until 120 sse_has_item_version always "$PAD" "$v"
ok $? "$RING events published; the first is $FIRST"
LAST=$(sse_last_id always)
is "$(( ${LAST##*-} - ${FIRST##*-} ))" $((RING - 1)) "all of them after the first are in the ring"

# ------------------------------------------------------------ a long replay
rss0=$(rss_kb)
SSE_BASE=$DIRECT sse_open back -H "Last-Event-ID: $FIRST"
wait_until 20 sse_has back snapshot
ok $? "a client resuming after the ring's oldest id, $((RING - 1)) events (MBs) behind, gets a snapshot"
is "$(snapshot_state "$(sse_data back snapshot)")" "$(db_items_state)" \
    "the snapshot is what the database holds"
stack_sql "UPDATE lastitem.items SET quantity = 7 WHERE id = 'launch-hoodie'" >/dev/null
wait_until 20 sse_has_item_version back launch-hoodie \
    "$(stack_sql "SELECT version FROM lastitem.items WHERE id = 'launch-hoodie'")"
ok $? "then the live events"
is "$(sse_frames back | awk -F'\t' '$1 != "retry" && $1 != "comment" { print $1 }' | head -3 | paste -sd' ')" \
    "snapshot item" "and not the replay"
[ "$(metric lastitem_events_replays_refused_total)" -ge 1 ]
ok $? "the daemon counts the replay it refused"

# A short gap is still replayed.
run=${LAST%-*}
SHORT=$run-$(( ${LAST##*-} - 20 ))
SSE_BASE=$DIRECT sse_open short -H "Last-Event-ID: $SHORT"
wait_until 20 sse_has short order 19 && wait_until 20 sse_has short item 1
ok $? "a client 20 events behind ($SHORT) gets them replayed"
is "$(sse_count short snapshot)" 0 "without a snapshot"

# ------------------------------------------------------------ clients that never read
for ((i = 1; i <= STALLED; i++)); do
    "$LI_BUILDDIR/test/sse_poke" stall "$EVENTS_TCP_ADDR" "$FIRST" >"$TEST_DIR/stall$i.out" 2>&1 &
    STALL_PIDS+=("$!")
    TEST_EXTRA_PIDS+=("$!")
done
wait_until 20 all_say stall "$STALLED" stalled && wait_until 20 streaming $((3 + STALLED))
ok $? "$STALLED clients resume after $FIRST and never read"
buffered=$(metric lastitem_events_buffered_bytes)
[ "${buffered:-999999999}" -le $((STALLED * MAX_BUFFER)) ]
ok $? "the daemon holds $buffered bytes for them, not more than --max-buffer each"
rss1=$(rss_kb)
diag "the daemon's RSS: $rss0 kB before the resuming clients, $rss1 kB after"
[ $((rss1 - rss0)) -lt 4096 ]
ok $? "its memory grew by less than 4 MiB ($((rss1 - rss0)) kB)"
for pid in "${STALL_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
wait_until 20 streaming 3
ok $? "they hang up"

# ------------------------------------------------------------ resyncs
# Two thousand more items make a snapshot of some 220 KB: the kernel takes
# a few of them for a client that does not read, then the daemon must hold
# them, and each resync used to allow it one more.
stack_sql "INSERT INTO lastitem.items (id, name, quantity, initial_quantity)
           SELECT 'pad-' || lpad(i::text, 60, '0'), 'padding', 1000, 1000
             FROM generate_series(2, 2001) i" >/dev/null
"$LI_BUILDDIR/test/sse_poke" stall "$EVENTS_TCP_ADDR" >"$TEST_DIR/slow1.out" 2>&1 &
TEST_EXTRA_PIDS+=("$!")
wait_until 20 all_say slow 1 stalled && wait_until 20 streaming 4
ok $? "a client that never reads streams"
snap=$(curl -s --max-time 10 -N "$DIRECT/api/events" -o "$TEST_DIR/snap.sse" 2>/dev/null;
       stat -c %s "$TEST_DIR/snap.sse")
dropped0=$(metric lastitem_events_clients_dropped_total)
snapshots_past() {  # snapshots_past N: more than N resyncs so far
    [ "$(metric lastitem_events_snapshots_total)" -gt "$1" ]
}
resync() {
    local s
    s=$(metric lastitem_events_snapshots_total)
    stack_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE application_name = 'lastitem-events'" >/dev/null
    wait_until 30 snapshots_past "$s"
}
max=0
for ((r = 1; r <= 16; r++)); do
    resync || { diag "resync $r did not happen"; break; }
    b=$(metric lastitem_events_buffered_bytes)
    [ "${b:-0}" -gt "$max" ] && max=$b
    [ "$(metric lastitem_events_clients_dropped_total)" -gt "$dropped0" ] && break
done
diag "after $r resyncs of a ~$snap-byte snapshot, the daemon held at most $max bytes"
[ "$(metric lastitem_events_clients_dropped_total)" -gt "$dropped0" ]
ok $? "the client that reads no snapshot is dropped, not allowed one more at each resync"
[ "$max" -le $((MAX_BUFFER + 2 * snap + 65536)) ]
ok $? "the daemon never held more than --max-buffer and two snapshots for it ($max bytes)"
wait_until 20 streaming 3
ok $? "the clients that read stay"

done_testing
