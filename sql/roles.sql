-- The pool's role, lastitem_app, and exactly what it may do.
--
-- It is not a superuser and owns nothing. It may read items and orders, and
-- call the purchase and reset functions, which run as their owner
-- (SECURITY DEFINER) and are the only way stock or orders change. It may not
-- write a table, create anything, or call the helpers that the functions use
-- (purchase_record would sell without checking stock).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lastitem_app') THEN
        CREATE ROLE lastitem_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
                                 NOREPLICATION NOBYPASSRLS;
    END IF;
    -- No temporary tables either: DDL of any kind is the owner's.
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO lastitem_app', current_database());
END $$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA lastitem FROM PUBLIC;
GRANT USAGE ON SCHEMA lastitem TO lastitem_app;

REVOKE ALL ON ALL TABLES IN SCHEMA lastitem FROM lastitem_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA lastitem FROM lastitem_app;
GRANT SELECT ON lastitem.items, lastitem.orders TO lastitem_app;

-- Functions are executable by PUBLIC by default: take that back from all of
-- them, then grant the entry points one by one.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA lastitem FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    lastitem.purchase_pessimistic(text, integer, text, text),
    lastitem.purchase_atomic(text, integer, text, text),
    lastitem.purchase_optimistic(text, integer, text, text),
    lastitem.purchase_naive(text, integer, text, text),
    lastitem.reset(integer),
    lastitem.items_json(),
    lastitem.item_json_by_id(text),
    lastitem.orders_json(text, integer, bigint),
    lastitem.order_json_by_id(bigint),
    lastitem.item_json(lastitem.items),
    lastitem.order_json(lastitem.orders)
TO lastitem_app;

ALTER ROLE lastitem_app SET search_path = lastitem;
