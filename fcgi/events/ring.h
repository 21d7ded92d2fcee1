/*
 * ring.h — the most recent events, for clients that reconnect with
 * Last-Event-ID. A bounded ring: the oldest event makes room for the newest.
 */
#ifndef LI_RING_H
#define LI_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring_entry {
	uint64_t seq;        /* the event's number in this daemon run */
	char *frame;         /* the whole SSE frame, owned by the ring */
	size_t len;
};

struct ring {
	struct ring_entry *entries;
	size_t capacity;
	size_t count;
	size_t head;         /* index of the oldest entry */
	uint64_t floor;      /* the lowest seq a client may resume after */
};

/* Returns LI_OK, or LI_ERROR when memory runs out. */
int ring_init(struct ring *r, size_t capacity);
void ring_free(struct ring *r);

/*
 * Stores a copy of frame as event seq, which must be greater than every seq
 * stored before. Returns LI_OK or LI_ERROR (out of memory: the ring is then
 * emptied, so no client can resume across the hole).
 */
int ring_push(struct ring *r, uint64_t seq, const char *frame, size_t len);

/*
 * Forgets everything, and allows resuming only after events from next_seq
 * on: the daemon may have missed changes (its database was away), so a
 * client that saw any event before now needs a snapshot.
 */
void ring_clear(struct ring *r, uint64_t next_seq);

/*
 * The events after seq, oldest first: sets *first to the index of the first
 * one for ring_at() and returns how many there are; 0 with *first = 0 when
 * the client is up to date. Returns -1 when seq cannot be resumed from (it
 * is older than the ring holds, or newer than anything sent).
 */
long ring_since(const struct ring *r, uint64_t seq, uint64_t last_seq,
    size_t *first);

/* The k-th oldest entry (0 … count-1). */
const struct ring_entry *ring_at(const struct ring *r, size_t k);

#endif
