/*
 * problem.c — problem+json bodies.
 *
 * The table below is the whole list of errors doc/api.md allows; nothing else
 * in the code base invents a status code or an error name.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

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

char *
problem_json(enum problem_code code, const char *detail)
{
	struct json_object *o;
	const char *text;
	char *out = NULL;

	code = problem_clamp(code);
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (json_object_object_add(o, "type", json_object_new_string("about:blank")) ||
	    json_object_object_add(o, "title", json_object_new_string(problems[code].title)) ||
	    json_object_object_add(o, "status", json_object_new_int(problems[code].status)) ||
	    json_object_object_add(o, "code", json_object_new_string(problems[code].name)))
		goto out;
	if (detail != NULL &&
	    json_object_object_add(o, "detail", json_object_new_string(detail)))
		goto out;
	text = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text != NULL)
		out = strdup(text);
out:
	json_object_put(o);
	return out;
}
