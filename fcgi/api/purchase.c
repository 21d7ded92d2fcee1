/*
 * purchase.c — one purchase, one EXECUTE.
 *
 * Deciding happens in sql/strategies.sql, under the row lock, inside one
 * function call: the row lock is held for exactly one round trip. This file
 * only sends the parameters and reads back the outcome. Nothing is retried
 * here: a purchase whose connection broke may or may not have committed, and
 * only the client's Idempotency-Key can make a retry safe.
 *
 * It also counts what only the database call can tell: how long it took
 * (CLOCK_MONOTONIC around the EXECUTE, for the histogram of GET
 * /api/metrics) and how many times the optimistic strategy went round its
 * compare-and-swap loop again (its "attempts" column, minus the first).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/li.h"
#include "common/monotonic.h"
#include "purchase.h"

/* Counts a purchase the database answered. */
static void
count(struct db *db, enum strategy s, const struct purchase_result *r,
    long long ns)
{
	if (db->metrics == NULL)
		return;
	metrics_purchase_duration(db->metrics, s, ns);
	if (s == STRATEGY_OPTIMISTIC && r->attempts > 1)
		metrics_add(&db->metrics->optimistic_retries,
		    (unsigned long long)(r->attempts - 1));
}

int
outcome_execute(struct db *db, enum db_stmt stmt, const char *const *params,
    struct purchase_result *out)
{
	PGresult *res;
	int outcome;

	memset(out, 0, sizeof(*out));
	res = db_exec(db, stmt, params, 0);
	if (res == NULL)
		return LI_ERROR;
	if (PQntuples(res) != 1 || PQnfields(res) != 5)
		goto bad;
	if ((outcome = purchase_outcome_from_sql(PQgetvalue(res, 0, 0))) < 0)
		goto bad;
	out->outcome = (enum purchase_outcome)outcome;
	out->order_id = PQgetisnull(res, 0, 1) ? 0 : atoll(PQgetvalue(res, 0, 1));
	out->quantity_left = PQgetisnull(res, 0, 2) ? 0 : atoi(PQgetvalue(res, 0, 2));
	out->attempts = PQgetisnull(res, 0, 3) ? 0 : atoi(PQgetvalue(res, 0, 3));
	if (!PQgetisnull(res, 0, 4)) {
		out->body = PQgetvalue(res, 0, 4);
		out->body_len = (size_t)PQgetlength(res, 0, 4);
	}
	/* An outcome answered with a body needs one. */
	if (purchase_outcome_problem(out->outcome) == PROBLEM_NONE &&
	    out->body == NULL)
		goto bad;
	out->res = res;
	return LI_OK;
bad:
	/* The schema and this file disagree: never guess at an answer. */
	PQclear(res);
	return LI_ERROR;
}

int
purchase_execute(struct db *db, enum strategy s, const char *item_id,
    int quantity, const char *buyer, const char *key,
    struct purchase_result *out)
{
	char qty[16];
	const char *params[4];
	long long started;

	snprintf(qty, sizeof(qty), "%d", quantity);
	params[0] = item_id;
	params[1] = qty;
	params[2] = buyer;
	params[3] = key;
	/* Strategy s runs as statement s: db.h asserts it. */
	started = monotonic_ns();
	if (outcome_execute(db, (enum db_stmt)s, params, out) != LI_OK)
		return LI_ERROR;
	/* A 201 with an order needs the order's id, for Location. */
	if (purchase_outcome_problem(out->outcome) == PROBLEM_NONE &&
	    out->order_id <= 0) {
		purchase_result_free(out);
		return LI_ERROR;
	}
	count(db, s, out, monotonic_ns() - started);
	return LI_OK;
}

void
purchase_result_free(struct purchase_result *r)
{
	PQclear(r->res);
	r->res = NULL;
	r->body = NULL;
}
