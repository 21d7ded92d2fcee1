#!/bin/sh
# db-start.sh — the db container's entry point: PostgreSQL 15 from Debian's
# package, its cluster in the volume at $PGDATA.
#
# At first start it makes the cluster: the superuser postgres may connect only
# over the unix socket inside this container (peer), everyone else over TCP
# with a scram-sha-256 password. At every start it then loads sql/lastitem.sql
# (harmless to load again) and sets the passwords of the programs' roles from
# the environment, with TCP still closed, and only then opens TCP: whoever can
# connect finds the schema there, and a newer image brings its schema along.
#
#   LASTITEM_APP_PASSWORD     the pool's role, lastitem_app
#   LASTITEM_EVENTS_PASSWORD  the event daemon's role, lastitem_events
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
BIN=/usr/lib/postgresql/15/bin
SQL=/usr/share/lastitem/sql

die() {
    echo "db-start: $*" >&2
    exit 1
}

as_postgres() {
    setpriv --reuid postgres --regid postgres --init-groups -- "$@"
}

[ -n "${LASTITEM_APP_PASSWORD:-}" ] || die "LASTITEM_APP_PASSWORD is not set"
[ -n "${LASTITEM_EVENTS_PASSWORD:-}" ] || die "LASTITEM_EVENTS_PASSWORD is not set"

mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    as_postgres "$BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    # Every address: the compose network is the only one the container has.
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    printf '%s\n' "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    echo "db-start: created the cluster in $PGDATA"
fi

# The schema, with TCP closed.
as_postgres "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w -t 120 \
    -l /tmp/db-setup.log start >/dev/null || { cat /tmp/db-setup.log >&2; die "PostgreSQL did not start"; }
psql() {
    as_postgres /usr/bin/psql -X -q -v ON_ERROR_STOP=1 "$@"
}
if [ "$(psql -At -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'lastitem'")" = 0 ]; then
    psql -d postgres -c "CREATE DATABASE lastitem"
fi
psql -d lastitem -f "$SQL/lastitem.sql" >/dev/null
# psql reads the passwords as variables (never on a command line) and quotes
# them; a role the schema does not have (yet) is skipped.
psql -d lastitem -v app="$LASTITEM_APP_PASSWORD" -v events="$LASTITEM_EVENTS_PASSWORD" <<'SQL'
SELECT format('ALTER ROLE %I PASSWORD %L', rolname,
              CASE rolname WHEN 'lastitem_app' THEN :'app' ELSE :'events' END)
  FROM pg_roles WHERE rolname IN ('lastitem_app', 'lastitem_events')
\gexec
SQL
as_postgres "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
echo "db-start: schema loaded; listening"

exec setpriv --reuid postgres --regid postgres --init-groups -- "$BIN/postgres" -D "$PGDATA"
