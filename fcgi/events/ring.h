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
	int order;           /* an order: what a summary stream gets is brief */
	char *brief;         /* an order's summary frame (stream.c), owned, or
	                        NULL: summary streams get nothing for it */
	size_t brief_len;
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
 * Stores an order: frame for the streams that follow every order, and brief
 * (NULL for none) for those that follow a summary. As ring_push() otherwise.
 */
int ring_push_order(struct ring *r, uint64_t seq, const char *frame,
    size_t len, const char *brief, size_t brief_len);

/* What a stream gets for entry e: its frame, or for a summary stream its
 * brief; NULL (and *len 0) for nothing. */
const char *ring_entry_frame(const struct ring_entry *e, int summary,
    size_t *len);

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
 * is older than the ring holds, or newer than last_seq, the newest number
 * sent). Numbers need not be consecutive: an event superseded inside its
 * flush tick was never sent nor stored (stream.c).
 */
long ring_since(const struct ring *r, uint64_t seq, uint64_t last_seq,
    size_t *first);

/* The k-th oldest entry (0 … count-1). */
const struct ring_entry *ring_at(const struct ring *r, size_t k);

#endif
