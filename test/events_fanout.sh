#!/usr/bin/env bash
# Every watcher hears every purchase.
#   200 clients stream /api/events through nginx at once. One purchase later,
#   each of them has received its `item` event (the stock and version the
#   database holds) and its `order` event (the order the purchase created),
#   byte for byte the same frames, under the same ids.
. "$LI_SRCDIR/test/lib.sh"

N=200
test_stack_up --workers 2
test_events_up

sse_open_many fan "$N"

# clients_with PATTERN: how many of the N streams hold PATTERN.
clients_with() {
    grep -l -F -- "$1" "$TEST_DIR"/fan[0-9]*.sse 2>/dev/null | wc -l
}
all_have() {
    [ "$(clients_with "$1")" -eq "$N" ]
}

wait_until 60 all_have "event: snapshot"
ok $? "all $N clients have their snapshot"
is "$(events_metric lastitem_events_clients)" "$N" "the daemon counts $N streaming clients"

post_json /api/items/golden-ticket/purchase '{"buyer":"fanout"}'
is "$HTTP_STATUS" 201 "one purchase"
order_id=$(body_json .order.id)
v=$(stack_sql "SELECT version FROM lastitem.items WHERE id = 'golden-ticket'")
q=$(stack_sql "SELECT quantity FROM lastitem.items WHERE id = 'golden-ticket'")
i=$(stack_sql "SELECT initial_quantity FROM lastitem.items WHERE id = 'golden-ticket'")
item_data="{\"id\":\"golden-ticket\",\"quantity\":$q,\"held\":0,\"initial_quantity\":$i,\"max_per_buyer\":null,\"version\":$v}"

wait_until 60 all_have "data: $item_data"
ok $? "all $N clients got the item event $item_data"
wait_until 60 all_have "\"id\":$order_id,"
ok $? "all $N clients got the order event of order $order_id"

# Each client's events after its snapshot, as "event id data" lines: the
# same for every one of them, and what the purchase made.
for ((i = 1; i <= N; i++)); do
    sse_frames "fan$i" | awk -F'\t' '$1 != "snapshot" && $1 != "retry" && $1 != "comment"' |
        md5sum
done | sort | uniq -c >"$TEST_DIR/digests"
is "$(wc -l <"$TEST_DIR/digests")" 1 "every client received the same events, under the same ids"
first=$(sse_frames fan1 | awk -F'\t' '$1 == "item" || $1 == "order"')
is "$(echo "$first" | cut -f1 | paste -sd' ')" "item order" "an item event, then an order event"
is "$(echo "$first" | awk -F'\t' '$1 == "order" { print $3 }' | jq -c '[.id, .item_id, .buyer, .quantity]')" \
    "[$order_id,\"golden-ticket\",\"fanout\",1]" "the order event is the purchase's order"
is "$(echo "$first" | awk -F'\t' '$1 == "order" { print $3 }' | jq -c .)" \
    "$(stack_sql "SELECT lastitem.order_json(o) FROM lastitem.orders o WHERE id = $order_id" | jq -c .)" \
    "as the database renders it"
is "$(events_metric lastitem_events_clients)" "$N" "all $N are still streaming"
is "$(events_metric lastitem_events_clients_dropped_total)" 0 "none was dropped"

done_testing
