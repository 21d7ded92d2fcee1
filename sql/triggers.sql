-- Committed changes become notifications on the event channel, which
-- lastitem-events LISTENs to and streams to every browser.
--
-- Why triggers: the stream must show what committed, in commit order, no
-- matter who changed it: any pool worker, any host, or a person with psql.
-- NOTIFY is transactional: a notification is delivered only if, and when,
-- its transaction commits, and in commit order.
--
-- Payloads stay small (well under PostgreSQL's 8000-byte limit):
--   {"kind":"item","id":…,"quantity":…,"held":…,"initial_quantity":…,
--    "max_per_buyer":… or null,"version":…}
--   {"kind":"order","order":{…the order as GET /api/orders/{id} shows it…}}
--   {"kind":"hold","hold":{"id":…,"item_id":…,"quantity":…,"status":…}}
--                                        (a hold made, and a hold ended)
--   {"kind":"reset"}                     (sent by lastitem.reset() itself)
--
-- The channel's name is a secret. NOTIFY needs no privilege: any role that
-- may connect may notify any channel, and the daemon believes what it hears
-- (a forged item version above the real one would hide every genuine change
-- of that item). So the name is drawn at random when the schema is first
-- loaded, kept in a table only the schema's owner may read, and used only
-- inside the two functions below, which run as the owner: events_notify()
-- sends, events_listen() subscribes the caller's session. The pool's role
-- may call neither; the daemon's role (roles.sql) may call events_listen().
-- Neither role ever sees the name, nor does pg_stat_activity or the
-- functions' source. It is kept across reloads of the schema (a running
-- daemon listens on it); to change it, update the row and restart the
-- daemon.
CREATE TABLE IF NOT EXISTS lastitem.events_channel (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    name text    NOT NULL
                 DEFAULT 'lastitem_events_' || replace(gen_random_uuid()::text, '-', '')
);
INSERT INTO lastitem.events_channel DEFAULT VALUES ON CONFLICT DO NOTHING;
REVOKE ALL ON lastitem.events_channel FROM PUBLIC;

-- Sends one payload on the channel. Without the row it raises: the change
-- then fails too, rather than commit unheard.
CREATE OR REPLACE FUNCTION lastitem.events_notify(p_payload text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
BEGIN
    PERFORM pg_notify((SELECT name FROM lastitem.events_channel), p_payload);
END $$;

-- LISTENs on the channel in the caller's session (the daemon's).
CREATE OR REPLACE FUNCTION lastitem.events_listen() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
BEGIN
    EXECUTE format('LISTEN %I', (SELECT name FROM lastitem.events_channel));
END $$;

-- Every change of an item (its stock, its holds, its limit, its name…) is a
-- new version, whoever makes it: a
-- statement that did not raise the version (an UPDATE from psql) gets it
-- raised here, so watchers can always tell newer from older.
CREATE OR REPLACE FUNCTION lastitem.items_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.quantity, NEW.initial_quantity, NEW.held, NEW.max_per_buyer,
        NEW.name, NEW.description, NEW.image_url) IS DISTINCT FROM
       (OLD.quantity, OLD.initial_quantity, OLD.held, OLD.max_per_buyer,
        OLD.name, OLD.description, OLD.image_url)
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
        PERFORM lastitem.events_notify(
            json_build_object('kind', 'item', 'id', NEW.id,
                              'quantity', NEW.quantity,
                              'held', NEW.held,
                              'initial_quantity', NEW.initial_quantity,
                              'max_per_buyer', NEW.max_per_buyer,
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
    PERFORM lastitem.events_notify(
        '{"kind":"order","order":' || lastitem.order_json(NEW)::text || '}');
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS orders_notify ON lastitem.orders;
CREATE TRIGGER orders_notify AFTER INSERT ON lastitem.orders
    FOR EACH ROW EXECUTE FUNCTION lastitem.orders_notify();

-- A hold's start and end, never its buyer: the stream is public.
CREATE OR REPLACE FUNCTION lastitem.holds_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status <> OLD.status THEN
        PERFORM lastitem.events_notify(
            json_build_object('kind', 'hold', 'hold',
                              json_build_object('id', NEW.id,
                                                'item_id', NEW.item_id,
                                                'quantity', NEW.quantity,
                                                'status', NEW.status))::text);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS holds_notify ON lastitem.holds;
CREATE TRIGGER holds_notify AFTER INSERT OR UPDATE ON lastitem.holds
    FOR EACH ROW EXECUTE FUNCTION lastitem.holds_notify();
