/*
 * strategy.h — the four ways to decide a purchase (doc/design.md), by name.
 * Pure: no database here; purchase.c runs them.
 */
#ifndef LI_STRATEGY_H
#define LI_STRATEGY_H

#include <stddef.h>

enum strategy {
	STRATEGY_PESSIMISTIC = 0,  /* SELECT … FOR UPDATE */
	STRATEGY_ATOMIC,           /* one conditional UPDATE */
	STRATEGY_OPTIMISTIC,       /* version compare-and-swap, retried */
	STRATEGY_NAIVE,            /* read then write: oversells; unsafe */
	STRATEGY_COUNT
};

/* Returns the strategy called name (len bytes), or -1 when there is none. */
int strategy_from_name(const char *name, size_t len);

/* The name of a strategy, e.g. "pessimistic". */
const char *strategy_name(enum strategy s);

/* Whether a strategy may oversell, and so needs --allow-unsafe. */
int strategy_is_unsafe(enum strategy s);

#endif
