/*
 * item_state.c — every item's newest known state, by version.
 *
 * The version only grows (a trigger bumps it on every change), so "newer"
 * is simply "higher version": an event that arrives late, or a snapshot row
 * read before a change whose notification is already here, can never move
 * an item back in time.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "item_state.h"

void
item_state_init(struct item_state *s)
{
	memset(s, 0, sizeof(*s));
}

void
item_state_free(struct item_state *s)
{
	free(s->items);
	item_state_init(s);
}

void
item_state_clear(struct item_state *s)
{
	s->count = 0;
	s->loaded = 0;
}

/* Binary search; returns the index of id or where it would go. */
static size_t
find(const struct item_state *s, const char *id, int *found)
{
	size_t lo = 0, hi = s->count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(s->items[mid].id, id);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

int
item_state_apply(struct item_state *s, const struct item *it,
    long long *before)
{
	int found;
	size_t i = find(s, it->id, &found);

	if (before != NULL)
		*before = found ? s->items[i].quantity : -1;
	if (found) {
		if (it->version <= s->items[i].version)
			return 0;
		s->items[i] = *it;
		return 1;
	}
	if (s->count == s->capacity) {
		size_t cap = s->capacity ? s->capacity * 2 : 16;
		struct item *n = realloc(s->items, cap * sizeof(*n));
		if (n == NULL)
			return LI_ERROR;
		s->items = n;
		s->capacity = cap;
	}
	memmove(&s->items[i + 1], &s->items[i], (s->count - i) * sizeof(*it));
	s->items[i] = *it;
	s->count++;
	return 1;
}

int
item_state_item_json(const struct item *it, char *buf, size_t size)
{
	char max[24];
	int n;

	if (it->max_per_buyer < 0)
		snprintf(max, sizeof(max), "null");
	else
		snprintf(max, sizeof(max), "%lld", it->max_per_buyer);
	/* Ids are [a-z0-9-]: nothing in an item needs escaping. */
	n = snprintf(buf, size, "{\"id\":\"%s\",\"quantity\":%lld,\"held\":%lld,"
	    "\"initial_quantity\":%lld,\"max_per_buyer\":%s,\"version\":%lld}",
	    it->id, it->quantity, it->held, it->initial_quantity, max,
	    it->version);
	return n > 0 && (size_t)n < size ? n : -1;
}

char *
item_state_snapshot_json(const struct item_state *s, size_t *len)
{
	size_t per = ITEM_STATE_JSON_MAX + 1, size = 16 + s->count * per, pos;
	char *out = malloc(size);
	int n;

	if (out == NULL)
		return NULL;
	pos = (size_t)snprintf(out, size, "{\"items\":[");
	for (size_t i = 0; i < s->count; i++) {
		if (i > 0)
			out[pos++] = ',';
		n = item_state_item_json(&s->items[i], out + pos, size - pos);
		if (n < 0) {
			free(out);
			return NULL;
		}
		pos += (size_t)n;
	}
	n = snprintf(out + pos, size - pos, "]}");
	if (n < 0 || (size_t)n >= size - pos) {
		free(out);
		return NULL;
	}
	*len = pos + (size_t)n;
	return out;
}
