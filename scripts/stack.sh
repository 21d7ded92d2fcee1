# stack.sh — start and stop the processes of one lastitem stack.
#
# Sourced by `make run` (scripts/run.sh), every integration test (through
# test/lib.sh) and `make bench`, so that all of them run the stack the same
# way: a private PostgreSQL cluster, the FastCGI pool and nginx, all living in
# one directory, $STACK_DIR.
#
#   $STACK_DIR/pg/data   the cluster          $STACK_DIR/pg/sock  its socket
#   $STACK_DIR/sock/api.sock      the pool's socket
#   $STACK_DIR/sock/metrics.sock  the pool's socket for /api/metrics and /api/health
#   $STACK_DIR/sock/events.sock   the event daemon's socket
#   $STACK_DIR/nginx     nginx's files        $STACK_DIR/*.log    what each process said
#
# PostgreSQL refuses to run as root, so when we are root it runs as the
# unprivileged user $PG_USER (postgres by default), which owns pg/; nginx's
# master runs as root and its workers as $NGINX_USER (www-data by default).
#
# No other local user gets in (doc/design.md): pg/ is the stack's user's
# alone (and $PG_USER's), PostgreSQL takes only peer-authenticated local
# connections of the stack's user, as the roles of pg_ident.conf, and sock/
# and the sockets in it are the stack's user's alone, or also nginx's
# workers' group when we are root.
#
# Needs from the build: LI_SRCDIR, LI_BUILDDIR, PG_BINDIR, NGINX_BIN.

: "${PG_USER:=postgres}"
: "${PG_PORT:=5432}"
: "${NGINX_USER:=www-data}"

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
    # What they must not read is in sub-directories of its own (pg/, sock/).
    chmod 755 "$STACK_DIR"
    STACK_PG_SOCK=$STACK_DIR/pg/sock
    STACK_SOCK_DIR=$STACK_DIR/sock
    STACK_API_SOCK=$STACK_SOCK_DIR/api.sock
    STACK_METRICS_SOCK=$STACK_SOCK_DIR/metrics.sock
    STACK_EVENTS_SOCK=$STACK_SOCK_DIR/events.sock
    [ ${#STACK_PG_SOCK} -lt 90 ] && [ ${#STACK_METRICS_SOCK} -lt 100 ] ||
        stack_die "$STACK_DIR is too deep for a unix socket path; use a shorter one"
    stack_sock_dir
}

# The group nginx's workers run as, when we are root (empty otherwise: then
# they run as we do).
stack_nginx_group() {
    [ "$(id -u)" = 0 ] || return 0
    id -gn "$NGINX_USER" 2>/dev/null ||
        stack_die "running as root needs the unprivileged user '$NGINX_USER' for nginx's workers (set NGINX_USER)"
}

# sock/: where the pool's and the daemon's sockets are. Ours alone, or
# also nginx's workers' group (they connect; nobody else may).
stack_sock_dir() {
    mkdir -p "$STACK_SOCK_DIR" || stack_die "cannot create $STACK_SOCK_DIR"
    STACK_SOCK_GROUP=$(stack_nginx_group) || exit 1
    if [ -n "$STACK_SOCK_GROUP" ]; then
        chown "0:$STACK_SOCK_GROUP" "$STACK_SOCK_DIR" && chmod 750 "$STACK_SOCK_DIR"
    else
        chmod 700 "$STACK_SOCK_DIR"
    fi || stack_die "cannot restrict $STACK_SOCK_DIR"
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
# (Each role named here must be in pg_ident.conf: see pg_write_auth.)
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
    pg_lock_down
    # pg_hba.conf is replaced before the first start (pg_write_auth).
    stack_as_pg "$PG_BINDIR/initdb" -D "$pg/data" -U postgres \
        --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 ${STACK_INITDB_NOSYNC:+--no-sync} >"$pg/initdb.log" 2>&1 ||
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

# pg_lock_down: pg/ (the cluster, its socket directory, its logs) is for
# PostgreSQL's user and the stack's user alone: when we are root, $PG_USER
# owns it and root's group may pass; otherwise it is ours, 0700. Done at
# every start, so a cluster of an older `make run` (0755) is closed too.
pg_lock_down() {
    local pg=$STACK_DIR/pg
    if [ "$(id -u)" = 0 ]; then
        chown "$PG_USER:0" "$pg" "$pg/sock" && chmod 750 "$pg" "$pg/sock"
    else
        chmod 700 "$pg" "$pg/sock"
    fi || stack_die "cannot restrict $pg"
}

# pg_write_auth: who may connect. Only through the socket (listen_addresses
# is empty), only as the OS user running the stack (peer), and only as the
# roles the stack uses (the map): the superuser that loads the schema, the
# pool's lastitem_app and the event daemon's lastitem_events. Rewritten at
# every start: a cluster made by an older `make run` (initdb -A trust, where
# any local user was a superuser) gets these rules too, and so does one
# whose stack now runs as another user.
pg_write_auth() {
    local data=$STACK_DIR/pg/data me role
    me=$(id -un) || stack_die "who am I?"
    {
        echo "# lastitem (scripts/stack.sh): rewritten at every start."
        echo "# TYPE  DATABASE  USER  METHOD"
        echo "local   all       all   peer map=lastitem"
        # A test that needs TCP (test/lib.sh, TEST_PG_TCP=1) gets loopback
        # with a password: still no role without one.
        [ "${STACK_PG_TCP:-0}" = 1 ] &&
            echo "host    all       all   127.0.0.1/32  scram-sha-256"
        true
    } >"$data/pg_hba.conf.new" &&
    {
        echo "# lastitem (scripts/stack.sh): rewritten at every start."
        echo "# MAPNAME  SYSTEM-USER  PG-USER"
        for role in postgres lastitem_app lastitem_events; do
            printf 'lastitem  %s  %s\n' "$me" "$role"
        done
    } >"$data/pg_ident.conf.new" || stack_die "cannot write $data/pg_hba.conf"
    if [ "$(id -u)" = 0 ]; then
        chown "$PG_USER" "$data/pg_hba.conf.new" "$data/pg_ident.conf.new" ||
            stack_die "cannot give $data/pg_hba.conf to $PG_USER"
    fi
    chmod 600 "$data/pg_hba.conf.new" "$data/pg_ident.conf.new" &&
    mv -f "$data/pg_hba.conf.new" "$data/pg_hba.conf" &&
    mv -f "$data/pg_ident.conf.new" "$data/pg_ident.conf" ||
        stack_die "cannot write $data/pg_hba.conf"
}

pg_start() {
    local pg=$STACK_DIR/pg
    pg_lock_down
    pg_write_auth
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

# stack_spawn COMMAND…: starts COMMAND in the background, in a session of
# its own, and sets STACK_SPAWNED_PID. The terminal's Ctrl-C goes to its
# foreground process group: our daemons are not in it, so they stop when
# whoever started them says so (run.sh's trap), never on their own while
# a supervisor looks on and starts them again. setsid execs in place (the
# pid is the daemon's) unless its caller leads a process group, which a
# background job of a shell with job control does: that job has a group of
# its own already, out of the terminal's reach.
stack_spawn() {
    if [[ $- == *m* ]]; then
        "$@" &
    else
        setsid "$@" &
    fi
    STACK_SPAWNED_PID=$!
}

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
    # nginx's workers connect to the socket: when we are root they are not us.
    local access=()
    [ -z "${STACK_SOCK_GROUP:-}" ] || access=(--socket-group "$STACK_SOCK_GROUP")
    stack_spawn "$LI_BUILDDIR/fcgi/$program" --listen "$socket" "${access[@]}" \
        "${db[@]}" "$@" >>"$log" 2>&1
    STACK_DAEMON_PID=$STACK_SPAWNED_PID
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

# pool_child_named COMM: the pids of the pool's children named COMM.
pool_child_named() {
    local pid
    for pid in $(pool_children); do
        [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$1" ] && echo "$pid"
    done
    return 0
}

# The pid of the pool's expiry process (unless --expire-interval 0).
pool_expiry_process() { pool_child_named lastitem-expiry; }

# The pid of the pool's scrape worker (of --metrics-listen), if it has one.
pool_scrape_worker() { pool_child_named lastitem-scrape; }

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
# door answers those 404. STACK_HOST_NAME: a name nginx sends in
# X-Lastitem-Host with every answer of the public door (scripts/cluster.sh's
# app hosts); none when unset. Sets STACK_URL and STACK_METRICS_URL.
nginx_start() {
    local port=$1 host=${2:-127.0.0.1} dir=$STACK_DIR/nginx user_line=
    local per_address=${EVENTS_PER_ADDRESS:-256} events_limit
    local metrics_listen=${STACK_METRICS_LISTEN:-}
    if [ -z "$metrics_listen" ]; then
        metrics_listen=127.0.0.1:$(stack_free_port) ||
            stack_die "no free port for the metrics server"
    fi
    mkdir -p "$dir/tmp"
    # As root, the workers run as $NGINX_USER, in the group sock/ is open to.
    [ -n "${STACK_SOCK_GROUP:-}" ] && user_line="user $NGINX_USER $STACK_SOCK_GROUP;"
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
    local host_header="# one host: no X-Lastitem-Host"
    case ${STACK_HOST_NAME:-} in
        '') ;;
        *[!A-Za-z0-9.-]*) stack_die "STACK_HOST_NAME takes letters, digits, dots and dashes" ;;
        *) host_header="add_header X-Lastitem-Host \"$STACK_HOST_NAME\" always;" ;;
    esac
    sed -e "s|@USER_LINE@|$user_line|" \
        -e "s|@HOST_HEADER@|$host_header|" \
        -e "s|@LISTEN@|$host:$port|" \
        -e "s|@RUN_DIR@|$dir|g" \
        -e "s|@PUBLIC_DIR@|${STACK_PUBLIC_DIR:-$LI_SRCDIR/public}|" \
        -e "s|@API_SOCKET@|$STACK_API_SOCK|" \
        -e "s|@METRICS_SOCKET@|$STACK_METRICS_SOCK|" \
        -e "s|@EVENTS_ADDR@|unix:$STACK_EVENTS_SOCK:|" \
        -e "s|@EVENTS_LIMIT@|$events_limit|" \
        -e "s|@METRICS_LISTEN@|$metrics_listen|" \
        "$LI_SRCDIR/nginx/lastitem.conf.in" >"$dir/nginx.conf"
    stack_spawn "$NGINX_BIN" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
        >>"$STACK_DIR/nginx.log" 2>&1
    NGINX_PID=$STACK_SPAWNED_PID
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
