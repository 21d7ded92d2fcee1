# api_errors — every malformed request gets the problem+json 4xx of doc/api.md,
# through real nginx and the pool, and leaves the database as it was.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 2

# expect STATUS CODE NAME: checks the last answer is that problem, as
# problem+json, and that the database did not change.
expect() {
    is "$HTTP_STATUS/$(body_json .code)" "$1/$2" "$3"
    is "$(header Content-Type)" application/problem+json "  … as problem+json"
    is "$(body_json .status)" "$1" "  … whose body names the status"
    is "$(db_snapshot)" "$snapshot" "  … and nothing changed"
}

PURCHASE=/api/items/golden-ticket/purchase
snapshot=$(db_snapshot)

# ---- 400: the body
post_json $PURCHASE '{"quantity":'
expect 400 bad_request "truncated JSON"
body_json .detail | grep -q JSON
ok $? "  … and the detail says it is not valid JSON"
post_json $PURCHASE '{"quantity":1} trailing'
expect 400 bad_request "JSON followed by garbage"
post_json $PURCHASE '[{"quantity":1}]'
expect 400 bad_request "an array instead of an object"
post_json $PURCHASE "{'quantity':1}"
expect 400 bad_request "single-quoted JSON"
post_json $PURCHASE '{"quantity":"1"}'
expect 400 bad_request "quantity as a string"
post_json $PURCHASE '{"quantity":1.5}'
expect 400 bad_request "fractional quantity"
post_json $PURCHASE '{"quantity":0}'
expect 400 bad_request "quantity 0"
post_json $PURCHASE '{"quantity":101}'
expect 400 bad_request "quantity 101"
post_json $PURCHASE '{"quantity":-3}'
expect 400 bad_request "negative quantity"
post_json $PURCHASE '{"quantity":18446744073709551617}'
expect 400 bad_request "quantity past 64 bits"
post_json $PURCHASE '{"buyer":123}'
expect 400 bad_request "buyer as a number"
post_json $PURCHASE '{"buyer":""}'
expect 400 bad_request "empty buyer"
post_json $PURCHASE "{\"buyer\":\"$(printf 'x%.0s' $(seq 65))\"}"
expect 400 bad_request "65-character buyer"
post_json $PURCHASE '{"buyer":"tab\there"}'
expect 400 bad_request "control character in buyer"
post_json $PURCHASE "$(printf '{"buyer":"\xff\xfe"}')"
expect 400 bad_request "invalid UTF-8"
post_json $PURCHASE '{"strategy":"yolo"}'
expect 400 bad_request "unknown strategy"
post_json $PURCHASE '{"strategy":null}'
expect 400 bad_request "null strategy"

# ---- 400: headers and query
post_json $PURCHASE '{}' -H 'Idempotency-Key: has space'
expect 400 bad_request "Idempotency-Key with a space"
post_json $PURCHASE '{}' -H "Idempotency-Key: $(printf 'k%.0s' $(seq 256))"
expect 400 bad_request "256-character Idempotency-Key"
post_json $PURCHASE '{}' -H "$(printf 'Idempotency-Key: caf\xc3\xa9')"
expect 400 bad_request "non-ASCII Idempotency-Key"
http GET "/api/orders?limit=0"
expect 400 bad_request "orders limit 0"
http GET "/api/orders?limit=501"
expect 400 bad_request "orders limit 501"
http GET "/api/orders?item_id=x%27%20OR%201%3D1"
expect 400 bad_request "SQL in the item_id parameter"
http GET "/api/orders?before=abc"
expect 400 bad_request "orders before abc"
post_json /api/reset '{"quantity":-1}'
expect 400 bad_request "reset to a negative stock"
post_json /api/reset '{"quantity":1000000001}'
expect 400 bad_request "reset past a billion"

# ---- 404
post_json /api/items/no-such-item/purchase '{}'
expect 404 not_found "purchase of an unknown item"
http GET /api/items/no-such-item
expect 404 not_found "an unknown item"
http GET "/api/items/Upper-Case"
expect 404 not_found "an id outside [a-z0-9-]"
http GET "/api/items/x'%20OR%20'1'='1"
expect 404 not_found "SQL in the item path"
post_json "/api/items/golden-ticket';DROP%20TABLE%20lastitem.orders;--/purchase" '{}'
expect 404 not_found "SQL in the purchase path"
http GET /api/orders/999999
expect 404 not_found "an unknown order"
http GET /api/orders/abc
expect 404 not_found "a malformed order id"
http GET /api/nothing-here
expect 404 not_found "an unknown path"

# ---- 405, with Allow
http GET $PURCHASE
expect 405 method_not_allowed "GET on purchase"
is "$(header Allow)" POST "  … Allow: POST"
http DELETE /api/items
expect 405 method_not_allowed "DELETE on items"
is "$(header Allow)" "GET, HEAD, POST" "  … Allow: GET, HEAD, POST"
http PUT /api/reset
expect 405 method_not_allowed "PUT on reset"

# ---- 413, from the pool and from nginx
post_json $PURCHASE "{\"buyer\":\"a\",\"pad\":\"$(head -c 5000 /dev/zero | tr '\0' x)\"}"
expect 413 payload_too_large "a 5 KB body (the pool's limit is 4 KiB)"
post_json $PURCHASE "{\"pad\":\"$(head -c 40000 /dev/zero | tr '\0' x)\"}"
expect 413 payload_too_large "a 40 KB body (stopped by nginx)"

# ---- 415
http POST $PURCHASE -H 'Content-Type: text/plain' --data-binary '{"quantity":1}'
expect 415 unsupported_media_type "a text/plain body"
http POST $PURCHASE --data-binary '{"quantity":1}'
expect 415 unsupported_media_type "a form-encoded body"

# ---- 409 contention: make every compare-and-swap miss. A BEFORE UPDATE
# trigger that returns NULL skips the row, as if another buyer had won.
stack_sql "CREATE FUNCTION public.skip_update() RETURNS trigger LANGUAGE plpgsql AS
             \$\$ BEGIN RETURN NULL; END \$\$;
           CREATE TRIGGER always_lose BEFORE UPDATE ON lastitem.items
             FOR EACH ROW EXECUTE FUNCTION public.skip_update();" >/dev/null
post_json $PURCHASE '{"strategy":"optimistic"}'
expect 409 contention "optimistic gives up after its attempts"
body_json .detail | grep -q "64 attempts"
ok $? "  … after 64 attempts, says the detail"
stack_sql "DROP TRIGGER always_lose ON lastitem.items; DROP FUNCTION public.skip_update();" >/dev/null

# ---- strings with quotes and SQL are data, nothing more
post_json $PURCHASE "{\"buyer\":\"Robert'); DROP TABLE lastitem.orders;--\"}"
is "$HTTP_STATUS" 201 "a buyer name with SQL in it buys like any other"
is "$(stack_sql "SELECT buyer FROM lastitem.orders ORDER BY id DESC LIMIT 1")" \
    "Robert'); DROP TABLE lastitem.orders;--" "  … and is stored as written"
post_json $PURCHASE '{"buyer":"\"quoted\" \\ back\\slash"}'
is "$HTTP_STATUS/$(body_json .order.buyer)" '201/"quoted" \ back\slash' "quotes and backslashes round-trip"
is "$(invariant golden-ticket)" ok "the invariant holds"

# ---- nothing above was a 5xx
grep -q '" 50[0-9] ' "$STACK_DIR/nginx/access.log"
ok $((! $?)) "no 5xx in nginx's access log"

done_testing
