-- lastitem schema: the items for sale and the orders that bought them.
--
-- The database is the only place where a purchase is decided, so the rules
-- that must never break live here as constraints, not in C:
--   * stock never goes below zero          (items.quantity CHECK)
--   * an idempotency key buys at most once for its buyer
--     (orders_buyer_idempotency_key_idx UNIQUE on buyer and key)
-- and the invariant every test checks,
--   initial_quantity - quantity = sum(orders.quantity)   for every item,
-- holds because every stock change and its order row are written in one
-- transaction by the functions in strategies.sql.
--
-- Loading this file twice is harmless: everything is IF NOT EXISTS.

CREATE SCHEMA IF NOT EXISTS lastitem;

CREATE TABLE IF NOT EXISTS lastitem.items (
    id               text    PRIMARY KEY
                             CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    name             text    NOT NULL,
    description      text    NOT NULL DEFAULT '',
    image_url        text    NOT NULL DEFAULT '',
    quantity         integer NOT NULL CHECK (quantity >= 0),
    initial_quantity integer NOT NULL CHECK (initial_quantity >= 0),
    -- Grows by one on every change of the row, so a watcher can tell a
    -- newer state from an older one whatever order events arrive in.
    version          bigint  NOT NULL DEFAULT 1
);

CREATE TABLE IF NOT EXISTS lastitem.orders (
    id              bigserial   PRIMARY KEY,
    item_id         text        NOT NULL REFERENCES lastitem.items (id),
    quantity        integer     NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    buyer           text        NOT NULL,
    strategy        text        NOT NULL
                                CONSTRAINT orders_strategy_check
                                CHECK (strategy IN ('pessimistic', 'atomic',
                                                    'optimistic', 'naive',
                                                    'batched')),
    -- NULL when the client sent no Idempotency-Key. Unique per buyer, by the
    -- index below, not by itself.
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- An Idempotency-Key is its buyer's own. Clients choose keys, and two
-- buyers who both count theirs from "1" must each get a purchase of their
-- own, never the other's order as a replay: unique on (buyer, key), and
-- purchase_replay (strategies.sql) looks a key up by both. UNIQUE ignores
-- rows whose key is NULL. Earlier schemas made the key unique by itself;
-- that constraint goes.
ALTER TABLE lastitem.orders DROP CONSTRAINT IF EXISTS orders_idempotency_key_key;
CREATE UNIQUE INDEX IF NOT EXISTS orders_buyer_idempotency_key_idx
    ON lastitem.orders (buyer, idempotency_key);

-- Schemas before batched (sql/batched.sql) allowed four strategies.
ALTER TABLE lastitem.orders DROP CONSTRAINT IF EXISTS orders_strategy_check;
ALTER TABLE lastitem.orders ADD CONSTRAINT orders_strategy_check
    CHECK (strategy IN ('pessimistic', 'atomic', 'optimistic', 'naive', 'batched'));

-- GET /api/orders?item_id=… reads the newest orders of one item
-- (orders_json in render.sql), and nothing else: an item's orders by -id, so
-- newest first. On (item_id, id DESC) the planner could also answer
-- "WHERE item_id = $1 ORDER BY id DESC" from the primary key, newest first,
-- filtering on item_id; it does when the item looks common, and then walks
-- every order newer than the item's last one (all of them for an item that
-- sold well long ago). The primary key cannot give -id order, so it is never
-- a candidate. Replaces orders_item_id_id_idx of earlier schemas.
DROP INDEX IF EXISTS lastitem.orders_item_id_id_idx;
CREATE INDEX IF NOT EXISTS orders_item_newest_idx
    ON lastitem.orders (item_id, (-id));
