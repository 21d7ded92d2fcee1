/*
 * problem.h — the errors a client can be told about, and their
 * application/problem+json form (RFC 9457, doc/api.md "Errors").
 *
 * Parsers and handlers return an enum problem_code; problem_json() is the one
 * function that turns one into a response body.
 */
#ifndef LI_PROBLEM_H
#define LI_PROBLEM_H

#include <stddef.h>

enum problem_code {
	PROBLEM_NONE = 0,               /* no problem: go on */
	PROBLEM_BAD_REQUEST,            /* 400 */
	PROBLEM_UNAUTHORIZED,           /* 401 */
	PROBLEM_FORBIDDEN,              /* 403 */
	PROBLEM_NOT_FOUND,              /* 404 */
	PROBLEM_METHOD_NOT_ALLOWED,     /* 405, with Allow */
	PROBLEM_SOLD_OUT,               /* 409 */
	PROBLEM_CONTENTION,             /* 409, optimistic gave up */
	PROBLEM_LIMIT_REACHED,          /* 409, past max_per_buyer */
	PROBLEM_CONFLICT,               /* 409, the resource's state forbids it */
	PROBLEM_HOLD_EXPIRED,           /* 410 */
	PROBLEM_PAYLOAD_TOO_LARGE,      /* 413 */
	PROBLEM_UNSUPPORTED_MEDIA_TYPE, /* 415 */
	PROBLEM_IDEMPOTENCY_KEY_REUSED, /* 422 */
	PROBLEM_UNAVAILABLE,            /* 503, with Retry-After */
	PROBLEM_COUNT
};

/* The HTTP status of a problem (200 for PROBLEM_NONE). */
int problem_status(enum problem_code code);

/* The machine-readable code, e.g. "sold_out". */
const char *problem_name(enum problem_code code);

/* The human title, e.g. "Sold out". */
const char *problem_title(enum problem_code code);

/*
 * Renders {"type","title","status","code","detail"} into a newly allocated,
 * NUL-terminated string owned by the caller (free()). detail may be NULL.
 * Returns NULL only when memory runs out.
 */
char *problem_json(enum problem_code code, const char *detail);

#endif
