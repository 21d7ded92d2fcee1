-- The fifth strategy, batched: many buyers of one item decided together.
--
-- Why: every other strategy decides one buyer per transaction, so a hot item
-- can never sell faster than one commit (one WAL flush) at a time, however
-- idle the machine is meanwhile. The pool queues the buyers of an item that
-- arrive while its connection is busy (fcgi/api/batch.c) and hands them here
-- together: one row lock, one stock update, one multi-row order insert, one
-- commit, for all of them.
--
-- The outcome equals a serial execution of the requests in array order
-- (their arrival order): each one is decided against the stock its
-- predecessors left, so a request that does not fit is refused while a later,
-- smaller one may still fit; each gets its own order row, its own version of
-- the item (the row's version rises by one per order, as it would serially),
-- and its own Idempotency-Key semantics, also between two requests of one
-- batch (the later one replays the earlier one's order, or is key_reused).
--
-- Returns one purchase_outcome row per request, in the order of the arrays.
--
-- The same rules as strategies.sql: keys are checked first, under the
-- advisory lock of each (buyer, key), taken here in ascending order of the
-- hash so that two batches sharing keys cannot deadlock; a batch none of
-- whose requests can fit (stock below the smallest quantity) takes no row
-- lock and writes nothing.
--
-- The limit per buyer (max_per_buyer) is checked in the loop below, per
-- request, against what the buyer had (orders and active holds) plus what
-- this batch gave them before it, under the same (item, buyer) advisory
-- locks buyer_limit_check takes (strategies.sql), taken here in ascending
-- order after the keys' and before the row lock, as there.
CREATE OR REPLACE FUNCTION lastitem.purchase_batched(p_item_id text,
                                                     p_quantities integer[],
                                                     p_buyers text[],
                                                     p_keys text[])
RETURNS SETOF lastitem.purchase_outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
DECLARE
    max_batch CONSTANT integer := 1024;
    n integer := coalesce(array_length(p_quantities, 1), 0);
    i lastitem.items;
    o lastitem.orders;
    found_item boolean;
    locked boolean := false;
    created lastitem.orders[] := '{}';
    created_keys text[] := '{}';   -- buyer '\n' key of each created order, or NULL
    outs lastitem.purchase_outcome[] := '{}';
    r lastitem.purchase_outcome;
    h integer;
    j integer;
    q integer;
    key_id text;
    lim integer;
    lim_buyers text[] := '{}';     -- buyers whose units were counted
    lim_units integer[] := '{}';   -- their units: before the batch, then in it
    bi integer;
BEGIN
    IF n = 0 OR n > max_batch
       OR coalesce(array_length(p_buyers, 1), 0) <> n
       OR coalesce(array_length(p_keys, 1), 0) <> n THEN
        RAISE EXCEPTION 'a batch is 1 to % requests, with as many buyers and keys', max_batch
            USING ERRCODE = '22023';
    END IF;
    -- 27753 is 'li', as in purchase_replay: the same lock for the same key,
    -- whichever strategy holds it. Ascending, so batches never deadlock.
    FOR h IN SELECT DISTINCT hashtext(b || E'\n' || k)
               FROM unnest(p_buyers, p_keys) AS u(b, k)
              WHERE k IS NOT NULL ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(27753, h);
    END LOOP;

    -- A plain read first: if not even the smallest request fits, nothing
    -- will (stock only shrinks between resets), and no lock is needed.
    SELECT * INTO i FROM lastitem.items WHERE id = p_item_id;
    found_item := FOUND;
    IF found_item AND i.quantity >= (SELECT min(x) FROM unnest(p_quantities) x) THEN
        IF i.max_per_buyer IS NOT NULL THEN
            -- 27754, as buyer_limit_check: one buyer's requests for one
            -- limited item, whichever strategy, one at a time.
            FOR h IN SELECT DISTINCT hashtext(p_item_id || E'\n' || u.buyer)
                       FROM unnest(p_buyers) AS u(buyer) ORDER BY 1 LOOP
                PERFORM pg_advisory_xact_lock(27754, h);
            END LOOP;
        END IF;
        SELECT * INTO i FROM lastitem.items WHERE id = p_item_id FOR UPDATE;
        locked := true;
        lim := i.max_per_buyer;
    END IF;

    FOR k IN 1 .. n LOOP
        q := p_quantities[k];
        r := NULL;
        IF q IS NULL OR q < 1 OR q > 100 OR p_buyers[k] IS NULL THEN
            RAISE EXCEPTION 'request % of the batch is malformed', k
                USING ERRCODE = '22023';
        END IF;
        key_id := CASE WHEN p_keys[k] IS NULL THEN NULL
                       ELSE p_buyers[k] || E'\n' || p_keys[k] END;
        IF key_id IS NOT NULL THEN
            -- An earlier request of this batch with the same key.
            j := array_position(created_keys, key_id);
            IF j IS NOT NULL THEN
                o := created[j];
            ELSE
                SELECT * INTO o FROM lastitem.orders
                 WHERE buyer = p_buyers[k] AND idempotency_key = p_keys[k];
                IF NOT FOUND THEN
                    o := NULL;
                END IF;
            END IF;
            IF o.id IS NOT NULL THEN
                r.order_id := o.id;
                IF o.item_id <> p_item_id OR o.quantity <> q THEN
                    r.outcome := 'key_reused';
                ELSE
                    r.outcome := 'replayed';
                    r.quantity_left := i.quantity;
                    r.attempts := 0;
                    r.body := lastitem.purchase_json(o, i);
                END IF;
            END IF;
        END IF;
        IF r.outcome IS NULL THEN
            IF NOT found_item THEN
                r.outcome := 'not_found';
            ELSIF i.quantity < q THEN
                r.outcome := 'sold_out';
                r.quantity_left := i.quantity;
                r.attempts := CASE WHEN locked THEN 1 ELSE 0 END;
            END IF;
        END IF;
        IF r.outcome IS NULL AND lim IS NOT NULL THEN
            bi := array_position(lim_buyers, p_buyers[k]);
            IF bi IS NULL THEN
                lim_buyers := lim_buyers || p_buyers[k];
                lim_units := lim_units ||
                    ((SELECT coalesce(sum(quantity), 0) FROM lastitem.orders
                       WHERE item_id = p_item_id AND buyer = p_buyers[k])
                     + (SELECT coalesce(sum(quantity), 0) FROM lastitem.holds
                         WHERE item_id = p_item_id AND buyer = p_buyers[k]
                           AND status = 'active'))::integer;
                bi := cardinality(lim_buyers);
            END IF;
            IF lim_units[bi] + q > lim THEN
                r.outcome := 'limit_reached';
                r.quantity_left := lim_units[bi];
                r.attempts := lim;
            ELSE
                lim_units[bi] := lim_units[bi] + q;
            END IF;
        END IF;
        IF r.outcome IS NULL THEN
            -- The buyer's order and the item as it is after it, as a
            -- serial purchase would have left them.
            i.quantity := i.quantity - q;
            i.version := i.version + 1;
            o := NULL;
            o.id := nextval('lastitem.orders_id_seq');
            o.item_id := p_item_id;
            o.quantity := q;
            o.buyer := p_buyers[k];
            o.strategy := 'batched';
            o.idempotency_key := p_keys[k];
            o.created_at := now();
            created := created || o;
            created_keys := created_keys || key_id;
            r.outcome := 'created';
            r.order_id := o.id;
            r.quantity_left := i.quantity;
            r.attempts := 1;
            r.body := lastitem.purchase_json(o, i);
        END IF;
        outs := outs || r;
    END LOOP;

    IF cardinality(created) > 0 THEN
        UPDATE lastitem.items SET quantity = i.quantity, version = i.version
         WHERE id = p_item_id;
        INSERT INTO lastitem.orders SELECT * FROM unnest(created);
    END IF;
    RETURN QUERY SELECT u.outcome, u.order_id, u.quantity_left, u.attempts, u.body
                   FROM unnest(outs) WITH ORDINALITY
                        AS u(outcome, order_id, quantity_left, attempts, body, ord)
                  ORDER BY u.ord;
END $$;
