/*
 * listen.c — the daemon's LISTEN connection, driven by the event loop.
 *
 * libpq runs in non-blocking mode and its socket is one more fd in epoll:
 * connecting (PQconnectPoll), sending, and reading results and
 * notifications all happen as the socket becomes ready, so a slow or dead
 * database never stalls the clients. What arrives is handed on as it is:
 * payloads and snapshot rows to changes.c.
 *
 * The order on every (re)connection is LISTEN, then read the snapshot, then
 * stream. LISTEN first, because a change that commits between the two is
 * then both in the snapshot (or after it) and in a notification; the
 * notification's version is compared with the snapshot's and the older one
 * loses. Snapshot first would leave a window in which a commit is in
 * neither. Notifications that arrive while the snapshot loads wait in
 * libpq's queue until it is loaded. The channel's name is a secret the
 * daemon never learns: lastitem.events_listen() subscribes its session
 * (sql/triggers.sql says why).
 *
 * One connection attempt may use several sockets: libpq moves to the next
 * address or host (a multi-host conninfo, target_session_attrs, an address
 * that refuses) by closing its socket and opening another, which often gets
 * the same descriptor number. A closed socket has left epoll, whatever its
 * number, so after every PQconnectPoll step the socket is looked at again
 * (number and inode) and registered anew when it changed. Each socket has
 * --connect-timeout (or the conninfo's connect_timeout) to get the
 * connection going, as libpq gives each address when it connects by itself;
 * a server that accepts and never answers costs one deadline, then the
 * attempt is abandoned and retried after the backoff.
 *
 * When the connection drops, the clients stay connected; the daemon
 * reconnects with a backoff of 100 ms doubling to 5 s (common/db_outage.h),
 * and the new snapshot goes to everyone.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "events.h"
#include "common/log.h"
#include "common/pq_notice.h"

static const char listen_sql[] = "SELECT lastitem.events_listen()";
static const char snapshot_sql[] =
    "SELECT id, quantity, held, initial_quantity, max_per_buyer, version "
    "FROM lastitem.items ORDER BY id";

/*
 * Registers the database socket in epoll for want (0: removes it). A socket
 * that is not the one registered (another number, or the same number reused
 * by a new socket: another inode) is added afresh; the old one is gone from
 * epoll already if libpq closed it. Returns LI_OK, or LI_ERROR (logged).
 */
static int
db_watch(struct events *ev, uint32_t want)
{
	struct epoll_event e;
	struct stat st;
	int fd = ev->conn != NULL ? PQsocket(ev->conn) : -1;
	int same = 0, op;

	if (fd >= 0 && ev->db_fd == fd && fstat(fd, &st) == 0)
		same = st.st_ino == ev->db_ino && st.st_dev == ev->db_dev;
	if (ev->db_fd >= 0 && (!same || want == 0)) {
		/* ENOENT, EBADF: libpq closed it, which took it out of epoll. */
		if (epoll_ctl(ev->epfd, EPOLL_CTL_DEL, ev->db_fd, NULL) != 0 &&
		    errno != ENOENT && errno != EBADF) {
			log_error("epoll: removing the database socket: %s",
			    strerror(errno));
			return LI_ERROR;
		}
		ev->db_fd = -1;
		same = 0;
	}
	if (fd < 0 || want == 0)
		return LI_OK;
	if (!same && fstat(fd, &st) != 0) {
		log_error("the database socket: %s", strerror(errno));
		return LI_ERROR;
	}
	memset(&e, 0, sizeof(e));
	e.events = want;
	e.data.ptr = &ev->db_watch;
	op = same ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(ev->epfd, op, fd, &e) != 0) {
		/* The registration is not what we thought: make it what we want. */
		op = errno == ENOENT ? EPOLL_CTL_ADD : errno == EEXIST ? EPOLL_CTL_MOD : -1;
		if (op < 0 || epoll_ctl(ev->epfd, op, fd, &e) != 0) {
			log_error("epoll: watching the database socket: %s",
			    strerror(errno));
			ev->db_fd = -1;
			return LI_ERROR;
		}
	}
	if (!same) {
		ev->db_fd = fd;
		ev->db_ino = st.st_ino;
		ev->db_dev = st.st_dev;
		/* A new socket: a new address, with a deadline of its own. */
		ev->db_deadline_ms = monotonic_ms() + ev->db_timeout_ms;
	}
	return LI_OK;
}

void
events_db_close(struct events *ev)
{
	(void)db_watch(ev, 0);
	if (ev->conn != NULL)
		PQfinish(ev->conn);
	ev->conn = NULL;
	ev->db_fd = -1;
	ev->db_state = DB_DOWN;
}

/* The server's goodbye is kept for db_fail()'s line (pq_notice.h). */
static void
on_notice(void *arg, const PGresult *res)
{
	struct events *ev = arg;

	pq_notice_keep_goodbye(res, ev->db_goodbye, sizeof(ev->db_goodbye));
}

/* The connection or an attempt failed at step what: logged, closed, and
 * retried after the backoff (common/db_outage.h). */
static void
db_fail(struct events *ev, const char *what, const char *why)
{
	char how[64];
	const char *msg = why != NULL ? why : ev->db_goodbye[0] != '\0' ?
	    ev->db_goodbye : ev->conn != NULL ? PQerrorMessage(ev->conn) : "";

	if (ev->db_state == DB_READY) {
		snprintf(how, sizeof(how), "(%s)", what);
		db_outage_lost(&ev->db_outage, how, msg,
		    "clients stay, reconnecting");
	} else
		db_outage_failed(&ev->db_outage, what, msg);
	events_db_close(ev);
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
	return db_watch(ev, EPOLLIN | (flush ? EPOLLOUT : 0));
}

/* The snapshot is loaded: streaming begins (again). */
static void
db_ready(struct events *ev)
{
	char detail[128];

	ev->db_state = DB_READY;
	if (ev->db_outage.ever_up)
		snprintf(detail, sizeof(detail), "%zu items reloaded and sent to "
		    "%zu clients", ev->items.count, ev->nstreaming);
	else
		snprintf(detail, sizeof(detail), "listening; %zu items loaded",
		    ev->items.count);
	if (db_outage_end(&ev->db_outage, detail))
		ev->metrics.db_reconnects++;
	stream_snapshot_loaded(ev);
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
				ok = PQresultStatus(res) == PGRES_TUPLES_OK;
			else
				ok = PQresultStatus(res) == PGRES_TUPLES_OK &&
				    changes_load_snapshot(ev, res) == LI_OK;
			PQclear(res);
			if (!ok) {
				db_fail(ev, ev->db_state == DB_LISTENING ?
				    "LISTEN" : "snapshot", NULL);
				return;
			}
			continue;
		}
		if (ev->db_state == DB_LISTENING) {
			if (db_send(ev, snapshot_sql) != LI_OK) {
				db_fail(ev, "snapshot", NULL);
				return;
			}
			ev->db_state = DB_LOADING;
			continue;
		}
		db_ready(ev);
		return;
	}
}

static void
drain_notifications(struct events *ev)
{
	PGnotify *n;

	while ((n = PQnotifies(ev->conn)) != NULL) {
		changes_on_notification(ev, n->extra);
		PQfreemem(n);
	}
}

/* Drives PQconnectPoll one step, and watches the socket it leaves. */
static void
connect_step(struct events *ev)
{
	switch (PQconnectPoll(ev->conn)) {
	case PGRES_POLLING_READING:
		if (db_watch(ev, EPOLLIN) != LI_OK)
			db_fail(ev, "connect", "cannot watch its socket");
		return;
	case PGRES_POLLING_WRITING:
		if (db_watch(ev, EPOLLOUT) != LI_OK)
			db_fail(ev, "connect", "cannot watch its socket");
		return;
	case PGRES_POLLING_OK:
		/* The queries get a deadline of their own. */
		ev->db_deadline_ms = monotonic_ms() + ev->db_timeout_ms;
		if (PQsetnonblocking(ev->conn, 1) != 0 ||
		    db_send(ev, listen_sql) != LI_OK) {
			db_fail(ev, "LISTEN", NULL);
			return;
		}
		ev->db_state = DB_LISTENING;
		return;
	default:
		db_fail(ev, "connect", NULL);
		return;
	}
}

/*
 * The deadline of each socket of an attempt: the conninfo's connect_timeout
 * when it has one (libpq reads it from PGCONNECT_TIMEOUT too; like libpq,
 * at least 2 s), else --connect-timeout.
 */
static long long
connect_timeout_ms(const struct events *ev)
{
	PQconninfoOption *opts = PQconninfo(ev->conn), *o;
	long long ms = (long long)ev->cfg->connect_timeout_seconds * 1000;
	long s;
	char *end;

	for (o = opts; o != NULL && o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "connect_timeout") != 0 || o->val == NULL)
			continue;
		errno = 0;
		s = strtol(o->val, &end, 10);
		if (errno == 0 && end != o->val && *end == '\0' && s > 0 && s <= 86400)
			ms = (s < 2 ? 2 : s) * 1000LL;
	}
	PQconninfoFree(opts);
	return ms;
}

void
events_db_tick(struct events *ev)
{
	/* Later keywords win: the user's conninfo overrides our defaults. */
	static const char *const keys[] = {
		"application_name", "dbname", NULL
	};
	const char *values[] = {
		"lastitem-events", ev->cfg->conninfo, NULL
	};
	char why[96];

	if (ev->db_state != DB_DOWN) {
		if (ev->db_state != DB_READY && monotonic_ms() >= ev->db_deadline_ms) {
			ev->metrics.db_timeouts++;
			snprintf(why, sizeof(why), "no answer within %lld s; "
			    "abandoned", ev->db_timeout_ms / 1000);
			db_fail(ev, ev->db_state == DB_CONNECTING ? "connect" :
			    ev->db_state == DB_LISTENING ? "LISTEN" : "snapshot", why);
		}
		return;
	}
	if (!db_outage_may_try(&ev->db_outage))
		return;
	ev->db_goodbye[0] = '\0';
	ev->conn = PQconnectStartParams(keys, values, 1);
	if (ev->conn == NULL || PQstatus(ev->conn) == CONNECTION_BAD) {
		db_fail(ev, "connect", ev->conn == NULL ? "out of memory" : NULL);
		return;
	}
	(void)PQsetNoticeReceiver(ev->conn, on_notice, ev);
	ev->db_timeout_ms = connect_timeout_ms(ev);
	ev->db_deadline_ms = monotonic_ms() + ev->db_timeout_ms;
	ev->db_state = DB_CONNECTING;
	if (db_watch(ev, EPOLLOUT) != LI_OK)
		db_fail(ev, "connect", "cannot watch its socket");
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
			db_fail(ev, "send", NULL);
			return;
		}
		if (flush == 0 && db_watch(ev, EPOLLIN) != LI_OK) {
			db_fail(ev, "send", "cannot watch its socket");
			return;
		}
	}
	if (epoll_events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (!PQconsumeInput(ev->conn)) {
			db_fail(ev, "read", NULL);
			return;
		}
		if (ev->db_state == DB_LISTENING || ev->db_state == DB_LOADING)
			on_results(ev);
		if (ev->conn != NULL && ev->db_state == DB_READY)
			drain_notifications(ev);
	}
	if (ev->conn != NULL && PQstatus(ev->conn) != CONNECTION_OK)
		db_fail(ev, "status", NULL);
}
