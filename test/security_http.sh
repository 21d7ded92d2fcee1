#!/usr/bin/env bash
# What nginx lets through, tried from outside.
#   * No path, however encoded, reads a file outside the page's directory,
#     a hidden file, or the target of a symbolic link: 400 or 404, never
#     the file.
#   * No string a client sends (buyer, strategy, the item id in the path,
#     Idempotency-Key, Authorization, Last-Event-ID, the orders query) puts
#     a header of its own into the answer; invalid ones are 4xx
#     problem+json and change nothing in the database.
#   * One address may hold EVENTS_PER_ADDRESS event streams; the next is
#     429 problem+json while the others go on, and another address is not
#     affected.
#   * nginx's own errors under /api/ are problem+json; no answer carries a
#     CORS wildcard, or nginx's version.
. "${LI_SRCDIR:?run through make check}/test/lib.sh" || exit 1

PER_ADDRESS=4
EVENTS_PER_ADDRESS=$PER_ADDRESS
test_stack_up --workers 2
test_events_up

# nginx again, serving a copy of the page beside a secret, with a link to
# it, a hidden file and a .git directory inside.
SECRET="secret-$RANDOM$RANDOM"
echo "$SECRET" >"$TEST_DIR/secret.txt"
mkdir -p "$TEST_DIR/public"
cp -R "$LI_SRCDIR/public/." "$TEST_DIR/public/"
ln -s ../secret.txt "$TEST_DIR/public/leak.txt"
ln -s "$TEST_DIR" "$TEST_DIR/public/img/up"
echo "$SECRET" >"$TEST_DIR/public/.env"
mkdir -p "$TEST_DIR/public/.git"
echo "$SECRET" >"$TEST_DIR/public/.git/config"
chmod -R a+rX "$TEST_DIR/public" "$TEST_DIR/secret.txt"
nginx_stop
STACK_PUBLIC_DIR=$TEST_DIR/public nginx_start "$("$LI_BUILDDIR/test/freeport")"
BASE_URL=$STACK_URL
PORT=${BASE_URL##*:}

http GET /
is "$HTTP_STATUS" 200 "the page is served from the copy"

# ------------------------------------------------------------ path traversal

# leaks: the last answer holds the secret or a line of /etc/passwd.
leaks() {
    grep -qa -e "$SECRET" -e '^root:' "$HTTP_BODY"
}

for path in \
    '/../etc/passwd' \
    '/../../../../etc/passwd' \
    '/%2e%2e/%2e%2e/etc/passwd' \
    '/%2E%2E/%2E%2E/%2E%2E/etc/passwd' \
    '/img/..%2f..%2f..%2f..%2fetc%2fpasswd' \
    '/img/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc/passwd' \
    '/%252e%252e/%252e%252e/etc/passwd' \
    '/img/..%252f..%252fsecret.txt' \
    '/..;/..;/etc/passwd' \
    '/img/..\..\..\etc\passwd' \
    '/img/%5c..%5c..%5csecret.txt' \
    '/..%00/etc/passwd' \
    '/index.html%00.txt' \
    '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd' \
    '/../secret.txt' \
    '/img/../../secret.txt' \
    '/leak.txt' \
    '/img/up/secret.txt' \
    '/.env' \
    '/.git/config' \
    '/.git/' \
    '/img/.%2e/.%2e/secret.txt' \
    "/$(printf 'a%.0s' $(seq 1 9000))" \
    "/$(printf '../%.0s' $(seq 1 2000))etc/passwd"; do
    http GET "$path" --path-as-is
    shown=${path:0:60}
    case $HTTP_STATUS in
        400|403|404) ok 0 "GET $shown: $HTTP_STATUS" ;;
        *) ok 1 "GET $shown: $HTTP_STATUS, want 400, 403 or 404" ;;
    esac
    if leaks; then
        ok 1 "GET $shown does not show the file"
    else
        ok 0 "GET $shown does not show the file"
    fi
done

# --------------------------------------------------------- header injection

# raw REQUEST: sends REQUEST (printf-escaped) as is on a new connection and
# keeps the whole answer in $TEST_DIR/raw; RAW_STATUS is its status.
raw() {
    local out=$TEST_DIR/raw
    : >"$out"
    {
        exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
        printf "$1" >&3
        timeout 10 cat <&3 >"$out"
        exec 3<&-
    } 2>/dev/null
    RAW_STATUS=$(head -1 "$out" | awk '{ print $2 }')
    # The head alone, for header checks.
    awk '{ sub(/\r$/, "") } $0 == "" { exit } { print }' "$out" >"$TEST_DIR/raw.head"
}

# injected FILE: a header line of FILE is one a client smuggled in.
injected() {
    grep -qiE '^(X-Injected|Set-Cookie|Injected)' "$1"
}

# refused_cleanly WHAT STATUS HEAD BODY: a 4xx problem+json that names no
# header of the client's.
refused_cleanly() {
    local what=$1 status=$2 head=$3 body=$4
    case $status in
        4??) ok 0 "$what: $status" ;;
        *) ok 1 "$what: '$status', want 4xx" ;;
    esac
    if grep -qi '^content-type: application/problem+json' "$head"; then
        ok 0 "$what: problem+json"
    else
        ok 1 "$what: problem+json"
        diag "$(tr -d '\r' <"$head" | head -12)"
    fi
    injected "$head"
    ok $((!$?)) "$what: no injected header"
    [ -z "$body" ] || "$JQ" -e '.code and .status' "$body" >/dev/null 2>&1
    ok $? "$what: the body is a problem"
}

before=$(db_snapshot)
PURCHASE=/api/items/golden-ticket/purchase

# Through JSON: escaped control characters in buyer and strategy.
for field in buyer strategy; do
    for bad in '\r\nX-Injected: 1' '\nX-Injected: 1' '\u0000' '\u000d\u000aX-Injected: 1' 'a\u0085b'; do
        post_json "$PURCHASE" "{\"$field\":\"atomic$bad\"}"
        refused_cleanly "$field \"atomic$bad\"" "$HTTP_STATUS" "$HTTP_HEAD" "$HTTP_BODY"
    done
done
# Raw CR, LF and NUL bytes inside the JSON string (invalid JSON).
for bad in '\r' '\n' '\r\nX-Injected: 1'; do
    body="{\"buyer\":\"a${bad}b\"}"
    len=$(printf "$body" | wc -c)
    raw "POST $PURCHASE HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: $len\r\nConnection: close\r\n\r\n$body"
    refused_cleanly "raw bytes ${bad} in buyer" "$RAW_STATUS" "$TEST_DIR/raw.head" ""
done

# The item id in the path, encoded and raw.
for path in '/api/items/a%0d%0aX-Injected:%201/purchase' '/api/items/a%0aX-Injected:%201' \
            '/api/items/a%00b' '/api/items/%E2%80%A8' '/api/orders/1%0d%0aX-Injected:%201'; do
    http GET "$path" --path-as-is
    refused_cleanly "GET $path" "$HTTP_STATUS" "$HTTP_HEAD" "$HTTP_BODY"
done
# A line break in the request line ends it there: nginx takes what came
# before as an HTTP/0.9 request and answers with a bare body, no head at
# all, so the rest is never read as a header.
raw "GET /api/items/a\r\nX-Injected: 1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
ok "$(! injected "$TEST_DIR/raw" && "$JQ" -e '.status == 404' "$TEST_DIR/raw" >/dev/null 2>&1; echo $?)" \
    "a raw CR LF in the path: a 404 problem, with no head to inject into"
raw "GET /api/items/a\rb HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
refused_cleanly "a raw CR in the path" "$RAW_STATUS" "$TEST_DIR/raw.head" ""

# Headers: a raw CR, a folded line, a NUL, and encodings that are only text.
for name in Idempotency-Key Authorization Last-Event-ID; do
    for bad in 'a\rX-Injected: 1' 'a\r\n X-Injected: 1' 'a\r\n\tX-Injected: 1' 'a\000b'; do
        target=$PURCHASE
        [ "$name" = Authorization ] && target=/api/reset
        [ "$name" = Last-Event-ID ] && target=/api/events
        raw "POST $target HTTP/1.1\r\nHost: x\r\n$name: $bad\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        refused_cleanly "$name: $(printf '%q' "$bad")" "$RAW_STATUS" "$TEST_DIR/raw.head" ""
    done
done
for bad in $'a\x01b' $'a\x7fb' $'caf\xc3\xa9' 'a b' "$(printf 'k%.0s' $(seq 1 256))"; do
    post_json "$PURCHASE" '{"buyer":"inj"}' -H "Idempotency-Key: $bad"
    refused_cleanly "Idempotency-Key $(printf '%q' "${bad:0:20}")" "$HTTP_STATUS" "$HTTP_HEAD" "$HTTP_BODY"
done
for bad in 'Bearer a%0d%0aX-Injected: 1' 'Basic a' 'Bearer' $'Bearer \xe2\x80\xa8'; do
    # The pool runs without a token here: reset is open, so the header is
    # not even read. Only a GET, which reset refuses (405), must not carry it.
    http GET /api/reset -H "Authorization: $bad"
    refused_cleanly "GET /api/reset, Authorization $(printf '%q' "$bad")" "$HTTP_STATUS" "$HTTP_HEAD" "$HTTP_BODY"
done

# The orders query.
for q in 'item_id=%0d%0aX-Injected:%201' 'item_id=golden-ticket&limit=1%0d%0a' \
         'item_id=golden-ticket&before=%00' 'limit=%E2%80%A8' 'item_id=golden-ticket&limit=1&limit=2'; do
    http GET "/api/orders?$q" --path-as-is
    refused_cleanly "GET /api/orders?$q" "$HTTP_STATUS" "$HTTP_HEAD" "$HTTP_BODY"
done

is "$(db_snapshot)" "$before" "nothing changed in the database"
is "$(invariant golden-ticket)" ok "the invariant holds"

# What is valid though odd passes, and still injects nothing: a key made
# of %0d%0a as text, a buyer with U+2028 (a separator, not a control).
sse_open watch
wait_until 30 sse_has watch snapshot
ok $? "a watcher has its snapshot"
post_json "$PURCHASE" $'{"buyer":"line\xe2\x80\xa8sep"}' -H 'Idempotency-Key: a%0d%0aX-Injected:%201'
is "$HTTP_STATUS" 201 "a buyer with U+2028 and a key of visible ASCII buy"
injected "$HTTP_HEAD"
ok $((!$?)) "and the answer has no injected header"
order_id=$(body_json .order.id)
wait_until 30 sse_has_order watch "$order_id"
ok $? "the watcher gets its order event"
is "$(sse_data watch order | "$JQ" -r --argjson id "$order_id" 'select(.id == $id) | .buyer')" \
    $'line\xe2\x80\xa8sep' "with the buyer whole, in one frame"
http GET /api/events --max-time 3 -H 'Last-Event-ID: 1%0d%0aX-Injected:%201'
injected "$HTTP_HEAD"
ok $((!$?)) "Last-Event-ID of encoded text: a stream with no injected header"
grep -qi '^content-type: text/event-stream' "$HTTP_HEAD"
ok $? "and it is an event stream"
is "$(invariant golden-ticket)" ok "the invariant holds"
sse_close watch

# --------------------------------------------------------- per-address limit

for i in $(seq 1 "$PER_ADDRESS"); do
    sse_open "lim$i"
done
all_started() {
    local i
    for i in $(seq 1 "$PER_ADDRESS"); do
        sse_has "lim$i" snapshot || return 1
    done
}
wait_until 30 all_started
ok $? "$PER_ADDRESS streams from 127.0.0.1 open"
http GET /api/events --max-time 10
is "$HTTP_STATUS" 429 "the next one from the same address: 429"
is "$(header content-type)" application/problem+json "in problem+json"
is "$(body_json .code)" too_many_connections "code too_many_connections"
ok "$([ -n "$(header retry-after)" ]; echo $?)" "with Retry-After"
BASE_URL_SAVED=$BASE_URL
http GET /api/events --max-time 3 --interface 127.0.0.2
ok "$([ "$HTTP_STATUS" = 200 ] && grep -q 'event: snapshot' "$HTTP_BODY"; echo $?)" \
    "another address (127.0.0.2) still streams"
all_alive() {
    local i
    for i in $(seq 1 "$PER_ADDRESS"); do
        sse_alive "lim$i" || return 1
    done
}
all_alive
ok $? "the $PER_ADDRESS streams are still open"
names=()
for i in $(seq 1 "$PER_ADDRESS"); do names+=("lim$i"); done
events_sync "${names[@]}"
ok $? "and each gets the next change"
sse_close lim1
reopened() {
    http GET /api/events --max-time 2
    [ "$HTTP_STATUS" = 200 ]
}
wait_until 30 reopened
ok $? "once one closes, the address may open one again"

# --------------------------------------------------------- nginx's own errors

http GET /api/nowhere
is "$HTTP_STATUS:$(header content-type)" 404:application/problem+json "unknown /api path: 404 problem+json"
http DELETE /api/items
is "$HTTP_STATUS:$(header content-type)" 405:application/problem+json "405 problem+json"
ok "$([ -n "$(header allow)" ]; echo $?)" "with Allow"
head -c 20000 /dev/zero | tr '\0' x >"$TEST_DIR/big"
http POST "$PURCHASE" -H 'Content-Type: application/json' --data-binary "@$TEST_DIR/big"
is "$HTTP_STATUS:$(header content-type)" 413:application/problem+json "20 KB body: 413 problem+json"
http GET "/api/items/$(printf 'a%.0s' $(seq 1 9000))"
is "$HTTP_STATUS:$(header content-type)" 400:application/problem+json "9 KB URI: 400 problem+json"
http GET /api/items -H "X-Big: $(printf 'b%.0s' $(seq 1 9000))"
is "$HTTP_STATUS:$(header content-type)" 400:application/problem+json "9 KB header: 400 problem+json"
raw "GET /api/items HTTP/1.1\r\nHost: x\r\nBad Header\r\nConnection: close\r\n\r\n"
is "$RAW_STATUS" 400 "a malformed header line: 400"
grep -qi '^content-type: application/problem+json' "$TEST_DIR/raw.head"
ok $? "in problem+json"

# No CORS wildcard, anywhere, and no version in Server.
cors_ok=0
for spec in "GET /" "GET /api/items" "GET /api/config" "OPTIONS /api/items" \
            "OPTIONS /api/items/golden-ticket/purchase" "OPTIONS /api/events" \
            "OPTIONS /" "GET /api/nowhere" "POST /api/reset"; do
    http ${spec% *} "${spec#* }" --max-time 3 -H 'Origin: https://evil.example' \
        -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: content-type'
    if grep -qi '^access-control-allow' "$HTTP_HEAD"; then
        cors_ok=1
        diag "$spec: $(grep -i '^access-control' "$HTTP_HEAD" | tr -d '\r')"
    fi
    if ! grep -qix 'server: nginx' <(tr -d '\r' <"$HTTP_HEAD"); then
        cors_ok=1
        diag "$spec: $(grep -i '^server' "$HTTP_HEAD" | tr -d '\r')"
    fi
done
ok "$cors_ok" "no Access-Control-Allow-* header (preflight included), Server without a version"
http GET /api/events --max-time 3 -H 'Origin: https://evil.example'
grep -qi '^access-control-allow' "$HTTP_HEAD"
ok $((!$?)) "nor on the event stream"

# The pool and the daemon down: 503 problem+json, never 502 or 504.
events_stop
http GET /api/events --max-time 10
is "$HTTP_STATUS:$(header content-type)" 503:application/problem+json "the daemon down: 503 problem+json"
pool_stop
http GET /api/items
is "$HTTP_STATUS:$(header content-type)" 503:application/problem+json "the pool down: 503 problem+json"
is "$(body_json .code)" unavailable "code unavailable"

done_testing
