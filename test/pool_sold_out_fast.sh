#!/usr/bin/env bash
# The sold-out answer without the database: a pool started with --events
# follows the event daemon's stream, and a purchase its view says cannot fit
# is answered 409 sold_out without a database call.
#
# With track_functions on, the calls of the purchase functions are counted
# (flushed to the statistics by ending the pool's backends, which report at
# exit), so the test can see what reached the database:
#   * 1,000 sold-out purchases without a key, every strategy: every one a
#     409 sold_out, and no purchase function called; the pool counts them;
#   * a purchase with an Idempotency-Key still asks (its key may have
#     bought): the functions are called;
#   * after a reset the item is bought again, within the stream's delay
#     (measured and printed);
#   * with the event daemon gone, the pool trusts nothing it knew: sold-out
#     purchases ask the database again, a reset made meanwhile is bought at
#     once; when the daemon is back, its snapshot restores the fast path.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 2
test_events_up
pool_stop
pool_start --drain-timeout 5 --workers 2 --events "$STACK_EVENTS_SOCK"

stack_sql "ALTER SYSTEM SET track_functions = 'pl'" >/dev/null
stack_sql "SELECT pg_reload_conf()" >/dev/null

unasked() {
    "$CURL" -s --max-time 10 "$METRICS_URL/api/metrics" |
        awk '$1 == "lastitem_api_sold_out_unasked_total" { print $2 }'
}
# calls: calls of the strategies' functions so far, after making the pool's backends
# report theirs (they do at exit; the pool reconnects by itself).
calls() {
    # The workers' backends only: their exit flushes the function counts.
    # (The expiry process calls no purchase function, and reconnects.)
    stack_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE usename = 'lastitem_app' AND application_name = 'lastitem-api'" >/dev/null
    wait_until 10 no_app_backend || bail "the pool's backends did not go"
    stack_sql "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions
                WHERE schemaname = 'lastitem' AND funcname IN ('purchase_pessimistic',
                      'purchase_atomic', 'purchase_optimistic', 'purchase_batched')"
}
no_app_backend() {
    [ "$(stack_sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'lastitem_app'
                     AND application_name = 'lastitem-api'")" = 0 ]
}
buy() {  # buy ITEM [curl options…]
    local item=$1
    shift
    post_json "/api/items/$item/purchase" '{"buyer":"fast"}' "$@"
}
reset_to() {
    post_json /api/reset "{\"quantity\":$1}"
    [ "$HTTP_STATUS" = 200 ] || bail "reset to $1 answered $HTTP_STATUS"
}
# from_view: both workers answer golden-ticket's sold out from their view.
from_view() {
    local before i
    before=$(unasked)
    for i in 1 2 3 4 5 6; do buy golden-ticket; done
    [ "$HTTP_STATUS" = 409 ] && [ "$(unasked)" -ge $((before + 6)) ]
}

# ------------------------------------------------ 1,000 sold-out answers
reset_to 0
wait_until 10 from_view
ok $? "after a reset to 0 the pool answers sold out from its view"
before=$(calls)
unasked_before=$(unasked)
cfg=$TEST_DIR/sold-out.curl
: >"$cfg"
strategies=(pessimistic atomic optimistic batched)
for i in $(seq 1 1000); do
    [ "$i" -gt 1 ] && echo next >>"$cfg"
    cat >>"$cfg" <<CFG
url = "$BASE_URL/api/items/golden-ticket/purchase"
request = "POST"
header = "Content-Type: application/json"
data = "{\"buyer\":\"b$i\",\"strategy\":\"${strategies[i % 4]}\"}"
output = "$TEST_DIR/so.$i"
write-out = "%{http_code}\n"
CFG
done
codes=$("$CURL" -s --parallel --parallel-max 50 -K "$cfg" 2>/dev/null | sort | uniq -c |
        tr -s ' ' | tr '\n' ',')
is "$codes" " 1000 409," "1,000 purchases of a sold-out item, every strategy: 1,000 409s"
is "$(cat "$TEST_DIR"/so.* | "$JQ" -r .code | sort -u)" sold_out "… every one sold_out"
is "$(jq -r .detail "$TEST_DIR/so.1")" "golden-ticket has 0 left" "… saying what is left"
after=$(calls)
is "$((after - before))" 0 "… and no purchase function was called"
is "$(( $(unasked) - unasked_before ))" 1000 "… the pool counts them as answered from its view"

# ------------------------------------------------ a key always asks
before=$(calls)
for i in 1 2 3; do buy golden-ticket -H "Idempotency-Key: fast-key-$i"; done
is "$HTTP_STATUS:$(body_json .code)" 409:sold_out "with an Idempotency-Key: sold out too"
is "$(( $(calls) - before ))" 3 "… but asked of the database, which could replay the key"

# ------------------------------------------------ a reset makes it buyable
start=$(date +%s%N)
reset_to 3
bought() { buy golden-ticket; [ "$HTTP_STATUS" = 201 ]; }
wait_until 5 bought
ok $? "after a reset to 3 a purchase buys again"
diag "bought $(( ($(date +%s%N) - start) / 1000000 )) ms after the reset's answer (stream delay included)"
is "$(invariant golden-ticket)" ok "the invariant holds"

# ------------------------------------------------ the stream drops
reset_to 0
wait_until 10 from_view
ok $? "sold out again, from the view"
events_stop
before=$(calls)
for i in 1 2 3 4 5 6 7 8 9 10; do buy golden-ticket; done
is "$HTTP_STATUS:$(body_json .code)" 409:sold_out "with the event daemon gone: still sold out"
is "$(( $(calls) - before ))" 10 "… asked of the database, every one: the pool trusts nothing it knew"
reset_to 2
buy golden-ticket
is "$HTTP_STATUS" 201 "a reset made while the stream is gone is bought at once"
reset_to 0
test_events_up
wait_until 10 from_view
ok $? "the daemon back: its snapshot restores the answer from the view"
grep -q "no stock view from the event daemon" "$STACK_DIR/api.log"
ok $? "the pool logged that it had no view"

done_testing
