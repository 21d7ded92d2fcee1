-- lastitem schema: the items for sale and the orders that bought them.
--
-- The database is the only place where a purchase is decided, so the rules
-- that must never break live here as constraints, not in C:
--   * stock never goes below zero          (items.quantity CHECK)
--   * an idempotency key buys at most once for its buyer
--     (orders_buyer_idempotency_key_idx UNIQUE on buyer and key)
-- and the invariant every test checks,
--   initial_quantity = quantity + held + sum(orders.quantity)  for every item,
-- holds because every stock change and its order or hold row are written in
-- one transaction by the functions in strategies.sql and holds.sql.
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

-- Limited drops (holds.sql, items_admin.sql). max_per_buyer: the most units
-- one buyer may own of the item, orders and active holds together; NULL is
-- no limit. held: units in active holds, out of quantity and not yet sold.
-- initial_quantity counts everything stocked since the last reset, so a
-- restock adds to it and to quantity alike.
ALTER TABLE lastitem.items
    ADD COLUMN IF NOT EXISTS held integer NOT NULL DEFAULT 0 CHECK (held >= 0),
    ADD COLUMN IF NOT EXISTS max_per_buyer integer
        CHECK (max_per_buyer IS NULL OR max_per_buyer >= 1);

-- A hold: units set aside for one buyer until expires_at, then confirmed
-- (an order), released by the buyer, or expired (by lastitem.expire_holds,
-- which the pool runs every 200 ms). The units of an active hold are in
-- items.held; when it ends they go to an order or back to quantity, in the
-- same transaction that changes its status.
CREATE TABLE IF NOT EXISTS lastitem.holds (
    id              bigserial   PRIMARY KEY,
    item_id         text        NOT NULL REFERENCES lastitem.items (id),
    quantity        integer     NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    buyer           text        NOT NULL,
    strategy        text        NOT NULL
                                CHECK (strategy IN ('pessimistic', 'atomic',
                                                    'optimistic', 'naive',
                                                    'batched')),
    status          text        NOT NULL DEFAULT 'active'
                                CHECK (status IN ('active', 'confirmed',
                                                  'released', 'expired')),
    expires_at      timestamptz NOT NULL,
    idempotency_key text,
    order_id        bigint      REFERENCES lastitem.orders (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    ended_at        timestamptz
);
-- Holds made before batched existed allowed four strategies.
ALTER TABLE lastitem.holds DROP CONSTRAINT IF EXISTS holds_strategy_check;
ALTER TABLE lastitem.holds ADD CONSTRAINT holds_strategy_check
    CHECK (strategy IN ('pessimistic', 'atomic', 'optimistic', 'naive', 'batched'));
-- A hold's Idempotency-Key is its buyer's own, as a purchase's is; the two
-- are separate key spaces.
CREATE UNIQUE INDEX IF NOT EXISTS holds_buyer_idempotency_key_idx
    ON lastitem.holds (buyer, idempotency_key);
-- What expire_holds looks for: active holds by due time.
CREATE INDEX IF NOT EXISTS holds_active_due_idx
    ON lastitem.holds (expires_at) WHERE status = 'active';
-- What a buyer owns of an item, counted against max_per_buyer
-- (buyer_limit_check in strategies.sql).
CREATE INDEX IF NOT EXISTS holds_active_buyer_idx
    ON lastitem.holds (item_id, buyer) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS orders_item_buyer_idx
    ON lastitem.orders (item_id, buyer);
