/*
 * unit_events — the event daemon's pure modules, called directly: SSE
 * framing, the replay ring, the request parser, the notification parser and
 * the item state. Each rule is checked from both sides: what must pass and
 * what must be refused.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/http_request.h"
#include "events/item_state.h"
#include "common/li.h"
#include "events/notify.h"
#include "events/ring.h"
#include "events/sse.h"
#include "tap.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* ------------------------------------------------------------ sse */

/* Formats into a fresh buffer of size bytes; returns the text or "" (and
 * *n = 0) when refused. Static: one result at a time. */
static const char *
sse(size_t size, const char *id, const char *name, const char *data,
    size_t len, size_t *n)
{
	static char buf[1024];

	memset(buf, 0, sizeof(buf));
	*n = sse_format_event(buf, size, id, name, data, len);
	return *n ? buf : "";
}

static void
test_sse(void)
{
	static const char whole[] = "id: r-1\nevent: item\ndata: {\"a\":1}\n\n";
	char small[sizeof(whole) + 8];
	size_t n;
	uint64_t seq;
	int overrun = 0, refused = 0;

	is_str(sse(1024, "r-1", "item", S("{\"a\":1}"), &n), whole,
	    "an event: id, event, one data line, blank line");
	is_int(n, sizeof(whole) - 1, "its length is returned");
	is_str(sse(1024, NULL, "snapshot", S("{}"), &n),
	    "event: snapshot\ndata: {}\n\n", "no id line without an id");
	is_str(sse(1024, NULL, "x", S(""), &n), "event: x\ndata: \n\n",
	    "empty data is one empty data line");
	is_str(sse(1024, NULL, "x", S("a\nb"), &n),
	    "event: x\ndata: a\ndata: b\n\n", "LF splits data into data lines");
	is_str(sse(1024, NULL, "x", S("a\r\nb"), &n),
	    "event: x\ndata: a\ndata: b\n\n", "CRLF is one line break");
	is_str(sse(1024, NULL, "x", S("a\rb"), &n),
	    "event: x\ndata: a\ndata: b\n\n", "a lone CR is a line break");
	is_str(sse(1024, NULL, "x", S("a\n\nb"), &n),
	    "event: x\ndata: a\ndata: \ndata: b\n\n", "an empty line inside data is kept");
	is_str(sse(1024, NULL, "x", S("a\r\n"), &n),
	    "event: x\ndata: a\ndata: \n\n", "a trailing CRLF survives as an empty last line");
	is_str(sse(1024, NULL, "x", S("a\r\r\nb"), &n),
	    "event: x\ndata: a\ndata: \ndata: b\n\n", "CR then CRLF are two breaks");
	is_str(sse(1024, "1", "item", S("x\n\nevent: evil\nid: 9\nretry: 1"), &n),
	    "id: 1\nevent: item\ndata: x\ndata: \ndata: event: evil\ndata: id: 9\n"
	    "data: retry: 1\n\n", "fields injected through data stay data");
	is_str(sse(1024, "1\n", "item", S("x"), &n), "", "an LF in the id is refused");
	is_str(sse(1024, "1\r", "item", S("x"), &n), "", "a CR in the id is refused");
	is_str(sse(1024, "1", "it\nem", S("x"), &n), "", "an LF in the name is refused");
	is_str(sse(1024, "1", "it\rem", S("x"), &n), "", "a CR in the name is refused");
	is_int(n, 0, "refusal returns 0");

	/* Every size short of the whole frame is refused, and nothing is
	 * written past the size given. */
	for (size_t size = 0; size < sizeof(whole) - 1; size++) {
		memset(small, '#', sizeof(small));
		if (sse_format_event(small, size, "r-1", "item", S("{\"a\":1}")) != 0)
			refused++;
		for (size_t k = size; k < sizeof(small); k++)
			if (small[k] != '#')
				overrun++;
	}
	is_int(refused, 0, "every buffer one byte or more too small is refused");
	is_int(overrun, 0, "and none is written past its size");
	memset(small, '#', sizeof(small));
	is_int(sse_format_event(small, sizeof(whole) - 1, "r-1", "item",
	    S("{\"a\":1}")), sizeof(whole) - 1, "the exact size fits (no NUL needed)");
	ok(memcmp(small, whole, sizeof(whole) - 1) == 0 &&
	    small[sizeof(whole) - 1] == '#', "exactly the frame is written");

	ok(sse_parse_event_id("ab12-7", "ab12", &seq) && seq == 7,
	    "an id of this run");
	ok(sse_parse_event_id("ab12-18446744073709551615", "ab12", &seq) &&
	    seq == UINT64_MAX, "the largest id");
	ok(!sse_parse_event_id("ab12-18446744073709551616", "ab12", &seq),
	    "an id past 2^64 - 1 is not ours");
	ok(!sse_parse_event_id("ab13-7", "ab12", &seq), "another run's id");
	ok(!sse_parse_event_id("ab12-", "ab12", &seq), "no number");
	ok(!sse_parse_event_id("ab12--7", "ab12", &seq), "a sign");
	ok(!sse_parse_event_id("ab12-7x", "ab12", &seq), "trailing bytes");
	ok(!sse_parse_event_id("ab12", "ab12", &seq), "the run alone");
}

/* ------------------------------------------------------------ ring */

static void
push(struct ring *r, uint64_t seq)
{
	char frame[32];
	int n = snprintf(frame, sizeof(frame), "frame %llu", (unsigned long long)seq);

	if (ring_push(r, seq, frame, (size_t)n) != LI_OK)
		printf("# ring_push %llu failed\n", (unsigned long long)seq);
}

/* The seqs that ring_since(seq) yields, as "3,4,5"; "none" for 0, "snapshot"
 * for -1. Also checks that each frame is the one pushed with its seq. */
static const char *
since(const struct ring *r, uint64_t seq, uint64_t last)
{
	static char out[256];
	size_t first = 99, pos = 0;
	long n = ring_since(r, seq, last, &first);

	if (n < 0)
		return first == 0 ? "snapshot" : "snapshot, first not 0";
	if (n == 0)
		return first == 0 ? "none" : "none, first not 0";
	out[0] = '\0';
	for (long k = 0; k < n; k++) {
		const struct ring_entry *e = ring_at(r, first + (size_t)k);
		char want[32];
		int wl = snprintf(want, sizeof(want), "frame %llu",
		    (unsigned long long)e->seq);
		if (e->len != (size_t)wl || memcmp(e->frame, want, e->len) != 0)
			return "a frame does not match its seq";
		pos += (size_t)snprintf(out + pos, sizeof(out) - pos, "%s%llu",
		    k ? "," : "", (unsigned long long)e->seq);
	}
	return out;
}

static void
test_ring(void)
{
	struct ring r;

	is_int(ring_init(&r, 0), LI_ERROR, "a ring of 0 entries is refused");
	is_int(ring_init(&r, 4), LI_OK, "a ring of 4");
	is_str(since(&r, 0, 0), "none", "empty and up to date: nothing to send");
	is_str(since(&r, 1, 0), "snapshot", "an id past the last event: snapshot");

	push(&r, 1);
	push(&r, 2);
	push(&r, 3);
	is_str(since(&r, 0, 3), "1,2,3", "after 0: all three, oldest first");
	is_str(since(&r, 1, 3), "2,3", "after 1: 2 and 3");
	is_str(since(&r, 2, 3), "3", "after 2: 3");
	is_str(since(&r, 3, 3), "none", "after the last: nothing, no snapshot");
	is_str(since(&r, 4, 3), "snapshot", "after a seq never sent: snapshot");
	is_str(since(&r, UINT64_MAX, 3), "snapshot", "after UINT64_MAX: snapshot");

	push(&r, 4);
	push(&r, 5);
	push(&r, 6);                    /* 1 and 2 fall out; holds 3 … 6 */
	is_int(r.count, 4, "the ring holds at most its capacity");
	is_int(r.floor, 2, "the floor is the newest seq that fell out");
	is_str(since(&r, 2, 6), "3,4,5,6", "after the floor: all it holds");
	is_str(since(&r, 1, 6), "snapshot", "below the floor (2 was lost): snapshot");
	is_str(since(&r, 0, 6), "snapshot", "after 0, once 1 fell out: snapshot");
	is_str(since(&r, 5, 6), "6", "after 5: 6");

	for (uint64_t s = 7; s <= 100; s++)
		push(&r, s);                /* wraps around many times */
	is_str(since(&r, 96, 100), "97,98,99,100", "after many wraps, still in order");
	is_str(since(&r, 95, 100), "snapshot", "and the floor moved with them");

	ring_clear(&r, 101);
	is_int(r.count, 0, "clear empties the ring");
	is_str(since(&r, 100, 100), "snapshot",
	    "after a clear, even an up-to-date client needs a snapshot");
	push(&r, 101);
	is_str(since(&r, 100, 101), "snapshot", "and still after the next event");
	is_str(since(&r, 101, 101), "none", "an id after the clear: up to date");
	push(&r, 102);
	is_str(since(&r, 101, 102), "102", "an id after the clear resumes");
	is_str(since(&r, 102, 101), "snapshot", "an id ahead of the last sent: snapshot");
	ring_free(&r);
	ok(r.entries == NULL, "free releases the entries");
	ring_free(&r);                  /* harmless twice */

	is_int(ring_init(&r, 1), LI_OK, "a ring of 1");
	push(&r, 1);
	push(&r, 2);
	is_str(since(&r, 1, 2), "2", "a ring of 1 resumes after the one before");
	is_str(since(&r, 0, 2), "snapshot", "but no further back");
	ring_free(&r);

	/* Superseded events leave gaps in the numbers sent. */
	is_int(ring_init(&r, 4), LI_OK, "a ring of 4, with gaps");
	push(&r, 2);
	push(&r, 5);
	push(&r, 9);
	is_str(since(&r, 2, 10), "5,9", "after 2: 5 and 9");
	is_str(since(&r, 3, 10), "5,9", "after a number never sent (3): what follows it");
	is_str(since(&r, 9, 10), "none", "after the last held, 10 superseded: nothing");
	is_str(since(&r, 11, 10), "snapshot", "ahead of the last sent: snapshot");
	push(&r, 12);
	push(&r, 14);                   /* 2 falls out */
	is_int(r.floor, 2, "the floor is the number that fell out");
	is_str(since(&r, 2, 14), "5,9,12,14", "after the floor: all it holds");
	is_str(since(&r, 1, 14), "snapshot", "below it: snapshot");
	ring_free(&r);

	/* Orders: summary streams get the brief, or nothing. */
	{
		size_t len;
		const char *f;

		is_int(ring_init(&r, 4), LI_OK, "a ring of 4, with orders");
		push(&r, 1);
		is_int(ring_push_order(&r, 2, "order 2", 7, NULL, 0), LI_OK, "an order without brief");
		is_int(ring_push_order(&r, 3, "order 3", 7, "orders 2-3", 10), LI_OK,
		    "an order with the brief of its run");
		f = ring_entry_frame(ring_at(&r, 0), 1, &len);
		ok(f != NULL && len == 7 && memcmp(f, "frame 1", 7) == 0,
		    "an item: the same frame for summary streams");
		f = ring_entry_frame(ring_at(&r, 1), 0, &len);
		ok(f != NULL && len == 7 && memcmp(f, "order 2", 7) == 0,
		    "an order: its frame for streams of every order");
		f = ring_entry_frame(ring_at(&r, 1), 1, &len);
		ok(f == NULL && len == 0, "nothing for summary streams");
		f = ring_entry_frame(ring_at(&r, 2), 1, &len);
		ok(f != NULL && len == 10 && memcmp(f, "orders 2-3", 10) == 0,
		    "the last of a run: the summary");
		push(&r, 4);
		push(&r, 5);
		push(&r, 6);                /* the orders fall out, freed */
		is_int(r.count, 4, "still 4");
		ring_free(&r);
	}
}

/* ------------------------------------------------------------ http_req */

static enum http_req_status
parse(const char *s, size_t len, struct http_req *req)
{
	return http_req_parse(s, len, req);
}

/* A request whose head is exactly size bytes: a padding header fills it. */
static char *
head_of_size(size_t size)
{
	static const char start[] = "GET /api/events HTTP/1.1\r\nX-Pad: ";
	char *s = malloc(size + 1);
	size_t pad = size - (sizeof(start) - 1) - 4;

	memcpy(s, start, sizeof(start) - 1);
	memset(s + sizeof(start) - 1, 'a', pad);
	memcpy(s + size - 4, "\r\n\r\n", 4);
	s[size] = '\0';
	return s;
}

/* "GET /aaa… HTTP/1.1" with a path of plen bytes, into buf; its length. */
static size_t
path_request(char *buf, size_t plen)
{
	buf[0] = '\0';
	strcat(buf, "GET /");
	memset(buf + 5, 'a', plen - 1);
	strcpy(buf + 4 + plen, " HTTP/1.1\r\n\r\n");
	return strlen(buf);
}

static void
test_http_req(void)
{
	static const char full[] =
	    "GET /api/events?since=1 HTTP/1.1\r\nHost: x\r\n"
	    "last-event-id:   abc-12  \r\n\r\n";
	struct http_req req;
	char id64[HTTP_REQ_ID_MAX + 1], id65[HTTP_REQ_ID_MAX + 2], buf[512];
	char *big;

	is_int(parse(S(full), &req), HTTP_REQ_COMPLETE, "a whole request");
	is_str(req.method, "GET", "its method");
	is_str(req.path, "/api/events", "its path, without the query");
	is_int(req.has_last_event_id, 1, "Last-Event-ID, in any case, is seen");
	is_str(req.last_event_id, "abc-12", "its value, without the spaces around it");
	is_int(req.http_minor, 1, "HTTP/1.1");
	is_int(req.head_len, sizeof(full) - 1, "the head's length");

	is_int(parse(S("GET / HTTP/1.0\n\n"), &req), HTTP_REQ_COMPLETE,
	    "bare LF line ends are accepted");
	is_int(req.http_minor, 0, "HTTP/1.0");
	is_int(req.has_last_event_id, 0, "no Last-Event-ID");
	is_str(req.last_event_id, "", "and an empty one");
	is_int(parse(S("GET / HTTP/1.1\r\nLast-Event-ID:\r\n\r\n"), &req),
	    HTTP_REQ_COMPLETE, "an empty Last-Event-ID");
	is_int(req.has_last_event_id, 0, "counts as none");
	is_int(parse(S("GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n"), &req),
	    HTTP_REQ_COMPLETE, "bytes after the head");
	is_int(req.head_len, 18, "are not part of it");

	/* Incomplete. */
	is_int(parse(S(""), &req), HTTP_REQ_INCOMPLETE, "nothing yet");
	is_int(parse(S("GET /api/ev"), &req), HTTP_REQ_INCOMPLETE, "half a request line");
	is_int(parse(S("GET /api/events HTTP/1.1\r\nHost: x\r\n"), &req),
	    HTTP_REQ_INCOMPLETE, "headers without the blank line");
	is_int(parse(S("GET /api/events HTTP/1.1\r\nHost: x\r\n\r"), &req),
	    HTTP_REQ_INCOMPLETE, "the blank line's CR without its LF");
	for (size_t k = 0, bad = 0; k <= sizeof(full) - 1; k++) {
		enum http_req_status st = parse(full, k, &req);
		if (st != (k == sizeof(full) - 1 ? HTTP_REQ_COMPLETE : HTTP_REQ_INCOMPLETE))
			bad++;
		if (k == sizeof(full) - 1)
			is_int(bad, 0, "every prefix of a request is incomplete, the whole complete");
	}

	/* Malformed. */
	is_int(parse(S("GARBAGE\r\n\r\n"), &req), HTTP_REQ_BAD, "no spaces in the request line");
	is_int(parse(S("GET /api/events\r\n\r\n"), &req), HTTP_REQ_BAD, "no version (HTTP/0.9)");
	is_int(parse(S("GET /api/events HTTP/2.0\r\n\r\n"), &req), HTTP_REQ_BAD, "HTTP/2.0");
	is_int(parse(S("GET /api/events HTTP/1.10\r\n\r\n"), &req), HTTP_REQ_BAD, "HTTP/1.10");
	is_int(parse(S("get /api/events HTTP/1.1\r\n\r\n"), &req), HTTP_REQ_BAD, "a lower-case method");
	is_int(parse(S("VERYLONGMETHOD / HTTP/1.1\r\n\r\n"), &req), HTTP_REQ_BAD, "an over-long method");
	is_int(parse(S("GET api/events HTTP/1.1\r\n\r\n"), &req), HTTP_REQ_BAD, "a path without a slash");
	is_int(parse(S("GET ?x HTTP/1.1\r\n\r\n"), &req), HTTP_REQ_BAD, "an empty path");
	is_int(parse(S("GET  /api/events HTTP/1.1\r\n\r\n"), &req), HTTP_REQ_BAD, "two spaces");
	is_int(parse(S("GET /api/\x7f HTTP/1.1\r\n\r\n"), &req), HTTP_REQ_BAD, "DEL in the path");
	is_int(parse(S("GET /api/\xc3\xa9 HTTP/1.1\r\n\r\n"), &req), HTTP_REQ_BAD, "non-ASCII in the path");
	is_int(parse(buf, path_request(buf, HTTP_REQ_PATH_MAX - 1), &req),
	    HTTP_REQ_COMPLETE, "a path of HTTP_REQ_PATH_MAX - 1 bytes");
	is_int(strlen(req.path), HTTP_REQ_PATH_MAX - 1, "is kept whole");
	is_int(parse(buf, path_request(buf, HTTP_REQ_PATH_MAX), &req), HTTP_REQ_BAD,
	    "a path of HTTP_REQ_PATH_MAX bytes is refused, not truncated");
	is_int(parse(S("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), &req), HTTP_REQ_BAD, "a header without a colon");
	is_int(parse(S("GET / HTTP/1.1\r\n: x\r\n\r\n"), &req), HTTP_REQ_BAD, "a header without a name");
	is_int(parse(S("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), &req), HTTP_REQ_BAD, "a space before the colon");
	is_int(parse(S("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), &req), HTTP_REQ_BAD,
	    "obs-fold (a continuation line with a space) is refused");
	is_int(parse(S("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n"), &req), HTTP_REQ_BAD,
	    "obs-fold with a tab is refused");
	is_int(parse(S("GET / HTTP/1.1\r\nX: a\x01" "b\r\n\r\n"), &req), HTTP_REQ_BAD,
	    "a control character in a value");
	is_int(parse(S("GET / HTTP/1.1\r\nX: a\tb\r\n\r\n"), &req), HTTP_REQ_COMPLETE,
	    "a tab inside a value is fine");
	is_int(parse(S("GET /\0 HTTP/1.1\r\n\r\n"), &req), HTTP_REQ_BAD, "NUL in the request line");
	is_int(parse(S("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"), &req), HTTP_REQ_BAD, "NUL in a header value");
	is_int(parse(S("GET / HTTP/1.1\r\nX\0Y: a\r\n\r\n"), &req), HTTP_REQ_BAD, "NUL in a header name");
	is_int(parse(S("GET / HTTP/1.1\r\nLast-Event-ID: a\0b\r\n\r\n"), &req), HTTP_REQ_BAD,
	    "NUL in Last-Event-ID (no truncated id)");
	is_int(parse(S("GET / HT\0"), &req), HTTP_REQ_BAD, "NUL in a head not yet complete");

	/* Last-Event-ID bounds. */
	memset(id64, 'x', HTTP_REQ_ID_MAX);
	id64[HTTP_REQ_ID_MAX] = '\0';
	memset(id65, 'x', HTTP_REQ_ID_MAX + 1);
	id65[HTTP_REQ_ID_MAX + 1] = '\0';
	snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nLast-Event-ID: %s\r\n\r\n", id64);
	is_int(parse(buf, strlen(buf), &req), HTTP_REQ_COMPLETE, "a 64-byte Last-Event-ID");
	is_str(req.last_event_id, id64, "is kept whole");
	snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nLast-Event-ID: %s\r\n\r\n", id65);
	is_int(parse(buf, strlen(buf), &req), HTTP_REQ_COMPLETE, "a 65-byte Last-Event-ID");
	ok(req.has_last_event_id == 0 && req.last_event_id[0] == '\0',
	    "is no id of ours (a snapshot), never a truncated one");

	/* Size. */
	big = head_of_size(HTTP_REQ_HEAD_MAX);
	is_int(parse(big, HTTP_REQ_HEAD_MAX, &req), HTTP_REQ_COMPLETE,
	    "a head of exactly HTTP_REQ_HEAD_MAX bytes");
	free(big);
	big = head_of_size(HTTP_REQ_HEAD_MAX + 1);
	is_int(parse(big, HTTP_REQ_HEAD_MAX + 1, &req), HTTP_REQ_TOO_LARGE,
	    "a whole head one byte larger is too large");
	is_int(parse(big, HTTP_REQ_HEAD_MAX, &req), HTTP_REQ_TOO_LARGE,
	    "HTTP_REQ_HEAD_MAX bytes without the end of the head are too large");
	is_int(parse(big, HTTP_REQ_HEAD_MAX - 1, &req), HTTP_REQ_INCOMPLETE,
	    "one byte fewer may still become a request");
	free(big);
}

/* ------------------------------------------------------------ notify */

static int
np(const char *s, size_t len, struct notify_event *ev)
{
	return notify_parse(s, len, ev);
}

static void
test_notify(void)
{
	struct notify_event ev;
	char big[NOTIFY_ORDER_MAX + 200], as[LI_ITEM_ID_MAX + 2];
	int n;

	is_int(np(S("{\"kind\":\"item\",\"id\":\"golden-ticket\",\"quantity\":4,"
	    "\"initial_quantity\":5,\"version\":7}"), &ev), LI_OK, "an item");
	is_int(ev.kind, NOTIFY_ITEM, "is NOTIFY_ITEM");
	is_str(ev.id, "golden-ticket", "its id");
	ok(ev.quantity == 4 && ev.initial_quantity == 5 && ev.version == 7,
	    "its quantity, initial quantity and version");
	is_int(np(S("{\"kind\":\"order\",\"order\":{\"id\":12,\"item_id\":\"a\","
	    "\"buyer\":\"x/y\",\"quantity\":1}}"), &ev), LI_OK, "an order");
	is_int(ev.kind, NOTIFY_ORDER, "is NOTIFY_ORDER");
	is_str(ev.order, "{\"id\":12,\"item_id\":\"a\",\"buyer\":\"x/y\",\"quantity\":1}",
	    "the order, as compact JSON");
	ok(np(S("{\"kind\":\"item\",\"id\":\"golden-ticket\",\"quantity\":4,"
	    "\"initial_quantity\":5,\"version\":7}"), &ev) == LI_OK &&
	    ev.held == 0 && ev.max_per_buyer == -1,
	    "an item of an older schema: none held, no limit");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"drop\",\"quantity\":4,\"held\":3,"
	    "\"initial_quantity\":9,\"max_per_buyer\":2,\"version\":7}"), &ev), LI_OK,
	    "an item with held and a limit");
	ok(ev.held == 3 && ev.max_per_buyer == 2, "its held and its limit");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"drop\",\"quantity\":4,\"held\":0,"
	    "\"initial_quantity\":9,\"max_per_buyer\":null,\"version\":7}"), &ev), LI_OK,
	    "an item whose limit is null");
	is_int((int)ev.max_per_buyer, -1, "no limit");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"drop\",\"quantity\":4,\"held\":-1,"
	    "\"initial_quantity\":9,\"version\":7}"), &ev), LI_ERROR, "held below 0");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"drop\",\"quantity\":4,\"held\":\"1\","
	    "\"initial_quantity\":9,\"version\":7}"), &ev), LI_ERROR, "held a string");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"drop\",\"quantity\":4,"
	    "\"initial_quantity\":9,\"max_per_buyer\":0,\"version\":7}"), &ev), LI_ERROR,
	    "a limit of 0");
	is_int(np(S("{\"kind\":\"hold\",\"hold\":{\"id\":5,\"item_id\":\"drop\","
	    "\"quantity\":2,\"status\":\"expired\",\"buyer\":\"ana\"}}"), &ev), LI_OK,
	    "a hold");
	is_int(ev.kind, NOTIFY_HOLD, "is NOTIFY_HOLD");
	is_str(ev.hold, "{\"id\":5,\"item_id\":\"drop\",\"quantity\":2,\"status\":\"expired\"}",
	    "rendered again from its four fields (no buyer)");
	is_int(np(S("{\"kind\":\"hold\",\"hold\":{\"id\":5,\"item_id\":\"drop\","
	    "\"quantity\":2,\"status\":\"gone\"}}"), &ev), LI_ERROR, "a hold of no status");
	is_int(np(S("{\"kind\":\"hold\",\"hold\":{\"id\":5,\"item_id\":\"Drop\","
	    "\"quantity\":2,\"status\":\"active\"}}"), &ev), LI_ERROR, "a hold of no item id");
	is_int(np(S("{\"kind\":\"hold\",\"hold\":{\"id\":0,\"item_id\":\"drop\","
	    "\"quantity\":2,\"status\":\"active\"}}"), &ev), LI_ERROR, "a hold id of 0");
	is_int(np(S("{\"kind\":\"hold\",\"hold\":{\"id\":5,\"item_id\":\"drop\","
	    "\"quantity\":0,\"status\":\"active\"}}"), &ev), LI_ERROR, "a hold of nothing");
	is_int(np(S("{\"kind\":\"hold\"}"), &ev), LI_ERROR, "a hold without the hold");
	is_int(np(S("{\"kind\":\"reset\"}"), &ev), LI_OK, "a reset");
	is_int(ev.kind, NOTIFY_RESET, "is NOTIFY_RESET");
	is_int(np(S(" {\"kind\":\"reset\"} "), &ev), LI_OK, "white space around is fine");

	is_int(np(S(""), &ev), LI_ERROR, "an empty payload");
	is_int(np(S("reset"), &ev), LI_ERROR, "not JSON");
	is_int(np(S("{\"kind\":\"reset\""), &ev), LI_ERROR, "cut short");
	is_int(np(S("{\"kind\":\"reset\"}x"), &ev), LI_ERROR, "trailing bytes");
	is_int(np(S("{\"kind\":\"reset\"}{}"), &ev), LI_ERROR, "two objects");
	is_int(np(S("[\"reset\"]"), &ev), LI_ERROR, "an array");
	is_int(np(S("{\"kind\":\"delete\"}"), &ev), LI_ERROR, "an unknown kind");
	is_int(np(S("{\"kind\":1}"), &ev), LI_ERROR, "a kind that is not a string");
	is_int(np(S("{}"), &ev), LI_ERROR, "no kind");
	is_int(np(S("{\"kind\":\"reset\0\"}"), &ev), LI_ERROR, "a NUL inside");
	is_int(np(S("{\"kind\":\"re\xffset\"}"), &ev), LI_ERROR, "invalid UTF-8");
	is_int(np(S("{'kind':'reset'}"), &ev), LI_ERROR, "single quotes (not strict JSON)");
	is_int(np(S("{\"kind\":\"reset\",\"x\":NaN}"), &ev), LI_ERROR,
	    "NaN (json-c takes it even in strict mode)");
	is_int(np(S("{\"kind\":\"reset\",\"x\":\"\x01\"}"), &ev), LI_ERROR,
	    "a raw control character in a string");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"a\",\"quantity\":4,\"initial_quantity\":5}"),
	    &ev), LI_ERROR, "an item without a version");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"a\",\"quantity\":4,\"initial_quantity\":5,"
	    "\"version\":0}"), &ev), LI_ERROR, "an item of version 0");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"a\",\"quantity\":-1,\"initial_quantity\":5,"
	    "\"version\":1}"), &ev), LI_ERROR, "a negative quantity");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"a\",\"quantity\":\"4\",\"initial_quantity\":5,"
	    "\"version\":1}"), &ev), LI_ERROR, "a quantity as a string");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"a\",\"quantity\":4.5,\"initial_quantity\":5,"
	    "\"version\":1}"), &ev), LI_ERROR, "a fractional quantity");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"a\",\"quantity\":4,\"initial_quantity\":5,"
	    "\"version\":9223372036854775807}"), &ev), LI_ERROR, "a version of LLONG_MAX");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"A\",\"quantity\":4,\"initial_quantity\":5,"
	    "\"version\":1}"), &ev), LI_ERROR, "an id with upper case");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"a\\\"b\",\"quantity\":4,\"initial_quantity\":5,"
	    "\"version\":1}"), &ev), LI_ERROR, "an id with a quote (would break the JSON we send)");
	is_int(np(S("{\"kind\":\"item\",\"id\":\"a\\nb\",\"quantity\":4,\"initial_quantity\":5,"
	    "\"version\":1}"), &ev), LI_ERROR, "an id with a newline");
	memset(as, 'a', sizeof(as) - 1);
	as[sizeof(as) - 1] = '\0';
	n = snprintf(big, sizeof(big), "{\"kind\":\"item\",\"id\":\"%.*s\",\"quantity\":4,"
	    "\"initial_quantity\":5,\"version\":1}", LI_ITEM_ID_MAX, as);
	is_int(np(big, (size_t)n, &ev), LI_OK, "a 64-character id");
	n = snprintf(big, sizeof(big), "{\"kind\":\"item\",\"id\":\"%.*s\",\"quantity\":4,"
	    "\"initial_quantity\":5,\"version\":1}", LI_ITEM_ID_MAX + 1, as);
	is_int(np(big, (size_t)n, &ev), LI_ERROR, "a 65-character id");
	is_int(np(S("{\"kind\":\"order\"}"), &ev), LI_ERROR, "an order without the order");
	is_int(np(S("{\"kind\":\"order\",\"order\":[1]}"), &ev), LI_ERROR, "an order that is not an object");
	is_int(np(S("{\"kind\":\"order\",\"order\":{\"item_id\":\"a\"}}"), &ev), LI_ERROR,
	    "an order without an id");
	is_int(np(S("{\"kind\":\"order\",\"order\":{\"id\":\"12\"}}"), &ev), LI_ERROR,
	    "an order whose id is a string");
	n = snprintf(big, sizeof(big), "{\"kind\":\"order\",\"order\":{\"id\":1,\"buyer\":\"%0*d\"}}",
	    NOTIFY_ORDER_MAX, 0);
	is_int(np(big, (size_t)n, &ev), LI_ERROR, "an order too large for its buffer");
}

/* ------------------------------------------------------------ item_state */

static struct item
item(const char *id, long long quantity, long long version)
{
	struct item it;

	memset(&it, 0, sizeof(it));
	snprintf(it.id, sizeof(it.id), "%s", id);
	it.quantity = quantity;
	it.held = quantity == 1 ? 2 : 0;     /* "a" has two held, "b" none */
	it.initial_quantity = 50;
	it.max_per_buyer = quantity == 1 ? 2 : -1;
	it.version = version;
	return it;
}

static const char *
snapshot(const struct item_state *s)
{
	static char out[4096];
	size_t len = 0;
	char *json = item_state_snapshot_json(s, &len);

	snprintf(out, sizeof(out), "%s", json != NULL ? json : "(null)");
	if (json != NULL && len != strlen(json))
		snprintf(out, sizeof(out), "length %zu is wrong", len);
	free(json);
	return out;
}

static void
test_item_state(void)
{
	struct item_state s;
	struct item it;
	char id[16];
	long long before;
	int all_new = 1;

	item_state_init(&s);
	is_str(snapshot(&s), "{\"items\":[]}", "no items: an empty list");
	it = item("b", 5, 3);
	is_int(item_state_apply(&s, &it, &before), 1, "a new item is applied");
	is_int((int)before, -1, "… with no quantity before it");
	it = item("a", 1, 1);
	is_int(item_state_apply(&s, &it, NULL), 1, "another");
	is_str(snapshot(&s),
	    "{\"items\":[{\"id\":\"a\",\"quantity\":1,\"held\":2,\"initial_quantity\":50,\"max_per_buyer\":2,\"version\":1},"
	    "{\"id\":\"b\",\"quantity\":5,\"held\":0,\"initial_quantity\":50,\"max_per_buyer\":null,\"version\":3}]}",
	    "the snapshot lists them by id");
	it = item("b", 4, 4);
	is_int(item_state_apply(&s, &it, &before), 1, "a newer version is applied");
	is_int((int)before, 5, "… and says the quantity before it");
	it = item("b", 9, 2);
	is_int(item_state_apply(&s, &it, NULL), 0, "an older version is dropped");
	it = item("b", 9, 4);
	is_int(item_state_apply(&s, &it, NULL), 0, "the same version is dropped");
	is_str(snapshot(&s),
	    "{\"items\":[{\"id\":\"a\",\"quantity\":1,\"held\":2,\"initial_quantity\":50,\"max_per_buyer\":2,\"version\":1},"
	    "{\"id\":\"b\",\"quantity\":4,\"held\":0,\"initial_quantity\":50,\"max_per_buyer\":null,\"version\":4}]}",
	    "and neither changed the state");
	is_int(s.count, 2, "two items");

	for (int k = 99; k >= 0; k--) {      /* past the first allocation */
		snprintf(id, sizeof(id), "x%02d", k);
		it = item(id, k, 1);
		if (item_state_apply(&s, &it, NULL) != 1)
			all_new = 0;
	}
	ok(all_new && s.count == 102, "a hundred more, in reverse order");
	{
		int sorted = 1;
		for (size_t k = 1; k < s.count; k++)
			if (strcmp(s.items[k - 1].id, s.items[k].id) >= 0)
				sorted = 0;
		ok(sorted, "kept sorted by id");
	}
	it = item("x42", 7, 2);
	ok(item_state_apply(&s, &it, NULL) == 1 && s.items[2 + 42].quantity == 7,
	    "found by id among many");
	item_state_clear(&s);
	ok(s.count == 0 && s.loaded == 0, "clear empties it");
	it = item("b", 9, 1);
	is_int(item_state_apply(&s, &it, NULL), 1, "after a clear any version is new");
	item_state_free(&s);
	ok(s.items == NULL && s.count == 0, "free releases it");
}

int
main(void)
{
	test_sse();
	test_ring();
	test_http_req();
	test_notify();
	test_item_state();
	return tap_done();
}
