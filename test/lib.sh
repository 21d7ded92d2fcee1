# lib.sh — what every integration test shares: TAP output, and a real stack
# of its own (PostgreSQL, the pool, nginx) on a free port in a temporary
# directory, stopped when the test exits, however it exits.
#
#   . "$LI_SRCDIR/test/lib.sh"
#   test_stack_up --workers 2        # options go to lastitem-api
#   http GET /api/items; is "$HTTP_STATUS" 200 "items answer"
#
# When a test fails, its directory (logs included) is kept and named in the
# output; otherwise it is removed.

set -u
. "$LI_SRCDIR/scripts/stack.sh"

CURL=${CURL:-curl}
JQ=${JQ:-jq}
TAP_RUN=0
TAP_FAILED=0
TEST_NAME=$(basename "$0" .sh)

# ------------------------------------------------------------------ TAP

ok() {  # ok CONDITION-EXIT-STATUS NAME: use as `[ … ]; ok $? "name"`
    TAP_RUN=$((TAP_RUN + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $TAP_RUN - $2"
    else
        TAP_FAILED=$((TAP_FAILED + 1))
        echo "not ok $TAP_RUN - $2"
    fi
}

is() {  # is GOT WANT NAME
    TAP_RUN=$((TAP_RUN + 1))
    if [ "$1" = "$2" ]; then
        echo "ok $TAP_RUN - $3"
    else
        TAP_FAILED=$((TAP_FAILED + 1))
        echo "not ok $TAP_RUN - $3"
        echo "#   got:  '$1'"
        echo "#   want: '$2'"
    fi
}

diag() {
    echo "# $*"
}

bail() {
    echo "Bail out! $*"
    exit 1
}

skip_all() {
    echo "1..0 # SKIP $*"
    exit 0
}

done_testing() {
    echo "1..$TAP_RUN"
    [ "$TAP_FAILED" -eq 0 ]
}

# ------------------------------------------------------------------ the stack

test_cleanup() {
    local rc=$?
    stack_down
    if [ "$rc" -eq 0 ] && [ "$TAP_FAILED" -eq 0 ]; then
        rm -rf "$TEST_DIR"
    else
        echo "# kept $TEST_DIR for a look at its logs"
    fi
}

# test_stack_up [lastitem-api options…]: everything a test needs.
test_stack_up() {
    for need in "$CURL" "$JQ" "$NGINX_BIN" "$PG_BINDIR/initdb"; do
        command -v "$need" >/dev/null 2>&1 || bail "$need is missing"
    done
    TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/lastitem-$TEST_NAME.XXXXXX") || bail "mktemp"
    trap test_cleanup EXIT
    trap 'exit 1' INT TERM
    # The tests check correctness, not durability: no fsync, so a 2-core
    # machine spends its time on the code under test.
    STACK_PG_SETTINGS="fsync = off
synchronous_commit = off
full_page_writes = off"
    # Only the unix socket is used; the port just names it.
    PG_PORT=5432
    stack_init "$TEST_DIR"
    pg_up
    pool_start --drain-timeout 5 "$@"
    nginx_start "$("$LI_BUILDDIR/test/freeport")"
    BASE_URL=$STACK_URL
}

# wait_until SECONDS COMMAND…: polls COMMAND every 0.05 s until it succeeds;
# returns 1 when SECONDS pass first.
wait_until() {
    local deadline=$(( $(date +%s%N) + $1 * 1000000000 ))
    shift
    until "$@"; do
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# ------------------------------------------------------------------ HTTP

# http METHOD PATH [curl options…]: one request. Sets HTTP_STATUS, and the
# files $HTTP_BODY and $HTTP_HEAD.
http() {
    local method=$1 path=$2
    shift 2
    HTTP_BODY=$TEST_DIR/http.body
    HTTP_HEAD=$TEST_DIR/http.head
    local how=(-X "$method")
    # -X HEAD would make curl wait for the body a HEAD answer never has.
    [ "$method" = HEAD ] && how=(--head)
    HTTP_STATUS=$("$CURL" -s -o "$HTTP_BODY" -D "$HTTP_HEAD" -w '%{http_code}' \
        --max-time 30 "${how[@]}" "$@" "$BASE_URL$path")
}

# post_json PATH JSON [curl options…]
post_json() {
    local path=$1 json=$2
    shift 2
    http POST "$path" -H 'Content-Type: application/json' --data-binary "$json" "$@"
}

# body_json JQ-FILTER: a value of the last response body.
body_json() {
    "$JQ" -r "$1" <"$HTTP_BODY" 2>/dev/null
}

# header NAME: a header of the last response (case-insensitive).
header() {
    awk -v h="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' \
        'tolower($1) == h { sub(/\r$/, "", $2); print $2 }' "$HTTP_HEAD"
}

# ------------------------------------------------------------------ the database

# invariant ITEM: "ok" when initial - remaining = sum of order quantities,
# read from the database itself; otherwise the numbers that disagree.
invariant() {
    stack_sql "SELECT CASE WHEN i.initial_quantity - i.quantity = coalesce(sum(o.quantity), 0)
                           THEN 'ok'
                           ELSE format('initial %s - remaining %s <> ordered %s',
                                       i.initial_quantity, i.quantity, coalesce(sum(o.quantity), 0))
                      END
                 FROM lastitem.items i LEFT JOIN lastitem.orders o ON o.item_id = i.id
                WHERE i.id = '$1'
                GROUP BY i.id, i.initial_quantity, i.quantity"
}

# snapshot: every row of both tables, to compare before and after a request
# that must change nothing.
db_snapshot() {
    stack_sql "SELECT (SELECT string_agg(format('%s/%s/%s/%s', id, quantity, initial_quantity, version), ',' ORDER BY id) FROM lastitem.items)
                   || '|' || (SELECT count(*) || '/' || coalesce(max(id), 0) FROM lastitem.orders)"
}
