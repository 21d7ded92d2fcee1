-- The pool's role, lastitem_app, the event daemon's, lastitem_events, and
-- exactly what each may do.
--
-- It is not a superuser and owns nothing. It may read items, orders and
-- holds, and call the purchase, hold, item and reset functions, which run as their owner
-- (SECURITY DEFINER) and are the only way stock or orders change. It may not
-- write a table, create anything, or call the helpers that the functions use
-- (purchase_record would sell without checking stock).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lastitem_app') THEN
        CREATE ROLE lastitem_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
                                 NOREPLICATION NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lastitem_events') THEN
        CREATE ROLE lastitem_events LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
                                    NOREPLICATION NOBYPASSRLS;
    END IF;
    -- No temporary tables either: DDL of any kind is the owner's.
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO lastitem_app, lastitem_events',
                   current_database());
END $$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA lastitem FROM PUBLIC;
GRANT USAGE ON SCHEMA lastitem TO lastitem_app;

REVOKE ALL ON ALL TABLES IN SCHEMA lastitem FROM lastitem_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA lastitem FROM lastitem_app;
GRANT SELECT ON lastitem.items, lastitem.orders, lastitem.holds TO lastitem_app;

-- Functions are executable by PUBLIC by default: take that back from all of
-- them, then grant the entry points one by one.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA lastitem FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    lastitem.purchase_pessimistic(text, integer, text, text),
    lastitem.purchase_atomic(text, integer, text, text),
    lastitem.purchase_optimistic(text, integer, text, text),
    lastitem.purchase_naive(text, integer, text, text),
    lastitem.purchase_batched(text, integer[], text[], text[]),
    lastitem.reset(integer),
    lastitem.hold_create(text, integer, text, text, integer, text),
    lastitem.hold_confirm(bigint, text),
    lastitem.hold_release(bigint, text),
    lastitem.hold_json_by_id(bigint),
    lastitem.hold_json(lastitem.holds),
    lastitem.hold_body(lastitem.holds, lastitem.items),
    lastitem.expire_holds(integer),
    lastitem.item_create(text, text, text, text, integer, integer),
    lastitem.item_update(text, text, text, text, boolean, integer, integer),
    lastitem.items_json(),
    lastitem.item_json_by_id(text),
    lastitem.orders_json(text, integer, bigint),
    lastitem.order_json_by_id(bigint),
    lastitem.item_json(lastitem.items),
    lastitem.order_json(lastitem.orders)
TO lastitem_app;

ALTER ROLE lastitem_app SET search_path = lastitem;

-- The event daemon's role, lastitem_events, a role of its own so that the
-- pool's cannot see what it does (pg_stat_activity shows a session's query
-- to its own role only). It reads the four columns of its snapshot and
-- subscribes to the event channel through events_listen() (triggers.sql),
-- and nothing else: not the orders, not the channel's name, no function
-- that changes anything.
GRANT USAGE ON SCHEMA lastitem TO lastitem_events;
REVOKE ALL ON ALL TABLES IN SCHEMA lastitem FROM lastitem_events;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA lastitem FROM lastitem_events;
GRANT SELECT (id, quantity, held, initial_quantity, max_per_buyer, version)
    ON lastitem.items TO lastitem_events;
GRANT EXECUTE ON FUNCTION lastitem.events_listen() TO lastitem_events;
