/*
 * main.c — lastitem-api, the prefork master of the FastCGI pool.
 *
 * The master opens the listening socket, forks the workers, and then does
 * nothing but watch them: it never serves a request, so a request can never
 * take it down. A worker that dies, whatever the reason, is replaced; one
 * that dies right after it started is replaced after a pause, so a worker
 * that cannot start does not turn into a fork loop.
 *
 * The master handles signals synchronously: they stay blocked and it takes
 * them one at a time with sigtimedwait(), so there is no handler and no
 * state shared with one. On SIGTERM or SIGINT it passes SIGTERM to every
 * worker, which finishes the request in hand and exits (worker.c), waits
 * up to --drain-timeout for them, kills what is left, and exits 0.
 *
 * The counters of GET /api/metrics live in shared memory the master maps
 * before the first fork (metrics.h): the master counts restarts and living
 * workers there, the workers count their requests, and nothing is lost when
 * a worker dies.
 *
 * With --metrics-listen the master opens a second socket and keeps one more
 * worker, the scrape worker, accepting on it alone: a scrape or a health
 * check then never waits in the queue of purchases, which is exactly when
 * an operator needs it. It lives in the last slot and is watched, restarted
 * and drained like the others; the workers gauge counts the others only, and
 * scrape_workers counts it.
 *
 * Unless --expire-interval is 0, the last slot is the expiry process
 * (expiry.c), which ends holds past their time; it serves no socket, is
 * watched, restarted and drained like the workers, and counted in neither
 * gauge.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "config.h"
#include "worker.h"
#include "expiry.h"
#include "common/li.h"
#include "common/log.h"
#include "metrics.h"
#include "common/monotonic.h"

/* A worker that lives less than this is taken to have failed to start. */
#define QUICK_DEATH_SECONDS 1

struct slot {
	pid_t pid;                  /* 0: empty, waiting for respawn_at */
	time_t started;
	time_t respawn_at;
	pid_t replaced;             /* the dead worker this slot replaces, or 0 */
};

struct pool {
	const struct api_config *cfg;
	int listen_fd;
	int scrape_fd;              /* --metrics-listen, or -1 */
	pid_t master;
	struct slot *slots;         /* the workers, then the scrape worker */
	int nslots;
	unsigned long restarts;
	struct api_metrics *metrics;  /* shared with every worker */
};

static time_t
monotonic_seconds(void)
{
	return (time_t)(monotonic_ms() / 1000);
}

/* Whether slot i is the scrape worker's (the one after the workers). */
static int
is_scrape(const struct pool *pool, int i)
{
	return i >= pool->cfg->workers && pool->cfg->metrics_listen != NULL &&
	    i == pool->cfg->workers;
}

/* Whether slot i is the expiry process's (the last, when there is one). */
static int
is_expiry(const struct pool *pool, int i)
{
	return pool->cfg->expire_interval_ms > 0 && i == pool->nslots - 1;
}

static const char *
kind(const struct pool *pool, int i)
{
	return is_expiry(pool, i) ? "expiry process" :
	    is_scrape(pool, i) ? "scrape worker" : "worker";
}

/* Forks the worker of slot i. Returns LI_OK or LI_ERROR (logged). */
static int
spawn(struct pool *pool, int i)
{
	int scrape = is_scrape(pool, i);
	int fd = scrape ? pool->scrape_fd : pool->listen_fd;
	pid_t pid = fork();

	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		pool->slots[i].respawn_at = monotonic_seconds() + 1;
		return LI_ERROR;
	}
	if (pid == 0) {
		/* A worker must not outlive its master, even one killed by -9. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != pool->master)
			_exit(EXIT_SUCCESS);
		if (is_expiry(pool, i)) {
			/* It serves no socket at all. */
			close(pool->listen_fd);
			if (pool->scrape_fd >= 0)
				close(pool->scrape_fd);
			free(pool->slots);
			exit(api_expiry_run(pool->cfg, pool->metrics));
		}
		/* Each worker keeps only the socket it serves. */
		if (pool->scrape_fd >= 0)
			close(scrape ? pool->listen_fd : pool->scrape_fd);
		free(pool->slots);
		exit(api_worker_run(pool->cfg, fd, pool->metrics, scrape));
	}
	pool->slots[i].pid = pid;
	pool->slots[i].started = monotonic_seconds();
	return LI_OK;
}

static int
slot_of(const struct pool *pool, pid_t pid)
{
	for (int i = 0; i < pool->nslots; i++)
		if (pool->slots[i].pid == pid)
			return i;
	return -1;
}

static void
describe_exit(int status, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
}

/* Sets the gauges of living workers; returns how many live, of both kinds. */
static int
count_alive(struct pool *pool)
{
	unsigned long long alive[2] = { 0, 0 };

	int expiry = 0;

	for (int i = 0; i < pool->nslots; i++) {
		if (is_expiry(pool, i))
			expiry += pool->slots[i].pid != 0;
		else
			alive[is_scrape(pool, i)] += pool->slots[i].pid != 0;
	}
	atomic_store_explicit(&pool->metrics->workers, alive[0],
	    memory_order_relaxed);
	atomic_store_explicit(&pool->metrics->scrape_workers, alive[1],
	    memory_order_relaxed);
	return (int)(alive[0] + alive[1]) + expiry;
}

/* Reaps dead workers; when running, schedules their replacements. */
static int
reap(struct pool *pool, int running)
{
	char how[64];
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((i = slot_of(pool, pid)) < 0)
			continue;
		describe_exit(status, how, sizeof(how));
		pool->slots[i].pid = 0;
		pool->slots[i].replaced = pid;
		if (!running)
			continue;
		pool->restarts++;
		metrics_add(&pool->metrics->workers_restarted, 1);
		if (monotonic_seconds() - pool->slots[i].started < QUICK_DEATH_SECONDS) {
			pool->slots[i].respawn_at = monotonic_seconds() + 1;
			log_warn("%s %ld %s right after it started; restarting "
			    "it in 1 s", kind(pool, i), (long)pid, how);
		} else {
			pool->slots[i].respawn_at = 0;
			log_warn("%s %ld %s; restarting it", kind(pool, i), (long)pid,
			    how);
		}
	}
	return count_alive(pool);
}

static void
respawn_due(struct pool *pool)
{
	time_t now = monotonic_seconds();
	struct slot *sl;

	for (int i = 0; i < pool->nslots; i++) {
		sl = &pool->slots[i];
		if (sl->pid != 0 || sl->respawn_at > now || spawn(pool, i) != LI_OK)
			continue;
		if (sl->replaced != 0)
			log_info("%s %ld started, replacing %s %ld", kind(pool, i),
			    (long)sl->pid, kind(pool, i), (long)sl->replaced);
		else
			log_info("%s %ld started", kind(pool, i), (long)sl->pid);
		sl->replaced = 0;
	}
	(void)count_alive(pool);
}

static void
signal_workers(struct pool *pool, int sig)
{
	for (int i = 0; i < pool->nslots; i++)
		if (pool->slots[i].pid != 0)
			kill(pool->slots[i].pid, sig);
}

/* Lets in-flight requests finish, then makes sure every worker is gone. */
static void
drain(struct pool *pool, const sigset_t *signals)
{
	long long deadline = monotonic_ms() + pool->cfg->drain_seconds * 1000LL;
	struct timespec tick = { 0, 100 * 1000000L };
	siginfo_t info;

	signal_workers(pool, SIGTERM);
	while (reap(pool, 0) > 0) {
		if (monotonic_ms() >= deadline) {
			log_warn("workers still busy after %d s; killing them",
			    pool->cfg->drain_seconds);
			signal_workers(pool, SIGKILL);
			while (reap(pool, 0) > 0)
				(void)sigtimedwait(signals, &info, &tick);
			return;
		}
		(void)sigtimedwait(signals, &info, &tick);
	}
}

/* Opens a FastCGI socket: non-blocking (see worker.c), and for a unix
 * socket writable by nginx's workers, whatever user they run as. */
static int
open_listener(const char *addr, int backlog)
{
	int fd, flags;

	if (strchr(addr, ':') == NULL)
		(void)unlink(addr);           /* a socket left by a killed master */
	if ((fd = FCGX_OpenSocket(addr, backlog)) < 0) {
		log_error("cannot listen on %s: %s", addr, strerror(errno));
		return -1;
	}
	if (strchr(addr, ':') == NULL && chmod(addr, 0666) != 0)
		log_warn("chmod %s: %s", addr, strerror(errno));
	if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		log_error("cannot make the listening socket non-blocking: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	struct api_config cfg;
	struct pool pool;
	struct timespec second = { 1, 0 };
	sigset_t signals;
	siginfo_t info;
	char err[256];
	int rc, sig;

	log_set_program("lastitem-api");
	rc = api_config_parse(&cfg, argc, argv, err, sizeof(err));
	if (rc == LI_DECLINED)
		return EXIT_SUCCESS;
	if (rc != LI_OK) {
		fprintf(stderr, "lastitem-api: %s\n", err);
		return 2;
	}

	/* Block before forking, so every worker starts with them blocked. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGCHLD);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	sigprocmask(SIG_BLOCK, &signals, NULL);

	if (FCGX_Init() != 0) {
		log_error("cannot initialise libfcgi");
		return EXIT_FAILURE;
	}
	memset(&pool, 0, sizeof(pool));
	pool.cfg = &cfg;
	pool.master = getpid();
	pool.scrape_fd = -1;
	pool.nslots = cfg.workers + (cfg.metrics_listen != NULL) +
	    (cfg.expire_interval_ms > 0);
	/* The scrape socket first: whoever sees the main one can scrape. */
	if (cfg.metrics_listen != NULL &&
	    (pool.scrape_fd = open_listener(cfg.metrics_listen, cfg.backlog)) < 0)
		return EXIT_FAILURE;
	if ((pool.listen_fd = open_listener(cfg.listen, cfg.backlog)) < 0)
		return EXIT_FAILURE;
	if ((pool.slots = calloc((size_t)pool.nslots, sizeof(*pool.slots))) == NULL) {
		log_error("out of memory");
		return EXIT_FAILURE;
	}
	/* Mapped before any fork, so every worker shares these very pages. An
	 * anonymous mapping starts zeroed: every counter at 0. */
	pool.metrics = mmap(NULL, sizeof(*pool.metrics), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pool.metrics == MAP_FAILED) {
		log_error("cannot map the shared metrics: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	atomic_store_explicit(&pool.metrics->start_time,
	    (unsigned long long)time(NULL), memory_order_relaxed);

	log_info("listening on %s with %d workers; default strategy %s; "
	    "naive %s; reset %s", cfg.listen, cfg.workers,
	    strategy_name(cfg.default_strategy),
	    cfg.allow_unsafe ? "ALLOWED (--allow-unsafe: it oversells)" : "refused",
	    cfg.admin_token_len > 0 ? "needs the admin token" : "is open to anyone");
	if (cfg.metrics_listen != NULL)
		log_info("metrics and health also on %s, with a worker of their own",
		    cfg.metrics_listen);
	if (cfg.expire_interval_ms > 0)
		log_info("holds past their time are ended every %d ms",
		    cfg.expire_interval_ms);
	respawn_due(&pool);

	for (;;) {
		sig = sigtimedwait(&signals, &info, &second);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		/* Reap on every turn: deaths can share one SIGCHLD. */
		(void)reap(&pool, 1);
		respawn_due(&pool);
	}

	log_info("stopping: letting in-flight requests finish");
	drain(&pool, &signals);
	close(pool.listen_fd);
	if (strchr(cfg.listen, ':') == NULL)
		(void)unlink(cfg.listen);
	if (pool.scrape_fd >= 0) {
		close(pool.scrape_fd);
		if (strchr(cfg.metrics_listen, ':') == NULL)
			(void)unlink(cfg.metrics_listen);
	}
	free(pool.slots);
	(void)munmap(pool.metrics, sizeof(*pool.metrics));
	log_info("stopped after %lu worker restarts", pool.restarts);
	return EXIT_SUCCESS;
}
