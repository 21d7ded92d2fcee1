/*
 * fuzz_api_body — the JSON bodies of POST /api/items/{id}/purchase and
 * POST /api/reset, parsed as the pool parses them: UTF-8 first, then json-c
 * in strict mode, then every field against doc/api.md.
 *
 * Input: one byte choosing the body (even: purchase, odd: reset), then the
 * body, handed over with its exact length and no NUL after it.
 */
#include <config.h>

#include "fuzz.h"
#include "api/request.h"
#include "common/text_check.h"
#include "api/strategy.h"

/* Checks a buyer the parser let through: valid UTF-8 of 1 … 64 characters,
 * none of them a control character (C0, DEL or C1). */
static void
check_buyer(const char *buyer)
{
	const unsigned char *s = (const unsigned char *)buyer;
	size_t len = strlen(buyer), chars = 0;

	FUZZ_CHECK(len >= 1 && len <= LI_BUYER_MAX_BYTES);
	FUZZ_CHECK(fuzz_utf8_ok(s, len));
	for (size_t i = 0; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			chars++;
		FUZZ_CHECK(s[i] >= 0x20 && s[i] != 0x7f);
		/* C1 controls are U+0080 … U+009F: 0xc2 0x80 … 0xc2 0x9f. */
		if (s[i] == 0xc2 && i + 1 < len)
			FUZZ_CHECK(s[i + 1] > 0x9f);
	}
	FUZZ_CHECK(chars >= 1 && chars <= LI_BUYER_MAX_CHARS);
}

static void
check_failure(enum problem_code rc, const char *detail, size_t size)
{
	FUZZ_CHECK(rc == PROBLEM_BAD_REQUEST);
	FUZZ_CHECK(memchr(detail, '\0', size) != NULL);
	FUZZ_CHECK(detail[0] != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body;
	size_t len;
	char *exact, detail[256];
	enum problem_code rc;

	if (size == 0)
		return 0;
	len = size - 1;
	if ((exact = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(exact, data + 1, len);
	body = exact;

	FUZZ_CHECK(text_utf8_valid(body, len) ==
	    fuzz_utf8_ok((const unsigned char *)body, len));

	memset(detail, 'x', sizeof(detail));
	if (data[0] % 2 == 0) {
		struct purchase_body b;

		rc = request_purchase_body(body, len, &b, detail, sizeof(detail));
		if (rc == PROBLEM_NONE) {
			FUZZ_CHECK(b.quantity >= 1 && b.quantity <= LI_QUANTITY_MAX);
			FUZZ_CHECK(memchr(b.buyer, '\0', sizeof(b.buyer)) != NULL);
			check_buyer(b.buyer);
			FUZZ_CHECK(b.strategy >= -1 && b.strategy < STRATEGY_COUNT);
		} else
			check_failure(rc, detail, sizeof(detail));
	} else {
		struct reset_body b;

		rc = request_reset_body(body, len, &b, detail, sizeof(detail));
		if (rc == PROBLEM_NONE) {
			FUZZ_CHECK(b.has_quantity == 0 || b.has_quantity == 1);
			FUZZ_CHECK(b.quantity >= 0 && b.quantity <= LI_RESET_MAX);
			FUZZ_CHECK(b.has_quantity || b.quantity == 0);
		} else
			check_failure(rc, detail, sizeof(detail));
	}
	/* What is accepted is either nothing or one valid UTF-8 JSON object. */
	if (rc == PROBLEM_NONE && len > 0) {
		size_t ws = 0;
		while (ws < len && strchr(" \t\r\n", body[ws]) != NULL && body[ws])
			ws++;
		FUZZ_CHECK(ws < len && body[ws] == '{');
		FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)body, len));
		FUZZ_CHECK(fuzz_json_ok(body, len));
	}
	free(exact);
	return 0;
}
