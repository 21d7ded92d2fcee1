/*
 * nchan_bridge — the prototype of the other fan-out design, for
 * scripts/bench_soak.sh: nginx holds the streams (nchan) and the event
 * daemon publishes each tick once.
 *
 * Rather than teach lastitem-events to publish, this stands beside it as
 * its only two clients: one stream of every order and one summary stream
 * of the daemon. Each tick the daemon writes to them in one send, and the
 * bridge posts what it read (cut after the last complete frame) as one
 * message to nchan's publisher: /pub/full and /pub/summary. nchan, in
 * http-raw-stream mode, writes each message verbatim to its subscribers,
 * so they read the daemon's own frames, ids included. What the daemon
 * would do itself in this design costs the same: one read of a tick (here
 * the daemon's send and the bridge's read) and one POST per channel.
 *
 * Not a product: blocking, one publish at a time, no Last-Event-ID or
 * snapshot per subscriber (nchan starts each with the newest message,
 * which the bench makes a snapshot). doc/benchmarks.md says what the
 * contract would need.
 *
 * usage: nchan_bridge DAEMON_SOCKET NCHAN_HOST:PORT
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BRIDGE_BUF (1 << 22)
/* Tries of a publish, 50 ms apart, before it counts as lost. */
#define BRIDGE_PUBLISH_TRIES 40

struct leg {
	const char *request;     /* to the daemon */
	const char *publish;     /* nchan's publisher path */
	int fd;
	int in_body;             /* past the daemon's response head */
	char *buf;
	size_t len;
};

static struct sockaddr_in nchan;

static int
open_daemon(const char *path, const char *request)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (fd < 0 || strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One message to nchan; returns 0 when it answered 2xx. */
static int
publish(const char *path, const char *body, size_t len)
{
	char head[256], answer[512];
	int fd = socket(AF_INET, SOCK_STREAM, 0), n, ok;
	ssize_t r;

	if (fd < 0 || connect(fd, (struct sockaddr *)&nchan, sizeof(nchan)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: nchan\r\n"
	    "Content-Type: text/event-stream\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", path, len);
	if (write_all(fd, head, (size_t)n) != 0 || write_all(fd, body, len) != 0) {
		close(fd);
		return -1;
	}
	r = read(fd, answer, sizeof(answer) - 1);
	ok = r > 12 && answer[9] == '2';
	while (r > 0)
		r = read(fd, answer, sizeof(answer));
	close(fd);
	return ok ? 0 : -1;
}

/* Reads what the daemon sent; publishes its complete frames. */
static int
leg_read(struct leg *l)
{
	ssize_t r = read(l->fd, l->buf + l->len, BRIDGE_BUF - l->len);
	char *end = NULL;

	if (r <= 0)
		return -1;
	l->len += (size_t)r;
	if (!l->in_body) {
		char *h = memmem(l->buf, l->len, "\r\n\r\n", 4);
		if (h == NULL)
			return 0;
		l->in_body = 1;
		memmove(l->buf, h + 4, l->len - (size_t)(h + 4 - l->buf));
		l->len -= (size_t)(h + 4 - l->buf);
	}
	for (size_t i = l->len; i >= 2; i--)
		if (l->buf[i - 1] == '\n' && l->buf[i - 2] == '\n') {
			end = l->buf + i;
			break;
		}
	if (end == NULL)
		return l->len == BRIDGE_BUF ? -1 : 0;
	/* A heartbeat alone is not a message: nchan starts each new
	 * subscriber with the newest, which must stay the snapshot. */
	if ((size_t)(end - l->buf) == 8 && memcmp(l->buf, ": ping\n\n", 8) == 0)
		;
	else {
		/* Tried again a while: nginx may be between configurations
		 * (bench_soak.sh adds nchan with a reload), and a message lost
		 * here is lost to every subscriber. */
		int tries = 0;

		while (publish(l->publish, l->buf, (size_t)(end - l->buf)) != 0 &&
		    ++tries < BRIDGE_PUBLISH_TRIES)
			usleep(50000);
		if (tries == BRIDGE_PUBLISH_TRIES)
			fprintf(stderr, "nchan_bridge: a publish to %s failed\n", l->publish);
	}
	memmove(l->buf, end, l->len - (size_t)(end - l->buf));
	l->len -= (size_t)(end - l->buf);
	return 0;
}

int
main(int argc, char **argv)
{
	struct leg legs[2] = {
		{ "GET /api/events HTTP/1.1\r\nHost: bridge\r\n\r\n", "/pub/full", -1, 0, NULL, 0 },
		{ "GET /api/events?orders=summary HTTP/1.1\r\nHost: bridge\r\n\r\n",
		  "/pub/summary", -1, 0, NULL, 0 },
	};
	struct pollfd pfd[2];
	char host[64], *colon;

	if (argc != 3 || (colon = strrchr(argv[2], ':')) == NULL ||
	    (size_t)(colon - argv[2]) >= sizeof(host)) {
		fprintf(stderr, "usage: nchan_bridge DAEMON_SOCKET NCHAN_HOST:PORT\n");
		return 2;
	}
	memcpy(host, argv[2], (size_t)(colon - argv[2]));
	host[colon - argv[2]] = '\0';
	nchan.sin_family = AF_INET;
	nchan.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &nchan.sin_addr) != 1) {
		fprintf(stderr, "nchan_bridge: bad address %s\n", argv[2]);
		return 2;
	}
	for (int k = 0; k < 2; k++) {
		if ((legs[k].buf = malloc(BRIDGE_BUF)) == NULL ||
		    (legs[k].fd = open_daemon(argv[1], legs[k].request)) < 0) {
			fprintf(stderr, "nchan_bridge: cannot stream from %s\n", argv[1]);
			return 1;
		}
		pfd[k].fd = legs[k].fd;
		pfd[k].events = POLLIN;
	}
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (int k = 0; k < 2; k++)
			if (pfd[k].revents && leg_read(&legs[k]) != 0)
				return 0;       /* the daemon went away */
	}
}
