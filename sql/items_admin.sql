-- Items managed through the API: POST /api/items creates one, PATCH
-- /api/items/{id} renames, sets the limit per buyer or restocks.
--
-- A restock adds to quantity and initial_quantity alike, in one UPDATE of
-- the row, so the invariant initial_quantity = quantity + held + sold holds
-- across it and the item event shows both. The pool checks every field
-- before it calls these (doc/api.md "Items"); the table's constraints stay
-- the last word. Both answer with a lastitem.purchase_outcome row whose
-- body is the item as GET /api/items/{id} shows it.

-- The most a restock may bring initial_quantity to: far from integer's
-- end, so that no sum over an item can overflow.
CREATE OR REPLACE FUNCTION lastitem.stock_max() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 2000000000 $$;

CREATE OR REPLACE FUNCTION lastitem.item_create(p_id text, p_name text,
                                                p_description text,
                                                p_image_url text,
                                                p_quantity integer,
                                                p_max_per_buyer integer)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
DECLARE
    i lastitem.items;
    r lastitem.purchase_outcome;
BEGIN
    INSERT INTO lastitem.items (id, name, description, image_url, quantity,
                                initial_quantity, max_per_buyer)
    VALUES (p_id, p_name, coalesce(p_description, ''),
            coalesce(p_image_url, ''), p_quantity, p_quantity, p_max_per_buyer)
    ON CONFLICT (id) DO NOTHING
    RETURNING * INTO i;
    IF NOT FOUND THEN
        r.outcome := 'exists';
        RETURN r;
    END IF;
    r.outcome := 'created';
    r.quantity_left := i.quantity;
    r.attempts := 1;
    r.body := lastitem.item_json(i)::text;
    RETURN r;
END $$;

-- Changes what is given: a NULL name, description or image_url is left as
-- it is; max_per_buyer only when p_set_max (NULL then removes the limit);
-- p_restock (NULL or 1 … 1,000,000) units added.
CREATE OR REPLACE FUNCTION lastitem.item_update(p_id text, p_name text,
                                                p_description text,
                                                p_image_url text,
                                                p_set_max boolean,
                                                p_max_per_buyer integer,
                                                p_restock integer)
RETURNS lastitem.purchase_outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lastitem, pg_temp AS $$
DECLARE
    i lastitem.items;
    r lastitem.purchase_outcome;
BEGIN
    SELECT * INTO i FROM lastitem.items WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        r.outcome := 'not_found';
        RETURN r;
    END IF;
    IF p_restock IS NOT NULL AND
       i.initial_quantity::bigint + p_restock > lastitem.stock_max() THEN
        r.outcome := 'stock_full';
        r.quantity_left := i.quantity;
        r.attempts := lastitem.stock_max();
        RETURN r;
    END IF;
    UPDATE lastitem.items
       SET name = coalesce(p_name, name),
           description = coalesce(p_description, description),
           image_url = coalesce(p_image_url, image_url),
           max_per_buyer = CASE WHEN p_set_max THEN p_max_per_buyer
                                ELSE max_per_buyer END,
           quantity = quantity + coalesce(p_restock, 0),
           initial_quantity = initial_quantity + coalesce(p_restock, 0)
     WHERE id = p_id
    RETURNING * INTO i;
    r.outcome := 'updated';
    r.quantity_left := i.quantity;
    r.attempts := 1;
    r.body := lastitem.item_json(i)::text;
    RETURN r;
END $$;
