#!/usr/bin/env bash
# `make run` heals its stack: scripts/run.sh, as `make run` starts it, in a
# run directory of its own on a free port. Its processes are killed one at a
# time: the pool's master (SIGKILL), the event daemon (SIGKILL), nginx's
# master (SIGKILL) and PostgreSQL (pg_ctl stop -m immediate). Each time
# run.sh must log the death and the restart, leave nothing of the old
# process behind, and the stack must serve again: a purchase answers 201,
# and the event stream answers through nginx. It also says, and has, a
# durable database.
. "$LI_SRCDIR/test/lib.sh"

run_test_setup
RUN_LOG=$TEST_DIR/run.out

# run.sh's children, by program: pid_of COMM.
pid_of() {
    local pid
    for pid in $(cat /proc/"$RUN_PID"/task/*/children 2>/dev/null); do
        [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$1" ] && echo "$pid"
    done
}
children_of() {
    cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$'
}
logged() {  # logged TEXT [N]: run.sh said TEXT at least N (1) times
    [ "$(grep -cF "$1" "$RUN_LOG")" -ge "${2:-1}" ]
}
buy_ok() {
    post_json /api/items/launch-hoodie/purchase '{"buyer":"supervised"}' --max-time 5
    [ "$HTTP_STATUS" = 201 ]
}
events_ok() {
    events_db_up
}
all_gone() {  # all_gone PID…: none of them runs any more (a zombie is gone)
    local pid
    for pid in "$@"; do
        [ -e /proc/"$pid" ] && [ "$(awk '{ print $3 }' /proc/"$pid"/stat 2>/dev/null)" != Z ] &&
            return 1
    done
    return 0
}

# ------------------------------------------------------------ start
PORT=$PORT METRICS_PORT=$METRICS_PORT RUN_DIR=$RUN_DIR "$BASH" "$LI_SRCDIR/scripts/run.sh" >"$RUN_LOG" 2>&1 &
RUN_PID=$!
wait_until 90 logged "lastitem is up" || bail "make run did not start"
ok 0 "make run starts (port $PORT, run directory $RUN_DIR)"
grep -q "metrics: .*$STACK_METRICS_URL/api/metrics" "$RUN_LOG"
ok $? "it says where the metrics are ($STACK_METRICS_URL)"
wait_until 30 buy_ok
ok $? "it sells"
wait_until 30 events_ok
ok $? "its event stream answers through nginx"
logged "durable (fsync, full_page_writes and synchronous_commit on): a 201 is on disk"
ok $? "it says its database is durable"
settings=$(for s in fsync synchronous_commit full_page_writes; do
               STACK_DIR=$RUN_DIR STACK_PG_SOCK=$RUN_DIR/pg/sock pg_setting "$s"; done | paste -sd' ')
is "$settings" "on on on" "and it is: fsync, synchronous_commit and full_page_writes on"

# ------------------------------------------------------------ the pool's master
master=$(pid_of lastitem-api)
workers=$(children_of "$master")
[ -n "$master" ] && [ -n "$workers" ]
ok $? "the pool runs: master $master, workers $(echo $workers)"
kill -KILL "$master"
wait_until 20 logged "the pool is back"
ok $? "the pool's master killed: run.sh logs it and starts another"
logged "the pool (lastitem-api) exited with status 137; starting it again"
ok $? "saying how it ended"
# shellcheck disable=SC2086  # one pid per word
wait_until 20 all_gone $workers
ok $? "the old master's workers are gone"
wait_until 20 buy_ok
ok $? "purchases answer 201 again"

# ------------------------------------------------------------ the event daemon
events=$(pid_of lastitem-events)
kill -KILL "$events"
wait_until 20 logged "the event daemon is back"
ok $? "the event daemon killed: run.sh logs it and starts another"
wait_until 30 events_ok
ok $? "the event stream answers again"

# ------------------------------------------------------------ nginx
nginx=$(pid_of nginx)
nginx_workers=$(children_of "$nginx")
[ -n "$nginx" ] && [ -n "$nginx_workers" ]
ok $? "nginx runs: master $nginx, workers $(echo $nginx_workers)"
kill -KILL "$nginx"
wait_until 20 logged "nginx is back"
ok $? "nginx's master killed: run.sh logs it and starts another"
# shellcheck disable=SC2086
wait_until 10 all_gone $nginx_workers
ok $? "the old master's workers, which held the port, are gone"
wait_until 20 buy_ok
ok $? "purchases through the new nginx answer 201"

# ------------------------------------------------------------ PostgreSQL
STACK_DIR=$RUN_DIR pg_stop immediate
wait_until 20 logged "PostgreSQL is back"
ok $? "PostgreSQL stopped (-m immediate): run.sh logs it and starts it again"
wait_until 30 buy_ok
ok $? "purchases answer 201 again"
wait_until 30 events_ok
ok $? "the event daemon is back on the database"
is "$(STACK_DIR=$RUN_DIR STACK_PG_SOCK=$RUN_DIR/pg/sock invariant launch-hoodie)" ok \
    "the invariant holds"

# ------------------------------------------------------------ the end
# (SIGTERM, as Ctrl-C's SIGINT is ignored by a background job of a script.)
kill -TERM "$RUN_PID"
wait "$RUN_PID"
is "$?" 0 "SIGTERM stops make run"
RUN_PID=
is "$(pids_of_run | paste -sd' ')" "" "and nothing of its stack is left running"
diag "$(grep -c 'starting it again' "$RUN_LOG") restarts logged"

done_testing
