# drops_holds — holds, one at a time and in a stampede:
#   * a hold takes units from quantity into held; confirm makes the order
#     (again: the same order, replayed), release gives the units back;
#     another buyer may do neither (403); a released hold cannot be
#     confirmed (409 conflict); an Idempotency-Key holds once;
#   * for each safe strategy, 200 buyers hold at once on a stock of 5:
#     exactly 5 holds are active, the others heard sold_out;
#   * the invariant initial = quantity + held + sold, and held = the units
#     of active holds, checked in the database after every step.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 4 --expire-interval 0

check_invariant() {
    is "$(invariant_all)" ok "$1: the invariant holds in the database"
}

post_json /api/items '{"id":"drop","name":"The drop","quantity":3}'
is "$HTTP_STATUS" 201 "an item for the drop"

# One hold, confirmed.
post_json /api/items/drop/holds '{"quantity":2,"buyer":"ana","ttl_seconds":60}'
is "$HTTP_STATUS" 201 "a hold: 201"
hold=$(body_json .hold.id)
is "$(header Location)" "/api/holds/$hold" "Location names the hold"
is "$(body_json '.hold | [.item_id, .quantity, .buyer, .status] | join(",")')" "drop,2,ana,active" \
    "the hold says what, how many, whose, active"
body_json .hold.expires_at | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}Z$'
ok $? "expires_at is RFC 3339 UTC with microseconds"
is "$(body_json '.item | [.quantity, .held] | join(",")')" "1,2" "the item: 1 left, 2 held"
is "$(stack_sql "SELECT round(extract(epoch FROM expires_at - created_at)) FROM lastitem.holds WHERE id = $hold")" 60 \
    "it expires ttl_seconds after it was made"
check_invariant "after the hold"

http GET "/api/holds/$hold"
is "$HTTP_STATUS/$(body_json .hold.status)" "200/active" "GET the hold: active"

post_json "/api/holds/$hold/confirm" '{"buyer":"bob"}'
is "$HTTP_STATUS/$(body_json .code)" "403/forbidden" "another buyer may not confirm it"
http DELETE "/api/holds/$hold" -H 'Content-Type: application/json' --data-binary '{"buyer":"bob"}'
is "$HTTP_STATUS/$(body_json .code)" "403/forbidden" "nor release it"

post_json "/api/holds/$hold/confirm" '{"buyer":"ana"}'
is "$HTTP_STATUS" 201 "its buyer confirms it: 201"
order=$(body_json .order.id)
is "$(header Location)" "/api/orders/$order" "Location names the order"
is "$(body_json '.order | [.item_id, .quantity, .buyer] | join(",")')" "drop,2,ana" "the order is the hold's"
is "$(body_json '.item | [.quantity, .held] | join(",")')" "1,0" "the item: 1 left, none held"
is "$(stack_sql "SELECT status || ',' || order_id FROM lastitem.holds WHERE id = $hold")" "confirmed,$order" \
    "the hold is confirmed, with its order"
check_invariant "after the confirm"
post_json "/api/holds/$hold/confirm" '{"buyer":"ana"}'
is "$HTTP_STATUS/$(body_json .order.id)/$(header Idempotent-Replayed)" "201/$order/true" \
    "confirming again answers the same order"
http DELETE "/api/holds/$hold" -H 'Content-Type: application/json' --data-binary '{"buyer":"ana"}'
is "$HTTP_STATUS/$(body_json .code)" "409/conflict" "a confirmed hold cannot be released"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE item_id = 'drop'")" 1 "one order"

# One hold, released.
post_json /api/items/drop/holds '{"buyer":"cy"}'
is "$HTTP_STATUS/$(body_json .hold.quantity)" "201/1" "a hold of the default quantity, 1"
hold=$(body_json .hold.id)
is "$(stack_sql "SELECT round(extract(epoch FROM expires_at - created_at)) FROM lastitem.holds WHERE id = $hold")" 120 \
    "the default ttl is 120 s"
post_json /api/items/drop/holds '{"buyer":"dee"}'
is "$HTTP_STATUS/$(body_json .code)" "409/sold_out" "nothing left to hold: sold_out"
http DELETE "/api/holds/$hold" -H 'Content-Type: application/json' --data-binary '{"buyer":"cy"}'
is "$HTTP_STATUS/$(body_json .hold.status)" "200/released" "its buyer releases it"
is "$(body_json '.item | [.quantity, .held] | join(",")')" "1,0" "the unit is back"
check_invariant "after the release"
http DELETE "/api/holds/$hold" -H 'Content-Type: application/json' --data-binary '{"buyer":"cy"}'
is "$HTTP_STATUS/$(body_json .hold.status)" "200/released" "releasing again: the same answer"
post_json "/api/holds/$hold/confirm" '{"buyer":"cy"}'
is "$HTTP_STATUS/$(body_json .code)" "409/conflict" "a released hold cannot be confirmed"
http GET "/api/holds/$hold"
is "$HTTP_STATUS/$(body_json .hold.status)" "200/released" "GET says released"
http GET /api/holds/999999
is "$HTTP_STATUS/$(body_json .code)" "404/not_found" "no such hold: 404"
post_json /api/holds/999999/confirm '{"buyer":"cy"}'
is "$HTTP_STATUS/$(body_json .code)" "404/not_found" "confirming no such hold: 404"
check_invariant "after the refusals"

# Idempotency-Key: the same hold once.
post_json /api/items/drop/holds '{"buyer":"eve"}' -H 'Idempotency-Key: k1'
is "$HTTP_STATUS" 201 "a hold with a key"
hold=$(body_json .hold.id)
post_json /api/items/drop/holds '{"buyer":"eve"}' -H 'Idempotency-Key: k1'
is "$HTTP_STATUS/$(body_json .hold.id)/$(header Idempotent-Replayed)" "201/$hold/true" \
    "sent again: the same hold, replayed"
post_json /api/items/drop/holds '{"buyer":"eve","quantity":2}' -H 'Idempotency-Key: k1'
is "$HTTP_STATUS/$(body_json .code)" "422/idempotency_key_reused" "the key for another hold: 422"
is "$(stack_sql "SELECT count(*) FROM lastitem.holds WHERE buyer = 'eve'")" 1 "one hold in the database"
check_invariant "after the key"

# The stampede: 200 buyers hold at once on a stock of 5.
for s in pessimistic atomic optimistic batched; do
    post_json /api/reset '{"quantity":5}'
    post_many 200 /api/items/drop/holds "{\"buyer\":\"$s-@N@\",\"strategy\":\"$s\"}"
    is "$(many_count 201)" 5 "$s: 200 holds at once on 5: exactly 5 answered 201"
    is "$(many_count 409 sold_out)" 195 "$s: the other 195 heard sold_out"
    is "$(stack_sql "SELECT count(*) || ',' || sum(quantity) FROM lastitem.holds WHERE item_id = 'drop' AND status = 'active'")" "5,5" \
        "$s: exactly 5 active holds in the database"
    is "$(stack_sql "SELECT quantity || ',' || held FROM lastitem.items WHERE id = 'drop'")" "0,5" \
        "$s: none left, 5 held"
    check_invariant "$s: after the stampede"
done

# Reset keeps the created item and ends every hold.
post_json /api/reset ''
is "$HTTP_STATUS" 200 "reset"
is "$(stack_sql "SELECT quantity || ',' || held || ',' || initial_quantity FROM lastitem.items WHERE id = 'drop'")" "5,0,5" \
    "reset keeps the created item, back to its initial stock, none held"
is "$(stack_sql "SELECT count(*) FROM lastitem.holds")" 0 "and no holds"
check_invariant "after the reset"
grep -q '" 50[0-9] ' "$STACK_DIR/nginx/access.log"
ok $((! $?)) "no 5xx in nginx's access log"

done_testing
