/*
 * metrics.h — the pool's counters, shared by the master and every worker,
 * and their Prometheus text form (GET /api/metrics).
 *
 * One struct of C11 atomics lives in a shared anonymous mapping that the
 * master creates before it forks (main.c): every worker adds to the
 * same counters, so they are summed without any merging, and a worker that
 * dies (even by SIGKILL, mid-request) takes nothing with it. Each update is a
 * relaxed fetch_add: counters need no ordering with anything else, and a
 * scrape that sees one counter a moment ahead of another is still a correct
 * Prometheus scrape.
 *
 * Every label value is taken from a fixed table here, never from the
 * request, so no client can grow the number of series.
 */
#ifndef LI_METRICS_H
#define LI_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

#include "purchase_outcome.h"
#include "route.h"
#include "strategy.h"

/* The route label of lastitem_api_requests_total: enum route_id, then
 * "other" for a path of no route (a 404). */
#define METRICS_ROUTE_OTHER ROUTE_COUNT
#define METRICS_ROUTE_COUNT (ROUTE_COUNT + 1)

/* The status label: the codes the pool answers with, then "other". */
#define METRICS_STATUS_COUNT 14

/* The result label of lastitem_api_purchases_total is enum
 * purchase_outcome. */

/* The strategy label: enum strategy, then "unknown" for a body that did
 * not parse far enough to name one. */
#define METRICS_STRATEGY_UNKNOWN STRATEGY_COUNT
#define METRICS_STRATEGY_COUNT (STRATEGY_COUNT + 1)

/* Upper bounds (le) of the purchase duration histogram, in seconds; +Inf
 * is the extra last bucket. */
#define METRICS_BUCKETS 13

struct metrics_histogram {
	atomic_ullong buckets[METRICS_BUCKETS + 1];  /* not cumulative; +Inf last */
	atomic_ullong sum_ns;
	atomic_ullong count;
};

struct api_metrics {
	atomic_ullong requests[METRICS_ROUTE_COUNT][METRICS_STATUS_COUNT];
	atomic_ullong purchases[METRICS_STRATEGY_COUNT][PURCHASE_OUTCOME_COUNT];
	atomic_ullong optimistic_retries;
	atomic_ullong sold_out_unasked;         /* 409s from the stock view */
	struct metrics_histogram purchase_duration[STRATEGY_COUNT];
	atomic_ullong db_reconnects;
	atomic_ullong workers_restarted;
	atomic_ullong workers;                  /* a gauge: alive now */
	atomic_ullong scrape_workers;           /* a gauge: of --metrics-listen */
	atomic_ullong start_time;               /* unix seconds */
};

/* Each of these is one relaxed atomic add; m may be NULL (no metrics). */
void metrics_request(struct api_metrics *m, int route, int status);
void metrics_purchase(struct api_metrics *m, int strategy,
    enum purchase_outcome result);
void metrics_purchase_duration(struct api_metrics *m, enum strategy s,
    long long ns);
void metrics_add(atomic_ullong *counter, unsigned long long n);

/* The index of status in the status label table (the last: "other"). */
int metrics_status_index(int status);

/*
 * Renders every metric in the Prometheus text format 0.0.4 into a newly
 * allocated, NUL-terminated string owned by the caller (free()), its length
 * in *len. Labelled series appear once they are not zero; the histograms
 * of each strategy once it has had a purchase. Returns NULL when memory
 * runs out.
 */
char *metrics_format(const struct api_metrics *m, size_t *len);

#endif
