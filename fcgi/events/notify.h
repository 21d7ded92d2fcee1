/*
 * notify.h — the payloads that sql/triggers.sql sends with pg_notify, parsed.
 * Pure: bytes in, struct out.
 */
#ifndef LI_NOTIFY_H
#define LI_NOTIFY_H

#include <stddef.h>

#include "common/li.h"

enum notify_kind {
	NOTIFY_ITEM,     /* a committed change of an item's stock */
	NOTIFY_ORDER,    /* a committed order */
	NOTIFY_RESET     /* a committed reset */
};

#define NOTIFY_ORDER_MAX 1024

struct notify_event {
	enum notify_kind kind;
	char id[LI_ITEM_ID_MAX + 1];         /* NOTIFY_ITEM */
	long long quantity;
	long long initial_quantity;
	long long version;
	char order[NOTIFY_ORDER_MAX];        /* NOTIFY_ORDER: the order as JSON */
};

/*
 * Parses one payload. Returns LI_OK, or LI_ERROR for anything that is not
 * exactly one of the three shapes (the caller logs it and resynchronizes).
 */
int notify_parse(const char *payload, size_t len, struct notify_event *ev);

#endif
