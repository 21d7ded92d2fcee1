#!/usr/bin/env bash
# A client that reconnects with Last-Event-ID gets exactly what it missed.
#   * With an id the daemon still holds, it gets `retry`, then the events
#     after that id, in order, the same frames a client that never left got,
#     and no snapshot; then the live events.
#   * With the newest id, it gets nothing but `retry` until the next event.
#   * With the oldest id the ring (--ring 6) can resume from, it gets the
#     six events after it; one older, and it gets a snapshot instead.
#   * With an id from another run of the daemon (same number, other run),
#     an unknown id, or one ahead of the daemon, it gets a snapshot.
#   * After missing 1,000 orders (some 200 KB: more than nginx's socket
#     takes at once, less than --max-buffer), it gets all of them through
#     nginx and is not dropped for it. After missing 4,000 (more than
#     --max-buffer), it gets a snapshot instead, and is not dropped either.
. "$LI_SRCDIR/test/lib.sh"

RING=6
test_stack_up --workers 2
test_events_up --ring "$RING"

# buy: one purchase of launch-hoodie: an item and an order event. Each in a
# flush tick of its own (50 ms), so that no item event of one supersedes
# another's and the ids below count events one by one.
BUYS=0
buy() {
    BUYS=$((BUYS + 1))
    post_json /api/items/launch-hoodie/purchase "{\"buyer\":\"resume-$BUYS\"}"
    [ "$HTTP_STATUS" = 201 ] || diag "purchase $BUYS answered $HTTP_STATUS"
    LAST_ORDER=$(body_json .order.id)
    sleep 0.12
}
# events_after NAME ID: the client's events after the one with id ID, as
# frames (ID "" for all of them), leaving out retry and comments.
events_after() {
    sse_frames "$1" | awk -F'\t' -v id="$2" '
        $1 == "retry" || $1 == "comment" { next }
        go || id == "" { print }
        $2 == id { go = 1 }'
}
# seq_of ID: the number after the run.
seq_of() {
    echo "${1##*-}"
}

sse_open always
wait_until 20 sse_has always snapshot
ok $? "a client that never leaves has its snapshot"

sse_open b
wait_until 20 sse_has b snapshot
buy
wait_until 20 sse_has_order b "$LAST_ORDER"
ok $? "client b sees the first purchase"
L1=$(sse_last_id b)
sse_close b
diag "b left after $L1"

buy
buy
wait_until 20 sse_has_order always "$LAST_ORDER"
ok $? "two purchases later, the client that stayed has them"
missed=$(events_after always "$L1")
is "$(echo "$missed" | cut -f1 | paste -sd' ')" "item order item order" \
    "b missed two items and two orders"

# ------------------------------------------------------------ resume in the ring
sse_open c -H "Last-Event-ID: $L1"
wait_until 20 sse_has c order 2
ok $? "b, back with Last-Event-ID $L1, gets the two missed orders"
buy
wait_until 20 sse_has_order c "$LAST_ORDER"
ok $? "and then the live events"
wait_until 20 sse_has_order always "$LAST_ORDER"
is "$(sse_frames c | head -1)" "$(printf 'retry\t\t2000')" "its stream starts with retry: 2000"
is "$(sse_count c snapshot)" 0 "it gets no snapshot"
is "$(events_after c "" | md5sum)" "$(events_after always "$L1" | md5sum)" \
    "it gets exactly the frames after $L1 the staying client got: same events, ids, order"
diag "$(events_after c "" | cut -f1,2 | paste -sd' ')"
is "$(head -c 15 "$TEST_DIR/c.head" | tr -d '\r')" "HTTP/1.1 200 OK" "the answer is 200"

# ------------------------------------------------------------ up to date
LAST=$(sse_last_id always)
sse_open d -H "Last-Event-ID: $LAST"
wait_until 20 sse_has d retry
ok $? "a client back with the newest id ($LAST) gets retry"
buy
wait_until 20 sse_has_order d "$LAST_ORDER"
ok $? "and the next events"
is "$(events_after d "" | cut -f1 | paste -sd' ')" "item order" \
    "and nothing else: no replay, no snapshot"

# ------------------------------------------------------------ the ring's edge
# The ring holds the last RING events; the oldest id it can resume after is
# the one just before them.
wait_until 20 sse_has_order always "$LAST_ORDER"
LAST=$(sse_last_id always)
run=${LAST%-*}
s=$(seq_of "$LAST")
edge=$run-$((s - RING))
[ $((s - RING)) -ge 2 ]
ok $? "the daemon has published more than $RING events ($s)"
sse_open e -H "Last-Event-ID: $edge"
wait_until 20 sse_has e order $((RING / 2))
ok $? "after $edge, the oldest id the ring still resumes from: the events after it"
is "$(events_after e "" | md5sum)" "$(events_after always "$edge" | md5sum)" \
    "exactly the $RING events after it, as the staying client got them"
is "$(sse_count e snapshot)" 0 "and no snapshot"

too_old=$run-$((s - RING - 1))
sse_open f -H "Last-Event-ID: $too_old"
wait_until 20 sse_has f snapshot
ok $? "after $too_old, fallen out of the ring: a snapshot"
is "$(events_after f "" | cut -f1 | paste -sd' ')" "snapshot" "and no replay"
is "$(snapshot_state "$(sse_data f snapshot)")" "$(db_items_state)" \
    "the snapshot is what the database holds"

sse_open g -H "Last-Event-ID: $run-$((s + 1))"
wait_until 20 sse_has g snapshot
ok $? "an id ahead of the daemon ($run-$((s + 1))): a snapshot"
sse_open h -H "Last-Event-ID: nonsense"
wait_until 20 sse_has h snapshot
ok $? "an id that is not one of ours: a snapshot"

# ------------------------------------------------------------ another run
OLD_RUN=$run
for name in always c d e f g h; do sse_close "$name"; done
events_stop
test_events_up --ring "$RING"
sse_open fresh
wait_until 20 sse_has fresh snapshot
buy
buy
wait_until 20 sse_has_order fresh "$LAST_ORDER"
NEW=$(sse_last_id fresh)
new_run=${NEW%-*}
[ "$new_run" != "$OLD_RUN" ]
ok $? "the restarted daemon numbers its events under a new run ($new_run, was $OLD_RUN)"
other=$OLD_RUN-$(( $(seq_of "$NEW") - 2 ))
sse_open old -H "Last-Event-ID: $other"
wait_until 20 sse_has old snapshot
ok $? "an id of the earlier run ($other), whose number this run has used: a snapshot"
is "$(events_after old "" | cut -f1 | paste -sd' ')" "snapshot" "and no replay of this run's events"
is "$(snapshot_state "$(sse_data old snapshot)")" "$(db_items_state)" \
    "the snapshot is what the database holds"
# The same number under this run's name does resume: only the run differed.
sse_open same -H "Last-Event-ID: $new_run-$(( $(seq_of "$NEW") - 2 ))"
wait_until 20 sse_has same order
ok $? "the same number under this run resumes"
is "$(events_after same "" | cut -f1 | paste -sd' ')" "item order" "with the two events after it"

# ------------------------------------------------------------ a long absence
# 1,000 missed orders are some 200 KB, queued at once on a resuming client,
# before it can read any, and more than nginx's unix socket takes at a time
# (~28 KB): they are what it asked for, within --max-buffer (256 KiB); it
# gets all of them and is not dropped. 4,000 (some 800 KB) would pass
# --max-buffer: it gets a snapshot instead (test/events_replay_bound.sh).
# Orders, because the item changes of one transaction arrive in one flush
# tick, where each supersedes the one before: only the last is sent.
for name in fresh old same; do sse_close "$name"; done
events_stop
test_events_up                                   # default --ring and --max-buffer
sse_open keep
sse_open away
wait_until 20 sse_has keep snapshot && wait_until 20 sse_has away snapshot
stack_sql "UPDATE lastitem.items SET quantity = 2 WHERE id = 'golden-ticket'" >/dev/null
wait_until 20 sse_has away item
AWAY=$(sse_last_id away)
sse_close away
miss() {  # miss N: N orders and changes of launch-hoodie; prints its version
    stack_sql "DO \$\$ BEGIN FOR i IN 1..$1 LOOP
                 UPDATE lastitem.items SET quantity = 1000 + i % 2 WHERE id = 'launch-hoodie';
                 INSERT INTO lastitem.orders (item_id, quantity, buyer, strategy)
                     VALUES ('launch-hoodie', 1, 'away-' || i, 'atomic');
               END LOOP; END \$\$" >/dev/null
    stack_sql "SELECT version FROM lastitem.items WHERE id = 'launch-hoodie'"
}
v=$(miss 1000)
wait_until 60 sse_has_item_version keep launch-hoodie "$v"
ok $? "a client that stayed got 1,000 changes"
sse_open back -H "Last-Event-ID: $AWAY"
wait_until 60 sse_has_item_version back launch-hoodie "$v"
ok $? "a client back after missing them, through nginx, gets up to the last"
is "$(events_after back "" | md5sum)" "$(events_after keep "$AWAY" | md5sum)" \
    "exactly the events (1,000 orders) the staying client got after $AWAY"
is "$(sse_count back snapshot)" 0 "without a snapshot"
sse_alive back
ok $? "and is still connected"

AWAY=$(sse_last_id back)
sse_close back
v=$(miss 4000)
wait_until 60 sse_has_item_version keep launch-hoodie "$v"
ok $? "a client that stayed got 4,000 more changes"
sse_open far -H "Last-Event-ID: $AWAY"
wait_until 60 sse_has far snapshot
ok $? "a client back after missing those, more than --max-buffer, gets a snapshot"
is "$(events_after far "" | cut -f1 | paste -sd' ')" "snapshot" "and no replay"
is "$(snapshot_state "$(sse_data far snapshot)")" "$(db_items_state)" \
    "the snapshot is what the database holds"
sse_alive far
ok $? "and is still connected"
is "$(events_metric lastitem_events_clients_dropped_total)" 0 "no client was dropped"

done_testing
