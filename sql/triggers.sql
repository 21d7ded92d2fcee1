-- Committed changes become notifications on the channel lastitem_events,
-- which lastitem-events LISTENs to and streams to every browser.
--
-- Why triggers: the stream must show what committed, in commit order, no
-- matter who changed it: any pool worker, any host, or a person with psql.
-- NOTIFY is transactional: a notification is delivered only if, and when,
-- its transaction commits, and in commit order.
--
-- Payloads stay small (well under PostgreSQL's 8000-byte limit):
--   {"kind":"item","id":…,"quantity":…,"initial_quantity":…,"version":…}
--   {"kind":"order","order":{…the order as GET /api/orders/{id} shows it…}}
--   {"kind":"reset"}                     (sent by lastitem.reset() itself)

-- Every change of an item's stock is a new version, whoever makes it: a
-- statement that did not raise the version (an UPDATE from psql) gets it
-- raised here, so watchers can always tell newer from older.
CREATE OR REPLACE FUNCTION lastitem.items_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.quantity, NEW.initial_quantity) IS DISTINCT FROM
       (OLD.quantity, OLD.initial_quantity)
       AND NEW.version <= OLD.version THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS items_bump_version ON lastitem.items;
CREATE TRIGGER items_bump_version BEFORE UPDATE ON lastitem.items
    FOR EACH ROW EXECUTE FUNCTION lastitem.items_bump_version();

CREATE OR REPLACE FUNCTION lastitem.items_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.version <> OLD.version THEN
        PERFORM pg_notify('lastitem_events',
            json_build_object('kind', 'item', 'id', NEW.id,
                              'quantity', NEW.quantity,
                              'initial_quantity', NEW.initial_quantity,
                              'version', NEW.version)::text);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS items_notify ON lastitem.items;
CREATE TRIGGER items_notify AFTER INSERT OR UPDATE ON lastitem.items
    FOR EACH ROW EXECUTE FUNCTION lastitem.items_notify();

CREATE OR REPLACE FUNCTION lastitem.orders_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lastitem_events',
        '{"kind":"order","order":' || lastitem.order_json(NEW)::text || '}');
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS orders_notify ON lastitem.orders;
CREATE TRIGGER orders_notify AFTER INSERT ON lastitem.orders
    FOR EACH ROW EXECUTE FUNCTION lastitem.orders_notify();
