#!/usr/bin/env bash
# The batched strategy: buyers of one item decided together, one commit for
# many, with the outcome of a serial execution in arrival order.
#
# First the SQL function itself, with batches written by hand (the order in
# a batch is then known): mixed quantities (a request that does not fit is
# refused while a later, smaller one still fits), each buyer's own order and
# version, two requests with one key in one batch (the later replays the
# earlier's order, or is key_reused), a key that bought in an earlier
# transaction, an unknown item, a sold-out batch that takes no row lock.
# Then through nginx and the pool's request threads: stampedes on stock 1
# and stock k, with buyers of 1 and of 3, which must form batches (fewer
# transactions than orders, read from the orders' xmin), 40 concurrent
# requests with one key (one order, every answer its 201), 422 on reuse.
# Every step checks the invariant in the database.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 2 --threads 64

reset_to() {
    post_json /api/reset "{\"quantity\":$1}"
    [ "$HTTP_STATUS" = 200 ] || bail "reset to $1 answered $HTTP_STATUS"
}

# batch ITEM QUANTITIES BUYERS KEYS: the function's rows, one per line.
batch() {
    stack_sql "SELECT outcome || ':' || coalesce(quantity_left::text, '-')
                      || ':' || coalesce((body::json #>> '{item,version}'), '-')
                 FROM lastitem.purchase_batched('$1', '$2', '$3', '$4')" | tr '\n' ' '
}

version() {
    stack_sql "SELECT version FROM lastitem.items WHERE id = '$1'"
}

# ------------------------------------------------ serial order inside a batch
reset_to 4
v=$(version golden-ticket)
got=$(batch golden-ticket '{3,3,1,1}' '{a,b,c,d}' '{NULL,NULL,NULL,NULL}')
is "$got" "created:1:$((v + 1)) sold_out:1:- created:0:$((v + 2)) sold_out:0:- " \
    "3 of 4, then 3 refused, then 1 still fits, then sold out: each its own version"
is "$(version golden-ticket)" "$((v + 2))" "the item's version rose once per order"
is "$(stack_sql "SELECT string_agg(buyer || quantity || strategy, ',' ORDER BY id)
                   FROM lastitem.orders WHERE item_id = 'golden-ticket'")" \
    "a3batched,c1batched" "two orders, in the batch's order, by batched"
is "$(stack_sql "SELECT count(DISTINCT xmin::text) FROM lastitem.orders")" 1 \
    "both written by one transaction"
is "$(invariant golden-ticket)" ok "the invariant holds"

# ------------------------------------------------ keys inside a batch
reset_to 10
got=$(batch golden-ticket '{1,1,2,1}' '{kim,kim,kim,lee}' '{k1,k1,k1,k1}')
v=$(version golden-ticket)
is "$got" "created:9:$((v - 1)) replayed:9:$((v - 1)) key_reused:-:- created:8:$v " \
    "one key twice in a batch: created, then replayed; with another quantity key_reused; another buyer's same key buys"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE buyer = 'kim'")" 1 \
    "kim has one order"
got=$(batch golden-ticket '{1,1}' '{kim,kim}' '{k1,k2}')
is "$got" "replayed:8:$(( $(version golden-ticket) - 1 )) created:7:$(version golden-ticket) " \
    "a key that bought in an earlier transaction replays; a new key buys"
is "$(invariant golden-ticket)" ok "the invariant holds"

# A sold-out batch answers from a plain read: no row lock, nothing written.
reset_to 0
before=$(db_snapshot)
is "$(batch golden-ticket '{1,2}' '{x,y}' '{NULL,NULL}')" "sold_out:0:- sold_out:0:- " \
    "a batch on a sold-out item: every request sold_out"
is "$(batch no-such-item '{1}' '{x}' '{NULL}')" "not_found:-:- " "an unknown item: not_found"
is "$(db_snapshot)" "$before" "neither changed anything"
stack_sql "SELECT lastitem.purchase_batched('golden-ticket', '{1,2}', '{x}', '{NULL,NULL}')" \
    >/dev/null 2>&1
isnt_ok=$?
[ "$isnt_ok" -ne 0 ]; ok $? "arrays of different lengths are refused"

# ------------------------------------------------ through the pool
# stampede_sells STOCK QUANTITY BUYERS WANT_CREATED WANT_LEFT
stampede_sells() {
    local stock=$1 q=$2 n=$3 created=$4 left=$5 out=$TEST_DIR/stampede.out rc
    reset_to "$stock"
    "$LI_SRCDIR/test/stampede" -n "$n" -i launch-hoodie -q "$q" -s batched \
        -u "$BASE_URL" >"$out" 2>&1
    rc=$?
    sed 's/^/#   /' "$out"
    is "$rc" 0 "stock $stock, $n buyers of $q: the stampede passes its checks"
    grep -Eq "^ +201 created +$created\$" "$out"
    ok $? "exactly $created buyers succeed"
    is "$(stack_sql "SELECT quantity FROM lastitem.items WHERE id = 'launch-hoodie'")" \
        "$left" "$left left"
    is "$(invariant launch-hoodie)" ok "the invariant holds"
}
stampede_sells 1 1 200 1 0
stampede_sells 100 1 300 100 0
txs=$(stack_sql "SELECT count(DISTINCT xmin::text) FROM lastitem.orders")
[ "$txs" -lt 100 ]; ok $? "the stampede's orders were committed in batches ($txs transactions for 100)"
stampede_sells 50 3 100 16 2

# ------------------------------------------------ one key, many requests at once
reset_to 100
pids=()
for i in $(seq 1 40); do
    "$CURL" -s -o "$TEST_DIR/same.$i" -w '%{http_code}\n' --max-time 30 \
        -H 'Content-Type: application/json' -H 'Idempotency-Key: same-key' \
        --data-binary '{"quantity":1,"strategy":"batched","buyer":"kim"}' \
        "$BASE_URL/api/items/golden-ticket/purchase" >"$TEST_DIR/same.$i.status" &
    pids+=($!)
done
wait "${pids[@]}"
is "$(cat "$TEST_DIR"/same.*.status | sort | uniq -c | awk '{print $1 "x" $2}')" "40x201" \
    "40 concurrent requests with one key: every one 201"
is "$(cat "$TEST_DIR"/same.*[0-9] | "$JQ" -r .order.id | sort -u | wc -l)" 1 \
    "all with the same order"
is "$(stack_sql "SELECT count(*) || '/' || sum(quantity) FROM lastitem.orders
                  WHERE buyer = 'kim' AND idempotency_key = 'same-key'")" "1/1" \
    "one order in the database"
is "$(invariant golden-ticket)" ok "the invariant holds"
post_json /api/items/golden-ticket/purchase '{"quantity":2,"strategy":"batched","buyer":"kim"}' \
    -H 'Idempotency-Key: same-key'
is "$HTTP_STATUS:$(body_json .code)" 422:idempotency_key_reused "the key with another quantity: 422"
post_json /api/items/golden-ticket/purchase '{"quantity":1,"strategy":"batched","buyer":"kim"}' \
    -H 'Idempotency-Key: same-key'
is "$HTTP_STATUS:$(header Idempotent-Replayed)" 201:true "the same request again: a replay"

# ------------------------------------------------ it is offered
http GET /api/config
"$JQ" -e '.strategies | index("batched")' <"$HTTP_BODY" >/dev/null
ok $? "/api/config lists batched"

done_testing
