#!/usr/bin/env bash
# The metrics are not public (finding 12).
#   * Through the public door, /api/metrics and /api/events/metrics are 404
#     problem+json, however the path is spelled (encoded, doubled slashes,
#     a query, HEAD) and by any method; /api/health stays public.
#   * nginx serves them on a server of its own, on 127.0.0.1 and a port of
#     its own (STACK_METRICS_LISTEN, METRICS_HOST/METRICS_PORT of make run),
#     as Prometheus text; that server serves nothing else (404 problem+json).
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 2
test_events_up
METRICS_URL=${METRICS_URL:-}

# --------------------------------------------------------- the public door
leaked=
for path in /api/metrics /api/events/metrics /api/%6detrics /api//metrics \
            /api/events//metrics /api/events/%6Detrics '/api/metrics?format=text' \
            '/api/events/metrics?x=1' /api/./metrics /api/events/../metrics; do
    http GET "$path" --path-as-is
    is "$HTTP_STATUS:$(header content-type):$(body_json .code)" \
        404:application/problem+json:not_found "public GET $path: 404 problem+json"
    grep -q 'lastitem_' "$HTTP_BODY" && leaked="$leaked $path"
done
is "$leaked" "" "no metric in any of those answers"
http HEAD /api/metrics
is "$HTTP_STATUS" 404 "public HEAD /api/metrics: 404"
http POST /api/events/metrics -H 'Content-Type: application/json'
is "$HTTP_STATUS" 404 "public POST /api/events/metrics: 404"
http GET /api/health
is "$HTTP_STATUS:$(body_json .status)" 200:ok "/api/health stays public"

# --------------------------------------------------------- the metrics server
ok "$([ -n "$METRICS_URL" ]; echo $?)" "the stack has a metrics address ($METRICS_URL)"
case $METRICS_URL in
    http://127.0.0.1:*) ok 0 "on 127.0.0.1 by default" ;;
    *) ok 1 "on 127.0.0.1 by default (got '$METRICS_URL')" ;;
esac
[ "$METRICS_URL" != "$BASE_URL" ]
ok $? "on another port than the public door"
grep -Eq "^ *listen 127\.0\.0\.1:[0-9]+;" "$STACK_DIR/nginx/nginx.conf"
ok $? "nginx listens for it on loopback only"

code=$("$CURL" -s --max-time 10 -o "$TEST_DIR/m" -D "$TEST_DIR/m.head" -w '%{http_code}' \
    "$METRICS_URL/api/metrics")
is "$code" 200 "GET /api/metrics on the metrics address: 200"
grep -q '^lastitem_api_workers 2' "$TEST_DIR/m"
ok $? "… the pool's metrics (lastitem_api_workers 2)"
grep -qi '^content-type: text/plain; version=0.0.4' "$TEST_DIR/m.head"
ok $? "… as Prometheus text"
code=$("$CURL" -s --max-time 10 -o "$TEST_DIR/e" -w '%{http_code}' "$METRICS_URL/api/events/metrics")
is "$code" 200 "GET /api/events/metrics on the metrics address: 200"
grep -q '^lastitem_events_db_up 1' "$TEST_DIR/e"
ok $? "… the event daemon's (lastitem_events_db_up 1)"
is "$(events_metric lastitem_events_db_up)" 1 "events_metric (test/lib.sh) reads it there"

for path in / /api/items /api/events /index.html /api/reset; do
    code=$("$CURL" -s --max-time 10 -o "$TEST_DIR/o" -D "$TEST_DIR/o.head" -w '%{http_code}' \
        "$METRICS_URL$path")
    is "$code:$(grep -i '^content-type' "$TEST_DIR/o.head" | tr -d '\r' | cut -d' ' -f2)" \
        404:application/problem+json "the metrics address serves nothing else: $path 404 problem+json"
done

done_testing
