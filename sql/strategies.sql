-- The four purchase strategies, and reset.
--
-- Why functions: the row lock on a hot item is the serialization point, so
-- the time it is held bounds the throughput of that item. A worker that ran
-- BEGIN; SELECT … FOR UPDATE; UPDATE; INSERT; COMMIT as separate statements
-- would hold the lock across five network round trips. Each strategy here is
-- one function that the worker calls with one prepared EXECUTE, in autocommit,
-- so the lock lives for one round trip: from the statement that takes it to
-- the commit that ends the call.
--
-- Every function answers with one row:
--   outcome        created | replayed | sold_out | not_found | key_reused
--                  | contention | limit_reached
--   order_id       the order created or replayed (NULL otherwise)
--   quantity_left  the item's stock as the function last saw it
--   attempts       compare-and-swap attempts (optimistic; 1 for the others)
--   body           the 201 body for created and replayed, else NULL
--
-- All of them share two rules:
--   * A request that cannot succeed (unknown item, stock below the asked
--     quantity) is answered from a plain read: it takes no row lock and writes
--     no WAL, so a stampede on a sold-out item costs the database only reads.
--     Stock only shrinks between resets, so a read that sees too little is a
--     true answer at the moment it was read.
--   * An Idempotency-Key is checked first, under an advisory lock on the
--     buyer and the key, so concurrent requests of one buyer with one key run
--     one after another and the later ones find the first one's order
--     (purchase_replay). A key belongs to its buyer: another buyer's request
--     with the same key is a purchase of its own.
--
-- The functions are SECURITY DEFINER: the pool's role may call them but may not
-- write the tables itself (roles.sql), so no bug in C can sell around them.

-- The outcome of a purchase; every strategy returns exactly this row.
DO $$
BEGIN
    IF to_regtype('lastitem.purchase_outcome') IS NULL THEN
        CREATE TYPE lastitem.purchase_outcome AS (
            outcome       text,
            order_id      bigint,
            quantity_left integer,
            attempts      integer,
            body          text
        );
    END IF;
END $$;

-- Finds an earlier purchase p_buyer made with p_key. Returns NULL when there
-- is none; 'replayed' with the original order when item and quantity match;
-- 'key_reused' when they do not. Takes a transaction-scoped advisory lock on
-- (buyer, key), held until the caller commits, so two requests of one buyer
-- with one key never both pass this check before one of them has written its
-- order. Two pairs that hash alike only wait for each other.
CREATE OR REPLACE FUNCTION lastitem.purchase_replay(p_item_id text,
                                                    p_quantity integer,
                                                    p_buyer text,
                                                    p_key text)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql AS $$
DECLARE
    o lastitem.orders;
    i lastitem.items;
    r lastitem.purchase_outcome;
BEGIN
    -- 27753 is 'li': a class of its own so these locks meet no one else's.
    -- The pool's buyers hold no control character, so '\n' separates.
    PERFORM pg_advisory_xact_lock(27753, hashtext(p_buyer || E'\n' || p_key));
    SELECT * INTO o FROM lastitem.orders
     WHERE buyer = p_buyer AND idempotency_key = p_key;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    r.order_id := o.id;
    IF o.item_id <> p_item_id OR o.quantity <> p_quantity THEN
        r.outcome := 'key_reused';
        RETURN r;
    END IF;
    SELECT * INTO i FROM lastitem.items WHERE id = o.item_id;
    r.outcome := 'replayed';
    r.quantity_left := i.quantity;
    r.attempts := 0;
    r.body := lastitem.purchase_json(o, i);
    RETURN r;
END $$;

-- The limit per buyer: whether p_buyer may take p_quantity more units of
-- p_item_id without owning more than its max_per_buyer, orders and active
-- holds together. Returns NULL when it may (or the item has no limit), else
-- 'limit_reached' with quantity_left = the units the buyer owns already and
-- attempts = the limit (for the pool's detail).
--
-- It serializes the buyer's requests for the item: a transaction-scoped
-- advisory lock on (item, buyer), held until the caller commits, taken
-- before the count, so the count of the next request of this buyer (a new
-- statement, a new snapshot) sees the order or hold this one writes. That
-- holds whatever the strategy does to the stock afterwards: every caller
-- must call this before it takes stock, inside the same transaction. Every
-- strategy does, through purchase_precheck; hold_create does too; a new
-- strategy must. Only a buyer's own requests for one item wait on each
-- other (and pairs that hash alike). Ending a hold needs no such lock: it
-- never raises what a buyer owns.
CREATE OR REPLACE FUNCTION lastitem.buyer_limit_check(p_item_id text,
                                                      p_buyer text,
                                                      p_quantity integer)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql AS $$
DECLARE
    lim integer;
    mine integer;
    r lastitem.purchase_outcome;
BEGIN
    SELECT max_per_buyer INTO lim FROM lastitem.items WHERE id = p_item_id;
    IF lim IS NULL THEN
        RETURN NULL;
    END IF;
    IF p_quantity <= lim THEN
        -- 27754: a class of its own (purchase_replay's is 27753).
        PERFORM pg_advisory_xact_lock(27754, hashtext(p_item_id || E'\n' || p_buyer));
        -- Read again under the lock: a PATCH may have changed it.
        SELECT max_per_buyer INTO lim FROM lastitem.items WHERE id = p_item_id;
        IF lim IS NULL THEN
            RETURN NULL;
        END IF;
    END IF;
    SELECT coalesce(sum(quantity), 0) INTO mine FROM lastitem.orders
     WHERE item_id = p_item_id AND buyer = p_buyer;
    mine := mine + (SELECT coalesce(sum(quantity), 0) FROM lastitem.holds
                     WHERE item_id = p_item_id AND buyer = p_buyer
                       AND status = 'active');
    IF mine + p_quantity <= lim THEN
        RETURN NULL;
    END IF;
    r.outcome := 'limit_reached';
    r.quantity_left := mine;
    r.attempts := lim;
    RETURN r;
END $$;

-- The checks every strategy makes before it takes anything: the key, then a
-- plain read of the stock, then the limit per buyer (only for an item that
-- has one). Returns the final outcome when the request is answered here, or
-- NULL when the strategy should go on and try to buy.
CREATE OR REPLACE FUNCTION lastitem.purchase_precheck(p_item_id text,
                                                      p_quantity integer,
                                                      p_buyer text,
                                                      p_key text)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql AS $$
DECLARE
    r lastitem.purchase_outcome;
BEGIN
    IF p_key IS NOT NULL THEN
        r := lastitem.purchase_replay(p_item_id, p_quantity, p_buyer, p_key);
        IF r.outcome IS NOT NULL THEN
            RETURN r;
        END IF;
    END IF;
    RETURN lastitem.stock_precheck(p_item_id, p_quantity, p_buyer);
END $$;

-- The part of the precheck that purchases and holds share: the plain read
-- of the stock (not_found, sold_out), then buyer_limit_check when the item
-- has a limit. NULL: go on and take the stock.
CREATE OR REPLACE FUNCTION lastitem.stock_precheck(p_item_id text,
                                                   p_quantity integer,
                                                   p_buyer text)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql AS $$
DECLARE
    left_now integer;
    lim integer;
    r lastitem.purchase_outcome;
BEGIN
    SELECT quantity, max_per_buyer INTO left_now, lim
      FROM lastitem.items WHERE id = p_item_id;
    IF NOT FOUND THEN
        r.outcome := 'not_found';
        RETURN r;
    END IF;
    IF left_now < p_quantity THEN
        r.outcome := 'sold_out';
        r.quantity_left := left_now;
        r.attempts := 0;
        RETURN r;
    END IF;
    IF lim IS NOT NULL THEN
        RETURN lastitem.buyer_limit_check(p_item_id, p_buyer, p_quantity);
    END IF;
    RETURN NULL;
END $$;

-- Writes the order for stock already taken from i, in the caller's
-- transaction, and returns the 'created' outcome.
CREATE OR REPLACE FUNCTION lastitem.purchase_record(i lastitem.items,
                                                    p_quantity integer,
                                                    p_buyer text,
                                                    p_strategy text,
                                                    p_key text,
                                                    p_attempts integer)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql AS $$
DECLARE
    o lastitem.orders;
    r lastitem.purchase_outcome;
BEGIN
    INSERT INTO lastitem.orders (item_id, quantity, buyer, strategy, idempotency_key)
    VALUES (i.id, p_quantity, p_buyer, p_strategy, p_key)
    RETURNING * INTO o;
    r.outcome := 'created';
    r.order_id := o.id;
    r.quantity_left := i.quantity;
    r.attempts := p_attempts;
    r.body := lastitem.purchase_json(o, i);
    RETURN r;
END $$;

-- The answer when the stock ran out between the precheck and the take.
CREATE OR REPLACE FUNCTION lastitem.purchase_sold_out(p_item_id text,
                                                      p_attempts integer)
RETURNS lastitem.purchase_outcome
LANGUAGE sql STABLE AS $$
    SELECT ROW('sold_out', NULL, quantity, p_attempts, NULL)::lastitem.purchase_outcome
      FROM lastitem.items WHERE id = p_item_id
$$;

-- pessimistic: lock the row, check, update, record. Waiters queue on the
-- row lock and each sees the stock its predecessor left.
CREATE OR REPLACE FUNCTION lastitem.purchase_pessimistic(p_item_id text,
                                                         p_quantity integer,
                                                         p_buyer text,
                                                         p_key text)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
DECLARE
    i lastitem.items;
    r lastitem.purchase_outcome;
BEGIN
    r := lastitem.purchase_precheck(p_item_id, p_quantity, p_buyer, p_key);
    IF r.outcome IS NOT NULL THEN
        RETURN r;
    END IF;
    SELECT * INTO i FROM lastitem.items WHERE id = p_item_id FOR UPDATE;
    IF i.quantity < p_quantity THEN
        RETURN lastitem.purchase_sold_out(p_item_id, 1);
    END IF;
    UPDATE lastitem.items
       SET quantity = quantity - p_quantity, version = version + 1
     WHERE id = p_item_id
    RETURNING * INTO i;
    RETURN lastitem.purchase_record(i, p_quantity, p_buyer, 'pessimistic', p_key, 1);
END $$;

-- atomic: one conditional UPDATE decides. The WHERE clause is re-checked on
-- the newest row version after any wait, so the stock cannot go below what
-- was asked for, and no explicit lock is taken.
CREATE OR REPLACE FUNCTION lastitem.purchase_atomic(p_item_id text,
                                                    p_quantity integer,
                                                    p_buyer text,
                                                    p_key text)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
DECLARE
    i lastitem.items;
    r lastitem.purchase_outcome;
BEGIN
    r := lastitem.purchase_precheck(p_item_id, p_quantity, p_buyer, p_key);
    IF r.outcome IS NOT NULL THEN
        RETURN r;
    END IF;
    UPDATE lastitem.items
       SET quantity = quantity - p_quantity, version = version + 1
     WHERE id = p_item_id AND quantity >= p_quantity
    RETURNING * INTO i;
    IF NOT FOUND THEN
        RETURN lastitem.purchase_sold_out(p_item_id, 1);
    END IF;
    RETURN lastitem.purchase_record(i, p_quantity, p_buyer, 'atomic', p_key, 1);
END $$;

-- optimistic: read the version, write only if it is unchanged. A miss means
-- another buyer just succeeded, not that this one failed, so it re-reads and
-- tries again while stock remains, up to 64 attempts, then gives up with
-- 'contention'. Each statement in a READ COMMITTED function sees the newest
-- committed row, which is what makes the re-read useful.
CREATE OR REPLACE FUNCTION lastitem.purchase_optimistic(p_item_id text,
                                                        p_quantity integer,
                                                        p_buyer text,
                                                        p_key text)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
DECLARE
    max_attempts CONSTANT integer := 64;
    seen lastitem.items;
    i lastitem.items;
    r lastitem.purchase_outcome;
BEGIN
    r := lastitem.purchase_precheck(p_item_id, p_quantity, p_buyer, p_key);
    IF r.outcome IS NOT NULL THEN
        RETURN r;
    END IF;
    FOR attempt IN 1 .. max_attempts LOOP
        SELECT * INTO seen FROM lastitem.items WHERE id = p_item_id;
        IF seen.quantity < p_quantity THEN
            RETURN lastitem.purchase_sold_out(p_item_id, attempt);
        END IF;
        UPDATE lastitem.items
           SET quantity = seen.quantity - p_quantity, version = seen.version + 1
         WHERE id = p_item_id AND version = seen.version
        RETURNING * INTO i;
        IF FOUND THEN
            RETURN lastitem.purchase_record(i, p_quantity, p_buyer, 'optimistic',
                                            p_key, attempt);
        END IF;
    END LOOP;
    r.outcome := 'contention';
    r.quantity_left := seen.quantity;
    r.attempts := max_attempts;
    RETURN r;
END $$;

-- naive: THE BUG, kept on purpose. It reads the stock, then writes "what I
-- read minus n" without a lock or a condition. Two buyers who read the same
-- value both write it and both get an order: a lost update, more orders than
-- stock. The pool refuses it unless started with --allow-unsafe.
CREATE OR REPLACE FUNCTION lastitem.purchase_naive(p_item_id text,
                                                   p_quantity integer,
                                                   p_buyer text,
                                                   p_key text)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
DECLARE
    seen lastitem.items;
    i lastitem.items;
    r lastitem.purchase_outcome;
BEGIN
    r := lastitem.purchase_precheck(p_item_id, p_quantity, p_buyer, p_key);
    IF r.outcome IS NOT NULL THEN
        RETURN r;
    END IF;
    SELECT * INTO seen FROM lastitem.items WHERE id = p_item_id;
    IF seen.quantity < p_quantity THEN
        RETURN lastitem.purchase_sold_out(p_item_id, 1);
    END IF;
    UPDATE lastitem.items
       SET quantity = seen.quantity - p_quantity, version = version + 1
     WHERE id = p_item_id
    RETURNING * INTO i;
    RETURN lastitem.purchase_record(i, p_quantity, p_buyer, 'naive', p_key, 1);
END $$;

-- Reset: every item back to its initial stock, or every item to p_quantity
-- (which also becomes its initial stock), and every hold, order and
-- idempotency record gone, in one transaction. Returns the items as GET /api/items does.
--
-- The item rows are locked (by the UPDATE) before the orders are deleted: a
-- purchase holds one item row and then writes orders, so taking the rows
-- first means reset never waits on orders while holding something a
-- purchase needs. DELETE, not TRUNCATE: TRUNCATE's exclusive table lock would
-- deadlock with a purchase that has read orders (its idempotency check) and
-- waits for an item row that reset holds.
CREATE OR REPLACE FUNCTION lastitem.reset(p_quantity integer)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
BEGIN
    IF p_quantity IS NOT NULL AND p_quantity < 0 THEN
        RAISE EXCEPTION 'reset quantity must not be negative' USING ERRCODE = '22023';
    END IF;
    -- Watchers hear "reset" first, then every item's new stock.
    PERFORM lastitem.events_notify('{"kind":"reset"}');
    -- The holds' rows first: confirming or releasing a hold locks the hold,
    -- then its item; taking the items first would deadlock with it.
    PERFORM 1 FROM lastitem.holds FOR UPDATE;
    UPDATE lastitem.items
       SET quantity = coalesce(p_quantity, initial_quantity),
           initial_quantity = coalesce(p_quantity, initial_quantity),
           held = 0,
           version = version + 1;
    DELETE FROM lastitem.holds;
    DELETE FROM lastitem.orders;
    RETURN lastitem.items_json();
END $$;
