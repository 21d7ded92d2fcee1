-- The JSON shapes of doc/api.md, rendered in one place.
--
-- The pool passes these strings through untouched, so an item or an order
-- looks the same in every response and every event because exactly one
-- function writes it. row_to_json over a sub-select keeps the field order of
-- doc/api.md and prints compact JSON.
--
-- The two that run inside every purchase (order_json, purchase_json) are
-- plpgsql, not LANGUAGE sql: a non-inlined SQL function is parsed and planned
-- again on every call, a plpgsql one plans once per session. make bench
-- measured about a quarter less database CPU per purchase for the change.

CREATE OR REPLACE FUNCTION lastitem.item_json(i lastitem.items) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT row_to_json(t)
      FROM (SELECT i.id, i.name, i.description, i.image_url,
                   i.quantity, i.held, i.initial_quantity,
                   i.max_per_buyer, i.version) t
$$;

CREATE OR REPLACE FUNCTION lastitem.order_json(o lastitem.orders) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT row_to_json(t)
              FROM (SELECT o.id, o.item_id, o.quantity, o.buyer, o.strategy,
                           to_char(o.created_at AT TIME ZONE 'UTC',
                                   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at) t);
END $$;

-- The body of a 201 to a purchase: the order and the item's stock after it.
CREATE OR REPLACE FUNCTION lastitem.purchase_json(o lastitem.orders,
                                                  i lastitem.items) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN '{"order":' || lastitem.order_json(o)::text
        || ',"item":' || (SELECT row_to_json(t)
                             FROM (SELECT i.id, i.quantity, i.held,
                                          i.version) t)::text
        || '}';
END $$;

-- A hold as every answer about one shows it.
CREATE OR REPLACE FUNCTION lastitem.hold_json(h lastitem.holds) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT row_to_json(t)
              FROM (SELECT h.id, h.item_id, h.quantity, h.buyer, h.status,
                           to_char(h.expires_at AT TIME ZONE 'UTC',
                                   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS expires_at,
                           h.order_id) t);
END $$;

-- The body of an answer about a hold: the hold and the item's stock.
CREATE OR REPLACE FUNCTION lastitem.hold_body(h lastitem.holds,
                                              i lastitem.items) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN '{"hold":' || lastitem.hold_json(h)::text
        || ',"item":' || (SELECT row_to_json(t)
                             FROM (SELECT i.id, i.quantity, i.held,
                                          i.version) t)::text
        || '}';
END $$;

-- GET /api/holds/{id}: the hold and its item's stock, or NULL.
CREATE OR REPLACE FUNCTION lastitem.hold_json_by_id(p_id bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT lastitem.hold_body(h, i)
      FROM lastitem.holds h JOIN lastitem.items i ON i.id = h.item_id
     WHERE h.id = p_id
$$;

-- GET /api/items: {"items":[…]} ordered by id.
CREATE OR REPLACE FUNCTION lastitem.items_json() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT '{"items":['
        || coalesce(string_agg(lastitem.item_json(i)::text, ',' ORDER BY i.id), '')
        || ']}'
      FROM lastitem.items i
$$;

-- GET /api/items/{id}: one item, or NULL when there is none.
CREATE OR REPLACE FUNCTION lastitem.item_json_by_id(p_id text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT lastitem.item_json(i)::text FROM lastitem.items i WHERE i.id = p_id
$$;

-- Replaced by the three-argument form below (paging).
DROP FUNCTION IF EXISTS lastitem.orders_json(text, integer);

-- GET /api/orders: newest first, of one item or of all (p_item_id NULL),
-- older than order p_before when it is given (paging back through history).
-- NULL when the item does not exist, so the caller can answer 404.
--
-- One static query per shape of the request, not one query with
-- "p IS NULL OR …" in it: such a predicate cannot be an index condition, so
-- the planner walked the newest-first index and filtered, reading every
-- order for a rare item or for before=1. Each query below is an index range
-- scan that stops at p_limit rows, whatever the values, in a custom plan or
-- the generic one plpgsql moves to: orders_pkey without an item, and with
-- one orders_item_newest_idx, written in its terms (-id) so that it is the
-- only index that can serve it (schema.sql says why). test/orders_index.sh
-- checks the plans.
CREATE OR REPLACE FUNCTION lastitem.orders_json(p_item_id text, p_limit integer,
                                                p_before bigint)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    page text;
BEGIN
    IF p_item_id IS NULL AND p_before IS NULL THEN
        SELECT string_agg(lastitem.order_json(o)::text, ',' ORDER BY o.id DESC)
          INTO page
          FROM (SELECT * FROM lastitem.orders
                 ORDER BY id DESC LIMIT p_limit) o;
    ELSIF p_item_id IS NULL THEN
        SELECT string_agg(lastitem.order_json(o)::text, ',' ORDER BY o.id DESC)
          INTO page
          FROM (SELECT * FROM lastitem.orders
                 WHERE id < p_before
                 ORDER BY id DESC LIMIT p_limit) o;
    ELSE
        IF NOT EXISTS (SELECT 1 FROM lastitem.items WHERE id = p_item_id) THEN
            RETURN NULL;
        END IF;
        IF p_before IS NULL THEN
            SELECT string_agg(lastitem.order_json(o)::text, ',' ORDER BY o.id DESC)
              INTO page
              FROM (SELECT * FROM lastitem.orders
                     WHERE item_id = p_item_id
                     ORDER BY -id LIMIT p_limit) o;
        ELSE
            SELECT string_agg(lastitem.order_json(o)::text, ',' ORDER BY o.id DESC)
              INTO page
              FROM (SELECT * FROM lastitem.orders
                     WHERE item_id = p_item_id AND -id > -p_before
                     ORDER BY -id LIMIT p_limit) o;
        END IF;
    END IF;
    RETURN '{"orders":[' || coalesce(page, '') || ']}';
END $$;

-- GET /api/orders/{id}: one order, or NULL.
CREATE OR REPLACE FUNCTION lastitem.order_json_by_id(p_id bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT lastitem.order_json(o)::text FROM lastitem.orders o WHERE o.id = p_id
$$;
