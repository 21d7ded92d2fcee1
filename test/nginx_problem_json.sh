#!/usr/bin/env bash
# Every error nginx answers itself is problem+json, in every location
# (finding 10). error_page is inherited only by locations that set none of
# their own, so an error raised inside a location that does (reading the
# body of a purchase, the event stream, health) used to come back as
# nginx's HTML page. Asked over raw sockets, so that nothing tidies up the
# malformed requests on the way:
#   * a malformed chunked body, a chunk larger than announced, an invalid
#     Content-Length, Content-Length with Transfer-Encoding, an unknown
#     Transfer-Encoding, HTTP/2.0 on an HTTP/1 line: 400, 501 or 505, each
#     problem+json with its status and a code, to POST purchase, POST
#     reset, GET /api/events and /api/health, and to the page;
#   * the page's own 404 and 405, and 413 for a body too large anywhere;
#   * none of them changed anything in the database.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 2
test_events_up
PORT=${BASE_URL##*:}
PURCHASE=/api/items/launch-hoodie/purchase
before=$(db_snapshot)

# raw NAME REQUEST: sends REQUEST (printf format) on a fresh connection and
# keeps the answer in $TEST_DIR/NAME (head in NAME.head, body in NAME.body).
raw() {
    local out=$TEST_DIR/$1
    : >"$out"
    # A subshell that ignores SIGPIPE: nginx may answer and close before
    # it has read all we send.
    (
        trap '' PIPE
        exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
        printf "$2" >&3
        timeout 10 cat <&3 >"$out"
    ) 2>/dev/null
    awk '{ sub(/\r$/, "") } $0 == "" { exit } { print }' "$out" >"$out.head"
    awk 'body { print } { sub(/\r$/, "") } $0 == "" { body = 1 }' "$out" >"$out.body"
}

# problem NAME STATUS WHAT: the answer NAME is STATUS in problem+json, a
# JSON object saying that status and a code.
problem() {
    local out=$TEST_DIR/$1 got
    got=$(awk 'NR == 1 { print $2 }' "$out.head")
    if grep -qi '^content-type: application/problem+json' "$out.head" &&
       "$JQ" -e --argjson s "$2" '.status == $s and (.code | type == "string") and
           (.title | type == "string") and (.detail | type == "string")' "$out.body" >/dev/null 2>&1 &&
       [ "$got" = "$2" ]; then
        ok 0 "$3: $2 problem+json"
    else
        ok 1 "$3: $2 problem+json"
        diag "got: $(head -1 "$out.head" | tr -d '\r'), $(grep -i '^content-type' "$out.head" | tr -d '\r')"
        diag "body: $(head -c 200 "$out.body" | tr -d '\r\n')"
    fi
}

H="Host: 127.0.0.1:$PORT\r\nConnection: close\r\n"
CHUNKED="${H}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
n=0
for target in "POST $PURCHASE" "POST /api/reset" "GET /api/events" "GET /api/health" "GET /index.html"; do
    n=$((n + 1))
    # (A file of the page may be sent before the body is read and thrown
    # away: a chunk that turns out wrong then only closes the connection.)
    if [ "$target" != "GET /index.html" ]; then
        raw "bad-chunk-$n" "$target HTTP/1.1\r\n${CHUNKED}\r\nzz\r\n{}\r\n0\r\n\r\n"
        problem "bad-chunk-$n" 400 "$target, a chunk size that is not hex"
        raw "long-chunk-$n" "$target HTTP/1.1\r\n${CHUNKED}\r\n2\r\n{\"buyer\":1}\r\n0\r\n\r\n"
        problem "long-chunk-$n" 400 "$target, a chunk longer than its size"
    fi
    raw "bad-length-$n" "$target HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 2x\r\n\r\n{}"
    problem "bad-length-$n" 400 "$target, an invalid Content-Length"
    raw "both-$n" "$target HTTP/1.1\r\n${CHUNKED}Content-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    problem "both-$n" 400 "$target, Content-Length and Transfer-Encoding both"
    raw "gzip-$n" "$target HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n"
    problem "gzip-$n" 501 "$target, Transfer-Encoding: gzip"
    raw "http2-$n" "$target HTTP/2.0\r\n${H}\r\n"
    problem "http2-$n" 505 "$target, HTTP/2.0 on an HTTP/1 request line"
done
grep -qi '^retry-after' "$TEST_DIR/bad-chunk-1.head"
ok $((!$?)) "a 400 has no Retry-After"

# Bodies too large, where the pool would never see them (nginx stops them
# past client_max_body_size, 16 KB).
n=0
for target in "POST $PURCHASE" "GET /api/events" "POST /api/health" "POST /index.html"; do
    n=$((n + 1))
    raw "too-large-$n" "$target HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{}"
    problem "too-large-$n" 413 "$target, Content-Length 100000"
done

# The page's own errors.
raw page-404 "GET /no-such-page.html HTTP/1.1\r\n${H}\r\n"
problem page-404 404 "GET of a file that is not there"
raw page-405 "POST /index.html HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n"
problem page-405 405 "POST to a file of the page"
raw page-hidden "GET /.git/config HTTP/1.1\r\n${H}\r\n"
problem page-hidden 404 "GET of a hidden file"

is "$(db_snapshot)" "$before" "none of them changed the database"
is "$(invariant launch-hoodie)" ok "the invariant holds"

done_testing
