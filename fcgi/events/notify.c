/*
 * notify.c — parsing notification payloads.
 *
 * The payloads come from our own triggers, but the channel can be written by
 * anyone who may connect, so they are parsed as outside input: strictly,
 * with every field checked, never trusted to fit a buffer.
 */
#include <config.h>

#include <limits.h>
#include <string.h>

#include <json-c/json.h>

#include "notify.h"
#include "common/text_check.h"

static int
get_int(struct json_object *o, const char *key, long long min, long long *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return LI_ERROR;
	*out = json_object_get_int64(v);
	return *out >= min && *out < LLONG_MAX ? LI_OK : LI_ERROR;
}

static int
parse_item(struct json_object *o, struct notify_event *ev)
{
	struct json_object *v;
	const char *id;
	size_t len;

	if (!json_object_object_get_ex(o, "id", &v) ||
	    !json_object_is_type(v, json_type_string))
		return LI_ERROR;
	id = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (!text_item_id_valid(id, len))
		return LI_ERROR;
	memcpy(ev->id, id, len + 1);
	if (get_int(o, "quantity", 0, &ev->quantity) != LI_OK ||
	    get_int(o, "initial_quantity", 0, &ev->initial_quantity) != LI_OK ||
	    get_int(o, "version", 1, &ev->version) != LI_OK)
		return LI_ERROR;
	return LI_OK;
}

static int
parse_order(struct json_object *o, struct notify_event *ev)
{
	struct json_object *order, *v;
	const char *text;
	size_t len;

	if (!json_object_object_get_ex(o, "order", &order) ||
	    !json_object_is_type(order, json_type_object) ||
	    !json_object_object_get_ex(order, "id", &v) ||
	    !json_object_is_type(v, json_type_int))
		return LI_ERROR;
	text = json_object_to_json_string_ext(order,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL || (len = strlen(text)) >= sizeof(ev->order))
		return LI_ERROR;
	memcpy(ev->order, text, len + 1);
	return LI_OK;
}

int
notify_parse(const char *payload, size_t len, struct notify_event *ev)
{
	struct json_tokener *tok;
	struct json_object *o, *kind;
	const char *k;
	int rc = LI_ERROR;

	memset(ev, 0, sizeof(*ev));
	if (len > INT_MAX || !text_utf8_valid(payload, len) ||
	    !text_json_tokens_valid(payload, len) ||
	    (tok = json_tokener_new_ex(8)) == NULL)
		return LI_ERROR;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, payload, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)
		goto out;
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "kind", &kind) ||
	    !json_object_is_type(kind, json_type_string))
		goto out;
	k = json_object_get_string(kind);
	if (strcmp(k, "item") == 0) {
		ev->kind = NOTIFY_ITEM;
		rc = parse_item(o, ev);
	} else if (strcmp(k, "order") == 0) {
		ev->kind = NOTIFY_ORDER;
		rc = parse_order(o, ev);
	} else if (strcmp(k, "reset") == 0) {
		ev->kind = NOTIFY_RESET;
		rc = LI_OK;
	}
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}
