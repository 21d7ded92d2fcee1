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
	for (size_t k = 0; k < r->count; k++)
		free(r->entries[(r->head + k) % r->capacity].frame);
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
ring_push(struct ring *r, uint64_t seq, const char *frame, size_t len)
{
	struct ring_entry *e;
	char *copy;

	if ((copy = malloc(len)) == NULL) {
		ring_clear(r, seq + 1);
		return LI_ERROR;
	}
	memcpy(copy, frame, len);
	if (r->count == r->capacity) {
		e = &r->entries[r->head];
		r->floor = e->seq;     /* resuming needs what came after it */
		free(e->frame);
		r->head = (r->head + 1) % r->capacity;
		r->count--;
	}
	e = &r->entries[(r->head + r->count) % r->capacity];
	e->seq = seq;
	e->frame = copy;
	e->len = len;
	r->count++;
	return LI_OK;
}

long
ring_since(const struct ring *r, uint64_t seq, uint64_t last_seq, size_t *first)
{
	*first = 0;
	if (seq > last_seq || seq < r->floor)
		return -1;
	if (seq == last_seq)
		return 0;
	/* Entries are consecutive in seq once past the floor. */
	for (size_t k = 0; k < r->count; k++)
		if (r->entries[(r->head + k) % r->capacity].seq > seq) {
			*first = k;
			return (long)(r->count - k);
		}
	return -1;
}

const struct ring_entry *
ring_at(const struct ring *r, size_t k)
{
	return &r->entries[(r->head + k) % r->capacity];
}
