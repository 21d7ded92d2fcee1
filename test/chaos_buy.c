/*
 * chaos_buy — many purchases through nginx, each one written down.
 *
 *   chaos_buy [-c PARALLEL] [-r PER_SECOND] [-p PREFIX] [-q QUANTITY]
 *             HOST:PORT N ITEM…
 *
 * Sends N purchases, at most PARALLEL (32) at once and starting at most
 * PER_SECOND (0: no limit) a second, so that a fault schedule running beside
 * it finds purchases in flight from start to end. Purchase i buys ITEM number
 * hash(i) % count, quantity 1 (every fourth one 2; -q: always QUANTITY), with the strategies
 * pessimistic, atomic, optimistic and batched in turn, as buyer PREFIX-i with the
 * Idempotency-Key PREFIX-i. For each it prints one line, tab-separated:
 *
 *   SEQ ITEM STRATEGY QUANTITY BUYER KEY STATUS ORDER_ID CODE
 *
 * STATUS is the HTTP status, or 0 when no status line arrived (refused,
 * reset, closed early, or no answer within 60 s); ORDER_ID is the order's id
 * of a 201 (else 0); CODE is a problem's "code" (else "-").
 *
 * Plain sockets and HTTP/1.0, one connection per purchase: nginx then ends
 * each answer by closing, so there is no chunking or keep-alive to follow,
 * and curl's cost per request is not paid 5,000 times on two cores.
 * Exit status 0 when every purchase got a line, 2 when it could not run.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PARALLEL_MAX 512
#define ANSWER_MAX 8192
#define REQUEST_MAX 1024
#define TIMEOUT_MS 60000

static const char *const strategies[] = { "pessimistic", "atomic", "optimistic",
    "batched" };
#define STRATEGIES (sizeof(strategies) / sizeof(strategies[0]))

struct slot {
	int fd;                 /* -1: free */
	long seq;
	int connected;
	size_t sent, req_len, len;
	long long started;
	char req[REQUEST_MAX];
	char answer[ANSWER_MAX];
};

struct run {
	struct sockaddr_in addr;
	const char *prefix;
	int quantity;           /* 0: 1, every fourth one 2 */
	char **items;
	int nitems;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Spreads the purchases over the items without a pattern nginx or the
 * pool could line up with. */
static unsigned
mix(unsigned long x)
{
	x ^= x >> 16;
	x *= 0x45d9f3bUL;
	x ^= x >> 16;
	return (unsigned)x;
}

static const char *
item_of(const struct run *run, long seq)
{
	return run->items[mix((unsigned long)seq) % (unsigned)run->nitems];
}

static int
quantity_of(const struct run *run, long seq)
{
	if (run->quantity > 0)
		return run->quantity;
	return seq % 4 == 3 ? 2 : 1;
}

/* Starts purchase seq in slot s. Returns 0, or -1 when no socket. */
static int
start(const struct run *run, struct slot *s, long seq)
{
	char body[256];
	int n, flags;

	n = snprintf(body, sizeof(body),
	    "{\"buyer\":\"%s-%ld\",\"strategy\":\"%s\",\"quantity\":%d}",
	    run->prefix, seq, strategies[seq % STRATEGIES], quantity_of(run, seq));
	if (n < 0 || (size_t)n >= sizeof(body))
		return -1;
	n = snprintf(s->req, sizeof(s->req),
	    "POST /api/items/%s/purchase HTTP/1.0\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\nIdempotency-Key: %s-%ld\r\n"
	    "Content-Length: %d\r\n\r\n%s",
	    item_of(run, seq), run->prefix, seq, n, body);
	if (n < 0 || (size_t)n >= sizeof(s->req))
		return -1;
	s->req_len = (size_t)n;
	s->sent = s->len = 0;
	s->seq = seq;
	s->connected = 0;
	s->started = now_ms();
	if ((s->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if ((flags = fcntl(s->fd, F_GETFL)) < 0 ||
	    fcntl(s->fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	if (connect(s->fd, (const struct sockaddr *)&run->addr,
	    sizeof(run->addr)) == 0 || errno == EINPROGRESS)
		return 0;
	/* Refused at once: the line says so (status 0); not a failure to run. */
	s->connected = -1;
	return 0;
}

/* Prints the line of slot s and frees it. */
static void
finish(const struct run *run, struct slot *s)
{
	char code[64] = "-";
	const char *body, *p;
	long long order_id = 0;
	int status = 0;

	s->answer[s->len] = '\0';
	if (sscanf(s->answer, "HTTP/1.%*1d %3d", &status) != 1)
		status = 0;
	body = strstr(s->answer, "\r\n\r\n");
	if (status != 0 && body != NULL) {
		if (status == 201 && (p = strstr(body, "\"order\":{\"id\":")) != NULL)
			order_id = atoll(p + strlen("\"order\":{\"id\":"));
		if ((p = strstr(body, "\"code\":\"")) != NULL) {
			size_t n = strcspn(p + 8, "\"");
			if (n >= sizeof(code))
				n = sizeof(code) - 1;
			memcpy(code, p + 8, n);
			code[n] = '\0';
		}
	}
	printf("%ld\t%s\t%s\t%d\t%s-%ld\t%s-%ld\t%d\t%lld\t%s\n", s->seq,
	    item_of(run, s->seq), strategies[s->seq % STRATEGIES], quantity_of(run, s->seq),
	    run->prefix, s->seq, run->prefix, s->seq, status, order_id, code);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Moves slot s on after poll said something; finishes it when done. */
static void
step(const struct run *run, struct slot *s, short revents)
{
	ssize_t n;

	if (s->connected == 0 && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			finish(run, s);
			return;
		}
		s->connected = 1;
	}
	if (s->connected == 1 && s->sent < s->req_len) {
		n = send(s->fd, s->req + s->sent, s->req_len - s->sent, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			finish(run, s);
			return;
		}
		if (n > 0)
			s->sent += (size_t)n;
		return;
	}
	if (s->connected == 1 && (revents & (POLLIN | POLLERR | POLLHUP))) {
		n = recv(s->fd, s->answer + s->len, ANSWER_MAX - 1 - s->len, 0);
		if (n > 0)
			s->len += (size_t)n;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
		    s->len == ANSWER_MAX - 1)
			finish(run, s);
	}
}

static int
parse_addr(const char *arg, struct sockaddr_in *sin)
{
	const char *colon = strrchr(arg, ':');
	char host[64];
	size_t hl;

	if (colon == NULL || (hl = (size_t)(colon - arg)) >= sizeof(host))
		return -1;
	memcpy(host, arg, hl);
	host[hl] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static struct slot slots[PARALLEL_MAX];
	struct pollfd pfds[PARALLEL_MAX];
	struct run run;
	long n, next = 1, done = 0;
	int parallel = 32, opt, map[PARALLEL_MAX];
	double rate = 0;
	long long t0;

	signal(SIGPIPE, SIG_IGN);
	/* A line per answer as it comes, so a test can count them mid-run. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	run.prefix = "chaos";
	while ((opt = getopt(argc, argv, "c:r:p:q:")) != -1) {
		switch (opt) {
		case 'c': parallel = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'p': run.prefix = optarg; break;
		case 'q': run.quantity = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (argc - optind < 3 || parallel < 1 || parallel > PARALLEL_MAX ||
	    run.quantity < 0 || run.quantity > 100 ||
	    parse_addr(argv[optind], &run.addr) != 0 ||
	    (n = atol(argv[optind + 1])) < 1)
		goto usage;
	run.items = argv + optind + 2;
	run.nitems = argc - optind - 2;
	for (int i = 0; i < parallel; i++)
		slots[i].fd = -1;

	t0 = now_ms();
	while (done < n) {
		long long t = now_ms();
		int np = 0, rc;

		/* Start what is due, into free slots. */
		for (int i = 0; i < parallel && next <= n; i++) {
			if (slots[i].fd >= 0)
				continue;
			if (rate > 0 && t < t0 + (long long)((next - 1) * 1000.0 / rate))
				break;
			if (start(&run, &slots[i], next++) != 0) {
				perror("chaos_buy: socket");
				return 2;
			}
			if (slots[i].connected < 0) {
				finish(&run, &slots[i]);
				done++;
			}
		}
		for (int i = 0; i < parallel; i++) {
			if (slots[i].fd < 0)
				continue;
			if (t - slots[i].started > TIMEOUT_MS) {
				slots[i].len = 0;   /* no answer in time: status 0 */
				finish(&run, &slots[i]);
				done++;
				continue;
			}
			pfds[np].fd = slots[i].fd;
			pfds[np].events = slots[i].connected == 0 ||
			    slots[i].sent < slots[i].req_len ? POLLOUT : POLLIN;
			pfds[np].revents = 0;
			map[np++] = i;
		}
		rc = poll(pfds, (nfds_t)np, 10);
		if (rc < 0 && errno != EINTR) {
			perror("chaos_buy: poll");
			return 2;
		}
		for (int k = 0; rc > 0 && k < np; k++) {
			struct slot *s = &slots[map[k]];

			if (pfds[k].revents == 0)
				continue;
			step(&run, s, pfds[k].revents);
			if (s->fd < 0)
				done++;
		}
	}
	fflush(stdout);
	fprintf(stderr, "chaos_buy: %ld purchases in %lld ms\n", n, now_ms() - t0);
	return 0;
usage:
	fprintf(stderr, "usage: chaos_buy [-c PARALLEL] [-r PER_SECOND] "
	    "[-p PREFIX] [-q QUANTITY] HOST:PORT N ITEM...\n");
	return 2;
}
