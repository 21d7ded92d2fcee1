/*
 * unit_request — the pool's parsers and validators, called directly.
 *
 * Every rule of doc/api.md that the pool enforces before the database is checked
 * here from both sides: what must pass and what must be refused, with the
 * problem it must be refused with.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/li.h"
#include "api/problem.h"
#include "api/request.h"
#include "api/request_drops.h"
#include "api/route.h"
#include "api/response.h"
#include "api/strategy.h"
#include "tap.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static enum problem_code
route(const char *method, const char *path, struct route *r)
{
	return route_match(method, path, r);
}

static void
test_routes(void)
{
	struct route r;

	is_int(route("GET", "/api/items", &r), PROBLEM_NONE, "GET /api/items");
	is_int(r.id, ROUTE_ITEMS, "routes to items");
	is_int(route("HEAD", "/api/items", &r), PROBLEM_NONE, "HEAD /api/items");
	is_int(route("GET", "/api/items/charizard-1st-ed", &r), PROBLEM_NONE,
	    "GET one item");
	is_int(r.id, ROUTE_ITEM, "routes to item");
	is_str(r.item_id, "charizard-1st-ed", "item id taken from the path");
	is_int(route("POST", "/api/items/a-1/purchase", &r), PROBLEM_NONE,
	    "POST purchase");
	is_int(r.id, ROUTE_PURCHASE, "routes to purchase");
	is_str(r.item_id, "a-1", "purchase item id");
	is_int(route("GET", "/api/items/a-1/purchase", &r),
	    PROBLEM_METHOD_NOT_ALLOWED, "GET purchase is 405");
	is_str(r.allow, "POST", "purchase allows POST");
	is_int(route("DELETE", "/api/items", &r), PROBLEM_METHOD_NOT_ALLOWED,
	    "DELETE items is 405");
	is_str(r.allow, "GET, HEAD, POST", "items allow GET, HEAD, POST");
	is_int(route("GET", "/api/items/Charizard", &r), PROBLEM_NOT_FOUND,
	    "upper case id is 404");
	is_int(route("GET", "/api/items/-abc", &r), PROBLEM_NOT_FOUND,
	    "id starting with - is 404");
	is_int(route("GET", "/api/items/a'b", &r), PROBLEM_NOT_FOUND,
	    "quote in id is 404");
	is_int(route("GET", "/api/items/", &r), PROBLEM_NOT_FOUND,
	    "empty id is 404");
	is_int(route("GET", "/api/items/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &r),
	    PROBLEM_NOT_FOUND, "65-character id is 404");
	is_int(route("GET", "/api/items/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &r),
	    PROBLEM_NONE, "64-character id is fine");
	is_int(route("POST", "/api/items/a/purchase/x", &r), PROBLEM_NOT_FOUND,
	    "extra segment is 404");
	is_int(route("GET", "/api/orders", &r), PROBLEM_NONE, "GET orders");
	is_int(route("GET", "/api/orders/42", &r), PROBLEM_NONE, "GET order 42");
	is_int(r.order_id, 42, "order id parsed");
	is_int(route("GET", "/api/orders/042", &r), PROBLEM_NOT_FOUND,
	    "leading zero order id is 404");
	is_int(route("GET", "/api/orders/0", &r), PROBLEM_NOT_FOUND,
	    "order 0 is 404");
	is_int(route("GET", "/api/orders/1x", &r), PROBLEM_NOT_FOUND,
	    "non-numeric order id is 404");
	is_int(route("GET", "/api/orders/99999999999999999999", &r),
	    PROBLEM_NOT_FOUND, "order id past int64 is 404");
	is_int(route("POST", "/api/reset", &r), PROBLEM_NONE, "POST reset");
	is_int(route("GET", "/api/reset", &r), PROBLEM_METHOD_NOT_ALLOWED,
	    "GET reset is 405");
	is_int(route("GET", "/api/config", &r), PROBLEM_NONE, "GET config");
	is_int(route("GET", "/api/health", &r), PROBLEM_NONE, "GET health");
	is_int(route("GET", "/api/metrics", &r), PROBLEM_NONE, "GET metrics");
	is_int(r.id, ROUTE_METRICS, "routes to metrics");
	is_int(route("POST", "/api/metrics", &r), PROBLEM_METHOD_NOT_ALLOWED,
	    "POST metrics is 405");
	is_str(r.allow, "GET, HEAD", "metrics allow GET, HEAD");
	is_int(route("GET", "/api/metrics/", &r), PROBLEM_NOT_FOUND,
	    "metrics/ is 404");
	is_int(route("GET", "/api/nothing", &r), PROBLEM_NOT_FOUND,
	    "unknown path is 404");
	is_int(route("GET", "/index.html", &r), PROBLEM_NOT_FOUND,
	    "path outside /api is 404");
}

static void
test_purchase_body(void)
{
	struct purchase_body b;
	char detail[256];

	is_int(request_purchase_body("", 0, &b, detail, sizeof(detail)),
	    PROBLEM_NONE, "empty body takes the defaults");
	is_int(b.quantity, 1, "default quantity 1");
	is_str(b.buyer, "anonymous", "default buyer");
	is_int(b.strategy, -1, "default strategy left to the pool");

	is_int(request_purchase_body(S("{\"quantity\":3,\"buyer\":\"ana\","
	    "\"strategy\":\"atomic\",\"extra\":[1,2]}"), &b, detail,
	    sizeof(detail)), PROBLEM_NONE, "full body");
	is_int(b.quantity, 3, "quantity read");
	is_str(b.buyer, "ana", "buyer read");
	is_int(b.strategy, STRATEGY_ATOMIC, "strategy read");

	is_int(request_purchase_body(S("{\"buyer\":\"Zoë 🦄\"}"), &b, NULL, 0),
	    PROBLEM_NONE, "non-ASCII buyer");
	is_str(b.buyer, "Zoë 🦄", "non-ASCII buyer kept");
	is_int(request_purchase_body(S("{\"buyer\":\"x'); DROP TABLE orders;--\"}"),
	    &b, NULL, 0), PROBLEM_NONE, "SQL in buyer is just text");

	is_int(request_purchase_body(S("{\"quantity\":0}"), &b, detail,
	    sizeof(detail)), PROBLEM_BAD_REQUEST, "quantity 0 is 400");
	ok(strstr(detail, "quantity") != NULL, "detail names the field: %s",
	    detail);
	is_int(request_purchase_body(S("{\"quantity\":101}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "quantity 101 is 400");
	is_int(request_purchase_body(S("{\"quantity\":100}"), &b, NULL, 0),
	    PROBLEM_NONE, "quantity 100 is fine");
	is_int(request_purchase_body(S("{\"quantity\":-1}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "negative quantity is 400");
	is_int(request_purchase_body(S("{\"quantity\":\"1\"}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "quantity as string is 400");
	is_int(request_purchase_body(S("{\"quantity\":1.5}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "fractional quantity is 400");
	is_int(request_purchase_body(S("{\"quantity\":1.0}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "quantity 1.0 is 400");
	is_int(request_purchase_body(S("{\"quantity\":true}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "boolean quantity is 400");
	is_int(request_purchase_body(S("{\"quantity\":null}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "null quantity is 400");
	is_int(request_purchase_body(S("{\"quantity\":99999999999999999999999}"),
	    &b, NULL, 0), PROBLEM_BAD_REQUEST, "huge quantity is 400");
	is_int(request_purchase_body(S("{\"quantity\":4294967297}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "quantity that wraps to 1 in 32 bits is 400");

	is_int(request_purchase_body(S("{\"buyer\":\"\"}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "empty buyer is 400");
	is_int(request_purchase_body(S("{\"buyer\":\""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"),
	    &b, NULL, 0), PROBLEM_NONE, "64-character buyer is fine");
	is_int(request_purchase_body(S("{\"buyer\":\""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"),
	    &b, NULL, 0), PROBLEM_BAD_REQUEST, "65-character buyer is 400");
	is_int(request_purchase_body(S("{\"buyer\":\""
	    "éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\"}"),
	    &b, NULL, 0), PROBLEM_NONE,
	    "64 two-byte characters count as 64");
	is_int(request_purchase_body(S("{\"buyer\":\"a\\nb\"}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "newline in buyer is 400");
	is_int(request_purchase_body(S("{\"buyer\":\"a\\u0000b\"}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "NUL in buyer is 400");
	is_int(request_purchase_body(S("{\"buyer\":\"a\\u0085b\"}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "C1 control in buyer is 400");
	is_int(request_purchase_body(S("{\"buyer\":\"\\ud800\"}"), &b, NULL, 0),
	    PROBLEM_NONE, "lone surrogate escape is taken as U+FFFD");
	is_str(b.buyer, "\xef\xbf\xbd", "so the buyer is still valid UTF-8");
	is_int(request_purchase_body(S("{\"buyer\":42}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "numeric buyer is 400");

	is_int(request_purchase_body(S("{\"strategy\":\"yolo\"}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "unknown strategy is 400");
	is_int(request_purchase_body(S("{\"strategy\":\"naive\"}"), &b, NULL, 0),
	    PROBLEM_NONE, "naive parses (the pool decides 403)");
	is_int(b.strategy, STRATEGY_NAIVE, "naive read");
	is_int(request_purchase_body(S("{\"strategy\":\"Atomic\"}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "strategy names are exact");

	is_int(request_purchase_body(S("{"), &b, detail, sizeof(detail)),
	    PROBLEM_BAD_REQUEST, "truncated JSON is 400");
	ok(strstr(detail, "JSON") != NULL, "detail says JSON: %s", detail);
	is_int(request_purchase_body(S("{} {}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "two values is 400");
	is_int(request_purchase_body(S("{}  \r\n"), &b, NULL, 0),
	    PROBLEM_NONE, "trailing white space is fine");
	is_int(request_purchase_body(S("[1]"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "array body is 400");
	is_int(request_purchase_body(S("\"x\""), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "string body is 400");
	is_int(request_purchase_body(S("   "), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "white space only is 400");
	is_int(request_purchase_body(S("{'quantity':1}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "single quotes are 400");
	/* What json-c lets through even in strict mode (found by fuzzing). */
	is_int(request_purchase_body(S("{\"q\x05\":1}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "a raw control character in a key is 400");
	is_int(request_purchase_body(S("{\"x\":\"\t\"}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "a raw tab in a string is 400");
	is_int(request_purchase_body(S("{\"x\":NaN}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "NaN is 400");
	is_int(request_purchase_body(S("{\"x\":-Infinity}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "-Infinity is 400");
	is_int(request_purchase_body(S("{\"x\":1.}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "1. is 400");
	is_int(request_purchase_body(S("{\"quantity\":-01}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "-01 is 400");
	is_int(request_purchase_body(S("{\"x\":[-0,1E+2,0.5e-1,true,false,null]}"),
	    &b, NULL, 0), PROBLEM_NONE, "every kind of JSON token is fine");
	is_int(request_purchase_body(S("{\"buyer\":\"it's \\\"ok\\\"\"}"), &b,
	    NULL, 0), PROBLEM_NONE, "quotes inside a string are fine");
	is_str(b.buyer, "it's \"ok\"", "and kept");
	is_int(request_purchase_body(S("{\"quantity\":1,}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "trailing comma is 400");
	is_int(request_purchase_body(S("{\"buyer\":\"\xff\xfe\"}"), &b, detail,
	    sizeof(detail)), PROBLEM_BAD_REQUEST, "invalid UTF-8 is 400");
	ok(strstr(detail, "UTF-8") != NULL, "detail says UTF-8: %s", detail);
	is_int(request_purchase_body(S("{\"buyer\":\"\xc0\xaf\"}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "overlong UTF-8 is 400");
	is_int(request_purchase_body(S("{\"a\":[[[[[[[[[[[[1]]]]]]]]]]]]}"), &b,
	    NULL, 0), PROBLEM_BAD_REQUEST, "deep nesting is 400");
	{
		const char with_nul[] = "{\"buyer\":\"a\0b\"}";
		is_int(request_purchase_body(with_nul, sizeof(with_nul) - 1, &b,
		    NULL, 0), PROBLEM_BAD_REQUEST, "raw NUL byte is 400");
	}
}

static void
test_reset_body(void)
{
	struct reset_body b;

	is_int(request_reset_body("", 0, &b, NULL, 0), PROBLEM_NONE,
	    "empty reset body");
	is_int(b.has_quantity, 0, "no quantity");
	is_int(request_reset_body(S("{\"quantity\":0}"), &b, NULL, 0),
	    PROBLEM_NONE, "reset to 0");
	is_int(b.has_quantity, 1, "quantity present");
	is_int(b.quantity, 0, "quantity 0");
	is_int(request_reset_body(S("{\"quantity\":1000000000}"), &b, NULL, 0),
	    PROBLEM_NONE, "reset to a billion");
	is_int(request_reset_body(S("{\"quantity\":1000000001}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "past a billion is 400");
	is_int(request_reset_body(S("{\"quantity\":-1}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "negative reset is 400");
	is_int(request_reset_body(S("{\"quantity\":\"5\"}"), &b, NULL, 0),
	    PROBLEM_BAD_REQUEST, "string reset quantity is 400");
}

static void
test_headers(void)
{
	char key[300], buf[64];
	const char *tok;
	size_t len;

	is_int(request_idempotency_key(NULL, NULL, 0), PROBLEM_NONE, "no key");
	is_int(request_idempotency_key("abc-123_XYZ", NULL, 0), PROBLEM_NONE,
	    "plain key");
	is_int(request_idempotency_key("", NULL, 0), PROBLEM_BAD_REQUEST,
	    "empty key is 400");
	is_int(request_idempotency_key("a b", NULL, 0), PROBLEM_BAD_REQUEST,
	    "key with a space is 400");
	is_int(request_idempotency_key("caf\xc3\xa9", NULL, 0),
	    PROBLEM_BAD_REQUEST, "non-ASCII key is 400");
	memset(key, 'k', 255);
	key[255] = '\0';
	is_int(request_idempotency_key(key, NULL, 0), PROBLEM_NONE,
	    "255-character key is fine");
	key[255] = 'k';
	key[256] = '\0';
	is_int(request_idempotency_key(key, NULL, 0), PROBLEM_BAD_REQUEST,
	    "256-character key is 400");

	is_int(request_content_type(NULL, 0, NULL, 0),
	    PROBLEM_UNSUPPORTED_MEDIA_TYPE,
	    "no body still needs the type (a cross-site form sends none)");
	is_int(request_content_type("", 0, NULL, 0),
	    PROBLEM_UNSUPPORTED_MEDIA_TYPE, "an empty type is none");
	is_int(request_content_type("application/json", 0, NULL, 0),
	    PROBLEM_NONE, "no body with application/json");
	is_int(request_content_type("text/plain", 0, NULL, 0),
	    PROBLEM_UNSUPPORTED_MEDIA_TYPE, "no body, text/plain is 415");
	is_int(request_content_type("application/x-www-form-urlencoded", 0,
	    NULL, 0), PROBLEM_UNSUPPORTED_MEDIA_TYPE, "a form's type is 415");
	is_int(request_content_type("application/json", 2, NULL, 0),
	    PROBLEM_NONE, "application/json");
	is_int(request_content_type("Application/JSON; charset=utf-8", 2, NULL, 0),
	    PROBLEM_NONE, "type with parameters, any case");
	is_int(request_content_type(NULL, 2, NULL, 0),
	    PROBLEM_UNSUPPORTED_MEDIA_TYPE, "body without type is 415");
	is_int(request_content_type("text/plain", 2, NULL, 0),
	    PROBLEM_UNSUPPORTED_MEDIA_TYPE, "text/plain is 415");
	is_int(request_content_type("application/jsonx", 2, NULL, 0),
	    PROBLEM_UNSUPPORTED_MEDIA_TYPE, "application/jsonx is 415");

	is_int(request_bearer_token("Bearer s3cret", &tok, &len), PROBLEM_NONE,
	    "bearer token");
	ok(len == 6 && memcmp(tok, "s3cret", 6) == 0, "token extracted");
	is_int(request_bearer_token("bearer  s3cret ", &tok, &len), PROBLEM_NONE,
	    "scheme any case, spaces trimmed");
	ok(len == 6, "trimmed length");
	is_int(request_bearer_token("Basic abc", &tok, &len), PROBLEM_UNAUTHORIZED,
	    "basic auth refused");
	is_int(request_bearer_token(NULL, &tok, &len), PROBLEM_UNAUTHORIZED,
	    "no header refused");
	is_int(request_bearer_token("Bearer ", &tok, &len), PROBLEM_UNAUTHORIZED,
	    "empty token refused");

	ok(request_token_equal(S("s3cret"), S("s3cret")), "equal tokens");
	ok(!request_token_equal(S("s3creT"), S("s3cret")), "last byte differs");
	ok(!request_token_equal(S("s3cre"), S("s3cret")), "prefix refused");
	ok(!request_token_equal(S("s3cretx"), S("s3cret")), "longer refused");
	/* The expected bytes are read cyclically: a repeat must not pass. */
	ok(!request_token_equal(S("s3crets3cret"), S("s3cret")),
	    "the token twice refused");
	ok(!request_token_equal("", 0, S("s3cret")), "empty refused");
	ok(!request_token_equal(S("x"), "", 0), "no expected token never matches");

	is_str(request_path("/api/items", "/other?x", buf, sizeof(buf)),
	    "/api/items", "DOCUMENT_URI first");
	is_str(request_path("", "/api/orders?limit=1", buf, sizeof(buf)),
	    "/api/orders", "else REQUEST_URI without its query");
	is_str(request_path(NULL, "/api/items/abcdef", buf, 10), "/api/item",
	    "cut to the buffer");
	is_str(request_path(NULL, NULL, buf, sizeof(buf)), "", "neither: empty");
	ok(!request_length_too_large(NULL), "no Content-Length");
	ok(!request_length_too_large("4096"), "4096 bytes are fine");
	ok(request_length_too_large("4097"), "4097 bytes are too many");
	ok(request_length_too_large("99999999999999999999999"),
	    "a length past 2^63 is too many");
	ok(!request_length_too_large("-1"), "a negative length is left to the read");
}

/* request_same_origin for a POST to a server at http://shop:8080. */
static enum problem_code
same_origin(const char *fetch_site, const char *origin)
{
	return request_same_origin("POST", fetch_site, origin, "http",
	    "shop:8080", NULL, 0);
}

static void
test_same_origin(void)
{
	char detail[128];

	ok(request_method_safe("GET") && request_method_safe("HEAD"),
	    "GET and HEAD only read");
	ok(!request_method_safe("POST") && !request_method_safe("DELETE") &&
	    !request_method_safe("get") && !request_method_safe(NULL),
	    "POST, DELETE, a lower-case get and no method change things");

	is_int(same_origin(NULL, NULL), PROBLEM_NONE,
	    "neither header (curl, a script): passes");
	is_int(same_origin("same-origin", "http://shop:8080"), PROBLEM_NONE,
	    "the page itself passes");
	is_int(same_origin("same-site", NULL), PROBLEM_NONE, "same-site passes");
	is_int(same_origin("none", NULL), PROBLEM_NONE,
	    "none (typed by the user) passes");
	is_int(same_origin("cross-site", NULL), PROBLEM_FORBIDDEN,
	    "Sec-Fetch-Site: cross-site is 403");
	is_int(same_origin("Cross-Site", "http://shop:8080"), PROBLEM_FORBIDDEN,
	    "cross-site in any case, even with a matching Origin, is 403");
	is_int(request_same_origin("POST", "cross-site", NULL, "http", "shop:8080",
	    detail, sizeof(detail)), PROBLEM_FORBIDDEN, "with a detail");
	ok(strstr(detail, "cross-site requests are refused") != NULL,
	    "the detail says cross-site requests are refused");
	is_int(request_same_origin("GET", "cross-site", "https://evil.example",
	    "http", "shop:8080", NULL, 0), PROBLEM_NONE,
	    "a GET from another site only reads: passes");
	is_int(request_same_origin("HEAD", "cross-site", NULL, "http",
	    "shop:8080", NULL, 0), PROBLEM_NONE, "so does a HEAD");
	is_int(request_same_origin("DELETE", NULL, "https://evil.example",
	    "http", "shop:8080", NULL, 0), PROBLEM_FORBIDDEN,
	    "any other method is checked too");

	is_int(same_origin(NULL, "https://evil.example"), PROBLEM_FORBIDDEN,
	    "another site's Origin is 403");
	is_int(same_origin(NULL, "http://shop:8081"), PROBLEM_FORBIDDEN,
	    "another port is another origin");
	is_int(same_origin(NULL, "https://shop:8080"), PROBLEM_FORBIDDEN,
	    "another scheme is another origin");
	is_int(same_origin(NULL, "http://shop"), PROBLEM_FORBIDDEN,
	    "no port is port 80, not 8080");
	is_int(same_origin(NULL, "http://shop:8080.evil.example"),
	    PROBLEM_FORBIDDEN, "a longer host with ours as its prefix is 403");
	is_int(same_origin(NULL, "http://evil.shop:8080"), PROBLEM_FORBIDDEN,
	    "a subdomain is another origin");
	is_int(same_origin(NULL, "http://shop:8080/"), PROBLEM_FORBIDDEN,
	    "a path is not part of an origin");
	is_int(same_origin(NULL, "http://user@shop:8080"), PROBLEM_FORBIDDEN,
	    "nor a user");
	is_int(same_origin(NULL, "null"), PROBLEM_FORBIDDEN,
	    "Origin: null (a sandboxed frame, a file) is 403");
	is_int(same_origin(NULL, ""), PROBLEM_FORBIDDEN, "an empty Origin is 403");
	is_int(same_origin(NULL, "HTTP://SHOP:8080"), PROBLEM_NONE,
	    "scheme and host compare in any case");
	is_int(request_same_origin("POST", NULL, "http://shop:8080", "http", NULL,
	    NULL, 0), PROBLEM_FORBIDDEN, "an Origin and no Host cannot match");
	is_int(request_same_origin("POST", NULL, "http://shop:8080", NULL,
	    "shop:8080", NULL, 0), PROBLEM_NONE, "no scheme means http");

	is_int(request_same_origin("POST", NULL, "http://shop", "http", "shop:80",
	    NULL, 0), PROBLEM_NONE, "http: a default port on the Host only");
	is_int(request_same_origin("POST", NULL, "http://shop:80", "http", "shop",
	    NULL, 0), PROBLEM_NONE, "http: a default port on the Origin only");
	is_int(request_same_origin("POST", NULL, "https://shop", "https",
	    "shop:443", NULL, 0), PROBLEM_NONE, "https: port 443 is the default");
	is_int(request_same_origin("POST", NULL, "https://shop", "https",
	    "shop:80", NULL, 0), PROBLEM_FORBIDDEN, "https: port 80 is not");
	is_int(request_same_origin("POST", NULL, "http://[::1]:8080", "http",
	    "[::1]:8080", NULL, 0), PROBLEM_NONE, "an IPv6 literal matches");
	is_int(request_same_origin("POST", NULL, "http://[::1]", "http",
	    "[::1]:80", NULL, 0), PROBLEM_NONE, "… with its default port left out");
	is_int(request_same_origin("POST", NULL, "http://[::1]", "http",
	    "[::1]:8080", NULL, 0), PROBLEM_FORBIDDEN, "… but not another port");
}

static void
test_orders_query(void)
{
	struct orders_query q;

	is_int(request_orders_query("", &q, NULL, 0), PROBLEM_NONE, "no query");
	is_int(q.limit, 50, "default limit 50");
	is_str(q.item_id, "", "all items");
	is_int(request_orders_query("item_id=golden-ticket&limit=500", &q, NULL, 0),
	    PROBLEM_NONE, "item and limit");
	is_str(q.item_id, "golden-ticket", "item read");
	is_int(q.limit, 500, "limit read");
	is_int(request_orders_query("item_id=golden%2Dticket", &q, NULL, 0),
	    PROBLEM_NONE, "percent-encoded item");
	is_str(q.item_id, "golden-ticket", "percent-decoded");
	is_int(request_orders_query("limit=0", &q, NULL, 0), PROBLEM_BAD_REQUEST,
	    "limit 0 is 400");
	is_int(request_orders_query("limit=501", &q, NULL, 0), PROBLEM_BAD_REQUEST,
	    "limit 501 is 400");
	is_int(request_orders_query("limit=abc", &q, NULL, 0), PROBLEM_BAD_REQUEST,
	    "limit abc is 400");
	is_int(request_orders_query("limit=", &q, NULL, 0), PROBLEM_BAD_REQUEST,
	    "empty limit is 400");
	is_int(request_orders_query("item_id=BAD", &q, NULL, 0),
	    PROBLEM_BAD_REQUEST, "malformed item_id is 400");
	is_int(request_orders_query("item_id=a'%20OR%201=1", &q, NULL, 0),
	    PROBLEM_BAD_REQUEST, "SQL in item_id is 400");
	is_int(request_orders_query("item_id=a&item_id=b", &q, NULL, 0),
	    PROBLEM_BAD_REQUEST, "repeated item_id is 400");
	is_int(request_orders_query("item_id=%zz", &q, NULL, 0),
	    PROBLEM_BAD_REQUEST, "bad escape is 400");
	is_int(request_orders_query("item_id=%2", &q, NULL, 0),
	    PROBLEM_BAD_REQUEST, "cut escape is 400");
	is_int(request_orders_query("limit=2&before=1234", &q, NULL, 0),
	    PROBLEM_NONE, "before");
	is_int(q.before, 1234, "before read");
	is_int(request_orders_query("before=0", &q, NULL, 0), PROBLEM_BAD_REQUEST,
	    "before 0 is 400");
	is_int(request_orders_query("before=-5", &q, NULL, 0), PROBLEM_BAD_REQUEST,
	    "negative before is 400");
	is_int(request_orders_query("foo=bar&&x", &q, NULL, 0), PROBLEM_NONE,
	    "unknown parameters are ignored");
}

static void
test_problem_and_response(void)
{
	struct response r;
	char *json;

	is_int(problem_status(PROBLEM_SOLD_OUT), 409, "sold_out is 409");
	is_int(problem_status(PROBLEM_CONTENTION), 409, "contention is 409");
	is_int(problem_status(PROBLEM_IDEMPOTENCY_KEY_REUSED), 422, "422");
	is_str(problem_name(PROBLEM_UNSUPPORTED_MEDIA_TYPE),
	    "unsupported_media_type", "code name");
	json = problem_json(PROBLEM_SOLD_OUT, "a \"quoted\" </detail>");
	is_str(json, "{\"type\":\"about:blank\",\"title\":\"Sold out\","
	    "\"status\":409,\"code\":\"sold_out\","
	    "\"detail\":\"a \\\"quoted\\\" </detail>\"}", "problem+json body");
	free(json);
	/* Written by hand, the body must be what json-c would have written. */
	{
		static const char *const details[] = {
			"plain", "tab\there", "nl\nand\rcr", "ctl\x01\x1f\x7f",
			"back\\slash /slash", "caf\xc3\xa9 \xe2\x82\xac", "",
		};

		for (size_t i = 0; i < LI_ARRAY_LEN(details); i++) {
			struct json_object *o = json_object_new_object();
			const char *want;

			json_object_object_add(o, "type", json_object_new_string("about:blank"));
			json_object_object_add(o, "title", json_object_new_string("Bad request"));
			json_object_object_add(o, "status", json_object_new_int(400));
			json_object_object_add(o, "code", json_object_new_string("bad_request"));
			json_object_object_add(o, "detail", json_object_new_string(details[i]));
			want = json_object_to_json_string_ext(o,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
			json = problem_json(PROBLEM_BAD_REQUEST, details[i]);
			is_str(json, want, "problem+json as json-c writes it");
			free(json);
			json_object_put(o);
		}
	}
	json = problem_json(PROBLEM_UNAVAILABLE, NULL);
	is_str(json, "{\"type\":\"about:blank\",\"title\":\"Service unavailable\","
	    "\"status\":503,\"code\":\"unavailable\"}", "problem+json without a detail");
	free(json);

	response_init(&r);
	response_problem(&r, PROBLEM_UNAVAILABLE, NULL);
	is_int(r.status, 503, "503 response");
	is_str(r.content_type, "application/problem+json", "problem media type");
	ok(strstr(r.headers, "Retry-After: 1\r\n") != NULL, "503 has Retry-After");
	response_free(&r);
	response_init(&r);
	response_problem(&r, PROBLEM_UNAUTHORIZED, NULL);
	ok(strstr(r.headers, "WWW-Authenticate: Bearer") != NULL,
	    "401 has WWW-Authenticate");
	response_free(&r);

	is_int(strategy_from_name(S("optimistic")), STRATEGY_OPTIMISTIC,
	    "strategy by name");
	is_int(strategy_from_name(S("optimisti")), -1, "prefix is no strategy");
	ok(strategy_is_unsafe(STRATEGY_NAIVE) &&
	    !strategy_is_unsafe(STRATEGY_PESSIMISTIC), "only naive is unsafe");
}

static void
test_params_scan(void)
{
	char *envp[] = {
		"REQUEST_METHOD=POST", "DOCUMENT_URI=/api/items/a/purchase",
		"REQUEST_URI=/api/items/a/purchase?x=1", "QUERY_STRING=x=1",
		"CONTENT_TYPE=application/json", "CONTENT_LENGTH=2",
		"HTTP_IDEMPOTENCY_KEY=k=1", "HTTP_ORIGIN=http://h",
		"HTTP_HOST=h", "REQUEST_SCHEME=http",
		"HTTP_HOSTX=wrong", "HTTP_HOS=wrong", "NOEQUALS",
		"HTTP_HOST=second", "HTTP_AUTHORIZATION=", NULL
	};
	char *empty[] = { NULL };
	struct request_params p;

	request_params_scan(envp, &p);
	is_str(p.method, "POST", "params: REQUEST_METHOD");
	is_str(p.document_uri, "/api/items/a/purchase", "params: DOCUMENT_URI");
	is_str(p.request_uri, "/api/items/a/purchase?x=1", "params: REQUEST_URI");
	is_str(p.query, "x=1", "params: QUERY_STRING");
	is_str(p.content_type, "application/json", "params: CONTENT_TYPE");
	is_str(p.content_length, "2", "params: CONTENT_LENGTH");
	is_str(p.idempotency_key, "k=1", "params: a value may hold '='");
	is_str(p.origin, "http://h", "params: HTTP_ORIGIN");
	is_str(p.host, "h", "params: the first HTTP_HOST wins, not a longer or "
	    "shorter name");
	is_str(p.scheme, "http", "params: REQUEST_SCHEME");
	is_str(p.authorization, "", "params: an empty value is there, empty");
	ok(p.sec_fetch_site == NULL, "params: an absent one is NULL");
	request_params_scan(empty, &p);
	ok(p.method == NULL && p.host == NULL, "params: none at all");
	request_params_scan(NULL, &p);
	ok(p.method == NULL, "params: no list at all");
}

static void
test_drops(void)
{
	struct hold_body h;
	struct item_body it;
	struct purchase_body b;
	struct route r;
	char detail[256];

	is_int(route("POST", "/api/items/drop/holds", &r), PROBLEM_NONE, "POST holds");
	is_int(r.id, ROUTE_HOLDS, "routes to holds");
	is_int(route("DELETE", "/api/holds/42", &r), PROBLEM_NONE, "DELETE a hold");
	ok(r.id == ROUTE_HOLD && r.hold_id == 42, "hold 42");
	is_int(route("POST", "/api/holds/42/confirm", &r), PROBLEM_NONE, "confirm");
	ok(r.id == ROUTE_CONFIRM && r.hold_id == 42, "confirms hold 42");
	is_int(route("PATCH", "/api/items/drop", &r), PROBLEM_NONE, "PATCH an item");
	is_int(route("PUT", "/api/holds/42", &r), PROBLEM_METHOD_NOT_ALLOWED, "PUT a hold: 405");
	is_str(r.allow, "GET, HEAD, DELETE", "a hold allows GET, HEAD, DELETE");
	is_int(route("GET", "/api/holds/0", &r), PROBLEM_NOT_FOUND, "hold 0: 404");

	is_int(request_hold_body("", 0, &h, detail, sizeof(detail)), PROBLEM_NONE,
	    "an empty hold body");
	ok(h.ttl_seconds == 120 && h.p.quantity == 1, "defaults: ttl 120, quantity 1");
	is_int(request_hold_body(S("{\"ttl_seconds\":10,\"quantity\":2}"), &h, NULL, 0),
	    PROBLEM_NONE, "ttl 10");
	ok(h.ttl_seconds == 10 && h.p.quantity == 2, "taken");
	is_int(request_hold_body(S("{\"ttl_seconds\":901}"), &h, detail, sizeof(detail)),
	    PROBLEM_BAD_REQUEST, "ttl 901: 400");
	ok(strstr(detail, "ttl_seconds") != NULL, "the detail names ttl_seconds");
	is_int(request_hold_body(S("{\"quantity\":0}"), &h, NULL, 0),
	    PROBLEM_BAD_REQUEST, "a hold of 0: 400");

	is_int(request_item_create_body(S("{\"id\":\"drop\",\"name\":\"D\","
	    "\"max_per_buyer\":null}"), &it, NULL, 0), PROBLEM_NONE, "a new item");
	ok(it.quantity == 0 && it.max_per_buyer == 0 && it.has_max_per_buyer,
	    "quantity 0, no limit");
	is_int(request_item_create_body(S("{\"id\":\"drop\",\"name\":\"D\","
	    "\"image_url\":\"javascript:x\"}"), &it, NULL, 0), PROBLEM_BAD_REQUEST,
	    "a javascript: image_url");
	is_int(request_item_create_body(S("{\"id\":\"drop\",\"name\":\"D\","
	    "\"image_url\":\"//x.example/a.png\"}"), &it, NULL, 0), PROBLEM_BAD_REQUEST,
	    "a //host image_url");
	is_int(request_item_create_body(S("{\"id\":\"drop\",\"name\":\"D\","
	    "\"image_url\":\"https://x.example/a.png\"}"), &it, NULL, 0), PROBLEM_NONE,
	    "an https image_url");
	is_int(request_item_create_body(S("{\"id\":\"drop\",\"name\":\"a\\u0085b\"}"),
	    &it, NULL, 0), PROBLEM_BAD_REQUEST, "a C1 control in the name");
	is_int(request_item_patch_body(S("{}"), &it, NULL, 0), PROBLEM_BAD_REQUEST,
	    "a change of nothing");
	is_int(request_item_patch_body(S("{\"restock\":1000000}"), &it, NULL, 0),
	    PROBLEM_NONE, "restock 1,000,000");
	is_int(request_item_patch_body(S("{\"restock\":1000001}"), &it, NULL, 0),
	    PROBLEM_BAD_REQUEST, "restock 1,000,001");

	(void)request_purchase_body(S("{}"), &b, NULL, 0);
	is_int(request_buyer_identity(NULL, "ana", &b, NULL, 0), PROBLEM_NONE,
	    "without --buyer-header the header means nothing");
	is_str(b.buyer, "anonymous", "the body's (default) buyer");
	is_int(request_buyer_identity("X-User", "ana", &b, NULL, 0), PROBLEM_NONE,
	    "with it, the header's buyer");
	is_str(b.buyer, "ana", "ana");
	(void)request_purchase_body(S("{\"buyer\":\"bob\"}"), &b, NULL, 0);
	is_int(request_buyer_identity("X-User", "ana", &b, NULL, 0), PROBLEM_FORBIDDEN,
	    "a body naming another: 403");
	(void)request_purchase_body(S("{\"buyer\":\"ana\"}"), &b, NULL, 0);
	is_int(request_buyer_identity("X-User", "ana", &b, NULL, 0), PROBLEM_NONE,
	    "a body naming the same: fine");
	is_int(request_buyer_identity("X-User", NULL, &b, NULL, 0), PROBLEM_FORBIDDEN,
	    "no header: 403");
	is_int(request_buyer_identity("X-User", "", &b, NULL, 0), PROBLEM_FORBIDDEN,
	    "an empty header: 403");
	is_int(request_buyer_identity("X-User", "a\x01", &b, NULL, 0), PROBLEM_FORBIDDEN,
	    "a control character in the header: 403");
	is_int(request_buyer_identity("X-User", "\xff", &b, NULL, 0), PROBLEM_FORBIDDEN,
	    "invalid UTF-8 in the header: 403");
}

int
main(void)
{
	test_routes();
	test_purchase_body();
	test_reset_body();
	test_headers();
	test_params_scan();
	test_same_origin();
	test_orders_query();
	test_problem_and_response();
	test_drops();
	return tap_done();
}
