/*
 * notify.c — parsing notification payloads.
 *
 * The payloads come from our own triggers, but the channel can be written by
 * anyone who may connect, so they are parsed as outside input: strictly,
 * with every field checked, never trusted to fit a buffer.
 */
#include <config.h>

#include <limits.h>
#include <stdio.h>
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
	/* held and max_per_buyer came with limited drops: a payload of an
	 * older schema has neither, and means 0 held and no limit. */
	ev->held = 0;
	ev->max_per_buyer = -1;
	if (json_object_object_get_ex(o, "held", NULL) &&
	    get_int(o, "held", 0, &ev->held) != LI_OK)
		return LI_ERROR;
	if (json_object_object_get_ex(o, "max_per_buyer", &v) &&
	    !json_object_is_type(v, json_type_null) &&
	    get_int(o, "max_per_buyer", 1, &ev->max_per_buyer) != LI_OK)
		return LI_ERROR;
	return LI_OK;
}

/* {"hold":{"id","item_id","quantity","status"}}: every field checked, and
 * rendered again here, so nothing but these four reaches a browser. */
static int
parse_hold(struct json_object *o, struct notify_event *ev)
{
	static const char *const statuses[] = {
		"active", "confirmed", "released", "expired"
	};
	struct json_object *hold, *v;
	const char *item, *status = NULL;
	long long id, quantity;
	size_t len;
	int n;

	if (!json_object_object_get_ex(o, "hold", &hold) ||
	    !json_object_is_type(hold, json_type_object) ||
	    get_int(hold, "id", 1, &id) != LI_OK ||
	    get_int(hold, "quantity", 1, &quantity) != LI_OK ||
	    !json_object_object_get_ex(hold, "item_id", &v) ||
	    !json_object_is_type(v, json_type_string))
		return LI_ERROR;
	item = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (!text_item_id_valid(item, len) ||
	    !json_object_object_get_ex(hold, "status", &v) ||
	    !json_object_is_type(v, json_type_string))
		return LI_ERROR;
	for (size_t i = 0; i < LI_ARRAY_LEN(statuses); i++)
		if (strcmp(json_object_get_string(v), statuses[i]) == 0 &&
		    (size_t)json_object_get_string_len(v) == strlen(statuses[i]))
			status = statuses[i];
	if (status == NULL)
		return LI_ERROR;
	n = snprintf(ev->hold, sizeof(ev->hold), "{\"id\":%lld,\"item_id\":\"%s\","
	    "\"quantity\":%lld,\"status\":\"%s\"}", id, item, quantity, status);
	return n > 0 && (size_t)n < sizeof(ev->hold) ? LI_OK : LI_ERROR;
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
	} else if (strcmp(k, "hold") == 0) {
		ev->kind = NOTIFY_HOLD;
		rc = parse_hold(o, ev);
	} else if (strcmp(k, "reset") == 0) {
		ev->kind = NOTIFY_RESET;
		rc = LI_OK;
	}
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}
