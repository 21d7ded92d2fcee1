/*
 * worker.h — one worker of the pool: an accept loop over FastCGI.
 */
#ifndef LI_API_WORKER_H
#define LI_API_WORKER_H

#include "config.h"
#include "metrics.h"

/*
 * Serves requests on listen_fd until SIGTERM or SIGINT, then finishes the
 * request in hand and returns the process exit status. Expects SIGTERM and
 * SIGINT blocked on entry (the master forks with them blocked). metrics is
 * the pool's shared counters. scrape_only: the worker of --metrics-listen,
 * which answers /api/metrics and /api/health only.
 */
int api_worker_run(const struct api_config *cfg, int listen_fd,
    struct api_metrics *metrics, int scrape_only);

#endif
