/*
 * problem.c — problem+json bodies.
 *
 * The table below is the whole list of errors doc/api.md allows; nothing else
 * in the code base invents a status code or an error name.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/li.h"
#include "problem.h"

static const struct {
	int status;
	const char *name;
	const char *title;
} problems[PROBLEM_COUNT] = {
	[PROBLEM_NONE]                   = { 200, "ok", "OK" },
	[PROBLEM_BAD_REQUEST]            = { 400, "bad_request", "Bad request" },
	[PROBLEM_UNAUTHORIZED]           = { 401, "unauthorized", "Unauthorized" },
	[PROBLEM_FORBIDDEN]              = { 403, "forbidden", "Forbidden" },
	[PROBLEM_NOT_FOUND]              = { 404, "not_found", "Not found" },
	[PROBLEM_METHOD_NOT_ALLOWED]     = { 405, "method_not_allowed", "Method not allowed" },
	[PROBLEM_SOLD_OUT]               = { 409, "sold_out", "Sold out" },
	[PROBLEM_CONTENTION]             = { 409, "contention", "Too much contention" },
	[PROBLEM_LIMIT_REACHED]          = { 409, "limit_reached", "Limit per buyer reached" },
	[PROBLEM_CONFLICT]               = { 409, "conflict", "Conflict" },
	[PROBLEM_HOLD_EXPIRED]           = { 410, "hold_expired", "Hold expired" },
	[PROBLEM_PAYLOAD_TOO_LARGE]      = { 413, "payload_too_large", "Payload too large" },
	[PROBLEM_UNSUPPORTED_MEDIA_TYPE] = { 415, "unsupported_media_type", "Unsupported media type" },
	[PROBLEM_IDEMPOTENCY_KEY_REUSED] = { 422, "idempotency_key_reused", "Idempotency key reused" },
	[PROBLEM_UNAVAILABLE]            = { 503, "unavailable", "Service unavailable" },
};

static enum problem_code
problem_clamp(enum problem_code code)
{
	return (code >= 0 && code < PROBLEM_COUNT) ? code : PROBLEM_UNAVAILABLE;
}

int
problem_status(enum problem_code code)
{
	return problems[problem_clamp(code)].status;
}

const char *
problem_name(enum problem_code code)
{
	return problems[problem_clamp(code)].name;
}

const char *
problem_title(enum problem_code code)
{
	return problems[problem_clamp(code)].title;
}

/*
 * Writes s as the inside of a JSON string into out (NULL: only counts) and
 * returns its length: " \ and control characters escaped as json-c does,
 * everything else (UTF-8 included) as it is.
 */
static size_t
json_escape(char *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char e = 0;

		switch (c) {
		case '"': e = '"'; break;
		case '\\': e = '\\'; break;
		case '\b': e = 'b'; break;
		case '\f': e = 'f'; break;
		case '\n': e = 'n'; break;
		case '\r': e = 'r'; break;
		case '\t': e = 't'; break;
		default: break;
		}
		if (e != 0) {
			if (out != NULL) {
				out[n] = '\\';
				out[n + 1] = e;
			}
			n += 2;
		} else if (c < 0x20) {
			if (out != NULL)
				memcpy(out + n, (char[]){ '\\', 'u', '0', '0',
				    hex[c >> 4], hex[c & 15] }, 6);
			n += 6;
		} else {
			if (out != NULL)
				out[n] = (char)c;
			n++;
		}
	}
	return n;
}

/*
 * The body is written directly, not built as a json-c object and then
 * serialised: every sold-out answer has one, and profiling the sold-out
 * answer (doc/benchmarks.md) found the object, its hash table and the
 * serialiser a fifth of the pool's instructions per answer.
 */
char *
problem_json(enum problem_code code, const char *detail)
{
	const char *title, *name;
	char head[160], *out;
	size_t len, dlen;
	int n;

	code = problem_clamp(code);
	title = problems[code].title;
	name = problems[code].name;
	/* Titles and names are plain ASCII words: nothing to escape. */
	n = snprintf(head, sizeof(head), "{\"type\":\"about:blank\",\"title\":\"%s\","
	    "\"status\":%d,\"code\":\"%s\"", title, problems[code].status, name);
	if (n < 0 || (size_t)n >= sizeof(head))
		return NULL;
	len = (size_t)n;
	dlen = detail != NULL ? json_escape(NULL, detail) : 0;
	if ((out = malloc(len + dlen + sizeof(",\"detail\":\"\"}"))) == NULL)
		return NULL;
	memcpy(out, head, len);
	if (detail != NULL) {
		memcpy(out + len, ",\"detail\":\"", 11);
		len += 11;
		len += json_escape(out + len, detail);
		out[len++] = '"';
	}
	out[len++] = '}';
	out[len] = '\0';
	return out;
}
