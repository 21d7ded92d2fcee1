# purchase_stampede — 200 buyers at once, for each safe strategy, on the
# last item (stock 1) and on a stock of 50: exactly the stock is sold, every
# other buyer hears sold out, and the database's invariant holds.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 4

for stock in 1 50; do
    for s in pessimistic atomic optimistic batched; do
        post_json /api/reset "{\"quantity\":$stock}"
        is "$HTTP_STATUS" 200 "$s, stock $stock: reset"
        out=$TEST_DIR/stampede-$s-$stock
        "$LI_SRCDIR/test/stampede" -n 200 -s "$s" -i golden-ticket -u "$BASE_URL" >"$out" 2>&1
        ok $? "$s, stock $stock: test/stampede finds the invariant and the successes right"
        sed 's/^/#   /' "$out"
        is "$(grep -E '^  201 created' "$out" | awk '{print $3}')" "$stock" \
            "$s, stock $stock: exactly $stock buyers got 201"
        is "$(grep -E '^  409 sold_out' "$out" | awk '{print $3}')" $((200 - stock)) \
            "$s, stock $stock: the other $((200 - stock)) heard sold out"
        is "$(stack_sql "SELECT quantity FROM lastitem.items WHERE id = 'golden-ticket'")" 0 \
            "$s, stock $stock: none left, none below zero"
        is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE item_id = 'golden-ticket'")" "$stock" \
            "$s, stock $stock: $stock orders in the database"
        is "$(invariant golden-ticket)" ok "$s, stock $stock: the invariant holds in the database"
    done
done

# A stampede of 1,000 on the last item, the pool's default strategy.
post_json /api/reset '{"quantity":1}'
"$LI_SRCDIR/test/stampede" -n 1000 -i charizard-1st-ed -u "$BASE_URL" >"$TEST_DIR/thousand" 2>&1
ok $? "1,000 buyers on the last item: the stampede's checks hold"
sed 's/^/#   /' "$TEST_DIR/thousand"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE item_id = 'charizard-1st-ed'")" 1 \
    "1,000 buyers on the last item: one order"
grep -q '" 50[0-9] ' "$STACK_DIR/nginx/access.log"
ok $((! $?)) "no 5xx in nginx's access log"

done_testing
