#!/usr/bin/env bash
# The database goes away and comes back; the pool rides it out.
#   * Its backends are terminated while idle: the workers notice the dead
#     connection before they use it, reconnect, and the next requests succeed.
#   * PostgreSQL stops: every request that needs it answers 503 problem+json
#     "unavailable" with Retry-After at once, never another 5xx, never a hang,
#     and no worker dies.
#   * PostgreSQL starts again: within a few seconds the pool serves again.
. "$LI_SRCDIR/test/lib.sh"

WORKERS=2
test_stack_up --workers "$WORKERS"

app_backends() {
    stack_sql "SELECT pid FROM pg_stat_activity WHERE usename = 'lastitem_app'
                 AND application_name = 'lastitem-api' ORDER BY pid"
}

# buy BUYER [ITEM]: one purchase of ITEM (launch-hoodie), at most 5 s.
buy() {
    post_json "/api/items/${2:-launch-hoodie}/purchase" "{\"buyer\":\"$1\"}" --max-time 5
}

# Requests that need the database. Each is run by `http`, which sets
# HTTP_STATUS, HTTP_HEAD and HTTP_BODY.
requests=(
    "http GET /api/health --max-time 5"
    "buy during-outage"
    "http GET /api/items --max-time 5"
    "buy during-outage golden-ticket"
    "http GET /api/orders --max-time 5"
)

# terminate_app_backends: terminates every backend of lastitem_app and prints
# how many. pg_terminate_backend(pid, timeout) waits until each has gone, so
# the workers' connections are dead, not dying, before the next request.
terminate_app_backends() {
    stack_sql "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))
                 FROM pg_stat_activity WHERE usename = 'lastitem_app'
                  AND application_name = 'lastitem-api'"
}

all_connected() {
    [ "$(app_backends | grep -c .)" -eq "$WORKERS" ]
}

# Each worker connects when it starts.
workers_before=$(pool_workers | sort)
is "$(echo "$workers_before" | grep -c .)" "$WORKERS" "$WORKERS workers are running"
wait_until 5 all_connected
ok $? "each worker holds one connection as lastitem_app"
backends_before=$(app_backends)

# ------------------------------------------------------------ terminated backends
is "$(terminate_app_backends)" "$WORKERS" "every backend of lastitem_app is terminated"
# Purchases are never retried by the pool (a broken one might have committed),
# so only a worker that checks its idle connection first gets these right.
codes=
for ((i = 1; i <= WORKERS * 4; i++)); do
    buy "after-terminate-$i"
    codes="$codes $HTTP_STATUS"
done
is "$codes" "$(printf ' 201%.0s' $(seq 1 $((WORKERS * 4))))" \
    "every purchase after the backends were terminated answers 201"

# (A worker that served none of those purchases has no backend left to end.)
n=$(terminate_app_backends)
ok $(( n < 1 )) "the backends of lastitem_app are terminated again ($n of them)"
codes=
for ((i = 1; i <= WORKERS * 2; i++)); do
    http GET /api/health --max-time 5
    codes="$codes $HTTP_STATUS"
    http GET /api/items --max-time 5
    codes="$codes $HTTP_STATUS"
done
is "$codes" "$(printf ' 200%.0s' $(seq 1 $((WORKERS * 4))))" \
    "every health check and item list after that answers 200"
grep -q 'database connection regained' "$STACK_DIR/api.log"
ok $? "a worker logs that it regained its connection"
stale=$(comm -12 <(echo "$backends_before" | sort) <(app_backends | sort))
is "$stale" "" "no backend from before the termination is in use"
is "$(pool_workers | sort)" "$workers_before" "the workers are the same processes"
is "$(invariant launch-hoodie)" ok "the invariant holds"

# ------------------------------------------------------------ PostgreSQL stopped
snapshot=$(db_snapshot)
pg_stop fast
[ ! -e "$STACK_DIR/pg/data/postmaster.pid" ]
ok $? "PostgreSQL is stopped"

statuses= codes= retry_after= types= slow=0
for round in 1 2 3; do
    for r in "${requests[@]}"; do
        start=$(date +%s%N)
        $r
        took=$(( ($(date +%s%N) - start) / 1000000 ))
        [ "$took" -lt 2000 ] || { slow=$((slow + 1)); diag "$r took $took ms"; }
        statuses="$statuses $HTTP_STATUS"
        codes="$codes $(body_json .code)"
        retry_after="$retry_after $(header Retry-After)"
        types="$types $(header Content-Type)"
    done
    sleep 0.3
done
n=$((3 * ${#requests[@]}))
is "$statuses" "$(printf ' 503%.0s' $(seq 1 $n))" \
    "with PostgreSQL down, all $n requests needing it answer 503 (no other 5xx, no hang)"
is "$codes" "$(printf ' unavailable%.0s' $(seq 1 $n))" "each with the code unavailable"
[[ "$types" =~ ^(\ application/problem\+json)+$ ]]
ok $? "each as application/problem+json"
[[ "$retry_after" =~ ^(\ [0-9]+)+$ ]]
ok $? "each with a Retry-After header"
is "$slow" 0 "each answered in under 2 s"
is "$(pool_workers | sort)" "$workers_before" "the workers are still the same processes"
http GET /api/config --max-time 5
is "$HTTP_STATUS" 200 "GET /api/config, which needs no database, still answers 200"

# ------------------------------------------------------------ PostgreSQL back
pg_start
health_ok() {
    http GET /api/health --max-time 5
    [ "$HTTP_STATUS" = 200 ]
}
start=$(date +%s%N)
wait_until 5 health_ok
ok $? "within 5 s of PostgreSQL starting, GET /api/health answers 200"
diag "health back after $(( ($(date +%s%N) - start) / 1000000 )) ms"
is "$(db_snapshot)" "$snapshot" "nothing changed while the database was down"

# Every worker must be back, not just the one that answered first: give the
# backoff (at most 2 s) time to allow an attempt, then buy with all of them.
sleep 2
codes=
for ((i = 1; i <= WORKERS * 4; i++)); do
    buy "after-restart-$i"
    codes="$codes $HTTP_STATUS"
done
is "$codes" "$(printf ' 201%.0s' $(seq 1 $((WORKERS * 4))))" \
    "after the restart every purchase answers 201"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE buyer LIKE 'after-restart-%'")" \
    $((WORKERS * 4)) "each has its order in the database"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE buyer = 'during-outage'")" \
    0 "no purchase made during the outage was recorded"
is "$(pool_workers | sort)" "$workers_before" "the workers survived it all"
is "$(invariant golden-ticket)" ok "the invariant holds for golden-ticket"
is "$(invariant launch-hoodie)" ok "the invariant holds for launch-hoodie"

done_testing
