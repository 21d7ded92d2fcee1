# drops_items_api — items created and changed through the API, and every
# bad form of every new input:
#   * POST /api/items and PATCH /api/items/{id} need the admin token when
#     the pool has one (401); an existing id is 409 conflict; a restock adds
#     to quantity and initial_quantity alike, and the stream shows it; reset
#     keeps created items at their initial_quantity;
#   * each malformed body, field, header or path of items, holds, confirm and
#     release is a problem+json 4xx and changes nothing in the database.
. "$LI_SRCDIR/test/lib.sh"

TOKEN="tok-$RANDOM$RANDOM"
LASTITEM_ADMIN_TOKEN=$TOKEN test_stack_up --workers 2 --expire-interval 0
test_events_up
AUTH=(-H "Authorization: Bearer $TOKEN")
JSON=(-H 'Content-Type: application/json')

patch_json() {  # patch_json PATH JSON [curl options…]
    local path=$1 json=$2
    shift 2
    http PATCH "$path" "${JSON[@]}" --data-binary "$json" "$@"
}

# ------------------------------------------------------------ the happy path
post_json /api/items '{"id":"drop","name":"The drop","quantity":3}'
is "$HTTP_STATUS/$(body_json .code)" "401/unauthorized" "creating an item without the token: 401"
is "$(header WWW-Authenticate)" 'Bearer realm="lastitem"' "with the Bearer challenge"
post_json /api/items '{"id":"drop","name":"The drop","description":"Only three.","image_url":"/img/drop.svg","quantity":3,"max_per_buyer":1}' "${AUTH[@]}"
is "$HTTP_STATUS" 201 "with it: 201"
is "$(header Location)" /api/items/drop "Location names the item"
is "$(body_json '[.id, .name, .description, .image_url, .quantity, .held, .initial_quantity, .max_per_buyer, .version] | map(tostring) | join(",")')" \
    "drop,The drop,Only three.,/img/drop.svg,3,0,3,1,1" "the item as created"
http GET /api/items/drop
is "$HTTP_STATUS/$(body_json .quantity)" "200/3" "GET finds it"
sse_open late
wait_until 10 sse_has late snapshot
is "$(sse_data late snapshot | jq -c '.items[] | select(.id == "drop")')" \
    '{"id":"drop","quantity":3,"held":0,"initial_quantity":3,"max_per_buyer":1,"version":1}' \
    "a new stream's snapshot has it"
before=$(db_snapshot)
post_json /api/items '{"id":"drop","name":"Another","quantity":9}' "${AUTH[@]}"
is "$HTTP_STATUS/$(body_json .code)" "409/conflict" "the same id again: 409 conflict"
is "$(db_snapshot)" "$before" "and nothing changed"

patch_json /api/items/drop '{"restock":2}'
is "$HTTP_STATUS/$(body_json .code)" "401/unauthorized" "a restock without the token: 401"
post_json /api/items/drop/purchase '{"buyer":"ana"}'
is "$HTTP_STATUS" 201 "one sold"
patch_json /api/items/drop '{"restock":5,"name":"The drop, again","max_per_buyer":null}' "${AUTH[@]}"
is "$HTTP_STATUS" 200 "a restock, a new name and no limit: 200"
is "$(body_json '[.name, .quantity, .initial_quantity, .max_per_buyer] | map(tostring) | join(",")')" \
    "The drop, again,7,8,null" "5 added to quantity and initial_quantity alike"
is "$(invariant drop)" ok "the invariant holds in the database"
wait_until 5 eval '[ "$(sse_data late item | grep -c "\"initial_quantity\":8")" -ge 1 ]'
ok $? "the stream shows the restock ($(sse_data late item | tail -1))"
patch_json /api/items/drop '{"description":"","image_url":"https://example.com/d.png"}' "${AUTH[@]}"
is "$HTTP_STATUS/$(body_json .description)/$(body_json .image_url)" "200//https://example.com/d.png" \
    "an empty description and an https image"
patch_json /api/items/nope '{"restock":1}' "${AUTH[@]}"
is "$HTTP_STATUS/$(body_json .code)" "404/not_found" "changing no such item: 404"
stack_sql "UPDATE lastitem.items SET quantity = quantity + 1999999990, initial_quantity = initial_quantity + 1999999990 WHERE id = 'drop'" >/dev/null
before=$(db_snapshot)
patch_json /api/items/drop '{"restock":10}' "${AUTH[@]}"
is "$HTTP_STATUS/$(body_json .code)" "409/conflict" "a restock past 2,000,000,000: 409 conflict"
is "$(db_snapshot)" "$before" "and nothing changed"
stack_sql "UPDATE lastitem.items SET quantity = quantity - 1999999990, initial_quantity = initial_quantity - 1999999990 WHERE id = 'drop'" >/dev/null

post_json /api/reset '' "${AUTH[@]}"
is "$HTTP_STATUS" 200 "reset"
is "$(stack_sql "SELECT quantity || ',' || initial_quantity FROM lastitem.items WHERE id = 'drop'")" "8,8" \
    "reset keeps the created item, at its initial_quantity (restock included)"

# ------------------------------------------------------------ bad forms
# refused METHOD PATH BODY STATUS CODE NAME [curl options…]: the request is
# a problem+json with that status and code, and the database is unchanged.
refused() {
    local method=$1 path=$2 body=$3 status=$4 code=$5 name=$6
    shift 6
    local before
    before=$(db_snapshot)
    http "$method" "$path" --data-binary "$body" "$@"
    is "$HTTP_STATUS/$(body_json .code)" "$status/$code" "$name: $status $code"
    is "$(header Content-Type)" application/problem+json "$name: problem+json"
    is "$(db_snapshot)" "$before" "$name: nothing changed"
}
long=$(printf 'x%.0s' $(seq 101))
longd=$(printf 'x%.0s' $(seq 1001))

c=(POST /api/items)
refused "${c[@]}" '' 400 bad_request "a new item with no body" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"name":"x"}' 400 bad_request "no id" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"Upper","name":"x"}' 400 bad_request "an id of the wrong shape" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":7,"name":"x"}' 400 bad_request "an id that is a number" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new"}' 400 bad_request "no name" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":""}' 400 bad_request "an empty name" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" "{\"id\":\"new\",\"name\":\"$long\"}" 400 bad_request "a name of 101 characters" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":"a\u0007b"}' 400 bad_request "a control character in the name" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" "{\"id\":\"new\",\"name\":\"x\",\"description\":\"$longd\"}" 400 bad_request "a description of 1001 characters" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":"x","image_url":"javascript:alert(1)"}' 400 bad_request "a javascript: image_url" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":"x","image_url":"//evil.example/x.png"}' 400 bad_request "an image_url of another host without a scheme" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":"x","image_url":"/a\"onerror=\"x"}' 400 bad_request "a quote in the image_url" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":"x","quantity":-1}' 400 bad_request "a negative quantity" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":"x","quantity":1.5}' 400 bad_request "a fractional quantity" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":"x","quantity":"3"}' 400 bad_request "a quantity in a string" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":"x","quantity":1000000001}' 400 bad_request "a quantity past 1,000,000,000" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":"x","max_per_buyer":0}' 400 bad_request "max_per_buyer 0" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":"x","max_per_buyer":"2"}' 400 bad_request "max_per_buyer in a string" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":"x","max_per_buyer":1000001}' 400 bad_request "max_per_buyer past 1,000,000" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '[1]' 400 bad_request "an array" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" "{'id':'new'}" 400 bad_request "single quotes" "${JSON[@]}" "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":"x"}' 415 unsupported_media_type "no application/json" -H 'Content-Type: text/plain' "${AUTH[@]}"
refused "${c[@]}" '{"id":"new","name":"x"}' 403 forbidden "cross-site" "${JSON[@]}" "${AUTH[@]}" -H 'Sec-Fetch-Site: cross-site'

p=(PATCH /api/items/drop)
refused "${p[@]}" '' 400 bad_request "a change with no body" "${JSON[@]}" "${AUTH[@]}"
refused "${p[@]}" '{}' 400 bad_request "a change of nothing" "${JSON[@]}" "${AUTH[@]}"
refused "${p[@]}" '{"restock":0}' 400 bad_request "restock 0" "${JSON[@]}" "${AUTH[@]}"
refused "${p[@]}" '{"restock":1000001}' 400 bad_request "restock past 1,000,000" "${JSON[@]}" "${AUTH[@]}"
refused "${p[@]}" '{"restock":"5"}' 400 bad_request "restock in a string" "${JSON[@]}" "${AUTH[@]}"
refused "${p[@]}" '{"quantity":5}' 400 bad_request "quantity set directly" "${JSON[@]}" "${AUTH[@]}"
refused "${p[@]}" '{"name":""}' 400 bad_request "an empty name" "${JSON[@]}" "${AUTH[@]}"
refused "${p[@]}" '{"max_per_buyer":-1}' 400 bad_request "a negative limit" "${JSON[@]}" "${AUTH[@]}"
refused "${p[@]}" '{"restock":1}' 415 unsupported_media_type "no application/json" "${AUTH[@]}"
refused PATCH /api/items/Drop '{"restock":1}' 404 not_found "an item id of the wrong shape" "${JSON[@]}" "${AUTH[@]}"
refused PUT /api/items/drop '{"restock":1}' 405 method_not_allowed "PUT" "${JSON[@]}" "${AUTH[@]}"
is "$(header Allow)" "GET, HEAD, PATCH" "  Allow: GET, HEAD, PATCH"

h=(POST /api/items/drop/holds)
refused "${h[@]}" '{"ttl_seconds":9}' 400 bad_request "ttl_seconds 9" "${JSON[@]}"
refused "${h[@]}" '{"ttl_seconds":901}' 400 bad_request "ttl_seconds 901" "${JSON[@]}"
refused "${h[@]}" '{"ttl_seconds":"120"}' 400 bad_request "ttl_seconds in a string" "${JSON[@]}"
refused "${h[@]}" '{"ttl_seconds":120.5}' 400 bad_request "a fractional ttl" "${JSON[@]}"
refused "${h[@]}" '{"quantity":0}' 400 bad_request "a hold of 0" "${JSON[@]}"
refused "${h[@]}" '{"quantity":101}' 400 bad_request "a hold of 101" "${JSON[@]}"
refused "${h[@]}" '{"buyer":""}' 400 bad_request "an empty buyer" "${JSON[@]}"
refused "${h[@]}" '{"strategy":"greedy"}' 400 bad_request "no such strategy" "${JSON[@]}"
refused "${h[@]}" '{"strategy":"naive"}' 403 forbidden "naive without --allow-unsafe" "${JSON[@]}"
refused "${h[@]}" '{}' 400 bad_request "a bad Idempotency-Key" "${JSON[@]}" -H 'Idempotency-Key: a b'
refused "${h[@]}" 'not json' 400 bad_request "not JSON" "${JSON[@]}"
refused "${h[@]}" '{}' 415 unsupported_media_type "no application/json"
refused POST /api/items/nope/holds '{}' 404 not_found "a hold of no such item" "${JSON[@]}"
refused GET /api/items/drop/holds '' 405 method_not_allowed "GET holds"

post_json /api/items/drop/holds '{"buyer":"ana"}'
hold=$(body_json .hold.id)
refused POST "/api/holds/$hold/confirm" '{"buyer":""}' 400 bad_request "a confirm by an empty buyer" "${JSON[@]}"
refused POST "/api/holds/$hold/confirm" '{"buyer":7}' 400 bad_request "a confirm by a number" "${JSON[@]}"
refused POST "/api/holds/$hold/confirm" '{"buyer":"ana"}' 415 unsupported_media_type "a confirm without application/json"
refused POST "/api/holds/$hold/confirm" '' 403 forbidden "a confirm by anonymous" "${JSON[@]}"
refused POST /api/holds/0/confirm '{"buyer":"ana"}' 404 not_found "hold id 0" "${JSON[@]}"
refused POST /api/holds/01/confirm '{"buyer":"ana"}' 404 not_found "a hold id with a leading zero" "${JSON[@]}"
refused GET /api/holds/abc '' 404 not_found "a hold id that is no number"
refused DELETE "/api/holds/$hold" '{"buyer":"ana"}' 415 unsupported_media_type "a release without application/json"
refused DELETE "/api/holds/$hold" '{"buyer":"ana\u0000"}' 400 bad_request "a release by a buyer with NUL" "${JSON[@]}"
refused PATCH "/api/holds/$hold" '{}' 405 method_not_allowed "PATCH a hold" "${JSON[@]}"
is "$(header Allow)" "GET, HEAD, DELETE" "  Allow: GET, HEAD, DELETE"
refused GET "/api/holds/$hold/confirm" '' 405 method_not_allowed "GET a confirm"
is "$(invariant_all)" ok "the invariant holds in the database"

done_testing
