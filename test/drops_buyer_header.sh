# drops_buyer_header — with --buyer-header, the buyer is who the shop's
# proxy says, not what the body types:
#   * purchases, holds, confirms and releases take the buyer from the
#     header; a body naming the same buyer passes, another one is 403; no
#     header (or a malformed one) is 403; nothing changes when refused;
#   * so the limit per buyer is per person: one person's 100 purchases at
#     once, each typing a different buyer name, cannot pass it;
#   * without the option the body's buyer is used, and the header ignored.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 4 --buyer-header X-Shop-User --expire-interval 0
JSON=(-H 'Content-Type: application/json')

post_json /api/items '{"id":"limited","name":"Limited","quantity":100,"max_per_buyer":2}'
is "$HTTP_STATUS" 201 "an item with a limit of 2"

post_json /api/items/limited/purchase '{}' -H 'X-Shop-User: ana'
is "$HTTP_STATUS/$(body_json .order.buyer)" "201/ana" "a purchase is the header's buyer's"
post_json /api/items/limited/purchase '{"buyer":"ana"}' -H 'X-Shop-User: ana'
is "$HTTP_STATUS" 201 "a body naming the same buyer passes"
before=$(db_snapshot)
post_json /api/items/limited/purchase '{"buyer":"bob"}' -H 'X-Shop-User: ana'
is "$HTTP_STATUS/$(body_json .code)" "403/forbidden" "a body naming someone else: 403"
post_json /api/items/limited/purchase '{"buyer":"ana"}'
is "$HTTP_STATUS/$(body_json .code)" "403/forbidden" "no header: 403"
post_json /api/items/limited/purchase '{}' -H 'X-Shop-User;'
is "$HTTP_STATUS/$(body_json .code)" "403/forbidden" "an empty header: 403"
post_json /api/items/limited/holds '{"buyer":"bob"}' -H 'X-Shop-User: ana'
is "$HTTP_STATUS/$(body_json .code)" "403/forbidden" "a hold for someone else: 403"
is "$(db_snapshot)" "$before" "none of them changed anything"

# One person, 100 purchases at once, each body a different name.
MANY_HEADER='X-Shop-User: cy' post_many 100 /api/items/limited/purchase '{}'
diag "$(sort "$TEST_DIR/many/codes" | uniq -c | tr "\n" " ") $(cat "$TEST_DIR"/many/[0-9]* | grep -o "\"code\":\"[a-z_]*\"" | sort | uniq -c | tr "\n" " ")"
MANY_HEADER='X-Shop-User: cy' MANY_DIR=$TEST_DIR/typed \
    post_many 100 /api/items/limited/purchase '{"buyer":"cy-@N@"}'
is "$(many_count 201)" 2 "one person's 100 purchases at once: 2 answered 201"
is "$(MANY_DIR=$TEST_DIR/typed many_count 403 forbidden)" 100 "and typing 100 other names got 403 each"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE buyer LIKE 'cy%'")" 2 "cy has 2 orders, no more"

# Holds: only their buyer may confirm or release them.
post_json /api/items/limited/holds '{}' -H 'X-Shop-User: dee'
is "$HTTP_STATUS/$(body_json .hold.buyer)" "201/dee" "a hold is the header's buyer's"
hold=$(body_json .hold.id)
post_json "/api/holds/$hold/confirm" '{}' -H 'X-Shop-User: eve'
is "$HTTP_STATUS/$(body_json .code)" "403/forbidden" "another signed-in buyer cannot confirm it"
post_json "/api/holds/$hold/confirm" '{"buyer":"dee"}' -H 'X-Shop-User: eve'
is "$HTTP_STATUS/$(body_json .code)" "403/forbidden" "not even by typing its buyer"
http DELETE "/api/holds/$hold" "${JSON[@]}" --data-binary '{}' -H 'X-Shop-User: eve'
is "$HTTP_STATUS/$(body_json .code)" "403/forbidden" "nor release it"
post_json "/api/holds/$hold/confirm" '' -H 'X-Shop-User: dee'
is "$HTTP_STATUS/$(body_json .order.buyer)" "201/dee" "its buyer confirms it"
is "$(invariant_all)" ok "the invariant holds in the database"

# Without the option, the header means nothing.
pool_stop
pool_start --drain-timeout 5 --expire-interval 0
post_json /api/items/limited/purchase '{"buyer":"fay"}' -H 'X-Shop-User: ana'
is "$HTTP_STATUS/$(body_json .order.buyer)" "201/fay" "without --buyer-header, the body's buyer"

done_testing
