#!/usr/bin/env bash
# The daemon under valgrind: no invalid access, no leak.
#   It serves 1,000 SSE clients that come and go (a few with half a request,
#   some hanging up with a RST, some reading the metrics), answers a few
#   requests it refuses (405, 431, 404), streams a few
#   purchases, a psql change and a reset to clients that stay, replays to a
#   client that resumes, loses its database connection (terminated) and gets
#   it back, serves 1,000 more after that, and stops on SIGTERM with clients
#   still connected. valgrind must find no error and no leak.
# Skipped only when valgrind is not installed, or in a --enable-sanitizers
# build (valgrind cannot run AddressSanitizer's binaries; ASan checks the
# same daemon in the other events tests there).
. "$LI_SRCDIR/test/lib.sh"

command -v valgrind >/dev/null 2>&1 || skip_all "valgrind is not installed"
[ "${LI_SANITIZERS:-}" != yes ] ||
    skip_all "built with --enable-sanitizers: valgrind cannot run AddressSanitizer binaries"

test_stack_up --workers 1
VG_LOG=$STACK_DIR/valgrind.log
EVENTS_WRAP="valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99
    --num-callers=20 --log-file=$VG_LOG"
events_tcp_start --ring 16 --heartbeat 1
EVENTS_WRAP=
DIRECT=$EVENTS_TCP_URL

buy() {
    post_json /api/items/golden-ticket/purchase "{\"buyer\":\"valgrind-$1\"}"
    [ "$HTTP_STATUS" = 201 ] && LAST_ORDER=$(body_json .order.id)
}

"$LI_BUILDDIR/test/sse_poke" cycles "$EVENTS_TCP_ADDR" 1000 20 >"$TEST_DIR/cycles1" 2>&1
ok $? "1,000 clients connect, get their snapshot (or answer) and go: $(cat "$TEST_DIR/cycles1")"

# Answers that end a connection: a wrong method, a head too large, a path
# unknown.
big=$(printf 'a%.0s' $(seq 1 9000))
codes=
for i in 1 2 3; do
    codes="$codes $(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X POST "$DIRECT/api/events")"
    codes="$codes $(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H "X-Large: $big" "$DIRECT/api/events")"
    codes="$codes $(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$DIRECT/nowhere")"
done
is "$codes" "$(printf ' 405 431 404%.0s' 1 2 3)" "wrong method, head too large, unknown path: 405, 431, 404"

SSE_BASE=$DIRECT sse_open stay
wait_until 30 sse_has stay snapshot
ok $? "a client stays"
buy 1 && buy 2
wait_until 30 sse_has_order stay "$LAST_ORDER"
ok $? "two purchases stream to it"
RESUME_FROM=$(sse_last_id stay)
stack_sql "UPDATE lastitem.items SET quantity = 3 WHERE id = 'launch-hoodie'" >/dev/null
post_json /api/reset '{"quantity":40}'
is "$HTTP_STATUS" 200 "a reset"
buy 3
wait_until 30 sse_has_order stay "$LAST_ORDER"
ok $? "the psql change, the reset and another purchase stream too"
SSE_BASE=$DIRECT sse_open back -H "Last-Event-ID: $RESUME_FROM"
wait_until 30 sse_has_order back "$LAST_ORDER"
ok $? "a client resuming from $RESUME_FROM gets the replay"
SSE_BASE=$DIRECT sse_open old -H "Last-Event-ID: $RESUME_FROM"

# The database connection is cut; the daemon reconnects and resynchronizes.
snaps=$(sse_count stay snapshot)
is "$(stack_sql "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))
                   FROM pg_stat_activity WHERE application_name = 'lastitem-events'")" 1 \
    "the daemon's backend is terminated"
wait_until 60 sse_has stay snapshot $((snaps + 1))
ok $? "the daemon reconnects and sends a new snapshot"
buy 4
wait_until 30 sse_has_order stay "$LAST_ORDER"
ok $? "and streams purchases again"

"$LI_BUILDDIR/test/sse_poke" cycles "$EVENTS_TCP_ADDR" 1000 50 >"$TEST_DIR/cycles2" 2>&1
ok $? "1,000 more clients come and go: $(cat "$TEST_DIR/cycles2")"

# Stop with clients connected: the streams, and one still sending its request.
exec 4<>"/dev/tcp/${EVENTS_TCP_ADDR%:*}/${EVENTS_TCP_ADDR##*:}"
printf 'GET /api/events HTTP/1.1\r\n' >&4
kill -TERM "$EVENTS_TCP_PID"
wait "$EVENTS_TCP_PID"
rc=$?
exec 4<&-
is "$rc" 0 "on SIGTERM it exits 0 (valgrind's error exit code is 99)"
grep -q 'ERROR SUMMARY: 0 errors from 0 contexts' "$VG_LOG"
ok $? "valgrind's summary: 0 errors"
grep -E 'definitely lost: [1-9]|indirectly lost: [1-9]|possibly lost: [1-9]|Invalid (read|write|free)|uninitialised|Mismatched' "$VG_LOG" >"$TEST_DIR/vg.bad"
is "$(wc -l <"$TEST_DIR/vg.bad")" 0 "no leak, no invalid access, no uninitialised value"
if [ -s "$TEST_DIR/vg.bad" ] || ! grep -q 'ERROR SUMMARY: 0 errors' "$VG_LOG"; then
    sed 's/^/#   /' "$VG_LOG" | head -80
fi
grep -E 'in use at exit|ERROR SUMMARY' "$VG_LOG" | sed 's/^==[0-9]*== /# /'

done_testing
