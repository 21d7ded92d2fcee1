#!/usr/bin/env bash
# Three app hosts, one primary: the stampede is decided once, and every
# sale reaches every host's streams.
#
# A cluster of scripts/cluster.sh: PostgreSQL on db1 with its synchronous
# standby db2 (Patroni, etcd), app1, app2 and app3 each running nginx, the
# pool and the event daemon against "db1,db2" with
# target_session_attrs=read-write, and the front nginx over them. Then:
#   * the primary commits synchronously to the standby;
#   * the front answers from each of the three hosts (X-Lastitem-Host), and
#     serves the page;
#   * 3,000 buyers, 1,000 straight to each host, on one item of stock 1:
#     exactly one 201; on one of stock 100: exactly 100; every other answer
#     a 409; the invariant holds in the database, where the orders are the
#     201s;
#   * a sale through each host reaches the streams held on the other two.
. "$LI_SRCDIR/test/cluster_lib.sh"

BUYERS_PER_HOST=1000
test_cluster_up --workers 4

# ------------------------------------------------------------ replication
primary=$(cluster_primary)
is "$primary" db1 "db1 is the primary"
is "$(cluster_sync_standby "$primary")" db2 "db2 is its synchronous standby"
is "$(primary_sql "SHOW synchronous_commit")" on "synchronous_commit is on"
[ -n "$(primary_sql "SHOW synchronous_standby_names")" ]
ok $? "synchronous_standby_names names the standby: $(primary_sql "SHOW synchronous_standby_names")"
is "$(primary_sql "SELECT sync_state FROM pg_stat_replication")" sync \
    "the primary sees the standby's replication as sync"
is "$(cluster_sql db2 "SELECT pg_is_in_recovery()")" t "db2 is in recovery"

# ------------------------------------------------------------ the front
: >"$TEST_DIR/hosts"
for i in 1 2 3 4 5 6; do
    http GET /api/items
    [ "$HTTP_STATUS" = 200 ] && header X-Lastitem-Host >>"$TEST_DIR/hosts"
done
is "$(sort -u "$TEST_DIR/hosts" | tr '\n' ' ')" "app1 app2 app3 " \
    "the front nginx spreads requests over app1, app2 and app3, each naming itself"
http GET /
[ "$HTTP_STATUS" = 200 ] && grep -q '<title>' "$HTTP_BODY"
ok $? "the page is served through the front"
http GET /js/api.js
grep -q 'X-Lastitem-Host' "$HTTP_BODY"
ok $? "and its script shows which host answered"

# ------------------------------------------------------------ the streams
# One client on each host, straight to its nginx.
for host in $CLUSTER_APPS; do
    SSE_BASE=$(cluster_app_url "$host") sse_open "$host"
done
opened() {
    local host
    for host in $CLUSTER_APPS; do sse_has "$host" snapshot || return 1; done
}
wait_until 20 opened
ok $? "a stream is open on each host, each with its snapshot"

primary_sql "INSERT INTO lastitem.items (id, name, quantity, initial_quantity) VALUES
    ('cluster-one', 'One left', 1, 1), ('cluster-hundred', 'A hundred', 100, 100),
    ('cluster-fan', 'Fan-out', 10, 10)" >/dev/null

# ------------------------------------------------------------ the stampedes
# stampede ITEM: 1,000 buyers at each host at once; the answers in ITEM.tsv.
stampede() {
    local item=$1 host pids=()
    for host in $CLUSTER_APPS; do
        "$LI_BUILDDIR/test/chaos_buy" -c 64 -q 1 -p "$item-$host-$$" \
            "$(cluster_addr "$host"):$CLUSTER_APP_PORT" "$BUYERS_PER_HOST" "$item" \
            >"$TEST_DIR/$item-$host.tsv" 2>>"$TEST_DIR/buy.err" &
        pids+=("$!")
    done
    local rc=0 pid
    for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
    cat "$TEST_DIR/$item"-app?.tsv >"$TEST_DIR/$item.tsv"
    return $rc
}
count() {  # count FILE AWK-CONDITION
    awk -F'\t' "$2 { n++ } END { print n + 0 }" "$1"
}

for case in "cluster-one 1" "cluster-hundred 100"; do
    set -- $case
    item=$1 stock=$2
    started=$(date +%s%N)
    stampede "$item"
    ok $? "$((3 * BUYERS_PER_HOST)) buyers of $item (stock $stock) ran to the end"
    took=$(( ($(date +%s%N) - started) / 1000000 ))
    tsv=$TEST_DIR/$item.tsv
    n201=$(count "$tsv" '$7 == 201')
    n409=$(count "$tsv" '$7 == 409')
    diag "$item: 201: $n201  409: $n409  other: $(count "$tsv" '$7 != 201 && $7 != 409')  in $took ms"
    is "$(grep -c . "$tsv")" $((3 * BUYERS_PER_HOST)) "every buyer of $item has an answer"
    is "$n201" "$stock" "$item: exactly $stock purchases got 201"
    is "$((n201 + n409))" $((3 * BUYERS_PER_HOST)) "$item: every other answer is 409"
    for host in $CLUSTER_APPS; do
        [ "$(count "$TEST_DIR/$item-$host.tsv" '$7 == 201 || $7 == 409')" = "$BUYERS_PER_HOST" ]
        ok $? "$item: $host decided all of its $BUYERS_PER_HOST"
    done
    is "$(invariant "$item")" ok "$item: the invariant holds in the database"
    is "$(primary_sql "SELECT quantity FROM lastitem.items WHERE id = '$item'")" 0 \
        "$item: the stock is 0 in the database"
    is "$(primary_sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM lastitem.orders WHERE item_id = '$item'")" \
        "$(awk -F'\t' '$7 == 201 { print $8 }' "$tsv" | sort -n | paste -sd,)" \
        "$item: the orders in the database are exactly the 201s"
done
sold_by=$(awk -F'\t' '$7 == 201 { split($5, b, "-"); print b[3] }' "$TEST_DIR/cluster-hundred.tsv" | sort | uniq -c | awk '{ printf "%s %s  ", $2, $1 }')
diag "the hundred sold per host: $sold_by"

# ------------------------------------------------------------ fan-out
# A sale through each host: its order event on the streams of the others.
for seller in $CLUSTER_APPS; do
    BASE_URL=$(cluster_app_url "$seller") post_json /api/items/cluster-fan/purchase \
        "{\"buyer\":\"fan-$seller\",\"quantity\":1}"
    is "$HTTP_STATUS" 201 "a sale through $seller"
    order=$(body_json .order.id)
    for watcher in $CLUSTER_APPS; do
        [ "$watcher" = "$seller" ] && continue
        wait_until 10 sse_has_order "$watcher" "$order"
        ok $? "reaches the stream held on $watcher (order $order)"
    done
done
# Through the front: a page's stream and a stream of every order (each
# kind in a location of its own there, nginx/cluster-front.conf.in).
SSE_BASE=$CLUSTER_URL sse_open front_page -G -d orders=summary
SSE_BASE=$CLUSTER_URL sse_open front_all
wait_until 20 sse_has front_page snapshot && wait_until 20 sse_has front_all snapshot
ok $? "through the front, a page's stream and a stream of every order open"
BASE_URL=$CLUSTER_URL post_json /api/items/cluster-fan/purchase '{"buyer":"fan-front","quantity":1}'
is "$HTTP_STATUS" 201 "a sale through the front"
order=$(body_json .order.id)
wait_until 10 sse_has_order front_all "$order"
ok $? "reaches the front's stream of every order as an order (order $order)"
wait_until 10 sse_has front_page orders
ok $? "and the front's page stream as orders"
is "$(sse_count front_page order) $(sse_count front_all orders)" "0 0" "neither gets the other kind"
sse_close front_page
sse_close front_all

for host in $CLUSTER_APPS; do
    for pid in $(cluster_app_pids "$host"); do
        kill -0 "$pid" 2>/dev/null || { ok 1 "$host: process $pid is gone"; continue 2; }
    done
    ok 0 "$host: nginx, the pool and the event daemon are still running"
done

done_testing
