/*
 * worker.c — a worker's request threads and their accept loop.
 *
 * Each request thread serves one FastCGI connection at a time with a
 * blocking accept, read, one database call, write: the php-fpm model. A
 * worker runs --threads of them over its one database connection
 * (batch.c), so the requests a worker holds are not bounded by the
 * connections the database can take: the buyers of a stampede wait inside
 * the pool, where the batched strategy decides those of one item together.
 * For every other call the threads take the connection one after another,
 * as the single-threaded worker did.
 *
 * Shutdown without losing a request: SIGTERM and SIGINT stay blocked while
 * a request is served and are only let in while a thread waits for the
 * next connection, inside ppoll(), which unblocks them atomically. A signal
 * that arrives mid-request therefore waits until the answer is written, and
 * one that arrives between requests wakes the wait at once; there is no
 * moment where it could be missed and leave the worker asleep in accept().
 * Only one thread of a worker waits in ppoll() at a time (accept_mu; the
 * others wait for that mutex), so a connection wakes one thread per worker,
 * not all of them. That thread is the one the kernel hands the stop signal
 * to; it writes the worker's stop eventfd and lets go of the mutex, and each
 * thread that takes the mutex after it sees the stop and leaves; a thread
 * busy with a request sees it when done.
 * One catch: when ppoll() finds the socket ready it returns success and
 * blocks the signals again without delivering the pending one, so a worker
 * with a queue in front of it would never see it. Hence stop_pending(),
 * which also asks the kernel what is pending. On SIGTERM a worker finishes
 * the request it holds, not the queue: connections still in the backlog get
 * nginx's 503 "unavailable", and were never read, so nothing of theirs ran.
 * The listening socket is non-blocking, so when another worker wins the race
 * for a connection, FCGX_Accept_r returns EAGAIN and this one waits again.
 *
 * The scrape worker (--metrics-listen) runs this same loop on its own socket
 * and answers only /api/metrics and /api/health. It connects to the database
 * only when a health check first needs it: metrics come from shared memory.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "worker.h"
#include "batch.h"
#include "follow.h"
#include "stock_view.h"
#include "db.h"
#include "handlers.h"
#include "common/li.h"
#include "common/log.h"
#include "request.h"
#include "response.h"

/* Set by the signal handler, read by every thread's loop: the only way a
 * handler may talk to the code it interrupted. Lock-free, so safe in both. */
static atomic_int stop_requested;

/* What a worker's request threads share. */
struct worker {
	const struct api_config *cfg;
	int listen_fd;
	int stop_fd;                 /* eventfd: readable once stopping */
	sigset_t wait_mask;          /* the mask inside ppoll() */
	pthread_mutex_t accept_mu;   /* held by the one thread waiting to accept */
	struct api_metrics *metrics;
	int scrape_only;
	struct batch_conn conn;      /* the one database connection */
	struct stock_view view;      /* sold out or not, from --events */
};

/* The thread that keeps w->view current from the event daemon's stream. */
static void *
follow_thread(void *arg)
{
	struct worker *w = arg;

	follow_run(w->cfg->events, &w->view, w->stop_fd);
	return NULL;
}

static void
on_stop_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_requested, 1);
}

/* Whether SIGTERM or SIGINT has arrived, delivered or still pending. */
static int
stop_pending(void)
{
	sigset_t pending;

	if (atomic_load(&stop_requested))
		return 1;
	if (sigpending(&pending) != 0)
		return 0;
	return sigismember(&pending, SIGTERM) == 1 ||
	    sigismember(&pending, SIGINT) == 1;
}

/*
 * Reads the body into buf (LI_BODY_MAX + 1 bytes). Never reads more than one
 * byte past the limit: that byte only tells that the body is too large.
 */
static size_t
read_body(FCGX_Request *fr, const char *cl, char *buf, int *too_large)
{
	size_t len = 0;
	int n;

	*too_large = 0;
	if (request_length_too_large(cl)) {
		*too_large = 1;
		return 0;
	}
	while (len <= LI_BODY_MAX) {
		n = FCGX_GetStr(buf + len, (int)(LI_BODY_MAX + 1 - len), fr->in);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (len > LI_BODY_MAX) {
		*too_large = 1;
		return 0;
	}
	buf[len] = '\0';
	return len;
}

/*
 * Writes the response. The head is formatted with snprintf, not
 * FCGX_FPrintF: libfcgi has a printf of its own that lacks %zu.
 */
static void
write_response(FCGX_Request *fr, const struct response *resp)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head), "Status: %d %s\r\nContent-Type: %s\r\n"
	    "Cache-Control: no-store\r\nContent-Length: %zu\r\n",
	    resp->status, response_reason(resp->status), resp->content_type,
	    resp->body_len);
	if (n < 0 || (size_t)n >= sizeof(head))
		return;         /* cannot happen: every part is short and fixed */
	FCGX_PutStr(head, n, fr->out);
	if (resp->headers_len > 0)
		FCGX_PutStr(resp->headers, (int)resp->headers_len, fr->out);
	FCGX_PutStr("\r\n", 2, fr->out);
	if (resp->body_len > 0)
		FCGX_PutStr(resp->body, (int)resp->body_len, fr->out);
}

static void
serve(FCGX_Request *fr, struct handler_ctx *ctx)
{
	char body[LI_BODY_MAX + 1], path[2048];
	struct http_request req;
	struct request_params p;
	struct response resp;

	request_params_scan(fr->envp, &p);
	memset(&req, 0, sizeof(req));
	req.method = p.method != NULL ? p.method : "";
	req.path = request_path(p.document_uri, p.request_uri, path, sizeof(path));
	req.query = p.query != NULL ? p.query : "";
	req.content_type = p.content_type;
	req.idempotency_key = p.idempotency_key;
	req.authorization = p.authorization;
	req.origin = p.origin;
	req.sec_fetch_site = p.sec_fetch_site;
	req.host = p.host;
	req.scheme = p.scheme;
	if (ctx->cfg->buyer_header != NULL)
		req.buyer_header = FCGX_GetParam(ctx->cfg->buyer_param, fr->envp);
	req.body = body;
	req.body_len = read_body(fr, p.content_length, body, &req.body_too_large);

	response_init(&resp);
	handle_request(ctx, &req, &resp);
	write_response(fr, &resp);
	response_free(&resp);
}

/* Wakes every thread waiting for a connection: the worker is stopping. */
static void
wake_all(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_warn("cannot wake the request threads: %s", strerror(errno));
}

/*
 * Waits for the next connection and accepts it; the caller holds
 * accept_mu. Returns 1 with a request in fr, 0 to try again, -1 to stop.
 */
static int
accept_next(struct worker *w, FCGX_Request *fr)
{
	struct pollfd pfd[2];
	int rc;

	if (stop_pending())
		return -1;
	pfd[0].fd = w->listen_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = w->stop_fd;
	pfd[1].events = POLLIN;
	pfd[0].revents = pfd[1].revents = 0;
	if (ppoll(pfd, 2, NULL, &w->wait_mask) < 0) {
		if (errno == EINTR)
			return 0;
		log_error("poll on the listening socket: %s", strerror(errno));
		return -1;
	}
	if (stop_pending() || pfd[1].revents != 0)
		return -1;
	rc = FCGX_Accept_r(fr);
	if (rc < 0) {
		/* Another worker took it, or the peer gave up: wait again. */
		if (rc != -EAGAIN && rc != -EWOULDBLOCK && rc != -EINTR &&
		    rc != -ECONNABORTED)
			log_warn("accept failed: %s", strerror(-rc));
		return 0;
	}
	return 1;
}

static void *
request_thread(void *arg)
{
	struct worker *w = arg;
	struct handler_ctx ctx;
	FCGX_Request fr;
	int rc;

	ctx.cfg = w->cfg;
	ctx.conn = &w->conn;
	ctx.metrics = w->metrics;
	ctx.scrape_only = w->scrape_only;
	ctx.view = w->cfg->events != NULL && !w->scrape_only ? &w->view : NULL;
	if (FCGX_InitRequest(&fr, w->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("cannot initialise a FastCGI request");
		return NULL;
	}
	for (;;) {
		/* One thread of the worker waits for a connection at a time:
		 * every thread in poll() would wake for each one, and all but
		 * one find nothing to accept (the thundering herd). */
		pthread_mutex_lock(&w->accept_mu);
		rc = accept_next(w, &fr);
		pthread_mutex_unlock(&w->accept_mu);
		if (rc < 0)
			break;
		if (rc == 0)
			continue;
		serve(&fr, &ctx);
		FCGX_Finish_r(&fr);
	}
	wake_all(w);
	FCGX_Free(&fr, 0);
	return NULL;
}

/* Starts n request threads; returns how many started. */
static int
start_threads(struct worker *w, pthread_t *tids, int n)
{
	pthread_attr_t attr;
	int started = 0, rc;

	if (pthread_attr_init(&attr) != 0)
		return 0;
	/* A request needs a few pages (serve() holds the largest buffers);
	 * the default 8 MiB per thread would only reserve address space. */
	(void)pthread_attr_setstacksize(&attr, 512 * 1024);
	for (; started < n; started++) {
		if ((rc = pthread_create(&tids[started], &attr, request_thread,
		    w)) != 0) {
			log_error("cannot start request thread %d of %d: %s",
			    started + 1, n, strerror(rc));
			break;
		}
	}
	pthread_attr_destroy(&attr);
	return started;
}

int
api_worker_run(const struct api_config *cfg, int listen_fd,
    struct api_metrics *metrics, int scrape_only)
{
	struct sigaction sa;
	struct worker w;
	struct db db;
	pthread_t *tids, follower;
	int n, started, following = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);   /* nginx may hang up before we write */
	sigaction(SIGHUP, &sa, NULL);

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.listen_fd = listen_fd;
	w.metrics = metrics;
	w.scrape_only = scrape_only;
	/* The mask in force inside ppoll(): everything but the stop signals.
	 * Every thread inherits the blocked mask of this one. */
	sigprocmask(SIG_SETMASK, NULL, &w.wait_mask);
	sigdelset(&w.wait_mask, SIGTERM);
	sigdelset(&w.wait_mask, SIGINT);

	/* A name of its own (ps -o comm, /proc/PID/comm) tells the scrape
	 * worker from the others. */
	if (scrape_only)
		(void)prctl(PR_SET_NAME, "lastitem-scrape");

	db_init(&db, cfg->conninfo, metrics);
	db_set_timeouts(&db, cfg->lock_timeout_ms, cfg->statement_timeout_ms);
	if (!scrape_only)
		(void)db_ready(&db);  /* connect now; on failure, at the first request */
	/* The scrape worker answers two cheap routes: one thread is enough. */
	n = scrape_only ? 1 : cfg->threads;
	tids = calloc((size_t)n, sizeof(*tids));
	if (tids == NULL || (w.stop_fd = eventfd(0, EFD_CLOEXEC)) < 0 ||
	    pthread_mutex_init(&w.accept_mu, NULL) != 0 ||
	    batch_conn_init(&w.conn, &db) != LI_OK) {
		log_error("cannot set up the worker's threads");
		free(tids);
		db_close(&db);
		return EXIT_FAILURE;
	}
	if (stock_view_init(&w.view) != LI_OK) {
		log_error("cannot set up the stock view");
		free(tids);
		db_close(&db);
		return EXIT_FAILURE;
	}
	if (cfg->events != NULL && !scrape_only) {
		if (pthread_create(&follower, NULL, follow_thread, &w) == 0)
			following = 1;
		else
			log_error("cannot start the stream follower: every "
			    "purchase asks the database");
	}
	started = start_threads(&w, tids, n);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	if (following) {
		wake_all(&w);   /* no request thread may have started */
		pthread_join(follower, NULL);
	}
	stock_view_destroy(&w.view);
	batch_conn_destroy(&w.conn);
	pthread_mutex_destroy(&w.accept_mu);
	close(w.stop_fd);
	db_close(&db);
	return started > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
