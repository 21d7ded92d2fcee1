/*
 * response.c — building responses.
 *
 * When memory runs out the response becomes a 503 with a static body, so a
 * handler never has to check whether its answer could be built.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/li.h"
#include "response.h"

static const char out_of_memory[] =
    "{\"type\":\"about:blank\",\"title\":\"Service unavailable\","
    "\"status\":503,\"code\":\"unavailable\",\"detail\":\"out of memory\"}";

void
response_init(struct response *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 200;
	r->content_type = "application/json";
}

void
response_free(struct response *r)
{
	if (r->body_owned)
		free(r->body);
	r->body = NULL;
	r->body_owned = 0;
}

int
response_header(struct response *r, const char *fmt, ...)
{
	size_t room = sizeof(r->headers) - r->headers_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->headers + r->headers_len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 >= room) {
		r->headers[r->headers_len] = '\0';
		return LI_ERROR;
	}
	r->headers_len += (size_t)n;
	memcpy(r->headers + r->headers_len, "\r\n", 3);
	r->headers_len += 2;
	return LI_OK;
}

static void
set_out_of_memory(struct response *r)
{
	response_free(r);
	r->status = 503;
	r->content_type = "application/problem+json";
	r->body = (char *)out_of_memory;
	r->body_len = sizeof(out_of_memory) - 1;
	r->body_owned = 0;
}

void
response_json(struct response *r, int status, const char *json, size_t len)
{
	char *copy;

	response_free(r);
	if ((copy = malloc(len + 1)) == NULL) {
		set_out_of_memory(r);
		return;
	}
	memcpy(copy, json, len);
	copy[len] = '\0';
	r->status = status;
	r->content_type = "application/json";
	r->body = copy;
	r->body_len = len;
	r->body_owned = 1;
}

void
response_take(struct response *r, int status, const char *content_type,
    char *body, size_t len)
{
	response_free(r);
	if (body == NULL) {
		set_out_of_memory(r);
		return;
	}
	r->status = status;
	r->content_type = content_type;
	r->body = body;
	r->body_len = len;
	r->body_owned = 1;
}

void
response_problem(struct response *r, enum problem_code code, const char *detail)
{
	char *body;

	response_free(r);
	if ((body = problem_json(code, detail)) == NULL) {
		set_out_of_memory(r);
		return;
	}
	r->status = problem_status(code);
	r->content_type = "application/problem+json";
	r->body = body;
	r->body_len = strlen(body);
	r->body_owned = 1;
	if (code == PROBLEM_UNAVAILABLE)
		(void)response_header(r, "Retry-After: 1");
	else if (code == PROBLEM_UNAUTHORIZED)
		(void)response_header(r, "WWW-Authenticate: Bearer realm=\"lastitem\"");
}

const char *
response_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 503: return "Service Unavailable";
	default:  return "Unknown";
	}
}
