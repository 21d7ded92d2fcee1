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

/*
 * Appends one element of a text array literal: NULL unquoted, anything else
 * double-quoted with " and \\ escaped, so that no value can end the element
 * or be read as NULL. The caller sized buf for the worst case.
 */
static size_t
array_put(char *buf, size_t len, const char *v, int first)
{
	if (!first)
		buf[len++] = ',';
	if (v == NULL) {
		memcpy(buf + len, "NULL", 4);
		return len + 4;
	}
	buf[len++] = '"';
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			buf[len++] = '\\';
		buf[len++] = *v;
	}
	buf[len++] = '"';
	return len;
}

/* The three array parameters of a batch, in one allocation of the caller's. */
static char *
batch_arrays(struct purchase_request *const *req, int n, const char *params[4])
{
	size_t size = 3 * 4, q = 0, b = 0, k = 0;
	char *buf, *qs, *bs, *ks;

	for (int i = 0; i < n; i++) {
		size += 12 + 2 * strlen(req[i]->buyer) + 3;
		size += (req[i]->key != NULL ? 2 * strlen(req[i]->key) : 4) + 3;
	}
	if ((buf = malloc(size)) == NULL)
		return NULL;
	qs = buf;
	qs[q++] = '{';
	for (int i = 0; i < n; i++)
		q += (size_t)snprintf(qs + q, 16, "%s%d", i > 0 ? "," : "",
		    req[i]->quantity);
	qs[q++] = '}';
	qs[q++] = '\0';
	bs = qs + q;
	bs[b++] = '{';
	for (int i = 0; i < n; i++)
		b = array_put(bs, b, req[i]->buyer, i == 0);
	bs[b++] = '}';
	bs[b++] = '\0';
	ks = bs + b;
	ks[k++] = '{';
	for (int i = 0; i < n; i++)
		k = array_put(ks, k, req[i]->key, i == 0);
	ks[k++] = '}';
	ks[k++] = '\0';
	params[1] = qs;
	params[2] = bs;
	params[3] = ks;
	return buf;
}

/* Reads row i of a batch's answer into out, copying the body. */
static int
batch_row(PGresult *res, int i, struct purchase_result *out)
{
	int outcome;

	memset(out, 0, sizeof(*out));
	if ((outcome = purchase_outcome_from_sql(PQgetvalue(res, i, 0))) < 0)
		return LI_ERROR;
	out->outcome = (enum purchase_outcome)outcome;
	out->order_id = PQgetisnull(res, i, 1) ? 0 : atoll(PQgetvalue(res, i, 1));
	out->quantity_left = PQgetisnull(res, i, 2) ? 0 : atoi(PQgetvalue(res, i, 2));
	out->attempts = PQgetisnull(res, i, 3) ? 0 : atoi(PQgetvalue(res, i, 3));
	if (!PQgetisnull(res, i, 4)) {
		out->body_len = (size_t)PQgetlength(res, i, 4);
		if ((out->owned = malloc(out->body_len + 1)) == NULL)
			return LI_ERROR;
		memcpy(out->owned, PQgetvalue(res, i, 4), out->body_len + 1);
		out->body = out->owned;
	}
	if (purchase_outcome_problem(out->outcome) == PROBLEM_NONE &&
	    (out->body == NULL || out->order_id <= 0))
		return LI_ERROR;
	return LI_OK;
}

int
purchase_execute_batch(struct db *db, enum strategy s,
    struct purchase_request *const *req, int n)
{
	const char *params[4];
	PGresult *res;
	long long started, ns;
	char *arrays;
	int i;

	for (i = 0; i < n; i++)
		memset(&req[i]->result, 0, sizeof(req[i]->result));
	if (n <= 0 || (arrays = batch_arrays(req, n, params)) == NULL)
		return LI_ERROR;
	params[0] = req[0]->item_id;
	started = monotonic_ns();
	res = db_exec(db, (enum db_stmt)s, params, 0);
	ns = monotonic_ns() - started;
	free(arrays);
	if (res == NULL)
		return LI_ERROR;
	if (PQntuples(res) != n || PQnfields(res) != 5)
		goto bad;
	for (i = 0; i < n; i++)
		if (batch_row(res, i, &req[i]->result) != LI_OK)
			goto bad;
	PQclear(res);
	for (i = 0; i < n; i++)
		count(db, s, &req[i]->result, ns);
	return LI_OK;
bad:
	/* The schema and this file disagree: never guess at a purchase. */
	for (i = 0; i < n; i++)
		purchase_result_free(&req[i]->result);
	PQclear(res);
	return LI_ERROR;
}

void
purchase_result_free(struct purchase_result *r)
{
	PQclear(r->res);
	free(r->owned);
	r->res = NULL;
	r->owned = NULL;
	r->body = NULL;
}
