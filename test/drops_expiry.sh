# drops_expiry — holds end by themselves, and a confirm racing the end
# gets one answer:
#   * a hold left alone expires within 1 s of expires_at with no request,
#     its units come back, and the stream shows the hold's end and the item;
#   * for each safe strategy, holds left to expire while a stampede of
#     other buyers runs all come back and are sold to those others;
#   * confirms racing the expiry: every hold is either confirmed with an
#     order (201) or expired (410), never both, never neither;
#   * several expiry callers at once (hosts) end each hold once;
#   * the invariant checked in the database after every step.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 4
test_events_up

check_invariant() {
    is "$(invariant_all)" ok "$1: the invariant holds in the database"
}
# due SECONDS: makes every active hold due in SECONDS (fractions allowed),
# as if it had been made with that ttl.
due() {
    stack_sql "UPDATE lastitem.holds SET expires_at = clock_timestamp() + interval '$1 s'
                WHERE status = 'active'" >/dev/null
}

hold_status_is() {  # hold_status_is ID STATUS
    [ "$(stack_sql "SELECT status FROM lastitem.holds WHERE id = $1")" = "$2" ]
}
hold_events() {  # hold_events ID: how many hold events of hold ID w got
    sse_data w hold | grep -c "\"id\":$1,"
}
active_holds() {
    stack_sql "SELECT count(*) FROM lastitem.holds WHERE status = 'active'"
}

[ -n "$(pool_expiry_process)" ]
ok $? "the pool runs an expiry process (lastitem-expiry)"

post_json /api/items '{"id":"exp","name":"Expiring","quantity":3}'
is "$HTTP_STATUS" 201 "an item"
sse_open w
wait_until 10 sse_has w snapshot
post_json /api/items/exp/holds '{"buyer":"ana","quantity":2,"ttl_seconds":10}'
is "$HTTP_STATUS" 201 "a hold"
hold=$(body_json .hold.id)
due 0.3
wait_until 3 hold_status_is "$hold" expired
ok $? "left alone, it expires"
is "$(stack_sql "SELECT ended_at - expires_at < interval '1 s' AND ended_at >= expires_at FROM lastitem.holds WHERE id = $hold")" t \
    "within 1 s of expires_at ($(stack_sql "SELECT ended_at - expires_at FROM lastitem.holds WHERE id = $hold"))"
is "$(stack_sql "SELECT quantity || ',' || held FROM lastitem.items WHERE id = 'exp'")" "3,0" "its units are back"
check_invariant "after the expiry"
wait_until 5 eval '[ "$(hold_events "$hold")" -ge 2 ]'
ok $? "the stream showed the hold's start and end"
is "$(sse_data w hold | grep "\"id\":$hold," | tail -1)" \
    "{\"id\":$hold,\"item_id\":\"exp\",\"quantity\":2,\"status\":\"expired\"}" "the end says expired"
is "$(sse_data w item | grep '"id":"exp"' | tail -1 | jq -c '[.quantity, .held]')" "[3,0]" \
    "and the item event shows the units back"
http GET "/api/holds/$hold"
is "$(body_json .hold.status)" expired "GET says expired"
post_json "/api/holds/$hold/confirm" '{"buyer":"ana"}'
is "$HTTP_STATUS/$(body_json .code)" "410/hold_expired" "confirming it now: 410 hold_expired"
http DELETE "/api/holds/$hold" -H 'Content-Type: application/json' --data-binary '{"buyer":"ana"}'
is "$HTTP_STATUS/$(body_json .code)" "410/hold_expired" "releasing it now: 410 too"

for s in pessimistic atomic optimistic batched; do
    # 10 holds on a stock of 10, due in 0.3 s, while buyers keep coming.
    post_json /api/reset '{"quantity":10}'
    post_many 10 /api/items/exp/holds "{\"buyer\":\"holder-@N@\",\"strategy\":\"$s\"}"
    is "$(many_count 201)" 10 "$s: 10 holds take the whole stock"
    due 0.3
    round=0
    until [ "$(stack_sql "SELECT quantity + held FROM lastitem.items WHERE id = 'exp'")" = 0 ] ||
          [ "$round" -ge 100 ]; do
        round=$((round + 1))
        post_many 40 /api/items/exp/purchase "{\"buyer\":\"$s-$round-@N@\",\"strategy\":\"$s\"}"
    done
    is "$(stack_sql "SELECT count(*) FROM lastitem.holds WHERE status = 'expired'")" 10 \
        "$s: all 10 holds expired under the stampede ($round rounds of 40 buyers)"
    is "$(stack_sql "SELECT count(*) || ',' || count(*) FILTER (WHERE buyer NOT LIKE 'holder-%')
                       FROM lastitem.orders WHERE item_id = 'exp'")" "10,10" \
        "$s: their 10 units were sold, all to others"
    check_invariant "$s: after the stampede"
done

# Confirms racing the expiry, 30 at a time.
for s in pessimistic atomic optimistic batched; do
    post_json /api/reset '{"quantity":30}'
    post_many 30 /api/items/exp/holds "{\"buyer\":\"racer\",\"strategy\":\"$s\"}"
    first=$(stack_sql "SELECT min(id) FROM lastitem.holds")
    is "$(stack_sql "SELECT max(id) - min(id) + 1 || ',' || count(*) FROM lastitem.holds")" "30,30" \
        "$s: 30 holds, numbered one after the other"
    # Due one after the other, 10 ms apart from 0.3 s on, so that the
    # confirms arrive as some are due and others not, with the pool's
    # expiry process at work among them.
    stack_sql "UPDATE lastitem.holds
                  SET expires_at = clock_timestamp() + interval '0.3 s' + (id - $first) * interval '10 ms'" >/dev/null
    sleep 0.35
    MANY_FIRST=$first post_many 30 "/api/holds/@N@/confirm" '{"buyer":"racer"}'
    n201=$(many_count 201)
    n410=$(many_count 410 hold_expired)
    diag "$s: $n201 confirmed, $n410 expired first"
    is "$((n201 + n410))" 30 "$s: every confirm got 201 or 410"
    # Each answer against its hold in the database.
    wrong=0
    for ((i = first; i < first + 30; i++)); do
        st=$(jq -r '.code // "created"' "$TEST_DIR/many/$i")
        db=$(stack_sql "SELECT h.status || ',' || (o.id IS NOT NULL)
                          FROM lastitem.holds h LEFT JOIN lastitem.orders o ON o.id = h.order_id
                         WHERE h.id = $i")
        case $st/$db in
            created/confirmed,true|hold_expired/expired,false) ;;
            *) wrong=$((wrong + 1)); diag "hold $i: answered $st, database $db" ;;
        esac
    done
    is "$wrong" 0 "$s: each 201 is a confirmed hold with its order, each 410 an expired hold without one"
    is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE item_id = 'exp'")" "$n201" \
        "$s: one order per 201, none more"
    check_invariant "$s: after the race"
done

# Several callers at once, as several hosts would be: each hold ends once.
post_json /api/reset '{"quantity":100}'
post_many 100 /api/items/exp/holds '{"buyer":"many-@N@"}'
is "$(many_count 201)" 100 "100 holds"
due 0
pids=()
for i in 1 2 3 4; do
    ( for _ in 1 2 3 4 5 6 7 8 9 10; do
          stack_sql "SELECT lastitem.expire_holds(5)" >/dev/null || exit 1
      done ) &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
is "$failed" 0 "four more callers of expire_holds beside the pool's, none failed"
wait_until 3 eval '[ "$(active_holds)" = 0 ]'
ok $? "every hold ended"
is "$(stack_sql "SELECT quantity || ',' || held FROM lastitem.items WHERE id = 'exp'")" "100,0" \
    "each once: the stock is whole again"
check_invariant "after many callers"
# The schema loaded again while the expiry process works on due holds:
# it takes the tables in the functions' order, so neither deadlocks.
post_json /api/reset '{"quantity":100}'
failed=0
for round in 1 2 3; do
    post_many 30 /api/items/exp/holds "{\"buyer\":\"reload-$round-@N@\"}"
    due 0
    stack_psql -f "$LI_SRCDIR/sql/lastitem.sql" >/dev/null 2>"$TEST_DIR/reload.err" ||
        { failed=1; diag "$(head -3 "$TEST_DIR/reload.err")"; }
done
is "$failed" 0 "the schema loaded again 3 times beside the expiry process at work"
wait_until 3 eval '[ "$(active_holds)" = 0 ]'
ok $? "and the holds still expire"
check_invariant "after the reloads"
grep -q '" 50[0-9] ' "$STACK_DIR/nginx/access.log"
ok $((! $?)) "no 5xx in nginx's access log"

done_testing
