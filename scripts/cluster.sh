# cluster.sh — many app hosts, one PostgreSQL primary, a failover, on one
# machine.
#
# Sourced by `make run-cluster` (scripts/run_cluster.sh) and the tests
# test/cluster_*.sh and test/failover_*.sh. It builds, in network namespaces
# of its own, what doc/operations.md "Many hosts" describes for real
# machines:
#
#   dcs    10.231.N.10  etcd, where Patroni keeps who leads
#   db1    10.231.N.11  PostgreSQL under Patroni (the first primary)
#   db2    10.231.N.12  PostgreSQL under Patroni (its synchronous standby)
#   app1…3 10.231.N.21…23  nginx, lastitem-api, lastitem-events, each
#                       connecting to "db1,db2" with target_session_attrs=read-write
#
# and, in this machine's own namespace, a front nginx on 127.0.0.1:PORT
# balancing over the three app hosts. The namespaces hang off a bridge in the
# root namespace, which has 10.231.N.1 so that the front nginx, the tests
# and psql reach every address. N is the first /24 of 10.231.0.0/16 no
# interface of this machine uses, so runs side by side do not collide, and
# nothing is sent to any address but these and 127.0.0.1.
#
# Every name (namespaces, links) starts with li<pid> of the run, and
# cluster_down removes them all; callers trap it.
#
# Needs root (ip netns), the Debian packages patroni, etcd-server and
# python3-psycopg2, and what scripts/stack.sh needs (it is sourced too).

. "$LI_SRCDIR/scripts/stack.sh"

CLUSTER_APPS="app1 app2 app3"
CLUSTER_DBS="db1 db2"
CLUSTER_APP_PORT=8080          # each app host's nginx, on its own address
CLUSTER_PG_PORT=5432
CLUSTER_PATRONI_PORT=8008
CLUSTER_ETCD_PORT=2379
CLUSTER_PIDS=()                # what we started, for cluster_down
CLUSTER_NAMESPACES=()
CLUSTER_LINKS=()
declare -A CLUSTER_PATRONI_PID=()

cluster_die() {
    echo "lastitem cluster: $*" >&2
    exit 1
}

# cluster_init DIR: the run's home, its names and its /24.
cluster_init() {
    CLUSTER_DIR=$1
    CLUSTER_TAG=li$$
    [ "$(id -u)" = 0 ] || cluster_die "needs root: it creates network namespaces"
    for need in ip patroni etcd; do
        command -v "$need" >/dev/null 2>&1 ||
            cluster_die "needs $need (Debian packages iproute2, patroni, etcd-server)"
    done
    mkdir -p "$CLUSTER_DIR" || cluster_die "cannot create $CLUSTER_DIR"
    chmod 755 "$CLUSTER_DIR"
    local n start=$(( $$ % 250 ))
    for ((n = start; n < start + 250; n++)); do
        CLUSTER_NET=10.231.$((n % 250))
        ip -4 addr show | grep -q "inet $CLUSTER_NET\." || break
    done
    ! ip -4 addr show | grep -q "inet $CLUSTER_NET\." ||
        cluster_die "every 10.231.N.0/24 is in use"
    CLUSTER_PASS_APP=$(cluster_secret) && CLUSTER_PASS_EVENTS=$(cluster_secret) &&
        CLUSTER_PASS_SUPER=$(cluster_secret) && CLUSTER_PASS_REPL=$(cluster_secret) ||
        cluster_die "cannot make passwords"
    # The programs read their passwords here (libpq's passfile): never an
    # argument, which ps would show.
    CLUSTER_PASSFILE=$CLUSTER_DIR/pgpass
    (umask 077 && printf '*:*:*:lastitem_app:%s\n*:*:*:lastitem_events:%s\n' \
        "$CLUSTER_PASS_APP" "$CLUSTER_PASS_EVENTS" >"$CLUSTER_PASSFILE")
}

cluster_secret() {
    head -c 18 /dev/urandom | base64 | tr '+/' 'xy'
}

# The address of a host of the run.
cluster_addr() {
    case $1 in
        bridge) echo "$CLUSTER_NET.1" ;;
        dcs) echo "$CLUSTER_NET.10" ;;
        db1) echo "$CLUSTER_NET.11" ;;
        db2) echo "$CLUSTER_NET.12" ;;
        app1) echo "$CLUSTER_NET.21" ;;
        app2) echo "$CLUSTER_NET.22" ;;
        app3) echo "$CLUSTER_NET.23" ;;
        *) return 1 ;;
    esac
}

cluster_ns() {
    echo "$CLUSTER_TAG-$1"
}

# cluster_in HOST COMMAND…: runs COMMAND in HOST's namespace.
cluster_in() {
    local host=$1
    shift
    ip netns exec "$(cluster_ns "$host")" "$@"
}

# cluster_in_bg HOST LOG COMMAND…: the same in the background, its output
# appended to LOG; its pid ($!: ip execs COMMAND, so it is COMMAND's) is
# kept for cluster_down and left in CLUSTER_BG_PID.
cluster_in_bg() {
    local host=$1 log=$2
    shift 2
    ip netns exec "$(cluster_ns "$host")" "$@" >>"$log" 2>&1 &
    CLUSTER_BG_PID=$!
    CLUSTER_PIDS+=("$!")
}

# ------------------------------------------------------------- the network

cluster_net_up() {
    local br=${CLUSTER_TAG}br host ns veth i=0
    ip link add "$br" type bridge || cluster_die "cannot create the bridge $br"
    CLUSTER_BRIDGE=$br
    ip addr add "$(cluster_addr bridge)/24" dev "$br" && ip link set "$br" up ||
        cluster_die "cannot bring up $br"
    for host in dcs $CLUSTER_DBS $CLUSTER_APPS; do
        i=$((i + 1))
        ns=$(cluster_ns "$host")
        veth=${CLUSTER_TAG}v$i
        ip netns add "$ns" || cluster_die "cannot create the namespace $ns"
        CLUSTER_NAMESPACES+=("$ns")
        ip link add "$veth" type veth peer name "${veth}p" || cluster_die "cannot create $veth"
        CLUSTER_LINKS+=("$veth")
        ip link set "${veth}p" netns "$ns" &&
            ip link set "$veth" master "$br" && ip link set "$veth" up &&
            ip -n "$ns" link set "${veth}p" name eth0 &&
            ip -n "$ns" addr add "$(cluster_addr "$host")/24" dev eth0 &&
            ip -n "$ns" link set eth0 up &&
            ip -n "$ns" link set lo up ||
            cluster_die "cannot wire $host"
    done
}

# ------------------------------------------------------------- etcd

cluster_etcd_start() {
    local addr dir=$CLUSTER_DIR/dcs
    addr=$(cluster_addr dcs)
    mkdir -p "$dir"
    cluster_in_bg dcs "$dir/etcd.log" etcd --name dcs --data-dir "$dir/data" \
        --listen-client-urls "http://$addr:$CLUSTER_ETCD_PORT" \
        --advertise-client-urls "http://$addr:$CLUSTER_ETCD_PORT" \
        --listen-peer-urls "http://$addr:2380" \
        --initial-advertise-peer-urls "http://$addr:2380" \
        --initial-cluster "dcs=http://$addr:2380" \
        --initial-cluster-token "$CLUSTER_TAG"
    CLUSTER_ETCD_PID=$CLUSTER_BG_PID
    local i
    for i in $(seq 1 100); do
        curl -s --max-time 1 "http://$addr:$CLUSTER_ETCD_PORT/health" | grep -q true && return 0
        kill -0 "$CLUSTER_ETCD_PID" 2>/dev/null || break
        sleep 0.1
    done
    tail -5 "$dir/etcd.log" >&2
    cluster_die "etcd did not start"
}

# ------------------------------------------------------------- PostgreSQL under Patroni

# cluster_patroni_config HOST: Patroni's file for the database host HOST.
cluster_patroni_config() {
    local host=$1 addr dir=$CLUSTER_DIR/$1
    addr=$(cluster_addr "$host")
    cat <<EOF
scope: lastitem-$CLUSTER_TAG
name: $host
log:
  level: INFO
restapi:
  listen: $addr:$CLUSTER_PATRONI_PORT
  connect_address: $addr:$CLUSTER_PATRONI_PORT
etcd3:
  host: $(cluster_addr dcs):$CLUSTER_ETCD_PORT
bootstrap:
  dcs:
    # The smallest Patroni allows: a primary that dies is replaced in about
    # ttl seconds when its Patroni dies with it, at once when only
    # PostgreSQL crashed (primary_start_timeout 0: fail over, do not
    # recover in place).
    ttl: 20
    loop_wait: 1
    retry_timeout: 5
    primary_start_timeout: 0
    # A commit is acknowledged only once the synchronous standby has it,
    # and only that standby may be promoted: an acknowledged purchase is
    # never lost to a failover.
    synchronous_mode: true
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        synchronous_commit: "on"
        wal_log_hints: "on"
        max_connections: 300
        max_wal_senders: 10
        max_replication_slots: 10
        hot_standby: "on"
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - auth-local: peer
    - auth-host: scram-sha-256
postgresql:
  listen: $addr:$CLUSTER_PG_PORT
  connect_address: $addr:$CLUSTER_PG_PORT
  use_unix_socket: true
  data_dir: $dir/data
  bin_dir: $PG_BINDIR
  pgpass: $dir/pgpass
  # A new standby's copy starts at once, not after a spread checkpoint.
  basebackup:
    - checkpoint: fast
  authentication:
    superuser:
      username: postgres
      password: "$CLUSTER_PASS_SUPER"
    replication:
      username: replicator
      password: "$CLUSTER_PASS_REPL"
    rewind:
      username: postgres
      password: "$CLUSTER_PASS_SUPER"
  parameters:
    unix_socket_directories: "$dir/sock"
    password_encryption: scram-sha-256
  pg_hba:
    - local all postgres peer
    - host replication replicator $CLUSTER_NET.0/24 scram-sha-256
    - host all postgres $CLUSTER_NET.0/24 scram-sha-256
    - host lastitem lastitem_app,lastitem_events $CLUSTER_NET.0/24 scram-sha-256
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
EOF
}

# cluster_db_start HOST: Patroni (and through it PostgreSQL) on HOST.
cluster_db_start() {
    local host=$1 dir=$CLUSTER_DIR/$1
    mkdir -p "$dir/sock"
    cluster_patroni_config "$host" >"$dir/patroni.yml"
    chown -R "$PG_USER" "$dir"
    chmod 700 "$dir"
    # Patroni runs PostgreSQL, which refuses root: it runs as $PG_USER
    # (setpriv, not runuser: the pid we keep is Patroni's own).
    cluster_in_bg "$host" "$dir/patroni.log" env HOME="$dir" \
        setpriv --reuid="$PG_USER" --regid="$PG_USER" --init-groups \
        patroni "$dir/patroni.yml"
    CLUSTER_PATRONI_PID[$host]=$CLUSTER_BG_PID
}

# cluster_role HOST: what Patroni's REST API says HOST is (primary, replica,
# or nothing when it does not answer).
cluster_role() {
    curl -s --max-time 2 "http://$(cluster_addr "$1"):$CLUSTER_PATRONI_PORT/patroni" |
        jq -r '.role // empty' 2>/dev/null
}

# cluster_primary: the database host that is primary and running now.
cluster_primary() {
    local host state
    for host in $CLUSTER_DBS; do
        state=$(curl -s --max-time 2 "http://$(cluster_addr "$host"):$CLUSTER_PATRONI_PORT/patroni" |
            jq -r '"\(.role)/\(.state)"' 2>/dev/null)
        case $state in
            master/running|primary/running) echo "$host"; return 0 ;;
        esac
    done
    return 1
}

# cluster_sync_standby: the host Patroni has as the synchronous standby.
cluster_sync_standby() {
    curl -s --max-time 2 "http://$(cluster_addr "$1"):$CLUSTER_PATRONI_PORT/cluster" |
        jq -r '.members[] | select(.role == "sync_standby" and .state != "stopped" ) | .name' 2>/dev/null
}

# cluster_wait SECONDS COMMAND…: polls until COMMAND succeeds.
cluster_wait() {
    local deadline=$(( $(date +%s%N) + $1 * 1000000000 ))
    shift
    until "$@"; do
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

cluster_has_sync_standby() {
    local p
    p=$(cluster_primary) && [ -n "$(cluster_sync_standby "$p")" ]
}

# cluster_sql HOST SQL: one value, as the superuser, over HOST's unix socket.
cluster_sql() {
    stack_as_pg "$PG_BINDIR/psql" -X -At -v ON_ERROR_STOP=1 \
        "host=$CLUSTER_DIR/$1/sock port=$CLUSTER_PG_PORT dbname=${CLUSTER_DB:-lastitem} user=postgres" \
        -c "$2"
}

# cluster_db_up: both database hosts, a primary with its synchronous
# standby, the schema loaded and the roles given their passwords.
cluster_db_up() {
    local host primary
    for host in $CLUSTER_DBS; do
        cluster_db_start "$host"
        # The first one bootstraps; the second then clones it.
        [ "$host" = db1 ] && { cluster_wait 60 cluster_primary >/dev/null ||
            { tail -20 "$CLUSTER_DIR/db1/patroni.log" >&2; cluster_die "db1 did not become primary"; }; }
    done
    primary=$(cluster_primary) || cluster_die "no primary"
    CLUSTER_DB=postgres cluster_sql "$primary" "SELECT 1 FROM pg_database WHERE datname = 'lastitem'" |
        grep -q 1 ||
        CLUSTER_DB=postgres cluster_sql "$primary" "CREATE DATABASE lastitem" >/dev/null ||
        cluster_die "cannot create the database"
    stack_as_pg "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 \
        "host=$CLUSTER_DIR/$primary/sock port=$CLUSTER_PG_PORT dbname=lastitem user=postgres" \
        -f "$LI_SRCDIR/sql/lastitem.sql" >/dev/null || cluster_die "loading sql/ failed"
    cluster_sql "$primary" "ALTER ROLE lastitem_app PASSWORD '$CLUSTER_PASS_APP';
                            ALTER ROLE lastitem_events PASSWORD '$CLUSTER_PASS_EVENTS'" >/dev/null ||
        cluster_die "cannot set the roles' passwords"
    cluster_wait 90 cluster_has_sync_standby ||
        { tail -20 "$CLUSTER_DIR/db2/patroni.log" >&2; cluster_die "db2 did not become the synchronous standby"; }
}

# ------------------------------------------------------------- the app hosts

# The conninfo of every app host: both database hosts, the one that takes
# writes wins; each address gets 2 s to answer, and a server that vanishes
# mid-statement is noticed by TCP keepalives within about 8 s.
cluster_conninfo() {
    echo "host=$(cluster_addr db1),$(cluster_addr db2) port=$CLUSTER_PG_PORT,$CLUSTER_PG_PORT dbname=lastitem user=$1 target_session_attrs=read-write connect_timeout=2 keepalives_idle=5 keepalives_interval=1 keepalives_count=3 passfile=$CLUSTER_PASSFILE"
}

# cluster_app_start HOST [lastitem-api options…]: nginx, the pool and the
# event daemon on HOST, as `make run` runs them (scripts/stack.sh), in its
# namespace. nginx says which host answered (X-Lastitem-Host).
cluster_app_start() {
    local host=$1 dir=$CLUSTER_DIR/$1
    shift
    mkdir -p "$dir"
    # The front nginx is one address to every app host: no limit per address.
    cluster_in "$host" env LI_SRCDIR="$LI_SRCDIR" LI_BUILDDIR="$LI_BUILDDIR" \
        PG_BINDIR="$PG_BINDIR" NGINX_BIN="$NGINX_BIN" \
        APP_CONNINFO="$(cluster_conninfo lastitem_app)" \
        EVENTS_CONNINFO="$(cluster_conninfo lastitem_events)" \
        STACK_HOST_NAME="$host" EVENTS_PER_ADDRESS=0 \
        STACK_METRICS_LISTEN=127.0.0.1:$((CLUSTER_APP_PORT + 1)) \
        bash -c '
            . "$LI_SRCDIR/scripts/stack.sh"
            STACK_PG_EXTERNAL=1
            port=$0 addr=$2
            stack_init "$1"
            shift 3
            # A start that fails takes down what it started.
            trap stack_down EXIT
            pool_start --db "$APP_CONNINFO" "$@"
            events_start --db "$EVENTS_CONNINFO" --heartbeat 5
            nginx_start "$port" "$addr"
            echo "$POOL_PID $EVENTS_PID $NGINX_PID" >"$STACK_DIR/pids"
            trap - EXIT
        ' "$CLUSTER_APP_PORT" "$dir" "$(cluster_addr "$host")" - "$@" ||
        cluster_die "$host did not start"
    local pids
    read -r -a pids <"$dir/pids"
    CLUSTER_PIDS+=("${pids[@]}")
}

# cluster_app_url HOST: the public door of one app host.
cluster_app_url() {
    echo "http://$(cluster_addr "$1"):$CLUSTER_APP_PORT"
}

# cluster_events_metric HOST NAME: one value of HOST's event daemon.
cluster_events_metric() {
    cluster_in "$1" curl -s --max-time 5 "http://127.0.0.1:$((CLUSTER_APP_PORT + 1))/api/events/metrics" |
        awk -v n="$2" '$1 == n { print $2 }'
}

# cluster_pids HOST: pool, event daemon and nginx of an app host.
cluster_app_pids() {
    cat "$CLUSTER_DIR/$1/pids"
}

# ------------------------------------------------------------- the front

# cluster_front_start PORT [HOST]: nginx in this namespace balancing buyers
# over the app hosts (nginx/cluster-front.conf.in).
cluster_front_start() {
    local port=$1 listen=${2:-127.0.0.1} dir=$CLUSTER_DIR/front host upstreams=
    mkdir -p "$dir/tmp"
    for host in $CLUSTER_APPS; do
        upstreams="$upstreams        server $(cluster_addr "$host"):$CLUSTER_APP_PORT max_fails=1 fail_timeout=2s;\\n"
    done
    sed -e "s|@USER_LINE@|user nobody nogroup;|" \
        -e "s|@LISTEN@|$listen:$port|" \
        -e "s|@RUN_DIR@|$dir|g" \
        -e "s|@UPSTREAMS@|$upstreams|" \
        "$LI_SRCDIR/nginx/cluster-front.conf.in" >"$dir/nginx.conf"
    "$NGINX_BIN" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >>"$dir/nginx.log" 2>&1 &
    CLUSTER_FRONT_PID=$!
    CLUSTER_PIDS+=("$!")
    CLUSTER_URL=http://$listen:$port
    local i
    for i in $(seq 1 100); do
        curl -s -o /dev/null "$CLUSTER_URL/" && kill -0 "$CLUSTER_FRONT_PID" 2>/dev/null && return 0
        kill -0 "$CLUSTER_FRONT_PID" 2>/dev/null || break
        sleep 0.05
    done
    tail -5 "$dir/error.log" >&2
    cluster_die "the front nginx did not start on $listen:$port"
}

# ------------------------------------------------------------- all of it

# cluster_up [lastitem-api options…]: the network, etcd, both databases,
# the three app hosts (not the front).
cluster_up() {
    local host
    cluster_net_up
    cluster_etcd_start
    cluster_db_up
    for host in $CLUSTER_APPS; do
        cluster_app_start "$host" "$@"
    done
}

# cluster_down: stops everything started, newest first, and removes the
# namespaces and links. Safe to call twice, and on a half-built cluster.
cluster_down() {
    local i pid ns link host
    for ((i = ${#CLUSTER_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${CLUSTER_PIDS[$i]}
        kill -TERM "$pid" 2>/dev/null || true
    done
    # Patroni stops its PostgreSQL when told to; give everyone 15 s.
    for i in $(seq 1 150); do
        local alive=0
        for pid in "${CLUSTER_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${CLUSTER_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    # A PostgreSQL whose Patroni was killed: stop it by its own pid file.
    for host in $CLUSTER_DBS; do
        [ -f "$CLUSTER_DIR/$host/data/postmaster.pid" ] &&
            stack_as_pg "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/$host/data" -m immediate -w \
                stop >/dev/null 2>&1
    done
    CLUSTER_PIDS=()
    for ns in "${CLUSTER_NAMESPACES[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    CLUSTER_NAMESPACES=()
    # A namespace goes once its last socket is gone, which can take the
    # kernel a while: its links are deleted now.
    for link in "${CLUSTER_LINKS[@]}"; do
        ip link del "$link" 2>/dev/null || true
    done
    CLUSTER_LINKS=()
    [ -z "${CLUSTER_BRIDGE:-}" ] || ip link del "$CLUSTER_BRIDGE" 2>/dev/null || true
    CLUSTER_BRIDGE=
}
