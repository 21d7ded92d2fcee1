# stack.sh — start and stop the processes of one lastitem stack.
#
# Sourced by `make run` (scripts/run.sh), every integration test (through
# test/lib.sh) and `make bench`, so that all of them run the stack the same
# way: a private PostgreSQL cluster, the FastCGI pool and nginx, all living in
# one directory, $STACK_DIR.
#
#   $STACK_DIR/pg/data   the cluster          $STACK_DIR/pg/sock  its socket
#   $STACK_DIR/api.sock  the pool's socket    $STACK_DIR/nginx    nginx's files
#   $STACK_DIR/metrics.sock  the pool's socket for /api/metrics and /api/health
#   $STACK_DIR/events.sock  the event daemon's socket
#   $STACK_DIR/*.log     what each process said
#
# PostgreSQL refuses to run as root, so when we are root it runs as the
# unprivileged user $PG_USER (postgres by default), which owns pg/.
#
# Needs from the build: LI_SRCDIR, LI_BUILDDIR, PG_BINDIR, NGINX_BIN.

: "${PG_USER:=postgres}"
: "${PG_PORT:=5432}"

STACK_PG_EXTERNAL=   # set when DATABASE_URL or PG* name a server of the user's

stack_die() {
    echo "lastitem: $*" >&2
    exit 1
}

# Runs a command as the owner of the cluster.
stack_as_pg() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u "$PG_USER" -- "$@")
    else
        (cd / && "$@")
    fi
}

# stack_init DIR: makes DIR the stack's home.
stack_init() {
    STACK_DIR=$1
    mkdir -p "$STACK_DIR" || stack_die "cannot create $STACK_DIR"
    # nginx's workers and PostgreSQL run as other users: let them through.
    chmod 755 "$STACK_DIR"
    STACK_PG_SOCK=$STACK_DIR/pg/sock
    STACK_API_SOCK=$STACK_DIR/api.sock
    STACK_METRICS_SOCK=$STACK_DIR/metrics.sock
    STACK_EVENTS_SOCK=$STACK_DIR/events.sock
    [ ${#STACK_PG_SOCK} -lt 90 ] ||
        stack_die "$STACK_DIR is too deep for a unix socket path; use a shorter one"
}

# A TCP port on 127.0.0.1 nobody listens on now: test/freeport's when it is
# built (make check builds it), else one that refuses a connection.
stack_free_port() {
    local port i
    if [ -x "$LI_BUILDDIR/test/freeport" ]; then
        "$LI_BUILDDIR/test/freeport" && return 0
    fi
    for i in $(seq 1 50); do
        port=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# ------------------------------------------------------------- PostgreSQL

# The libpq connection string of the superuser, for loading the schema.
stack_admin_conninfo() {
    if [ -n "$STACK_PG_EXTERNAL" ]; then
        echo "${DATABASE_URL:-}"
    else
        echo "host=$STACK_PG_SOCK port=$PG_PORT dbname=lastitem user=postgres"
    fi
}

# The libpq connection string the pool uses: the restricted role.
stack_app_conninfo() {
    if [ -n "$STACK_PG_EXTERNAL" ]; then
        echo "${DATABASE_URL:-}"
    else
        echo "host=$STACK_PG_SOCK port=$PG_PORT dbname=lastitem user=lastitem_app"
    fi
}

# The event daemon's: the pool's, as its own role lastitem_events (sql/roles.sql).
stack_events_conninfo() {
    echo "$(stack_app_conninfo) user=lastitem_events"
}

stack_psql() {
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$(stack_admin_conninfo)" "$@"
}

# Prints one value of a query, as the superuser.
stack_sql() {
    "$PG_BINDIR/psql" -X -At -v ON_ERROR_STOP=1 "$(stack_admin_conninfo)" -c "$1"
}

# pg_init: creates the cluster unless it exists. Extra settings come from
# $STACK_PG_SETTINGS (lines of postgresql.conf). initdb syncs what it wrote
# to disk unless $STACK_INITDB_NOSYNC is set (the tests, which throw the
# cluster away): a cluster `make run` keeps must survive a crash of the
# machine right after it was made.
pg_init() {
    local pg=$STACK_DIR/pg
    [ -x "$PG_BINDIR/initdb" ] ||
        stack_die "no $PG_BINDIR/initdb: install the Debian package postgresql"
    if [ -f "$pg/data/PG_VERSION" ]; then
        return 0
    fi
    mkdir -p "$pg/data" "$pg/sock"
    if [ "$(id -u)" = 0 ]; then
        id "$PG_USER" >/dev/null 2>&1 ||
            stack_die "running as root needs the unprivileged user '$PG_USER' for PostgreSQL"
        chown -R "$PG_USER" "$pg"
    fi
    stack_as_pg "$PG_BINDIR/initdb" -D "$pg/data" -U postgres -A trust \
        -E UTF8 --locale=C.UTF-8 ${STACK_INITDB_NOSYNC:+--no-sync} >"$pg/initdb.log" 2>&1 ||
        { cat "$pg/initdb.log" >&2; stack_die "initdb failed"; }
    {
        echo "# lastitem: unix socket only, in the run directory"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$pg/sock'"
        echo "port = $PG_PORT"
        echo "max_connections = 300"
        echo "logging_collector = off"
        printf '%s\n' "${STACK_PG_SETTINGS:-}"
    } >>"$pg/data/postgresql.conf"
}

pg_start() {
    local pg=$STACK_DIR/pg
    stack_as_pg "$PG_BINDIR/pg_ctl" -D "$pg/data" -l "$pg/postgres.log" -w -t 60 \
        start >/dev/null || { tail -20 "$pg/postgres.log" >&2; stack_die "PostgreSQL did not start"; }
}

pg_stop() {
    [ -f "$STACK_DIR/pg/data/postmaster.pid" ] || return 0
    stack_as_pg "$PG_BINDIR/pg_ctl" -D "$STACK_DIR/pg/data" -m "${1:-fast}" -w \
        stop >/dev/null 2>&1 || true
}

# pg_load_schema: creates the database when missing, then loads sql/ (which
# is harmless to load again).
pg_load_schema() {
    if [ -z "$STACK_PG_EXTERNAL" ]; then
        local exists
        exists=$("$PG_BINDIR/psql" -X -At "host=$STACK_PG_SOCK port=$PG_PORT dbname=postgres user=postgres" \
            -c "SELECT 1 FROM pg_database WHERE datname = 'lastitem'") || stack_die "cannot reach PostgreSQL"
        [ "$exists" = 1 ] ||
            "$PG_BINDIR/createdb" -h "$STACK_PG_SOCK" -p "$PG_PORT" -U postgres lastitem ||
            stack_die "createdb failed"
    fi
    stack_psql -f "$LI_SRCDIR/sql/lastitem.sql" >/dev/null || stack_die "loading sql/ failed"
}

# pg_up: a ready database, private unless DATABASE_URL or PGHOST/PGDATABASE
# point at one of the user's.
pg_up() {
    if [ -n "${DATABASE_URL:-}" ] || [ -n "${PGHOST:-}${PGDATABASE:-}" ]; then
        STACK_PG_EXTERNAL=1
    else
        pg_init
        pg_start
    fi
    pg_load_schema
}

# ------------------------------------------------------------- our daemons

# stack_daemon_start WHAT PROGRAM SOCKET LOG [options…]: starts one of our
# programs listening on a unix SOCKET, connected as the pool's role, and waits
# until the socket is there. Sets STACK_DAEMON_PID.
stack_daemon_start() {
    local what=$1 program=$2 socket=$3 log=$4 i
    shift 4
    rm -f "$socket"
    # The user's server: the programs read DATABASE_URL (or PG*) themselves,
    # so a password in it never shows in ps.
    local db=(--db "$(stack_app_conninfo)")
    [ -z "$STACK_PG_EXTERNAL" ] || db=()
    "$LI_BUILDDIR/fcgi/$program" --listen "$socket" \
        "${db[@]}" "$@" >>"$log" 2>&1 &
    STACK_DAEMON_PID=$!
    for i in $(seq 1 100); do
        [ -S "$socket" ] && return 0
        kill -0 "$STACK_DAEMON_PID" 2>/dev/null || break
        sleep 0.05
    done
    tail -5 "$log" >&2
    stack_die "$what did not start"
}

# stack_stop_pid PID [SIGNAL]: signals a process we started and waits for it.
stack_stop_pid() {
    [ -n "$1" ] || return 0
    kill "-${2:-TERM}" "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# ------------------------------------------------------------- the pool

# pool_start [lastitem-api options…]: starts the pool on $STACK_API_SOCK,
# with metrics and health on $STACK_METRICS_SOCK too (the pool opens that one
# first, so it is there once the other is).
pool_start() {
    rm -f "$STACK_METRICS_SOCK"
    stack_daemon_start "the pool" lastitem-api "$STACK_API_SOCK" \
        "$STACK_DIR/api.log" --metrics-listen "$STACK_METRICS_SOCK" "$@"
    POOL_PID=$STACK_DAEMON_PID
}

# pool_stop: SIGTERM, then wait for the drain.
pool_stop() {
    stack_stop_pid "${POOL_PID:-}"
    POOL_PID=
}

# pool_children: the pids of every child of the pool's master.
pool_children() {
    [ -n "${POOL_PID:-}" ] && cat /proc/"$POOL_PID"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$'
}

# The pids of the pool's workers (not the scrape worker, named lastitem-scrape,
# nor the expiry process, lastitem-expiry).
pool_workers() {
    local pid
    for pid in $(pool_children); do
        case $(cat /proc/"$pid"/comm 2>/dev/null) in
            lastitem-scrape|lastitem-expiry) ;;
            *) echo "$pid" ;;
        esac
    done
}

# The pid of the pool's expiry process (unless --expire-interval 0).
pool_expiry_process() {
    local pid
    for pid in $(pool_children); do
        [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = lastitem-expiry ] && echo "$pid"
    done
    return 0
}

# The pid of the pool's scrape worker (of --metrics-listen), if it has one.
pool_scrape_worker() {
    local pid
    for pid in $(pool_children); do
        [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = lastitem-scrape ] && echo "$pid"
    done
    return 0
}

# ------------------------------------------------------------- the event daemon

# events_start [lastitem-events options…]: the SSE daemon on $STACK_EVENTS_SOCK,
# connected as its own role (the later --db wins over the pool's).
events_start() {
    local db=(--db "$(stack_events_conninfo)")
    [ -z "$STACK_PG_EXTERNAL" ] || db=()
    stack_daemon_start "the event daemon" lastitem-events "$STACK_EVENTS_SOCK" \
        "$STACK_DIR/events.log" "${db[@]}" "$@"
    EVENTS_PID=$STACK_DAEMON_PID
}

events_stop() {
    stack_stop_pid "${EVENTS_PID:-}"
    EVENTS_PID=
}

# ------------------------------------------------------------- nginx

# nginx_start PORT [HOST]: nginx on HOST:PORT in front of the pool.
# EVENTS_PER_ADDRESS: event streams one client address may hold open at once
# (default 256; 0 = no limit; nginx takes at most 65535). STACK_PUBLIC_DIR:
# the page's directory, when not the source tree's public/ (a test's copy).
# STACK_METRICS_LISTEN: host:port of the metrics server (/api/metrics,
# /api/events/metrics), 127.0.0.1 and a free port unless set; the public
# door answers those 404. Sets STACK_URL and STACK_METRICS_URL.
nginx_start() {
    local port=$1 host=${2:-127.0.0.1} dir=$STACK_DIR/nginx user_line=
    local per_address=${EVENTS_PER_ADDRESS:-256} events_limit
    local metrics_listen=${STACK_METRICS_LISTEN:-}
    if [ -z "$metrics_listen" ]; then
        metrics_listen=127.0.0.1:$(stack_free_port) ||
            stack_die "no free port for the metrics server"
    fi
    mkdir -p "$dir/tmp"
    [ "$(id -u)" = 0 ] && user_line="user nobody nogroup;"
    case $per_address in
        ''|*[!0-9]*) stack_die "EVENTS_PER_ADDRESS takes a number (0 = no limit)" ;;
    esac
    per_address=$((10#$per_address))
    [ "$per_address" -le 65535 ] || stack_die "EVENTS_PER_ADDRESS takes at most 65535 (0 = no limit)"
    if [ "$per_address" = 0 ]; then
        events_limit="# no limit per address (EVENTS_PER_ADDRESS=0)"
    else
        events_limit="limit_conn events_per_address $per_address;"
    fi
    sed -e "s|@USER_LINE@|$user_line|" \
        -e "s|@LISTEN@|$host:$port|" \
        -e "s|@RUN_DIR@|$dir|g" \
        -e "s|@PUBLIC_DIR@|${STACK_PUBLIC_DIR:-$LI_SRCDIR/public}|" \
        -e "s|@API_SOCKET@|$STACK_API_SOCK|" \
        -e "s|@METRICS_SOCKET@|$STACK_METRICS_SOCK|" \
        -e "s|@EVENTS_ADDR@|unix:$STACK_EVENTS_SOCK:|" \
        -e "s|@EVENTS_LIMIT@|$events_limit|" \
        -e "s|@METRICS_LISTEN@|$metrics_listen|" \
        "$LI_SRCDIR/nginx/lastitem.conf.in" >"$dir/nginx.conf"
    "$NGINX_BIN" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
        >>"$STACK_DIR/nginx.log" 2>&1 &
    NGINX_PID=$!
    STACK_URL=http://$host:$port
    STACK_METRICS_URL=http://$metrics_listen
    local i
    for i in $(seq 1 100); do
        # Ours must be alive too: an answer could come from someone else.
        if curl -s -o /dev/null "$STACK_URL/" && kill -0 "$NGINX_PID" 2>/dev/null; then
            nginx_note_workers
            return 0
        fi
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.05
    done
    tail -5 "$dir/error.log" >&2
    stack_die "nginx did not start on $host:$port"
}

# Remembers nginx's worker pids: if its master is killed outright, the
# workers live on holding the port, and only we know who they are.
nginx_note_workers() {
    NGINX_WORKERS=$(cat /proc/"$NGINX_PID"/task/*/children 2>/dev/null)
}

# Ends the workers of a master that died without taking them along.
nginx_kill_orphans() {
    local pid
    for pid in ${NGINX_WORKERS:-}; do
        grep -qs '^nginx: worker' /proc/"$pid"/cmdline && kill -KILL "$pid" 2>/dev/null
    done
    NGINX_WORKERS=
}

nginx_stop() {
    stack_stop_pid "${NGINX_PID:-}" QUIT
    NGINX_PID=
}

# stack_down: stops what is running, front to back.
stack_down() {
    nginx_stop
    events_stop
    pool_stop
    [ -n "$STACK_PG_EXTERNAL" ] || pg_stop fast
}
