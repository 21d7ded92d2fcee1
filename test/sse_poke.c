/*
 * sse_poke — SSE clients that curl cannot be: one that never reads, and a
 * thousand that come and go. For the event daemon's tests, on its own
 * listener (host:port or a unix socket path), with nothing in front of it.
 *
 *   sse_poke stall ADDR [LAST-EVENT-ID]
 *       Connects with a tiny receive buffer, asks for /api/events (resuming
 *       after LAST-EVENT-ID when given), prints
 *       "stalled" and then reads nothing, so everything the daemon sends
 *       piles up in its buffers. On SIGUSR1 (or SIGTERM) it starts reading
 *       and prints "eof BYTES" when the daemon had closed the stream, "end
 *       BYTES" when a proxy in between ended the response (its last chunk)
 *       but kept the connection, or "open BYTES" when, after 5 s of
 *       reading, neither had happened.
 *
 *   sse_poke cycles ADDR N [PARALLEL]
 *       N clients, PARALLEL (default 20) at a time, each of which connects,
 *       asks for /api/events and reads until its first snapshot has arrived,
 *       then hangs up: most with a FIN, every third with a RST. Every tenth
 *       slot is instead a client that sends half a request and hangs up, and
 *       every twentieth one that asks for the metrics. Prints "cycles OK/N"
 *       and exits 0 only when every client got what it asked for.
 *
 * Exit status 2 means the helper itself could not run (bad usage, no
 * connection).
 */
#include <config.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define SNAPSHOT_MARK "event: snapshot\n"

static const char stream_request[] =
    "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
static const char half_request[] = "GET /api/events HTTP/1.1\r\nHost: 127.";
static const char metrics_request[] =
    "GET /api/events/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects to host:port or a unix path; rcvbuf > 0 shrinks the receive
 * buffer first (it must be set before the handshake to shrink the window).
 * Returns the socket, or -1. */
static int
dial(const char *addr, int rcvbuf)
{
	const char *colon = strrchr(addr, ':');
	int fd;

	if (strchr(addr, '/') != NULL || colon == NULL) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(addr) >= sizeof(sun.sun_path))
			return -1;
		strcpy(sun.sun_path, addr);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
			return -1;
		if (rcvbuf > 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
			close(fd);
			return -1;
		}
	} else {
		struct sockaddr_in sin;
		char host[64];
		size_t hl = (size_t)(colon - addr);

		if (hl >= sizeof(host))
			return -1;
		memcpy(host, addr, hl);
		host[hl] = '\0';
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			return -1;
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			return -1;
		if (rcvbuf > 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static int
send_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* --------------------------------------------------------------- stall */

static volatile sig_atomic_t woken;

static void
on_wake(int sig)
{
	(void)sig;
	woken = 1;
}

/* Keeps the last (up to 8) bytes read in tail. */
static void
keep_tail(char *tail, size_t *tail_len, const char *buf, size_t n)
{
	if (n >= 8) {
		memcpy(tail, buf + n - 8, 8);
		*tail_len = 8;
		return;
	}
	if (*tail_len + n > 8) {
		size_t drop = *tail_len + n - 8;
		memmove(tail, tail + drop, *tail_len - drop);
		*tail_len -= drop;
	}
	memcpy(tail + *tail_len, buf, n);
	*tail_len += n;
}

/* Whether the bytes end with the last chunk of a chunked body. */
static int
ends_chunked(const char *tail, size_t tail_len)
{
	static const char last[] = "\r\n0\r\n\r\n";

	return tail_len >= sizeof(last) - 1 &&
	    memcmp(tail + tail_len - (sizeof(last) - 1), last, sizeof(last) - 1) == 0;
}

static int
stall(const char *addr, const char *last_event_id)
{
	char buf[65536], tail[8], request[512];
	int len;
	size_t tail_len = 0;
	long long total = 0, deadline;
	struct sigaction sa;
	struct pollfd p;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (last_event_id == NULL)
		len = snprintf(request, sizeof(request), "%s", stream_request);
	else
		len = snprintf(request, sizeof(request), "%.*sLast-Event-ID: %s\r\n\r\n",
		    (int)(sizeof(stream_request) - 3), stream_request, last_event_id);
	if (len < 0 || (size_t)len >= sizeof(request)) {
		fprintf(stderr, "sse_poke stall: Last-Event-ID too long\n");
		return 2;
	}
	if ((fd = dial(addr, 1024)) < 0 ||
	    send_all(fd, request, (size_t)len) != 0) {
		perror("sse_poke stall: connect");
		return 2;
	}
	printf("stalled\n");
	fflush(stdout);
	while (!woken)
		pause();
	/* Now read: a stream the daemon closed ends in EOF (or a reset, when
	 * it aborted the connection) once its queued bytes are read. */
	deadline = now_ms() + 5000;
	for (;;) {
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			break;
		p.fd = fd;
		p.events = POLLIN;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0) {
			total += n;
			keep_tail(tail, &tail_len, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		printf("eof %lld\n", total);
		return 0;
	}
	/* A proxy ends a chunked response with its last chunk and keeps the
	 * connection for the next request: the stream ended all the same. */
	printf("%s %lld\n", ends_chunked(tail, tail_len) ? "end" : "open", total);
	return 0;
}

/* --------------------------------------------------------------- cycles */

enum kind { STREAM, HALF, METRICS };

struct peer {
	int fd;
	enum kind kind;
	int rst;
	size_t len;
	char buf[8192];
	int done;
};

/* What slot i of the run is. */
static enum kind
kind_of(long i)
{
	if (i % 20 == 19)
		return METRICS;
	if (i % 10 == 9)
		return HALF;
	return STREAM;
}

/* Whether a peer has what it came for. */
static int
satisfied(const struct peer *p)
{
	const char *mark;

	if (p->kind == METRICS)
		return p->len > 0 && strstr(p->buf, "lastitem_events_clients ") != NULL;
	if ((mark = strstr(p->buf, SNAPSHOT_MARK)) == NULL)
		return 0;
	return strstr(mark, "\n\n") != NULL;   /* the whole frame */
}

static void
hang_up(struct peer *p)
{
	if (p->rst) {
		struct linger l = { 1, 0 };     /* close with a RST */
		(void)setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(p->fd);
	p->fd = -1;
}

static int
cycles(const char *addr, long n, int parallel)
{
	struct peer *peers = calloc((size_t)parallel, sizeof(*peers));
	struct pollfd *pfds = calloc((size_t)parallel, sizeof(*pfds));
	long good = 0, i = 0;

	if (peers == NULL || pfds == NULL)
		return 2;
	while (i < n) {
		int batch = 0, waiting;
		long long deadline = now_ms() + 30000;

		for (; batch < parallel && i < n; batch++, i++) {
			struct peer *p = &peers[batch];
			const char *req;

			memset(p, 0, sizeof(*p));
			p->kind = kind_of(i);
			p->rst = i % 3 == 0;
			if ((p->fd = dial(addr, 0)) < 0) {
				perror("sse_poke cycles: connect");
				return 2;
			}
			req = p->kind == HALF ? half_request :
			    p->kind == METRICS ? metrics_request : stream_request;
			if (send_all(p->fd, req, strlen(req)) != 0) {
				perror("sse_poke cycles: send");
				return 2;
			}
			if (p->kind == HALF) {
				hang_up(p);
				p->done = 1;
				good++;
			}
		}
		/* Read every peer of the batch until each has its answer. */
		do {
			int np = 0;

			waiting = 0;
			for (int k = 0; k < batch; k++) {
				if (peers[k].done)
					continue;
				pfds[np].fd = peers[k].fd;
				pfds[np].events = POLLIN;
				np++;
				waiting++;
			}
			if (waiting == 0 || now_ms() > deadline)
				break;
			if (poll(pfds, (nfds_t)np, 1000) < 0 && errno != EINTR)
				return 2;
			for (int k = 0, j = 0; k < batch; k++) {
				struct peer *p = &peers[k];
				ssize_t r;

				if (p->done)
					continue;
				if (!(pfds[j++].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				r = recv(p->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len, 0);
				if (r > 0) {
					p->len += (size_t)r;
					p->buf[p->len] = '\0';
				}
				if (satisfied(p)) {
					good++;
					p->done = 1;
				} else if (r <= 0 || p->len == sizeof(p->buf) - 1) {
					p->done = 1;        /* closed, or no snapshot */
					fprintf(stderr, "sse_poke: a client got no answer: "
					    "%.200s\n", p->buf);
				}
				if (p->done)
					hang_up(p);
			}
		} while (waiting > 0);
		for (int k = 0; k < batch; k++)
			if (peers[k].fd >= 0)
				hang_up(&peers[k]);
	}
	printf("cycles %ld/%ld\n", good, n);
	free(peers);
	free(pfds);
	return good == n ? 0 : 1;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "stall") == 0)
		return stall(argv[2], argc == 4 ? argv[3] : NULL);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "cycles") == 0) {
		long n = atol(argv[3]);
		int par = argc == 5 ? atoi(argv[4]) : 20;
		if (n > 0 && par > 0)
			return cycles(argv[2], n, par);
	}
	fprintf(stderr, "usage: sse_poke stall ADDR [LAST-EVENT-ID] | sse_poke cycles ADDR N [PARALLEL]\n");
	return 2;
}
