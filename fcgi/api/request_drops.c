/*
 * request_drops.c — parsers of the bodies of holds and of items managed
 * through the API.
 *
 * Same rule as request.c: anything doc/api.md does not allow is a 400 that
 * names the field, decided before the database sees a byte. A hold's body
 * is a purchase's plus ttl_seconds, so it is parsed by the purchase parser
 * first and held to exactly its rules. Item texts end up in every visitor's
 * page: no control characters, bounded lengths, and an image_url that can
 * only be a path of this site or an http(s) address (never javascript:).
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "common/text_check.h"
#include "request_drops.h"
#include "request_json.h"

enum problem_code
request_hold_body(const char *body, size_t len, struct hold_body *out,
    char *detail, size_t size)
{
	struct json_object *obj;
	enum problem_code rc;
	int present;

	out->ttl_seconds = LI_TTL_DEF;
	rc = request_purchase_body(body, len, &out->p, detail, size);
	if (rc != PROBLEM_NONE || len == 0)
		return rc;
	if ((rc = request_parse_object(body, len, &obj, detail, size)) != PROBLEM_NONE)
		return rc;
	rc = request_int_field(obj, "ttl_seconds", LI_TTL_MIN, LI_TTL_MAX,
	    &out->ttl_seconds, &present, detail, size);
	json_object_put(obj);
	return rc;
}

enum problem_code
request_buyer_body(const char *body, size_t len, struct purchase_body *out,
    char *detail, size_t size)
{
	return request_purchase_body(body, len, out, detail, size);
}

/*
 * Reads the string field name when present: 0 … max_chars characters (at
 * least min_chars), no control character, into out (out_size bytes).
 */
static enum problem_code
text_field(struct json_object *obj, const char *name, size_t min_chars,
    size_t max_chars, char *out, size_t out_size, int *present, char *detail,
    size_t size)
{
	struct json_object *v;
	const char *s;
	size_t len, i = 0, chars = 0;
	long cp;

	*present = 0;
	if (!json_object_object_get_ex(obj, name, &v))
		return PROBLEM_NONE;
	if (!json_object_is_type(v, json_type_string))
		return request_fail(PROBLEM_BAD_REQUEST, detail, size,
		    "%s must be a string", name);
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	while (i < len) {
		cp = text_utf8_next((const unsigned char *)s, len, &i);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return request_fail(PROBLEM_BAD_REQUEST, detail, size,
			    "%s must not contain control characters", name);
		chars++;
	}
	if (chars < min_chars || chars > max_chars || len >= out_size)
		return request_fail(PROBLEM_BAD_REQUEST, detail, size,
		    "%s must be %zu to %zu characters", name, min_chars, max_chars);
	memcpy(out, s, len);
	out[len] = '\0';
	*present = 1;
	return PROBLEM_NONE;
}

/* An image_url: empty, a path of this site ("/img/x.svg", not "//host"),
 * or an http(s) address; visible ASCII without quotes, angle brackets or
 * backslashes. */
static int
image_url_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0)
		return 1;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || strchr("\"'<>\\`", s[i]))
			return 0;
	if (s[0] == '/')
		return len == 1 || s[1] != '/';
	return (strncmp(s, "https://", 8) == 0 && len > 8) ||
	    (strncmp(s, "http://", 7) == 0 && len > 7);
}

/* The fields create and patch share: name, description, image_url,
 * max_per_buyer. name_min: 1 when given it must not be empty. */
static enum problem_code
item_fields(struct json_object *obj, struct item_body *out, char *detail,
    size_t size)
{
	struct json_object *v;
	enum problem_code rc;

	rc = text_field(obj, "name", 1, LI_NAME_MAX_CHARS, out->name,
	    sizeof(out->name), &out->has_name, detail, size);
	if (rc == PROBLEM_NONE)
		rc = text_field(obj, "description", 0, LI_DESCRIPTION_MAX_CHARS,
		    out->description, sizeof(out->description),
		    &out->has_description, detail, size);
	if (rc == PROBLEM_NONE)
		rc = text_field(obj, "image_url", 0, LI_IMAGE_URL_MAX,
		    out->image_url, sizeof(out->image_url), &out->has_image_url,
		    detail, size);
	if (rc != PROBLEM_NONE)
		return rc;
	if (out->has_image_url && !image_url_valid(out->image_url))
		return request_fail(PROBLEM_BAD_REQUEST, detail, size, "image_url must be "
		    "empty, a path starting with one /, or an http(s) address, "
		    "of visible ASCII without quotes, < > or \\");
	if (json_object_object_get_ex(obj, "max_per_buyer", &v) &&
	    json_object_is_type(v, json_type_null)) {
		out->has_max_per_buyer = 1;
		out->max_per_buyer = 0;
		return PROBLEM_NONE;
	}
	rc = request_int_field(obj, "max_per_buyer", 1, LI_PER_BUYER_MAX,
	    &out->max_per_buyer, &out->has_max_per_buyer, detail, size);
	if (rc != PROBLEM_NONE)
		return request_fail(rc, detail, size, "max_per_buyer must be null or an "
		    "integer from 1 to %d", LI_PER_BUYER_MAX);
	return PROBLEM_NONE;
}

enum problem_code
request_item_create_body(const char *body, size_t len, struct item_body *out,
    char *detail, size_t size)
{
	struct json_object *obj, *v;
	enum problem_code rc;
	int present;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return request_fail(PROBLEM_BAD_REQUEST, detail, size,
		    "a new item needs a body with at least id and name");
	if ((rc = request_parse_object(body, len, &obj, detail, size)) != PROBLEM_NONE)
		return rc;
	if (!json_object_object_get_ex(obj, "id", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !text_item_id_valid(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v))) {
		rc = request_fail(PROBLEM_BAD_REQUEST, detail, size, "id must be an item "
		    "id ([a-z0-9][a-z0-9-]{0,63})");
		goto out;
	}
	memcpy(out->id, json_object_get_string(v),
	    (size_t)json_object_get_string_len(v) + 1);
	out->has_id = 1;
	if ((rc = item_fields(obj, out, detail, size)) != PROBLEM_NONE)
		goto out;
	if (!out->has_name) {
		rc = request_fail(PROBLEM_BAD_REQUEST, detail, size,
		    "name must be 1 to %d characters", LI_NAME_MAX_CHARS);
		goto out;
	}
	rc = request_int_field(obj, "quantity", 0, LI_ITEM_QUANTITY_MAX,
	    &out->quantity, &present, detail, size);
out:
	json_object_put(obj);
	return rc;
}

enum problem_code
request_item_patch_body(const char *body, size_t len, struct item_body *out,
    char *detail, size_t size)
{
	struct json_object *obj;
	enum problem_code rc;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return request_fail(PROBLEM_BAD_REQUEST, detail, size, "a change needs a "
		    "body naming what to change");
	if ((rc = request_parse_object(body, len, &obj, detail, size)) != PROBLEM_NONE)
		return rc;
	if (json_object_object_get_ex(obj, "quantity", NULL)) {
		rc = request_fail(PROBLEM_BAD_REQUEST, detail, size, "quantity cannot be "
		    "set; restock adds units");
		goto out;
	}
	if ((rc = item_fields(obj, out, detail, size)) != PROBLEM_NONE)
		goto out;
	rc = request_int_field(obj, "restock", 1, LI_RESTOCK_MAX, &out->restock,
	    &out->has_restock, detail, size);
	if (rc == PROBLEM_NONE && !out->has_name && !out->has_description &&
	    !out->has_image_url && !out->has_max_per_buyer && !out->has_restock)
		rc = request_fail(PROBLEM_BAD_REQUEST, detail, size, "a change needs one "
		    "of name, description, image_url, max_per_buyer, restock");
out:
	json_object_put(obj);
	return rc;
}

enum problem_code
request_buyer_identity(const char *header_name, const char *header_value,
    struct purchase_body *b, char *detail, size_t size)
{
	size_t len;

	if (header_name == NULL)
		return PROBLEM_NONE;
	if (header_value == NULL || !text_utf8_valid(header_value,
	    (len = strlen(header_value))) ||
	    request_buyer_valid(header_value, len, NULL, 0) != PROBLEM_NONE)
		return request_fail(PROBLEM_FORBIDDEN, detail, size, "this shop names the "
		    "buyer in %s, set by its sign-in; this request has no valid "
		    "one", header_name);
	if (b->buyer_given && strcmp(b->buyer, header_value) != 0)
		return request_fail(PROBLEM_FORBIDDEN, detail, size, "the body names "
		    "another buyer than the one signed in");
	memcpy(b->buyer, header_value, len + 1);
	return PROBLEM_NONE;
}
