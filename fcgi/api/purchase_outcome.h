/*
 * purchase_outcome.h — how a purchase can end, written once.
 *
 * PURCHASE_OUTCOME_LIST is the one table of outcomes: enum purchase_outcome,
 * the outcome text the SQL functions of sql/strategies.sql, sql/holds.sql
 * and sql/items_admin.sql return (holds and item changes end the same
 * ways, and a few of their own), the result
 * label of lastitem_api_purchases_total and the problem (and so the HTTP
 * status, problem.c) a client is answered with are all derived from it.
 * Pure, so that the metrics and their unit test need no database.
 */
#ifndef LI_PURCHASE_OUTCOME_H
#define LI_PURCHASE_OUTCOME_H

#include "problem.h"

/*
 * X(id, sql, label, problem): PURCHASE_<id> is what the database said when
 * its outcome column is sql (NULL: decided without it); label is its result
 * label in the metrics; problem its answer, PROBLEM_NONE for a 201 with the
 * order (or hold, or item; 200 for RELEASED and UPDATED). The order is
 * that of the metrics' series. HOLD_EXPIRED … STOCK_FULL answer only holds
 * and item changes (which are not counted as purchases), never a purchase.
 */
#define PURCHASE_OUTCOME_LIST(X) \
	X(CREATED,     "created",    "created",                PROBLEM_NONE) \
	X(REPLAYED,    "replayed",   "replayed",               PROBLEM_NONE) \
	X(SOLD_OUT,    "sold_out",   "sold_out",               PROBLEM_SOLD_OUT) \
	X(CONTENTION,  "contention", "contention",             PROBLEM_CONTENTION) \
	X(KEY_REUSED,  "key_reused", "idempotency_key_reused", PROBLEM_IDEMPOTENCY_KEY_REUSED) \
	X(NOT_FOUND,   "not_found",  "not_found",              PROBLEM_NOT_FOUND) \
	X(LIMIT_REACHED, "limit_reached", "limit_reached",     PROBLEM_LIMIT_REACHED) \
	X(HOLD_EXPIRED, "hold_expired", "hold_expired",        PROBLEM_HOLD_EXPIRED) \
	X(NOT_HOLDER,  "not_holder", "not_holder",             PROBLEM_FORBIDDEN) \
	X(HOLD_ENDED,  "hold_ended", "hold_ended",             PROBLEM_CONFLICT) \
	X(RELEASED,    "released",   "released",               PROBLEM_NONE) \
	X(UPDATED,     "updated",    "updated",                PROBLEM_NONE) \
	X(EXISTS,      "exists",     "conflict",               PROBLEM_CONFLICT) \
	X(STOCK_FULL,  "stock_full", "stock_full",             PROBLEM_CONFLICT) \
	X(FORBIDDEN,   NULL,         "forbidden",              PROBLEM_FORBIDDEN) \
	X(UNAVAILABLE, NULL,         "unavailable",            PROBLEM_UNAVAILABLE) \
	X(BAD_REQUEST, NULL,         "bad_request",            PROBLEM_BAD_REQUEST)

/* FORBIDDEN: an unsafe strategy without --allow-unsafe. UNAVAILABLE: the
 * database did not answer. BAD_REQUEST: refused before the database, with
 * the parser's problem (a 400, 413 or 415). */
enum purchase_outcome {
#define PURCHASE_OUTCOME_ENUM(id, sql, label, problem) PURCHASE_##id,
	PURCHASE_OUTCOME_LIST(PURCHASE_OUTCOME_ENUM)
#undef PURCHASE_OUTCOME_ENUM
	PURCHASE_OUTCOME_COUNT
};

/* The outcome whose SQL text is sql, or -1 when the database may not say
 * that (then the schema and the pool disagree). */
int purchase_outcome_from_sql(const char *sql);

/* The result label of an outcome, e.g. "idempotency_key_reused". */
const char *purchase_outcome_label(enum purchase_outcome o);

/* The problem an outcome is answered with; PROBLEM_NONE: 201. */
enum problem_code purchase_outcome_problem(enum purchase_outcome o);

#endif
