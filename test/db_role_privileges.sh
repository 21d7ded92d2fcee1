#!/usr/bin/env bash
# The pool's role, lastitem_app, can read and buy through the functions, and
# nothing else: it is not a superuser, cannot write a table, create, alter or
# drop anything (temporary tables included), lock a table, move a sequence,
# read the server's files, or call the helpers that record an order without
# checking stock.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 1

# as_app SQL: runs SQL connected as the pool's role. Output in APP_OUT, errors
# in APP_ERR, psql's exit status returned.
as_app() {
    local rc
    APP_OUT=$("$PG_BINDIR/psql" -X -At -v ON_ERROR_STOP=1 "$(stack_app_conninfo)" \
        -c "$1" 2>"$TEST_DIR/app.err")
    rc=$?
    APP_ERR=$(tr '\n' ' ' <"$TEST_DIR/app.err")
    return $rc
}

# denied SQL WHAT: SQL must fail with the error "permission denied WHAT…"
# (the statement itself, not something it went on to do).
denied() {
    local sql=$1 what=$2 name
    name="refused: $(tr -s ' \n' ' ' <<<"$sql" | sed 's/ $//')"
    if as_app "$sql"; then
        ok 1 "$name"
        diag "it succeeded: $APP_OUT"
        return
    fi
    if [[ "$APP_ERR" == "ERROR:  permission denied $what"* ]]; then
        ok 0 "$name"
    else
        ok 1 "$name"
        diag "it failed otherwise: $APP_ERR"
    fi
}

# refused SQL ERROR-REGEX: SQL must fail with an error matching the regex.
refused() {
    local sql=$1 want=$2 name
    name="refused: $(tr -s ' \n' ' ' <<<"$sql" | sed 's/ $//')"
    if as_app "$sql"; then
        ok 1 "$name"
        diag "it succeeded: $APP_OUT"
    elif [[ "$APP_ERR" =~ ^ERROR:\ \ ($want) ]]; then
        ok 0 "$name"
    else
        ok 1 "$name"
        diag "it failed otherwise: $APP_ERR"
    fi
}

as_app "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
is "$APP_OUT" "lastitem_app|f" "connected as lastitem_app, which is not a superuser"
is "$(stack_sql "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls
                   FROM pg_roles WHERE rolname = 'lastitem_app'")" f \
    "lastitem_app has no superuser, createdb, createrole or bypassrls attribute"

before=$(db_snapshot)

denied "UPDATE lastitem.items SET quantity = 1000 WHERE id = 'golden-ticket'" "for table items"
denied "INSERT INTO lastitem.items (id, name, quantity, initial_quantity)
        VALUES ('free-stuff', 'Free', 10, 10)" "for table items"
denied "DELETE FROM lastitem.items WHERE id = 'golden-ticket'" "for table items"
denied "INSERT INTO lastitem.orders (item_id, quantity, buyer, strategy)
        VALUES ('golden-ticket', 1, 'sneaky', 'atomic')" "for table orders"
denied "UPDATE lastitem.orders SET quantity = 1" "for table orders"
denied "DELETE FROM lastitem.orders" "for table orders"
denied "TRUNCATE lastitem.orders" "for table orders"
denied "TRUNCATE lastitem.items CASCADE" "for table items"
denied "CREATE TABLE lastitem.stash (id integer)" "for schema lastitem"
denied "CREATE TABLE public.stash (id integer)" "for schema public"
denied "CREATE TEMP TABLE stash (id integer)" "to create temporary tables"
# purchase_record writes an order for stock the caller says it took: called
# directly, it would sell without touching the stock.
denied "SELECT lastitem.purchase_record(i, 1, 'sneaky', 'atomic', NULL, 1)
          FROM lastitem.items i WHERE i.id = 'golden-ticket'" "for function purchase_record"

denied "SELECT lastitem.purchase_replay('golden-ticket', 1, 'sneaky', 'k')" "for function purchase_replay"
denied "SELECT lastitem.purchase_precheck('golden-ticket', 1, 'sneaky', NULL)" "for function purchase_precheck"

# DDL of every kind: on the tables, the functions, the schema, the database.
refused "DROP TABLE lastitem.orders" "must be owner of table orders"
refused "ALTER TABLE lastitem.items DROP CONSTRAINT items_quantity_check" "must be owner of table items"
refused "ALTER TABLE lastitem.items ADD COLUMN free boolean" "must be owner of table items"
refused "ALTER TABLE lastitem.items DISABLE TRIGGER ALL" "must be owner of table items"
refused "CREATE INDEX ON lastitem.orders (buyer)" "must be owner of table orders"
refused "DROP FUNCTION lastitem.purchase_atomic(text, integer, text, text)" "must be owner of function"
refused "CREATE OR REPLACE FUNCTION lastitem.purchase_atomic(text, integer, text, text)
         RETURNS void LANGUAGE sql AS 'SELECT'" "permission denied for schema lastitem|must be owner"
refused "CREATE FUNCTION lastitem.f() RETURNS int LANGUAGE sql AS 'SELECT 1'" "permission denied for schema lastitem"
refused "CREATE SCHEMA stash" "permission denied for database"
refused "CREATE VIEW lastitem.v AS SELECT 1" "permission denied for schema lastitem"
refused "DROP SCHEMA lastitem CASCADE" "must be owner of schema"
# Locks and sequences that would stall or skew the sales.
refused "SELECT id FROM lastitem.items FOR UPDATE" "permission denied for table items"
refused "BEGIN; LOCK TABLE lastitem.items IN ACCESS EXCLUSIVE MODE; COMMIT" "permission denied for table items"
refused "SELECT nextval('lastitem.orders_id_seq')" "permission denied for sequence"
refused "SELECT setval('lastitem.orders_id_seq', 1)" "permission denied for sequence"
# The server's files, programs and other roles.
refused "SELECT pg_read_file('/etc/passwd')" "permission denied for function pg_read_file"
refused "COPY lastitem.items TO PROGRAM 'true'" "permission denied|must be superuser"
refused "COPY lastitem.items TO '/tmp/items.csv'" "permission denied|must be superuser"
refused "SET ROLE postgres" "permission denied to set role"
refused "ALTER ROLE lastitem_app SUPERUSER" "permission denied|must be superuser"
# (NOTIFY has no privilege in PostgreSQL: any role may notify any channel.
# The event channel's name is a secret it cannot read:
# test/events_forged_notify.sh.)

is "$(db_snapshot)" "$before" "nothing changed in items or orders"

as_app "SELECT count(*) FROM lastitem.items"
ok $? "lastitem_app can SELECT items"
is "$APP_OUT" 3 "and sees the three demo items"

as_app "SELECT outcome, quantity_left FROM lastitem.purchase_atomic('golden-ticket', 1, 'role-test', NULL)"
ok $? "lastitem_app can call purchase_atomic"
is "$APP_OUT" "created|4" "which sells one golden ticket"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE buyer = 'role-test' AND item_id = 'golden-ticket'")" \
    1 "and records its order"
is "$(invariant golden-ticket)" ok "the invariant holds"

# ------------------------------------------------------------ the event daemon's role
# lastitem_events reads the snapshot's four columns and subscribes to the
# event channel through events_listen(); nothing else.
as_events() {
    APP_OUT=$("$PG_BINDIR/psql" -X -At -v ON_ERROR_STOP=1 "$(stack_events_conninfo)" \
        -c "$1" 2>"$TEST_DIR/app.err")
    local rc=$?
    APP_ERR=$(tr '\n' ' ' <"$TEST_DIR/app.err")
    return $rc
}
events_refused() {  # events_refused SQL ERROR-REGEX
    if as_events "$1"; then
        ok 1 "refused to lastitem_events: $1"
        diag "it succeeded: $APP_OUT"
    elif [[ "$APP_ERR" =~ ^ERROR:\ \ ($2) ]]; then
        ok 0 "refused to lastitem_events: $1"
    else
        ok 1 "refused to lastitem_events: $1"
        diag "it failed otherwise: $APP_ERR"
    fi
}
as_events "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
is "$APP_OUT" "lastitem_events|f" "connected as lastitem_events, which is not a superuser"
as_events "SELECT count(*) FROM (SELECT id, quantity, initial_quantity, version FROM lastitem.items) s"
is "$APP_OUT" 3 "lastitem_events reads the snapshot's columns of items"
as_events "SELECT lastitem.events_listen()"
ok $? "and may subscribe to the event channel"
events_refused "SELECT name FROM lastitem.items" "permission denied for table items"
events_refused "SELECT count(*) FROM lastitem.orders" "permission denied for table orders"
events_refused "SELECT name FROM lastitem.events_channel" "permission denied for table events_channel"
events_refused "SELECT lastitem.events_notify('{}')" "permission denied for function events_notify"
events_refused "SELECT lastitem.reset(1)" "permission denied for function reset"
events_refused "SELECT lastitem.purchase_atomic('golden-ticket', 1, 'events', NULL)" \
    "permission denied for function purchase_atomic"
events_refused "UPDATE lastitem.items SET quantity = 1" "permission denied for table items"

done_testing
