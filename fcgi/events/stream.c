/*
 * stream.c — committed changes become numbered SSE frames, sent in ticks.
 *
 * Why ticks: each write to a stream costs a system call here, a read and a
 * write in nginx, and a read in the browser, and at 10,000 streams those,
 * not the database, set the pace of a sale. So events leave in ticks, at
 * most one per --flush ms, one write per stream (after a quiet spell the
 * first event leaves at once, with what arrived beside it); an item
 * event that a newer one of the same item follows in the tick is never
 * sent (clients keep the highest version). Summary streams (?orders=summary)
 * get one `orders` frame per run of orders instead of each order.
 *
 * And the next tick waits for nginx (stream_pump): until it has read the
 * last one, and after a rush until that took at most --fanout-share of
 * the time, so that the purchases keep the rest of the machine.
 *
 * Every item, order and reset event gets the next number of this run and
 * the id "<run>-<number>" as it arrives. The run part tells a reconnecting
 * client's Last-Event-ID from one this process never issued (an earlier run, another
 * host): those get a snapshot, because nothing here can say what they
 * missed. Within a run, the ring answers "what came after n" until n falls
 * out of it, or while the frames after n would pass --max-buffer; after
 * that, a snapshot again. Only frames sent enter the ring, under their
 * numbers: a replay is what a live stream was sent, gaps included.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "events.h"
#include "common/log.h"
#include "sse.h"

static const char retry_frame[] = "retry: 2000\n\n";

/* Events a tick may hold before it is sent early: bounds its memory and the
 * scan for superseded items, whatever the rate. */
#define STREAM_TICK_MAX 8192
/* The orders a summary names: the newest of its tick. */
#define STREAM_SUMMARY_ORDERS 5

static void stream_resync(struct events *ev);

/* Appends n bytes to a growing buffer. Returns LI_OK or LI_ERROR. */
static int
buf_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 4096;
		char *b;

		while (c < *len + n)
			c *= 2;
		if ((b = realloc(*buf, c)) == NULL)
			return LI_ERROR;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	return LI_OK;
}

/* The id of an item event's data, {"id":"<id>",…} (changes.c): 1 if found. */
static int
item_id_of(const char *data, size_t len, char *id, size_t size)
{
	static const char head[] = "{\"id\":\"";
	const char *p, *q, *end = data + len;

	if (len < sizeof(head) - 1 || memcmp(data, head, sizeof(head) - 1) != 0)
		return 0;
	p = data + sizeof(head) - 1;
	if ((q = memchr(p, '"', (size_t)(end - p))) == NULL ||
	    (size_t)(q - p) >= size || q == p)
		return 0;
	memcpy(id, p, (size_t)(q - p));
	id[q - p] = '\0';
	return 1;
}

/* A tick of more events than this is a rush: purchases arrive faster than
 * the streams can be shown each one, and they need the machine. Fewer, and
 * each event is news to send at once. */
#define STREAM_RUSH_EVENTS 16
/* The longest the daemon waits for nginx to read a tick (a stream whose
 * browser does not read holds nginx back on that stream only), and the
 * longest a rush holds the next tick back: a page shows a sale's pace at
 * least this often. */
#define STREAM_READ_WAIT_MS 1000
#define STREAM_HOLD_MAX_MS 2000
/* How often the daemon looks whether nginx has read the last tick. */
#define STREAM_READ_POLL_MS 2

void
stream_urgent(struct events *ev)
{
	if (ev->npending > 0)
		ev->tick_urgent = 1;
}

/*
 * Numbers the event and holds it for the tick: --flush, or longer while
 * nginx has not read the last one or a rush holds it back (stream_pump);
 * what a tick gathered leaves in one write per stream. The tick is sent
 * early when it is full, or before a resynchronization.
 */
void
stream_publish(struct events *ev, const char *name, const char *data, size_t len)
{
	size_t size = len * 2 + 128, flen;
	struct pending *p;
	char id[48], *frame;

	ev->seq++;
	snprintf(id, sizeof(id), "%s-%" PRIu64, ev->run_id, ev->seq);
	if ((frame = malloc(size)) == NULL ||
	    (flen = sse_format_event(frame, size, id, name, data, len)) == 0) {
		log_error("cannot frame event %" PRIu64 "; clients resynchronize", ev->seq);
		free(frame);
		stream_flush(ev);
		ring_clear(&ev->ring, ev->seq + 1);
		ev->sent_seq = ev->seq;
		return;
	}
	ev->metrics.events++;
	if (ev->npending == ev->pending_cap) {
		size_t cap = ev->pending_cap ? ev->pending_cap * 2 : 64;
		struct pending *b = realloc(ev->pending, cap * sizeof(*b));

		if (b == NULL) {
			/* Out of memory: send what there is and start again. */
			stream_flush(ev);
			ring_clear(&ev->ring, ev->seq + 1);
			ev->sent_seq = ev->seq;
			clients_broadcast(ev, AUDIENCE_ALL, frame, flen, 1);
			free(frame);
			return;
		}
		ev->pending = b;
		ev->pending_cap = cap;
	}
	if (ev->npending == 0) {
		/* After a quiet spell the tick leaves at once (with whatever
		 * else this turn of the loop reads): a lone sale waits for no
		 * one. In a rush, ticks leave --flush apart, or further
		 * (stream_pump). */
		long long now = monotonic_ms();

		ev->flush_due_ms = ev->last_flush_ms + ev->cfg->flush_ms;
		if (ev->flush_due_ms < now)
			ev->flush_due_ms = now;
	}
	p = &ev->pending[ev->npending];
	memset(p, 0, sizeof(*p));
	p->seq = ev->seq;
	p->frame = frame;
	p->len = flen;
	p->kind = PENDING_OTHER;
	if (strcmp(name, "order") == 0) {
		/* Its data, for the summary streams' `orders` frame. */
		if ((p->data = malloc(len)) != NULL) {
			memcpy(p->data, data, len);
			p->data_len = len;
			p->kind = PENDING_ORDER;
		}
	} else if (strcmp(name, "reset") == 0) {
		p->kind = PENDING_RESET;
	} else if (strcmp(name, "item") == 0 &&
	    item_id_of(data, len, p->item_id, sizeof(p->item_id))) {
		p->kind = PENDING_ITEM;
		/* A client keeps an item's highest version: the older event of
		 * the same item in this tick would change nothing it shows. */
		for (size_t k = ev->npending; k-- > 0;)
			if (ev->pending[k].kind == PENDING_ITEM &&
			    !ev->pending[k].superseded &&
			    strcmp(ev->pending[k].item_id, p->item_id) == 0) {
				ev->pending[k].superseded = 1;
				break;
			}
	}
	ev->npending++;
	ev->pending_bytes += flen;
	/* Sent early when full: a tick is one write per stream, and one past
	 * half of --max-buffer would drop a stream that reads well but has
	 * not yet taken the last one (the bytes a tick holds are counted as a
	 * stream that follows every order gets them, the most). */
	if (ev->npending >= STREAM_TICK_MAX ||
	    ev->pending_bytes >= ev->cfg->max_buffer / 2)
		stream_flush(ev);
}

/*
 * Whether nginx has read the last tick: most of the streams spread evenly
 * over its writes (one every tick_stride) have nothing unread (SIOCOUTQ on a unix
 * socket: the bytes its reader has not taken yet). nginx reads its
 * connections in the order they became ready, so the probes read tell how
 * far through the tick it is. Spread, not the last few: the last written
 * are the oldest clients, which may be pools reading the daemon directly
 * (lastitem-api --events) and keeping up whatever nginx does. A quarter
 * may lag: such a pool, or a stream nginx reads only as fast as its
 * browser, and the tick counts as read when three quarters of it are.
 * (Over TCP the call counts bytes not yet acknowledged, which the peer's
 * kernel does at once: there the tick counts as read when written.)
 */
static int
tick_read_by_proxy(const struct events *ev)
{
	int watched = 0, unread = 0, q;

	for (size_t k = 0; k < LI_ARRAY_LEN(ev->tick_probe); k++) {
		const struct client *c = ev->tick_probe[k];

		if (c == NULL)
			continue;
		watched++;
		if (ioctl(c->fd, SIOCOUTQ, &q) == 0 && q > 0)
			unread++;
	}
	return unread * 4 <= watched;
}

int
stream_flush_wait_ms(const struct events *ev)
{
	long long left, due;

	if (!ev->tick_read)         /* waiting for nginx to read the last tick */
		return STREAM_READ_POLL_MS;
	if (ev->npending == 0)
		return -1;
	due = ev->flush_due_ms > ev->hold_until_ms || ev->tick_urgent ?
	    ev->flush_due_ms : ev->hold_until_ms;
	left = due - monotonic_ms();
	return left < 0 ? 0 : left > 1000 ? 1000 : (int)left;
}

/*
 * The next tick leaves --flush after the last one at the earliest, and
 * once nginx has read the last one: a tick written while nginx is still
 * behind only adds work, and the events wait better here, where a newer
 * item event supersedes an older one. After a rush (a tick of more than
 * STREAM_RUSH_EVENTS) it also waits until that fan-out, from the write to
 * nginx's read, took at most --fanout-share of the time since: at 10,000
 * streams a tick costs nginx, the daemon and the browsers' machine most of
 * a second of CPU on two cores, and ticks one after another would leave
 * the purchases that make them nothing. (A rush alone is not the signal:
 * a sale already slowed by its audience makes small ticks, and stayed
 * slow; nginx lagging is what lengthens them first.)
 */
void
stream_pump(struct events *ev)
{
	long long now = monotonic_ms(), took, hold;
	int due = ev->npending > 0 && now >= ev->flush_due_ms;

	if (due && ev->tick_urgent) {       /* stream_urgent */
		stream_flush(ev);
		return;
	}
	if (!ev->tick_read) {
		if (!tick_read_by_proxy(ev) &&
		    now - ev->tick_sent_ms < STREAM_READ_WAIT_MS) {
			ev->tick_waited |= due;
			return;
		}
		ev->tick_read = 1;
		took = now - ev->tick_sent_ms;
		hold = ev->tick_events > STREAM_RUSH_EVENTS ?
		    took * 100 / ev->cfg->fanout_share : 0;
		if (hold > STREAM_HOLD_MAX_MS)
			hold = STREAM_HOLD_MAX_MS;
		ev->hold_until_ms = ev->tick_sent_ms + hold;
	}
	if (due && now < ev->hold_until_ms)
		ev->tick_held = 1;
	else if (due)
		stream_flush(ev);
}

/* Units ordered per item in one summary. */
struct units {
	char id[LI_ITEM_ID_MAX + 1];
	long long units;
};

/*
 * An order's item and quantity, from its JSON as sql/render.sql writes it
 * ({"id":…,"item_id":"…","quantity":n,…}: both before any free text, and a
 * quote inside a string is escaped, so the first match is the field).
 * Returns 1 when both were found.
 */
static int
order_item_units(const char *data, size_t len, char *id, size_t size,
    long long *units)
{
	static const char ikey[] = "\"item_id\":\"", qkey[] = ",\"quantity\":";
	const char *end = data + len, *p, *q;

	if ((p = memmem(data, len, ikey, sizeof(ikey) - 1)) == NULL)
		return 0;
	p += sizeof(ikey) - 1;
	if ((q = memchr(p, '"', (size_t)(end - p))) == NULL || q == p ||
	    (size_t)(q - p) >= size)
		return 0;
	memcpy(id, p, (size_t)(q - p));
	id[q - p] = '\0';
	if ((p = memmem(q, (size_t)(end - q), qkey, sizeof(qkey) - 1)) == NULL)
		return 0;
	p += sizeof(qkey) - 1;
	if (p >= end || *p < '0' || *p > '9')
		return 0;
	/* By hand, within len: the frame is not NUL-terminated, and strtoll
	 * would read on past its end. A quantity is 1 … 100. */
	*units = 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (*units > 1000000)
			return 0;
		*units = *units * 10 + (*p - '0');
	}
	return p < end;
}

/* Adds an order's units to its item's in u[*n] (room for cap). */
static void
units_add(struct units *u, size_t *n, size_t cap, const struct pending *o)
{
	char id[LI_ITEM_ID_MAX + 1];
	long long units;
	size_t k;

	if (!order_item_units(o->data, o->data_len, id, sizeof(id), &units))
		return;
	for (k = 0; k < *n && strcmp(u[k].id, id) != 0; k++)
		;
	if (k == *n) {
		if (k == cap)
			return;
		memcpy(u[k].id, id, sizeof(id));
		u[k].units = 0;
		(*n)++;
	}
	u[k].units += units;
}

/*
 * The summary of the orders from ev->pending[from] to [last]: one `orders`
 * frame under the id of the last, {"count":n,"units":{item:units,…},
 * "orders":[the newest few]}: the units ordered per item let a page count
 * what was sold, oversold included, without every order.
 * Appended to the brief batch; its offset and length are returned for the
 * ring. Returns LI_OK or LI_ERROR.
 */
static int
append_summary(struct events *ev, size_t from, size_t last, size_t *off,
    size_t *len)
{
	const struct pending *newest[STREAM_SUMMARY_ORDERS];
	size_t count = 0, n = 0, nunits = 0, jlen = 0, jcap = 0, size, flen;
	char head[LI_ITEM_ID_MAX + 48], id[48], *json = NULL, *frame = NULL;
	struct units *u;
	int rc = LI_ERROR;

	/* At most one item per order. */
	if ((u = malloc((last - from + 1) * sizeof(*u))) == NULL)
		return LI_ERROR;
	for (size_t k = last + 1; k-- > from;)
		if (ev->pending[k].kind == PENDING_ORDER) {
			if (n < STREAM_SUMMARY_ORDERS)
				newest[n++] = &ev->pending[k];
			count++;
			units_add(u, &nunits, last - from + 1, &ev->pending[k]);
		}
	snprintf(head, sizeof(head), "{\"count\":%zu,\"units\":{", count);
	if (buf_append(&json, &jlen, &jcap, head, strlen(head)) != LI_OK)
		goto out;
	for (size_t k = 0; k < nunits; k++) {
		snprintf(head, sizeof(head), "%s\"%s\":%lld", k ? "," : "",
		    u[k].id, u[k].units);
		if (buf_append(&json, &jlen, &jcap, head, strlen(head)) != LI_OK)
			goto out;
	}
	if (buf_append(&json, &jlen, &jcap, "},\"orders\":[", 12) != LI_OK)
		goto out;
	for (size_t k = n; k-- > 0;)     /* oldest of them first */
		if ((k + 1 < n && buf_append(&json, &jlen, &jcap, ",", 1) != LI_OK) ||
		    buf_append(&json, &jlen, &jcap, newest[k]->data,
		    newest[k]->data_len) != LI_OK)
			goto out;
	if (buf_append(&json, &jlen, &jcap, "]}", 2) != LI_OK)
		goto out;
	snprintf(id, sizeof(id), "%s-%" PRIu64, ev->run_id, ev->pending[last].seq);
	size = jlen + 128;
	if ((frame = malloc(size)) == NULL ||
	    (flen = sse_format_event(frame, size, id, "orders", json, jlen)) == 0)
		goto out;
	*off = ev->brief_len;
	*len = flen;
	rc = buf_append(&ev->brief, &ev->brief_len, &ev->brief_cap, frame, flen);
out:
	free(u);
	free(json);
	free(frame);
	return rc;
}

/*
 * Sends the tick: its frames, but for the superseded items, to every
 * stream that follows every order, in one write each; the same with each
 * run of orders (up to a reset or the tick's end) made one `orders` frame
 * to the summary streams. The frames sent go to the ring under their own
 * numbers, so a replay is what a live stream was sent.
 */
void
stream_flush(struct events *ev)
{
	size_t nall = 0, nbrief = 0, run_from = 0, k;
	int failed = 0;

	if (ev->npending == 0)
		return;
	ev->last_flush_ms = monotonic_ms();
	ev->tick_events = ev->npending;
	ev->pending_bytes = 0;
	ev->tick_urgent = 0;
	ev->batch_len = ev->brief_len = 0;
	for (k = 0; k < ev->npending; k++) {
		struct pending *p = &ev->pending[k];
		int run_ends = 0;

		if (p->superseded)
			continue;
		if (buf_append(&ev->batch, &ev->batch_len, &ev->batch_cap,
		    p->frame, p->len) != LI_OK)
			failed = 1;
		nall++;
		if (p->kind != PENDING_ORDER) {
			if (p->kind == PENDING_RESET)
				run_from = k + 1;    /* a reset ends a run */
			if (buf_append(&ev->brief, &ev->brief_len, &ev->brief_cap,
			    p->frame, p->len) != LI_OK)
				failed = 1;
			nbrief++;
			if (ring_push(&ev->ring, p->seq, p->frame, p->len) != LI_OK)
				log_error("out of memory for the replay ring; it starts again");
			continue;
		}
		/* The last order of its run carries the run's summary. */
		run_ends = 1;
		for (size_t j = k + 1; j < ev->npending; j++) {
			if (ev->pending[j].kind == PENDING_ORDER)
				run_ends = 0;
			if (ev->pending[j].kind == PENDING_RESET || !run_ends)
				break;
		}
		if (run_ends) {
			size_t off = 0, blen = 0;

			if (append_summary(ev, run_from, k, &off, &blen) != LI_OK) {
				failed = 1;
				blen = 0;
			}
			nbrief++;
			if (ring_push_order(&ev->ring, p->seq, p->frame, p->len,
			    blen ? ev->brief + off : NULL, blen) != LI_OK)
				log_error("out of memory for the replay ring; it starts again");
			run_from = k + 1;
		} else if (ring_push_order(&ev->ring, p->seq, p->frame, p->len,
		    NULL, 0) != LI_OK)
			log_error("out of memory for the replay ring; it starts again");
	}
	for (k = 0; k < ev->npending; k++) {
		free(ev->pending[k].frame);
		free(ev->pending[k].data);
	}
	ev->npending = 0;
	ev->sent_seq = ev->seq;
	if (failed) {
		/* A frame a stream should have had cannot be sent: everyone
		 * starts again from the state, and no one resumes across it. */
		log_error("out of memory sending events; clients resynchronize");
		ring_clear(&ev->ring, ev->seq + 1);
		free(ev->snapshot);
		ev->snapshot = NULL;
		stream_resync(ev);
		return;
	}
	memset(ev->tick_probe, 0, sizeof(ev->tick_probe));
	ev->tick_written = 0;
	ev->tick_stride = ev->nstreaming / LI_ARRAY_LEN(ev->tick_probe) + 1;
	if (nall > 0)
		clients_broadcast(ev, AUDIENCE_ORDERS, ev->batch, ev->batch_len, nall);
	if (nbrief > 0)
		clients_broadcast(ev, AUDIENCE_SUMMARY, ev->brief, ev->brief_len,
		    nbrief);
	ev->tick_sent_ms = monotonic_ms();
	ev->metrics.ticks++;
	ev->metrics.ticks_waited += (unsigned long long)ev->tick_waited;
	ev->metrics.ticks_held += (unsigned long long)ev->tick_held;
	ev->tick_waited = ev->tick_held = 0;
	/* The next one waits for nginx to read this one (stream_pump);
	 * --fanout-share 0: it does not. */
	ev->tick_read = ev->cfg->fanout_share == 0;
	ev->hold_until_ms = ev->tick_sent_ms;
}

/* The snapshot frame of the current state, built once per change. */
static const char *
snapshot_frame(struct events *ev, size_t *len)
{
	char *json, *frame;
	size_t jlen, size, flen;

	if (ev->snapshot != NULL) {
		*len = ev->snapshot_len;
		return ev->snapshot;
	}
	if ((json = item_state_snapshot_json(&ev->items, &jlen)) == NULL)
		return NULL;
	size = jlen + 64;
	if ((frame = malloc(size)) == NULL ||
	    (flen = sse_format_event(frame, size, NULL, "snapshot", json, jlen)) == 0) {
		free(json);
		free(frame);
		return NULL;
	}
	free(json);
	ev->snapshot = frame;
	ev->snapshot_len = flen;
	*len = flen;
	return frame;
}

/*
 * Sends every stream the snapshot of the current state, after the ring was
 * cleared: what the daemon knows no longer follows from what was sent.
 */
static void
stream_resync(struct events *ev)
{
	struct client *c;
	const char *frame;
	size_t len;

	ev->metrics.snapshots++;
	if ((frame = snapshot_frame(ev, &len)) == NULL) {
		log_error("out of memory building the snapshot");
		return;
	}
	/* Like a client's start, the new snapshot is bounded by the catalogue
	 * and arrives all at once: it does not count against --max-buffer. But
	 * the allowance is one snapshot (or what is left of the start, if
	 * more), not one more per resync: a client that has not read the last
	 * one when the next comes cannot keep up, and may not hold them all. */
	for (c = ev->clients; c != NULL; c = c->next)
		if (c->state == CLIENT_STREAMING && c->grace < len)
			c->grace = len;
	clients_broadcast(ev, AUDIENCE_ALL, frame, len, 1);
}

void
stream_snapshot_loaded(struct events *ev)
{
	/* Changes may have been missed while the database was away: no one
	 * may resume across this point, and everyone gets the new truth. */
	stream_flush(ev);
	ring_clear(&ev->ring, ev->seq + 1);
	free(ev->snapshot);
	ev->snapshot = NULL;
	stream_resync(ev);
}

/* The bytes a stream gets of the n events from the ring's index first on. */
static size_t
replay_bytes(const struct ring *r, size_t first, long n, int summary)
{
	size_t total = 0, len;

	for (long k = 0; k < n; k++) {
		(void)ring_entry_frame(ring_at(r, first + (size_t)k), summary, &len);
		total += len;
	}
	return total;
}

/*
 * A client's start: retry, then what it missed after last_event_id, or a
 * snapshot. The replay is sent only while it fits in --max-buffer: it is
 * queued at once, before the client can read any of it, and a client that
 * resumed from the ring's oldest event and never read would otherwise hold
 * the whole ring.
 */
int
stream_send_start(struct events *ev, struct client *c, const char *last_event_id)
{
	const char *frame;
	uint64_t seq;
	size_t first, len;
	long n = -1;

	if (client_queue(ev, c, retry_frame, sizeof(retry_frame) - 1) != LI_OK)
		return LI_ERROR;
	if (last_event_id != NULL && sse_parse_event_id(last_event_id, ev->run_id, &seq))
		n = ring_since(&ev->ring, seq, ev->sent_seq, &first);
	if (n > 0 && replay_bytes(&ev->ring, first, n, c->orders_summary) >
	    ev->cfg->max_buffer) {
		/* More than a client may have unread: what it missed is told
		 * more briefly by a snapshot, as when its gap is too old. */
		ev->metrics.replays_refused++;
		n = -1;
	}
	if (n >= 0) {
		/* In one write, as a tick is. */
		char *buf = NULL;
		size_t blen = 0, bcap = 0;
		int rc = LI_OK;

		for (long k = 0; k < n && rc == LI_OK; k++) {
			const char *f = ring_entry_frame(ring_at(&ev->ring,
			    first + (size_t)k), c->orders_summary, &len);
			if (f != NULL)
				rc = buf_append(&buf, &blen, &bcap, f, len);
		}
		if (rc == LI_OK && blen > 0)
			rc = client_queue(ev, c, buf, blen);
		free(buf);
		return rc;
	}
	/* Before the first snapshot is read there is nothing true to send;
	 * the client gets it with everyone when it is loaded. */
	if (!ev->items.loaded)
		return LI_OK;
	if ((frame = snapshot_frame(ev, &len)) == NULL)
		return LI_ERROR;
	return client_queue(ev, c, frame, len);
}
