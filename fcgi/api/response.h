/*
 * response.h — an HTTP response being built by a handler, before the worker
 * writes it to FastCGI. Keeping it a plain struct lets handlers run without
 * a web server, and keeps all FastCGI I/O in worker.c.
 */
#ifndef LI_RESPONSE_H
#define LI_RESPONSE_H

#include <stddef.h>

#include "problem.h"

#define RESPONSE_HEADERS_MAX 512

struct response {
	int status;
	const char *content_type;              /* a static string */
	char headers[RESPONSE_HEADERS_MAX];    /* "Name: value\r\n" lines */
	size_t headers_len;
	char *body;                            /* see body_owned */
	size_t body_len;
	int body_owned;                        /* free(body) when done */
};

void response_init(struct response *r);

/* Frees what the response owns; it may be initialised again after. */
void response_free(struct response *r);

/* Adds one header line. Returns LI_OK, or LI_ERROR when there is no room. */
int response_header(struct response *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets an application/json body, copied from json (len bytes). */
void response_json(struct response *r, int status, const char *json,
    size_t len);

/*
 * Sets a body of any type from a malloc'd buffer, which the response takes
 * over (it frees it). A NULL body means memory ran out: a 503.
 */
void response_take(struct response *r, int status, const char *content_type,
    char *body, size_t len);

/*
 * Sets a problem+json answer, with the headers its code requires
 * (Retry-After for 503, WWW-Authenticate for 401). detail may be NULL.
 */
void response_problem(struct response *r, enum problem_code code,
    const char *detail);

/* The reason phrase of a status code, e.g. "Created". */
const char *response_reason(int status);

#endif
