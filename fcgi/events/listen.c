/*
 * listen.c — the daemon's LISTEN connection, driven by the event loop.
 *
 * libpq runs in non-blocking mode and its socket is one more fd in epoll:
 * connecting (PQconnectPoll), sending, and reading results and
 * notifications all happen as the socket becomes ready, so a slow or dead
 * database never stalls the clients.
 *
 * The order on every (re)connection is LISTEN, then read the snapshot, then
 * stream. LISTEN first, because a change that commits between the two is
 * then both in the snapshot (or after it) and in a notification; the
 * notification's version is compared with the snapshot's and the older one
 * loses. Snapshot first would leave a window in which a commit is in
 * neither. Notifications that arrive while the snapshot loads wait in
 * libpq's queue until it is loaded.
 *
 * When the connection drops, the clients stay connected; the daemon
 * reconnects with a backoff of 100 ms doubling to 5 s, and the new snapshot
 * goes to everyone.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "events.h"
#include "common/log.h"
#include "notify.h"
#include "common/pq_notice.h"

#define CHANNEL "lastitem_events"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define REMIND_MS 30000

static const char listen_sql[] = "LISTEN " CHANNEL;
static const char snapshot_sql[] =
    "SELECT id, quantity, initial_quantity, version FROM lastitem.items ORDER BY id";

/* Registers, changes or removes the database socket in epoll. */
static void
db_watch(struct events *ev, uint32_t want)
{
	struct epoll_event e;
	int fd = ev->conn != NULL ? PQsocket(ev->conn) : -1;

	if (ev->db_fd >= 0 && ev->db_fd != fd) {
		(void)epoll_ctl(ev->epfd, EPOLL_CTL_DEL, ev->db_fd, NULL);
		ev->db_fd = -1;
	}
	if (fd < 0 || want == 0) {
		if (ev->db_fd >= 0)
			(void)epoll_ctl(ev->epfd, EPOLL_CTL_DEL, ev->db_fd, NULL);
		ev->db_fd = -1;
		return;
	}
	memset(&e, 0, sizeof(e));
	e.events = want;
	e.data.ptr = &ev->db_watch;
	if (epoll_ctl(ev->epfd, ev->db_fd == fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    fd, &e) == 0)
		ev->db_fd = fd;
}

void
events_db_close(struct events *ev)
{
	db_watch(ev, 0);
	if (ev->conn != NULL)
		PQfinish(ev->conn);
	ev->conn = NULL;
	ev->db_state = DB_DOWN;
}

/*
 * An outage is logged as one line when it starts, one at the first failed
 * attempt and a reminder at most every REMIND_MS while it lasts, however
 * often the backoff retries; its end is one line in on_result().
 */
/* The server's goodbye is kept for db_fail()'s line (pq_notice.h). */
static void
on_notice(void *arg, const PGresult *res)
{
	struct events *ev = arg;

	pq_notice_keep_goodbye(res, ev->db_goodbye, sizeof(ev->db_goodbye));
}

static void
db_fail(struct events *ev, const char *what)
{
	const char *msg = ev->db_goodbye[0] != '\0' ? ev->db_goodbye :
	    ev->conn != NULL ? PQerrorMessage(ev->conn) : "";
	long long now = monotonic_ms();

	if (ev->db_state == DB_READY) {
		log_warn("database connection lost (%s): %s; clients stay, "
		    "reconnecting", what, msg);
		ev->db_down_since_ms = now;
		ev->db_failures = 0;
	} else if (++ev->db_failures == 1 || now - ev->db_logged_ms >= REMIND_MS) {
		log_warn("cannot reach the database (%s; %lu attempts in %.1f s): %s",
		    what, ev->db_failures, (double)(now - ev->db_down_since_ms) / 1000,
		    msg);
		ev->db_logged_ms = now;
	}
	events_db_close(ev);
	ev->db_retry_ms = monotonic_ms() + ev->db_backoff_ms;
	ev->db_backoff_ms *= 2;
	if (ev->db_backoff_ms > BACKOFF_MAX_MS)
		ev->db_backoff_ms = BACKOFF_MAX_MS;
}

/* Sends a query; watches for writability while libpq has bytes to flush. */
static int
db_send(struct events *ev, const char *sql)
{
	int flush;

	if (!PQsendQuery(ev->conn, sql))
		return LI_ERROR;
	if ((flush = PQflush(ev->conn)) < 0)
		return LI_ERROR;
	db_watch(ev, EPOLLIN | (flush ? EPOLLOUT : 0));
	return LI_OK;
}

static void
on_notification(struct events *ev, const char *payload)
{
	struct notify_event ne;
	struct item it;
	char data[LI_ITEM_ID_MAX + 96];
	int n;

	ev->metrics.notifications++;
	if (notify_parse(payload, strlen(payload), &ne) != LI_OK) {
		ev->metrics.notifications_bad++;
		log_warn("ignoring a malformed notification on " CHANNEL);
		return;
	}
	switch (ne.kind) {
	case NOTIFY_ITEM:
		memcpy(it.id, ne.id, sizeof(it.id));
		it.quantity = ne.quantity;
		it.initial_quantity = ne.initial_quantity;
		it.version = ne.version;
		if ((n = item_state_apply(&ev->items, &it)) <= 0) {
			if (n == 0)
				ev->metrics.notifications_stale++;
			return;     /* older than what clients already have */
		}
		free(ev->snapshot);
		ev->snapshot = NULL;
		n = snprintf(data, sizeof(data),
		    "{\"id\":\"%s\",\"quantity\":%lld,\"version\":%lld}",
		    it.id, it.quantity, it.version);
		stream_publish(ev, "item", data, (size_t)n);
		return;
	case NOTIFY_ORDER:
		stream_publish(ev, "order", ne.order, strlen(ne.order));
		return;
	case NOTIFY_RESET:
		stream_publish(ev, "reset", "{}", 2);
		return;
	}
}

/* Reads the snapshot rows into a fresh state. */
static int
load_snapshot(struct events *ev, PGresult *res)
{
	struct item it;

	if (PQnfields(res) != 4)
		return LI_ERROR;
	item_state_clear(&ev->items);
	for (int r = 0; r < PQntuples(res); r++) {
		size_t len = (size_t)PQgetlength(res, r, 0);
		if (len >= sizeof(it.id))
			return LI_ERROR;
		memcpy(it.id, PQgetvalue(res, r, 0), len + 1);
		it.quantity = atoll(PQgetvalue(res, r, 1));
		it.initial_quantity = atoll(PQgetvalue(res, r, 2));
		it.version = atoll(PQgetvalue(res, r, 3));
		if (item_state_apply(&ev->items, &it) < 0)
			return LI_ERROR;
	}
	ev->items.loaded = 1;
	return LI_OK;
}

/*
 * Reads the answers to LISTEN and to the snapshot query. A query's results
 * end with a NULL from PQgetResult; that is when the next step begins.
 */
static void
on_results(struct events *ev)
{
	PGresult *res;
	int ok;

	while (!PQisBusy(ev->conn)) {
		if ((res = PQgetResult(ev->conn)) != NULL) {
			if (ev->db_state == DB_LISTENING)
				ok = PQresultStatus(res) == PGRES_COMMAND_OK;
			else
				ok = PQresultStatus(res) == PGRES_TUPLES_OK &&
				    load_snapshot(ev, res) == LI_OK;
			PQclear(res);
			if (!ok) {
				db_fail(ev, ev->db_state == DB_LISTENING ?
				    "LISTEN" : "snapshot");
				return;
			}
			continue;
		}
		if (ev->db_state == DB_LISTENING) {
			if (db_send(ev, snapshot_sql) != LI_OK) {
				db_fail(ev, "snapshot");
				return;
			}
			ev->db_state = DB_LOADING;
			continue;
		}
		ev->db_state = DB_READY;
		ev->db_backoff_ms = BACKOFF_MIN_MS;
		if (ev->db_ever_ready) {
			ev->metrics.db_reconnects++;
			log_info("database connection regained after %.1f s down "
			    "(%lu failed attempts); %zu items reloaded and sent to %zu "
			    "clients", (double)(monotonic_ms() - ev->db_down_since_ms) /
			    1000, ev->db_failures, ev->items.count, ev->nstreaming);
		} else
			log_info("listening on " CHANNEL "; %zu items loaded",
			    ev->items.count);
		ev->db_ever_ready = 1;
		stream_snapshot_loaded(ev);
		return;
	}
}

static void
drain_notifications(struct events *ev)
{
	PGnotify *n;

	while ((n = PQnotifies(ev->conn)) != NULL) {
		on_notification(ev, n->extra);
		PQfreemem(n);
	}
	stream_flush(ev);
}

/* Drives PQconnectPoll one step. */
static void
connect_step(struct events *ev)
{
	switch (PQconnectPoll(ev->conn)) {
	case PGRES_POLLING_READING:
		db_watch(ev, EPOLLIN);
		return;
	case PGRES_POLLING_WRITING:
		db_watch(ev, EPOLLOUT);
		return;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(ev->conn, 1) != 0 ||
		    db_send(ev, listen_sql) != LI_OK) {
			db_fail(ev, "LISTEN");
			return;
		}
		ev->db_state = DB_LISTENING;
		return;
	default:
		db_fail(ev, "connect");
		return;
	}
}

void
events_db_tick(struct events *ev)
{
	/* Later keywords win: the user's conninfo overrides our defaults. */
	static const char *const keys[] = {
		"application_name", "connect_timeout", "dbname", NULL
	};
	const char *values[] = {
		"lastitem-events", "5", ev->cfg->conninfo, NULL
	};

	if (ev->db_state != DB_DOWN || monotonic_ms() < ev->db_retry_ms)
		return;
	ev->db_goodbye[0] = '\0';
	ev->conn = PQconnectStartParams(keys, values, 1);
	if (ev->conn == NULL || PQstatus(ev->conn) == CONNECTION_BAD) {
		db_fail(ev, "connect");
		return;
	}
	(void)PQsetNoticeReceiver(ev->conn, on_notice, ev);
	ev->db_state = DB_CONNECTING;
	db_watch(ev, EPOLLOUT);
}

void
events_db_on_socket(struct events *ev, uint32_t epoll_events)
{
	int flush;

	if (ev->conn == NULL)
		return;
	if (ev->db_state == DB_CONNECTING) {
		connect_step(ev);
		return;
	}
	if (epoll_events & EPOLLOUT) {
		if ((flush = PQflush(ev->conn)) < 0) {
			db_fail(ev, "send");
			return;
		}
		if (flush == 0)
			db_watch(ev, EPOLLIN);
	}
	if (epoll_events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (!PQconsumeInput(ev->conn)) {
			db_fail(ev, "read");
			return;
		}
		if (ev->db_state == DB_LISTENING || ev->db_state == DB_LOADING)
			on_results(ev);
		if (ev->conn != NULL && ev->db_state == DB_READY)
			drain_notifications(ev);
	}
	if (ev->conn != NULL && PQstatus(ev->conn) != CONNECTION_OK)
		db_fail(ev, "status");
}
