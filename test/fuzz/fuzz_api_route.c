/*
 * fuzz_api_route — the pool's routing of a request: the path nginx passes
 * (DOCUMENT_URI, or REQUEST_URI cut at its '?'), the method matched
 * against the routes of doc/api.md, and the query string of GET /api/orders.
 *
 * Input: REQUEST_METHOD \n DOCUMENT_URI \n REQUEST_URI \n QUERY_STRING.
 * The whole input is also given to the item id check with its exact length.
 */
#include <config.h>

#include <inttypes.h>

#include "fuzz.h"
#include "api/request.h"
#include "api/route.h"
#include "common/text_check.h"

#define PATH_BUF 2048            /* what fcgi/api/worker.c gives request_path() */

static void
check_route(const char *method, const char *path)
{
	struct route r;
	enum problem_code rc = route_match(method, path, &r);
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	int post = strcmp(method, "POST") == 0;
	int patch = strcmp(method, "PATCH") == 0;
	int delete = strcmp(method, "DELETE") == 0;
	int allowed;
	char want[PATH_BUF + 64];

	if (rc == PROBLEM_NOT_FOUND)
		return;
	FUZZ_CHECK(rc == PROBLEM_NONE || rc == PROBLEM_METHOD_NOT_ALLOWED);
	FUZZ_CHECK(strncmp(path, "/api/", 5) == 0);
	FUZZ_CHECK(r.allow != NULL);
	if (strcmp(r.allow, "GET, HEAD") == 0)
		allowed = get;
	else if (strcmp(r.allow, "POST") == 0)
		allowed = post;
	else if (strcmp(r.allow, "GET, HEAD, POST") == 0)
		allowed = get || post;
	else if (strcmp(r.allow, "GET, HEAD, PATCH") == 0)
		allowed = get || patch;
	else if (strcmp(r.allow, "GET, HEAD, DELETE") == 0)
		allowed = get || delete;
	else
		allowed = -1;
	FUZZ_CHECK(allowed >= 0);
	FUZZ_CHECK(allowed == (rc == PROBLEM_NONE));

	switch (r.id) {
	case ROUTE_ITEM:
	case ROUTE_PURCHASE:
	case ROUTE_HOLDS:
		FUZZ_CHECK(fuzz_item_id_ok(r.item_id, strlen(r.item_id)));
		snprintf(want, sizeof(want), "/api/items/%s%s", r.item_id,
		    r.id == ROUTE_PURCHASE ? "/purchase" :
		    r.id == ROUTE_HOLDS ? "/holds" : "");
		FUZZ_CHECK(strcmp(want, path) == 0);
		FUZZ_CHECK(r.allow[0] == (r.id == ROUTE_ITEM ? 'G' : 'P'));
		break;
	case ROUTE_HOLD:
	case ROUTE_CONFIRM:
		FUZZ_CHECK(r.hold_id >= 1);
		snprintf(want, sizeof(want), "/api/holds/%lld%s", r.hold_id,
		    r.id == ROUTE_CONFIRM ? "/confirm" : "");
		FUZZ_CHECK(strcmp(want, path) == 0);
		break;
	case ROUTE_ORDER:
		FUZZ_CHECK(r.order_id >= 1);
		snprintf(want, sizeof(want), "/api/orders/%lld", r.order_id);
		FUZZ_CHECK(strcmp(want, path) == 0);
		break;
	case ROUTE_ITEMS:
		FUZZ_CHECK(strcmp(path, "/api/items") == 0);
		break;
	case ROUTE_ORDERS:
		FUZZ_CHECK(strcmp(path, "/api/orders") == 0);
		break;
	case ROUTE_RESET:
		FUZZ_CHECK(strcmp(path, "/api/reset") == 0 && r.allow[0] == 'P');
		break;
	case ROUTE_CONFIG:
		FUZZ_CHECK(strcmp(path, "/api/config") == 0);
		break;
	case ROUTE_HEALTH:
		FUZZ_CHECK(strcmp(path, "/api/health") == 0);
		break;
	case ROUTE_METRICS:
		FUZZ_CHECK(strcmp(path, "/api/metrics") == 0);
		break;
	default:
		FUZZ_CHECK(!"a route outside enum route_id");
	}
}

static void
check_query(const char *query)
{
	struct orders_query q;
	char detail[256];
	enum problem_code rc;

	memset(detail, 'x', sizeof(detail));
	rc = request_orders_query(query, &q, detail, sizeof(detail));
	if (rc != PROBLEM_NONE) {
		FUZZ_CHECK(rc == PROBLEM_BAD_REQUEST);
		FUZZ_CHECK(memchr(detail, '\0', sizeof(detail)) != NULL);
		FUZZ_CHECK(detail[0] != '\0');
		return;
	}
	FUZZ_CHECK(q.limit >= 1 && q.limit <= LI_ORDERS_LIMIT_MAX);
	FUZZ_CHECK(q.before >= 0);
	FUZZ_CHECK(q.item_id[0] == '\0' ||
	    fuzz_item_id_ok(q.item_id, strlen(q.item_id)));
	if (strstr(query, "limit") == NULL && strchr(query, '%') == NULL)
		FUZZ_CHECK(q.limit == LI_ORDERS_LIMIT_DEF);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t n = size;
	char *method, *doc, *uri, *query, *whole, *exact;
	char buf[PATH_BUF];
	const char *path;

	/* The item id check with the exact length: a copy without a NUL, so a
	 * read past the end is caught. */
	if ((exact = malloc(size + 1)) == NULL || (whole = malloc(size + 1)) == NULL)
		abort();
	memcpy(exact, data, size);
	memcpy(whole, data, size);
	whole[size] = '\0';
	FUZZ_CHECK(text_item_id_valid(exact, size) ==
	    (strlen(whole) == size && fuzz_item_id_ok(whole, size)));
	free(exact);
	free(whole);

	method = fuzz_field(&p, &n);
	doc = fuzz_field(&p, &n);
	uri = fuzz_field(&p, &n);
	query = fuzz_field(&p, &n);

	/* An empty DOCUMENT_URI stands for an absent one half the time. */
	path = request_path(doc[0] != '\0' || size % 2 ? doc : NULL,
	    uri[0] != '\0' || size % 3 ? uri : NULL, buf, sizeof(buf));
	FUZZ_CHECK(path != NULL);
	if (path != doc) {
		FUZZ_CHECK(strlen(path) < sizeof(buf));
		FUZZ_CHECK(strchr(path, '?') == NULL);
		FUZZ_CHECK(strncmp(path, uri, strlen(path)) == 0);
	}
	check_route(method, path);
	check_query(query);

	free(method);
	free(doc);
	free(uri);
	free(query);
	return 0;
}
