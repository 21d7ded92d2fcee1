/*
 * fuzz_events_notify — the payloads of the event channel's notifications,
 * parsed by the event daemon before anything of them reaches a browser.
 * Only the schema's triggers know the channel's name today, but the parser
 * still treats what arrives as outside input: a secret can leak, and the
 * payloads are the database's, not the daemon's.
 *
 * Input: the payload. The daemon takes it with strlen() (libpq hands over a
 * C string); here it is also given with its exact length and no NUL after
 * it, so an embedded NUL or a read past the end is tried as well.
 */
#include <config.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "events/notify.h"

/* What an accepted event must hold, whatever the payload was. */
static void
check_event(const struct notify_event *ev)
{
	struct json_object *o, *id;

	switch (ev->kind) {
	case NOTIFY_ITEM:
		FUZZ_CHECK(memchr(ev->id, '\0', sizeof(ev->id)) != NULL);
		FUZZ_CHECK(fuzz_item_id_ok(ev->id, strlen(ev->id)));
		FUZZ_CHECK(ev->quantity >= 0 && ev->initial_quantity >= 0);
		FUZZ_CHECK(ev->version >= 1);
		FUZZ_CHECK(ev->held >= 0);
		FUZZ_CHECK(ev->max_per_buyer == -1 || ev->max_per_buyer >= 1);
		break;
	case NOTIFY_HOLD:
		/* Rendered by the parser from checked fields: one object
		 * with exactly those four, nothing that could end a line. */
		FUZZ_CHECK(memchr(ev->hold, '\0', sizeof(ev->hold)) != NULL);
		FUZZ_CHECK(strpbrk(ev->hold, "\r\n") == NULL);
		o = json_tokener_parse(ev->hold);
		FUZZ_CHECK(o != NULL && json_object_is_type(o, json_type_object));
		FUZZ_CHECK(json_object_object_length(o) == 4);
		FUZZ_CHECK(json_object_object_get_ex(o, "id", &id) &&
		    json_object_is_type(id, json_type_int));
		json_object_put(o);
		break;
	case NOTIFY_ORDER:
		/* The order is forwarded to browsers as it is: one JSON object
		 * with an integer id, and nothing that could end an SSE line. */
		FUZZ_CHECK(memchr(ev->order, '\0', sizeof(ev->order)) != NULL);
		FUZZ_CHECK(strpbrk(ev->order, "\r\n") == NULL);
		o = json_tokener_parse(ev->order);
		FUZZ_CHECK(o != NULL && json_object_is_type(o, json_type_object));
		FUZZ_CHECK(json_object_object_get_ex(o, "id", &id) &&
		    json_object_is_type(id, json_type_int));
		json_object_put(o);
		break;
	case NOTIFY_RESET:
		break;
	default:
		FUZZ_CHECK(!"a kind outside enum notify_kind");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct notify_event ev;
	char *exact, *str;

	if ((exact = malloc(size > 0 ? size : 1)) == NULL ||
	    (str = malloc(size + 1)) == NULL)
		abort();
	memcpy(exact, data, size);
	memcpy(str, data, size);
	str[size] = '\0';

	if (notify_parse(exact, size, &ev) == LI_OK) {
		check_event(&ev);
		FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)exact, size));
		FUZZ_CHECK(fuzz_json_ok(exact, size));
	}
	if (notify_parse(str, strlen(str), &ev) == LI_OK)
		check_event(&ev);
	free(exact);
	free(str);
	return 0;
}
