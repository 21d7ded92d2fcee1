#!/usr/bin/env bash
# A client watching a stampede sees exactly what committed.
#   A client connects, then 200 buyers stampede a stock of 50. The client
#   gets `item` events with versions that only go up and quantities that
#   only go down, ending on the version and quantity the database holds (a
#   change superseded by a newer one inside one flush tick is not sent: at
#   most one per committed change); one `order` event per order the
#   database holds; event ids that only grow; and no second snapshot.
. "$LI_SRCDIR/test/lib.sh"

ITEM=launch-hoodie
test_stack_up --workers 4
test_events_up

# A probe sees the reset go by first, so the watcher's snapshot, served from
# the daemon's state, cannot predate it (the reset's NOTIFY may still be on
# its way when the reset's answer arrives).
sse_open probe
wait_until 20 sse_has probe snapshot
post_json /api/reset '{"quantity":50}'
is "$HTTP_STATUS" 200 "the stock is reset to 50"
wait_until 20 sse_has_item_version probe "$ITEM" \
    "$(stack_sql "SELECT version FROM lastitem.items WHERE id = '$ITEM'")"
ok $? "the daemon has seen the reset"
sse_close probe

sse_open watcher
wait_until 20 sse_has watcher snapshot
ok $? "the watcher has its snapshot before the stampede"
v0=$(sse_data watcher snapshot | jq --arg id "$ITEM" '.items[] | select(.id == $id) | .version')
is "$(sse_data watcher snapshot | jq --arg id "$ITEM" '.items[] | select(.id == $id) | .quantity')" 50 \
    "the snapshot shows a stock of 50"
is "$v0" "$(stack_sql "SELECT version FROM lastitem.items WHERE id = '$ITEM'")" \
    "and the version the database holds"
n0=$(sse_frames watcher | grep -c .)

"$LI_SRCDIR/test/stampede" -n 200 -i "$ITEM" -u "$BASE_URL" >"$TEST_DIR/stampede.out" 2>&1
ok $? "the stampede's own checks hold (50 sold, invariant)"
sed 's/^/#   /' "$TEST_DIR/stampede.out"

events_sync watcher
ok $? "the watcher has caught up with a change made after the stampede"

q_db=$(stack_sql "SELECT quantity FROM lastitem.items WHERE id = '$ITEM'")
v_db=$(stack_sql "SELECT version FROM lastitem.items WHERE id = '$ITEM'")
orders_db=$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE item_id = '$ITEM'")
is "$orders_db" 50 "the database holds 50 orders"
is "$q_db" 0 "and no stock"

sse_frames watcher | tail -n +$((n0 + 1)) >"$TEST_DIR/after"
items=$(awk -F'\t' '$1 == "item" { print $3 }' "$TEST_DIR/after" | jq -c --arg id "$ITEM" 'select(.id == $id)')
n_items=$(echo "$items" | grep -c .)
[ "$n_items" -ge 1 ] && [ "$n_items" -le $((v_db - v0)) ]
ok $? "at most one item event per committed change ($n_items for $((v_db - v0)) versions)"
diag "$n_items item events for $((v_db - v0)) changes: the rest superseded inside their tick"
is "$(echo "$items" | jq .version | awk 'NR > 1 && $1 <= prev { bad = 1 } { prev = $1 } END { print bad ? "no" : "yes" }')" \
    yes "the versions rise strictly"
[ "$(echo "$items" | head -1 | jq .version)" -gt "$v0" ]
ok $? "from past the snapshot's"
is "$(echo "$items" | jq .quantity | awk 'NR > 1 && $1 >= prev { bad = 1 } { prev = $1 } END { print bad ? "no" : "yes" }')" \
    yes "the quantities fall strictly"
is "$(echo "$items" | tail -1 | jq -c '[.quantity, .version]')" "[$q_db,$v_db]" \
    "the last item event is the database's final quantity and version"

orders=$(awk -F'\t' '$1 == "order" { print $3 }' "$TEST_DIR/after")
is "$(echo "$orders" | grep -c .)" "$orders_db" "one order event per order"
is "$(echo "$orders" | jq -r .id | sort -n | paste -sd' ')" \
    "$(stack_sql "SELECT string_agg(id::text, ' ' ORDER BY id) FROM lastitem.orders WHERE item_id = '$ITEM'")" \
    "their ids are the database's orders, each once"
is "$(echo "$orders" | jq -r 'select(.item_id != "'"$ITEM"'" or .quantity != 1 or (.buyer | startswith("stampede-") | not)) | .id')" "" \
    "each is an order of one $ITEM by a stampede buyer"
seqs=$(awk -F'\t' '$2 != "" { sub(/.*-/, "", $2); print $2 }' "$TEST_DIR/after")
is "$(echo "$seqs" | awk 'NR > 1 && $1 <= prev { bad = 1 } { prev = $1 } END { print bad ? "no" : "yes" }')" \
    yes "event ids only grow"
is "$(sse_count watcher snapshot)" 1 "the watcher got no second snapshot"
sse_alive watcher
ok $? "and is still connected"

done_testing
