-- Loads the whole schema: psql -v ON_ERROR_STOP=1 -f sql/lastitem.sql
-- make run, the tests and the containers all load it through this file, as
-- the database owner. Every part may be loaded again without harm.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
\ir schema.sql
\ir render.sql
\ir strategies.sql
\ir batched.sql
\ir triggers.sql
\ir demo.sql
\ir roles.sql
COMMIT;
