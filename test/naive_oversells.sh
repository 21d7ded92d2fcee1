#!/usr/bin/env bash
# The naive strategy oversells, and the stampede shows it: on a pool started
# with --allow-unsafe, 200 buyers of the last item end up with more orders
# than there was stock. It is a race, so it may take a few stampedes; the
# point is that it can happen at all.
. "$LI_SRCDIR/test/lib.sh"

ITEM=charizard-1st-ed
# On 2 cores about one stampede in two oversells, one in five while other
# stacks run beside it: a dozen tries make a false failure very unlikely,
# and the first oversell ends the test.
TRIES=12
test_stack_up --workers 4 --allow-unsafe

ordered() {
    stack_sql "SELECT coalesce(sum(quantity), 0) FROM lastitem.orders WHERE item_id = '$ITEM'"
}

oversold=0
for ((try = 1; try <= TRIES; try++)); do
    "$LI_SRCDIR/test/stampede" -n 200 -i "$ITEM" -s naive -u "$BASE_URL" --reset \
        >"$TEST_DIR/stampede.out" 2>&1
    rc=$?
    initial=$(stack_sql "SELECT initial_quantity FROM lastitem.items WHERE id = '$ITEM'")
    sold=$(ordered)
    diag "stampede $try: exit $rc, $sold ordered of a stock of $initial"
    if [ "$sold" -gt "$initial" ]; then
        oversold=1
        break
    fi
done
sed 's/^/#   /' "$TEST_DIR/stampede.out"

is "$oversold" 1 "a naive stampede oversold $ITEM within $TRIES tries: the database holds more orders than its stock"
if [ "$oversold" = 1 ]; then
    is "$rc" 1 "test/stampede exits 1"
    grep -q '^OVERSOLD' "$TEST_DIR/stampede.out"
    ok $? "and says OVERSOLD"
    is "$initial" 1 "the stock was one"
    remaining=$(stack_sql "SELECT quantity FROM lastitem.items WHERE id = '$ITEM'")
    is "$remaining" 0 "its $sold buyers all wrote 0 left, as if one were sold: a lost update"
fi

done_testing
