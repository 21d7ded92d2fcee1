/*
 * metrics.c — the pool's shared counters and their Prometheus text.
 *
 * The counters are plain lock-free atomics in memory shared between
 * processes (metrics.h says why). Lock-free matters: an atomic that needed a
 * lock would use one private to each process, which does not exclude the
 * others; lock-free ones are single instructions on the shared bytes.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
    "shared-memory counters need lock-free 64-bit atomics");

/* Every status the pool answers with (doc/api.md "Errors"); 0 is "other". */
static const int statuses[METRICS_STATUS_COUNT] = {
	200, 201, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 503, 0
};

/* Seconds; printed as written here, so the le labels read naturally. */
static const struct {
	long long ns;
	const char *le;
} buckets[METRICS_BUCKETS] = {
	{ 500000LL, "0.0005" }, { 1000000LL, "0.001" }, { 2500000LL, "0.0025" },
	{ 5000000LL, "0.005" }, { 10000000LL, "0.01" }, { 25000000LL, "0.025" },
	{ 50000000LL, "0.05" }, { 100000000LL, "0.1" }, { 250000000LL, "0.25" },
	{ 500000000LL, "0.5" }, { 1000000000LL, "1" }, { 2500000000LL, "2.5" },
	{ 5000000000LL, "5" },
};

void
metrics_add(atomic_ullong *counter, unsigned long long n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

int
metrics_status_index(int status)
{
	for (int i = 0; i < METRICS_STATUS_COUNT - 1; i++)
		if (statuses[i] == status)
			return i;
	return METRICS_STATUS_COUNT - 1;
}

void
metrics_request(struct api_metrics *m, int route, int status)
{
	if (m == NULL || route < 0 || route >= METRICS_ROUTE_COUNT)
		return;
	metrics_add(&m->requests[route][metrics_status_index(status)], 1);
}

void
metrics_purchase(struct api_metrics *m, int strategy,
    enum purchase_outcome result)
{
	if (m == NULL || strategy < 0 || strategy >= METRICS_STRATEGY_COUNT ||
	    (unsigned)result >= PURCHASE_OUTCOME_COUNT)
		return;
	metrics_add(&m->purchases[strategy][result], 1);
}

void
metrics_purchase_duration(struct api_metrics *m, enum strategy s, long long ns)
{
	struct metrics_histogram *h;
	int b = 0;

	if (m == NULL || (unsigned)s >= STRATEGY_COUNT)
		return;
	if (ns < 0)
		ns = 0;
	h = &m->purchase_duration[s];
	while (b < METRICS_BUCKETS && ns > buckets[b].ns)
		b++;
	metrics_add(&h->buckets[b], 1);
	metrics_add(&h->sum_ns, (unsigned long long)ns);
	metrics_add(&h->count, 1);
}

static unsigned long long
get(const atomic_ullong *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

/* A growing text buffer; on failure it frees itself and stays NULL. */
struct text {
	char *s;
	size_t len, cap;
};

static void put(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	char *grown;
	int n;

	if (t->s == NULL)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			goto fail;
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		if ((grown = realloc(t->s, t->cap * 2 + (size_t)n)) == NULL)
			goto fail;
		t->s = grown;
		t->cap = t->cap * 2 + (size_t)n;
	}
fail:
	free(t->s);
	t->s = NULL;
}

static void
family(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP lastitem_api_%s %s\n# TYPE lastitem_api_%s %s\n",
	    name, help, name, type);
}

static const char *
strategy_label(int s)
{
	return s == METRICS_STRATEGY_UNKNOWN ? "unknown" :
	    strategy_name((enum strategy)s);
}

static void
format_histogram(struct text *t, const struct metrics_histogram *h,
    const char *strategy)
{
	unsigned long long cumulative = 0, sum_ns = get(&h->sum_ns);
	int b;

	/* The count is the buckets' total, read once, so that _count and the
	 * +Inf bucket always agree within one scrape. */
	for (b = 0; b < METRICS_BUCKETS; b++) {
		cumulative += get(&h->buckets[b]);
		put(t, "lastitem_api_purchase_duration_seconds_bucket"
		    "{strategy=\"%s\",le=\"%s\"} %llu\n", strategy, buckets[b].le,
		    cumulative);
	}
	cumulative += get(&h->buckets[METRICS_BUCKETS]);
	put(t, "lastitem_api_purchase_duration_seconds_bucket"
	    "{strategy=\"%s\",le=\"+Inf\"} %llu\n", strategy, cumulative);
	put(t, "lastitem_api_purchase_duration_seconds_sum{strategy=\"%s\"} "
	    "%llu.%09llu\n", strategy, sum_ns / 1000000000ULL,
	    sum_ns % 1000000000ULL);
	put(t, "lastitem_api_purchase_duration_seconds_count{strategy=\"%s\"} "
	    "%llu\n", strategy, cumulative);
}

char *
metrics_format(const struct api_metrics *m, size_t *len)
{
	struct text t = { malloc(8192), 0, 8192 };
	unsigned long long v;
	int r, s, i;

	family(&t, "requests_total", "counter",
	    "Requests answered, by route and HTTP status.");
	for (r = 0; r < METRICS_ROUTE_COUNT; r++)
		for (i = 0; i < METRICS_STATUS_COUNT; i++)
			if ((v = get(&m->requests[r][i])) > 0) {
				if (statuses[i] != 0)
					put(&t, "lastitem_api_requests_total{route=\"%s\","
					    "status=\"%d\"} %llu\n",
					    route_label((enum route_id)r), statuses[i], v);
				else
					put(&t, "lastitem_api_requests_total{route=\"%s\","
					    "status=\"other\"} %llu\n",
					    route_label((enum route_id)r), v);
			}

	family(&t, "purchases_total", "counter",
	    "Purchase requests, by strategy and result.");
	for (s = 0; s < METRICS_STRATEGY_COUNT; s++)
		for (i = 0; i < PURCHASE_OUTCOME_COUNT; i++)
			if ((v = get(&m->purchases[s][i])) > 0)
				put(&t, "lastitem_api_purchases_total{strategy=\"%s\","
				    "result=\"%s\"} %llu\n", strategy_label(s),
				    purchase_outcome_label((enum purchase_outcome)i),
				    v);

	family(&t, "optimistic_retries_total", "counter",
	    "Compare-and-swap attempts the optimistic strategy repeated after "
	    "losing a race.");
	put(&t, "lastitem_api_optimistic_retries_total %llu\n",
	    get(&m->optimistic_retries));

	family(&t, "sold_out_unasked_total", "counter",
	    "Purchases answered sold out from the event stream's stock, "
	    "without the database.");
	put(&t, "lastitem_api_sold_out_unasked_total %llu\n",
	    get(&m->sold_out_unasked));

	family(&t, "purchase_duration_seconds", "histogram",
	    "Time of the database call of each purchase the database answered.");
	for (s = 0; s < STRATEGY_COUNT; s++)
		if (get(&m->purchase_duration[s].count) > 0)
			format_histogram(&t, &m->purchase_duration[s],
			    strategy_name((enum strategy)s));

	family(&t, "db_reconnects_total", "counter",
	    "Database connections made again after one was lost, all workers.");
	put(&t, "lastitem_api_db_reconnects_total %llu\n", get(&m->db_reconnects));

	family(&t, "workers_restarted_total", "counter",
	    "Workers that died and were replaced by the master.");
	put(&t, "lastitem_api_workers_restarted_total %llu\n",
	    get(&m->workers_restarted));

	family(&t, "workers", "gauge", "Workers alive now (those of --listen).");
	put(&t, "lastitem_api_workers %llu\n", get(&m->workers));

	family(&t, "scrape_workers", "gauge",
	    "Workers of --metrics-listen alive now (1, or 0 without it).");
	put(&t, "lastitem_api_scrape_workers %llu\n", get(&m->scrape_workers));

	family(&t, "start_time_seconds", "gauge",
	    "When the pool started, in seconds since the Unix epoch.");
	put(&t, "lastitem_api_start_time_seconds %llu\n", get(&m->start_time));

	if (t.s != NULL)
		*len = t.len;
	return t.s;
}
