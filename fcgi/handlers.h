/*
 * handlers.h — the pool's endpoints: one request in, one response out.
 */
#ifndef LI_HANDLERS_H
#define LI_HANDLERS_H

#include "api_config.h"
#include "db.h"
#include "request.h"
#include "response.h"

/* What a handler works with: the configuration and the worker's connection. */
struct handler_ctx {
	const struct api_config *cfg;
	struct db *db;
};

/* Answers one request into resp (initialised by the caller). */
void handle_request(struct handler_ctx *ctx, const struct http_request *req,
    struct response *resp);

#endif
