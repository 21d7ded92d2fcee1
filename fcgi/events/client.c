/*
 * client.c — the daemon's clients.
 *
 * A client first sends a request (bounded in size and in time, so a
 * slowloris costs a timer, not memory), then either streams or gets one
 * answer and is closed. Output is written at once when the socket takes it;
 * only what it does not take is buffered, so a client that keeps up costs
 * no buffer at all. A client whose unsent bytes pass --max-buffer cannot
 * keep up: it is dropped, its memory freed, and EventSource reconnects it
 * with its Last-Event-ID.
 *
 * Its start (the snapshot, or the replay of what it missed) does not count
 * against --max-buffer: it is queued all at once, before the client could
 * read any of it. Counting it dropped every client that resumed after some
 * thousands of missed events through nginx (whose unix socket takes only
 * ~28 KB of small frames at a time) before it could catch up, again at each
 * reconnection. It is bounded all the same: by the catalogue (a snapshot)
 * or by --max-buffer (a longer replay becomes a snapshot, stream.c), so a
 * client holds at most --max-buffer plus one start or one snapshot.
 *
 * Logging: a client the daemon drops (past --max-buffer, out of time, a
 * failed send) is one line saying why. A client that hangs up, or whose
 * connection the peer reset, is the ordinary end of a stream and logs
 * nothing: 10,000 browsers closing a tab must not be 10,000 lines.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "events.h"
#include "http_request.h"
#include "common/log.h"

static const char stream_head[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n"
    "Connection: close\r\n"
    "\r\n";

/*
 * Closes a client. Its memory is freed only after the current epoll batch
 * (clients_free_dead): the batch may still hold an event for it, and that
 * event must find a dead client, not freed memory.
 */
static void
client_close(struct events *ev, struct client *c)
{
	if (c->state == CLIENT_DEAD)
		return;
	for (size_t k = 0; k < LI_ARRAY_LEN(ev->tick_probe); k++)
		if (ev->tick_probe[k] == c)
			ev->tick_probe[k] = NULL;
	close(c->fd);               /* also leaves epoll */
	c->fd = -1;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ev->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->state == CLIENT_STREAMING)
		ev->nstreaming--;
	ev->nclients--;
	c->state = CLIENT_DEAD;
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->prev = NULL;
	c->next = ev->dead;
	ev->dead = c;
}

void
clients_free_dead(struct events *ev)
{
	struct client *c;

	while ((c = ev->dead) != NULL) {
		ev->dead = c->next;
		free(c);
	}
}

static void
client_watch(struct events *ev, struct client *c, int want_write)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN | EPOLLRDHUP | (want_write ? EPOLLOUT : 0);
	e.data.ptr = &c->watch;
	(void)epoll_ctl(ev->epfd, EPOLL_CTL_MOD, c->fd, &e);
	c->want_write = want_write;
}

/* Logs a send that failed (errno), unless the client simply went away. */
static void
send_failed(const struct client *c)
{
	if (errno != EPIPE && errno != ECONNRESET)
		log_warn("client %d dropped: send: %s", c->fd, strerror(errno));
}

/* Writes what the socket takes. Returns LI_OK, or LI_ERROR when it broke. */
static int
client_flush(struct events *ev, struct client *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			if (n < 0)
				send_failed(c);
			return LI_ERROR;
		}
		c->out_off += (size_t)n;
		/* The start is at the front of the buffer: it leaves first. */
		c->grace = c->grace > (size_t)n ? c->grace - (size_t)n : 0;
	}
	if (c->out_off == c->out_len) {
		/* Kept-up clients hold no buffer. */
		free(c->out);
		c->out = NULL;
		c->out_len = c->out_off = c->out_cap = 0;
		if (c->want_write)
			client_watch(ev, c, 0);
	} else if (!c->want_write)
		client_watch(ev, c, 1);
	return LI_OK;
}

int
client_queue(struct events *ev, struct client *c, const char *data, size_t len)
{
	ssize_t n = 0;
	size_t pending;

	if (c->out_len == c->out_off) {
		/* Nothing waiting: try the socket first. */
		do
			n = send(c->fd, data, len, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			send_failed(c);
			return LI_ERROR;
		}
		if (n < 0)
			n = 0;
		if ((size_t)n == len)
			return LI_OK;
		data += n;
		len -= (size_t)n;
	}
	pending = c->out_len - c->out_off + len;
	if (c->state == CLIENT_STREAMING && pending > c->grace &&
	    pending - c->grace > ev->cfg->max_buffer) {
		ev->metrics.clients_dropped++;
		log_info("client %d dropped after %.1f s connected: %zu bytes unsent, "
		    "past --max-buffer", c->fd,
		    (double)(monotonic_ms() - c->since_ms) / 1000, pending);
		return LI_ERROR;
	}
	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_len = c->out_off = 0;
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 1024;
		char *b;
		if (c->out_off > 0) {            /* reclaim the sent part first */
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		while (cap < c->out_len + len)
			cap *= 2;
		if (cap > c->out_cap) {
			if ((b = realloc(c->out, cap)) == NULL)
				return LI_ERROR;
			c->out = b;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	if (!c->want_write)
		client_watch(ev, c, 1);
	return LI_OK;
}

/*
 * The answer is written: half-close, and read (and drop) whatever the client
 * still sends until it closes too, for at most --request-timeout. Closing
 * at once would make the kernel answer anything still unread (the rest of
 * an oversized head, the request of a client refused at accept) with a RST,
 * which can destroy the answer before the client has read it (RFC 9112,
 * 9.6); a client reading to the end saw "connection reset" after a 431.
 */
static void
client_linger(struct events *ev, struct client *c)
{
	if (shutdown(c->fd, SHUT_WR) != 0) {
		client_close(ev, c);
		return;
	}
	free(c->in);
	c->in = NULL;
	c->in_len = 0;
	c->state = CLIENT_LINGERING;
	c->since_ms = monotonic_ms();
}

/* Queues a complete short answer and closes after it is written. */
static void
client_answer(struct events *ev, struct client *c, int status,
    const char *reason, const char *extra, const char *type, const char *body,
    size_t body_len)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n%sConnection: close\r\n\r\n",
	    status, reason, type, body_len, extra);
	c->state = CLIENT_CLOSING;
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    client_queue(ev, c, head, (size_t)n) != LI_OK ||
	    client_queue(ev, c, body, body_len) != LI_OK ||
	    client_flush(ev, c) != LI_OK)
		client_close(ev, c);
	else if (c->out_len == 0)
		client_linger(ev, c);
}

static void
client_problem(struct events *ev, struct client *c, int status,
    const char *reason, const char *code, const char *extra)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "{\"type\":\"about:blank\",\"title\":\"%s\","
	    "\"status\":%d,\"code\":\"%s\"}", reason, status, code);

	client_answer(ev, c, status, reason, extra, "application/problem+json",
	    body, (size_t)n);
}

static void
start_stream(struct events *ev, struct client *c, const struct http_req *req)
{
	c->state = CLIENT_STREAMING;
	ev->nstreaming++;
	c->grace = SIZE_MAX;            /* the start may exceed --max-buffer */
	if (client_queue(ev, c, stream_head, sizeof(stream_head) - 1) != LI_OK ||
	    stream_send_start(ev, c, req->has_last_event_id ?
	    req->last_event_id : NULL) != LI_OK) {
		client_close(ev, c);
		return;
	}
	c->grace = c->out_len - c->out_off;     /* what of it is left to send */
}

/*
 * The query's orders parameter: "all" (the default) or "summary". Returns
 * LI_OK, or LI_ERROR for another value. Other parameters are ignored.
 */
static int
orders_param(const char *query, int *summary)
{
	const char *p = query;

	*summary = 0;
	while (*p != '\0') {
		size_t n = strcspn(p, "&");

		if (n >= 7 && strncmp(p, "orders=", 7) == 0) {
			if (n == 7 + 7 && strncmp(p + 7, "summary", 7) == 0)
				*summary = 1;
			else if (n == 7 + 3 && strncmp(p + 7, "all", 3) == 0)
				*summary = 0;
			else
				return LI_ERROR;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return LI_OK;
}

static void
on_request(struct events *ev, struct client *c, const struct http_req *req)
{
	int is_get = strcmp(req->method, "GET") == 0;
	char *text;
	size_t len;

	free(c->in);
	c->in = NULL;
	c->in_len = 0;
	if (strcmp(req->path, "/api/events") == 0 && is_get) {
		if (orders_param(req->query, &c->orders_summary) != LI_OK) {
			ev->metrics.bad_requests++;
			client_problem(ev, c, 400, "Bad Request", "bad_request", "");
			return;
		}
		start_stream(ev, c, req);
	} else if (strcmp(req->path, "/api/events/metrics") == 0 && is_get) {
		if ((text = events_metrics_text(ev, &len)) == NULL) {
			client_close(ev, c);
			return;
		}
		client_answer(ev, c, 200, "OK", "", "text/plain; version=0.0.4",
		    text, len);
		free(text);
	} else if (strcmp(req->path, "/api/events") == 0 ||
	    strcmp(req->path, "/api/events/metrics") == 0) {
		client_problem(ev, c, 405, "Method Not Allowed", "method_not_allowed",
		    "Allow: GET\r\n");
	} else
		client_problem(ev, c, 404, "Not Found", "not_found", "");
}

static void
on_readable(struct events *ev, struct client *c)
{
	struct http_req req;
	char sink[4096];
	ssize_t n;

	if (c->state != CLIENT_READING) {
		/* Nothing more is expected: read to notice the hang-up. */
		while ((n = recv(c->fd, sink, sizeof(sink), 0)) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			client_close(ev, c);
		return;
	}
	if (c->in == NULL && (c->in = malloc(HTTP_REQ_HEAD_MAX)) == NULL) {
		client_close(ev, c);
		return;
	}
	n = recv(c->fd, c->in + c->in_len, HTTP_REQ_HEAD_MAX - c->in_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(ev, c);
		return;
	}
	c->in_len += (size_t)n;
	switch (http_req_parse(c->in, c->in_len, &req)) {
	case HTTP_REQ_INCOMPLETE:
		return;
	case HTTP_REQ_COMPLETE:
		on_request(ev, c, &req);
		return;
	case HTTP_REQ_TOO_LARGE:
		ev->metrics.bad_requests++;
		client_problem(ev, c, 431, "Request Header Fields Too Large",
		    "bad_request", "");
		return;
	case HTTP_REQ_BAD:
		ev->metrics.bad_requests++;
		client_problem(ev, c, 400, "Bad Request", "bad_request", "");
		return;
	}
}

void
client_on_event(struct events *ev, struct client *c, uint32_t epoll_events)
{
	if (c->state == CLIENT_DEAD)
		return;
	if (epoll_events & (EPOLLERR | EPOLLHUP)) {
		client_close(ev, c);
		return;
	}
	if (epoll_events & EPOLLOUT) {
		if (client_flush(ev, c) != LI_OK) {
			client_close(ev, c);
			return;
		}
		if (c->state == CLIENT_CLOSING && c->out_len == 0) {
			client_linger(ev, c);
			return;
		}
	}
	if (epoll_events & (EPOLLIN | EPOLLRDHUP))
		on_readable(ev, c);
}

void
clients_accept(struct events *ev)
{
	struct epoll_event e;
	struct client *c;
	int fd;

	for (;;) {
		fd = accept4(ev->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->watch.kind = WATCH_CLIENT;
		c->fd = fd;
		c->state = CLIENT_READING;
		c->since_ms = monotonic_ms();
		memset(&e, 0, sizeof(e));
		e.events = EPOLLIN | EPOLLRDHUP;
		e.data.ptr = &c->watch;
		if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = ev->clients;
		if (ev->clients != NULL)
			ev->clients->prev = c;
		ev->clients = c;
		ev->nclients++;
		ev->metrics.clients_accepted++;
		if ((int)ev->nclients > ev->cfg->max_clients) {
			ev->metrics.clients_refused++;
			client_problem(ev, c, 503, "Service Unavailable", "unavailable",
			    "Retry-After: 2\r\n");
		}
	}
}

void
clients_broadcast(struct events *ev, enum audience to, const char *frame,
    size_t len, size_t frames)
{
	struct client *c, *next;

	for (c = ev->clients; c != NULL; c = next) {
		next = c->next;
		if (c->state != CLIENT_STREAMING ||
		    (to == AUDIENCE_ORDERS && c->orders_summary) ||
		    (to == AUDIENCE_SUMMARY && !c->orders_summary))
			continue;
		if (client_queue(ev, c, frame, len) != LI_OK) {
			client_close(ev, c);
			continue;
		}
		ev->metrics.frames_sent += frames;
		/* Streams spread over a tick's writes tell how far nginx has
		 * read it (stream.c): one every tick_stride, the newest in the
		 * slot of the oldest. Not a heartbeat's or a snapshot's. */
		if (to != AUDIENCE_ALL && ev->tick_stride > 0 &&
		    ++ev->tick_written % ev->tick_stride == 0)
			ev->tick_probe[ev->tick_written / ev->tick_stride %
			    LI_ARRAY_LEN(ev->tick_probe)] = c;
	}
}

void
clients_tick(struct events *ev)
{
	static const char ping[] = ": ping\n\n";
	long long now = monotonic_ms();
	long long limit = (long long)ev->cfg->request_seconds * 1000;
	struct client *c, *next;

	/* A request must arrive, a last answer leave, and a lingering client
	 * hang up, each in time. */
	for (c = ev->clients; c != NULL; c = next) {
		next = c->next;
		if (c->state == CLIENT_STREAMING || now - c->since_ms <= limit)
			continue;
		/* A lingering client had its answer: closing it is routine. */
		if (c->state == CLIENT_READING)
			log_info("client %d dropped: no complete request within "
			    "--request-timeout (%d s)", c->fd, ev->cfg->request_seconds);
		else if (c->state == CLIENT_CLOSING)
			log_info("client %d dropped: its answer was not read within "
			    "--request-timeout (%d s)", c->fd, ev->cfg->request_seconds);
		client_close(ev, c);
	}
	if (now - ev->last_heartbeat_ms >= (long long)ev->cfg->heartbeat_seconds * 1000) {
		ev->last_heartbeat_ms = now;
		clients_broadcast(ev, AUDIENCE_ALL, ping, sizeof(ping) - 1, 1);
	}
}

void
clients_close_all(struct events *ev)
{
	while (ev->clients != NULL)
		client_close(ev, ev->clients);
	clients_free_dead(ev);
}

char *
events_metrics_text(const struct events *ev, size_t *len)
{
	const struct events_metrics *m = &ev->metrics;
	const struct client *c;
	size_t size = 6144, buffered = 0;
	char *out = malloc(size);
	int n;

	if (out == NULL)
		return NULL;
	for (c = ev->clients; c != NULL; c = c->next)
		buffered += c->out_len - c->out_off;
	n = snprintf(out, size,
	    "# HELP lastitem_events_clients Clients streaming events now.\n"
	    "# TYPE lastitem_events_clients gauge\n"
	    "lastitem_events_clients %zu\n"
	    "# HELP lastitem_events_connections Open connections, streaming or not.\n"
	    "# TYPE lastitem_events_connections gauge\n"
	    "lastitem_events_connections %zu\n"
	    "# HELP lastitem_events_clients_accepted_total Connections accepted.\n"
	    "# TYPE lastitem_events_clients_accepted_total counter\n"
	    "lastitem_events_clients_accepted_total %llu\n"
	    "# HELP lastitem_events_clients_dropped_total Clients dropped for not keeping up.\n"
	    "# TYPE lastitem_events_clients_dropped_total counter\n"
	    "lastitem_events_clients_dropped_total %llu\n"
	    "# HELP lastitem_events_clients_refused_total Connections refused past --max-clients.\n"
	    "# TYPE lastitem_events_clients_refused_total counter\n"
	    "lastitem_events_clients_refused_total %llu\n"
	    "# HELP lastitem_events_bad_requests_total Malformed or oversized requests.\n"
	    "# TYPE lastitem_events_bad_requests_total counter\n"
	    "lastitem_events_bad_requests_total %llu\n"
	    "# HELP lastitem_events_notifications_total Notifications received from PostgreSQL.\n"
	    "# TYPE lastitem_events_notifications_total counter\n"
	    "lastitem_events_notifications_total %llu\n"
	    "# HELP lastitem_events_notifications_stale_total Item notifications older than the state.\n"
	    "# TYPE lastitem_events_notifications_stale_total counter\n"
	    "lastitem_events_notifications_stale_total %llu\n"
	    "# HELP lastitem_events_notifications_bad_total Notifications that did not parse.\n"
	    "# TYPE lastitem_events_notifications_bad_total counter\n"
	    "lastitem_events_notifications_bad_total %llu\n"
	    "# HELP lastitem_events_events_total Events published.\n"
	    "# TYPE lastitem_events_events_total counter\n"
	    "lastitem_events_events_total %llu\n"
	    "# HELP lastitem_events_sent_total Event frames queued to clients.\n"
	    "# TYPE lastitem_events_sent_total counter\n"
	    "lastitem_events_sent_total %llu\n"
	    "# HELP lastitem_events_snapshots_total Resynchronizations with the database.\n"
	    "# TYPE lastitem_events_snapshots_total counter\n"
	    "lastitem_events_snapshots_total %llu\n"
	    "# HELP lastitem_events_db_reconnects_total Times the database connection was regained.\n"
	    "# TYPE lastitem_events_db_reconnects_total counter\n"
	    "lastitem_events_db_reconnects_total %llu\n"
	    "# HELP lastitem_events_replays_refused_total Resumes whose replay would pass --max-buffer, sent a snapshot instead.\n"
	    "# TYPE lastitem_events_replays_refused_total counter\n"
	    "lastitem_events_replays_refused_total %llu\n"
	    "# HELP lastitem_events_buffered_bytes Bytes queued for clients, not yet sent.\n"
	    "# TYPE lastitem_events_buffered_bytes gauge\n"
	    "lastitem_events_buffered_bytes %zu\n"
	    "# HELP lastitem_events_db_timeouts_total Connection attempts abandoned at their deadline.\n"
	    "# TYPE lastitem_events_db_timeouts_total counter\n"
	    "lastitem_events_db_timeouts_total %llu\n"
	    "# HELP lastitem_events_ticks_total Ticks sent (each one write per stream).\n"
	    "# TYPE lastitem_events_ticks_total counter\n"
	    "lastitem_events_ticks_total %llu\n"
	    "# HELP lastitem_events_ticks_waited_total Ticks that were due while nginx had not read the last one, and waited.\n"
	    "# TYPE lastitem_events_ticks_waited_total counter\n"
	    "lastitem_events_ticks_waited_total %llu\n"
	    "# HELP lastitem_events_ticks_held_total Ticks held back after a rush (--fanout-share).\n"
	    "# TYPE lastitem_events_ticks_held_total counter\n"
	    "lastitem_events_ticks_held_total %llu\n"
	    "# HELP lastitem_events_db_up Whether the LISTEN connection is streaming.\n"
	    "# TYPE lastitem_events_db_up gauge\n"
	    "lastitem_events_db_up %d\n",
	    ev->nstreaming, ev->nclients, m->clients_accepted, m->clients_dropped,
	    m->clients_refused, m->bad_requests, m->notifications,
	    m->notifications_stale, m->notifications_bad, m->events, m->frames_sent,
	    m->snapshots, m->db_reconnects, m->replays_refused, buffered,
	    m->db_timeouts, m->ticks, m->ticks_waited, m->ticks_held,
	    ev->db_state == DB_READY);
	if (n < 0 || (size_t)n >= size) {
		free(out);
		return NULL;
	}
	*len = (size_t)n;
	return out;
}
