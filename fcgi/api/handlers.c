/*
 * handlers.c — the endpoints of doc/api.md except the event stream.
 *
 * Each handler checks everything it can before it touches the database, in
 * the order a client would want to hear about it (the size of the body, its
 * type, the headers, the fields), then makes exactly one database call. Any
 * database trouble is a 503 with Retry-After, never another 5xx.
 *
 * Every request is counted once it is answered (by route and status), and
 * every purchase by strategy and result, in the pool's shared counters.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "handlers_drops.h"
#include "common/li.h"
#include "batch.h"
#include "stock_view.h"
#include "purchase.h"
#include "request_drops.h"

#define DETAIL_MAX 256

/*
 * What every handler is given, whether it needs it or not: ROUTE_LIST
 * (route.h) names the handler of each route, and the table of them is
 * derived from it at the end of this file.
 */
typedef void route_handler(struct handler_ctx *ctx,
    const struct http_request *req, const struct route *rt,
    struct response *resp);

/* Runs one statement on the worker's connection, which the request threads
 * share: see batch.c. */
static PGresult *
exec_stmt(struct handler_ctx *ctx, enum db_stmt stmt,
    const char *const *params, int retry)
{
	struct db *db = batch_conn_acquire(ctx->conn);
	PGresult *res = db_exec(db, stmt, params, retry);

	batch_conn_release(ctx->conn);
	return res;
}

static void
unavailable(struct response *resp)
{
	response_problem(resp, PROBLEM_UNAVAILABLE, "the database is unavailable");
}

/*
 * Sends the single text value of a one-row result as a JSON body, or a 404
 * when the value is NULL (the thing asked for does not exist).
 */
static void
reply_json_value(struct response *resp, PGresult *res, int status,
    const char *not_found)
{
	if (res == NULL) {
		unavailable(resp);
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		response_problem(resp, PROBLEM_NOT_FOUND, not_found);
	else
		response_json(resp, status, PQgetvalue(res, 0, 0),
		    (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
}

static void
handle_items(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	(void)rt;
	if (strcmp(req->method, "POST") == 0) {
		drops_item_create(ctx, req, resp);
		return;
	}
	reply_json_value(resp, exec_stmt(ctx, DB_ITEMS, NULL, 1), 200,
	    "there are no items");
}

static void
handle_item(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	const char *params[1] = { rt->item_id };
	char detail[DETAIL_MAX];

	if (strcmp(req->method, "PATCH") == 0) {
		drops_item_patch(ctx, req, rt, resp);
		return;
	}
	snprintf(detail, sizeof(detail), "no item %s", rt->item_id);
	reply_json_value(resp, exec_stmt(ctx, DB_ITEM, params, 1), 200, detail);
}

static void
handle_orders(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	struct orders_query q;
	char detail[DETAIL_MAX], limit[16], before[32];
	const char *params[3];
	enum problem_code rc;

	(void)rt;
	rc = request_orders_query(req->query, &q, detail, sizeof(detail));
	if (rc != PROBLEM_NONE) {
		response_problem(resp, rc, detail);
		return;
	}
	snprintf(limit, sizeof(limit), "%d", q.limit);
	params[0] = q.item_id[0] != '\0' ? q.item_id : NULL;
	params[1] = limit;
	snprintf(before, sizeof(before), "%lld", q.before);
	params[2] = q.before > 0 ? before : NULL;
	snprintf(detail, sizeof(detail), "no item %s", q.item_id);
	reply_json_value(resp, exec_stmt(ctx, DB_ORDERS, params, 1), 200, detail);
}

static void
handle_order(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	char id[32], detail[DETAIL_MAX];
	const char *params[1] = { id };

	(void)req;
	snprintf(id, sizeof(id), "%lld", rt->order_id);
	snprintf(detail, sizeof(detail), "no order %s", id);
	reply_json_value(resp, exec_stmt(ctx, DB_ORDER, params, 1), 200, detail);
}

/*
 * Answers what the database decided: a 201 with the order, or the problem
 * PURCHASE_OUTCOME_LIST gives the outcome, with a detail saying why.
 */
static void
reply_purchase(const struct purchase_result *r, const char *item_id,
    int quantity, struct response *resp)
{
	enum problem_code problem = purchase_outcome_problem(r->outcome);
	char detail[DETAIL_MAX];

	if (problem == PROBLEM_NONE) {
		response_json(resp, 201, r->body, r->body_len);
		if (resp->status != 201)
			return;         /* out of memory: already a 503 */
		(void)response_header(resp, "Location: /api/orders/%lld", r->order_id);
		if (r->outcome == PURCHASE_REPLAYED)
			(void)response_header(resp, "Idempotent-Replayed: true");
		return;
	}
	switch (r->outcome) {
	case PURCHASE_SOLD_OUT:
		if (quantity == 1 || r->quantity_left == 0)
			snprintf(detail, sizeof(detail), "%s has %d left",
			    item_id, r->quantity_left);
		else
			snprintf(detail, sizeof(detail), "%s has %d left, %d asked for",
			    item_id, r->quantity_left, quantity);
		break;
	case PURCHASE_NOT_FOUND:
		snprintf(detail, sizeof(detail), "no item %s", item_id);
		break;
	case PURCHASE_KEY_REUSED:
		snprintf(detail, sizeof(detail), "this buyer's Idempotency-Key "
		    "bought order %lld, with another item or quantity",
		    r->order_id);
		break;
	case PURCHASE_LIMIT_REACHED:
		drops_limit_detail(r, item_id, detail, sizeof(detail));
		break;
	case PURCHASE_CONTENTION:
		snprintf(detail, sizeof(detail), "gave up on %s after %d attempts; "
		    "try again", item_id, r->attempts);
		break;
	default:
		snprintf(detail, sizeof(detail), "%s", problem_title(problem));
		break;
	}
	response_problem(resp, problem, detail);
}

/* One purchase: batched ones wait to be decided with others (batch.c),
 * the others run alone on the worker's connection. */
static int
buy(struct handler_ctx *ctx, enum strategy s, const char *item_id,
    const struct purchase_body *body, const char *key,
    struct purchase_result *out)
{
	struct purchase_request req;
	struct db *db;
	int rc;

	if (strategy_is_batched(s)) {
		memset(&req, 0, sizeof(req));
		req.item_id = item_id;
		req.quantity = body->quantity;
		req.buyer = body->buyer;
		req.key = key;
		rc = batch_purchase(ctx->conn, s, &req);
		*out = req.result;
		return rc;
	}
	db = batch_conn_acquire(ctx->conn);
	rc = purchase_execute(db, s, item_id, body->quantity, body->buyer, key,
	    out);
	batch_conn_release(ctx->conn);
	return rc;
}

static void
handle_purchase(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	struct purchase_body body;
	struct purchase_result result;
	char detail[DETAIL_MAX];
	enum problem_code rc;
	enum strategy s;

	rc = request_idempotency_key(req->idempotency_key, detail,
	    sizeof(detail));
	if (rc == PROBLEM_NONE)
		rc = request_purchase_body(req->body, req->body_len, &body, detail,
		    sizeof(detail));
	if (rc == PROBLEM_NONE)
		rc = request_buyer_identity(ctx->cfg->buyer_header,
		    req->buyer_header, &body, detail, sizeof(detail));
	if (rc != PROBLEM_NONE) {
		metrics_purchase(ctx->metrics, METRICS_STRATEGY_UNKNOWN,
		    rc == PROBLEM_FORBIDDEN ? PURCHASE_FORBIDDEN :
		    PURCHASE_BAD_REQUEST);
		response_problem(resp, rc, detail);
		return;
	}
	s = body.strategy >= 0 ? (enum strategy)body.strategy :
	    ctx->cfg->default_strategy;
	if (strategy_is_unsafe(s) && !ctx->cfg->allow_unsafe) {
		metrics_purchase(ctx->metrics, (int)s, PURCHASE_FORBIDDEN);
		snprintf(detail, sizeof(detail), "strategy %s oversells; this pool "
		    "was started without --allow-unsafe", strategy_name(s));
		response_problem(resp, purchase_outcome_problem(PURCHASE_FORBIDDEN),
		    detail);
		return;
	}
	/* Sold out by what the stream says: 409 without the database. Not with
	 * a key: that key may have bought before, and then it replays. */
	memset(&result, 0, sizeof(result));
	if (req->idempotency_key == NULL && ctx->view != NULL &&
	    stock_view_sold_out(ctx->view, rt->item_id, body.quantity,
	    &result.quantity_left)) {
		result.outcome = PURCHASE_SOLD_OUT;
		metrics_purchase(ctx->metrics, (int)s, result.outcome);
		if (ctx->metrics != NULL)
			metrics_add(&ctx->metrics->sold_out_unasked, 1);
		reply_purchase(&result, rt->item_id, body.quantity, resp);
		return;
	}
	if (buy(ctx, s, rt->item_id, &body, req->idempotency_key,
	    &result) != LI_OK) {
		metrics_purchase(ctx->metrics, (int)s, PURCHASE_UNAVAILABLE);
		unavailable(resp);
		return;
	}
	metrics_purchase(ctx->metrics, (int)s, result.outcome);
	reply_purchase(&result, rt->item_id, body.quantity, resp);
	purchase_result_free(&result);
}

int
handlers_admin_refused(struct handler_ctx *ctx, const struct http_request *req,
    struct response *resp, const char *what)
{
	const struct api_config *cfg = ctx->cfg;
	char detail[DETAIL_MAX];
	const char *token;
	size_t len;

	if (cfg->admin_token_len == 0 ||
	    (request_bearer_token(req->authorization, &token, &len) == PROBLEM_NONE &&
	    request_token_equal(token, len, cfg->admin_token,
	    cfg->admin_token_len)))
		return 0;
	snprintf(detail, sizeof(detail), "%s needs Authorization: Bearer "
	    "<admin token>", what);
	response_problem(resp, PROBLEM_UNAUTHORIZED, detail);
	return 1;
}

static void
handle_reset(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	struct reset_body body;
	char detail[DETAIL_MAX], qty[16];
	const char *params[1];
	enum problem_code rc;

	(void)rt;
	if (handlers_admin_refused(ctx, req, resp, "reset"))
		return;
	rc = request_reset_body(req->body, req->body_len, &body, detail,
	    sizeof(detail));
	if (rc != PROBLEM_NONE) {
		response_problem(resp, rc, detail);
		return;
	}
	snprintf(qty, sizeof(qty), "%d", body.quantity);
	params[0] = body.has_quantity ? qty : NULL;
	reply_json_value(resp, exec_stmt(ctx, DB_RESET, params, 0), 200,
	    "there are no items");
}

static void
handle_config(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	const struct api_config *cfg = ctx->cfg;
	char json[512];
	const char *sep = "";
	size_t len = 0;
	int n;

	(void)req;
	(void)rt;
	/* Every piece is short and fixed: 512 bytes always hold them all. */
	n = snprintf(json, sizeof(json), "{\"strategies\":[");
	len += (size_t)n;
	for (int s = 0; s < STRATEGY_COUNT; s++) {
		if (strategy_is_unsafe((enum strategy)s) && !cfg->allow_unsafe)
			continue;
		n = snprintf(json + len, sizeof(json) - len, "%s\"%s\"", sep,
		    strategy_name((enum strategy)s));
		len += (size_t)n;
		sep = ",";
	}
	n = snprintf(json + len, sizeof(json) - len,
	    "],\"default_strategy\":\"%s\",\"unsafe_allowed\":%s,"
	    "\"reset_requires_token\":%s,\"max_quantity\":%d}",
	    strategy_name(cfg->default_strategy),
	    cfg->allow_unsafe ? "true" : "false",
	    cfg->admin_token_len > 0 ? "true" : "false", LI_QUANTITY_MAX);
	len += (size_t)n;
	response_json(resp, 200, json, len);
}

static void
handle_health(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	static const char ok[] = "{\"status\":\"ok\",\"database\":\"ok\"}";
	PGresult *res = exec_stmt(ctx, DB_HEALTH, NULL, 1);

	(void)req;
	(void)rt;
	if (res == NULL) {
		unavailable(resp);
		return;
	}
	PQclear(res);
	response_json(resp, 200, ok, sizeof(ok) - 1);
}

static void
handle_metrics(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	char *text;
	size_t len = 0;

	(void)req;
	(void)rt;
	text = ctx->metrics != NULL ? metrics_format(ctx->metrics, &len) : NULL;
	response_take(resp, 200, "text/plain; version=0.0.4; charset=utf-8",
	    text, len);
}

/* The handler of each route, as ROUTE_LIST names it. */
static route_handler *const handlers[ROUTE_COUNT] = {
#define ROUTE_HANDLER(id, pattern, allow, label, handler, scrape) \
	[ROUTE_##id] = handler,
	ROUTE_LIST(ROUTE_HANDLER)
#undef ROUTE_HANDLER
};

/*
 * What any request that changes something must pass before its handler, so
 * before anything touches the database: it must come from this site's own
 * page or from no browser at all (403), its body must fit (413), and it
 * must say application/json even with no body (415), which no HTML form on
 * another site can. Returns 1 with resp filled when the request is refused.
 */
static int
refused_state_change(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp)
{
	char detail[DETAIL_MAX];
	enum problem_code rc;

	rc = request_same_origin(req->method, req->sec_fetch_site, req->origin,
	    req->scheme, req->host, detail, sizeof(detail));
	if (rc == PROBLEM_NONE && req->body_too_large) {
		rc = PROBLEM_PAYLOAD_TOO_LARGE;
		snprintf(detail, sizeof(detail), "a request body may be at most %d "
		    "bytes", LI_BODY_MAX);
	}
	if (rc == PROBLEM_NONE && !request_method_safe(req->method))
		rc = request_content_type(req->content_type, req->body_len, detail,
		    sizeof(detail));
	if (rc == PROBLEM_NONE)
		return 0;
	if (rt->id == ROUTE_PURCHASE)
		metrics_purchase(ctx->metrics, METRICS_STRATEGY_UNKNOWN,
		    rc == PROBLEM_FORBIDDEN ? PURCHASE_FORBIDDEN :
		    PURCHASE_BAD_REQUEST);
	response_problem(resp, rc, detail);
	return 1;
}

/* Answers a request whose route matched; rt->id is valid. */
static void
dispatch(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, enum problem_code rc, struct response *resp)
{
	char detail[DETAIL_MAX];

	if (rc == PROBLEM_METHOD_NOT_ALLOWED) {
		snprintf(detail, sizeof(detail), "%s takes %s", req->path, rt->allow);
		response_problem(resp, rc, detail);
		(void)response_header(resp, "Allow: %s", rt->allow);
		return;
	}
	if (refused_state_change(ctx, req, rt, resp))
		return;
	handlers[rt->id](ctx, req, rt, resp);
}

void
handle_request(struct handler_ctx *ctx, const struct http_request *req,
    struct response *resp)
{
	struct route rt;
	enum problem_code rc;

	rc = route_match(req->method, req->path, &rt);
	/* The scrape socket exists so that these two never wait behind a
	 * purchase; serving anything else there would bring the wait back. */
	if (ctx->scrape_only && (rc == PROBLEM_NONE ||
	    rc == PROBLEM_METHOD_NOT_ALLOWED) && !route_on_scrape_socket(rt.id)) {
		response_problem(resp, PROBLEM_NOT_FOUND, "the metrics socket "
		    "serves /api/metrics and /api/health only");
		metrics_request(ctx->metrics, METRICS_ROUTE_OTHER, resp->status);
		return;
	}
	if (rc == PROBLEM_NONE || rc == PROBLEM_METHOD_NOT_ALLOWED) {
		dispatch(ctx, req, &rt, rc, resp);
		metrics_request(ctx->metrics, (int)rt.id, resp->status);
	} else {
		response_problem(resp, rc, "no such resource");
		metrics_request(ctx->metrics, METRICS_ROUTE_OTHER, resp->status);
	}
}
