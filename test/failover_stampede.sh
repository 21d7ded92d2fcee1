#!/usr/bin/env bash
# The primary dies mid-stampede: the standby is promoted, and nothing that
# was acknowledged is lost.
#
# A cluster of scripts/cluster.sh (Patroni over etcd, db1 primary with db2
# its synchronous standby, three app hosts behind the front nginx). Buyers
# (test/chaos_buy through the front, each with its own Idempotency-Key)
# purchase steadily; one EventSource-like watcher (test/sse_follow) per app
# host follows its stream. Mid-run the primary's postmaster is SIGKILLed.
# Then:
#   * Patroni promotes db2, and at no moment are two hosts primary;
#   * every purchase that got a 201, before or after the kill, is in the new
#     primary's database with its item, quantity, buyer and key (lost: 0);
#   * every purchase that got no 201 or 409 (the in-flight errors) is
#     retried with its key and is decided, and 201s retried replay the
#     same order;
#   * the pools and event daemons were not restarted, and serve from the
#     new primary on every host; every watcher ends on the new primary's
#     quantities, and a Last-Event-ID from before the move gets a snapshot;
#   * the old primary comes back as a standby of the new one (pg_rewind).
# Prints: acknowledged: N  lost: N  in-flight errors: N  seconds without a primary: S
. "$LI_SRCDIR/test/cluster_lib.sh"

PURCHASES=${FAILOVER_PURCHASES:-2400}
RATE=${FAILOVER_RATE:-150}
test_cluster_up --workers 4
ADDR=${BASE_URL#http://}
old=$(cluster_primary)
is "$old" db1 "db1 is the primary, db2 its synchronous standby ($(cluster_sync_standby "$old"))"

primary_sql "INSERT INTO lastitem.items (id, name, quantity, initial_quantity) VALUES
    ('failover-a', 'Failover A', 100000, 100000), ('failover-b', 'Failover B', 100000, 100000)" >/dev/null

# ------------------------------------------------------------ the watchers
for host in $CLUSTER_APPS; do
    "$LI_BUILDDIR/test/sse_follow" "$(cluster_addr "$host"):$CLUSTER_APP_PORT" \
        "$TEST_DIR/watch-$host.state" >"$TEST_DIR/watch-$host.out" 2>&1 &
    TEST_EXTRA_PIDS+=("$!")
done
watchers_synced() {
    local host want
    want=$(db_items_state) || return 1
    for host in $CLUSTER_APPS; do
        [ "$(cat "$TEST_DIR/watch-$host.state" 2>/dev/null)" = "$want" ] || return 1
    done
}
wait_until 20 watchers_synced
ok $? "a watcher on each app host follows its stream"
# A plain stream on app1, for its last event id from before the move.
SSE_BASE=$(cluster_app_url app1) sse_open before
declare -A PIDS_BEFORE
for host in $CLUSTER_APPS; do
    PIDS_BEFORE[$host]=$(cluster_app_pids "$host")
done

# ------------------------------------------------------------ the stampede, and the kill
"$LI_BUILDDIR/test/chaos_buy" -c 48 -r "$RATE" -p "fo-$$" "$ADDR" "$PURCHASES" \
    failover-a failover-b >"$TEST_DIR/acks.tsv" 2>"$TEST_DIR/buy.err" &
BUY_PID=$!
TEST_EXTRA_PIDS+=("$BUY_PID")

# Kill a third of the way in, with purchases in flight.
answered_at_least() {
    [ "$(grep -c . "$TEST_DIR/acks.tsv")" -ge "$1" ]
}
wait_until 60 answered_at_least $((PURCHASES / 3))
ok $? "a third of the purchases were answered before the kill"
before_id=$(sse_last_id before)
acked_before=$(awk -F'\t' '$7 == 201' "$TEST_DIR/acks.tsv" | wc -l)
postmaster=$(head -1 "$CLUSTER_DIR/$old/data/postmaster.pid")
killed_at=$(date +%s%N)
kill -KILL "$postmaster"
ok $? "the primary's postmaster ($postmaster) is SIGKILLed with purchases in flight ($acked_before acknowledged so far)"

# Until a new primary: who is primary, every 0.1 s; never two.
two=0 new=
while [ $(( $(date +%s%N) - killed_at )) -lt 90000000000 ]; do
    n=0 p=
    for host in $CLUSTER_DBS; do
        case $(cluster_role "$host") in master|primary) n=$((n + 1)); p=$host ;; esac
    done
    [ "$n" -le 1 ] || two=1
    if [ "$n" = 1 ] && [ "$p" != "$old" ] && [ "$(cluster_primary)" = "$p" ]; then
        new=$p
        break
    fi
    sleep 0.1
done
promoted_at=$(date +%s%N)
without=$(awk -v ns=$((promoted_at - killed_at)) 'BEGIN { printf "%.1f", ns / 1e9 }')
is "$new" db2 "Patroni promoted db2 (after $without s)"
is "$two" 0 "no two hosts were primary at once"

wait "$BUY_PID"
is "$?" 0 "the buyers ran to the end"
is "$(grep -c . "$TEST_DIR/acks.tsv")" "$PURCHASES" "each of the $PURCHASES purchases has its record"

# ------------------------------------------------------------ nothing acknowledged is lost
count() {
    awk -F'\t' "$1 { n++ } END { print n + 0 }" "$TEST_DIR/acks.tsv"
}
acked=$(count '$7 == 201')
errors=$(count '$7 != 201 && $7 != 409')
is "$(count '$7 == 409 && $9 != "contention"')" 0 "no purchase found the stock gone (409s are contention only)"
# The orders of this run in the new primary, as the buyers were told them.
cluster_sql "$new" "COPY (SELECT id, item_id, quantity, buyer, idempotency_key FROM lastitem.orders
                          WHERE buyer LIKE 'fo-$$-%' ORDER BY id) TO STDOUT" >"$TEST_DIR/orders.tsv"
awk -F'\t' '$7 == 201 { print $8 "\t" $2 "\t" $4 "\t" $5 "\t" $6 }' "$TEST_DIR/acks.tsv" |
    sort >"$TEST_DIR/acked.tsv"
sort "$TEST_DIR/orders.tsv" >"$TEST_DIR/orders.sorted"
lost=$(comm -23 "$TEST_DIR/acked.tsv" "$TEST_DIR/orders.sorted" | grep -c .)
is "$lost" 0 "every 201 is in the new primary's database, as the buyer was told it"
comm -23 "$TEST_DIR/acked.tsv" "$TEST_DIR/orders.sorted" | head -3 | sed 's/^/#   lost: /'
acked_after=$((acked - acked_before))
[ "$acked_before" -gt 0 ] && [ "$acked_after" -gt 0 ]
ok $? "purchases were acknowledged both before ($acked_before) and after the kill ($acked_after)"
is "$(count '$7 != 201 && $7 != 409 && $7 != 502 && $7 != 503')" 0 \
    "the in-flight errors are 502 or 503, answers a buyer retries"
echo "# acknowledged: $acked  lost: $lost  in-flight errors: $errors  seconds without a primary: $without"

# ------------------------------------------------------------ retries replay
# retry LINE: the purchase again, same buyer, key and body, through the front.
retry() {
    local item=$2 strategy=$3 quantity=$4 buyer=$5 key=$6
    post_json "/api/items/$item/purchase" \
        "{\"buyer\":\"$buyer\",\"strategy\":\"$strategy\",\"quantity\":$quantity}" \
        -H "Idempotency-Key: $key"
}
bad=0 replayed=0 fresh=0
while IFS=$'\t' read -r -a r; do
    retry "${r[@]}"
    if [ "$HTTP_STATUS" != 201 ]; then
        bad=$((bad + 1)); diag "retry of ${r[5]}: $HTTP_STATUS $(cat "$HTTP_BODY")"
    elif [ "$(header Idempotent-Replayed)" = true ]; then
        replayed=$((replayed + 1))
    else
        fresh=$((fresh + 1))
    fi
done < <(awk -F'\t' '$7 != 201 && $7 != 409' "$TEST_DIR/acks.tsv")
is "$bad" 0 "every in-flight error, retried with its key, is decided 201 ($replayed had committed and replay, $fresh had not)"
mismatch=0
while IFS=$'\t' read -r -a r; do
    retry "${r[@]}"
    [ "$HTTP_STATUS" = 201 ] && [ "$(header Idempotent-Replayed)" = true ] &&
        [ "$(body_json .order.id)" = "${r[7]}" ] || mismatch=$((mismatch + 1))
done < <(awk -F'\t' '$7 == 201' "$TEST_DIR/acks.tsv" | shuf -n 30 --random-source=/dev/zero)
is "$mismatch" 0 "30 acknowledged purchases, retried with their keys, replay their orders"
for item in failover-a failover-b; do
    is "$(invariant "$item")" ok "$item: the invariant holds in the new primary"
done
is "$(cluster_sql "$new" "SELECT count(*) FROM lastitem.orders WHERE buyer LIKE 'fo-$$-%'")" \
    "$((acked + replayed + fresh))" "the orders of the run are the 201s, those the retries replayed, and their new ones: no more"

# ------------------------------------------------------------ no restart needed
for host in $CLUSTER_APPS; do
    is "$(cluster_app_pids "$host")" "${PIDS_BEFORE[$host]}" "$host: the same pool, daemon and nginx"
    for pid in ${PIDS_BEFORE[$host]}; do kill -0 "$pid" 2>/dev/null || ok 1 "$host: $pid died"; done
    BASE_URL=$(cluster_app_url "$host") post_json /api/items/failover-a/purchase \
        "{\"buyer\":\"after-$host\",\"quantity\":1}"
    is "$HTTP_STATUS" 201 "$host: its pool sells again, on the new primary"
done
wait_until 30 app_daemons_up
ok $? "every event daemon streams again"
for host in $CLUSTER_APPS; do
    [ "$(cluster_events_metric "$host" lastitem_events_db_reconnects_total)" -ge 1 ]
    ok $? "$host: its daemon reconnected by itself"
done
events_sync_all() {
    primary_sql "UPDATE lastitem.items SET quantity = quantity + 1 WHERE id = 'charizard-1st-ed'" >/dev/null &&
        wait_until 10 watchers_synced
}
wait_until 40 events_sync_all
ok $? "every watcher ends on the new primary's quantities and versions"
first_after() {
    curl -sN --max-time 3 -H "Last-Event-ID: $before_id" "$(cluster_app_url app1)/api/events" \
        >"$TEST_DIR/after.sse" 2>/dev/null
    grep -m1 '^event:' "$TEST_DIR/after.sse"
}
[ -n "$before_id" ]
ok $? "the stream on app1 had an event id before the move ($before_id)"
is "$(first_after)" "event: snapshot" "resuming from it after the move gets a snapshot"

# ------------------------------------------------------------ the old primary
rejoined() {
    [ "$(cluster_role "$old")" = replica ] && [ "$(cluster_sync_standby "$new")" = "$old" ]
}
wait_until 60 rejoined
ok $? "$old is back as $new's synchronous standby"
tli=$(cluster_sql "$new" "SELECT timeline_id FROM pg_control_checkpoint()")
is "$(cluster_sql "$old" "SELECT received_tli FROM pg_stat_wal_receiver")" "$tli" \
    "$old follows $new's timeline ($tli)"
if grep -q 'running pg_rewind' "$CLUSTER_DIR/$old/patroni.log"; then
    diag "$old was rewound by pg_rewind"
else
    diag "$old had not diverged: it rejoined without pg_rewind"
fi
is "$(cluster_sql "$old" "SELECT pg_is_in_recovery()")" t "$old is in recovery: one primary"

done_testing
