/*
 * unit_metrics — the pool's counters and their Prometheus text, called
 * directly: what each update adds, where a duration lands in the histogram,
 * and that every line of the output is a valid line of the text format.
 */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/metrics.h"
#include "api/strategy.h"
#include "tap.h"

/* Whether text has exactly this line. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p++;
	}
	return 0;
}

static int
name_char(int c, int first)
{
	return isalpha(c) || c == '_' || c == ':' || (!first && isdigit(c));
}

/*
 * Checks one sample line: name, optional {label="value",…}, a space, and a
 * number. Returns 1 when it is well formed.
 */
static int
sample_valid(const char *s)
{
	char *end;

	if (!name_char((unsigned char)*s, 1))
		return 0;
	while (name_char((unsigned char)*s, 0))
		s++;
	if (*s == '{') {
		s++;
		while (*s != '}') {
			if (!name_char((unsigned char)*s, 1))
				return 0;
			while (name_char((unsigned char)*s, 0))
				s++;
			if (*s++ != '=' || *s++ != '"')
				return 0;
			while (*s != '"' && *s != '\0' && *s != '\n' && *s != '\\')
				s++;
			if (*s++ != '"')
				return 0;
			if (*s == ',')
				s++;
			else if (*s != '}')
				return 0;
		}
		s++;
	}
	if (*s++ != ' ')
		return 0;
	if (strcmp(s, "+Inf") == 0)
		return 1;
	strtod(s, &end);
	return end != s && *end == '\0';
}

/* Every line is a sample or a HELP/TYPE comment; each sample's family has
 * a TYPE line before it. Returns the number of bad lines. */
static int
bad_lines(const char *text)
{
	char line[512], type_of[64][96];
	const char *p = text, *nl;
	int bad = 0, ntypes = 0;

	while (*p != '\0') {
		size_t len;

		if ((nl = strchr(p, '\n')) == NULL)
			return bad + 1;     /* the last line must end too */
		len = (size_t)(nl - p);
		if (len >= sizeof(line))
			return bad + 1;
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			if (ntypes < 64 && sscanf(line + 7, "%95s", type_of[ntypes]) == 1)
				ntypes++;
			continue;
		}
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (!sample_valid(line)) {
			printf("#   bad line: %s\n", line);
			bad++;
			continue;
		}
		int typed = 0;
		for (int i = 0; i < ntypes; i++) {
			size_t n = strlen(type_of[i]);
			if (strncmp(line, type_of[i], n) == 0)
				typed = 1;
		}
		if (!typed) {
			printf("#   no TYPE before: %s\n", line);
			bad++;
		}
	}
	return bad;
}

static void
test_status_index(void)
{
	is_int(metrics_status_index(200), 0, "200 has its own slot");
	is_int(metrics_status_index(503), METRICS_STATUS_COUNT - 2,
	    "503 is the last named status");
	is_int(metrics_status_index(500), METRICS_STATUS_COUNT - 1,
	    "500 is other");
	is_int(metrics_status_index(0), METRICS_STATUS_COUNT - 1, "0 is other");
}

static void
test_empty(struct api_metrics *m)
{
	size_t len = 0;
	char *text = metrics_format(m, &len);

	ok(text != NULL, "an empty set formats");
	if (text == NULL)
		return;
	is_int((long long)len, (long long)strlen(text), "the length is the text's");
	is_int(bad_lines(text), 0, "every line of the empty set is valid");
	ok(has_line(text, "# TYPE lastitem_api_requests_total counter"),
	    "requests_total is a counter");
	ok(has_line(text, "# TYPE lastitem_api_purchase_duration_seconds histogram"),
	    "purchase_duration_seconds is a histogram");
	ok(has_line(text, "# TYPE lastitem_api_workers gauge"), "workers is a gauge");
	ok(has_line(text, "lastitem_api_optimistic_retries_total 0"),
	    "unlabelled counters are there at 0");
	ok(strstr(text, "lastitem_api_requests_total{") == NULL,
	    "no labelled series before their first count");
	ok(strstr(text, "_bucket{") == NULL, "no histogram before a purchase");
	free(text);
}

static void
test_counts(struct api_metrics *m)
{
	size_t len;
	char *text;

	metrics_request(m, ROUTE_PURCHASE, 201);
	metrics_request(m, ROUTE_PURCHASE, 201);
	metrics_request(m, ROUTE_PURCHASE, 409);
	metrics_request(m, METRICS_ROUTE_OTHER, 404);
	metrics_request(m, ROUTE_ITEMS, 500);
	metrics_request(m, METRICS_ROUTE_COUNT, 200);   /* ignored */
	metrics_request(NULL, ROUTE_ITEMS, 200);        /* ignored */
	metrics_purchase(m, STRATEGY_ATOMIC, PURCHASE_CREATED);
	metrics_purchase(m, STRATEGY_ATOMIC, PURCHASE_CREATED);
	metrics_purchase(m, STRATEGY_OPTIMISTIC, PURCHASE_KEY_REUSED);
	metrics_purchase(m, METRICS_STRATEGY_UNKNOWN, PURCHASE_BAD_REQUEST);
	metrics_purchase(m, -1, PURCHASE_CREATED);      /* ignored */
	metrics_purchase(m, METRICS_STRATEGY_COUNT, PURCHASE_CREATED);
	metrics_add(&m->optimistic_retries, 3);
	metrics_add(&m->optimistic_retries, 4);
	metrics_add(&m->workers_restarted, 1);
	metrics_add(&m->db_reconnects, 2);
	metrics_add(&m->workers, 4);
	metrics_add(&m->scrape_workers, 1);

	/* On a bound is inside it: le is "less than or equal". */
	metrics_purchase_duration(m, STRATEGY_PESSIMISTIC, 500000);     /* 0.0005 */
	metrics_purchase_duration(m, STRATEGY_PESSIMISTIC, 500001);     /* 0.001 */
	metrics_purchase_duration(m, STRATEGY_PESSIMISTIC, 30000000);   /* 0.05 */
	metrics_purchase_duration(m, STRATEGY_PESSIMISTIC, 9000000000LL); /* +Inf */
	metrics_purchase_duration(m, STRATEGY_PESSIMISTIC, -5);         /* 0 */
	metrics_purchase_duration(m, STRATEGY_COUNT, 1);                /* ignored */

	if ((text = metrics_format(m, &len)) == NULL) {
		ok(0, "a full set formats");
		return;
	}
	is_int(bad_lines(text), 0, "every line of the full set is valid");
	ok(has_line(text, "lastitem_api_requests_total{route=\"purchase\",status=\"201\"} 2"),
	    "two 201s of purchase");
	ok(has_line(text, "lastitem_api_requests_total{route=\"purchase\",status=\"409\"} 1"),
	    "one 409 of purchase");
	ok(has_line(text, "lastitem_api_requests_total{route=\"other\",status=\"404\"} 1"),
	    "an unknown path is route other");
	ok(has_line(text, "lastitem_api_requests_total{route=\"items\",status=\"other\"} 1"),
	    "an unlisted status is other");
	ok(strstr(text, "route=\"items\",status=\"200\"") == NULL,
	    "updates of no set or an out-of-range route count nothing");
	ok(has_line(text, "lastitem_api_purchases_total{strategy=\"atomic\",result=\"created\"} 2"),
	    "two atomic purchases created");
	ok(has_line(text, "lastitem_api_purchases_total{strategy=\"optimistic\","
	    "result=\"idempotency_key_reused\"} 1"), "the key_reused label");
	ok(has_line(text, "lastitem_api_purchases_total{strategy=\"unknown\","
	    "result=\"bad_request\"} 1"), "a bad request has strategy unknown");
	ok(strstr(text, "strategy=\"pessimistic\",result=") == NULL,
	    "out-of-range strategies count nothing");
	ok(has_line(text, "lastitem_api_optimistic_retries_total 7"), "retries add up");
	ok(has_line(text, "lastitem_api_workers_restarted_total 1"), "restarts");
	ok(has_line(text, "lastitem_api_db_reconnects_total 2"), "reconnects");
	ok(has_line(text, "lastitem_api_workers 4"), "the workers gauge");
	ok(has_line(text, "lastitem_api_scrape_workers 1"),
	    "the scrape workers gauge");

	ok(has_line(text, "lastitem_api_purchase_duration_seconds_bucket"
	    "{strategy=\"pessimistic\",le=\"0.0005\"} 2"),
	    "0 and exactly 0.5 ms fall in le=0.0005");
	ok(has_line(text, "lastitem_api_purchase_duration_seconds_bucket"
	    "{strategy=\"pessimistic\",le=\"0.001\"} 3"),
	    "buckets are cumulative: 0.5 ms + 1 ns in le=0.001");
	ok(has_line(text, "lastitem_api_purchase_duration_seconds_bucket"
	    "{strategy=\"pessimistic\",le=\"0.025\"} 3"), "30 ms is not in le=0.025");
	ok(has_line(text, "lastitem_api_purchase_duration_seconds_bucket"
	    "{strategy=\"pessimistic\",le=\"0.05\"} 4"), "30 ms is in le=0.05");
	ok(has_line(text, "lastitem_api_purchase_duration_seconds_bucket"
	    "{strategy=\"pessimistic\",le=\"5\"} 4"), "9 s is past the last bound");
	ok(has_line(text, "lastitem_api_purchase_duration_seconds_bucket"
	    "{strategy=\"pessimistic\",le=\"+Inf\"} 5"), "+Inf holds all five");
	ok(has_line(text, "lastitem_api_purchase_duration_seconds_count"
	    "{strategy=\"pessimistic\"} 5"), "the count is five");
	ok(has_line(text, "lastitem_api_purchase_duration_seconds_sum"
	    "{strategy=\"pessimistic\"} 9.031000001"), "the sum in seconds, to the nanosecond");
	ok(strstr(text, "strategy=\"atomic\",le=") == NULL,
	    "no histogram for a strategy without purchases");
	free(text);
}

int
main(void)
{
	struct api_metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return 1;
	test_status_index();
	test_empty(m);
	test_counts(m);
	free(m);
	return tap_done();
}
