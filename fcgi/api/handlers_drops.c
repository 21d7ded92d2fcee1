/*
 * handlers_drops.c — holds and items managed through the API.
 *
 * The same shape as handlers.c: every field checked first (request_drops.c),
 * then exactly one database call, whose outcome row (the columns of a
 * purchase) is answered through PURCHASE_OUTCOME_LIST. The buyer is the
 * body's, or with --buyer-header the one the shop's proxy names
 * (request_buyer_identity), for holds as for purchases, so a limit per
 * buyer is a limit per signed-in person.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "common/li.h"
#include "batch.h"
#include "handlers_drops.h"
#include "request_drops.h"

#define DETAIL_MAX 256

static void
unavailable(struct response *resp)
{
	response_problem(resp, PROBLEM_UNAVAILABLE, "the database is unavailable");
}

void
drops_limit_detail(const struct purchase_result *r, const char *item_id,
    char *detail, size_t size)
{
	snprintf(detail, size, "one buyer may have at most %d of %s, in orders "
	    "and holds; this one has %d", r->attempts, item_id, r->quantity_left);
}

/*
 * Answers an outcome: its body with status ok (201 or 200) and Location,
 * or its problem with a detail. what names the thing for the detail
 * ("hold 12", "golden-ticket").
 */
static void
reply_outcome(const struct purchase_result *r, int ok, const char *location,
    const char *what, int quantity, struct response *resp)
{
	enum problem_code problem = purchase_outcome_problem(r->outcome);
	char detail[DETAIL_MAX];

	if (problem == PROBLEM_NONE) {
		response_json(resp, ok, r->body, r->body_len);
		if (resp->status != ok)
			return;         /* out of memory: already a 503 */
		if (location != NULL)
			(void)response_header(resp, "Location: %s", location);
		if (r->outcome == PURCHASE_REPLAYED)
			(void)response_header(resp, "Idempotent-Replayed: true");
		return;
	}
	switch (r->outcome) {
	case PURCHASE_SOLD_OUT:
		snprintf(detail, sizeof(detail), "%s has %d left, %d asked for",
		    what, r->quantity_left, quantity);
		break;
	case PURCHASE_LIMIT_REACHED:
		drops_limit_detail(r, what, detail, sizeof(detail));
		break;
	case PURCHASE_NOT_FOUND:
		snprintf(detail, sizeof(detail), "no %s", what);
		break;
	case PURCHASE_KEY_REUSED:
		snprintf(detail, sizeof(detail), "this buyer's Idempotency-Key "
		    "made hold %lld, with another item or quantity", r->order_id);
		break;
	case PURCHASE_CONTENTION:
		snprintf(detail, sizeof(detail), "gave up on %s after %d attempts; "
		    "try again", what, r->attempts);
		break;
	case PURCHASE_HOLD_EXPIRED:
		snprintf(detail, sizeof(detail), "%s expired; its units are back "
		    "on sale", what);
		break;
	case PURCHASE_NOT_HOLDER:
		snprintf(detail, sizeof(detail), "%s is another buyer's", what);
		break;
	case PURCHASE_HOLD_ENDED:
		snprintf(detail, sizeof(detail), "%s has already ended", what);
		break;
	case PURCHASE_EXISTS:
		snprintf(detail, sizeof(detail), "%s exists already", what);
		break;
	case PURCHASE_STOCK_FULL:
		snprintf(detail, sizeof(detail), "a restock of %s may not take its "
		    "stock past %d", what, r->attempts);
		break;
	default:
		snprintf(detail, sizeof(detail), "%s", problem_title(problem));
		break;
	}
	response_problem(resp, problem, detail);
}

/* Runs stmt and answers its outcome; a 503 when the database could not. */
static void
execute_and_reply(struct handler_ctx *ctx, enum db_stmt stmt,
    const char *const *params, int ok, const char *what, int quantity,
    int location_is_order, struct response *resp)
{
	struct purchase_result r;
	char location[96];
	const char *loc = NULL;
	struct db *db;
	int rc;

	/* The worker's one connection is shared by its request threads
	 * (batch.c): hold it for this call only. */
	db = batch_conn_acquire(ctx->conn);
	rc = outcome_execute(db, stmt, params, &r);
	batch_conn_release(ctx->conn);
	if (rc != LI_OK) {
		unavailable(resp);
		return;
	}
	if (location_is_order && r.order_id > 0) {
		snprintf(location, sizeof(location), "/api/%s/%lld",
		    stmt == DB_HOLD_CREATE ? "holds" : "orders", r.order_id);
		loc = location;
	} else if (stmt == DB_ITEM_CREATE) {
		snprintf(location, sizeof(location), "/api/items/%s", params[0]);
		loc = location;
	}
	reply_outcome(&r, ok, loc, what, quantity, resp);
	purchase_result_free(&r);
}

void
handle_holds(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	struct hold_body body;
	char detail[DETAIL_MAX], qty[16], ttl[16];
	const char *params[6];
	enum problem_code rc;
	enum strategy s;

	rc = request_idempotency_key(req->idempotency_key, detail,
	    sizeof(detail));
	if (rc == PROBLEM_NONE)
		rc = request_hold_body(req->body, req->body_len, &body, detail,
		    sizeof(detail));
	if (rc == PROBLEM_NONE)
		rc = request_buyer_identity(ctx->cfg->buyer_header,
		    req->buyer_header, &body.p, detail, sizeof(detail));
	if (rc != PROBLEM_NONE) {
		response_problem(resp, rc, detail);
		return;
	}
	s = body.p.strategy >= 0 ? (enum strategy)body.p.strategy :
	    ctx->cfg->default_strategy;
	if (strategy_is_unsafe(s) && !ctx->cfg->allow_unsafe) {
		snprintf(detail, sizeof(detail), "strategy %s oversells; this pool "
		    "was started without --allow-unsafe", strategy_name(s));
		response_problem(resp, PROBLEM_FORBIDDEN, detail);
		return;
	}
	snprintf(qty, sizeof(qty), "%d", body.p.quantity);
	snprintf(ttl, sizeof(ttl), "%d", body.ttl_seconds);
	params[0] = rt->item_id;
	params[1] = qty;
	params[2] = body.p.buyer;
	params[3] = req->idempotency_key;
	params[4] = ttl;
	params[5] = strategy_name(s);
	snprintf(detail, sizeof(detail), "item %s", rt->item_id);
	execute_and_reply(ctx, DB_HOLD_CREATE, params, 201, detail,
	    body.p.quantity, 1, resp);
}

/* Parses the buyer of a confirm or release; 0 with resp filled if bad. */
static int
hold_buyer(struct handler_ctx *ctx, const struct http_request *req,
    struct purchase_body *body, struct response *resp)
{
	char detail[DETAIL_MAX];
	enum problem_code rc;

	rc = request_buyer_body(req->body, req->body_len, body, detail,
	    sizeof(detail));
	if (rc == PROBLEM_NONE)
		rc = request_buyer_identity(ctx->cfg->buyer_header,
		    req->buyer_header, body, detail, sizeof(detail));
	if (rc == PROBLEM_NONE)
		return 1;
	response_problem(resp, rc, detail);
	return 0;
}

void
handle_hold(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	struct purchase_body body;
	char id[32], what[48];
	const char *params[2] = { id, NULL };
	PGresult *res;

	snprintf(id, sizeof(id), "%lld", rt->hold_id);
	snprintf(what, sizeof(what), "hold %s", id);
	if (strcmp(req->method, "DELETE") == 0) {
		if (!hold_buyer(ctx, req, &body, resp))
			return;
		params[1] = body.buyer;
		execute_and_reply(ctx, DB_HOLD_RELEASE, params, 200, what, 0, 0,
		    resp);
		return;
	}
	res = db_exec(batch_conn_acquire(ctx->conn), DB_HOLD, params, 1);
	batch_conn_release(ctx->conn);
	if (res == NULL) {
		unavailable(resp);
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		response_problem(resp, PROBLEM_NOT_FOUND, "no such hold");
	else
		response_json(resp, 200, PQgetvalue(res, 0, 0),
		    (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
}

void
handle_confirm(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	struct purchase_body body;
	char id[32], what[48];
	const char *params[2] = { id, NULL };

	if (!hold_buyer(ctx, req, &body, resp))
		return;
	snprintf(id, sizeof(id), "%lld", rt->hold_id);
	snprintf(what, sizeof(what), "hold %s", id);
	params[1] = body.buyer;
	execute_and_reply(ctx, DB_HOLD_CONFIRM, params, 201, what, 0, 1, resp);
}

/* Formats an optional integer parameter: NULL when absent. */
static const char *
int_param(int present, int value, char *buf, size_t size)
{
	if (!present)
		return NULL;
	snprintf(buf, size, "%d", value);
	return buf;
}

void
drops_item_create(struct handler_ctx *ctx, const struct http_request *req,
    struct response *resp)
{
	struct item_body body;
	char detail[DETAIL_MAX], qty[16], max[16];
	const char *params[6];
	enum problem_code rc;

	if (handlers_admin_refused(ctx, req, resp, "creating an item"))
		return;
	rc = request_item_create_body(req->body, req->body_len, &body, detail,
	    sizeof(detail));
	if (rc != PROBLEM_NONE) {
		response_problem(resp, rc, detail);
		return;
	}
	params[0] = body.id;
	params[1] = body.name;
	params[2] = body.has_description ? body.description : NULL;
	params[3] = body.has_image_url ? body.image_url : NULL;
	params[4] = int_param(1, body.quantity, qty, sizeof(qty));
	params[5] = int_param(body.max_per_buyer > 0, body.max_per_buyer, max,
	    sizeof(max));
	snprintf(detail, sizeof(detail), "item %s", body.id);
	execute_and_reply(ctx, DB_ITEM_CREATE, params, 201, detail, 0, 0, resp);
}

void
drops_item_patch(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	struct item_body body;
	char detail[DETAIL_MAX], max[16], restock[16];
	const char *params[7];
	enum problem_code rc;

	if (handlers_admin_refused(ctx, req, resp, "changing an item"))
		return;
	rc = request_item_patch_body(req->body, req->body_len, &body, detail,
	    sizeof(detail));
	if (rc != PROBLEM_NONE) {
		response_problem(resp, rc, detail);
		return;
	}
	params[0] = rt->item_id;
	params[1] = body.has_name ? body.name : NULL;
	params[2] = body.has_description ? body.description : NULL;
	params[3] = body.has_image_url ? body.image_url : NULL;
	params[4] = body.has_max_per_buyer ? "true" : "false";
	params[5] = int_param(body.max_per_buyer > 0, body.max_per_buyer, max,
	    sizeof(max));
	params[6] = int_param(body.has_restock, body.restock, restock,
	    sizeof(restock));
	snprintf(detail, sizeof(detail), "item %s", rt->item_id);
	execute_and_reply(ctx, DB_ITEM_UPDATE, params, 200, detail, 0, 0, resp);
}
