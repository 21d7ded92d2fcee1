/*
 * strategy.c — strategy names and what else STRATEGY_LIST says of each.
 */
#include <config.h>

#include <string.h>

#include "common/li.h"
#include "strategy.h"

static const struct {
	const char *name;
	int unsafe;
	int batched;
} strategies[STRATEGY_COUNT] = {
#define STRATEGY_ROW(id, name, unsafe, batched) \
	[STRATEGY_##id] = { name, unsafe, batched },
	STRATEGY_LIST(STRATEGY_ROW)
#undef STRATEGY_ROW
};

int
strategy_from_name(const char *name, size_t len)
{
	for (int s = 0; s < STRATEGY_COUNT; s++)
		if (strlen(strategies[s].name) == len &&
		    memcmp(strategies[s].name, name, len) == 0)
			return s;
	return -1;
}

const char *
strategy_name(enum strategy s)
{
	return (s >= 0 && s < STRATEGY_COUNT) ? strategies[s].name : "unknown";
}

int
strategy_is_unsafe(enum strategy s)
{
	return (s >= 0 && s < STRATEGY_COUNT) && strategies[s].unsafe;
}

int
strategy_is_batched(enum strategy s)
{
	return (s >= 0 && s < STRATEGY_COUNT) && strategies[s].batched;
}
