/*
 * item_state.h — the event daemon's picture of every item: what a new
 * client is sent as its snapshot without a query.
 */
#ifndef LI_ITEM_STATE_H
#define LI_ITEM_STATE_H

#include <stddef.h>

#include "common/li.h"

struct item {
	char id[LI_ITEM_ID_MAX + 1];
	long long quantity;
	long long initial_quantity;
	long long version;
};

struct item_state {
	struct item *items;      /* sorted by id */
	size_t count, capacity;
	int loaded;              /* a snapshot has been read */
};

void item_state_init(struct item_state *s);
void item_state_free(struct item_state *s);

/* Empties the state before a new snapshot is read into it. */
void item_state_clear(struct item_state *s);

/*
 * Applies a change. Returns 1 when it was newer than what is known (and is
 * now the state), 0 when it was not (an older or equal version: dropped),
 * LI_ERROR when memory ran out.
 */
int item_state_apply(struct item_state *s, const struct item *it);

/*
 * Renders {"items":[{"id","quantity","initial_quantity","version"},…]} into
 * a newly allocated string owned by the caller; NULL when memory runs out.
 */
char *item_state_snapshot_json(const struct item_state *s, size_t *len);

#endif
