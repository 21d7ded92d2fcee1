#!/usr/bin/env bash
# purchase_idempotency_buyer — an Idempotency-Key belongs to its buyer.
#
# Clients choose their keys, and two of them that both start counting at
# "k1" must not get each other's orders back as replays. For every strategy
# (naive too, on an item of its own: the pool runs with --allow-unsafe):
#   * buyers A and B, one key, one item: two orders, two 201s, the stock down
#     by both;
#   * A again with the key: a replay of A's order (and B's of B's);
#   * A with the key and another quantity: 422 idempotency_key_reused, and
#     nothing changes;
#   * ten buyers at once with one key: ten orders; one buyer ten times at
#     once with one key: one order. (naive loses updates when buyers race,
#     test/naive_oversells.sh, so its stock is not counted there.)
# Every count is read from the database.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 4 --allow-unsafe

stock() {
    stack_sql "SELECT quantity FROM lastitem.items WHERE id = '$ITEM'"
}

orders_with_key() {  # orders_with_key KEY: buyer/id of each, by buyer
    stack_sql "SELECT coalesce(string_agg(buyer || '/' || id, ',' ORDER BY buyer), '')
                 FROM lastitem.orders WHERE idempotency_key = '$1'"
}

buy() {  # buy BUYER KEY QUANTITY STRATEGY
    post_json "/api/items/$ITEM/purchase" \
        "{\"buyer\":\"$1\",\"quantity\":$3,\"strategy\":\"$4\"}" -H "Idempotency-Key: $2"
}

# together NAME STRATEGY KEY BUYER…: one request per BUYER, all at once, all
# with KEY. Prints the status codes counted ("10 201,").
together() {
    local name=$1 s=$2 key=$3 i=0 cfg
    shift 3
    cfg=$TEST_DIR/$name.curl
    : >"$cfg"
    for b in "$@"; do
        i=$((i + 1))
        [ "$i" -gt 1 ] && echo next >>"$cfg"
        cat >>"$cfg" <<CFG
url = "$BASE_URL/api/items/$ITEM/purchase"
request = "POST"
header = "Content-Type: application/json"
header = "Idempotency-Key: $key"
data = "{\"buyer\":\"$b\",\"strategy\":\"$s\"}"
output = "$TEST_DIR/$name.$i"
write-out = "%{http_code}\n"
CFG
    done
    "$CURL" -s --parallel --parallel-immediate --parallel-max "$i" -K "$cfg" 2>/dev/null |
        sort | uniq -c | tr -s ' ' | sed 's/^ //' | tr '\n' ','
}

post_json /api/reset '{"quantity":1000}'
is "$HTTP_STATUS" 200 "reset: every item has 1000"

for s in pessimistic atomic optimistic batched naive; do
    ITEM=launch-hoodie
    [ "$s" = naive ] && ITEM=golden-ticket
    key=k1-$s
    before=$(stock)

    # ---- two buyers, one key
    buy ann "$key" 1 "$s"
    a_status=$HTTP_STATUS a_id=$(body_json .order.id) a_replay=$(header Idempotent-Replayed)
    buy bob "$key" 1 "$s"
    b_status=$HTTP_STATUS b_id=$(body_json .order.id) b_replay=$(header Idempotent-Replayed)
    b_buyer=$(body_json .order.buyer)
    is "$a_status/$a_replay" 201/ "$s: ann buys with key $key"
    is "$b_status/$b_replay/$b_buyer" 201//bob "$s: bob buys with the same key: a purchase of his own"
    [[ $a_id =~ ^[0-9]+$ && $b_id =~ ^[0-9]+$ && $a_id != "$b_id" ]]
    ok $? "$s: … two different orders ($a_id, $b_id)"
    is "$(orders_with_key "$key")" "ann/$a_id,bob/$b_id" "$s: … both in the database, one each"
    is "$(stock)" $((before - 2)) "$s: … and the stock down by both"

    # ---- each buyer's retry replays that buyer's order
    buy ann "$key" 1 "$s"
    is "$HTTP_STATUS/$(header Idempotent-Replayed)/$(body_json .order.id)/$(body_json .order.buyer)" \
        "201/true/$a_id/ann" "$s: ann's retry replays ann's order"
    buy bob "$key" 1 "$s"
    is "$HTTP_STATUS/$(header Idempotent-Replayed)/$(body_json .order.id)/$(body_json .order.buyer)" \
        "201/true/$b_id/bob" "$s: bob's retry replays bob's order"

    # ---- the key reused by its buyer for something else
    snapshot=$(db_snapshot)
    buy ann "$key" 2 "$s"
    is "$HTTP_STATUS/$(body_json .code)" 422/idempotency_key_reused \
        "$s: ann with the key and another quantity: 422"
    is "$(db_snapshot)" "$snapshot" "$s: … replays and the 422 change nothing"

    # ---- at once: ten buyers with one key, then one buyer ten times
    before=$(stock)
    codes=$(together "many-$s" "$s" "k2-$s" b1 b2 b3 b4 b5 b6 b7 b8 b9 b10)
    is "$codes" "10 201," "$s: ten buyers at once with one key: ten 201s"
    ids=$(cat "$TEST_DIR"/many-"$s".* | "$JQ" -r .order.id | sort -u | grep -c .)
    is "$ids" 10 "$s: … ten different orders"
    is "$(stack_sql "SELECT count(DISTINCT buyer) || '/' || count(*) FROM lastitem.orders WHERE idempotency_key = 'k2-$s'")" \
        10/10 "$s: … ten orders in the database, one per buyer"
    [ "$s" = naive ] ||
        is "$(stock)" $((before - 10)) "$s: … and ten taken"

    before=$(stock)
    codes=$(together "same-$s" "$s" "k3-$s" cy cy cy cy cy cy cy cy cy cy)
    is "$codes" "10 201," "$s: one buyer ten times at once with one key: ten 201s"
    ids=$(cat "$TEST_DIR"/same-"$s".* | "$JQ" -r .order.id | sort -u | grep -c .)
    is "$ids" 1 "$s: … all with the same order"
    is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE idempotency_key = 'k3-$s'")" 1 \
        "$s: … one order in the database"
    is "$(stock)" $((before - 1)) "$s: … and one taken"
done

is "$(invariant launch-hoodie)" ok "invariant holds for launch-hoodie"

done_testing
