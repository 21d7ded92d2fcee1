/*
 * purchase.h — running a purchase in the database with one strategy.
 */
#ifndef LI_PURCHASE_H
#define LI_PURCHASE_H

#include <libpq-fe.h>

#include "db.h"
#include "purchase_outcome.h"
#include "strategy.h"

struct purchase_result {
	enum purchase_outcome outcome;  /* one the database can say */
	long long order_id;         /* CREATED, REPLAYED */
	int quantity_left;          /* the stock the database last saw */
	int attempts;               /* compare-and-swap attempts (optimistic) */
	const char *body;           /* the 201 body; points into res or owned */
	size_t body_len;
	PGresult *res;              /* owned; purchase_result_free() */
	char *owned;                /* a batched answer's copy of its body */
};

/*
 * Buys quantity of item_id for buyer with strategy s in one round trip.
 * key is the Idempotency-Key or NULL. Returns LI_OK with *out filled, or
 * LI_ERROR when the database is unavailable (the caller answers 503, and
 * the client may retry with the same key).
 */
int purchase_execute(struct db *db, enum strategy s, const char *item_id,
    int quantity, const char *buyer, const char *key,
    struct purchase_result *out);

/*
 * Runs a statement that answers with the columns of a purchase (outcome,
 * order_id, quantity_left, attempts, body): the purchases, and the hold
 * and item functions (sql/holds.sql, sql/items_admin.sql). Returns LI_OK
 * with *out filled, or LI_ERROR (unavailable, or a row the pool does not
 * understand).
 */
int outcome_execute(struct db *db, enum db_stmt stmt,
    const char *const *params, struct purchase_result *out);

/* One request of a batch: what was asked, and, once decided, the answer. */
struct purchase_request {
	const char *item_id;
	int quantity;
	const char *buyer;
	const char *key;            /* NULL: no Idempotency-Key */
	struct purchase_result result;
};

/*
 * Decides n requests for one item (every req[i]->item_id equal) with a
 * batched strategy in one round trip and one commit (sql/batched.sql), as if
 * they had run one after another in the order given. Returns LI_OK with
 * every req[i]->result filled (each owns its body), or LI_ERROR when the
 * database is unavailable or the batch failed: then nothing of it committed
 * that the caller was told of, and every request is answered 503.
 */
int purchase_execute_batch(struct db *db, enum strategy s,
    struct purchase_request *const *req, int n);

void purchase_result_free(struct purchase_result *r);

#endif
