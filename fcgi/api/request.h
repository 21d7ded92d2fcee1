/*
 * request.h — parsing and validating everything a client sends to the pool.
 *
 * Every function here is pure: it takes bytes and a length (or a string),
 * fills a struct the caller owns, does no I/O and allocates nothing that
 * outlives the call. That is what lets test/unit_request.c and the fuzzers
 * drive them directly. Each returns PROBLEM_NONE when the input is good, or
 * the problem to answer with, and when given a detail buffer, writes there a
 * sentence for the client saying what was wrong.
 */
#ifndef LI_REQUEST_H
#define LI_REQUEST_H

#include <stddef.h>

#include "common/li.h"
#include "problem.h"

/* A request as the worker received it from nginx. Pointers are borrowed. */
struct http_request {
	const char *method;
	const char *path;            /* decoded path, no query */
	const char *query;           /* "" when absent */
	const char *content_type;    /* NULL when absent */
	const char *idempotency_key; /* NULL when absent */
	const char *authorization;   /* NULL when absent */
	const char *origin;          /* Origin, NULL when absent */
	const char *sec_fetch_site;  /* Sec-Fetch-Site, NULL when absent */
	const char *host;            /* Host, NULL when absent */
	const char *scheme;          /* "http" or "https", as nginx saw it */
	const char *buyer_header;    /* --buyer-header's value, NULL when absent
	                                or when the pool has none */
	const char *body;
	size_t body_len;
	int body_too_large;          /* the body passed LI_BODY_MAX */
};

/*
 * Checks the media type of a request that changes something (any method
 * but GET and HEAD): it must be application/json, with or without
 * parameters, even when there is no body (body_len 0), so that a plain
 * HTML form on another site cannot make one.
 */
enum problem_code request_content_type(const char *content_type,
    size_t body_len, char *detail, size_t detail_size);

/* Whether method only reads (GET, HEAD): those need no checks of origin or
 * media type. */
int request_method_safe(const char *method);

/*
 * Refuses a request that changes something (any method but GET and HEAD)
 * when a browser says it comes from another site: PROBLEM_FORBIDDEN when
 * Sec-Fetch-Site is "cross-site" (same-origin, same-site and none pass),
 * or when Origin is present and is not scheme://host of the request itself
 * (host as the client's Host header gave it; a default port may be left
 * out on either side; scheme NULL or "" means http). A request with
 * neither header (curl, a script) passes. Every argument may be NULL.
 */
enum problem_code request_same_origin(const char *method,
    const char *sec_fetch_site, const char *origin, const char *scheme,
    const char *host, char *detail, size_t detail_size);

/* Checks an Idempotency-Key: 1 … 255 visible ASCII characters. */
enum problem_code request_idempotency_key(const char *key, char *detail,
    size_t detail_size);

struct purchase_body {
	int quantity;                          /* 1 … 100, default 1 */
	char buyer[LI_BUYER_MAX_BYTES + 1];    /* default "anonymous" */
	int buyer_given;                       /* the body named a buyer */
	int strategy;                          /* enum strategy, -1: default */
};

/* Parses the optional purchase body (doc/api.md "Purchase"). */
enum problem_code request_purchase_body(const char *body, size_t len,
    struct purchase_body *out, char *detail, size_t detail_size);

struct reset_body {
	int has_quantity;
	int quantity;                          /* 0 … 1000000000 */
};

/* Parses the optional reset body {"quantity": n}. */
enum problem_code request_reset_body(const char *body, size_t len,
    struct reset_body *out, char *detail, size_t detail_size);

struct orders_query {
	char item_id[LI_ITEM_ID_MAX + 1];      /* "" for all items */
	int limit;                             /* 1 … 500, default 50 */
	long long before;                      /* only older orders; 0: none */
};

/* Parses ?item_id=…&limit=…&before=… of GET /api/orders. */
enum problem_code request_orders_query(const char *query,
    struct orders_query *out, char *detail, size_t detail_size);

/*
 * Finds the token of "Authorization: Bearer <token>". Returns PROBLEM_NONE
 * and sets *token and *len (pointing into header), or PROBLEM_UNAUTHORIZED.
 */
enum problem_code request_bearer_token(const char *header, const char **token,
    size_t *len);

/*
 * Compares a presented token with the expected one in time that depends
 * only on the presented token's length, never on where they differ, so the
 * admin token cannot be guessed a byte at a time. The loop runs over the
 * presented bytes only (the expected ones are read cyclically), so its
 * duration does not tell the expected token's length either; a length
 * mismatch is folded into the same difference, not returned early.
 * Returns 1 when equal.
 */
int request_token_equal(const char *given, size_t given_len,
    const char *expected, size_t expected_len);

/*
 * The path of a request from nginx's FastCGI parameters: DOCUMENT_URI when
 * it is set and not empty, else REQUEST_URI up to its '?', copied into buf
 * (size bytes, truncated to fit), else "". Either may be NULL.
 */
const char *request_path(const char *document_uri, const char *request_uri,
    char *buf, size_t size);

/* Whether a CONTENT_LENGTH (NULL when absent) announces more than
 * LI_BODY_MAX bytes. */
int request_length_too_large(const char *content_length);

#endif
