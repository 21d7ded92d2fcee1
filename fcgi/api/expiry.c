/*
 * expiry.c — the process that ends holds past their time.
 *
 * A hold must come back by itself within a second of expires_at, with no
 * request to trigger it, so someone has to look. The master forks this one
 * process beside the workers (--expire-interval, 200 ms by default; 0 runs
 * none), and it calls lastitem.expire_holds() on its own connection every
 * interval: one statement, one transaction, which expires every due hold
 * and returns its units, firing the item and hold events. When a call
 * finds a full batch it goes again at once. Several pools on several hosts
 * may each run one: the function skips the holds another caller has
 * locked (sql/holds.sql). Confirm and release check expires_at themselves,
 * so the interval bounds how late the units come back, never whether a
 * hold past its time can still be confirmed.
 *
 * The stop signals stay blocked, as the master left them, and are taken
 * with sigtimedwait() between calls: the wait is the interval, and a stop
 * ends it at once, never in the middle of a call.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "common/li.h"
#include "common/log.h"
#include "db.h"
#include "expiry.h"

/* Holds one call may end; a full batch is followed by another at once. */
#define EXPIRY_BATCH 1000

int
api_expiry_run(const struct api_config *cfg, struct api_metrics *metrics)
{
	static const char batch[] = "1000";
	const char *params[1] = { batch };
	struct timespec wait;
	struct sigaction sa;
	sigset_t stop;
	siginfo_t info;
	struct db db;
	PGresult *res;
	int sig, n;

	_Static_assert(EXPIRY_BATCH == 1000, "batch is the text of EXPIRY_BATCH");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	(void)prctl(PR_SET_NAME, "lastitem-expiry");

	wait.tv_sec = cfg->expire_interval_ms / 1000;
	wait.tv_nsec = (long)(cfg->expire_interval_ms % 1000) * 1000000L;
	db_init(&db, cfg->conninfo, metrics);
	db_set_timeouts(&db, cfg->lock_timeout_ms, cfg->statement_timeout_ms);
	for (;;) {
		n = 0;
		if ((res = db_exec(&db, DB_EXPIRE_HOLDS, params, 0)) != NULL) {
			if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
				n = atoi(PQgetvalue(res, 0, 0));
			PQclear(res);
		}
		if (n >= EXPIRY_BATCH) {
			/* More are due: go on, unless told to stop. */
			struct timespec none = { 0, 0 };
			sig = sigtimedwait(&stop, &info, &none);
		} else
			sig = sigtimedwait(&stop, &info, &wait);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig < 0 && errno != EAGAIN && errno != EINTR) {
			log_error("sigtimedwait: %s", strerror(errno));
			break;
		}
	}
	db_close(&db);
	return EXIT_SUCCESS;
}
