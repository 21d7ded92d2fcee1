/*
 * strategy.c — strategy names.
 */
#include <config.h>

#include <string.h>

#include "common/li.h"
#include "strategy.h"

static const char *const names[STRATEGY_COUNT] = {
	[STRATEGY_PESSIMISTIC] = "pessimistic",
	[STRATEGY_ATOMIC] = "atomic",
	[STRATEGY_OPTIMISTIC] = "optimistic",
	[STRATEGY_NAIVE] = "naive",
};

int
strategy_from_name(const char *name, size_t len)
{
	for (int s = 0; s < STRATEGY_COUNT; s++)
		if (strlen(names[s]) == len && memcmp(names[s], name, len) == 0)
			return s;
	return -1;
}

const char *
strategy_name(enum strategy s)
{
	return (s >= 0 && s < STRATEGY_COUNT) ? names[s] : "unknown";
}

int
strategy_is_unsafe(enum strategy s)
{
	return s == STRATEGY_NAIVE;
}
