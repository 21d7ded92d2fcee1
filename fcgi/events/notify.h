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
	NOTIFY_RESET,    /* a committed reset */
	NOTIFY_HOLD      /* a hold made or ended */
};

#define NOTIFY_ORDER_MAX 1024
/* {"id":<19 digits>,"item_id":"<64>","quantity":<19>,"status":"confirmed"} */
#define NOTIFY_HOLD_MAX  (LI_ITEM_ID_MAX + 128)

struct notify_event {
	enum notify_kind kind;
	char id[LI_ITEM_ID_MAX + 1];         /* NOTIFY_ITEM */
	long long quantity;
	long long held;                      /* 0 when the payload has none */
	long long initial_quantity;
	long long max_per_buyer;             /* -1: null, or none in the payload */
	long long version;
	char order[NOTIFY_ORDER_MAX];        /* NOTIFY_ORDER: the order as JSON */
	char hold[NOTIFY_HOLD_MAX];          /* NOTIFY_HOLD: the hold, rendered
	                                        again from its checked fields */
};

/*
 * Parses one payload. Returns LI_OK, or LI_ERROR for anything that is not
 * exactly one of the four shapes (the caller logs it and resynchronizes).
 */
int notify_parse(const char *payload, size_t len, struct notify_event *ev);

#endif
