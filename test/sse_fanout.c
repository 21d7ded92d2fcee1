/*
 * sse_fanout — the load client of the fan-out benchmark
 * (scripts/bench_fanout.sh): how long an event takes to reach every one of
 * N open Server-Sent Events streams, and what each stream costs the server.
 *
 * One run:
 *   1. reads the baseline memory of the processes named with --mem;
 *   2. forks --procs workers that open N streams between them, each an
 *      epoll loop of non-blocking sockets spread over source addresses
 *      127.0.0.B … (ephemeral ports are per source address), at most
 *      --pending streams of a worker waiting for their first event at once;
 *   3. waits until every stream has had its first event (lastitem's
 *      snapshot; for nchan, a "snapshot" message published before);
 *   4. fires --events triggers, --interval-ms apart, each a plain HTTP POST
 *      on a fresh connection: lastitem's purchase, or a publish to nchan.
 *      The clock starts when the first bytes of the answer (the 201)
 *      arrive: that is when a buyer would see the sale;
 *   5. waits until every stream has every event (or --settle seconds),
 *      reads the memory again with the N streams still open, and prints
 *      one FANOUT line of key=value pairs.
 *
 * Each `item` event is matched to its trigger by its version (lastitem's
 * 201 carries the new version; nchan's message carries the one we gave
 * it), each `order` event by its order id. For lastitem, a trigger's item
 * arrived with the first `item` of that version or a newer one: an item
 * event that a newer one follows in its tick is not sent (doc/api.md
 * "Ticks"), and the newer one shows the stream what it would have. The latency of a (stream,
 * event) pair is its arrival at that stream minus the trigger's answer,
 * on CLOCK_MONOTONIC, which all processes share. Workers write arrivals
 * into memory shared with the parent, so nothing has to be sent back.
 *
 * The client runs on the same two cores as the server: its own reading of
 * N sockets per event is part of every number, for both servers alike.
 *
 * With --stampede M (the soak, scripts/bench_soak.sh), step 4 is instead M
 * purchases of --item at once from --buyers processes, each on a fresh
 * connection; every stream keeps the quantity of --item from the newest
 * item event it got, and step 5 waits until every stream shows 0. It
 * prints one SOAK line: the answers by status, how many streams ended
 * on 0 and on the newest version any stream saw, and how many saw every
 * order exactly once: each order id once (the streams of --path), or
 * `orders` summaries whose counts add up to the orders made (the streams
 * of --summary-path, every other one when it is given).
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FAN_MAX_PROCS   16
#define FAN_MAX_MEM     4
#define FAN_MAX_PIDS    32
/* Longer lines are cut. An `orders` event names up to 5 orders, each of
 * whose id counts (make bench-fanout): 2 KiB holds them with room. */
#define FAN_LINE_MAX    2048
#define FAN_DATA_MAX    2048
#define FAN_NAME_MAX    16

enum fan_mode { MODE_LASTITEM, MODE_NCHAN };

/* What a stream became; written by a worker, read by the parent. */
enum fan_state {
	ST_NEW,          /* not yet opened, or opening */
	ST_READY,        /* had its first event: counts */
	ST_FAILED,       /* closed or refused before its first event */
	ST_DROPPED       /* closed after its first event */
};

struct fan_mem {
	const char *name;
	pid_t pids[FAN_MAX_PIDS];
	int npids;
	long rss_base, pss_base, rss, pss;       /* KiB, summed over pids */
	long long cpu_start, cpu_end;            /* clock ticks, summed */
};

struct fan_config {
	enum fan_mode mode;
	const char *label;
	struct sockaddr_in server;
	struct sockaddr_in trigger_server;   /* --trigger-connect, or server */
	const char *path;            /* the stream */
	const char *summary_path;    /* the path of all streams but every
	                                full_every-th, when not NULL */
	int full_every;
	const char *trigger_path;    /* the purchase, or the publisher */
	int nclients, nprocs, nevents, interval_ms;
	int src_base, src_count;     /* 127.0.0.src_base … */
	int pending_max;
	int connect_seconds, settle_seconds;
	struct fan_mem mem[FAN_MAX_MEM];
	int nmem;
	const char *watch_item;      /* the soak's item: its quantity is kept */
	int stampede, buyers;        /* the soak's purchases, and buyers */
	int hold_ms;                 /* the soak: READY, then this pause */
};

/* One arrival: the event's key (version or order id) and when. */
struct fan_arrival {
	int64_t key;
	int64_t t_ns;
};

/* The memory shared by the parent and its workers. */
struct fan_shared {
	int cap;                     /* arrivals kept per stream and kind */
	int nclients;
	int *state;                  /* enum fan_state, per stream */
	int *nitem, *norder;         /* arrivals seen, per stream */
	int *status;                 /* the HTTP status of the stream */
	struct fan_arrival *item;    /* [nclients][cap] */
	struct fan_arrival *order;
	int64_t *wver;               /* newest version of the watched item */
	int *wqty;                   /* and its quantity then, per stream */
	int *nsum;                   /* orders counted by `orders` summaries */
	int *nframes;                /* events received, per stream */
	int *soak;                   /* the soak's counters: SOAK_* */
};

/* The soak's shared counters: the next purchase, and the answers. */
enum { SOAK_NEXT, SOAK_201, SOAK_409, SOAK_OTHER, SOAK_NONE,
    SOAK_SOLD_MS,                /* the last 201's answer, ms into the sale */
    SOAK_N };

/* One trigger, as the parent saw it. */
struct fan_trigger {
	int64_t t_sent, t_answer;    /* request written, first byte of answer */
	int status;
	int64_t version, order_id;   /* -1 when unknown */
};

enum conn_phase { PH_CONNECTING, PH_HEADERS, PH_BODY, PH_CLOSED };
enum chunk_state { CK_SIZE, CK_EXT, CK_DATA, CK_DATA_CR, CK_DATA_LF };

/* A stream in a worker. */
struct fan_conn {
	int fd;
	int idx;                     /* global stream number */
	uint8_t phase, chunked, ckstate, ready;
	uint32_t chunk_left;
	uint16_t llen, dlen;
	char line[FAN_LINE_MAX];
	char name[FAN_NAME_MAX];
	char data[FAN_DATA_MAX];
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
sleep_until(int64_t t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(t / 1000000000);
	ts.tv_nsec = (long)(t % 1000000000);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void *
shared_alloc(size_t size)
{
	void *p;

	if (size == 0)
		size = 1;            /* the soak's sale without streams */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Returns 0, or -1 when out of memory. */
static int
shared_init(struct fan_shared *sh, int nclients, int cap)
{
	size_t n = (size_t)nclients;

	sh->cap = cap;
	sh->nclients = nclients;
	sh->state = shared_alloc(n * sizeof(int));
	sh->nitem = shared_alloc(n * sizeof(int));
	sh->norder = shared_alloc(n * sizeof(int));
	sh->status = shared_alloc(n * sizeof(int));
	sh->item = shared_alloc(n * (size_t)cap * sizeof(struct fan_arrival));
	sh->order = shared_alloc(n * (size_t)cap * sizeof(struct fan_arrival));
	sh->wver = shared_alloc(n * sizeof(int64_t));
	sh->wqty = shared_alloc(n * sizeof(int));
	sh->nsum = shared_alloc(n * sizeof(int));
	sh->nframes = shared_alloc(n * sizeof(int));
	sh->soak = shared_alloc(SOAK_N * sizeof(int));
	if (sh->wqty != NULL)
		for (size_t i = 0; i < n; i++)
			sh->wqty[i] = -1;
	return sh->state && sh->nitem && sh->norder && sh->status && sh->item &&
	    sh->order && sh->wver && sh->wqty && sh->nsum && sh->nframes &&
	    sh->soak ? 0 : -1;
}

static void
set_state(struct fan_shared *sh, int idx, int st)
{
	__atomic_store_n(&sh->state[idx], st, __ATOMIC_RELEASE);
}

static int
get_state(const struct fan_shared *sh, int idx)
{
	return __atomic_load_n(&sh->state[idx], __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------- memory */

/* Adds the "Key:   N kB" value of FILE to *sum. Returns 0, or -1. */
static int
proc_kb(pid_t pid, const char *file, const char *key, long *sum)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	FILE *f;
	int found = -1;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			*sum += strtol(line + kl + 1, NULL, 10);
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

static void
mem_read(struct fan_mem *m, long *rss, long *pss)
{
	*rss = *pss = 0;
	for (int i = 0; i < m->npids; i++) {
		(void)proc_kb(m->pids[i], "status", "VmRSS", rss);
		(void)proc_kb(m->pids[i], "smaps_rollup", "Pss", pss);
	}
}

/* The CPU time pid has used, user and system, in clock ticks; 0 if gone. */
static long long
proc_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name may hold anything: the fields start after its last ')'. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return 0;
	return (long long)(ut + st);
}

/* Ticks the whole machine has been busy, every core added up. */
static long long
machine_ticks(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f;

	if ((f = fopen("/proc/stat", "r")) == NULL)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
	    &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		v[0] = v[1] = v[2] = v[5] = v[6] = v[7] = 0;
	fclose(f);
	/* user nice system [idle iowait] irq softirq steal */
	return (long long)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
}

static long long
pids_ticks(const pid_t *pids, int n)
{
	long long t = 0;

	for (int i = 0; i < n; i++)
		t += proc_ticks(pids[i]);
	return t;
}

/* ------------------------------------------------------------- a stream */

static void
conn_close(struct fan_shared *sh, struct fan_conn *c, int *pending)
{
	if (c->phase == PH_CLOSED)
		return;
	close(c->fd);           /* SO_LINGER 0: a reset, no TIME_WAIT */
	c->fd = -1;
	c->phase = PH_CLOSED;
	if (c->ready)
		set_state(sh, c->idx, ST_DROPPED);
	else {
		set_state(sh, c->idx, ST_FAILED);
		(*pending)--;
	}
}

/* The number after the first "key": in data, or -1. */
static int64_t
json_number_after(const char *data, const char *key)
{
	const char *p = strstr(data, key);

	if (p == NULL)
		return -1;
	p += strlen(key);
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	return strtoll(p, NULL, 10);
}

static void
record(struct fan_shared *sh, struct fan_arrival *table, int *count, int idx,
    int64_t key, int64_t t)
{
	int n = count[idx];

	if (key < 0 || n >= sh->cap)
		return;
	table[(size_t)idx * (size_t)sh->cap + (size_t)n].key = key;
	table[(size_t)idx * (size_t)sh->cap + (size_t)n].t_ns = t;
	__atomic_store_n(&count[idx], n + 1, __ATOMIC_RELEASE);
}

/* An item event of the watched item: keeps its newest quantity. */
static void
watch(const struct fan_config *cfg, struct fan_shared *sh, int idx,
    const char *data)
{
	char key[96];
	int64_t v, q;

	snprintf(key, sizeof(key), "\"id\":\"%s\"", cfg->watch_item);
	if (strstr(data, key) == NULL ||
	    (v = json_number_after(data, "\"version\":")) < 0 ||
	    (q = json_number_after(data, "\"quantity\":")) < 0 ||
	    v <= sh->wver[idx])
		return;
	sh->wver[idx] = v;
	__atomic_store_n(&sh->wqty[idx], (int)q, __ATOMIC_RELEASE);
}

static const struct fan_config *the_cfg;   /* for sse_dispatch: one per run */

/* A blank line ends an event: the first makes the stream ready. */
static void
sse_dispatch(struct fan_shared *sh, struct fan_conn *c, int64_t t, int *pending)
{
	if (c->dlen == 0 && c->name[0] == '\0')
		return;         /* retry:, id: or comments alone */
	c->data[c->dlen] = '\0';
	__atomic_fetch_add(&sh->nframes[c->idx], 1, __ATOMIC_RELAXED);
	if (!c->ready) {
		c->ready = 1;
		(*pending)--;
		set_state(sh, c->idx, ST_READY);
	} else if (strcmp(c->name, "item") == 0) {
		record(sh, sh->item, sh->nitem, c->idx,
		    json_number_after(c->data, "\"version\":"), t);
		if (the_cfg->watch_item != NULL)
			watch(the_cfg, sh, c->idx, c->data);
	}
	else if (strcmp(c->name, "order") == 0)
		record(sh, sh->order, sh->norder, c->idx,
		    json_number_after(c->data, "\"id\":"), t);
	else if (strcmp(c->name, "orders") == 0) {
		int64_t n = json_number_after(c->data, "\"count\":");
		const char *o = strstr(c->data, "\"orders\":[");

		if (n > 0)
			__atomic_fetch_add(&sh->nsum[c->idx], (int)n, __ATOMIC_ACQ_REL);
		/* The newest orders it names arrive with it (a page's stream:
		 * make bench-fanout follows the pages). Each order's first
		 * "id": is its own (item_id has no quote before id). */
		while (o != NULL && (o = strstr(o, "{\"id\":")) != NULL) {
			record(sh, sh->order, sh->norder, c->idx,
			    json_number_after(o, "{\"id\":"), t);
			o++;
		}
	}
	c->name[0] = '\0';
	c->dlen = 0;
}

static void
sse_line(struct fan_shared *sh, struct fan_conn *c, int64_t t, int *pending)
{
	const char *v;
	size_t n;

	if (c->llen > 0 && c->line[c->llen - 1] == '\r')
		c->llen--;
	c->line[c->llen] = '\0';
	if (c->llen == 0) {
		sse_dispatch(sh, c, t, pending);
		return;
	}
	if (strncmp(c->line, "event:", 6) == 0) {
		v = c->line + 6 + (c->line[6] == ' ');
		n = strlen(v) < sizeof(c->name) - 1 ? strlen(v) : sizeof(c->name) - 1;
		memcpy(c->name, v, n);
		c->name[n] = '\0';
	} else if (strncmp(c->line, "data:", 5) == 0) {
		v = c->line + 5 + (c->line[5] == ' ');
		n = strlen(v);
		if (c->dlen > 0 && c->dlen < FAN_DATA_MAX - 1)
			c->data[c->dlen++] = '\n';
		if (n > (size_t)(FAN_DATA_MAX - 1 - c->dlen))
			n = (size_t)(FAN_DATA_MAX - 1 - c->dlen);
		memcpy(c->data + c->dlen, v, n);
		c->dlen += (uint16_t)n;
	}
}

static void
sse_feed(struct fan_shared *sh, struct fan_conn *c, const char *p, size_t n,
    int64_t t, int *pending)
{
	const char *end = p + n, *nl;
	size_t take;

	/* A line at a time (memchr), not a byte at a time: 10,000 streams
	 * read hundreds of megabytes in a soak, on the cores of the sale. */
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		take = (size_t)((nl != NULL ? nl : end) - p);
		if (take > (size_t)(FAN_LINE_MAX - 1 - c->llen))
			take = (size_t)(FAN_LINE_MAX - 1 - c->llen);
		memcpy(c->line + c->llen, p, take);
		c->llen += take;
		if (nl == NULL)
			return;
		sse_line(sh, c, t, pending);
		c->llen = 0;
		p = nl + 1;
	}
}

/* The response head, line by line. Returns 0, or -1 when not a stream. */
static int
head_line(struct fan_shared *sh, struct fan_conn *c)
{
	if (c->llen > 0 && c->line[c->llen - 1] == '\r')
		c->llen--;
	c->line[c->llen] = '\0';
	if (c->llen == 0) {
		if (sh->status[c->idx] != 200)
			return -1;
		c->phase = PH_BODY;
		return 0;
	}
	if (strncmp(c->line, "HTTP/1.", 7) == 0 && c->llen >= 12)
		sh->status[c->idx] = atoi(c->line + 9);
	else if (strncasecmp(c->line, "transfer-encoding:", 18) == 0 &&
	    strstr(c->line, "chunked") != NULL)
		c->chunked = 1;
	return 0;
}

/* Feeds bytes read from the socket. Returns 0, or -1 to close it. */
static int
conn_feed(struct fan_shared *sh, struct fan_conn *c, const char *p, size_t n,
    int64_t t, int *pending)
{
	size_t i = 0, take;
	int d;

	while (i < n) {
		if (c->phase == PH_HEADERS) {
			if (p[i] == '\n') {
				if (head_line(sh, c) != 0)
					return -1;
				c->llen = 0;
			} else if (c->llen < FAN_LINE_MAX - 1)
				c->line[c->llen++] = p[i];
			i++;
			continue;
		}
		if (!c->chunked) {
			sse_feed(sh, c, p + i, n - i, t, pending);
			return 0;
		}
		switch (c->ckstate) {
		case CK_SIZE:
			if (p[i] == '\n') {
				if (c->chunk_left == 0)
					return -1;          /* the last chunk: the end */
				c->ckstate = CK_DATA;
			} else if (p[i] == ';')
				c->ckstate = CK_EXT;
			else if (p[i] != '\r') {
				d = p[i] >= '0' && p[i] <= '9' ? p[i] - '0' :
				    (p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f' ?
				    (p[i] | 0x20) - 'a' + 10 : -1;
				if (d < 0 || c->chunk_left > 0x0fffffff)
					return -1;
				c->chunk_left = c->chunk_left * 16 + (uint32_t)d;
			}
			i++;
			break;
		case CK_EXT:
			if (p[i] == '\n')
				c->ckstate = c->chunk_left ? CK_DATA : CK_SIZE;
			i++;
			break;
		case CK_DATA:
			take = n - i < c->chunk_left ? n - i : c->chunk_left;
			sse_feed(sh, c, p + i, take, t, pending);
			i += take;
			c->chunk_left -= (uint32_t)take;
			if (c->chunk_left == 0)
				c->ckstate = CK_DATA_CR;
			break;
		case CK_DATA_CR:
		case CK_DATA_LF:
			if (p[i] == '\n')
				c->ckstate = CK_SIZE;
			i++;
			break;
		}
	}
	return 0;
}

/* ------------------------------------------------------------- a worker */

/* Opens stream c. Returns 0, or -1 when it could not even start. */
static int
conn_open(const struct fan_config *cfg, struct fan_conn *c, int epfd)
{
	struct sockaddr_in src;
	struct epoll_event e;
	struct linger lg = { 1, 0 };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000000u |
	    (uint32_t)(cfg->src_base + c->idx % cfg->src_count));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	(void)setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
	    (connect(c->fd, (const struct sockaddr *)&cfg->server,
	    sizeof(cfg->server)) != 0 && errno != EINPROGRESS)) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	memset(&e, 0, sizeof(e));
	e.events = EPOLLOUT;
	e.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &e) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->phase = PH_CONNECTING;
	return 0;
}

/* Whether stream idx follows the summary path. */
static int
is_summary(const struct fan_config *cfg, int idx)
{
	return cfg->summary_path != NULL && idx % cfg->full_every != 0;
}

/* Connected: sends the request. Returns 0, or -1. */
static int
conn_request(const struct fan_config *cfg, struct fan_conn *c, int epfd)
{
	struct epoll_event e;
	char req[512];
	int err = 0, n;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
		return -1;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
	    is_summary(cfg, c->idx) ? cfg->summary_path :
	    cfg->path);
	if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		return -1;
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN | EPOLLRDHUP;
	e.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e) != 0)
		return -1;
	c->phase = PH_HEADERS;
	c->llen = 0;
	return 0;
}

/*
 * Runs streams [lo, hi) until the parent closes cmd_fd (or dies). Never
 * returns.
 */
static void
worker_run(const struct fan_config *cfg, struct fan_shared *sh, int lo, int hi,
    int cmd_fd)
{
	struct epoll_event evs[512], e;
	struct fan_conn *conns, *c;
	static char buf[65536];
	int epfd, n, next = lo, pending = 0, count = hi - lo;
	ssize_t got;
	int64_t t;

	if ((conns = calloc((size_t)count, sizeof(*conns))) == NULL ||
	    (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		_exit(2);
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.ptr = NULL;               /* the parent's pipe */
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, cmd_fd, &e) != 0)
		_exit(2);
	for (;;) {
		while (next < hi && pending < cfg->pending_max) {
			c = &conns[next - lo];
			c->idx = next++;
			if (conn_open(cfg, c, epfd) != 0) {
				c->phase = PH_CLOSED;
				set_state(sh, c->idx, ST_FAILED);
			} else
				pending++;
		}
		n = epoll_wait(epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), 1000);
		if (n < 0 && errno != EINTR)
			_exit(2);
		for (int i = 0; i < n; i++) {
			if ((c = evs[i].data.ptr) == NULL)
				_exit(0);        /* the parent is done with us */
			if (c->phase == PH_CLOSED)
				continue;
			if (c->phase == PH_CONNECTING) {
				if (conn_request(cfg, c, epfd) != 0)
					conn_close(sh, c, &pending);
				continue;
			}
			got = recv(c->fd, buf, sizeof(buf), 0);
			t = now_ns();
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (got <= 0 || conn_feed(sh, c, buf, (size_t)got, t,
			    &pending) != 0)
				conn_close(sh, c, &pending);
		}
	}
}

/* ------------------------------------------------------------- triggers */

/*
 * Fires one trigger: a POST on a fresh connection, Connection: close. Fills
 * tr. Returns 0, or -1 when there was no answer.
 */
static int
trigger_fire(const struct fan_config *cfg, int k, struct fan_trigger *tr)
{
	char req[1024], body[256], resp[8192];
	const char *item;
	size_t have = 0;
	ssize_t got;
	int fd, rn, bn;

	tr->status = 0;
	tr->version = tr->order_id = -1;
	if (cfg->mode == MODE_NCHAN) {
		tr->version = k + 1;
		bn = snprintf(body, sizeof(body),
		    "{\"id\":\"fanout\",\"quantity\":%d,\"version\":%d}", k, k + 1);
		rn = snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "Content-Type: application/json\r\nX-EventSource-Event: %s\r\n"
		    "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
		    cfg->trigger_path, k < 0 ? "snapshot" : "item", bn, body);
	} else {
		bn = snprintf(body, sizeof(body), "{\"buyer\":\"fanout\"}");
		rn = snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "Content-Type: application/json\r\nContent-Length: %d\r\n"
		    "Connection: close\r\n\r\n%s", cfg->trigger_path, bn, body);
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&cfg->trigger_server,
	    sizeof(cfg->trigger_server)) != 0) {
		close(fd);
		return -1;
	}
	tr->t_sent = now_ns();
	if (send(fd, req, (size_t)rn, MSG_NOSIGNAL) != rn) {
		close(fd);
		return -1;
	}
	while (have < sizeof(resp) - 1 &&
	    (got = recv(fd, resp + have, sizeof(resp) - 1 - have, 0)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (have == 0)
			tr->t_answer = now_ns();
		have += (size_t)got;
	}
	close(fd);
	resp[have] = '\0';
	if (have < 12 || strncmp(resp, "HTTP/1.", 7) != 0)
		return -1;
	tr->status = atoi(resp + 9);
	if (cfg->mode == MODE_LASTITEM && tr->status == 201) {
		tr->order_id = json_number_after(resp, "\"order\":{\"id\":");
		if ((item = strstr(resp, "\"item\":{")) != NULL)
			tr->version = json_number_after(item, "\"version\":");
	}
	return 0;
}

/* ------------------------------------------------------------- the soak */

/*
 * The soak's stampede: cfg->buyers processes take purchase numbers from a
 * shared counter until cfg->stampede are made, each a trigger_fire() on a
 * fresh connection, and count the answers. Returns once all are answered.
 */
static int
stampede_run(const struct fan_config *cfg, struct fan_shared *sh)
{
	pid_t *pids, parent = getpid();
	struct fan_trigger tr;
	int n, slot, failed = 0, ms, seen;
	int64_t t0 = now_ns();

	if ((pids = calloc((size_t)cfg->buyers, sizeof(*pids))) == NULL)
		return -1;
	for (n = 0; n < cfg->buyers; n++) {
		if ((pids[n] = fork()) < 0) {
			failed = 1;
			break;
		}
		if (pids[n] > 0)
			continue;
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		while (__atomic_fetch_add(&sh->soak[SOAK_NEXT], 1,
		    __ATOMIC_ACQ_REL) < cfg->stampede) {
			if (trigger_fire(cfg, 0, &tr) != 0)
				slot = SOAK_NONE;
			else
				slot = tr.status == 201 ? SOAK_201 :
				    tr.status == 409 ? SOAK_409 : SOAK_OTHER;
			__atomic_fetch_add(&sh->soak[slot], 1, __ATOMIC_ACQ_REL);
			if (slot != SOAK_201)
				continue;
			ms = (int)((tr.t_answer - t0) / 1000000);
			seen = __atomic_load_n(&sh->soak[SOAK_SOLD_MS],
			    __ATOMIC_ACQUIRE);
			while (ms > seen && !__atomic_compare_exchange_n(
			    &sh->soak[SOAK_SOLD_MS], &seen, ms, 0,
			    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				;
		}
		_exit(0);
	}
	for (int i = 0; i < n; i++)
		(void)waitpid(pids[i], NULL, 0);
	free(pids);
	return failed ? -1 : 0;
}

/* Streams still open whose newest view of the item is not quantity 0. */
static int
count_not_zero(const struct fan_shared *sh)
{
	int n = 0;

	for (int i = 0; i < sh->nclients; i++)
		if (get_state(sh, i) == ST_READY &&
		    __atomic_load_n(&sh->wqty[i], __ATOMIC_ACQUIRE) != 0)
			n++;
	return n;
}

/* What the streams saw of the soak's sale, once it settled. */
static struct {
	int64_t max_version;         /* the newest version any stream saw */
	int at_max_version;          /* streams that saw it */
	int orders_streams, orders_exact;    /* each order id exactly once */
	int summary_streams, summary_exact;  /* summary counts add up */
	long long frames;                    /* events received in all */
} soak_result;

static int cmp_i64(const void *a, const void *b);

static void
soak_orders(const struct fan_config *cfg, const struct fan_shared *sh,
    int created)
{
	int64_t *keys = calloc((size_t)sh->cap + 1, sizeof(*keys));

	for (int i = 0; i < sh->nclients; i++)
		if (get_state(sh, i) == ST_READY && sh->wver[i] > soak_result.max_version)
			soak_result.max_version = sh->wver[i];
	for (int i = 0; i < sh->nclients; i++) {
		int n, distinct = 0, dup = 0;

		soak_result.frames += __atomic_load_n(&sh->nframes[i], __ATOMIC_ACQUIRE);
		if (get_state(sh, i) != ST_READY)
			continue;
		soak_result.at_max_version += sh->wver[i] == soak_result.max_version;
		if (is_summary(cfg, i)) {
			soak_result.summary_streams++;
			soak_result.summary_exact += sh->nsum[i] == created;
			continue;
		}
		soak_result.orders_streams++;
		if (keys == NULL)
			continue;
		n = __atomic_load_n(&sh->norder[i], __ATOMIC_ACQUIRE);
		for (int k = 0; k < n; k++)
			keys[k] = sh->order[(size_t)i * (size_t)sh->cap + (size_t)k].key;
		qsort(keys, (size_t)n, sizeof(*keys), cmp_i64);
		for (int k = 0; k < n; k++) {
			if (k > 0 && keys[k] == keys[k - 1])
				dup++;
			else
				distinct++;
		}
		soak_result.orders_exact += distinct == created && dup == 0;
	}
	free(keys);
}

/* ------------------------------------------------------------- results */

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) of sorted v[n], in microseconds. */
static double
quantile_us(const int64_t *v, size_t n, double q)
{
	size_t r;

	if (n == 0)
		return -1;
	r = (size_t)(q * (double)n + 0.999999);
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return (double)v[r - 1] / 1000.0;
}

/* The first arrival at stream idx with this key, or (at_least) with a key
 * of at least this one: the first `item` event that shows that version
 * (versions only grow on a stream). */
static const struct fan_arrival *
find_arrival(const struct fan_shared *sh, const struct fan_arrival *table,
    const int *count, int idx, int64_t key, int at_least)
{
	const struct fan_arrival *a = table + (size_t)idx * (size_t)sh->cap;
	int n = __atomic_load_n(&count[idx], __ATOMIC_ACQUIRE);

	for (int i = 0; i < n; i++)
		if (a[i].key == key || (at_least && a[i].key > key))
			return &a[i];
	return NULL;
}

/* The arrival of a trigger's item event at stream idx (see the top). */
static const struct fan_arrival *
item_arrival(const struct fan_config *cfg, const struct fan_shared *sh,
    int idx, int64_t version)
{
	return find_arrival(sh, sh->item, sh->nitem, idx, version,
	    cfg->mode == MODE_LASTITEM);
}

/* ------------------------------------------------------------- options */

static const char usage[] =
"usage: sse_fanout --connect HOST:PORT --mode lastitem|nchan [options]\n"
"  --path PATH          the stream (/api/events; nchan: /sub)\n"
"  --summary-path PATH  the path of every stream but each --full-every-th (the soak)\n"
"  --full-every N       (2)\n"
"  --trigger PATH       what to POST (/api/items/launch-hoodie/purchase; nchan: /pub)\n"
"  --trigger-connect HOST:PORT  where to POST it (--connect)\n"
"  -n N                 streams (1000)\n"
"  --procs P            worker processes (2)\n"
"  --src-base B         first source address 127.0.0.B (2)\n"
"  --src-count C        source addresses (4)\n"
"  --pending N          streams a worker may have waiting for their first event (256)\n"
"  --events K           triggers (20)\n"
"  --interval-ms MS     between triggers (150)\n"
"  --connect-timeout S  for every stream to have its first event (60)\n"
"  --settle S           after the last trigger, for every event to arrive (10)\n"
"  --mem NAME=PID,PID…  processes whose memory to report (up to 4 groups)\n"
"  --label TEXT         a name for the FANOUT line\n"
"  --stampede M         the soak: M purchases at once instead of --events\n"
"  --buyers B           processes making them (64)\n"
"  --item ID            the item bought, whose quantity each stream keeps\n"
"  --hold-ms MS         the soak: once the streams are open, print READY and\n"
"                       wait this long before the purchases (0)\n";

static int
parse_mem(struct fan_config *cfg, char *arg)
{
	struct fan_mem *m;
	char *eq = strchr(arg, '='), *tok, *save = NULL;

	if (eq == NULL || cfg->nmem >= FAN_MAX_MEM)
		return -1;
	m = &cfg->mem[cfg->nmem++];
	*eq = '\0';
	m->name = arg;
	for (tok = strtok_r(eq + 1, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		if (m->npids < FAN_MAX_PIDS && atoi(tok) > 0)
			m->pids[m->npids++] = atoi(tok);
	return 0;
}

/* HOST:PORT (IPv4) into sa. Returns 0, or -1. */
static int
parse_addr(const char *addr, struct sockaddr_in *sa)
{
	const char *colon = strrchr(addr, ':');
	char host[64];

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int
parse_options(struct fan_config *cfg, int argc, char **argv)
{
	static const struct option options[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "path", required_argument, NULL, 'p' },
		{ "summary-path", required_argument, NULL, 'Y' },
		{ "full-every", required_argument, NULL, 'E' },
		{ "trigger", required_argument, NULL, 't' },
		{ "procs", required_argument, NULL, 'P' },
		{ "src-base", required_argument, NULL, 'b' },
		{ "src-count", required_argument, NULL, 'C' },
		{ "pending", required_argument, NULL, 'q' },
		{ "events", required_argument, NULL, 'k' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "connect-timeout", required_argument, NULL, 'T' },
		{ "settle", required_argument, NULL, 's' },
		{ "mem", required_argument, NULL, 'M' },
		{ "label", required_argument, NULL, 'l' },
		{ "stampede", required_argument, NULL, 'S' },
		{ "buyers", required_argument, NULL, 'B' },
		{ "item", required_argument, NULL, 'I' },
		{ "hold-ms", required_argument, NULL, 'H' },
		{ "trigger-connect", required_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 }
	};
	const char *connect_to = NULL, *mode = NULL, *trigger_to = NULL;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->nclients = 1000;
	cfg->nprocs = 2;
	cfg->src_base = 2;
	cfg->src_count = 4;
	cfg->pending_max = 256;
	cfg->nevents = 20;
	cfg->interval_ms = 150;
	cfg->connect_seconds = 60;
	cfg->settle_seconds = 10;
	cfg->label = "";
	cfg->buyers = 64;
	cfg->full_every = 2;
	while ((c = getopt_long(argc, argv, "n:", options, NULL)) != -1) {
		switch (c) {
		case 'c': connect_to = optarg; break;
		case 'm': mode = optarg; break;
		case 'p': cfg->path = optarg; break;
		case 'Y': cfg->summary_path = optarg; break;
		case 'E': cfg->full_every = atoi(optarg); break;
		case 't': cfg->trigger_path = optarg; break;
		case 'n': cfg->nclients = atoi(optarg); break;
		case 'P': cfg->nprocs = atoi(optarg); break;
		case 'b': cfg->src_base = atoi(optarg); break;
		case 'C': cfg->src_count = atoi(optarg); break;
		case 'q': cfg->pending_max = atoi(optarg); break;
		case 'k': cfg->nevents = atoi(optarg); break;
		case 'i': cfg->interval_ms = atoi(optarg); break;
		case 'T': cfg->connect_seconds = atoi(optarg); break;
		case 's': cfg->settle_seconds = atoi(optarg); break;
		case 'M':
			if (parse_mem(cfg, optarg) != 0)
				return -1;
			break;
		case 'l': cfg->label = optarg; break;
		case 'S': cfg->stampede = atoi(optarg); break;
		case 'B': cfg->buyers = atoi(optarg); break;
		case 'I': cfg->watch_item = optarg; break;
		case 'H': cfg->hold_ms = atoi(optarg); break;
		case 'X': trigger_to = optarg; break;
		default: return -1;
		}
	}
	if (connect_to == NULL || mode == NULL || optind != argc)
		return -1;
	if (strcmp(mode, "lastitem") == 0)
		cfg->mode = MODE_LASTITEM;
	else if (strcmp(mode, "nchan") == 0)
		cfg->mode = MODE_NCHAN;
	else
		return -1;
	if (cfg->path == NULL)
		cfg->path = cfg->mode == MODE_NCHAN ? "/sub" : "/api/events";
	if (cfg->trigger_path == NULL)
		cfg->trigger_path = cfg->mode == MODE_NCHAN ? "/pub" :
		    "/api/items/launch-hoodie/purchase";
	if (cfg->nclients < (cfg->stampede > 0 ? 0 : 1) || cfg->hold_ms < 0 ||
	    cfg->full_every < 1 ||
	    cfg->nprocs < 1 || cfg->nprocs > FAN_MAX_PROCS ||
	    cfg->src_count < 1 || cfg->src_base < 1 ||
	    cfg->src_base + cfg->src_count > 255 || cfg->pending_max < 1 ||
	    cfg->nevents < 1 || cfg->nevents > 10000 || cfg->interval_ms < 0 ||
	    cfg->connect_seconds < 1 || cfg->settle_seconds < 1 ||
	    cfg->stampede < 0 || cfg->buyers < 1 || cfg->buyers > 1024 ||
	    (cfg->stampede > 0 && (cfg->mode != MODE_LASTITEM ||
	    cfg->watch_item == NULL || strlen(cfg->watch_item) > 64)))
		return -1;
	if (parse_addr(connect_to, &cfg->server) != 0 ||
	    parse_addr(trigger_to != NULL ? trigger_to : connect_to,
	    &cfg->trigger_server) != 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------- main */

static int
count_state(const struct fan_shared *sh, int st)
{
	int n = 0;

	for (int i = 0; i < sh->nclients; i++)
		n += get_state(sh, i) == st;
	return n;
}

/* The newest item version stream idx got (its last item event), or 0. */
static int64_t
newest_item(const struct fan_shared *sh, int idx)
{
	int n = __atomic_load_n(&sh->nitem[idx], __ATOMIC_ACQUIRE);

	return n > 0 ? sh->item[(size_t)idx * (size_t)sh->cap + (size_t)n - 1].key : 0;
}

/* Streams ready that have not yet had every event: want_items item
 * events (nchan), or an item at want_version at least (lastitem: superseded
 * item events are not sent), and want_orders order events. */
static int
count_waiting(const struct fan_shared *sh, int want_items, int64_t want_version,
    int want_orders)
{
	int n = 0;

	for (int i = 0; i < sh->nclients; i++)
		if (get_state(sh, i) == ST_READY &&
		    (__atomic_load_n(&sh->nitem[i], __ATOMIC_ACQUIRE) < want_items ||
		    newest_item(sh, i) < want_version ||
		    __atomic_load_n(&sh->norder[i], __ATOMIC_ACQUIRE) < want_orders))
			n++;
	return n;
}

int
main(int argc, char **argv)
{
	struct fan_config cfg;
	struct fan_shared sh;
	struct fan_trigger *tr;
	pid_t pids[FAN_MAX_PROCS], parent;
	int cmd[FAN_MAX_PROCS][2];
	int64_t t0, deadline, *lat, *lat_sent, *spread, *first;
	size_t nlat = 0, nlat_sent = 0, nspread = 0;
	int ready, failed, dropped, waiting, fired = 0, good = 0;
	int64_t want_version = 0;
	int missed_clients = 0, missed_item_pairs = 0, missed_order_pairs = 0;
	double connect_s, deliver_s, hz = (double)sysconf(_SC_CLK_TCK);
	long long client_cpu, machine_cpu;
	struct rlimit rl;

	if (parse_options(&cfg, argc, argv) != 0) {
		fputs(usage, stderr);
		return 2;
	}
	the_cfg = &cfg;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    (rlim_t)(cfg.nclients / cfg.nprocs + 64) > rl.rlim_cur) {
		fprintf(stderr, "sse_fanout: %d streams in %d processes need more "
		    "than %llu descriptors each; use more --procs\n", cfg.nclients,
		    cfg.nprocs, (unsigned long long)rl.rlim_cur);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* The soak keeps at most 4,096 orders per stream: more than any sale
	 * it makes (a stream with more is not counted exact). */
	if (shared_init(&sh, cfg.nclients, cfg.stampede > 0 ?
	    (cfg.stampede < 4096 ? cfg.stampede : 4096) + 8 :
	    cfg.nevents * 2 + 8) != 0 ||
	    (tr = calloc((size_t)cfg.nevents, sizeof(*tr))) == NULL) {
		fputs("sse_fanout: out of memory\n", stderr);
		return 2;
	}
	for (int m = 0; m < cfg.nmem; m++)
		mem_read(&cfg.mem[m], &cfg.mem[m].rss_base, &cfg.mem[m].pss_base);

	/* nchan's streams begin with the newest message: the "snapshot". */
	if (cfg.mode == MODE_NCHAN) {
		struct fan_trigger snap;
		if (trigger_fire(&cfg, -1, &snap) != 0 ||
		    (snap.status != 201 && snap.status != 202)) {
			fprintf(stderr, "sse_fanout: publishing the snapshot message "
			    "answered %d\n", snap.status);
			return 1;
		}
	}

	t0 = now_ns();
	parent = getpid();
	for (int p = 0; p < cfg.nprocs; p++) {
		int lo = (int)((long)cfg.nclients * p / cfg.nprocs);
		int hi = (int)((long)cfg.nclients * (p + 1) / cfg.nprocs);
		if (pipe2(cmd[p], O_CLOEXEC) != 0 || (pids[p] = fork()) < 0) {
			perror("sse_fanout: fork");
			return 2;
		}
		if (pids[p] == 0) {
			/* Should the parent die, so do we: no stream outlives it. */
			(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			for (int q = 0; q <= p; q++)
				close(cmd[q][1]);   /* EOF must reach each worker */
			worker_run(&cfg, &sh, lo, hi, cmd[p][0]);
		}
		close(cmd[p][0]);
	}

	/* Every stream has its first event, or the time is up. */
	deadline = t0 + (int64_t)cfg.connect_seconds * 1000000000;
	do {
		usleep(20000);
		ready = count_state(&sh, ST_READY);
		failed = count_state(&sh, ST_FAILED);
		dropped = count_state(&sh, ST_DROPPED);
	} while (ready + failed + dropped < cfg.nclients && now_ns() < deadline);
	connect_s = (double)(now_ns() - t0) / 1e9;
	fprintf(stderr, "sse_fanout %s: %d streams ready, %d failed, in %.1f s\n",
	    cfg.label, ready, failed + dropped, connect_s);
	usleep(300000);             /* let the servers finish their own work */

	if (cfg.stampede > 0) {
		int not_zero, rc;

		if (cfg.hold_ms > 0) {
			printf("READY\n");
			fflush(stdout);
			usleep((useconds_t)cfg.hold_ms * 1000);
		}
		printf("GO\n");       /* the sale starts: its CPU is counted */
		fflush(stdout);
		t0 = now_ns();
		rc = stampede_run(&cfg, &sh);
		deliver_s = (double)(now_ns() - t0) / 1e9;
		fprintf(stderr, "sse_fanout %s: %d purchases answered in %.1f s\n",
		    cfg.label, cfg.stampede, deliver_s);
		deadline = now_ns() + (int64_t)cfg.settle_seconds * 1000000000;
		while ((not_zero = count_not_zero(&sh)) > 0 && now_ns() < deadline)
			usleep(20000);
		connect_s = (double)(now_ns() - t0) / 1e9 - deliver_s;
		usleep(200000);
		for (int m = 0; m < cfg.nmem; m++)
			mem_read(&cfg.mem[m], &cfg.mem[m].rss, &cfg.mem[m].pss);
		ready = count_state(&sh, ST_READY);
		soak_orders(&cfg, &sh, sh.soak[SOAK_201]);
		printf("SOAK label=%s clients=%d ready=%d failed=%d dropped=%d "
		    "purchases=%d created=%d sold_out=%d other=%d unanswered=%d "
		    "at_zero=%d not_zero=%d stampede_s=%.1f sold_s=%.2f "
		    "settle_s=%.1f max_version=%lld at_max_version=%d "
		    "orders_streams=%d orders_exact=%d summary_streams=%d "
		    "summary_exact=%d frames=%lld",
		    cfg.label, cfg.nclients, ready,
		    count_state(&sh, ST_FAILED) + count_state(&sh, ST_NEW),
		    count_state(&sh, ST_DROPPED), cfg.stampede,
		    sh.soak[SOAK_201], sh.soak[SOAK_409], sh.soak[SOAK_OTHER],
		    sh.soak[SOAK_NONE], ready - not_zero, not_zero, deliver_s,
		    sh.soak[SOAK_SOLD_MS] / 1000.0, connect_s,
		    (long long)soak_result.max_version, soak_result.at_max_version,
		    soak_result.orders_streams, soak_result.orders_exact,
		    soak_result.summary_streams, soak_result.summary_exact,
		    soak_result.frames);
		for (int m = 0; m < cfg.nmem; m++)
			printf(" %s_rss_base_kb=%ld %s_rss_kb=%ld", cfg.mem[m].name,
			    cfg.mem[m].rss_base, cfg.mem[m].name, cfg.mem[m].rss);
		printf("\n");
		fflush(stdout);
		/* The streams close together: the workers exit. */
		for (int p = 0; p < cfg.nprocs; p++)
			close(cmd[p][1]);
		for (int p = 0; p < cfg.nprocs; p++)
			(void)waitpid(pids[p], NULL, 0);
		free(tr);
		return rc == 0 ? 0 : 1;
	}

	/* The triggers, evenly spaced; the CPU each part uses from the first
	 * to the last arrival. */
	for (int m = 0; m < cfg.nmem; m++)
		cfg.mem[m].cpu_start = pids_ticks(cfg.mem[m].pids, cfg.mem[m].npids);
	client_cpu = pids_ticks(pids, cfg.nprocs);
	machine_cpu = machine_ticks();
	t0 = now_ns();
	for (int k = 0; k < cfg.nevents; k++) {
		sleep_until(t0 + (int64_t)k * cfg.interval_ms * 1000000);
		if (trigger_fire(&cfg, k, &tr[k]) == 0)
			fired++;
		if (tr[k].status == 201 || tr[k].status == 202)
			good++;
		else
			fprintf(stderr, "sse_fanout %s: trigger %d answered %d\n",
			    cfg.label, k, tr[k].status);
	}
	for (int k = 0; k < fired; k++)
		if (tr[k].status == 201 && tr[k].version > want_version)
			want_version = tr[k].version;
	deadline = now_ns() + (int64_t)cfg.settle_seconds * 1000000000;
	do {
		usleep(20000);
		waiting = cfg.mode == MODE_LASTITEM ?
		    count_waiting(&sh, 0, want_version, good) :
		    count_waiting(&sh, good, 0, 0);
	} while (waiting > 0 && now_ns() < deadline);
	deliver_s = (double)(now_ns() - t0) / 1e9;
	for (int m = 0; m < cfg.nmem; m++)
		cfg.mem[m].cpu_end = pids_ticks(cfg.mem[m].pids, cfg.mem[m].npids);
	client_cpu = pids_ticks(pids, cfg.nprocs) - client_cpu;
	machine_cpu = machine_ticks() - machine_cpu;
	usleep(200000);
	for (int m = 0; m < cfg.nmem; m++)
		mem_read(&cfg.mem[m], &cfg.mem[m].rss, &cfg.mem[m].pss);

	/* Done: the workers exit, and their resets close every stream. */
	for (int p = 0; p < cfg.nprocs; p++)
		close(cmd[p][1]);
	for (int p = 0; p < cfg.nprocs; p++)
		(void)waitpid(pids[p], NULL, 0);

	/* Every (stream, event) pair: its latency, or a miss. */
	ready = count_state(&sh, ST_READY);
	failed = count_state(&sh, ST_FAILED) + count_state(&sh, ST_NEW);
	dropped = count_state(&sh, ST_DROPPED);
	lat = calloc((size_t)cfg.nclients * (size_t)cfg.nevents + 1, sizeof(*lat));
	lat_sent = calloc((size_t)cfg.nclients * (size_t)cfg.nevents + 1, sizeof(*lat));
	spread = calloc((size_t)cfg.nclients * (size_t)cfg.nevents + 1, sizeof(*lat));
	first = calloc((size_t)cfg.nevents, sizeof(*first));
	if (lat == NULL || lat_sent == NULL || spread == NULL || first == NULL)
		return 2;
	/* The spread of an event: its arrival at each stream after the first
	 * stream had it, whatever the trigger's answer did meanwhile. */
	for (int k = 0; k < cfg.nevents; k++) {
		first[k] = INT64_MAX;
		for (int i = 0; i < cfg.nclients && tr[k].version >= 0; i++) {
			const struct fan_arrival *a = item_arrival(&cfg, &sh, i,
			    tr[k].version);
			if (a != NULL && a->t_ns < first[k])
				first[k] = a->t_ns;
		}
	}
	for (int i = 0; i < cfg.nclients; i++) {
		/* A stream that never opened, or closed, missed events too. */
		int missed = get_state(&sh, i) != ST_READY;
		for (int k = 0; k < cfg.nevents; k++) {
			const struct fan_arrival *a;
			if (tr[k].status != 201 && tr[k].status != 202)
				continue;
			a = tr[k].version < 0 ? NULL :
			    item_arrival(&cfg, &sh, i, tr[k].version);
			if (a != NULL) {
				lat[nlat++] = a->t_ns - tr[k].t_answer;
				lat_sent[nlat_sent++] = a->t_ns - tr[k].t_sent;
				spread[nspread++] = a->t_ns - first[k];
			} else {
				missed_item_pairs++;
				missed = 1;
			}
			if (cfg.mode == MODE_LASTITEM &&
			    (tr[k].order_id < 0 || find_arrival(&sh, sh.order,
			    sh.norder, i, tr[k].order_id, 0) == NULL)) {
				missed_order_pairs++;
				missed = 1;
			}
		}
		missed_clients += missed;
	}
	qsort(lat, nlat, sizeof(*lat), cmp_i64);
	qsort(lat_sent, nlat_sent, sizeof(*lat_sent), cmp_i64);
	qsort(spread, nspread, sizeof(*spread), cmp_i64);

	printf("FANOUT label=%s mode=%s clients=%d ready=%d failed=%d dropped=%d "
	    "events=%d good=%d pairs=%zu missed_clients=%d missed_item_pairs=%d "
	    "missed_order_pairs=%d min_us=%.0f p50_us=%.0f p99_us=%.0f max_us=%.0f "
	    "sent_p50_us=%.0f sent_p99_us=%.0f sent_max_us=%.0f spread_p50_us=%.0f "
	    "spread_p99_us=%.0f spread_max_us=%.0f connect_s=%.1f deliver_s=%.1f",
	    cfg.label, cfg.mode == MODE_NCHAN ? "nchan" : "lastitem",
	    cfg.nclients, ready, failed, dropped, cfg.nevents, good, nlat,
	    missed_clients, missed_item_pairs, missed_order_pairs,
	    quantile_us(lat, nlat, 0), quantile_us(lat, nlat, 0.5),
	    quantile_us(lat, nlat, 0.99), quantile_us(lat, nlat, 1),
	    quantile_us(lat_sent, nlat_sent, 0.5),
	    quantile_us(lat_sent, nlat_sent, 0.99), quantile_us(lat_sent, nlat_sent, 1),
	    quantile_us(spread, nspread, 0.5), quantile_us(spread, nspread, 0.99),
	    quantile_us(spread, nspread, 1), connect_s, deliver_s);
	/* CPU in % of one core over the delivery (triggers to last arrival). */
	printf(" machine_busy_pct=%.0f client_cpu_pct=%.0f",
	    (double)machine_cpu / hz / deliver_s * 100,
	    (double)client_cpu / hz / deliver_s * 100);
	for (int m = 0; m < cfg.nmem; m++)
		printf(" %s_rss_base_kb=%ld %s_rss_kb=%ld %s_pss_base_kb=%ld "
		    "%s_pss_kb=%ld %s_cpu_pct=%.0f", cfg.mem[m].name,
		    cfg.mem[m].rss_base, cfg.mem[m].name, cfg.mem[m].rss,
		    cfg.mem[m].name, cfg.mem[m].pss_base, cfg.mem[m].name,
		    cfg.mem[m].pss, cfg.mem[m].name,
		    (double)(cfg.mem[m].cpu_end - cfg.mem[m].cpu_start) / hz /
		    deliver_s * 100);
	printf("\n");
	free(first);
	free(spread);
	free(lat_sent);
	free(lat);
	free(tr);
	return fired == cfg.nevents ? 0 : 1;
}
