/*
 * handlers_drops.h — the endpoints of limited drops (doc/api.md "Holds",
 * "Items"): holds, their confirmation and release, items created and
 * changed through the API. handlers.c routes to them; they share its
 * admin check.
 */
#ifndef LI_HANDLERS_DROPS_H
#define LI_HANDLERS_DROPS_H

#include "handlers.h"
#include "purchase.h"

/* POST /api/items and PATCH /api/items/{id} (handle_items, handle_item). */
void drops_item_create(struct handler_ctx *ctx, const struct http_request *req,
    struct response *resp);
void drops_item_patch(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp);

/* The routes HOLDS, HOLD and CONFIRM of ROUTE_LIST. */
void handle_holds(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp);
void handle_hold(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp);
void handle_confirm(struct handler_ctx *ctx, const struct http_request *req,
    const struct route *rt, struct response *resp);

/* The detail of a limit_reached: r->quantity_left is what the buyer owns,
 * r->attempts the limit (sql/strategies.sql, buyer_limit_check). */
void drops_limit_detail(const struct purchase_result *r, const char *item_id,
    char *detail, size_t size);

/* Whether a request that needs the admin token lacks it; then resp is the
 * 401 (handlers.c). what names the action in the detail. */
int handlers_admin_refused(struct handler_ctx *ctx,
    const struct http_request *req, struct response *resp, const char *what);

#endif
