/*
 * db.h — a worker's one PostgreSQL connection: connect, prepare, execute,
 * and come back by itself after the database goes away.
 */
#ifndef LI_DB_H
#define LI_DB_H

#include <libpq-fe.h>

#include "common/db_outage.h"
#include "metrics.h"

/* The prepared statements; the first four are indexed by enum strategy. */
enum db_stmt {
	DB_PURCHASE_PESSIMISTIC = 0,
	DB_PURCHASE_ATOMIC,
	DB_PURCHASE_OPTIMISTIC,
	DB_PURCHASE_NAIVE,
	DB_RESET,
	DB_ITEMS,
	DB_ITEM,
	DB_ORDERS,
	DB_ORDER,
	DB_HEALTH,
	DB_STMT_COUNT
};

struct db {
	PGconn *conn;                 /* NULL while disconnected */
	const char *conninfo;         /* borrowed from the configuration */
	struct db_outage outage;      /* backoff, and the outage's log lines */
	struct api_metrics *metrics;  /* counts reconnects; may be NULL */
	char goodbye[256];            /* the server's FATAL before it hung up */
};

void db_init(struct db *db, const char *conninfo, struct api_metrics *metrics);

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
