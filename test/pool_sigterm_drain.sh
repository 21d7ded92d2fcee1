#!/usr/bin/env bash
# SIGTERM to the master drains the pool: each worker finishes the request in
# its hands and exits, so the master exits 0 at once, removing its socket,
# even while a crowd is still buying. Everything answered 201 is recorded,
# and everything that reached the pool too late gets nginx's 503. An idle
# pool stops at once.
. "$LI_SRCDIR/test/lib.sh"

WORKERS=4
# Enough buyers to keep the pool busy for seconds: a pool that served its
# whole queue before stopping would take that long to exit.
BUYERS=4000
STOCK=100000
test_stack_up --workers "$WORKERS"

# exited PID: the child PID has exited (gone, or a zombie waiting for wait).
exited() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null)
    [ -z "$state" ] || [ "${state:0:1}" = Z ]
}

pids_gone() {
    local pid
    for pid in "$@"; do
        kill -0 "$pid" 2>/dev/null && return 1
    done
    return 0
}

# purchase_batch N ITEM PREFIX DIR: N concurrent purchases of ITEM by buyers
# PREFIX-1… in the background (pid in BATCH_PIDS); each status code goes to
# DIR/codes*, each body to DIR/answer<i>.
purchase_batch() {
    local n=$1 item=$2 prefix=$3 dir=$4 per_curl=200 i b
    mkdir -p "$dir"
    BATCH_PIDS=()
    for ((b = 0; b * per_curl < n; b++)); do
        for ((i = b * per_curl + 1; i <= n && i <= (b + 1) * per_curl; i++)); do
            [ "$i" -eq $((b * per_curl + 1)) ] || echo next
            printf '%s\n' "url = \"$BASE_URL/api/items/$item/purchase\"" \
                'request = "POST"' 'header = "Content-Type: application/json"' \
                "data = \"{\\\"buyer\\\":\\\"$prefix-$i\\\"}\"" \
                "output = \"$dir/answer$i\"" 'write-out = "%{http_code}\n"' 'max-time = 30'
        done >"$dir/batch$b"
    done
    for ((b = 0; b * per_curl < n; b++)); do
        "$CURL" -s --parallel --parallel-immediate --parallel-max "$per_curl" \
            -K "$dir/batch$b" >"$dir/codes$b" 2>/dev/null &
        BATCH_PIDS+=($!)
    done
}

# log_ms PID TEXT: when the master PID logged TEXT, in ms since midnight.
log_ms() {
    grep -m1 "lastitem-api\[$1\] info: $2" "$STACK_DIR/api.log" |
        sed -E 's/^[0-9-]+T([0-9]+):([0-9]+):([0-9.]+)Z.*/\1 \2 \3/' |
        awk '{ printf "%d", ($1 * 3600 + $2 * 60 + $3) * 1000 }'
}

# drain_took PID: ms from the master's "stopping" to its "stopped" (a huge
# number when either is missing from its log).
drain_took() {
    local from to ms
    from=$(log_ms "$1" stopping)
    to=$(log_ms "$1" stopped)
    if [ -z "$from" ] || [ -z "$to" ]; then
        echo 999999
        return
    fi
    ms=$((to - from))
    [ "$ms" -ge 0 ] || ms=$((ms + 86400000))     # past midnight
    echo "$ms"
}

orders_at_least() {
    [ "$(stack_sql "SELECT count(*) FROM lastitem.orders")" -ge "$1" ]
}

# ------------------------------------------------------------ in flight
stack_sql "UPDATE lastitem.items SET quantity = $STOCK, initial_quantity = $STOCK
            WHERE id = 'launch-hoodie'" >/dev/null
workers=$(pool_workers)
out=$TEST_DIR/batch
purchase_batch "$BUYERS" launch-hoodie drain "$out"

# Send SIGTERM once the database shows purchases are going through.
wait_until 10 orders_at_least 10
ok $? "purchases are being made"
kill -TERM "$POOL_PID"
sigterm_at=$(date +%s%N)
in_flight=0
for pid in "${BATCH_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null && in_flight=1
done
is "$in_flight" 1 "SIGTERM reaches the master while the clients are still waiting for answers"

wait_until 10 exited "$POOL_PID"
ok $? "the master exits within 10 s"
took=$(( ($(date +%s%N) - sigterm_at) / 1000000 ))
master=$POOL_PID
wait "$POOL_PID"
is "$?" 0 "the master exits 0"
POOL_PID=
# The drain as the master timed it: this shell, starved by thousands of
# transfers on two cores, may notice the exit much later.
drain_ms=$(drain_took "$master")
diag "master gone $took ms after SIGTERM; its drain took $drain_ms ms"
ok $(( drain_ms > 1500 )) "the drain takes under 1.5 s: the workers finish what they hold, not the queue"
# shellcheck disable=SC2086  # one pid per word
pids_gone $workers
ok $? "every worker has exited too"
[ ! -e "$STACK_API_SOCK" ]
ok $? "the socket file is removed"
grep -q 'workers still busy' "$STACK_DIR/api.log"
ok $((!$?)) "no worker had to be killed: in-flight requests finished within the drain timeout"

wait "${BATCH_PIDS[@]}"
cat "$out"/codes* >"$out/codes"
answered=$(grep -c . "$out/codes")
is "$answered" "$BUYERS" "every client got an answer"
created=$(grep -c '^201$' "$out/codes")
refused=$(grep -c '^503$' "$out/codes")
sold_out=$(grep -c '^409$' "$out/codes")
diag "$created answered 201, $sold_out 409, $refused 503"
others=$(grep -v -x -e 201 -e 409 -e 503 "$out/codes" | sort | uniq -c | tr -s ' \n' ' ')
is "$others" "" "every answer is 201, 409 or 503"
ok $(( created == 0 )) "some purchases in flight were answered 201"
ok $(( refused == 0 )) "the requests that came after the pool stopped answer 503"
# Every body, one line each: "status code" of a problem, or "201 order-id buyer".
"$JQ" -r 'if .order then "201 \(.order.id) \(.order.buyer) \(input_filename)"
          else "\(.status) \(.code)" end' "$out"/answer* >"$out/bodies" 2>/dev/null
is "$(grep -c '^503 ' "$out/bodies")" "$refused" "every 503 has a problem+json body"
is "$(grep -c '^503 unavailable$' "$out/bodies")" "$refused" "with the code unavailable"
is "$(grep -c '^409 sold_out$' "$out/bodies")" "$sold_out" "every 409 is sold_out"

# The database outlives the pool: read it as the superuser.
orders=$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE buyer LIKE 'drain-%'")
is "$orders" "$created" "every 201 has its order, and every order had its 201"
# Each 201 names its order: all of them exist, for the buyer that was told so
# (answerN went to buyer drain-N).
told=$(awk '$1 == 201 { sub(/.*answer/, "", $4); printf "%s(%s, \x27drain-%s\x27)", sep, $2, $4; sep = "," }' \
    "$out/bodies")
if [ -n "$told" ]; then
    missing=$(stack_sql "SELECT count(*) FROM (VALUES $told) AS t(id, buyer)
                          WHERE NOT EXISTS (SELECT 1 FROM lastitem.orders o
                                             WHERE o.id = t.id AND o.buyer = t.buyer)")
else
    missing=none
fi
is "$missing" 0 "the order id in each 201 is in the database, with its buyer"
is "$(invariant launch-hoodie)" ok "the invariant holds"

# ------------------------------------------------------------ idle
pool_start --workers 2 --drain-timeout 5
http GET /api/health
is "$HTTP_STATUS" 200 "a new pool on the same socket serves"
workers=$(pool_workers)
sleep 0.5
start=$(date +%s%N)
kill -TERM "$POOL_PID"
wait_until 5 exited "$POOL_PID"
ok $? "SIGTERM on an idle pool: the master exits within 5 s"
took=$(( ($(date +%s%N) - start) / 1000000 ))
master=$POOL_PID
wait "$POOL_PID"
is "$?" 0 "it exits 0"
POOL_PID=
drain_ms=$(drain_took "$master")
diag "idle pool gone $took ms after SIGTERM; its drain took $drain_ms ms"
ok $(( drain_ms > 1000 )) "its drain takes under 1 s"
# shellcheck disable=SC2086
pids_gone $workers
ok $? "its workers have exited"
[ ! -e "$STACK_API_SOCK" ]
ok $? "its socket file is removed"
http GET /api/health
is "$HTTP_STATUS:$(body_json .code)" 503:unavailable "nginx answers 503 unavailable for the stopped pool"

done_testing
