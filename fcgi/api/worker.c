/*
 * worker.c — a worker's accept loop.
 *
 * Each worker serves one FastCGI connection at a time with a blocking
 * accept, read, one database call, write: the php-fpm model. Concurrency
 * comes from the number of workers, and the queue is the listen backlog.
 *
 * Shutdown without losing a request: SIGTERM and SIGINT stay blocked while
 * a request is served and are only let in while the worker waits for the
 * next connection, inside ppoll(), which unblocks them atomically. A signal
 * that arrives mid-request therefore waits until the answer is written, and
 * one that arrives between requests wakes the wait at once; there is no
 * moment where it could be missed and leave the worker asleep in accept().
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
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <fcgiapp.h>

#include "worker.h"
#include "db.h"
#include "handlers.h"
#include "common/li.h"
#include "common/log.h"
#include "request.h"
#include "response.h"

/* Set by the signal handler, read by the loop: the only way a handler may
 * talk to the code it interrupted. */
static volatile sig_atomic_t stop_requested;

static void
on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Whether SIGTERM or SIGINT has arrived, delivered or still pending. */
static int
stop_pending(void)
{
	sigset_t pending;

	if (stop_requested)
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
read_body(FCGX_Request *fr, char *buf, int *too_large)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
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
	struct response resp;
	const char *q;

	memset(&req, 0, sizeof(req));
	req.method = FCGX_GetParam("REQUEST_METHOD", fr->envp);
	if (req.method == NULL)
		req.method = "";
	req.path = request_path(FCGX_GetParam("DOCUMENT_URI", fr->envp),
	    FCGX_GetParam("REQUEST_URI", fr->envp), path, sizeof(path));
	q = FCGX_GetParam("QUERY_STRING", fr->envp);
	req.query = q != NULL ? q : "";
	req.content_type = FCGX_GetParam("CONTENT_TYPE", fr->envp);
	req.idempotency_key = FCGX_GetParam("HTTP_IDEMPOTENCY_KEY", fr->envp);
	req.authorization = FCGX_GetParam("HTTP_AUTHORIZATION", fr->envp);
	req.origin = FCGX_GetParam("HTTP_ORIGIN", fr->envp);
	req.sec_fetch_site = FCGX_GetParam("HTTP_SEC_FETCH_SITE", fr->envp);
	req.host = FCGX_GetParam("HTTP_HOST", fr->envp);
	req.scheme = FCGX_GetParam("REQUEST_SCHEME", fr->envp);
	if (ctx->cfg->buyer_header != NULL)
		req.buyer_header = FCGX_GetParam(ctx->cfg->buyer_param, fr->envp);
	req.body = body;
	req.body_len = read_body(fr, body, &req.body_too_large);

	response_init(&resp);
	handle_request(ctx, &req, &resp);
	write_response(fr, &resp);
	response_free(&resp);
}

int
api_worker_run(const struct api_config *cfg, int listen_fd,
    struct api_metrics *metrics, int scrape_only)
{
	struct sigaction sa;
	sigset_t wait_mask;
	struct pollfd pfd;
	FCGX_Request fr;
	struct handler_ctx ctx;
	struct db db;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);   /* nginx may hang up before we write */
	sigaction(SIGHUP, &sa, NULL);

	/* The mask in force inside ppoll(): everything but the stop signals. */
	sigprocmask(SIG_SETMASK, NULL, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);

	/* A name of its own (ps -o comm, /proc/PID/comm) tells the scrape
	 * worker from the others. */
	if (scrape_only)
		(void)prctl(PR_SET_NAME, "lastitem-scrape");

	db_init(&db, cfg->conninfo, metrics);
	db_set_timeouts(&db, cfg->lock_timeout_ms, cfg->statement_timeout_ms);
	if (!scrape_only)
		(void)db_ready(&db);  /* connect now; on failure, at the first request */
	ctx.cfg = cfg;
	ctx.db = &db;
	ctx.metrics = metrics;
	ctx.scrape_only = scrape_only;

	if (FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("cannot initialise a FastCGI request");
		db_close(&db);
		return EXIT_FAILURE;
	}
	while (!stop_pending()) {
		pfd.fd = listen_fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (ppoll(&pfd, 1, NULL, &wait_mask) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll on the listening socket: %s", strerror(errno));
			break;
		}
		if (stop_pending())
			break;
		rc = FCGX_Accept_r(&fr);
		if (rc < 0) {
			/* Another worker took it, or the peer gave up: wait again. */
			if (rc != -EAGAIN && rc != -EWOULDBLOCK && rc != -EINTR &&
			    rc != -ECONNABORTED)
				log_warn("accept failed: %s", strerror(-rc));
			continue;
		}
		serve(&fr, &ctx);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 0);
	db_close(&db);
	return EXIT_SUCCESS;
}
