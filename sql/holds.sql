-- Holds: units set aside for one buyer for a while (a drop's checkout),
-- then confirmed into an order, released, or expired.
--
-- The same rules as a purchase (strategies.sql): one function call per
-- request, in the pool's one round trip; a hold that cannot be had is
-- answered from a plain read (stock_precheck); the limit per buyer is
-- checked under its (item, buyer) lock before any stock is taken
-- (buyer_limit_check). Taking stock for a hold moves it from quantity to
-- held, with the strategy the request names, so a stampede of holds is
-- decided exactly as one of purchases is. Ending a hold moves its units
-- from held to an order (confirm) or back to quantity (release, expiry), in
-- the transaction that changes its status, so at every commit
--   initial_quantity = quantity + held + sum(orders.quantity).
--
-- Who ends a hold: the first of its buyer (confirm, release) and the expiry
-- job (expire_holds) to lock its row. Confirm and release look at
-- expires_at themselves, so a hold past its time that the job has not yet
-- reached is expired by whoever touches it, never confirmed: a confirm that
-- races the expiry gets either the order or 410, never both, never neither.
--
-- Lock order, to never deadlock: a hold's row before its item's row
-- (confirm, release, expiry), and reset takes the holds before the items.
--
-- Every function answers with a lastitem.purchase_outcome row; order_id is
-- the hold's id for hold_create, the order's for hold_confirm.

-- Finds an earlier hold p_buyer made with p_key, as purchase_replay does
-- for purchases: NULL, 'replayed' (same item and quantity) or 'key_reused'.
CREATE OR REPLACE FUNCTION lastitem.hold_replay(p_item_id text,
                                                p_quantity integer,
                                                p_buyer text,
                                                p_key text)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql AS $$
DECLARE
    h lastitem.holds;
    i lastitem.items;
    r lastitem.purchase_outcome;
BEGIN
    -- The class of purchase_replay, the key marked as a hold's.
    PERFORM pg_advisory_xact_lock(27753, hashtext(p_buyer || E'\nhold\n' || p_key));
    SELECT * INTO h FROM lastitem.holds
     WHERE buyer = p_buyer AND idempotency_key = p_key;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    r.order_id := h.id;
    IF h.item_id <> p_item_id OR h.quantity <> p_quantity THEN
        r.outcome := 'key_reused';
        RETURN r;
    END IF;
    SELECT * INTO i FROM lastitem.items WHERE id = h.item_id;
    r.outcome := 'replayed';
    r.quantity_left := i.quantity;
    r.attempts := 0;
    r.body := lastitem.hold_body(h, i);
    RETURN r;
END $$;

-- POST /api/items/{id}/holds: sets p_quantity aside for p_buyer for
-- p_ttl_seconds (10 … 900), taking the stock with strategy p_strategy.
CREATE OR REPLACE FUNCTION lastitem.hold_create(p_item_id text,
                                                p_quantity integer,
                                                p_buyer text,
                                                p_key text,
                                                p_ttl_seconds integer,
                                                p_strategy text)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
DECLARE
    max_attempts CONSTANT integer := 64;
    seen lastitem.items;
    i lastitem.items;
    h lastitem.holds;
    r lastitem.purchase_outcome;
    n integer := 1;
BEGIN
    IF p_ttl_seconds IS NULL OR p_ttl_seconds NOT BETWEEN 10 AND 900 THEN
        RAISE EXCEPTION 'ttl_seconds must be 10 to 900' USING ERRCODE = '22023';
    END IF;
    IF p_key IS NOT NULL THEN
        r := lastitem.hold_replay(p_item_id, p_quantity, p_buyer, p_key);
        IF r.outcome IS NOT NULL THEN
            RETURN r;
        END IF;
    END IF;
    r := lastitem.stock_precheck(p_item_id, p_quantity, p_buyer);
    IF r.outcome IS NOT NULL THEN
        RETURN r;
    END IF;
    -- batched decides many purchases in one commit (batched.sql); a hold is
    -- one request that moves stock to held, so it is made as pessimistic
    -- makes it, and recorded as batched, whose confirm becomes its order.
    IF p_strategy IN ('pessimistic', 'batched') THEN
        SELECT * INTO seen FROM lastitem.items WHERE id = p_item_id FOR UPDATE;
        IF seen.quantity >= p_quantity THEN
            UPDATE lastitem.items
               SET quantity = quantity - p_quantity, held = held + p_quantity,
                   version = version + 1
             WHERE id = p_item_id
            RETURNING * INTO i;
        END IF;
    ELSIF p_strategy = 'atomic' THEN
        UPDATE lastitem.items
           SET quantity = quantity - p_quantity, held = held + p_quantity,
               version = version + 1
         WHERE id = p_item_id AND quantity >= p_quantity
        RETURNING * INTO i;
    ELSIF p_strategy = 'optimistic' THEN
        FOR attempt IN 1 .. max_attempts LOOP
            n := attempt;
            SELECT * INTO seen FROM lastitem.items WHERE id = p_item_id;
            EXIT WHEN seen.quantity < p_quantity;
            UPDATE lastitem.items
               SET quantity = seen.quantity - p_quantity,
                   held = seen.held + p_quantity, version = seen.version + 1
             WHERE id = p_item_id AND version = seen.version
            RETURNING * INTO i;
            EXIT WHEN FOUND;
        END LOOP;
        IF i.id IS NULL AND seen.quantity >= p_quantity THEN
            r.outcome := 'contention';
            r.quantity_left := seen.quantity;
            r.attempts := max_attempts;
            RETURN r;
        END IF;
    ELSIF p_strategy = 'naive' THEN
        -- The unsafe demo, as purchase_naive: a lost update oversells.
        SELECT * INTO seen FROM lastitem.items WHERE id = p_item_id;
        IF seen.quantity >= p_quantity THEN
            UPDATE lastitem.items
               SET quantity = seen.quantity - p_quantity,
                   held = seen.held + p_quantity, version = version + 1
             WHERE id = p_item_id
            RETURNING * INTO i;
        END IF;
    ELSE
        RAISE EXCEPTION 'no strategy %', p_strategy USING ERRCODE = '22023';
    END IF;
    IF i.id IS NULL THEN
        RETURN lastitem.purchase_sold_out(p_item_id, n);
    END IF;
    INSERT INTO lastitem.holds (item_id, quantity, buyer, strategy, expires_at,
                                idempotency_key)
    VALUES (p_item_id, p_quantity, p_buyer, p_strategy,
            now() + make_interval(secs => p_ttl_seconds), p_key)
    RETURNING * INTO h;
    r.outcome := 'created';
    r.order_id := h.id;
    r.quantity_left := i.quantity;
    r.attempts := n;
    r.body := lastitem.hold_body(h, i);
    RETURN r;
END $$;

-- Ends the active hold h (its row locked by the caller) with status
-- p_status, 'released' or 'expired': its units go back to quantity.
-- Returns the item after.
CREATE OR REPLACE FUNCTION lastitem.hold_return(h lastitem.holds,
                                                p_status text)
RETURNS lastitem.items
LANGUAGE plpgsql AS $$
DECLARE
    i lastitem.items;
BEGIN
    UPDATE lastitem.items
       SET quantity = quantity + h.quantity, held = held - h.quantity,
           version = version + 1
     WHERE id = h.item_id
    RETURNING * INTO i;
    UPDATE lastitem.holds SET status = p_status, ended_at = now()
     WHERE id = h.id;
    RETURN i;
END $$;

-- Locks hold p_id for its buyer p_buyer and expires it when it is past its
-- time. Returns the outcome that ends the request ('not_found',
-- 'not_holder', 'hold_expired'), or NULL: the caller goes on with the hold,
-- locked until it commits.
CREATE OR REPLACE FUNCTION lastitem.hold_lock(p_id bigint, p_buyer text)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql AS $$
DECLARE
    h lastitem.holds;
    r lastitem.purchase_outcome;
BEGIN
    SELECT * INTO h FROM lastitem.holds WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        r.outcome := 'not_found';
        RETURN r;
    END IF;
    IF h.buyer <> p_buyer THEN
        r.outcome := 'not_holder';
        RETURN r;
    END IF;
    IF h.status = 'active' AND h.expires_at <= now() THEN
        PERFORM lastitem.hold_return(h, 'expired');
        h.status := 'expired';
    END IF;
    IF h.status = 'expired' THEN
        r.outcome := 'hold_expired';
        r.order_id := h.id;
        RETURN r;
    END IF;
    RETURN NULL;
END $$;

-- POST /api/holds/{id}/confirm: the hold becomes an order, as a purchase
-- with the hold's strategy would have made it; confirming a confirmed hold
-- again answers that order ('replayed').
CREATE OR REPLACE FUNCTION lastitem.hold_confirm(p_id bigint, p_buyer text)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
DECLARE
    h lastitem.holds;
    i lastitem.items;
    o lastitem.orders;
    r lastitem.purchase_outcome;
BEGIN
    r := lastitem.hold_lock(p_id, p_buyer);
    IF r.outcome IS NOT NULL THEN
        RETURN r;
    END IF;
    SELECT * INTO h FROM lastitem.holds WHERE id = p_id;
    IF h.status = 'confirmed' THEN
        SELECT * INTO o FROM lastitem.orders WHERE id = h.order_id;
        SELECT * INTO i FROM lastitem.items WHERE id = h.item_id;
        r.outcome := 'replayed';
        r.order_id := o.id;
        r.quantity_left := i.quantity;
        r.attempts := 0;
        r.body := lastitem.purchase_json(o, i);
        RETURN r;
    END IF;
    IF h.status <> 'active' THEN
        r.outcome := 'hold_ended';
        r.order_id := h.id;
        RETURN r;
    END IF;
    UPDATE lastitem.items
       SET held = held - h.quantity, version = version + 1
     WHERE id = h.item_id
    RETURNING * INTO i;
    INSERT INTO lastitem.orders (item_id, quantity, buyer, strategy)
    VALUES (h.item_id, h.quantity, h.buyer, h.strategy)
    RETURNING * INTO o;
    UPDATE lastitem.holds
       SET status = 'confirmed', ended_at = now(), order_id = o.id
     WHERE id = h.id;
    r.outcome := 'created';
    r.order_id := o.id;
    r.quantity_left := i.quantity;
    r.attempts := 1;
    r.body := lastitem.purchase_json(o, i);
    RETURN r;
END $$;

-- DELETE /api/holds/{id}: the buyer gives the units back. Releasing a
-- released hold again answers it again ('released').
CREATE OR REPLACE FUNCTION lastitem.hold_release(p_id bigint, p_buyer text)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
DECLARE
    h lastitem.holds;
    i lastitem.items;
    r lastitem.purchase_outcome;
BEGIN
    r := lastitem.hold_lock(p_id, p_buyer);
    IF r.outcome IS NOT NULL THEN
        RETURN r;
    END IF;
    SELECT * INTO h FROM lastitem.holds WHERE id = p_id;
    IF h.status = 'active' THEN
        i := lastitem.hold_return(h, 'released');
        SELECT * INTO h FROM lastitem.holds WHERE id = p_id;
    ELSIF h.status = 'released' THEN
        SELECT * INTO i FROM lastitem.items WHERE id = h.item_id;
    ELSE
        r.outcome := 'hold_ended';
        r.order_id := h.id;
        RETURN r;
    END IF;
    r.outcome := 'released';
    r.order_id := h.id;
    r.quantity_left := i.quantity;
    r.attempts := 1;
    r.body := lastitem.hold_body(h, i);
    RETURN r;
END $$;

-- The expiry job: every active hold past its time becomes 'expired' and its
-- units go back, in one transaction, at most p_limit holds per call.
-- Returns how many it expired. The pool's expiry process calls it every
-- 200 ms; any number of callers may run at once (several hosts): SKIP LOCKED
-- gives each one holds no other caller, confirm or release has locked, and
-- the items are updated in id order, so two callers never deadlock.
CREATE OR REPLACE FUNCTION lastitem.expire_holds(p_limit integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
DECLARE
    ids text[];
    qs integer[];
    n integer;
BEGIN
    WITH due AS (
        SELECT id FROM lastitem.holds
         WHERE status = 'active' AND expires_at <= now()
         ORDER BY expires_at
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    ), ended AS (
        UPDATE lastitem.holds h
           SET status = 'expired', ended_at = now()
          FROM due
         WHERE h.id = due.id
        RETURNING h.item_id, h.quantity
    )
    SELECT array_agg(item_id ORDER BY item_id), array_agg(q ORDER BY item_id),
           coalesce(sum(c), 0)
      INTO ids, qs, n
      FROM (SELECT item_id, sum(quantity)::integer AS q, count(*) AS c
              FROM ended GROUP BY item_id) t;
    FOR k IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
        UPDATE lastitem.items
           SET quantity = quantity + qs[k], held = held - qs[k],
               version = version + 1
         WHERE id = ids[k];
    END LOOP;
    RETURN n;
END $$;
