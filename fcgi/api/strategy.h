/*
 * strategy.h — the four ways to decide a purchase (doc/design.md), by name.
 * Pure: no database here; purchase.c runs them.
 */
#ifndef LI_STRATEGY_H
#define LI_STRATEGY_H

#include <stddef.h>

/*
 * The one list of strategies, X(id, name, unsafe, batched), in the order of
 * enum strategy. name is the strategy's name in the API and the metrics, and
 * "purchase_" name is both its SQL function (sql/strategies.sql,
 * sql/batched.sql) and its prepared statement (db.c), which db.h ties to it
 * at compile time. unsafe: it may oversell, and so needs --allow-unsafe.
 * batched: its function takes arrays and decides the waiting buyers of one
 * item together (batch.c), instead of one buyer per call.
 */
#define STRATEGY_LIST(X) \
	X(PESSIMISTIC, "pessimistic", 0, 0)  /* SELECT … FOR UPDATE */ \
	X(ATOMIC,      "atomic",      0, 0)  /* one conditional UPDATE */ \
	X(OPTIMISTIC,  "optimistic",  0, 0)  /* version compare-and-swap, retried */ \
	X(NAIVE,       "naive",       1, 0)  /* read then write: oversells */ \
	X(BATCHED,     "batched",     0, 1)  /* many buyers, one commit */

enum strategy {
#define STRATEGY_ENUM(id, name, unsafe, batched) STRATEGY_##id,
	STRATEGY_LIST(STRATEGY_ENUM)
#undef STRATEGY_ENUM
	STRATEGY_COUNT
};

/* Returns the strategy called name (len bytes), or -1 when there is none. */
int strategy_from_name(const char *name, size_t len);

/* The name of a strategy, e.g. "pessimistic". */
const char *strategy_name(enum strategy s);

/* Whether a strategy may oversell, and so needs --allow-unsafe. */
int strategy_is_unsafe(enum strategy s);

/* Whether a strategy decides buyers in batches (batch.h). */
int strategy_is_batched(enum strategy s);

#endif
