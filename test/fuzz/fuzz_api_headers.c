/*
 * fuzz_api_headers — the request headers the pool reads itself:
 * Content-Type and Content-Length, Idempotency-Key, the admin token of
 * Authorization: Bearer, compared with the configured one, and Origin
 * against Host (the first and third fields, reused as those).
 *
 * Input: one byte of flags (bit k: field k absent; bit 4: a body is there),
 * then CONTENT_TYPE \n CONTENT_LENGTH \n HTTP_IDEMPOTENCY_KEY \n
 * HTTP_AUTHORIZATION \n and the admin token the pool was given.
 */
#include <config.h>

#include <strings.h>

#include "fuzz.h"
#include "api/request.h"

/* A copy of exactly len bytes, no NUL after it, so ASan sees any read past
 * the length the parser was given. */
static char *
exact_copy(const char *s, size_t len)
{
	char *c = malloc(len > 0 ? len : 1);

	if (c == NULL)
		abort();
	memcpy(c, s, len);
	return c;
}

static void
check_detail(const char *detail, size_t size)
{
	FUZZ_CHECK(memchr(detail, '\0', size) != NULL);
	FUZZ_CHECK(detail[0] != '\0');
}

static void
check_content_type(const char *ct, size_t body_len)
{
	char detail[256];
	enum problem_code rc;
	const char *p;

	memset(detail, 'x', sizeof(detail));
	/* With a body or not: a change always needs the type. */
	rc = request_content_type(ct, body_len, detail, sizeof(detail));
	if (rc != PROBLEM_NONE) {
		FUZZ_CHECK(rc == PROBLEM_UNSUPPORTED_MEDIA_TYPE);
		check_detail(detail, sizeof(detail));
		return;
	}
	FUZZ_CHECK(ct != NULL);
	p = ct + strspn(ct, " \t");
	FUZZ_CHECK(strncasecmp(p, "application/json", 16) == 0);
	p += 16;
	p += strspn(p, " \t");
	FUZZ_CHECK(*p == '\0' || *p == ';');
}

static void
check_content_length(const char *cl)
{
	int too_large = request_length_too_large(cl);
	const char *digits;
	long long v = 0;

	if (cl == NULL || *cl == '\0') {
		FUZZ_CHECK(!too_large);
		return;
	}
	digits = cl + (cl[0] == '-');
	if (*digits == '\0' || strspn(digits, "0123456789") != strlen(digits) ||
	    strlen(digits) > 18)
		return;        /* strtoll's own business: signs, blanks, overflow */
	for (const char *d = digits; *d != '\0'; d++)
		v = v * 10 + (*d - '0');
	FUZZ_CHECK(too_large == (cl[0] != '-' && v > LI_BODY_MAX));
}

static void
check_key(const char *key)
{
	char detail[256];
	enum problem_code rc;
	int want = 1;

	if (key != NULL) {
		size_t len = strlen(key);
		want = len >= 1 && len <= LI_KEY_MAX;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7e)
				want = 0;
	}
	memset(detail, 'x', sizeof(detail));
	rc = request_idempotency_key(key, detail, sizeof(detail));
	FUZZ_CHECK((rc == PROBLEM_NONE) == want);
	if (rc != PROBLEM_NONE) {
		FUZZ_CHECK(rc == PROBLEM_BAD_REQUEST);
		check_detail(detail, sizeof(detail));
	}
}

/* Origin against Host: 403 or not, never anything else; a GET always
 * passes; the request's own origin always matches. */
static void
check_origin(const char *origin, const char *host)
{
	char detail[256], own[600];
	enum problem_code rc;
	int n;

	memset(detail, 'x', sizeof(detail));
	rc = request_same_origin("POST", NULL, origin, "http", host, detail,
	    sizeof(detail));
	FUZZ_CHECK(rc == PROBLEM_NONE || rc == PROBLEM_FORBIDDEN);
	if (rc != PROBLEM_NONE)
		check_detail(detail, sizeof(detail));
	FUZZ_CHECK(rc == PROBLEM_NONE || origin != NULL);
	FUZZ_CHECK(request_same_origin("GET", "cross-site", origin, "http", host,
	    NULL, 0) == PROBLEM_NONE);
	if (host == NULL || *host == '\0' || strpbrk(host, "/?#@ \t") != NULL)
		return;
	n = snprintf(own, sizeof(own), "http://%s", host);
	if (n > 0 && (size_t)n < sizeof(own))
		FUZZ_CHECK(request_same_origin("POST", "same-origin", own, NULL,
		    host, NULL, 0) == PROBLEM_NONE);
}

static void
check_token(const char *auth, const char *admin)
{
	const char *token = NULL;
	size_t len = 0, alen = strlen(admin);
	char *given, *expected;
	int equal;

	if (request_bearer_token(auth, &token, &len) != PROBLEM_NONE)
		return;
	FUZZ_CHECK(auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0);
	FUZZ_CHECK(token >= auth + 7 && token + len <= auth + strlen(auth));
	FUZZ_CHECK(len > 0 && token[0] != ' ');
	FUZZ_CHECK(token[len - 1] != ' ' && token[len - 1] != '\t');

	given = exact_copy(token, len);
	expected = exact_copy(admin, alen);
	equal = request_token_equal(given, len, expected, alen);
	FUZZ_CHECK(equal == (alen > 0 && len == alen &&
	    memcmp(given, expected, len) == 0));
	FUZZ_CHECK(request_token_equal(given, len, given, len) == 1);
	free(given);
	free(expected);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + (size > 0), flags = size > 0 ? data[0] : 0;
	size_t n = size - (size > 0);
	char *field[4], *admin;

	for (int i = 0; i < 4; i++)
		field[i] = fuzz_field(&p, &n);
	admin = fuzz_field(&p, &n);

	check_content_type(flags & 1 ? NULL : field[0], flags & 16 ? 1 + n : 0);
	check_content_length(flags & 2 ? NULL : field[1]);
	check_key(flags & 4 ? NULL : field[2]);
	check_token(flags & 8 ? NULL : field[3], admin);
	check_origin(flags & 1 ? NULL : field[0], flags & 4 ? NULL : field[2]);

	for (int i = 0; i < 4; i++)
		free(field[i]);
	free(admin);
	return 0;
}
