#!/usr/bin/env bash
# The stack's private PostgreSQL lets in the stack's user alone, and only as
# the roles the stack uses. Under `initdb -A trust` any local account was a
# superuser through the socket (and COPY … TO PROGRAM runs commands).
#   * Another local user ($OTHER_USER) cannot connect through the socket,
#     as the superuser nor as the pool's role: pg/ is closed to it, and
#     were it open, peer authentication would still refuse it.
#   * The stack's user connects as the roles of the map (postgres,
#     lastitem_app, lastitem_events), but not as another role that may log
#     in (li_outsider): peer authentication, with a map.
#   * No rule but local peer, and no TCP listener.
#   * A cluster left by an older `make run` (trust, an open directory) is
#     closed when the stack starts it again.
. "${LI_SRCDIR:?run through make check}/test/lib.sh" || exit 1

[ "$(id -u)" = 0 ] || skip_all "needs root, to connect as another local user"
command -v setpriv >/dev/null 2>&1 || skip_all "needs setpriv (util-linux)"
OTHER_USER=${OTHER_USER:-nobody}
id "$OTHER_USER" >/dev/null 2>&1 || skip_all "no user $OTHER_USER to try as"

test_stack_up --workers 1

# conn ROLE: a connection string to the stack's database as ROLE.
conn() {
    echo "host=$STACK_PG_SOCK port=$PG_PORT dbname=lastitem user=$1 connect_timeout=10"
}
# select_as ROLE [setpriv options]: "1" when ROLE got in, else psql's error.
select_as() {
    local role=$1
    shift
    (cd / && ${1:+setpriv "$@" --} "$PG_BINDIR/psql" -X -At "$(conn "$role")" \
        -c 'SELECT 1' 2>&1)
}
other() {  # the setpriv options of another local user
    echo --reuid="$OTHER_USER" --regid="$(id -gn "$OTHER_USER")" --clear-groups
}

# The event daemon's role, if the schema has none yet: the map lets it in.
stack_sql "DO \$\$ BEGIN
             IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lastitem_events') THEN
                 CREATE ROLE lastitem_events LOGIN;
             END IF;
             CREATE ROLE li_outsider LOGIN;
           END \$\$" >/dev/null
ok $? "a role li_outsider that may log in, outside the map"

check_closed() {  # check_closed WHEN
    local out
    # shellcheck disable=SC2046  # one option per word
    out=$(select_as postgres $(other))
    [ "$out" != 1 ]
    ok $? "$1: $OTHER_USER cannot connect as the superuser postgres"
    [ "$out" = 1 ] || diag "  $(echo "$out" | head -1)"
    # shellcheck disable=SC2046
    out=$(select_as lastitem_app $(other))
    [ "$out" != 1 ]
    ok $? "$1: $OTHER_USER cannot connect as lastitem_app"
    out=$(select_as li_outsider)
    [ "$out" != 1 ]
    ok $? "$1: the stack's user cannot connect as li_outsider, a role not in the map"
    [ "$out" = 1 ] || diag "  $(echo "$out" | head -1)"
    local role
    for role in postgres lastitem_app lastitem_events; do
        is "$(select_as $role)" 1 "$1: the stack's user connects as $role"
    done
}
check_closed "a new cluster"

# Even with the directory open, authentication alone keeps them out.
chmod 755 "$STACK_DIR/pg" "$STACK_DIR/pg/sock"
# shellcheck disable=SC2046
out=$(select_as postgres $(other))
[ "$out" != 1 ]
ok $? "with pg/ opened by hand, $OTHER_USER still cannot connect as postgres (peer)"
[ "$out" = 1 ] || diag "  $(echo "$out" | head -1)"
chmod 750 "$STACK_DIR/pg" "$STACK_DIR/pg/sock"

is "$(stack_sql "SELECT count(*) FROM pg_hba_file_rules
                  WHERE type <> 'local' OR auth_method <> 'peer' OR error IS NOT NULL")" 0 \
    "pg_hba.conf has local peer rules alone"
is "$(stack_sql "SHOW listen_addresses")" "" "PostgreSQL listens on no TCP address"

# An older `make run`'s cluster: trust for everyone, pg/ open to all.
pg_stop fast
printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$STACK_DIR/pg/data/pg_hba.conf"
chmod 755 "$STACK_DIR/pg" "$STACK_DIR/pg/sock"
pg_start
check_closed "an older make run's cluster, started again"
is "$(stack_sql "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust'")" 0 \
    "its trust rules are gone"

done_testing
