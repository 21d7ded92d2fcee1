/*
 * item_state.h — the event daemon's picture of every item: what a new
 * client is sent as its snapshot without a query.
 */
#ifndef LI_ITEM_STATE_H
#define LI_ITEM_STATE_H

#include <stddef.h>

#include "common/li.h"

/* The longest item_state_item_json(): an id, five 19-digit numbers and the
 * field names. */
#define ITEM_STATE_JSON_MAX (LI_ITEM_ID_MAX + 5 * 20 + 96)

struct item {
	char id[LI_ITEM_ID_MAX + 1];
	long long quantity;
	long long held;              /* units in active holds */
	long long initial_quantity;
	long long max_per_buyer;     /* -1: no limit (null) */
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
 * LI_ERROR when memory ran out. When before is not NULL, sets it to the
 * item's quantity before the change, or -1 for an item not known yet.
 */
int item_state_apply(struct item_state *s, const struct item *it,
    long long *before);

/*
 * Renders {"items":[{"id","quantity","held","initial_quantity",
 * "max_per_buyer","version"},…]} into
 * a newly allocated string owned by the caller; NULL when memory runs out.
 */
char *item_state_snapshot_json(const struct item_state *s, size_t *len);

/*
 * Writes one item as {"id","quantity","held","initial_quantity",
 * "max_per_buyer","version"} into buf (size bytes): the snapshot's entries
 * and the item events alike. Returns its length, or -1 when it does not fit.
 */
int item_state_item_json(const struct item *it, char *buf, size_t size);

#endif
