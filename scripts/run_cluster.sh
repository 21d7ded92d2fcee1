# run_cluster.sh — `make run-cluster`: many hosts, one primary, on this
# machine.
#
# Builds the cluster of scripts/cluster.sh in network namespaces (etcd,
# PostgreSQL db1 and its synchronous standby db2 under Patroni, three app
# hosts each running nginx, the pool and the event daemon) and the front
# nginx on 127.0.0.1:$PORT (8080), then stays in the foreground saying who
# is primary whenever that changes. Kill the primary to watch the failover:
# the banner says how. Ctrl-C stops all of it and removes the namespaces;
# the data is thrown away (it lives in $RUN_DIR, emptied on each start).
# Needs root (ip netns) and the Debian packages patroni and etcd-server.
set -u
. "$LI_SRCDIR/scripts/cluster.sh"

PORT=${PORT:-8080}
RUN_DIR=${RUN_DIR:-$LI_BUILDDIR/run-cluster}

say() {
    printf '%s lastitem cluster: %s\n' "$(date -u +%H:%M:%S)" "$*"
}

stopping=0
shutdown() {
    stopping=1
    trap '' INT TERM
    say "stopping; removing the namespaces"
    cluster_down
    exit 0
}
trap shutdown INT TERM
trap cluster_down EXIT

rm -rf "$RUN_DIR"
cluster_init "$RUN_DIR"
say "starting in $CLUSTER_NET.0/24 (namespaces $CLUSTER_TAG-*), this takes about 20 s"
cluster_up --allow-unsafe
cluster_front_start "$PORT"

primary=$(cluster_primary)
cat <<BANNER

  lastitem cluster is up:  http://localhost:$PORT/   (the footer says which host answered)
  app hosts:   app1 $(cluster_app_url app1)  app2 $(cluster_app_url app2)  app3 $(cluster_app_url app3)
  databases:   db1 $(cluster_addr db1):$CLUSTER_PG_PORT  db2 $(cluster_addr db2):$CLUSTER_PG_PORT (Patroni on :$CLUSTER_PATRONI_PORT, etcd $(cluster_addr dcs):$CLUSTER_ETCD_PORT)
               primary: $primary, synchronous standby: $(cluster_sync_standby "$primary")
  stampede:    test/stampede -n 300 -u http://localhost:$PORT
  fail over:   kill -KILL \$(head -1 $RUN_DIR/\$PRIMARY/data/postmaster.pid)
               (Patroni promotes the standby; the old primary rejoins as its standby)
  psql:        runuser -u $PG_USER -- psql "host=$RUN_DIR/\$HOST/sock dbname=lastitem user=postgres"
  logs:        $RUN_DIR/*/  (patroni.log, api.log, events.log, nginx/)

  Ctrl-C stops it all.

BANNER

# Say who is primary whenever it changes.
while [ "$stopping" = 0 ]; do
    sleep 1
    now=$(cluster_primary) || now=none
    if [ "$now" != "$primary" ]; then
        say "primary: $now (was $primary)"
        primary=$now
    fi
done
