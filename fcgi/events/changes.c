/*
 * changes.c — what the database says becomes the daemon's state and events.
 *
 * listen.c only drives the connection and hands on what arrives: each
 * notification's payload, and the rows of the snapshot it reads after every
 * (re)connection. Here they meet the item state (item_state.c), which keeps
 * the newest version of every item, and become events (stream.c).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "common/log.h"
#include "notify.h"

void
changes_on_notification(struct events *ev, const char *payload)
{
	struct notify_event ne;
	struct item it;
	char data[ITEM_STATE_JSON_MAX + 1];
	long long before;
	int n;

	ev->metrics.notifications++;
	if (notify_parse(payload, strlen(payload), &ne) != LI_OK) {
		ev->metrics.notifications_bad++;
		log_warn("ignoring a malformed notification on the event channel");
		return;
	}
	switch (ne.kind) {
	case NOTIFY_ITEM:
		memcpy(it.id, ne.id, sizeof(it.id));
		it.quantity = ne.quantity;
		it.held = ne.held;
		it.initial_quantity = ne.initial_quantity;
		it.max_per_buyer = ne.max_per_buyer;
		it.version = ne.version;
		if ((n = item_state_apply(&ev->items, &it, &before)) <= 0) {
			if (n == 0)
				ev->metrics.notifications_stale++;
			return;     /* older than what clients already have */
		}
		free(ev->snapshot);
		ev->snapshot = NULL;
		if ((n = item_state_item_json(&it, data, sizeof(data))) < 0)
			return;     /* cannot happen: data holds the longest */
		stream_publish(ev, "item", data, (size_t)n);
		/* Sold out, or stock back: the news pages wait for, and what
		 * the pools following the stream answer buyers from (a pool
		 * that still thinks it sold out turns buyers away). */
		if (it.quantity == 0 || it.quantity > before)
			stream_urgent(ev);
		return;
	case NOTIFY_HOLD:
		stream_publish(ev, "hold", ne.hold, strlen(ne.hold));
		return;
	case NOTIFY_ORDER:
		stream_publish(ev, "order", ne.order, strlen(ne.order));
		return;
	case NOTIFY_RESET:
		stream_publish(ev, "reset", "{}", 2);
		stream_urgent(ev);
		return;
	}
}

int
changes_load_snapshot(struct events *ev, const PGresult *res)
{
	struct item it;

	if (PQnfields(res) != 6)
		return LI_ERROR;
	item_state_clear(&ev->items);
	for (int r = 0; r < PQntuples(res); r++) {
		size_t len = (size_t)PQgetlength(res, r, 0);
		if (len >= sizeof(it.id))
			return LI_ERROR;
		memcpy(it.id, PQgetvalue(res, r, 0), len + 1);
		it.quantity = atoll(PQgetvalue(res, r, 1));
		it.held = atoll(PQgetvalue(res, r, 2));
		it.initial_quantity = atoll(PQgetvalue(res, r, 3));
		it.max_per_buyer = PQgetisnull(res, r, 4) ? -1 :
		    atoll(PQgetvalue(res, r, 4));
		it.version = atoll(PQgetvalue(res, r, 5));
		if (item_state_apply(&ev->items, &it, NULL) < 0)
			return LI_ERROR;
	}
	ev->items.loaded = 1;
	return LI_OK;
}
