#!/usr/bin/env bash
# Buying more than one at a time, at the edge of the stock, with each safe
# strategy: a purchase gets all it asked for or nothing, the sold-out answer
# says how many are left, a quantity outside 1…100 (or not an integer) is a
# 400 that changes nothing, and a stampede of multi-item buyers sells exactly
# the whole multiples the stock holds.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 4

# reset_to N: every item to N in stock, no orders.
reset_to() {
    post_json /api/reset "{\"quantity\":$1}"
    [ "$HTTP_STATUS" = 200 ] || bail "reset to $1 answered $HTTP_STATUS"
}

# buy ITEM QUANTITY STRATEGY
buy() {
    post_json "/api/items/$1/purchase" \
        "{\"quantity\":$2,\"strategy\":\"$3\",\"buyer\":\"q-$3\"}"
}

stock() {
    stack_sql "SELECT quantity FROM lastitem.items WHERE id = '$1'"
}

# stampede_sells S QUANTITY WANT_CREATED WANT_LEFT: 200 buyers of
# launch-hoodie (stock 50), each asking for QUANTITY.
stampede_sells() {
    local s=$1 q=$2 created=$3 left=$4 out=$TEST_DIR/stampede.out rc
    reset_to 50
    "$LI_SRCDIR/test/stampede" -n 200 -i launch-hoodie -q "$q" -s "$s" -u "$BASE_URL" \
        >"$out" 2>&1
    rc=$?
    sed 's/^/#   /' "$out"
    is "$rc" 0 "$s: the stampede of 200 buyers of $q on a stock of 50 passes its checks"
    grep -Eq "^ +201 created +$created\$" "$out"
    ok $? "$s: exactly $created buyers of $q succeed"
    is "$(stock launch-hoodie)" "$left" "$s: $left left"
    is "$(stack_sql "SELECT count(*) || ' of ' || min(quantity) || '-' || max(quantity)
                       FROM lastitem.orders WHERE item_id = 'launch-hoodie'")" \
        "$created of $q-$q" "$s: $created orders, each of $q"
    is "$(invariant launch-hoodie)" ok "$s: the invariant holds"
}

for s in pessimistic atomic optimistic batched; do
    # ------------------------------------------------ at the edge of the stock
    reset_to 5
    buy golden-ticket 3 "$s"
    is "$HTTP_STATUS" 201 "$s: buying 3 of 5 golden tickets succeeds"
    is "$(body_json .order.quantity):$(body_json .order.strategy):$(body_json .item.quantity)" \
        "3:$s:2" "$s: the order is for 3, by $s, and the answer says 2 left"
    buy golden-ticket 3 "$s"
    is "$HTTP_STATUS:$(body_json .code)" 409:sold_out "$s: buying 3 more is 409 sold_out"
    detail=$(body_json .detail)
    [[ "$detail" == *" 2 left"* ]]
    ok $? "$s: whose detail says 2 left ($detail)"
    is "$(stock golden-ticket)" 2 "$s: and nothing was taken"
    buy golden-ticket 2 "$s"
    is "$HTTP_STATUS" 201 "$s: buying the last 2 succeeds"
    is "$(body_json .item.quantity)" 0 "$s: 0 left"
    buy golden-ticket 1 "$s"
    is "$HTTP_STATUS:$(body_json .detail)" "409:golden-ticket has 0 left" \
        "$s: then even 1 is sold out, with 0 left"
    is "$(stack_sql "SELECT string_agg(quantity::text, ',' ORDER BY id)
                       FROM lastitem.orders WHERE item_id = 'golden-ticket'")" 3,2 \
        "$s: two orders, of 3 and 2"
    is "$(invariant golden-ticket)" ok "$s: the invariant holds"

    # ------------------------------------------------ quantities that are not
    reset_to 5
    before=$(db_snapshot)
    for q in 0 101 -1 '"2"' 2.5 null; do
        buy golden-ticket "$q" "$s"
        is "$HTTP_STATUS:$(body_json .code)" 400:bad_request "$s: quantity $q is 400 bad_request"
    done
    is "$(db_snapshot)" "$before" "$s: and none of them changed anything"

    # ------------------------------------------------ the largest quantity
    reset_to 1000
    buy launch-hoodie 100 "$s"
    is "$HTTP_STATUS" 201 "$s: buying 100, the most one purchase may ask for, of a stock of 1000 succeeds"
    is "$(stock launch-hoodie)" 900 "$s: 900 left"
    is "$(invariant launch-hoodie)" ok "$s: the invariant holds"

    # ------------------------------------------------ stampedes
    stampede_sells "$s" 2 25 0
    stampede_sells "$s" 3 16 2
done

done_testing
