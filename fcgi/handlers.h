/*
 * handlers.h — the pool's endpoints: one request in, one response out.
 */
#ifndef LI_HANDLERS_H
#define LI_HANDLERS_H

#include "api_config.h"
#include "db.h"
#include "metrics.h"
#include "request.h"
#include "response.h"

/* What a handler works with: the configuration, the worker's connection
 * and the pool's shared counters. */
struct handler_ctx {
	const struct api_config *cfg;
	struct db *db;
	struct api_metrics *metrics;
};

/* Answers one request into resp (initialised by the caller), and counts it. */
void handle_request(struct handler_ctx *ctx, const struct http_request *req,
    struct response *resp);

#endif
