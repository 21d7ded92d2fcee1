# drops_limit — a limit per buyer holds under any concurrency, for every
# safe strategy:
#   * 200 purchases at once by one buyer of an item with max_per_buyer 2
#     (and plenty of stock): exactly 2 succeed, 198 hear limit_reached;
#   * 100 holds and 100 purchases at once by one buyer: 2 units in all,
#     orders and active holds together;
#   * the limit counts what a buyer already owns, a quantity past it is
#     refused at once, other buyers are not affected, and without a limit
#     (PATCH max_per_buyer null) the buyer may buy again;
#   * the invariant checked in the database after every step.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 4 --expire-interval 0

check_invariant() {
    is "$(invariant_all)" ok "$1: the invariant holds in the database"
}
owns() {  # owns BUYER: units in orders and active holds of item "limited"
    stack_sql "SELECT (SELECT coalesce(sum(quantity), 0) FROM lastitem.orders
                        WHERE item_id = 'limited' AND buyer = '$1')
                    + (SELECT coalesce(sum(quantity), 0) FROM lastitem.holds
                        WHERE item_id = 'limited' AND buyer = '$1' AND status = 'active')"
}

post_json /api/items '{"id":"limited","name":"Limited","quantity":1000,"max_per_buyer":2}'
is "$HTTP_STATUS/$(body_json .max_per_buyer)" "201/2" "an item with max_per_buyer 2"

for s in pessimistic atomic optimistic batched; do
    post_json /api/reset ''
    post_many 200 /api/items/limited/purchase "{\"buyer\":\"ana\",\"strategy\":\"$s\"}"
    is "$(many_count 201)" 2 "$s: 200 purchases at once by one buyer: exactly 2 answered 201"
    is "$(many_count 409 limit_reached)" 198 "$s: the other 198 heard limit_reached"
    is "$(owns ana)" 2 "$s: the buyer owns 2 in the database"
    check_invariant "$s: after the purchases"

    # Holds and purchases at once, by another buyer.
    MANY_DIR=$TEST_DIR/holds post_many 100 /api/items/limited/holds \
        "{\"buyer\":\"bo\",\"strategy\":\"$s\"}" &
    holds_pid=$!
    post_many 100 /api/items/limited/purchase "{\"buyer\":\"bo\",\"strategy\":\"$s\"}"
    wait "$holds_pid"
    got=$(( $(many_count 201) + $(MANY_DIR=$TEST_DIR/holds many_count 201) ))
    is "$got" 2 "$s: 100 holds and 100 purchases at once by one buyer: exactly 2 answered 201"
    is "$(owns bo)" 2 "$s: the buyer owns 2, orders and holds together"
    check_invariant "$s: after holds and purchases"
done

post_json /api/reset ''
post_json /api/items/limited/purchase '{"buyer":"cy"}'
is "$HTTP_STATUS" 201 "one bought"
post_json /api/items/limited/purchase '{"buyer":"cy","quantity":2}'
is "$HTTP_STATUS/$(body_json .code)" "409/limit_reached" "two more would pass the limit: limit_reached"
body_json .detail | grep -q 'at most 2 of limited.* has 1'
ok $? "the detail says the limit and what the buyer has ($(body_json .detail))"
post_json /api/items/limited/holds '{"buyer":"cy","quantity":2}'
is "$HTTP_STATUS/$(body_json .code)" "409/limit_reached" "nor may a hold pass it"
post_json /api/items/limited/purchase '{"buyer":"dee","quantity":3}'
is "$HTTP_STATUS/$(body_json .code)" "409/limit_reached" "3 at once is past a limit of 2"
post_json /api/items/limited/purchase '{"buyer":"dee","quantity":2}'
is "$HTTP_STATUS" 201 "another buyer is not affected"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE item_id = 'limited'")" 2 "two orders"
check_invariant "after the refusals"

# A released hold no longer counts.
post_json /api/items/limited/holds '{"buyer":"cy"}'
hold=$(body_json .hold.id)
post_json /api/items/limited/purchase '{"buyer":"cy"}'
is "$HTTP_STATUS/$(body_json .code)" "409/limit_reached" "an active hold counts"
http DELETE "/api/holds/$hold" -H 'Content-Type: application/json' --data-binary '{"buyer":"cy"}'
post_json /api/items/limited/purchase '{"buyer":"cy"}'
is "$HTTP_STATUS" 201 "a released one does not"

http PATCH /api/items/limited -H 'Content-Type: application/json' --data-binary '{"max_per_buyer":null}'
is "$HTTP_STATUS/$(body_json .max_per_buyer)" "200/null" "the limit removed"
post_json /api/items/limited/purchase '{"buyer":"cy","quantity":5}'
is "$HTTP_STATUS" 201 "then the buyer may buy more"
check_invariant "at the end"

# Items without a limit take no per-buyer lock: the demo's stampede stays
# as it was (purchase_stampede.sh); one buyer may buy them all.
post_json /api/reset ''
post_json /api/items/golden-ticket/purchase '{"buyer":"ana","quantity":5}'
is "$HTTP_STATUS" 201 "an item without a limit: one buyer buys all 5"

done_testing
