-- Loads the whole schema: psql -v ON_ERROR_STOP=1 -f sql/lastitem.sql
-- make run, the tests and the containers all load it through this file, as
-- the database owner. Every part may be loaded again without harm.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
-- Loaded again beside a running pool (its expiry process calls into holds
-- and items every 200 ms), the DDL below would take the tables one by one
-- in its own order and could deadlock with a call that took them in
-- another. Take them all first, in the order every function does: holds,
-- items, orders. Then a call in flight finishes first, and the next waits.
DO $$
BEGIN
    IF to_regclass('lastitem.holds') IS NOT NULL THEN
        LOCK TABLE lastitem.holds IN ACCESS EXCLUSIVE MODE;
    END IF;
    IF to_regclass('lastitem.items') IS NOT NULL THEN
        LOCK TABLE lastitem.items, lastitem.orders IN ACCESS EXCLUSIVE MODE;
    END IF;
END $$;
\ir schema.sql
\ir render.sql
\ir strategies.sql
\ir holds.sql
\ir items_admin.sql
\ir batched.sql
\ir triggers.sql
\ir demo.sql
\ir roles.sql
COMMIT;
