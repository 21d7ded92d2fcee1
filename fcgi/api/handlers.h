/*
 * handlers.h — the pool's endpoints: one request in, one response out.
 */
#ifndef LI_HANDLERS_H
#define LI_HANDLERS_H

#include "config.h"
#include "db.h"
#include "metrics.h"
#include "request.h"
#include "response.h"
#include "route.h"

/* What a handler works with: the configuration, the worker's connection
 * (shared by its request threads, batch.h) and the pool's shared counters.
 * scrape_only: this worker serves --metrics-listen, where every route but
 * metrics and health is a 404. */
struct batch_conn;
struct stock_view;

struct handler_ctx {
	const struct api_config *cfg;
	struct batch_conn *conn;
	struct stock_view *view;   /* what the stream says; NULL: no --events */
	struct api_metrics *metrics;
	int scrape_only;
};

/* Answers one request into resp (initialised by the caller), and counts it. */
void handle_request(struct handler_ctx *ctx, const struct http_request *req,
    struct response *resp);

#endif
