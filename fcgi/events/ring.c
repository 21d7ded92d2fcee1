/*
 * ring.c — the replay ring.
 *
 * Why a ring and a floor: a client that reconnects must get exactly the
 * events it missed, or, when that cannot be known, a full snapshot. The
 * ring holds the last N frames; the floor is the oldest seq after which the
 * ring is complete. It rises as old entries fall out and jumps to "now" when
 * the daemon knows it missed events itself (ring_clear).
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "common/li.h"
#include "ring.h"

int
ring_init(struct ring *r, size_t capacity)
{
	memset(r, 0, sizeof(*r));
	if (capacity == 0 || (r->entries = calloc(capacity, sizeof(*r->entries))) == NULL)
		return LI_ERROR;
	r->capacity = capacity;
	return LI_OK;
}

void
ring_clear(struct ring *r, uint64_t next_seq)
{
	for (size_t k = 0; k < r->count; k++) {
		free(r->entries[(r->head + k) % r->capacity].frame);
		free(r->entries[(r->head + k) % r->capacity].brief);
	}
	r->count = 0;
	r->head = 0;
	/* Even a client that saw the last event before this may have missed
	 * a change: only events from next_seq on can be resumed after. */
	r->floor = next_seq;
}

void
ring_free(struct ring *r)
{
	if (r->entries != NULL)
		ring_clear(r, 0);
	free(r->entries);
	r->entries = NULL;
}

int
ring_push_order(struct ring *r, uint64_t seq, const char *frame, size_t len,
    const char *brief, size_t brief_len)
{
	struct ring_entry *e;
	char *copy, *bcopy = NULL;

	if ((copy = malloc(len)) == NULL ||
	    (brief != NULL && (bcopy = malloc(brief_len)) == NULL)) {
		free(copy);
		ring_clear(r, seq + 1);
		return LI_ERROR;
	}
	memcpy(copy, frame, len);
	if (brief != NULL)
		memcpy(bcopy, brief, brief_len);
	if (r->count == r->capacity) {
		e = &r->entries[r->head];
		r->floor = e->seq;     /* resuming needs what came after it */
		free(e->frame);
		free(e->brief);
		r->head = (r->head + 1) % r->capacity;
		r->count--;
	}
	e = &r->entries[(r->head + r->count) % r->capacity];
	e->seq = seq;
	e->frame = copy;
	e->len = len;
	e->order = 1;
	e->brief = bcopy;
	e->brief_len = brief != NULL ? brief_len : 0;
	r->count++;
	return LI_OK;
}

int
ring_push(struct ring *r, uint64_t seq, const char *frame, size_t len)
{
	if (ring_push_order(r, seq, frame, len, NULL, 0) != LI_OK)
		return LI_ERROR;
	r->entries[(r->head + r->count - 1) % r->capacity].order = 0;
	return LI_OK;
}

const char *
ring_entry_frame(const struct ring_entry *e, int summary, size_t *len)
{
	if (summary && e->order) {
		*len = e->brief_len;
		return e->brief;
	}
	*len = e->len;
	return e->frame;
}

long
ring_since(const struct ring *r, uint64_t seq, uint64_t last_seq, size_t *first)
{
	*first = 0;
	if (seq > last_seq || seq < r->floor)
		return -1;
	if (seq == last_seq)
		return 0;
	/* The ring is complete past the floor, but its numbers may skip the
	 * superseded events: nothing after seq held is nothing missed. */
	for (size_t k = 0; k < r->count; k++)
		if (r->entries[(r->head + k) % r->capacity].seq > seq) {
			*first = k;
			return (long)(r->count - k);
		}
	return 0;
}

const struct ring_entry *
ring_at(const struct ring *r, size_t k)
{
	return &r->entries[(r->head + k) % r->capacity];
}
