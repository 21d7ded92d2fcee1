# api_endpoints — every endpoint of doc/api.md answers as the contract says,
# through real nginx, the pool and PostgreSQL; reset needs the admin token.
. "$LI_SRCDIR/test/lib.sh"

TOKEN=s3cret-$$-token
printf '%s\n' "$TOKEN" >"${TMPDIR:-/tmp}/lastitem-token.$$"
test_stack_up --workers 2 --admin-token-file "${TMPDIR:-/tmp}/lastitem-token.$$"
rm -f "${TMPDIR:-/tmp}/lastitem-token.$$"

# ---- the page and its headers
http GET /
is "$HTTP_STATUS" 200 "GET / serves the page"
is "$(header Content-Type)" "text/html; charset=utf-8" "the page is HTML"
is "$(header X-Content-Type-Options)" nosniff "X-Content-Type-Options: nosniff"
header Content-Security-Policy | grep -q "default-src 'none'"
ok $? "a restrictive Content-Security-Policy"
header Server | grep -q '[0-9]'
ok $((! $?)) "the Server header names no version"

# ---- items
http GET /api/items
is "$HTTP_STATUS" 200 "GET /api/items"
is "$(header Content-Type)" "application/json; charset=utf-8" "items are JSON"
is "$(header Cache-Control)" no-store "API answers are not cached"
is "$(body_json '.items | length')" 3 "three demo items"
is "$(body_json '[.items[] | select(.initial_quantity == 1)] | length')" 1 "one of them is the last item"
is "$(body_json '.items[0] | keys_unsorted | join(",")')" \
    "id,name,description,image_url,quantity,held,initial_quantity,max_per_buyer,version" "an item has the fields of doc/api.md"
http HEAD /api/items
is "$HTTP_STATUS" 200 "HEAD /api/items"
http GET /api/items/charizard-1st-ed
is "$HTTP_STATUS" 200 "GET one item"
is "$(body_json .id)/$(body_json .quantity)/$(body_json .version)" "charizard-1st-ed/1/1" "its id, stock and version"

# ---- config and health
http GET /api/config
is "$HTTP_STATUS" 200 "GET /api/config"
is "$(body_json '.strategies | join(",")')" "pessimistic,atomic,optimistic,batched" "safe strategies only"
is "$(body_json .default_strategy)" pessimistic "default strategy"
is "$(body_json .unsafe_allowed)" false "naive not allowed"
is "$(body_json .reset_requires_token)" true "reset needs the token"
is "$(body_json .max_quantity)" 100 "max quantity"
http GET /api/health
is "$HTTP_STATUS" 200 "GET /api/health"
is "$(body_json .status)/$(body_json .database)" ok/ok "healthy"

# ---- a purchase
post_json /api/items/charizard-1st-ed/purchase '{"buyer":"ana"}'
is "$HTTP_STATUS" 201 "buying the last item: 201"
order_id=$(body_json .order.id)
is "$(header Location)" "/api/orders/$order_id" "Location names the order"
is "$(body_json '.order | [.item_id, .quantity, .buyer, .strategy] | join(",")')" \
    "charizard-1st-ed,1,ana,pessimistic" "the order says what was bought, by whom, how"
body_json .order.created_at | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$'
ok $? "created_at is RFC 3339 UTC with microseconds"
is "$(body_json '.item | [.id, .quantity, .version] | join(",")')" "charizard-1st-ed,0,2" \
    "the item after: 0 left, version 2"
is "$(stack_sql "SELECT quantity FROM lastitem.items WHERE id = 'charizard-1st-ed'")" 0 \
    "the database holds 0"

post_json /api/items/charizard-1st-ed/purchase '{"buyer":"bob"}'
is "$HTTP_STATUS" 409 "the next buyer: 409"
is "$(header Content-Type)" application/problem+json "sold out is problem+json"
is "$(body_json .code)" sold_out "code sold_out"
is "$(body_json .detail)" "charizard-1st-ed has 0 left" "detail says how many are left"
is "$(body_json .type)/$(body_json .status)/$(body_json .title)" "about:blank/409/Sold out" \
    "type, status and title of RFC 9457"

for s in atomic optimistic; do
    post_json /api/items/launch-hoodie/purchase "{\"strategy\":\"$s\",\"buyer\":\"s-$s\",\"quantity\":2}"
    is "$HTTP_STATUS/$(body_json .order.strategy)/$(body_json .order.quantity)" "201/$s/2" \
        "a purchase with strategy $s"
done
is "$(stack_sql "SELECT quantity FROM lastitem.items WHERE id = 'launch-hoodie'")" 46 \
    "both took their stock"
post_json /api/items/launch-hoodie/purchase ''
is "$HTTP_STATUS/$(body_json .order.buyer)/$(body_json .order.quantity)" "201/anonymous/1" \
    "an empty body buys one for anonymous"

# ---- orders
http GET /api/orders/"$order_id"
is "$HTTP_STATUS" 200 "GET one order"
is "$(body_json .id)/$(body_json .buyer)" "$order_id/ana" "the order bought"
http GET "/api/orders?item_id=charizard-1st-ed"
is "$(body_json '.orders | length')/$(body_json '.orders[0].id')" "1/$order_id" \
    "orders of one item"
http GET /api/orders
is "$(body_json '.orders | length')" 4 "all orders"
is "$(body_json '[.orders[].id] == ([.orders[].id] | sort | reverse)')" true "newest first"
newest=$(body_json '.orders[0].id')
http GET "/api/orders?limit=2"
is "$(body_json '.orders | length')" 2 "limit"
http GET "/api/orders?limit=500&before=$newest"
is "$(body_json '.orders | length')" 3 "before pages back"
is "$(body_json "[.orders[].id | select(. >= $newest)] | length")" 0 "only older orders"
http GET "/api/orders?item_id=no-such-item"
is "$HTTP_STATUS/$(body_json .code)" 404/not_found "orders of an unknown item: 404"

# ---- reset
before=$(db_snapshot)
http POST /api/reset -H 'Content-Type: application/json'
is "$HTTP_STATUS/$(body_json .code)" 401/unauthorized "reset without the token: 401"
header WWW-Authenticate | grep -q '^Bearer'
ok $? "401 says Bearer"
http POST /api/reset -H 'Content-Type: application/json' -H "Authorization: Bearer wrong-$TOKEN"
is "$HTTP_STATUS" 401 "a wrong token: 401"
http POST /api/reset -H 'Content-Type: application/json' -H "Authorization: Basic $TOKEN"
is "$HTTP_STATUS" 401 "the token in another scheme: 401"
is "$(db_snapshot)" "$before" "refused resets change nothing"

http POST /api/reset -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN"
is "$HTTP_STATUS" 200 "reset with the token"
is "$(body_json '[.items[] | .quantity == .initial_quantity] | all')" true "every item back to its initial stock"
is "$(body_json '.items[] | select(.id == "charizard-1st-ed") | .version')" 3 "reset is a change: version 3"
is "$(stack_sql 'SELECT count(*) FROM lastitem.orders')" 0 "orders gone"

post_json /api/reset '{"quantity":7}' -H "Authorization: Bearer $TOKEN"
is "$HTTP_STATUS" 200 "reset to 7"
is "$(body_json '[.items[] | select(.quantity == 7 and .initial_quantity == 7)] | length')" 3 \
    "every item has 7, and 7 is its initial stock"

for item in charizard-1st-ed golden-ticket launch-hoodie; do
    is "$(invariant "$item")" ok "invariant holds for $item"
done

done_testing
