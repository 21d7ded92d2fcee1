#!/usr/bin/env bash
# A sale before an audience, sent in flush ticks, loses nothing.
#   500 streams hold /api/events open through nginx (every other one with
#   ?orders=summary), then 32 buyers make 2,000 purchases of an item with a
#   stock of 1,000 (test/sse_fanout --stampede). Then:
#   * every stream ends on the database's final quantity and version;
#   * every stream that follows every order saw each of the 1,000 orders
#     exactly once; the `orders` summaries of every summary stream count
#     1,000 in all, and their units per item the 1,000 units sold;
#   * a stream that leaves in the middle of the burst and comes back with
#     its Last-Event-ID gets exactly the frames that a stream that stayed
#     was sent after that id: the same events, under the same ids, in the
#     same order, and no snapshot (a summary stream too);
#   * an item event that a newer one of the same item superseded inside
#     its tick is not sent: a stream gets fewer item events than changes.
. "$LI_SRCDIR/test/lib.sh"

N=500
PURCHASES=2000
STOCK=1000
ITEM=launch-hoodie
test_stack_up --workers 2
test_events_up


# events_after NAME ID: the stream's frames after the one with id ID (ID ""
# for all of them), leaving out retry, comments and snapshots.
events_after() {
    sse_frames "$1" | awk -F'\t' -v id="$2" '
        $1 == "retry" || $1 == "comment" || $1 == "snapshot" { next }
        go || id == "" { print }
        $2 == id { go = 1 }'
}
orders_seen() {  # orders_seen NAME: orders the stream saw (events or counts)
    sse_frames "$1" | awk -F'\t' '$1 == "order" { n++ }
        $1 == "orders" { if (match($3, /"count":[0-9]+/)) n += substr($3, RSTART + 8, RLENGTH - 8) }
        END { print n + 0 }'
}
more_orders() {  # more_orders NAME N: the stream saw more than N orders
    [ "$(orders_seen "$1")" -gt "$2" ]
}
at_version() {  # at_version NAME V: the stream has item version V of ITEM
    sse_has_item_version "$1" "$ITEM" "$2"
}

sse_open stay
sse_open away
sse_open stay_sum -G -d orders=summary
sse_open away_sum -G -d orders=summary
for s in stay away stay_sum away_sum; do
    wait_until 20 sse_has "$s" snapshot || bail "stream $s has no snapshot"
done
post_json /api/reset "{\"quantity\":$STOCK}"
is "$HTTP_STATUS" 200 "the stock is reset to $STOCK"
v_reset=$(stack_sql "SELECT version FROM lastitem.items WHERE id = '$ITEM'")
for s in stay away stay_sum away_sum; do
    wait_until 20 at_version "$s" "$v_reset" || bail "stream $s has not seen the reset"
done

port=${BASE_URL##*:}
"$LI_BUILDDIR/test/sse_fanout" --mode lastitem --connect "127.0.0.1:$port" -n "$N" \
    --procs 2 --src-base 2 --src-count 4 --connect-timeout 60 --settle 60 \
    --stampede "$PURCHASES" --buyers 32 --item "$ITEM" \
    --trigger "/api/items/$ITEM/purchase" \
    --summary-path "/api/events?orders=summary" --label check \
    >"$TEST_DIR/soak.line" 2>"$TEST_DIR/soak.log" &
FAN_PID=$!
TEST_EXTRA_PIDS+=("$FAN_PID")

# Leave in the middle of the burst, and come back while it goes on.
wait_until 120 more_orders away 50 && wait_until 20 more_orders away_sum 50
ok $? "the two leaving streams see the burst begin"
sse_close away
sse_close away_sum
L=$(sse_last_id away)
L_SUM=$(sse_last_id away_sum)
gone_at=$(orders_seen stay)
wait_until 60 more_orders stay $((gone_at + 100))
diag "they left after $L and $L_SUM; back $(( $(orders_seen stay) - gone_at )) orders later"
sse_open back -H "Last-Event-ID: $L"
sse_open back_sum -H "Last-Event-ID: $L_SUM" -G -d orders=summary

wait "$FAN_PID"
ok $? "sse_fanout ran the sale and its $N streams"
LINE=$(grep '^SOAK ' "$TEST_DIR/soak.line")
diag "$LINE"
field() { echo "$LINE" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2; exit }'; }

v_db=$(stack_sql "SELECT version FROM lastitem.items WHERE id = '$ITEM'")
q_db=$(stack_sql "SELECT quantity FROM lastitem.items WHERE id = '$ITEM'")
orders_db=$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE item_id = '$ITEM'")
is "$q_db/$orders_db" "0/$STOCK" "the database sold the stock: 0 left, $STOCK orders"
is "$(field created)/$(field sold_out)/$(field other)" "$STOCK/$((PURCHASES - STOCK))/0" \
    "$STOCK purchases were 201, the rest 409"
is "$(field ready)" "$N" "all $N streams stayed open"
is "$(field at_zero)" "$N" "every stream ended on quantity 0"
is "$(field max_version)/$(field at_max_version)" "$v_db/$N" \
    "every stream ended on the database's version $v_db"
is "$(field orders_exact)" "$(field orders_streams)" \
    "each of the $(field orders_streams) streams following every order saw each order exactly once"
[ "$(field orders_streams)" -ge $((N / 2)) ]
ok $? "and they were half of them"
is "$(field summary_exact)" "$(field summary_streams)" \
    "each of the $(field summary_streams) summary streams counted $STOCK orders"
[ "$(field summary_streams)" -ge $((N / 2)) ]
ok $? "and they were the other half"

# The resumed streams: what the staying ones got after the same id.
for s in stay back stay_sum back_sum; do
    wait_until 30 at_version "$s" "$v_db" || diag "$s is not at version $v_db"
done
is "$(events_after back "" | md5sum)" "$(events_after stay "$L" | md5sum)" \
    "back with Last-Event-ID $L: exactly the frames the staying stream got after it"
is "$(sse_count back snapshot)" 0 "and no snapshot"
is "$(events_after back_sum "" | md5sum)" "$(events_after stay_sum "$L_SUM" | md5sum)" \
    "a summary stream back with $L_SUM: exactly the frames the staying one got after it"
is "$(sse_count back_sum snapshot)" 0 "and no snapshot"
is "$(sse_count back_sum order)" 0 "a summary stream gets no order event"
is "$(sse_data stay_sum orders | jq -s --arg id "$ITEM" 'map(.units[$id] // 0) | add')" "$STOCK" \
    "the summaries' units of $ITEM add up to the $STOCK sold"
is "$(sse_data stay_sum orders | jq -s 'map(select((.orders | length) > 5 or (.orders | length) > .count)) | length')" 0 \
    "each names at most 5 orders, and no more than it counts"
diag "a summary: $(sse_data stay_sum orders | head -1 | cut -c1-200)"
is "$(( $(orders_seen away) + $(orders_seen back) ))" "$STOCK" \
    "before leaving and after coming back, one stream saw each order once"
is "$(events_after stay "" | awk -F'\t' '$1 == "order" { print $3 }' | jq -r .id | sort -n | uniq -d)" "" \
    "the staying stream saw no order twice"

items=$(events_after stay "" | awk -F'\t' '$1 == "item" { print $3 }' | jq -c --arg id "$ITEM" 'select(.id == $id)' | grep -c .)
[ "$items" -lt $((v_db - v_reset)) ]
ok $? "superseded item events are not sent: $items item events for $((v_db - v_reset)) changes"
is "$(events_metric lastitem_events_clients_dropped_total)" 0 "no stream was dropped"

done_testing
