#!/usr/bin/env bash
# Ctrl-C stops `make run`, all of it, without restarting anything. A
# terminal sends SIGINT to its whole foreground process group: scripts/run.sh
# and whatever of its children are in that group. Its daemons must not take
# that as dying on their own (the supervisor would start them again, saying
# "exited with status 0; starting it again"): only run.sh's trap stops them.
# Twice, run.sh in a process group of its own and SIGINT to the group:
#   1. as a terminal's foreground job (a job of a shell with job control);
#   2. as a background job of a script, which starts with SIGINT ignored
#      (what bash does to such jobs): make run still stops on it.
# Each time: run.sh exits 0 and says it is stopping, logs no restart, and
# nothing of its stack is left (PostgreSQL and its backends, the pool and
# its workers, the daemon, nginx and its workers).
. "${LI_SRCDIR:?run through make check}/test/lib.sh" || exit 1

run_test_setup setsid

alive() {  # alive PID…: those still running (a zombie is not)
    local pid
    for pid in "$@"; do
        [ -e /proc/"$pid" ] && [ "$(awk '{ print $3 }' /proc/"$pid"/stat 2>/dev/null)" != Z ] &&
            echo "$pid"
    done
    return 0
}
none_alive() { [ -z "$(alive "$@")" ]; }

sells() {
    post_json /api/items/launch-hoodie/purchase '{"buyer":"ctrl-c"}' --max-time 5
    [ "$HTTP_STATUS" = 201 ]
}

# ctrl_c HOW: make run started HOW, then SIGINT to its process group.
ctrl_c() {
    local how=$1 log=$TEST_DIR/run-$1.out pids rc
    if [ "$how" = foreground ]; then
        set -m       # its own process group, SIGINT at its default
        PORT=$PORT METRICS_PORT=$METRICS_PORT RUN_DIR=$RUN_DIR "$BASH" "$LI_SRCDIR/scripts/run.sh" >"$log" 2>&1 &
        RUN_PID=$!
        set +m
    else
        # A script's background job (SIGINT ignored), in a group of its own.
        PORT=$PORT METRICS_PORT=$METRICS_PORT RUN_DIR=$RUN_DIR setsid "$BASH" "$LI_SRCDIR/scripts/run.sh" >"$log" 2>&1 &
        RUN_PID=$!
    fi
    wait_until 90 grep -qF "lastitem is up" "$log" || bail "make run did not start ($how)"
    wait_until 30 sells
    ok $? "$how: make run starts and sells"
    wait_until 30 events_db_up
    ok $? "$how: its event daemon streams"
    pids=$(pids_of_run)
    diag "$how: $(echo $pids | wc -w) processes of the stack; SIGINT to process group $RUN_PID"
    kill -INT -- -"$RUN_PID"
    wait_until 60 none_alive "$RUN_PID"
    ok $? "$how: make run ends on SIGINT to its group"
    # (If it did not, SIGTERM ends it, so that the test goes on.)
    none_alive "$RUN_PID" || kill -TERM "$RUN_PID"
    wait "$RUN_PID" 2>/dev/null
    rc=$?
    RUN_PID=
    is "$rc" 0 "$how: with status 0"
    grep -qF "stopping (the data stays in" "$log"
    ok $? "$how: saying it stops"
    is "$(grep -F 'starting it again' "$log")" "" "$how: it restarted nothing"
    # shellcheck disable=SC2086  # one pid per word
    is "$(alive $pids | paste -sd' ')" "" "$how: every process of its stack is gone"
    is "$(pids_of_run | paste -sd' ')" "" "$how: and none was started meanwhile"
}

ctrl_c foreground
ctrl_c background

done_testing
