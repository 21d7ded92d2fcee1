/*
 * follow.c — a worker reads the event daemon's stream to know which items
 * are sold out (stock_view.c).
 *
 * Why the stream and not a LISTEN of the pool's own: the channel is a
 * secret the pool's role must not know (sql/triggers.sql), or its
 * credentials could forge events; the daemon already turns every commit
 * into an event, gives a snapshot on connect and a new one after its own
 * outages. So each worker is one more client of it, over its socket, like
 * a page: no new privilege anywhere.
 *
 * The view is trusted only from a snapshot on: on connect, and again after
 * any drop, since a restock or reset may have committed while no one was
 * listening. Until then every purchase asks the database.
 *
 * One thread, blocking reads with poll() on the socket and the worker's stop
 * eventfd, so that a stopping worker never waits for the stream.
 */
#include <config.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "follow.h"
#include "common/log.h"

#define FOLLOW_BACKOFF_MIN_MS 100
#define FOLLOW_BACKOFF_MAX_MS 2000
/* A snapshot of thousands of items fits; a longer line is not the daemon. */
#define FOLLOW_LINE_MAX (1024 * 1024)

static const char request[] =
    "GET /api/events HTTP/1.1\r\nHost: lastitem-api\r\n"
    "Accept: text/event-stream\r\n\r\n";

/* Whether stop_fd is readable after waiting at most ms (-1: for ever) for
 * it or, when fd >= 0, for fd to become readable. */
static int
wait_for(int fd, int stop_fd, int ms)
{
	struct pollfd pfd[2] = {
		{ .fd = stop_fd, .events = POLLIN },
		{ .fd = fd, .events = POLLIN },
	};

	if (poll(pfd, fd >= 0 ? 2 : 1, ms) < 0 && errno != EINTR)
		return 0;
	return pfd[0].revents != 0;
}

/* Connects to a unix path or host:port; returns the socket or -1. */
static int
connect_to(const char *addr)
{
	struct sockaddr_un un;
	struct addrinfo hints, *ai = NULL;
	char host[256];
	const char *colon;
	int fd = -1;

	if (strchr(addr, '/') != NULL) {
		if (strlen(addr) >= sizeof(un.sun_path))
			return -1;
		memset(&un, 0, sizeof(un));
		un.sun_family = AF_UNIX;
		strcpy(un.sun_path, addr);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&un, sizeof(un)) != 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	if ((colon = strrchr(addr, ':')) == NULL ||
	    (size_t)(colon - addr) >= sizeof(host))
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return -1;
	for (struct addrinfo *p = ai; p != NULL; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC,
		    p->ai_protocol);
		if (fd >= 0 && connect(fd, p->ai_addr, p->ai_addrlen) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* The SSE parser's state: one frame's event name and data. */
struct frame {
	char event[32];
	char *data;        /* points into the line buffer until dispatched */
	size_t data_len;
	int in_body;       /* past the response head */
};

/*
 * Handles one line (without its line break). Returns LI_OK, or LI_ERROR
 * when the stream is not what the daemon sends.
 */
static int
line(struct stock_view *v, struct frame *f, char *s, size_t len)
{
	if (!f->in_body) {
		if (f->event[0] == '\0') {
			/* The status line: only a 200 is a stream. */
			if (len < 12 || strncmp(s, "HTTP/1.", 7) != 0 ||
			    strncmp(s + 8, " 200", 4) != 0)
				return LI_ERROR;
			strcpy(f->event, "head");
		} else if (len == 0) {
			f->in_body = 1;
			f->event[0] = '\0';
		}
		return LI_OK;
	}
	if (len == 0) {
		int rc = LI_OK;

		if (f->event[0] != '\0' && f->data != NULL)
			rc = stock_view_apply(v, f->event, f->data, f->data_len);
		f->event[0] = '\0';
		f->data = NULL;
		return rc;
	}
	if (len > 7 && strncmp(s, "event: ", 7) == 0) {
		if (len - 7 >= sizeof(f->event))
			return LI_OK;   /* no event of ours is that long */
		memcpy(f->event, s + 7, len - 7);
		f->event[len - 7] = '\0';
	} else if (len >= 6 && strncmp(s, "data: ", 6) == 0) {
		f->data = s + 6;
		f->data_len = len - 6;
	}
	/* id:, retry: and ": ping" comments say nothing about stock. */
	return LI_OK;
}

/*
 * Reads one connection until it drops or stop_fd is readable. Returns 1
 * when stopping. The data of a frame is kept in buf until its blank line,
 * so a frame's lines are consumed only once it is complete.
 */
static int
follow_stream(int fd, struct stock_view *v, int stop_fd, int *got_snapshot)
{
	size_t cap = 64 * 1024, len = 0, start = 0, scan = 0;
	char *buf = malloc(cap), *nl, *grown;
	struct frame f;
	ssize_t n;
	int stopping = 0;

	if (buf == NULL)
		return 0;
	memset(&f, 0, sizeof(f));
	if (write(fd, request, sizeof(request) - 1) != (ssize_t)sizeof(request) - 1)
		goto out;
	for (;;) {
		if (wait_for(fd, stop_fd, -1)) {
			stopping = 1;
			goto out;
		}
		if (len == cap) {
			/* Move the unfinished frame to the front, or grow. */
			if (start > 0) {
				memmove(buf, buf + start, len - start);
				if (f.data != NULL)
					f.data -= start;
				len -= start;
				scan -= start;
				start = 0;
			} else {
				/* Where the frame's data was, as an offset: buf
				 * may move. */
				size_t at = f.data != NULL ? (size_t)(f.data - buf) : 0;

				if (cap >= FOLLOW_LINE_MAX ||
				    (grown = realloc(buf, cap * 2)) == NULL)
					goto out;
				buf = grown;
				cap *= 2;
				if (f.data != NULL)
					f.data = buf + at;
			}
			continue;
		}
		if ((n = read(fd, buf + len, cap - len)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			goto out;
		}
		len += (size_t)n;
		while ((nl = memchr(buf + scan, '\n', len - scan)) != NULL) {
			size_t l = (size_t)(nl - (buf + scan));
			char *s = buf + scan;
			int blank;

			if (l > 0 && s[l - 1] == '\r')
				l--;
			s[l] = '\0';
			blank = l == 0;
			if (blank && f.in_body && strcmp(f.event, "snapshot") == 0)
				*got_snapshot = 1;
			if (line(v, &f, s, l) != LI_OK)
				goto out;
			scan = (size_t)(nl - buf) + 1;
			if (blank || !f.in_body || f.data == NULL)
				start = scan;   /* nothing before here is needed */
		}
	}
out:
	free(buf);
	return stopping;
}

void
follow_run(const char *addr, struct stock_view *v, int stop_fd)
{
	int backoff = FOLLOW_BACKOFF_MIN_MS, fd, snapshot, failing = 0;

	for (;;) {
		snapshot = 0;
		if ((fd = connect_to(addr)) >= 0) {
			int stopping = follow_stream(fd, v, stop_fd, &snapshot);

			close(fd);
			stock_view_distrust(v);
			if (stopping)
				return;
		}
		if (snapshot) {
			backoff = FOLLOW_BACKOFF_MIN_MS;
			failing = 0;
		} else if (!failing) {
			log_warn("no stock view from the event daemon at %s yet: "
			    "every purchase asks the database", addr);
			failing = 1;
		}
		if (wait_for(-1, stop_fd, backoff))
			return;
		if (backoff < FOLLOW_BACKOFF_MAX_MS)
			backoff = backoff * 2 < FOLLOW_BACKOFF_MAX_MS ?
			    backoff * 2 : FOLLOW_BACKOFF_MAX_MS;
	}
}
