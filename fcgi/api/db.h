/*
 * db.h — a worker's one PostgreSQL connection: connect, prepare, execute,
 * and come back by itself after the database goes away.
 */
#ifndef LI_DB_H
#define LI_DB_H

#include <libpq-fe.h>

#include "common/db_outage.h"
#include "metrics.h"
#include "strategy.h"

/* The prepared statements: first one purchase per strategy (STRATEGY_LIST),
 * at the strategy's own index, then the others. */
enum db_stmt {
#define DB_STMT_PURCHASE(id, name, unsafe, batched) DB_PURCHASE_##id,
	STRATEGY_LIST(DB_STMT_PURCHASE)
#undef DB_STMT_PURCHASE
	DB_RESET,
	DB_ITEMS,
	DB_ITEM,
	DB_ORDERS,
	DB_ORDER,
	DB_HEALTH,
	DB_HOLD_CREATE,
	DB_HOLD_CONFIRM,
	DB_HOLD_RELEASE,
	DB_HOLD,
	DB_ITEM_CREATE,
	DB_ITEM_UPDATE,
	DB_EXPIRE_HOLDS,
	DB_STMT_COUNT
};

/* Strategy s runs as statement s (purchase.c): each strategy's statement
 * must sit at the strategy's own index. */
#define DB_PURCHASE_AT_STRATEGY(id, name, unsafe, batched) \
	_Static_assert((int)DB_PURCHASE_##id == (int)STRATEGY_##id, \
	    "DB_PURCHASE_" #id " is not at the index of STRATEGY_" #id);
STRATEGY_LIST(DB_PURCHASE_AT_STRATEGY)
#undef DB_PURCHASE_AT_STRATEGY

struct db {
	PGconn *conn;                 /* NULL while disconnected */
	const char *conninfo;         /* borrowed from the configuration */
	struct db_outage outage;      /* backoff, and the outage's log lines */
	struct api_metrics *metrics;  /* counts reconnects; may be NULL */
	int lock_timeout_ms;          /* set on every connection; 0: the */
	int statement_timeout_ms;     /* server's own (db_set_timeouts) */
	char goodbye[256];            /* the server's FATAL before it hung up */
	const char *application_name; /* "lastitem-api" unless set after init */
};

void db_init(struct db *db, const char *conninfo, struct api_metrics *metrics);

/*
 * The lock_timeout and statement_timeout of every connection from now on
 * (config.h says why). A call the server gives up for either is a failed
 * call like any other (db_exec returns NULL: 503), rolled back, on a
 * connection that stays usable.
 */
void db_set_timeouts(struct db *db, int lock_timeout_ms,
    int statement_timeout_ms);

/*
 * Makes sure there is a usable connection with every statement prepared.
 * Returns LI_OK, or LI_AGAIN while the database cannot be reached (an
 * attempt is made at most once per backoff interval, so a worker answers
 * 503 at once instead of waiting on a dead server for every request).
 */
int db_ready(struct db *db);

/*
 * Executes a prepared statement with text parameters (NULL is SQL NULL).
 * Returns a PGresult with rows, owned by the caller (PQclear), or NULL when
 * the database is unavailable or the statement failed; the reason is logged.
 * With retry set, a statement whose connection broke is sent once more on a
 * fresh connection: only for statements that change nothing.
 */
PGresult *db_exec(struct db *db, enum db_stmt stmt, const char *const *params,
    int retry);

void db_close(struct db *db);

#endif
