/*
 * route.c — matching a request's method and path against the one table of
 * routes, ROUTE_LIST (route.h).
 *
 * The patterns are matched literally, byte for byte, except for their
 * placeholders, each of which takes one path segment and checks it the way
 * doc/api.md says; a path that is not exactly one of the patterns is a 404.
 */
#include <config.h>

#include <string.h>

#include "common/text_check.h"
#include "route.h"

/* The longest order id: 18 digits always fit a long long. */
#define ORDER_ID_DIGITS_MAX 18

static const struct {
	const char *pattern;
	const char *allow;
	const char *label;
	int scrape;
} routes[ROUTE_COUNT] = {
#define ROUTE_ROW(id, pattern, allow, label, handler, scrape) \
	[ROUTE_##id] = { pattern, allow, label, scrape },
	ROUTE_LIST(ROUTE_ROW)
#undef ROUTE_ROW
};

/* Takes one path segment (len bytes) as an item id into r->item_id. */
static int
take_item_id(const char *s, size_t len, struct route *r)
{
	if (!text_item_id_valid(s, len))
		return 0;
	memcpy(r->item_id, s, len);
	r->item_id[len] = '\0';
	return 1;
}

/* Takes one path segment (len bytes) as an order or hold id into *id. */
static int
take_number(const char *s, size_t len, long long *id)
{
	long long n = 0;

	if (len == 0 || len > ORDER_ID_DIGITS_MAX || s[0] == '0')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		n = n * 10 + (s[i] - '0');
	}
	*id = n;
	return 1;
}

/* Whether path is pattern, its placeholders taken into r. */
static int
pattern_match(const char *pattern, const char *path, struct route *r)
{
	static const char item[] = "{item}", order[] = "{order}",
	    hold[] = "{hold}";
	const char *p = pattern, *s = path;
	size_t len;

	while (*p != '\0') {
		if (*p != '{') {
			if (*p++ != *s)
				return 0;
			s++;                /* not past the end: *s was *p, not NUL */
			continue;
		}
		len = strcspn(s, "/");
		if (strncmp(p, item, sizeof(item) - 1) == 0) {
			if (!take_item_id(s, len, r))
				return 0;
			p += sizeof(item) - 1;
		} else if (strncmp(p, order, sizeof(order) - 1) == 0) {
			if (!take_number(s, len, &r->order_id))
				return 0;
			p += sizeof(order) - 1;
		} else if (strncmp(p, hold, sizeof(hold) - 1) == 0) {
			if (!take_number(s, len, &r->hold_id))
				return 0;
			p += sizeof(hold) - 1;
		} else
			return 0;               /* a placeholder route.h does not name */
		s += len;
	}
	return *s == '\0';
}

/* Whether method is one of the comma-separated methods of allow. */
static int
method_allowed(const char *method, const char *allow)
{
	size_t n = strlen(method), len;
	const char *p = allow;

	for (;;) {
		len = strcspn(p, ",");
		if (len == n && memcmp(p, method, n) == 0)
			return 1;
		if (p[len] == '\0')
			return 0;
		p += len + 1;
		while (*p == ' ')
			p++;
	}
}

enum problem_code
route_match(const char *method, const char *path, struct route *r)
{
	memset(r, 0, sizeof(*r));
	if (method == NULL || path == NULL)
		return PROBLEM_NOT_FOUND;
	for (int id = 0; id < ROUTE_COUNT; id++) {
		if (!pattern_match(routes[id].pattern, path, r)) {
			memset(r, 0, sizeof(*r));
			continue;
		}
		r->id = (enum route_id)id;
		r->allow = routes[id].allow;
		return method_allowed(method, r->allow) ? PROBLEM_NONE :
		    PROBLEM_METHOD_NOT_ALLOWED;
	}
	return PROBLEM_NOT_FOUND;
}

const char *
route_label(enum route_id id)
{
	return (unsigned)id < ROUTE_COUNT ? routes[id].label : "other";
}

int
route_on_scrape_socket(enum route_id id)
{
	return (unsigned)id < ROUTE_COUNT && routes[id].scrape;
}
