/*
 * fuzz_events_http — the event daemon's HTTP request parser, fed the way
 * fcgi/events/client.c feeds it: bytes arrive in chunks into a buffer of
 * HTTP_REQ_HEAD_MAX bytes, and the whole buffer is parsed again after each
 * one until the parser stops saying HTTP_REQ_INCOMPLETE. Then the
 * Last-Event-ID it found goes through the event id parser.
 *
 * Input: the bytes a client sends. The chunk sizes are drawn from the
 * input itself, so libFuzzer explores the splits too.
 */
#include <config.h>

#include <inttypes.h>

#include "fuzz.h"
#include "events/http_request.h"
#include "events/sse.h"

static const char run_id[] = "18f3a2b4c5d6e7";

static int
same_request(const struct http_req *a, const struct http_req *b)
{
	return strcmp(a->method, b->method) == 0 &&
	    strcmp(a->path, b->path) == 0 &&
	    strcmp(a->last_event_id, b->last_event_id) == 0 &&
	    a->has_last_event_id == b->has_last_event_id &&
	    a->http_minor == b->http_minor && a->head_len == b->head_len;
}

/* What a complete request must look like, whatever the bytes were. */
static void
check_request(const struct http_req *r, size_t len)
{
	size_t m = strnlen(r->method, sizeof(r->method));
	size_t p = strnlen(r->path, sizeof(r->path));
	size_t id = strnlen(r->last_event_id, sizeof(r->last_event_id));

	FUZZ_CHECK(r->head_len > 0 && r->head_len <= len);
	FUZZ_CHECK(r->head_len <= HTTP_REQ_HEAD_MAX);
	FUZZ_CHECK(m >= 1 && m < sizeof(r->method));
	FUZZ_CHECK(strspn(r->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == m);
	FUZZ_CHECK(p >= 1 && p < sizeof(r->path) && r->path[0] == '/');
	for (size_t i = 0; i < p; i++)
		FUZZ_CHECK(r->path[i] > 0x20 && r->path[i] < 0x7f &&
		    r->path[i] != '?');
	FUZZ_CHECK(r->http_minor == 0 || r->http_minor == 1);
	FUZZ_CHECK(id <= HTTP_REQ_ID_MAX);
	FUZZ_CHECK(r->has_last_event_id == (id > 0));
	for (size_t i = 0; i < id; i++)
		FUZZ_CHECK((unsigned char)r->last_event_id[i] >= 0x20 ||
		    r->last_event_id[i] == '\t');
	if (id > 0)
		FUZZ_CHECK(r->last_event_id[0] != ' ' && r->last_event_id[0] != '\t' &&
		    r->last_event_id[id - 1] != ' ' && r->last_event_id[id - 1] != '\t');
}

/* An id taken for one of ours names exactly the sequence number it holds. */
static void
check_event_id(const char *id)
{
	char again[128];
	const char *digits;
	uint64_t seq;

	if (!sse_parse_event_id(id, run_id, &seq))
		return;
	digits = id + strlen(run_id) + 1;
	FUZZ_CHECK(strncmp(id, run_id, strlen(run_id)) == 0);
	while (digits[0] == '0' && digits[1] != '\0')
		digits++;
	snprintf(again, sizeof(again), "%" PRIu64, seq);
	FUZZ_CHECK(strcmp(again, digits) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *exact, *str;
	struct http_req whole, fed, again;
	enum http_req_status st_whole, st_fed, st;
	size_t cap = size < HTTP_REQ_HEAD_MAX ? size : HTTP_REQ_HEAD_MAX;
	size_t have = 0, k = 0;

	/* The daemon's buffer: never more than HTTP_REQ_HEAD_MAX bytes. An
	 * exact allocation, so ASan sees a read past what was received. */
	if ((buf = calloc(1, cap > 0 ? cap : 1)) == NULL)
		abort();
	memcpy(buf, data, cap);
	st_whole = http_req_parse(buf, cap, &whole);
	if (cap == HTTP_REQ_HEAD_MAX)
		FUZZ_CHECK(st_whole != HTTP_REQ_INCOMPLETE);
	if (st_whole == HTTP_REQ_COMPLETE)
		check_request(&whole, cap);

	/* The same bytes in chunks of 1 … 64, as recv() might hand them over. */
	st_fed = HTTP_REQ_INCOMPLETE;
	while (have < cap && st_fed == HTTP_REQ_INCOMPLETE) {
		size_t chunk = 1 + data[(k++ * 7919) % size] % 64;
		if (chunk > cap - have)
			chunk = cap - have;
		have += chunk;
		if ((exact = malloc(have)) == NULL)
			abort();
		memcpy(exact, data, have);
		st_fed = http_req_parse(exact, have, &fed);
		free(exact);
	}
	FUZZ_CHECK(st_fed == st_whole);
	if (st_whole == HTTP_REQ_COMPLETE) {
		FUZZ_CHECK(same_request(&fed, &whole));
		/* The head alone says the same. */
		st = http_req_parse(buf, whole.head_len, &again);
		FUZZ_CHECK(st == HTTP_REQ_COMPLETE && same_request(&again, &whole));
		check_event_id(whole.last_event_id);
	}
	free(buf);

	/* The event id parser on the raw input too, for its own coverage. */
	if ((str = malloc(size + 1)) == NULL)
		abort();
	memcpy(str, data, size);
	str[size] = '\0';
	check_event_id(str);
	free(str);
	return 0;
}
