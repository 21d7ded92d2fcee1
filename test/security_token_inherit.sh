#!/usr/bin/env bash
# `make run` hands LASTITEM_ADMIN_TOKEN to the pool alone. An environment
# variable is inherited by every process started after it is set, and each
# shows it in /proc/PID/environ; so scripts/run.sh moves it into a 0600 file
# of its run directory and takes it out of its environment before it starts
# anything, and the pool reads the file (--admin-token-file).
#   * With LASTITEM_ADMIN_TOKEN set, neither the variable nor the token is in
#     /proc/PID/environ of PostgreSQL (postmaster and backends), nginx
#     (master and workers), the pool (master and workers) or the daemon.
#   * The file is 0600, the stack's user's; reset through nginx needs the
#     token, and works with it; the file is gone once make run stopped.
. "${LI_SRCDIR:?run through make check}/test/lib.sh" || exit 1

run_test_setup
RUN_LOG=$TEST_DIR/run.out
TOKEN="inherit-$RANDOM$RANDOM-$RANDOM$RANDOM"

logged() { grep -qF "$1" "$RUN_LOG"; }
sells() {
    post_json /api/items/launch-hoodie/purchase '{"buyer":"inherit"}' --max-time 5
    [ "$HTTP_STATUS" = 201 ]
}

LASTITEM_ADMIN_TOKEN=$TOKEN PORT=$PORT METRICS_PORT=$METRICS_PORT RUN_DIR=$RUN_DIR \
    "$BASH" "$LI_SRCDIR/scripts/run.sh" >"$RUN_LOG" 2>&1 &
RUN_PID=$!
wait_until 90 logged "lastitem is up" || bail "make run did not start"
wait_until 30 sells
ok $? "make run starts and sells (a backend of PostgreSQL is open)"
wait_until 30 events_db_up
ok $? "the event daemon streams (its connection is open too)"

# What is running, by program.
declare -A seen=()
found=
for pid in $(pids_of_run); do
    comm=$(cat /proc/"$pid"/comm 2>/dev/null) || continue
    case $comm in
        postgres) what=postgres ;;
        nginx) what=nginx ;;
        lastitem-api|lastitem-scrape) what=pool ;;
        lastitem-event*) what=daemon ;;
        *) continue ;;
    esac
    seen[$what]=$(( ${seen[$what]:-0} + 1 ))
    if tr '\0' '\n' <"/proc/$pid/environ" | grep -qE -e "^LASTITEM_ADMIN_TOKEN=" -e "$TOKEN"; then
        found="$found $what:$pid"
    fi
done
for what in postgres nginx pool daemon; do
    [ "${seen[$what]:-0}" -ge 1 ]
    ok $? "looked at ${seen[$what]:-0} process(es) of $what"
done
[ "${seen[postgres]:-0}" -ge 3 ] && [ "${seen[nginx]:-0}" -ge 2 ] && [ "${seen[pool]:-0}" -ge 2 ]
ok $? "  among them PostgreSQL's backends, nginx's workers and the pool's workers"
is "${found# }" "" "LASTITEM_ADMIN_TOKEN is in no /proc/PID/environ of them"

token_file=$RUN_DIR/admin-token
is "$(stat -c '%a %U' "$token_file" 2>&1)" "600 $(id -un)" "the token is in $token_file, 0600, the stack's user's"
post_json /api/reset '{}'
is "$HTTP_STATUS" 401 "reset without the token: 401"
post_json /api/reset '{}' -H "Authorization: Bearer $TOKEN"
is "$HTTP_STATUS" 200 "reset with it: 200 (the pool read the file)"

kill -TERM "$RUN_PID"
wait "$RUN_PID"
is "$?" 0 "make run stops"
RUN_PID=
[ ! -e "$token_file" ]
ok $? "and the token's file is gone"

done_testing
