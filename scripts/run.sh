# run.sh — `make run`: the whole lastitem stack, in the foreground.
#
# A private PostgreSQL cluster in ./run/pg (created on the first run; its data
# is kept between runs), unless DATABASE_URL or PGHOST/PGDATABASE point at a
# server of yours; the schema and demo data loaded (harmless when loaded
# again); the pool with --allow-unsafe, so the naive strategy can show the
# bug; the event daemon; nginx on $PORT (8080), and its metrics server on
# $METRICS_HOST:$METRICS_PORT (127.0.0.1, $PORT + 1). While it runs it watches its processes and
# restarts any that dies, saying so. Ctrl-C stops everything it started.
set -u

# Ctrl-C is how make run stops, so SIGINT must reach our trap. A shell
# ignores it in its background jobs (`make run &` in a script), and a
# signal ignored when bash starts cannot be trapped: then start again with
# it at its default. (Our daemons live in sessions of their own, stack_spawn,
# so the terminal's SIGINT reaches only this script, which stops them.)
sigint_ignored() {
    local key mask
    while read -r key mask; do
        [ "$key" = SigIgn: ] && { (( 16#$mask & 2 )); return; }
    done </proc/$$/status
    return 1
} 2>/dev/null
if sigint_ignored; then
    exec env --default-signal=INT "$BASH" "${BASH_SOURCE[0]}" "$@"
fi

# The admin token reaches the pool in a file of ours: an environment
# variable would be inherited by every process started from here
# (PostgreSQL and its backends, nginx, the daemon), each showing it in
# /proc/PID/environ. Taken out of the environment before anything starts.
admin_token=${LASTITEM_ADMIN_TOKEN:-}
unset LASTITEM_ADMIN_TOKEN
ADMIN_TOKEN_FILE=${LASTITEM_ADMIN_TOKEN_FILE:-}
RUN_TOKEN_FILE=

. "$LI_SRCDIR/scripts/stack.sh"

PORT=${PORT:-8080}
HOST=${HOST:-127.0.0.1}
# The metrics (/api/metrics, /api/events/metrics) are for the operator: on
# an address of their own, loopback unless said otherwise; the public door
# answers them 404.
METRICS_HOST=${METRICS_HOST:-127.0.0.1}
METRICS_PORT=${METRICS_PORT:-$((PORT + 1))}
STACK_METRICS_LISTEN=$METRICS_HOST:$METRICS_PORT
RUN_DIR=${RUN_DIR:-$LI_BUILDDIR/run}

say() {
    printf '%s lastitem: %s\n' "$(date -u +%H:%M:%S)" "$*"
}

stopping=0
said_stopping=0
say_stopping() {
    [ "$said_stopping" = 1 ] && return 0
    said_stopping=1
    say "stopping (the data stays in $RUN_DIR/pg)"
}
shutdown() {
    stopping=1
    trap '' INT TERM HUP
    say_stopping
    exit 0
}
# Whatever ends it (Ctrl-C, SIGTERM, the terminal closing, a failed start),
# nothing it started is left running, and the token's file goes too. The
# line that says so is written here as well: a signal that lands while bash
# waits for a child of its own can end the script through this trap alone.
run_exit() {
    [ "${RUN_STARTED:-0}" = 1 ] && say_stopping
    stack_down
    [ -z "$RUN_TOKEN_FILE" ] || rm -f "$RUN_TOKEN_FILE"
}
trap shutdown INT TERM HUP
trap run_exit EXIT

EVENTS_PER_ADDRESS=${EVENTS_PER_ADDRESS:-256}

stack_init "$RUN_DIR"

# The token, never an argument (ps would show it): the user's file
# (LASTITEM_ADMIN_TOKEN_FILE), which wins, or ours, made 0600 from
# LASTITEM_ADMIN_TOKEN and removed when make run ends.
if [ -z "$ADMIN_TOKEN_FILE" ] && [ -n "$admin_token" ]; then
    RUN_TOKEN_FILE=$RUN_DIR/admin-token
    rm -f "$RUN_TOKEN_FILE" &&
        (umask 077 && printf '%s\n' "$admin_token" >"$RUN_TOKEN_FILE") ||
        stack_die "cannot write $RUN_TOKEN_FILE"
    ADMIN_TOKEN_FILE=$RUN_TOKEN_FILE
fi
admin_token=
# batched by default: the fastest safe strategy in make bench
# (doc/benchmarks.md); the page and each request may pick another.
POOL_ARGS=(--allow-unsafe --strategy batched)
[ -z "$ADMIN_TOKEN_FILE" ] || POOL_ARGS+=(--admin-token-file "$ADMIN_TOKEN_FILE")

# The pool follows the event daemon's stream, to answer sold out without
# the database (doc/design.md).
POOL_ARGS+=(--events "$STACK_EVENTS_SOCK")
pg_up
pool_start "${POOL_ARGS[@]}"
events_start
nginx_start "$PORT" "$HOST"

url="http://localhost:$PORT"
[ "$HOST" = 127.0.0.1 ] || [ "$HOST" = localhost ] || url="http://$HOST:$PORT"
stampede="test/stampede -n 200 --reset"
[ "$PORT" = 8080 ] || stampede="$stampede -u $url"
if [ -n "$RUN_TOKEN_FILE" ]; then
    reset_note="needs the admin token (LASTITEM_ADMIN_TOKEN, kept for the pool in $RUN_TOKEN_FILE)"
elif [ -n "$ADMIN_TOKEN_FILE" ]; then
    reset_note="needs the admin token (in $ADMIN_TOKEN_FILE)"
else
    reset_note="OPEN to anyone who can reach the page (set LASTITEM_ADMIN_TOKEN or LASTITEM_ADMIN_TOKEN_FILE to protect it)"
fi
if [ "$EVENTS_PER_ADDRESS" = 0 ]; then
    limit_note="no limit per address (EVENTS_PER_ADDRESS=0)"
else
    limit_note="at most $EVENTS_PER_ADDRESS open per address, then 429 (EVENTS_PER_ADDRESS)"
fi
# Whether an answered purchase survives a crash, read from the server itself,
# so that the banner never claims what the settings do not give.
durability() {
    local fsync fpw sync
    fsync=$(stack_sql "SHOW fsync" 2>/dev/null)
    fpw=$(stack_sql "SHOW full_page_writes" 2>/dev/null)
    sync=$(stack_sql "SHOW synchronous_commit" 2>/dev/null)
    if [ "$fsync" = on ] && [ "$fpw" = on ] && [ -n "$sync" ] && [ "$sync" != off ]; then
        echo "durable (fsync, full_page_writes and synchronous_commit on): a 201 is on disk"
    else
        echo "NOT durable (fsync=$fsync, full_page_writes=$fpw, synchronous_commit=$sync): a crash can lose purchases already answered 201"
    fi
}
RUN_STARTED=1
cat <<BANNER

  lastitem is up:  $url/
  API:             $url/api/items
  live events:     curl -N $url/api/events   ($limit_note)
  metrics:         curl $STACK_METRICS_URL/api/metrics   and $STACK_METRICS_URL/api/events/metrics
                   (not on the public door; METRICS_HOST, METRICS_PORT)
  stampede:        $stampede        (from $LI_SRCDIR)
  strategy:        batched by default (the page offers every one)
  naive strategy:  ALLOWED (--allow-unsafe): it oversells, on purpose, to show the bug
  reset:           $reset_note
  database:        $([ -n "$STACK_PG_EXTERNAL" ] && echo "yours (DATABASE_URL / PG*)" || echo "private, in $RUN_DIR/pg")
                   $(durability)
  logs:            $RUN_DIR/*.log, $RUN_DIR/nginx/*.log

  Ctrl-C stops it all.

BANNER

# Supervise: a process that dies is restarted, and the restart is logged.
# A restart that fails is said and tried again a second later: from here on
# stack_die must not end the stack, only the attempt (each start function
# ends with it, so it returns the failure).
stack_die() {
    say "$*; trying again in a second"
    return 1
}
pg_alive() {
    [ -n "$STACK_PG_EXTERNAL" ] && return 0
    stack_as_pg "$PG_BINDIR/pg_ctl" -D "$STACK_DIR/pg/data" status >/dev/null 2>&1
}
while [ "$stopping" = 0 ]; do
    sleep 1
    if ! pg_alive; then
        say "PostgreSQL is not running; starting it again"
        pg_start && say "PostgreSQL is back"
    fi
    if ! kill -0 "$POOL_PID" 2>/dev/null; then
        wait "$POOL_PID" 2>/dev/null
        say "the pool (lastitem-api) exited with status $?; starting it again"
        pool_start "${POOL_ARGS[@]}" && say "the pool is back"
    fi
    if ! kill -0 "$EVENTS_PID" 2>/dev/null; then
        wait "$EVENTS_PID" 2>/dev/null
        say "the event daemon (lastitem-events) exited with status $?; starting it again"
        events_start && say "the event daemon is back"
    fi
    if ! kill -0 "$NGINX_PID" 2>/dev/null; then
        wait "$NGINX_PID" 2>/dev/null
        say "nginx exited with status $?; starting it again"
        nginx_kill_orphans
        nginx_start "$PORT" "$HOST" && say "nginx is back"
    else
        nginx_note_workers    # nginx replaces a worker that dies
    fi
done
