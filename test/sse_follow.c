/*
 * sse_follow — one browser's EventSource, as a test can watch it.
 *
 *   sse_follow HOST:PORT STATE_FILE
 *
 * Follows /api/events the way EventSource does: when the stream ends or
 * cannot be opened, it waits the last `retry` the server sent (2 s before
 * any) and connects again, sending the id of the last event it got as
 * Last-Event-ID. It keeps what a page keeps: every item's quantity at the
 * highest version seen, replaced wholesale by each snapshot.
 *
 * After each change it rewrites STATE_FILE (through a rename, so a reader
 * never sees half of it) as one line, the items by id:
 *   ID/QUANTITY/VERSION,ID/QUANTITY/VERSION,…
 * the format of lib.sh's db_items_state, so a test compares the two as
 * strings. On SIGTERM it prints, and exits 0:
 *   connections C refused R snapshots S items I stale T
 * (streams opened, attempts that got no stream, snapshots and item events
 * applied, item events older than what it had: ignored, as a page would).
 *
 * HTTP/1.0, so nginx ends the stream by closing instead of chunking it.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#define ITEMS_MAX 64
#define ID_MAX 72
#define LINE_MAX_LEN 65536

struct item {
	char id[ID_MAX];
	long long quantity, version;
};

struct follower {
	struct sockaddr_in addr;
	const char *state_file;
	struct item items[ITEMS_MAX];
	int nitems;
	char last_id[128];
	int retry_ms;
	/* the frame being read */
	char event[64], id[128], data[LINE_MAX_LEN];
	size_t data_len;
	int has_id;
	/* counts */
	long connections, refused, snapshots, updates, stale;
};

static volatile sig_atomic_t stopping;   /* set by SIGTERM's handler */

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->id, ((const struct item *)b)->id);
}

static void
write_state(struct follower *f)
{
	char tmp[4096];
	FILE *fp;

	qsort(f->items, (size_t)f->nitems, sizeof(f->items[0]), by_id);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->state_file);
	if ((fp = fopen(tmp, "w")) == NULL)
		return;
	for (int i = 0; i < f->nitems; i++)
		fprintf(fp, "%s%s/%lld/%lld", i ? "," : "", f->items[i].id,
		    f->items[i].quantity, f->items[i].version);
	fputc('\n', fp);
	if (fclose(fp) == 0)
		(void)rename(tmp, f->state_file);
}

/* Reads id, quantity and version of one item object; 0 when all there. */
static int
read_item(json_object *o, struct item *it)
{
	json_object *id, *q, *v;

	if (!json_object_object_get_ex(o, "id", &id) ||
	    !json_object_object_get_ex(o, "quantity", &q) ||
	    !json_object_object_get_ex(o, "version", &v) ||
	    strlen(json_object_get_string(id)) >= ID_MAX)
		return -1;
	snprintf(it->id, sizeof(it->id), "%s", json_object_get_string(id));
	it->quantity = json_object_get_int64(q);
	it->version = json_object_get_int64(v);
	return 0;
}

static void
apply_item(struct follower *f, const struct item *it)
{
	for (int i = 0; i < f->nitems; i++) {
		if (strcmp(f->items[i].id, it->id) != 0)
			continue;
		if (it->version > f->items[i].version) {
			f->items[i] = *it;
			f->updates++;
		} else {
			f->stale++;
		}
		return;
	}
	if (f->nitems < ITEMS_MAX) {
		f->items[f->nitems++] = *it;
		f->updates++;
	}
}

/* A whole frame has arrived: what a page would do with it. */
static void
dispatch(struct follower *f)
{
	json_object *o, *arr;
	struct item it;

	if (f->has_id)
		snprintf(f->last_id, sizeof(f->last_id), "%s", f->id);
	f->data[f->data_len] = '\0';
	if (strcmp(f->event, "snapshot") == 0 || strcmp(f->event, "item") == 0) {
		if ((o = json_tokener_parse(f->data)) == NULL) {
			fprintf(stderr, "sse_follow: bad %s data: %.200s\n", f->event, f->data);
		} else if (f->event[0] == 's') {
			f->nitems = 0;
			if (json_object_object_get_ex(o, "items", &arr))
				for (size_t i = 0; i < json_object_array_length(arr); i++)
					if (read_item(json_object_array_get_idx(arr, i), &it) == 0 &&
					    f->nitems < ITEMS_MAX)
						f->items[f->nitems++] = it;
			f->snapshots++;
			write_state(f);
		} else if (read_item(o, &it) == 0) {
			apply_item(f, &it);
			write_state(f);
		}
		json_object_put(o);
	}
	f->event[0] = f->id[0] = '\0';
	f->data_len = 0;
	f->has_id = 0;
}

/* One line of the stream, without its end of line. */
static void
line(struct follower *f, char *s)
{
	char *value = strchr(s, ':');
	size_t n;

	if (*s == '\0') {
		dispatch(f);
		return;
	}
	if (value == s)
		return;                 /* a comment */
	if (value != NULL) {
		*value++ = '\0';
		if (*value == ' ')
			value++;
	} else {
		value = s + strlen(s);
	}
	if (strcmp(s, "event") == 0) {
		snprintf(f->event, sizeof(f->event), "%s", value);
	} else if (strcmp(s, "id") == 0) {
		snprintf(f->id, sizeof(f->id), "%s", value);
		f->has_id = 1;
	} else if (strcmp(s, "data") == 0) {
		n = strlen(value);
		if (f->data_len + n + 2 < sizeof(f->data)) {
			if (f->data_len > 0)
				f->data[f->data_len++] = '\n';
			memcpy(f->data + f->data_len, value, n);
			f->data_len += n;
		}
	} else if (strcmp(s, "retry") == 0) {
		f->retry_ms = atoi(value);
	}
}

/* One connection, until it ends or we are told to stop. */
static void
follow_once(struct follower *f)
{
	static char buf[LINE_MAX_LEN * 2];
	char req[512];
	size_t len = 0;
	int fd, n, in_body = 0;

	f->event[0] = f->id[0] = '\0';
	f->data_len = 0;
	f->has_id = 0;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return;
	if (connect(fd, (const struct sockaddr *)&f->addr, sizeof(f->addr)) != 0)
		goto refused;
	n = snprintf(req, sizeof(req), "GET /api/events HTTP/1.0\r\nHost: 127.0.0.1\r\n"
	    "Accept: text/event-stream\r\n%s%s%s\r\n",
	    f->last_id[0] ? "Last-Event-ID: " : "", f->last_id,
	    f->last_id[0] ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		goto refused;
	while (!stopping) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;
		char *nl, *start;

		if (poll(&p, 1, 200) <= 0)
			continue;
		r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		start = buf;
		if (!in_body) {
			char *end = strstr(buf, "\r\n\r\n");
			int status = 0;

			if (end == NULL) {
				if (len == sizeof(buf) - 1)
					break;
				continue;
			}
			if (sscanf(buf, "HTTP/1.%*1d %3d", &status) != 1 || status != 200)
				goto refused;
			f->connections++;
			in_body = 1;
			start = end + 4;
		}
		while ((nl = memchr(start, '\n', (size_t)(buf + len - start))) != NULL) {
			*nl = '\0';
			if (nl > start && nl[-1] == '\r')
				nl[-1] = '\0';
			line(f, start);
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
		if (len == sizeof(buf) - 1)
			break;              /* a line longer than any of ours */
	}
	if (in_body) {
		close(fd);
		return;
	}
refused:
	f->refused++;
	close(fd);
}

int
main(int argc, char **argv)
{
	static struct follower f;
	const char *colon;
	char host[64];
	struct sigaction sa;

	if (argc != 3 || (colon = strrchr(argv[1], ':')) == NULL ||
	    (size_t)(colon - argv[1]) >= sizeof(host)) {
		fprintf(stderr, "usage: sse_follow HOST:PORT STATE_FILE\n");
		return 2;
	}
	memcpy(host, argv[1], (size_t)(colon - argv[1]));
	host[colon - argv[1]] = '\0';
	f.addr.sin_family = AF_INET;
	f.addr.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &f.addr.sin_addr) != 1) {
		fprintf(stderr, "sse_follow: bad address %s\n", argv[1]);
		return 2;
	}
	f.state_file = argv[2];
	f.retry_ms = 2000;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	while (!stopping) {
		follow_once(&f);
		/* EventSource waits `retry` before it tries again. */
		for (int waited = 0; !stopping && waited < f.retry_ms; waited += 50) {
			struct timespec ts = { 0, 50 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	printf("connections %ld refused %ld snapshots %ld items %ld stale %ld\n",
	    f.connections, f.refused, f.snapshots, f.updates, f.stale);
	return 0;
}
