/*
 * stock_view.c — each item's stock as the event stream last told it, for
 * the sold-out answer without the database (stock_view.h).
 *
 * Why this is safe: stock only shrinks between restocks and resets, and
 * every restock or reset reaches the stream as an item event with a higher
 * version. So a view that has seen stock s at version v may lag (believe
 * less stock than there is, for as long as the stream takes to bring the
 * restock: doc/operations.md gives the delay), but never believes an item
 * has more than it had. It is only used to refuse. A request thread reads it
 * under a read lock; the worker's one follower thread writes it.
 *
 * Open addressing over a fixed table, FNV-1a hash: items are few, and none
 * is ever removed but by a snapshot, which rebuilds the whole table.
 */
#include <config.h>

#include <string.h>

#include <json-c/json.h>

#include "stock_view.h"

int
stock_view_init(struct stock_view *v)
{
	memset(v, 0, sizeof(*v));
	return pthread_rwlock_init(&v->lock, NULL) == 0 ? LI_OK : LI_ERROR;
}

void
stock_view_destroy(struct stock_view *v)
{
	pthread_rwlock_destroy(&v->lock);
}

static size_t
slot_of(const char *id)
{
	unsigned h = 2166136261u;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % STOCK_VIEW_SLOTS;
}

/* The slot of id, or the free slot where it would go; NULL when full. */
static struct stock_view_item *
find(struct stock_view *v, const char *id)
{
	size_t i = slot_of(id);

	for (size_t n = 0; n < STOCK_VIEW_SLOTS; n++) {
		struct stock_view_item *it = &v->slots[(i + n) % STOCK_VIEW_SLOTS];

		if (it->id[0] == '\0' || strcmp(it->id, id) == 0)
			return it;
	}
	return NULL;
}

int
stock_view_sold_out(struct stock_view *v, const char *item_id, int quantity,
    int *left)
{
	struct stock_view_item *it;
	int sold_out = 0;

	if (pthread_rwlock_rdlock(&v->lock) != 0)
		return 0;
	if (v->trusted && (it = find(v, item_id)) != NULL && it->id[0] != '\0' &&
	    it->quantity < quantity) {
		*left = it->quantity;
		sold_out = 1;
	}
	pthread_rwlock_unlock(&v->lock);
	return sold_out;
}

void
stock_view_distrust(struct stock_view *v)
{
	if (pthread_rwlock_wrlock(&v->lock) != 0)
		return;
	v->trusted = 0;
	pthread_rwlock_unlock(&v->lock);
}

/* Keeps one item's state when it is newer. The caller holds the write lock. */
static void
keep(struct stock_view *v, json_object *item)
{
	json_object *id, *quantity, *version;
	struct stock_view_item *it;
	const char *s;

	if (!json_object_object_get_ex(item, "id", &id) ||
	    !json_object_object_get_ex(item, "quantity", &quantity) ||
	    !json_object_object_get_ex(item, "version", &version) ||
	    !json_object_is_type(id, json_type_string) ||
	    !json_object_is_type(quantity, json_type_int) ||
	    !json_object_is_type(version, json_type_int))
		return;
	s = json_object_get_string(id);
	if (strlen(s) > LI_ITEM_ID_MAX || (it = find(v, s)) == NULL)
		return;
	if (it->id[0] == '\0') {
		/* Keep a quarter free, so that a miss stays short. */
		if (v->used >= STOCK_VIEW_SLOTS * 3 / 4)
			return;
		strcpy(it->id, s);
		v->used++;
	} else if (json_object_get_int64(version) <= it->version) {
		return;
	}
	it->quantity = json_object_get_int(quantity);
	it->version = json_object_get_int64(version);
}

int
stock_view_apply(struct stock_view *v, const char *name, const char *data,
    size_t len)
{
	int snapshot = strcmp(name, "snapshot") == 0;
	json_tokener *tok;
	json_object *doc, *items;
	size_t n;

	if (!snapshot && strcmp(name, "item") != 0)
		return LI_OK;
	if ((tok = json_tokener_new()) == NULL)
		return LI_ERROR;
	doc = json_tokener_parse_ex(tok, data, (int)len);
	json_tokener_free(tok);
	if (doc == NULL)
		return LI_ERROR;
	if (pthread_rwlock_wrlock(&v->lock) != 0) {
		json_object_put(doc);
		return LI_ERROR;
	}
	if (snapshot) {
		if (!json_object_object_get_ex(doc, "items", &items) ||
		    !json_object_is_type(items, json_type_array)) {
			v->trusted = 0;
			pthread_rwlock_unlock(&v->lock);
			json_object_put(doc);
			return LI_ERROR;
		}
		memset(v->slots, 0, sizeof(v->slots));
		v->used = 0;
		n = json_object_array_length(items);
		for (size_t i = 0; i < n; i++)
			keep(v, json_object_array_get_idx(items, i));
		v->trusted = 1;
	} else {
		keep(v, doc);
	}
	pthread_rwlock_unlock(&v->lock);
	json_object_put(doc);
	return LI_OK;
}
