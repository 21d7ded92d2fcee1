# cluster_lib.sh — what test/cluster_*.sh and test/failover_*.sh share: TAP
# and the stream helpers of lib.sh, and a cluster of scripts/cluster.sh
# (two PostgreSQL under Patroni, three app hosts, a front nginx) of the
# test's own, in network namespaces it creates and removes when it exits.
#
#   . "$LI_SRCDIR/test/cluster_lib.sh"
#   test_cluster_up --workers 4     # options go to each lastitem-api
#
# Skipped, not failed, where namespaces or Patroni cannot run (not root, no
# patroni or etcd): `make check-cluster` is for CI and machines set up for it.

. "$LI_SRCDIR/test/lib.sh"
. "$LI_SRCDIR/scripts/cluster.sh"

test_cluster_cleanup() {
    local rc=$?
    test_stop_extras
    cluster_down
    if [ "$rc" -eq 0 ] && [ "$TAP_FAILED" -eq 0 ]; then
        rm -rf "$TEST_DIR"
    else
        echo "# kept $TEST_DIR for a look at its logs"
    fi
}

test_cluster_up() {
    [ "$(id -u)" = 0 ] || skip_all "network namespaces need root"
    for need in ip patroni etcd "$CURL" "$JQ" "$NGINX_BIN"; do
        command -v "$need" >/dev/null 2>&1 || skip_all "$need is missing (Debian: iproute2 patroni etcd-server)"
    done
    TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/li-$TEST_NAME.XXXXXX") || bail "mktemp"
    trap test_cluster_cleanup EXIT
    trap 'exit 1' INT TERM
    # cluster_die must end the test as a bail-out, not a bare exit.
    cluster_die() {
        echo "Bail out! cluster: $*"
        exit 1
    }
    local started=$SECONDS
    cluster_init "$TEST_DIR"
    cluster_up "$@"
    cluster_front_start "$("$LI_BUILDDIR/test/freeport")"
    BASE_URL=$CLUSTER_URL
    diag "cluster up in $((SECONDS - started)) s: primary $(cluster_primary), net $CLUSTER_NET.0/24, front $CLUSTER_URL"
}

# The superuser's psql on whichever host is primary now.
primary_sql() {
    local p
    p=$(cluster_primary) || return 1
    cluster_sql "$p" "$1"
}

# lib.sh's database helpers (invariant, db_items_state) read stack_sql.
stack_sql() {
    primary_sql "$1"
}

# app_daemons_up: each app host's event daemon streams from the database.
app_daemons_up() {
    local host
    for host in $CLUSTER_APPS; do
        [ "$(cluster_events_metric "$host" lastitem_events_db_up)" = 1 ] || return 1
    done
}
