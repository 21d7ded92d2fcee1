/*
 * request.c — the pool's parsers of outside input: query strings, headers
 * (media type, origin) and JSON bodies (route.c matches the path).
 *
 * The rule here is to refuse early and say why. Anything that is not exactly
 * what doc/api.md allows is a 4xx with a sentence in "detail", decided before a
 * single byte reaches the database; that is how a malformed request is kept
 * from ever changing a row. JSON goes through json-c in strict mode, with
 * UTF-8 validated first, so a string that reaches SQL is always valid text
 * (and is passed as a parameter, never spliced into a statement).
 */
#include <config.h>

#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "common/li.h"
#include "common/text_check.h"
#include "request.h"
#include "request_json.h"
#include "strategy.h"

/* Nesting a purchase body could ever need, with room to spare. */
#define JSON_DEPTH_MAX 8

/* Writes the detail sentence (when asked for) and returns code. */
enum problem_code
request_fail(enum problem_code code, char *detail, size_t size,
    const char *fmt, ...)
{
	va_list ap;

	if (detail != NULL && size > 0) {
		va_start(ap, fmt);
		vsnprintf(detail, size, fmt, ap);
		va_end(ap);
	}
	return code;
}

/*
 * Case-insensitive: does ct start with the media type application/json?
 * Asked of every request that changes something, with a body or not: an
 * HTML form on another site can POST with no body and no Content-Type (or
 * text/plain), but cannot set application/json without a CORS preflight,
 * which this API never grants.
 */
enum problem_code
request_content_type(const char *ct, size_t body_len, char *detail,
    size_t size)
{
	static const char json[] = "application/json";
	size_t n = sizeof(json) - 1;

	if (ct == NULL || *ct == '\0')
		return request_fail(PROBLEM_UNSUPPORTED_MEDIA_TYPE, detail, size,
		    body_len == 0 ? "a request that changes something needs "
		    "Content-Type: application/json, even with no body" :
		    "a request body needs Content-Type: application/json");
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, json, n) == 0) {
		const char *rest = ct + n;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (*rest == '\0' || *rest == ';')
			return PROBLEM_NONE;
	}
	return request_fail(PROBLEM_UNSUPPORTED_MEDIA_TYPE, detail, size,
	    "the body must be application/json");
}

int
request_method_safe(const char *method)
{
	return method != NULL &&
	    (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0);
}

/* The default port of a scheme, as Origin leaves it out; NULL if unknown. */
static const char *
default_port(const char *scheme, size_t len)
{
	if (len == 4 && strncasecmp(scheme, "http", 4) == 0)
		return "80";
	if (len == 5 && strncasecmp(scheme, "https", 5) == 0)
		return "443";
	return NULL;
}

/*
 * The length of host[:port] without the port when it is the scheme's
 * default one, so that "example.com" and "example.com:80" compare equal.
 * A bracketed IPv6 address keeps its colons: only ":port" after the
 * last ']' counts.
 */
static size_t
host_length(const char *host, size_t len, const char *port)
{
	size_t plen;

	if (port == NULL)
		return len;
	plen = strlen(port);
	if (len > plen + 1 && host[len - plen - 1] == ':' &&
	    memcmp(host + len - plen, port, plen) == 0 &&
	    host[len - plen - 2] != ':')
		return len - plen - 1;
	return len;
}

/* Whether origin ("scheme://host[:port]") is scheme://host of this request. */
static int
origin_matches(const char *origin, const char *scheme, const char *host)
{
	const char *sep, *ohost;
	size_t slen, olen, hlen;
	const char *port;

	if (host == NULL || *host == '\0')
		return 0;
	if (scheme == NULL || *scheme == '\0')
		scheme = "http";
	if ((sep = strstr(origin, "://")) == NULL)
		return 0;       /* "null" (a sandboxed frame, a file) included */
	slen = (size_t)(sep - origin);
	if (slen != strlen(scheme) || strncasecmp(origin, scheme, slen) != 0)
		return 0;
	port = default_port(scheme, slen);
	ohost = sep + 3;
	/* A serialised origin has no path, user or query: anything of the
	 * kind is not one this server could have written. */
	if (strpbrk(ohost, "/?#@ \t") != NULL)
		return 0;
	olen = host_length(ohost, strlen(ohost), port);
	hlen = host_length(host, strlen(host), port);
	return olen > 0 && olen == hlen && strncasecmp(ohost, host, olen) == 0;
}

enum problem_code
request_same_origin(const char *method, const char *sec_fetch_site,
    const char *origin, const char *scheme, const char *host, char *detail,
    size_t size)
{
	if (request_method_safe(method))
		return PROBLEM_NONE;
	if (sec_fetch_site != NULL && strcasecmp(sec_fetch_site, "cross-site") == 0)
		return request_fail(PROBLEM_FORBIDDEN, detail, size, "cross-site requests "
		    "are refused: Sec-Fetch-Site is cross-site");
	if (origin != NULL && !origin_matches(origin, scheme, host))
		return request_fail(PROBLEM_FORBIDDEN, detail, size, "cross-site requests "
		    "are refused: Origin is not this site's");
	return PROBLEM_NONE;
}

enum problem_code
request_idempotency_key(const char *key, char *detail, size_t size)
{
	size_t len;

	if (key == NULL)
		return PROBLEM_NONE;
	len = strlen(key);
	if (len == 0 || len > LI_KEY_MAX)
		return request_fail(PROBLEM_BAD_REQUEST, detail, size,
		    "Idempotency-Key must be 1 to %d visible ASCII characters",
		    LI_KEY_MAX);
	for (size_t i = 0; i < len; i++)
		if (key[i] < 0x21 || key[i] > 0x7e)
			return request_fail(PROBLEM_BAD_REQUEST, detail, size,
			    "Idempotency-Key must be 1 to %d visible ASCII "
			    "characters", LI_KEY_MAX);
	return PROBLEM_NONE;
}

/*
 * Parses body as one JSON object. Returns PROBLEM_NONE and *obj (the
 * caller's to json_object_put), or a 400.
 */
enum problem_code
request_parse_object(const char *body, size_t len, struct json_object **obj,
    char *detail, size_t size)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error err;
	size_t end;

	*obj = NULL;
	if (!text_utf8_valid(body, len))
		return request_fail(PROBLEM_BAD_REQUEST, detail, size,
		    "the body is not valid UTF-8");
	if (!text_json_tokens_valid(body, len))
		return request_fail(PROBLEM_BAD_REQUEST, detail, size,
		    "the body is not valid JSON: a string in single quotes or "
		    "with a raw control character, NaN, Infinity or a number "
		    "such as 1. or 01");
	if (len > INT_MAX || (tok = json_tokener_new_ex(JSON_DEPTH_MAX)) == NULL)
		return request_fail(PROBLEM_BAD_REQUEST, detail, size,
		    "the body cannot be parsed");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, body, (int)len);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (o == NULL || err != json_tokener_success) {
		json_object_put(o);
		return request_fail(PROBLEM_BAD_REQUEST, detail, size,
		    "the body is not valid JSON: %s",
		    err == json_tokener_continue ? "it ends too early" :
		    json_tokener_error_desc(err));
	}
	/* Only white space may follow the value. */
	for (; end < len; end++)
		if (!strchr(" \t\r\n", body[end])) {
			json_object_put(o);
			return request_fail(PROBLEM_BAD_REQUEST, detail, size,
			    "the body has data after its JSON value");
		}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return request_fail(PROBLEM_BAD_REQUEST, detail, size,
		    "the body must be a JSON object");
	}
	*obj = o;
	return PROBLEM_NONE;
}

/*
 * Reads an integer field into *out when present. Returns PROBLEM_NONE
 * (with *present set) or a 400 naming the field and its range.
 */
enum problem_code
request_int_field(struct json_object *obj, const char *name, long long min,
    long long max, int *out, int *present, char *detail, size_t size)
{
	struct json_object *v;
	int64_t n;

	*present = 0;
	if (!json_object_object_get_ex(obj, name, &v))
		return PROBLEM_NONE;
	if (!json_object_is_type(v, json_type_int))
		return request_fail(PROBLEM_BAD_REQUEST, detail, size,
		    "%s must be an integer from %lld to %lld", name, min, max);
	n = json_object_get_int64(v);
	if (n < min || n > max)
		return request_fail(PROBLEM_BAD_REQUEST, detail, size,
		    "%s must be an integer from %lld to %lld", name, min, max);
	*out = (int)n;
	*present = 1;
	return PROBLEM_NONE;
}

/* Checks a buyer name: 1 … 64 characters, none of them a control character. */
enum problem_code
request_buyer_valid(const char *s, size_t len, char *detail, size_t size)
{
	size_t i = 0, chars = 0;
	long cp;

	while (i < len) {
		if ((cp = text_utf8_next((const unsigned char *)s, len, &i)) < 0)
			return request_fail(PROBLEM_BAD_REQUEST, detail, size,
			    "buyer is not valid UTF-8");
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return request_fail(PROBLEM_BAD_REQUEST, detail, size,
			    "buyer must not contain control characters");
		chars++;
	}
	if (chars < 1 || chars > LI_BUYER_MAX_CHARS)
		return request_fail(PROBLEM_BAD_REQUEST, detail, size,
		    "buyer must be 1 to %d characters", LI_BUYER_MAX_CHARS);
	return PROBLEM_NONE;
}

enum problem_code
request_purchase_body(const char *body, size_t len, struct purchase_body *out,
    char *detail, size_t size)
{
	struct json_object *obj, *v;
	enum problem_code rc;
	const char *s;
	size_t slen;
	int present;

	out->quantity = 1;
	strcpy(out->buyer, "anonymous");
	out->buyer_given = 0;
	out->strategy = -1;
	if (len == 0)
		return PROBLEM_NONE;
	if ((rc = request_parse_object(body, len, &obj, detail, size)) != PROBLEM_NONE)
		return rc;

	rc = request_int_field(obj, "quantity", 1, LI_QUANTITY_MAX, &out->quantity,
	    &present, detail, size);
	if (rc != PROBLEM_NONE)
		goto out;

	if (json_object_object_get_ex(obj, "buyer", &v)) {
		if (!json_object_is_type(v, json_type_string)) {
			rc = request_fail(PROBLEM_BAD_REQUEST, detail, size,
			    "buyer must be a string");
			goto out;
		}
		s = json_object_get_string(v);
		slen = (size_t)json_object_get_string_len(v);
		if ((rc = request_buyer_valid(s, slen, detail, size)) != PROBLEM_NONE)
			goto out;
		memcpy(out->buyer, s, slen);
		out->buyer[slen] = '\0';
		out->buyer_given = 1;
	}

	if (json_object_object_get_ex(obj, "strategy", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (out->strategy = strategy_from_name(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v))) < 0) {
			rc = request_fail(PROBLEM_BAD_REQUEST, detail, size,
			    "strategy must be one of pessimistic, atomic, "
			    "optimistic, naive");
			goto out;
		}
	}
out:
	json_object_put(obj);
	return rc;
}

enum problem_code
request_reset_body(const char *body, size_t len, struct reset_body *out,
    char *detail, size_t size)
{
	struct json_object *obj;
	enum problem_code rc;

	out->has_quantity = 0;
	out->quantity = 0;
	if (len == 0)
		return PROBLEM_NONE;
	if ((rc = request_parse_object(body, len, &obj, detail, size)) != PROBLEM_NONE)
		return rc;
	rc = request_int_field(obj, "quantity", 0, LI_RESET_MAX, &out->quantity,
	    &out->has_quantity, detail, size);
	json_object_put(obj);
	return rc;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes s[0 … len) into out (size bytes, NUL-terminated), '+' as a
 * space. Returns the decoded length, or -1 on a bad escape or overflow.
 */
static long
form_decode(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int hi, lo;
			if (len - i < 3)    /* "%" needs two hex digits */
				return -1;
			if ((hi = hex_value(s[i + 1])) < 0 ||
			    (lo = hex_value(s[i + 2])) < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (o + 1 >= size)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return (long)o;
}

/* Parses a whole decimal number from min to max; -1 when it is not one. */
static long long
parse_decimal(const char *s, size_t len, long long min, long long max)
{
	long long n = 0;

	if (len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	return (n < min || n > max) ? -1 : n;
}

enum problem_code
request_orders_query(const char *query, struct orders_query *out,
    char *detail, size_t size)
{
	const char *p = query, *amp, *eq;
	int seen_item = 0, seen_limit = 0, seen_before = 0;
	char key[16], value[LI_ITEM_ID_MAX + 2];
	long klen, vlen;

	out->item_id[0] = '\0';
	out->limit = LI_ORDERS_LIMIT_DEF;
	out->before = 0;
	if (p == NULL)
		return PROBLEM_NONE;
	while (*p != '\0') {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL)
			eq = amp;
		klen = form_decode(p, (size_t)(eq - p), key, sizeof(key));
		vlen = eq < amp ? form_decode(eq + 1, (size_t)(amp - eq - 1),
		    value, sizeof(value)) : 0;
		if (eq == amp)
			value[0] = '\0';
		if (klen >= 0 && strcmp(key, "item_id") == 0) {
			if (seen_item++ || vlen < 0 ||
			    !text_item_id_valid(value, (size_t)vlen))
				return request_fail(PROBLEM_BAD_REQUEST, detail, size,
				    "item_id must appear once and be an item id "
				    "([a-z0-9][a-z0-9-]{0,63})");
			memcpy(out->item_id, value, (size_t)vlen + 1);
		} else if (klen >= 0 && strcmp(key, "limit") == 0) {
			long long n = vlen < 0 ? -1 : parse_decimal(value,
			    (size_t)vlen, 1, LI_ORDERS_LIMIT_MAX);
			if (seen_limit++ || n < 0)
				return request_fail(PROBLEM_BAD_REQUEST, detail, size,
				    "limit must appear once and be a whole "
				    "number from 1 to %d", LI_ORDERS_LIMIT_MAX);
			out->limit = (int)n;
		} else if (klen >= 0 && strcmp(key, "before") == 0) {
			long long n = vlen < 0 ? -1 : parse_decimal(value,
			    (size_t)vlen, 1, LLONG_MAX);
			if (seen_before++ || n < 0)
				return request_fail(PROBLEM_BAD_REQUEST, detail, size,
				    "before must appear once and be an order id");
			out->before = n;
		}
		/* Other parameters are ignored, as unknown JSON fields are. */
		p = *amp == '&' ? amp + 1 : amp;
	}
	return PROBLEM_NONE;
}

enum problem_code
request_bearer_token(const char *header, const char **token, size_t *len)
{
	const char *p;

	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return PROBLEM_UNAUTHORIZED;
	p = header + 7;
	while (*p == ' ')
		p++;
	*token = p;
	*len = strlen(p);
	while (*len > 0 && (p[*len - 1] == ' ' || p[*len - 1] == '\t'))
		(*len)--;
	return *len > 0 ? PROBLEM_NONE : PROBLEM_UNAUTHORIZED;
}

int
request_token_equal(const char *given, size_t given_len, const char *expected,
    size_t expected_len)
{
	unsigned char diff = given_len != expected_len;

	if (expected_len == 0)
		return 0;
	for (size_t i = 0; i < given_len; i++)
		diff |= (unsigned char)given[i] ^
		    (unsigned char)expected[i % expected_len];
	return diff == 0;
}

const char *
request_path(const char *document_uri, const char *request_uri, char *buf,
    size_t size)
{
	size_t len;

	if (document_uri != NULL && *document_uri != '\0')
		return document_uri;
	if (request_uri == NULL || size == 0)
		return "";
	len = strcspn(request_uri, "?");
	if (len >= size)
		len = size - 1;
	memcpy(buf, request_uri, len);
	buf[len] = '\0';
	return buf;
}

int
request_length_too_large(const char *content_length)
{
	return content_length != NULL && *content_length != '\0' &&
	    strtoll(content_length, NULL, 10) > LI_BODY_MAX;
}

void
request_params_scan(char *const *envp, struct request_params *out)
{
#define PARAM(name, field) { name, sizeof(name) - 1, \
	offsetof(struct request_params, field) }
	static const struct {
		const char *name;
		size_t len;
		size_t offset;
	} wanted[] = {
		PARAM("REQUEST_METHOD", method),
		PARAM("DOCUMENT_URI", document_uri),
		PARAM("REQUEST_URI", request_uri),
		PARAM("QUERY_STRING", query),
		PARAM("CONTENT_TYPE", content_type),
		PARAM("CONTENT_LENGTH", content_length),
		PARAM("HTTP_IDEMPOTENCY_KEY", idempotency_key),
		PARAM("HTTP_AUTHORIZATION", authorization),
		PARAM("HTTP_ORIGIN", origin),
		PARAM("HTTP_SEC_FETCH_SITE", sec_fetch_site),
		PARAM("HTTP_HOST", host),
		PARAM("REQUEST_SCHEME", scheme),
	};
#undef PARAM
	const char *eq, **slot;

	memset(out, 0, sizeof(*out));
	for (; envp != NULL && *envp != NULL; envp++) {
		/* One vectorized strchr per entry, then a length test rules out
		 * nearly every name without reading it. */
		if ((eq = strchr(*envp, '=')) == NULL)
			continue;
		for (size_t i = 0; i < LI_ARRAY_LEN(wanted); i++) {
			if (wanted[i].len != (size_t)(eq - *envp) ||
			    memcmp(*envp, wanted[i].name, wanted[i].len) != 0)
				continue;
			slot = (const char **)(void *)((char *)out + wanted[i].offset);
			if (*slot == NULL)
				*slot = eq + 1;
			break;
		}
	}
}
