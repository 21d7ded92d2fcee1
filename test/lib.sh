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
    sanitizer_check
    echo "1..$TAP_RUN"
    [ "$TAP_FAILED" -eq 0 ]
}

# ------------------------------------------------------------------ sanitizers

# Under --enable-sanitizers (LI_SANITIZERS=yes) a finding in one of our
# programs is written to its stderr, i.e. to a log in the test's directory,
# and would pass unseen: the stack is stopped first (leaks are reported at
# exit), then any report there is a failing test point with its first lines.
SANITIZER_CHECKED=
sanitizer_check() {
    [ "${LI_SANITIZERS:-}" = yes ] && [ -z "$SANITIZER_CHECKED" ] && [ -n "${TEST_DIR:-}" ] ||
        return 0
    SANITIZER_CHECKED=1
    test_stop_extras
    # A test that runs `make run` itself (run_supervision) has no stack here.
    [ -z "${STACK_DIR:-}" ] || stack_down
    local log
    for log in $(grep -rl --include='*.log' --include='*.out' \
                 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' \
                 "$TEST_DIR" 2>/dev/null); do
        ok 1 "no sanitizer report in ${log#"$TEST_DIR"/}"
        grep -m1 -A30 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" | sed 's/^/#   /'
    done
}

# ------------------------------------------------------------------ the stack

test_cleanup() {
    local rc=$?
    # A test that ended before done_testing: its reports, all the same.
    sanitizer_check
    test_stop_extras
    stack_down
    if [ "$rc" -eq 0 ] && [ "$TAP_FAILED" -eq 0 ]; then
        rm -rf "$TEST_DIR"
    else
        echo "# kept $TEST_DIR for a look at its logs"
    fi
}

# run_test_setup [COMMAND…]: what a test of `make run` itself needs (it
# starts scripts/run.sh, not a stack of its own): the commands it runs,
# TEST_DIR, RUN_DIR for run.sh, free PORT and METRICS_PORT, BASE_URL, and
# STACK_METRICS_URL where events_db_up reads the daemon's metrics (nginx's
# metrics server, which make run puts on METRICS_PORT); run_test_cleanup
# at exit.
run_test_setup() {
    test_dir_make "$@"
    trap run_test_cleanup EXIT
    trap 'exit 1' INT TERM
    chmod 755 "$TEST_DIR"      # PostgreSQL runs as another user, inside it
    RUN_DIR=$TEST_DIR/run
    PORT=$("$LI_BUILDDIR/test/freeport") || bail "freeport"
    METRICS_PORT=$("$LI_BUILDDIR/test/freeport") || bail "freeport"
    BASE_URL=http://127.0.0.1:$PORT
    STACK_METRICS_URL=http://127.0.0.1:$METRICS_PORT
}

# run_test_stop: stops scripts/run.sh (RUN_PID) and ends whatever of its
# stack it left running (it should leave nothing), saying so.
run_test_stop() {
    local pid
    if [ -n "${RUN_PID:-}" ]; then
        kill -TERM "$RUN_PID" 2>/dev/null
        wait "$RUN_PID" 2>/dev/null
    fi
    [ -n "$(pids_of_run)" ] || return 0
    echo "# left running after run.sh stopped: $(pids_of_run | paste -sd' ')"
    [ -f "$RUN_DIR/pg/data/postmaster.pid" ] && STACK_DIR=$RUN_DIR pg_stop immediate
    for pid in $(pids_of_run); do kill -KILL "$pid" 2>/dev/null; done
}

# run_test_cleanup: at the exit of a test of make run, stops it; removes
# TEST_DIR, or keeps it on a failure and shows run.sh's output (each
# $TEST_DIR/run*.out).
run_test_cleanup() {
    local rc=$? f
    run_test_stop
    if [ "$rc" -eq 0 ] && [ "$TAP_FAILED" -eq 0 ]; then
        rm -rf "$TEST_DIR"
    else
        echo "# kept $TEST_DIR for a look at its logs"
        for f in "$TEST_DIR"/run*.out; do
            [ -f "$f" ] && sed "s|^|#   ${f##*/}: |" "$f"
        done
    fi
    return 0
}

# pids_of_run: every process whose command line names RUN_DIR, and their
# children (nginx's workers and PostgreSQL's backends rename themselves).
pids_of_run() {
    local f pid
    for f in /proc/[0-9]*/cmdline; do
        pid=${f#/proc/}
        pid=${pid%/cmdline}
        { tr '\0' ' ' <"$f"; } 2>/dev/null | grep -qF "$RUN_DIR/" || continue
        echo "$pid"
        cat /proc/"$pid"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$'
    done | sort -un
}

# test_dir_make [COMMAND…]: bails unless the commands a test runs are
# here; TEST_DIR, a fresh directory of its own.
test_dir_make() {
    local need
    for need in "$CURL" "$JQ" "$NGINX_BIN" "$PG_BINDIR/initdb" "$@"; do
        command -v "$need" >/dev/null 2>&1 || bail "$need is missing"
    done
    TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/lastitem-$TEST_NAME.XXXXXX") || bail "mktemp"
}

# test_stack_up [lastitem-api options…]: everything a test needs.
test_stack_up() {
    test_dir_make
    trap test_cleanup EXIT
    trap 'exit 1' INT TERM
    # The tests check correctness, not durability: no fsync, so a 2-core
    # machine spends its time on the code under test. A test of durability
    # sets TEST_PG_DURABLE=1 first and gets what `make run` has instead:
    # PostgreSQL's defaults, and a cluster synced to disk when created.
    if [ "${TEST_PG_DURABLE:-0}" = 1 ]; then
        STACK_PG_SETTINGS=
        STACK_INITDB_NOSYNC=
    else
        STACK_PG_SETTINGS="fsync = off
synchronous_commit = off
full_page_writes = off"
        STACK_INITDB_NOSYNC=1
    fi
    # Only the unix socket is used; the port just names it. A test that
    # needs TCP sets TEST_PG_TCP=1: PostgreSQL then listens on 127.0.0.1
    # too, on a free port (PG_PORT).
    PG_PORT=5432
    if [ "${TEST_PG_TCP:-0}" = 1 ]; then
        STACK_PG_TCP=1   # pg_hba.conf: loopback, scram passwords only
        PG_PORT=$("$LI_BUILDDIR/test/freeport") || bail "freeport"
        STACK_PG_SETTINGS="$STACK_PG_SETTINGS
listen_addresses = '127.0.0.1'"
    fi
    stack_init "$TEST_DIR"
    pg_up
    pool_start --drain-timeout 5 "$@"
    nginx_start "$("$LI_BUILDDIR/test/freeport")"
    BASE_URL=$STACK_URL
    METRICS_URL=$STACK_METRICS_URL   # /api/metrics, /api/events/metrics
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

# invariant ITEM: "ok" when initial = remaining + held + sum of order
# quantities, and held = the units of the item's active holds, read from the
# database itself; otherwise the numbers that disagree.
invariant() {
    stack_sql "SELECT CASE WHEN i.initial_quantity = i.quantity + i.held + o.sold
                            AND i.held = h.held
                           THEN 'ok'
                           ELSE format('initial %s <> remaining %s + held %s + ordered %s, or held <> %s in active holds',
                                       i.initial_quantity, i.quantity, i.held, o.sold, h.held)
                      END
                 FROM lastitem.items i,
                      LATERAL (SELECT coalesce(sum(quantity), 0) AS sold
                                 FROM lastitem.orders WHERE item_id = i.id) o,
                      LATERAL (SELECT coalesce(sum(quantity), 0) AS held
                                 FROM lastitem.holds
                                WHERE item_id = i.id AND status = 'active') h
                WHERE i.id = '$1'"
}

# invariant_all: "ok" when invariant holds for every item, else the first
# item that breaks it and how.
invariant_all() {
    local id v
    for id in $(stack_sql "SELECT id FROM lastitem.items ORDER BY id"); do
        v=$(invariant "$id")
        [ "$v" = ok ] || { echo "$id: $v"; return; }
    done
    echo ok
}

# post_many COUNT PATH JSON [curl options…]: COUNT requests at once, each
# with PATH and JSON in which every @N@ is its number (MANY_FIRST, 1 unless
# set, and on). Each answer is
# $MANY_DIR/N, and each status a line of $MANY_DIR/codes, in the order they
# finished (MANY_DIR: $TEST_DIR/many unless set, so that two may run at
# once). MANY_HEADER: one more header line for every request (curl options
# after the others apply to the first request only). `many_count STATUS
# [CODE]` counts the answers.
post_many() {
    local count=$1 path=$2 json=$3 i body dir=${MANY_DIR:-$TEST_DIR/many}
    local first=${MANY_FIRST:-1}
    shift 3
    rm -rf "$dir"
    mkdir -p "$dir"
    for ((i = first; i < first + count; i++)); do
        [ "$i" -gt "$first" ] && echo next
        body=${json//@N@/$i}
        printf 'url = "%s"\nrequest = "POST"\nheader = "Content-Type: application/json"\n' "$BASE_URL${path//@N@/$i}"
        [ -n "${MANY_HEADER:-}" ] && printf 'header = "%s"\n' "$MANY_HEADER"
        printf 'data = "%s"\noutput = "%s"\nwrite-out = "%%{http_code}\\n"\nmax-time = 60\n' \
            "${body//\"/\\\"}" "$dir/$i"
    done >"$dir.cfg"
    "$CURL" -s --parallel --parallel-immediate --parallel-max "$count" "$@" \
        -K "$dir.cfg" >"$dir/codes" 2>/dev/null
}

many_count() {  # many_count STATUS [CODE]
    local dir=${MANY_DIR:-$TEST_DIR/many}
    if [ $# -eq 1 ]; then
        grep -c "^$1\$" "$dir/codes"
    else
        cat "$dir"/[0-9]* | grep -o "\"status\":$1,\"code\":\"$2\"" | wc -l
    fi
}

# snapshot: every row of both tables, to compare before and after a request
# that must change nothing.
db_snapshot() {
    stack_sql "SELECT (SELECT string_agg(format('%s/%s/%s/%s/%s/%s/%s/%s', id, quantity, held, initial_quantity, max_per_buyer, version, md5(name || description || image_url), 0), ',' ORDER BY id) FROM lastitem.items)
                   || '|' || (SELECT count(*) || '/' || coalesce(max(id), 0) FROM lastitem.orders)
                   || '|' || (SELECT count(*) || '/' || coalesce(max(id), 0) || '/' || coalesce(string_agg(status, ',' ORDER BY id), '') FROM lastitem.holds)"
}

# pg_restart [MODE]: pg_ctl restart -m MODE (fast), waiting until it is up.
pg_restart() {
    stack_as_pg "$PG_BINDIR/pg_ctl" -D "$STACK_DIR/pg/data" -l "$STACK_DIR/pg/postgres.log" \
        -m "${1:-fast}" -w -t 60 restart >/dev/null
}

# pg_setting NAME: a setting of the running server, as it is in force.
pg_setting() {
    stack_sql "SELECT setting FROM pg_settings WHERE name = '$1'"
}

# pool_worker_count: how many workers the pool has now.
pool_worker_count() {
    pool_workers | grep -c .
}

# ------------------------------------------------------------------ the event daemon

# Processes a test started beside the stack (SSE clients, more daemons):
# ended at exit, by pid, with whatever else test_cleanup stops.
TEST_EXTRA_PIDS=()

test_stop_extras() {
    local pid
    for pid in "${TEST_EXTRA_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${TEST_EXTRA_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    TEST_EXTRA_PIDS=()
}

# test_events_up [lastitem-events options…]: the event daemon on the stack's
# socket, where nginx sends /api/events; returns once it streams, i.e. has
# read its first snapshot from the database.
test_events_up() {
    events_start "$@"
    wait_until 30 events_db_up || bail "the event daemon did not reach the database"
}

# events_metric NAME [BASE]: one value of the daemon's metrics, read through
# nginx's metrics server (of the nginx started last) or from BASE (another
# daemon's http://host:port).
events_metric() {
    "$CURL" -s --max-time 10 "${2:-$STACK_METRICS_URL}/api/events/metrics" |
        awk -v n="$1" '$1 == n { print $2 }'
}

events_db_up() {  # events_db_up [BASE]
    [ "$(events_metric lastitem_events_db_up "${1:-}")" = 1 ]
}

# events_tcp_start [lastitem-events options…]: one more daemon, on a TCP
# port of its own with nothing in front of it, for what nginx would absorb
# (its buffers, malformed requests). Sets EVENTS_TCP_PID, EVENTS_TCP_ADDR
# (host:port) and EVENTS_TCP_URL; its log is $STACK_DIR/events-PORT.log.
# EVENTS_WRAP, when set, is a command to run it under (valgrind …).
# Returns once it streams.
events_tcp_start() {
    local port try
    for try in 1 2 3; do
        port=$("$LI_BUILDDIR/test/freeport") || bail "freeport"
        EVENTS_TCP_ADDR=127.0.0.1:$port
        EVENTS_TCP_URL=http://$EVENTS_TCP_ADDR
        EVENTS_TCP_LOG=$STACK_DIR/events-$port.log
        ${EVENTS_WRAP:-} "$LI_BUILDDIR/fcgi/lastitem-events" --listen "$EVENTS_TCP_ADDR" \
            --db "$(stack_events_conninfo)" "$@" >>"$EVENTS_TCP_LOG" 2>&1 &
        EVENTS_TCP_PID=$!
        TEST_EXTRA_PIDS+=("$EVENTS_TCP_PID")
        # Ours must be the one answering: alive, and saying it streams.
        local deadline=$(( $(date +%s) + 60 ))
        while kill -0 "$EVENTS_TCP_PID" 2>/dev/null; do
            if events_db_up "$EVENTS_TCP_URL"; then
                kill -0 "$EVENTS_TCP_PID" 2>/dev/null && return 0
                break
            fi
            [ "$(date +%s)" -lt "$deadline" ] || break
            sleep 0.05
        done
        # It died (the port was taken meanwhile?): another port, or give up.
        kill -0 "$EVENTS_TCP_PID" 2>/dev/null && break
    done
    tail -5 "$EVENTS_TCP_LOG" >&2
    bail "the event daemon on $EVENTS_TCP_ADDR did not come up"
}

# sse_open NAME [curl options…]: a client of /api/events in the background
# (through nginx, or SSE_BASE=http://host:port), writing the stream to
# $TEST_DIR/NAME.sse and the response head to NAME.head. Its pid is in
# SSE_PID[NAME].
declare -A SSE_PID=()
sse_open() {
    local name=$1
    shift
    : >"$TEST_DIR/$name.sse"
    "$CURL" -sN --max-time 600 -D "$TEST_DIR/$name.head" -o "$TEST_DIR/$name.sse" \
        "$@" "${SSE_BASE:-$BASE_URL}/api/events" &
    SSE_PID[$name]=$!
    TEST_EXTRA_PIDS+=("$!")
}

# sse_close NAME: the client hangs up.
sse_close() {
    kill -TERM "${SSE_PID[$1]}" 2>/dev/null
    wait "${SSE_PID[$1]}" 2>/dev/null
    return 0
}

# sse_alive NAME: its connection is still open (curl ends when it closes).
sse_alive() {
    kill -0 "${SSE_PID[$1]}" 2>/dev/null
}

# sse_frames NAME: every complete frame received so far, one per line:
#   EVENT<TAB>ID<TAB>DATA     an event (data lines joined with \n)
#   retry<TAB><TAB>MS         a retry field
#   comment<TAB><TAB>TEXT     a comment (": ping")
# A frame still arriving (no blank line yet) is left out.
sse_frames() {
    awk '
        { sub(/\r$/, "") }
        $0 == "" {
            if (seen) {
                if (ev != "" || nd) print (ev != "" ? ev : "message") "\t" id "\t" data
                else if (retry != "") print "retry\t\t" retry
                else print "comment\t\t" comment
            }
            ev = id = data = retry = comment = ""; seen = nd = 0
            next
        }
        { seen = 1 }
        /^:/ { c = substr($0, 2); sub(/^ /, "", c); comment = comment c; next }
        {
            field = $0; value = ""
            if ((i = index($0, ":")) > 0) {
                field = substr($0, 1, i - 1); value = substr($0, i + 1)
                sub(/^ /, "", value)
            }
            if (field == "event") ev = value
            else if (field == "id") id = value
            else if (field == "data") { data = (nd++ ? data "\\n" : "") value }
            else if (field == "retry") retry = value
        }' "$TEST_DIR/$1.sse"
}

# sse_data NAME EVENT: the data of each EVENT frame, one per line.
sse_data() {
    sse_frames "$1" | awk -F'\t' -v e="$2" '$1 == e { print $3 }'
}

# sse_count NAME EVENT: how many EVENT frames arrived.
sse_count() {
    sse_frames "$1" | awk -F'\t' -v e="$2" '$1 == e { n++ } END { print n + 0 }'
}

# sse_has NAME EVENT [N]: at least N (1) EVENT frames arrived.
sse_has() {
    [ "$(sse_count "$1" "$2")" -ge "${3:-1}" ]
}

# sse_last_id NAME: the id of the last event that had one.
sse_last_id() {
    sse_frames "$1" | awk -F'\t' '$2 != "" { id = $2 } END { print id }'
}

# db_items_state: every item as id/quantity/version, by id, from the database.
db_items_state() {
    stack_sql "SELECT string_agg(format('%s/%s/%s', id, quantity, version), ',' ORDER BY id) FROM lastitem.items"
}

# snapshot_state JSON: the same, from a snapshot event's data.
snapshot_state() {
    echo "$1" | "$JQ" -r '[.items | sort_by(.id)[] | "\(.id)/\(.quantity)/\(.version)"] | join(",")'
}

# events_sync NAME…: a change of our own (one more charizard-1st-ed, from
# psql), then waits until every client NAME has its item event. Events are
# sent in order, so whatever was published before has arrived by then: what
# a client lacks after this, it will never get. Returns 1 when one of them
# did not get it within 30 s.
events_sync() {
    local v name
    v=$(stack_sql "WITH u AS (UPDATE lastitem.items SET quantity = quantity + 1
                              WHERE id = 'charizard-1st-ed' RETURNING version)
                   SELECT version FROM u") || return 1
    for name in "$@"; do
        wait_until 30 sse_has_item_version "$name" charizard-1st-ed "$v" || return 1
    done
}

# sse_has_item_version NAME ITEM VERSION: an item event of ITEM at VERSION
# (or later) arrived. (Slurped: jq -e on no input at all says yes.)
sse_has_item_version() {
    sse_data "$1" item | "$JQ" -s -e --arg id "$2" --argjson v "$3" \
        'any(.[]; .id == $id and .version >= $v)' >/dev/null 2>&1
}

# sse_has_order NAME ORDER-ID: the order event of that order arrived.
sse_has_order() {
    sse_data "$1" order | "$JQ" -s -e --argjson id "$2" 'any(.[]; .id == $id)' >/dev/null 2>&1
}

# sse_open_many PREFIX N: N clients from one curl, writing
# $TEST_DIR/PREFIX1.sse … PREFIXN.sse; the curl's pid is SSE_PID[PREFIX].
sse_open_many() {
    local prefix=$1 n=$2 i
    : >"$TEST_DIR/$prefix.curl"
    for ((i = 1; i <= n; i++)); do
        : >"$TEST_DIR/$prefix$i.sse"
        # Per-transfer options end at each "next": each block has its own.
        printf 'url = "%s/api/events"\noutput = "%s"\nno-buffer\nmax-time = 600\n' \
            "${SSE_BASE:-$BASE_URL}" "$TEST_DIR/$prefix$i.sse" >>"$TEST_DIR/$prefix.curl"
        [ "$i" -lt "$n" ] && echo next >>"$TEST_DIR/$prefix.curl"
    done
    "$CURL" -s --parallel --parallel-immediate --parallel-max "$n" \
        -K "$TEST_DIR/$prefix.curl" >"$TEST_DIR/$prefix.log" 2>&1 &
    SSE_PID[$prefix]=$!
    TEST_EXTRA_PIDS+=("$!")
}
