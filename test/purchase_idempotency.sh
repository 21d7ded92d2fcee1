# purchase_idempotency — an Idempotency-Key buys at most once for its buyer:
# a retry gets the original order back, another request of that buyer under
# the same key gets 422, and 20 concurrent requests with one key make exactly
# one order.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 4

stock() {
    stack_sql "SELECT quantity FROM lastitem.items WHERE id = '$1'"
}

# ---- replay
post_json /api/items/golden-ticket/purchase '{"buyer":"ana","quantity":2}' -H 'Idempotency-Key: order-ana-1'
is "$HTTP_STATUS" 201 "the first request buys"
first=$(body_json .order.id)
is "$(header Idempotent-Replayed)" "" "  … and is no replay"
is "$(stock golden-ticket)" 3 "  … 2 of 5 taken"

post_json /api/items/golden-ticket/purchase '{"buyer":"ana","quantity":2}' -H 'Idempotency-Key: order-ana-1'
is "$HTTP_STATUS" 201 "the retry answers 201"
is "$(header Idempotent-Replayed)" true "  … marked Idempotent-Replayed"
is "$(body_json .order.id)" "$first" "  … with the original order"
is "$(header Location)" "/api/orders/$first" "  … and its Location"
is "$(stock golden-ticket)" 3 "  … and the stock untouched"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE idempotency_key = 'order-ana-1'")" 1 \
    "one order for the key"

# ---- the same key for something else: 422
snapshot=$(db_snapshot)
post_json /api/items/golden-ticket/purchase '{"buyer":"ana","quantity":1}' -H 'Idempotency-Key: order-ana-1'
is "$HTTP_STATUS/$(body_json .code)" 422/idempotency_key_reused "another quantity: 422"
post_json /api/items/launch-hoodie/purchase '{"buyer":"ana","quantity":2}' -H 'Idempotency-Key: order-ana-1'
is "$HTTP_STATUS/$(body_json .code)" 422/idempotency_key_reused "another item: 422"
is "$(header Content-Type)" application/problem+json "  … as problem+json"
is "$(db_snapshot)" "$snapshot" "422s change nothing"

# ---- the same key from another buyer: that buyer's own purchase
# (test/purchase_idempotency_buyer.sh has the rest)
post_json /api/items/golden-ticket/purchase '{"buyer":"bob","quantity":2}' -H 'Idempotency-Key: order-ana-1'
is "$HTTP_STATUS/$(header Idempotent-Replayed)/$(body_json .order.buyer)" 201//bob \
    "another buyer with the same key: a purchase of bob's own"
[ "$(body_json .order.id)" != "$first" ]
ok $? "  … not ana's order"
is "$(stock golden-ticket)" 1 "  … 2 more taken"

# ---- the key of another strategy still replays (the order is what counts)
post_json /api/items/golden-ticket/purchase '{"buyer":"ana","quantity":2,"strategy":"atomic"}' -H 'Idempotency-Key: order-ana-1'
is "$HTTP_STATUS/$(body_json .order.id)/$(body_json .order.strategy)" "201/$first/pessimistic" \
    "a retry under another strategy gets the original order"

# ---- 20 concurrent requests with one key buy once, for each safe strategy
for s in pessimistic atomic optimistic batched; do
    before=$(stock launch-hoodie)
    cfg=$TEST_DIR/same-key-$s
    : >"$cfg"
    for i in $(seq 1 20); do
        [ "$i" -gt 1 ] && echo next >>"$cfg"
        cat >>"$cfg" <<CFG
url = "$BASE_URL/api/items/launch-hoodie/purchase"
request = "POST"
header = "Content-Type: application/json"
header = "Idempotency-Key: together-$s"
data = "{\"buyer\":\"crowd\",\"strategy\":\"$s\"}"
output = "$TEST_DIR/same-key-$s.$i"
write-out = "%{http_code}\n"
CFG
    done
    codes=$("$CURL" -s --parallel --parallel-immediate --parallel-max 20 -K "$cfg" 2>/dev/null | sort | uniq -c | tr -s ' ' | tr '\n' ',')
    is "$codes" " 20 201," "$s: 20 concurrent requests with one key all answer 201"
    ids=$(cat "$TEST_DIR"/same-key-"$s".* | "$JQ" -r .order.id | sort -u | wc -l)
    is "$ids" 1 "$s: … all with the same order"
    is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE idempotency_key = 'together-$s'")" 1 \
        "$s: … one order in the database"
    is "$(stock launch-hoodie)" $((before - 1)) "$s: … and one item taken"
done

# ---- a key whose request failed is not spent
post_json /api/items/charizard-1st-ed/purchase '{"buyer":"cy"}' -H 'Idempotency-Key: cy-1'
is "$HTTP_STATUS" 201 "cy buys the last item"
post_json /api/items/charizard-1st-ed/purchase '{"buyer":"dee"}' -H 'Idempotency-Key: dee-1'
is "$HTTP_STATUS/$(body_json .code)" 409/sold_out "dee is too late"
http POST /api/reset -H 'Content-Type: application/json'
is "$HTTP_STATUS" 200 "reset"
post_json /api/items/charizard-1st-ed/purchase '{"buyer":"dee"}' -H 'Idempotency-Key: dee-1'
is "$HTTP_STATUS" 201 "after a reset dee's retry with the same key buys"

# ---- reset forgets keys with their orders
post_json /api/items/golden-ticket/purchase '{"buyer":"ana","quantity":2}' -H 'Idempotency-Key: order-ana-1'
is "$HTTP_STATUS/$(header Idempotent-Replayed)" 201/ "after a reset a used key buys anew"

for item in charizard-1st-ed golden-ticket launch-hoodie; do
    is "$(invariant "$item")" ok "invariant holds for $item"
done

done_testing
