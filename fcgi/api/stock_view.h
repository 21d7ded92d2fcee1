/*
 * stock_view.h — what a worker believes about each item's stock, from the
 * event stream (follow.c), so that a purchase that cannot fit is answered
 * 409 sold_out without a database round trip.
 *
 * It is only ever used to refuse, never to sell: a 201 always comes from
 * the database. A view that may have missed a change (no stream, or the
 * stream dropped and no snapshot read since) is not trusted and answers
 * nothing.
 */
#ifndef LI_API_STOCK_VIEW_H
#define LI_API_STOCK_VIEW_H

#include <pthread.h>
#include <stddef.h>

#include "common/li.h"

/* Slots of the table: items past about three quarters of this are not
 * remembered, and their purchases simply ask the database. */
#define STOCK_VIEW_SLOTS 1024

struct stock_view_item {
	char id[LI_ITEM_ID_MAX + 1];   /* "" : a free slot */
	int quantity;
	long long version;
};

struct stock_view {
	pthread_rwlock_t lock;
	int trusted;                   /* a snapshot read since the last drop */
	size_t used;
	struct stock_view_item slots[STOCK_VIEW_SLOTS];
};

/* Returns LI_OK or LI_ERROR. Starts untrusted. */
int stock_view_init(struct stock_view *v);
void stock_view_destroy(struct stock_view *v);

/*
 * Whether quantity of item_id certainly cannot be bought now: the view is
 * trusted, knows the item, and its stock is below quantity (then *left is
 * that stock). 0 means ask the database.
 */
int stock_view_sold_out(struct stock_view *v, const char *item_id,
    int quantity, int *left);

/* Forgets everything until the next snapshot: the stream dropped. */
void stock_view_distrust(struct stock_view *v);

/*
 * Applies one event of the stream (doc/api.md, Events): name is the event
 * ("snapshot", "item"; others are ignored), data its JSON. A snapshot
 * replaces everything and makes the view trusted; an item is kept when its
 * version is newer. Returns LI_OK, or LI_ERROR for data it cannot read
 * (the caller drops the stream: the view is then not trusted).
 */
int stock_view_apply(struct stock_view *v, const char *name, const char *data,
    size_t len);

#endif
