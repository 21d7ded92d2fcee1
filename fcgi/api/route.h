/*
 * route.h — the routes of doc/api.md, written once.
 *
 * ROUTE_LIST is the one table of routes: everything else about a route is
 * derived from it — enum route_id, the matching and the Allow header of
 * route_match() (route.c), the handler that answers it (handlers.c), the
 * route label of lastitem_api_requests_total (metrics.c) and whether the
 * scrape socket (--metrics-listen) serves it. Adding a route is adding a line
 * here and its handler; forgetting the handler does not compile.
 *
 * route_match() is pure (no I/O, nothing allocated), so test/unit_request.c
 * and the fuzzers call it directly.
 */
#ifndef LI_ROUTE_H
#define LI_ROUTE_H

#include "common/li.h"
#include "problem.h"

/* The Allow header of a route, and so the methods it takes. nginx drops the
 * body of a HEAD reply itself, so every GET route takes HEAD too. */
#define ROUTE_GET  "GET, HEAD"
#define ROUTE_POST "POST"
#define ROUTE_GET_POST   "GET, HEAD, POST"
#define ROUTE_GET_PATCH  "GET, HEAD, PATCH"
#define ROUTE_GET_DELETE "GET, HEAD, DELETE"

/*
 * X(id, pattern, allow, label, handler, scrape): the route ROUTE_<id>
 * matches the path pattern, where {item} is one segment that is an item id
 * ([a-z0-9][a-z0-9-]{0,63}) and {order} one that is an order id (a whole
 * number from 1, without leading zeros, at most 18 digits), {hold} one
 * that is a hold id (the same form); it takes the
 * methods of allow; label is its metrics label; handler (handlers.c) answers
 * it; scrape: the scrape socket serves it too.
 */
#define ROUTE_LIST(X) \
	X(ITEMS,    "/api/items",                 ROUTE_GET_POST,  "items", handle_items, 0) \
	X(ITEM,     "/api/items/{item}",          ROUTE_GET_PATCH, "item",  handle_item,  0) \
	X(PURCHASE, "/api/items/{item}/purchase", ROUTE_POST, "purchase", handle_purchase, 0) \
	X(HOLDS,    "/api/items/{item}/holds",    ROUTE_POST, "holds",    handle_holds,    0) \
	X(HOLD,     "/api/holds/{hold}",          ROUTE_GET_DELETE, "hold", handle_hold,   0) \
	X(CONFIRM,  "/api/holds/{hold}/confirm",  ROUTE_POST, "confirm",  handle_confirm,  0) \
	X(ORDERS,   "/api/orders",                ROUTE_GET,  "orders",   handle_orders,   0) \
	X(ORDER,    "/api/orders/{order}",        ROUTE_GET,  "order",    handle_order,    0) \
	X(RESET,    "/api/reset",                 ROUTE_POST, "reset",    handle_reset,    0) \
	X(CONFIG,   "/api/config",                ROUTE_GET,  "config",   handle_config,   0) \
	X(HEALTH,   "/api/health",                ROUTE_GET,  "health",   handle_health,   1) \
	X(METRICS,  "/api/metrics",               ROUTE_GET,  "metrics",  handle_metrics,  1)

enum route_id {
#define ROUTE_ENUM(id, pattern, allow, label, handler, scrape) ROUTE_##id,
	ROUTE_LIST(ROUTE_ENUM)
#undef ROUTE_ENUM
	ROUTE_COUNT
};

struct route {
	enum route_id id;
	char item_id[LI_ITEM_ID_MAX + 1];  /* the {item} of the path, or "" */
	long long order_id;                /* the {order} of the path, or 0 */
	long long hold_id;                 /* the {hold} of the path, or 0 */
	const char *allow;                 /* the methods the path takes */
};

/*
 * Matches method and path against ROUTE_LIST. Returns PROBLEM_NONE and
 * fills r; PROBLEM_NOT_FOUND for an unknown path (an item or order id that
 * is not one included), with r zeroed; or PROBLEM_METHOD_NOT_ALLOWED with r
 * filled, r->allow saying what the path takes.
 */
enum problem_code route_match(const char *method, const char *path,
    struct route *r);

/* The route label of a route for GET /api/metrics, e.g. "purchase";
 * "other" for ROUTE_COUNT, which stands for a path of no route. */
const char *route_label(enum route_id id);

/* Whether the scrape socket (--metrics-listen) serves a route. */
int route_on_scrape_socket(enum route_id id);

#endif
