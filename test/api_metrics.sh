#!/usr/bin/env bash
# GET /api/metrics: the pool's counters, summed over its workers.
#   * The answer is valid Prometheus text: every sample is `name{labels}
#     value`, every family has HELP and TYPE; only GET and HEAD.
#   * After purchases made one by one and in a stampede, each counter equals
#     what was done, and the orders in the database; the latency histogram
#     counts every purchase the database answered.
#   * An optimistic purchase that loses a compare-and-swap (made to lose,
#     behind a row lock held from psql) counts exactly one retry.
#   * A worker killed with SIGKILL takes no count with it, and is counted as
#     restarted; backends terminated under the workers are counted as
#     reconnects. Both are logged, one line each, with a timestamp and level.
#   * Out of band: with every worker blocked in the database (behind a row
#     lock held from psql) and more purchases queued behind them, a scrape
#     through nginx's metrics server still answers within 2 s, from the
#     scrape worker of --metrics-listen, and does not yet count the blocked
#     purchases; once the lock is released it does. That socket serves
#     nothing else, and its worker is restarted like the others.
. "$LI_SRCDIR/test/lib.sh"

WORKERS=3
# One request thread per worker: "every worker blocked" below needs each
# blocked purchase to land in a worker of its own, which threads that all
# accept (and then wait for their worker's one connection) do not promise.
test_stack_up --workers "$WORKERS" --threads 1
METRICS=$TEST_DIR/metrics

# scrape: fetches the metrics into $METRICS.
scrape() {
    "$CURL" -s --max-time 10 -o "$METRICS" "$METRICS_URL/api/metrics"
}

# m SAMPLE: the value of one sample of the last scrape ("0" when absent:
# labelled series appear at their first count).
m() {
    awk -v n="$1" '$1 == n { v = $2 } END { print (v == "" ? 0 : v) }' "$METRICS"
}

# m_sum PATTERN: the sum of every sample whose name{labels} matches PATTERN.
m_sum() {
    awk -v p="$1" '$1 !~ /^#/ && $1 ~ p { s += $2 } END { print s + 0 }' "$METRICS"
}

purchases() { m "lastitem_api_purchases_total{strategy=\"$1\",result=\"$2\"}"; }
requests() { m "lastitem_api_requests_total{route=\"$1\",status=\"$2\"}"; }
hist_count() { m "lastitem_api_purchase_duration_seconds_count{strategy=\"$1\"}"; }

# A log line: ISO 8601 UTC time with milliseconds, program[pid], level.
LOG_HEAD='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z lastitem-api\[[0-9]+\]'

# lint FILE: prints every line of FILE that is not a HELP, a TYPE, or a
# sample name{label="v",…} value.
lint() {
    grep -Ev '^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$|^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram)$|^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? [0-9]+(\.[0-9]+)?$' "$1"
}

# The metrics are on nginx's metrics server (127.0.0.1, a port of their
# own), not the public door: test/metrics_private.sh.
metrics_http() {
    local base=$BASE_URL
    BASE_URL=$METRICS_URL
    http "$@"
    BASE_URL=$base
}

# ------------------------------------------------------------ the format
metrics_http GET /api/metrics
is "$HTTP_STATUS" 200 "GET /api/metrics answers 200"
is "$(header Content-Type)" "text/plain; version=0.0.4; charset=utf-8" \
    "as Prometheus text 0.0.4"
cp "$HTTP_BODY" "$METRICS"

 bad=$(lint "$METRICS")
is "$bad" "" "every line is a HELP, a TYPE or a sample with a number"
# Every sample's family (histogram suffixes stripped) has a HELP and a TYPE.
untyped=$(awk '
    /^# HELP / { help[$3] = 1; next }
    /^# TYPE / { type[$3] = 1; next }
    {
        name = $1; sub(/\{.*/, "", name); fam = name
        sub(/_(bucket|sum|count)$/, "", fam)
        if (!((name in type && name in help) || (fam in type && fam in help))) print name
    }' "$METRICS" | sort -u)
is "$untyped" "" "every sample's family has # HELP and # TYPE"
for f in requests_total purchases_total optimistic_retries_total \
         purchase_duration_seconds db_reconnects_total workers_restarted_total \
         workers scrape_workers start_time_seconds; do
    grep -q "^# TYPE lastitem_api_$f " "$METRICS"
    ok $? "lastitem_api_$f is there"
done
is "$(m lastitem_api_workers)" "$WORKERS" "the workers gauge says $WORKERS"
is "$(m lastitem_api_scrape_workers)" 1 "the scrape_workers gauge says 1"
now=$(date +%s)
started=$(m lastitem_api_start_time_seconds)
[ "$started" -le "$now" ] && [ "$started" -gt $((now - 600)) ]
ok $? "start_time_seconds is a moment of the last minutes ($started)"

metrics_http HEAD /api/metrics
is "$HTTP_STATUS" 200 "HEAD /api/metrics answers 200"
metrics_http POST /api/metrics
is "$HTTP_STATUS" 405 "POST /api/metrics answers 405"
is "$(header Allow)" "GET, HEAD" "with Allow: GET, HEAD"
is "$(body_json .code)" method_not_allowed "as problem+json method_not_allowed"

# ------------------------------------------------------------ one by one
scrape
cp "$METRICS" "$TEST_DIR/before"
for i in 1 2 3 4 5 6 7 8; do
    post_json /api/items/golden-ticket/purchase "{\"buyer\":\"one-$i\"}"
    codes="${codes:-} $HTTP_STATUS"
done
is "$codes" " 201 201 201 201 201 409 409 409" "8 purchases of a stock of 5: five 201, three 409"
post_json /api/items/golden-ticket/purchase '{"quantity":'
is "$HTTP_STATUS" 400 "a body that does not parse: 400"
post_json /api/items/golden-ticket/purchase '{"strategy":"naive"}'
is "$HTTP_STATUS" 403 "naive without --allow-unsafe: 403"
post_json /api/items/no-such-item/purchase '{}'
is "$HTTP_STATUS" 404 "an unknown item: 404"
http GET /api/nothing
is "$HTTP_STATUS" 404 "an unknown path: 404"
scrape

orders=$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE item_id = 'golden-ticket'")
is "$orders" 5 "the database has 5 orders of golden-ticket"
is "$(purchases pessimistic created)" "$orders" "purchases created = the orders in the database"
is "$(purchases pessimistic sold_out)" 3 "purchases sold_out = 3"
is "$(purchases pessimistic not_found)" 1 "purchases not_found = 1"
is "$(purchases naive forbidden)" 1 "purchases forbidden (naive) = 1"
is "$(purchases unknown bad_request)" 1 "purchases bad_request (strategy unknown) = 1"
is "$(requests purchase 201) $(requests purchase 409) $(requests purchase 400) $(requests purchase 403) $(requests purchase 404)" \
    "5 3 1 1 1" "requests of purchase by status: 201 5, 409 3, 400 1, 403 1, 404 1"
is "$(requests other 404)" 1 "the unknown path is counted as route other, 404"
is "$(hist_count pessimistic)" 9 \
    "the latency histogram counts the 9 purchases the database answered"
is "$(m 'lastitem_api_purchase_duration_seconds_bucket{strategy="pessimistic",le="+Inf"}')" 9 \
    "its +Inf bucket too"
is "$(m_sum '^lastitem_api_purchases_total')" "$(m_sum '^lastitem_api_requests_total\{route="purchase"')" \
    "every purchase request is counted once in purchases_total"
is "$(invariant golden-ticket)" ok "the invariant holds"

# ------------------------------------------------------------ a stampede
"$LI_SRCDIR/test/stampede" -n 80 -s atomic -i launch-hoodie -u "$BASE_URL" >"$TEST_DIR/stampede" 2>&1
ok $? "80 buyers at once on launch-hoodie (50), atomic: the stampede's own checks hold"
scrape
orders=$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE item_id = 'launch-hoodie' AND strategy = 'atomic'")
is "$orders" 50 "the database has 50 atomic orders of launch-hoodie"
is "$(purchases atomic created)" "$orders" "purchases created (atomic) = the orders in the database"
is "$(purchases atomic sold_out)" 30 "purchases sold_out (atomic) = 30"
is "$(requests purchase 201)" $((5 + 50)) "requests of purchase answered 201: 5 + 50"
is "$(requests purchase 409)" $((3 + 30)) "requests of purchase answered 409: 3 + 30"
is "$(hist_count atomic)" 80 "the histogram counts all 80"
is "$(invariant launch-hoodie)" ok "the invariant holds"

# ------------------------------------------------------------ optimistic retries
is "$(m lastitem_api_optimistic_retries_total)" 0 "no optimistic retry yet"
# psql changes charizard-1st-ed's version and holds the row until the
# purchase below has read the old version and waits on the row lock; then
# commits. The purchase's compare-and-swap then fails once, and it tries again.
stack_sql "BEGIN;
    UPDATE lastitem.items SET version = version + 1 WHERE id = 'charizard-1st-ed';
    DO \$\$ BEGIN
        FOR i IN 1 .. 600 LOOP
            EXIT WHEN EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted);
            PERFORM pg_sleep(0.05);
        END LOOP;
    END \$\$;
    COMMIT;" >/dev/null &
locker=$!
TEST_EXTRA_PIDS+=("$locker")
row_held() {
    [ "$(stack_sql "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                     WHERE c.relname = 'items' AND l.mode = 'RowExclusiveLock'
                       AND l.pid <> pg_backend_pid()")" -ge 1 ]
}
wait_until 30 row_held
ok $? "psql holds the row of charizard-1st-ed"
post_json /api/items/charizard-1st-ed/purchase '{"strategy":"optimistic","buyer":"raced"}'
is "$HTTP_STATUS" 201 "the optimistic purchase behind the lock answers 201"
wait "$locker"
ok $? "psql committed after the purchase had waited on the row"
scrape
is "$(m lastitem_api_optimistic_retries_total)" 1 \
    "exactly one optimistic retry counted: its first compare-and-swap lost"
is "$(purchases optimistic created)" 1 "one optimistic purchase created"
is "$(invariant charizard-1st-ed)" ok "the invariant holds"

# Many optimistic buyers on one item: each retry the database reports is
# counted (how many there are depends on the race).
post_json /api/reset '{"quantity":40}'
is "$HTTP_STATUS" 200 "reset to 40 of each"
"$LI_SRCDIR/test/stampede" -n 60 -s optimistic -i launch-hoodie -u "$BASE_URL" >"$TEST_DIR/optimistic" 2>&1
ok $? "60 optimistic buyers on 40: the stampede's own checks hold"
scrape
retries=$(m lastitem_api_optimistic_retries_total)
diag "optimistic retries in the race: $((retries - 1))"
[ "$retries" -ge 1 ]
ok $? "retries only grow ($retries)"
orders=$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE item_id = 'launch-hoodie'")
is "$orders" 40 "the database has 40 orders of launch-hoodie"
is "$(( $(purchases optimistic created) - 1 ))" "$orders" \
    "purchases created (optimistic) since = the orders in the database"
is "$(( $(purchases optimistic created) - 1 + $(purchases optimistic sold_out) + $(purchases optimistic contention) ))" \
    60 "created + sold_out + contention of the race = 60"

# ------------------------------------------------------------ a worker dies
sleep 1.2   # older than a second: a plain restart, not a failed start
scrape
grep -v 'route="metrics"' "$METRICS" | grep -v '^lastitem_api_workers' >"$TEST_DIR/before"
restarted=$(m lastitem_api_workers_restarted_total)
victim=$(pool_workers | head -1)
kill -KILL "$victim"
restart_logged() {
    grep -Eq "$LOG_HEAD warn: worker $victim was killed by signal 9; restarting it\$" \
        "$STACK_DIR/api.log"
}
wait_until 10 restart_logged
ok $? "the log has one warn line, with its time, for worker $victim killed by signal 9"
replaced() {
    grep -Eq "$LOG_HEAD info: worker [0-9]+ started, replacing worker $victim\$" \
        "$STACK_DIR/api.log"
}
wait_until 10 replaced
ok $? "and one info line for the worker that replaced it"
full_pool() {
    scrape && [ "$(m lastitem_api_workers)" = "$WORKERS" ] &&
        [ "$(pool_workers | grep -c .)" = "$WORKERS" ]
}
wait_until 10 full_pool
ok $? "the workers gauge is back to $WORKERS"
is "$(m lastitem_api_workers_restarted_total)" $((restarted + 1)) \
    "workers_restarted_total went up by one"
grep -v 'route="metrics"' "$METRICS" | grep -v '^lastitem_api_workers' >"$TEST_DIR/after"
is "$(diff "$TEST_DIR/before" "$TEST_DIR/after")" "" \
    "every other count is what it was: nothing died with the worker"

# ------------------------------------------------------------ the database goes away
all_connected() {
    [ "$(stack_sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'lastitem_app'
                     AND application_name = 'lastitem-api'")" -eq "$WORKERS" ]
}
wait_until 10 all_connected
ok $? "each worker holds its connection"
reconnects=$(m lastitem_api_db_reconnects_total)
n=$(stack_sql "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))
                 FROM pg_stat_activity WHERE usename = 'lastitem_app'
                  AND application_name = 'lastitem-api'")
is "$n" "$WORKERS" "every backend of the pool's workers is terminated"
codes=
for ((i = 0; i < WORKERS * 3; i++)); do
    http GET /api/items
    codes="$codes $HTTP_STATUS"
done
is "$codes" "$(printf ' 200%.0s' $(seq 1 $((WORKERS * 3))))" "the requests after it all answer 200"
scrape
got=$(m lastitem_api_db_reconnects_total)
[ "$got" -gt "$reconnects" ] && [ "$got" -le $((reconnects + WORKERS)) ]
ok $? "db_reconnects_total grew, by at most one per worker ($reconnects -> $got)"
lost=$(grep -Ec "$LOG_HEAD warn: database connection lost while idle, closed by the server: terminating connection due to administrator command$" "$STACK_DIR/api.log")
regained=$(grep -Ec "$LOG_HEAD info: database connection regained [0-9]+\.[0-9]{3} s after it was found lost, [0-9]+ failed attempts\$" "$STACK_DIR/api.log")
[ "$lost" -ge 1 ] && [ "$lost" -le "$WORKERS" ]
ok $? "one warn line, with its time, per worker that found its connection lost ($lost)"
is "$regained" "$got" "one info line per reconnect, saying after how long"

# ------------------------------------------------------------ out of band
# psql takes the row of launch-hoodie FOR UPDATE and keeps its transaction
# open (its input is a fifo we hold), so every pessimistic purchase of it
# waits in the database: WORKERS of them hold every worker, the rest queue
# on the pool's socket.
post_json /api/reset '{"quantity":40}'
is "$HTTP_STATUS" 200 "reset to 40 of each"
scrape
created=$(purchases pessimistic created)
mkfifo "$TEST_DIR/lock.fifo"
"$PG_BINDIR/psql" -X -At -v ON_ERROR_STOP=1 "$(stack_admin_conninfo)" \
    <"$TEST_DIR/lock.fifo" >"$TEST_DIR/lock.out" 2>&1 &
TEST_EXTRA_PIDS+=("$!")
locker=$!
exec 7>"$TEST_DIR/lock.fifo"
echo "BEGIN; SELECT 'locked ' || id FROM lastitem.items WHERE id = 'launch-hoodie' FOR UPDATE;" >&7
locked() { grep -q '^locked launch-hoodie$' "$TEST_DIR/lock.out"; }
wait_until 30 locked
ok $? "psql holds the row of launch-hoodie"
BLOCKED=$((WORKERS + 5))
for ((i = 1; i <= BLOCKED; i++)); do
    "$CURL" -s -o /dev/null -w '%{http_code}\n' --max-time 120 \
        -H 'Content-Type: application/json' -H "Idempotency-Key: blocked-key-$i" \
        --data "{\"buyer\":\"blocked-$i\",\"strategy\":\"pessimistic\"}" \
        "$BASE_URL/api/items/launch-hoodie/purchase" >"$TEST_DIR/blocked.$i" &
    TEST_EXTRA_PIDS+=("$!")
    buyers+=("$!")
done
workers_waiting() {
    [ "$(stack_sql "SELECT count(DISTINCT a.pid) FROM pg_stat_activity a
                     WHERE a.usename = 'lastitem_app' AND a.wait_event_type = 'Lock'")" -ge "$WORKERS" ]
}
wait_until 30 workers_waiting
ok $? "all $WORKERS workers wait on the row lock, $((BLOCKED - WORKERS)) more purchases queue behind them"
sleep 0.5   # let the queued ones reach the pool's socket
rm -f "$METRICS"   # a scrape that times out must not leave an old one
start=$(date +%s%N)
code=$("$CURL" -s --max-time 2 -o "$METRICS" -w '%{http_code}' "$METRICS_URL/api/metrics")
took=$(( ($(date +%s%N) - start) / 1000000 ))
diag "the scrape took $took ms"
is "$code" 200 "with every worker blocked, GET /api/metrics answers 200 within 2 s"
[ -s "$METRICS" ] && [ -z "$(lint "$METRICS")" ]
ok $? "valid Prometheus text"
is "$(m lastitem_api_workers)" "$WORKERS" "the workers gauge says $WORKERS"
is "$(purchases pessimistic created)" "$created" \
    "the blocked purchases are not counted yet"
"$CURL" -s --max-time 2 -o "$TEST_DIR/health" -w '%{http_code}' "$BASE_URL/api/health" >"$TEST_DIR/health.code"
is "$(cat "$TEST_DIR/health.code") $(jq -r .database "$TEST_DIR/health" 2>/dev/null)" "200 ok" \
    "GET /api/health answers 200 within 2 s too, the database ok"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE buyer LIKE 'blocked-%'")" 0 \
    "no blocked purchase has an order yet"

echo "COMMIT;" >&7
exec 7>&-
wait "$locker"
ok $? "psql committed and let go of the row"
codes=
for pid in "${buyers[@]}"; do wait "$pid"; done
for ((i = 1; i <= BLOCKED; i++)); do codes="$codes $(cat "$TEST_DIR/blocked.$i")"; done
is "$codes" "$(printf ' 201%.0s' $(seq 1 "$BLOCKED"))" "then all $BLOCKED purchases answer 201"
scrape
is "$(purchases pessimistic created)" $((created + BLOCKED)) \
    "and the metrics count all $BLOCKED of them"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE buyer LIKE 'blocked-%'")" "$BLOCKED" \
    "the database has their $BLOCKED orders"
is "$(invariant launch-hoodie)" ok "the invariant holds"

# The scrape socket answers metrics and health only: anything else is a 404,
# and never runs (asked straight over FastCGI: nginx sends nothing else there).
if command -v cgi-fcgi >/dev/null 2>&1; then
    out=$(REQUEST_METHOD=GET DOCUMENT_URI=/api/items REQUEST_URI=/api/items \
        cgi-fcgi -bind -connect "$STACK_METRICS_SOCK" 2>&1)
    [[ "$out" == *"Status: 404"* && "$out" == *'"code":"not_found"'* ]]
    ok $? "GET /api/items on the scrape socket: 404 problem+json"
    out=$(REQUEST_METHOD=POST DOCUMENT_URI=/api/items/launch-hoodie/purchase \
        CONTENT_TYPE=application/json CONTENT_LENGTH=2 \
        cgi-fcgi -bind -connect "$STACK_METRICS_SOCK" <<<'{}' 2>&1)
    [[ "$out" == *"Status: 404"* ]]
    ok $? "a purchase on the scrape socket: 404"
    out=$(REQUEST_METHOD=GET DOCUMENT_URI=/api/metrics \
        cgi-fcgi -bind -connect "$STACK_METRICS_SOCK" 2>&1)
    [[ "$out" == *"Status: 200"* && "$out" == *"lastitem_api_scrape_workers 1"* ]]
    ok $? "GET /api/metrics on it: 200"
else
    ok 0 "# SKIP no cgi-fcgi (libfcgi-bin)"
    ok 0 "# SKIP no cgi-fcgi (libfcgi-bin)"
    ok 0 "# SKIP no cgi-fcgi (libfcgi-bin)"
fi
is "$(invariant launch-hoodie)" ok "the invariant holds: the refused purchase ran nothing"

# The scrape worker is watched like the others.
scrape
restarted=$(m lastitem_api_workers_restarted_total)
victim=$(pool_scrape_worker)
[ -n "$victim" ]
ok $? "the scrape worker runs ($victim), named lastitem-scrape"
kill -KILL "$victim"
scrape_back() {
    local now
    now=$(pool_scrape_worker)
    [ -n "$now" ] && [ "$now" != "$victim" ] && scrape &&
        [ "$(m lastitem_api_scrape_workers)" = 1 ]
}
wait_until 10 scrape_back
ok $? "killed, it is replaced and answers again"
is "$(m lastitem_api_workers_restarted_total)" $((restarted + 1)) \
    "workers_restarted_total went up by one"
grep -Eq "$LOG_HEAD warn: scrape worker $victim was killed by signal 9; restarting it\$" \
    "$STACK_DIR/api.log"
ok $? "the log names the scrape worker that died"

# ------------------------------------------------------------ the whole log
grep -Eqv "$LOG_HEAD (info|warn|error): " "$STACK_DIR/api.log"
ok $(( ! $? )) "every line of the pool's log has a timestamp and a level"

done_testing
