/*
 * fuzz_api_body — the JSON bodies of POST /api/items/{id}/purchase and
 * POST /api/reset, parsed as the pool parses them: UTF-8 first, then json-c
 * in strict mode, then every field against doc/api.md.
 *
 * Input: one byte choosing the body (even: purchase, odd: reset; from 0xf0
 * on, the bodies of limited drops, drops_body()), then the body, handed
 * over with its exact length and no NUL after it.
 */
#include <config.h>

#include "fuzz.h"
#include "api/request.h"
#include "api/request_drops.h"
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

/* A valid item text: UTF-8 of at most max characters, no control one. */
static void
check_text(const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), chars = 0;

	FUZZ_CHECK(fuzz_utf8_ok(u, len));
	for (size_t i = 0; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			chars++;
		FUZZ_CHECK(u[i] >= 0x20 && u[i] != 0x7f);
	}
	FUZZ_CHECK(chars <= max);
}

/*
 * The bodies of limited drops (first byte 0xf0 and up): 0 a hold, 1 a new
 * item, 2 a change of an item, 3 a confirm's buyer. Returns the parser's
 * answer, with what it accepted checked.
 */
static enum problem_code
drops_body(int which, const char *body, size_t len, char *detail,
    size_t size)
{
	struct hold_body h;
	struct item_body it;
	struct purchase_body b;
	enum problem_code rc;

	switch (which) {
	case 0:
		rc = request_hold_body(body, len, &h, detail, size);
		if (rc == PROBLEM_NONE) {
			FUZZ_CHECK(h.ttl_seconds >= LI_TTL_MIN &&
			    h.ttl_seconds <= LI_TTL_MAX);
			FUZZ_CHECK(h.p.quantity >= 1 &&
			    h.p.quantity <= LI_QUANTITY_MAX);
			check_buyer(h.p.buyer);
		}
		break;
	case 1:
	case 2:
		rc = which == 1 ?
		    request_item_create_body(body, len, &it, detail, size) :
		    request_item_patch_body(body, len, &it, detail, size);
		if (rc == PROBLEM_NONE) {
			if (which == 1) {
				FUZZ_CHECK(fuzz_item_id_ok(it.id, strlen(it.id)));
				FUZZ_CHECK(it.has_name && it.name[0] != '\0');
			}
			check_text(it.name, LI_NAME_MAX_CHARS);
			check_text(it.description, LI_DESCRIPTION_MAX_CHARS);
			check_text(it.image_url, LI_IMAGE_URL_MAX);
			FUZZ_CHECK(strncmp(it.image_url, "//", 2) != 0);
			FUZZ_CHECK(strchr(it.image_url, ':') == NULL ||
			    strncmp(it.image_url, "http", 4) == 0 ||
			    it.image_url[0] == '/');
			FUZZ_CHECK(it.quantity >= 0 &&
			    it.quantity <= LI_ITEM_QUANTITY_MAX);
			FUZZ_CHECK(it.max_per_buyer >= 0 &&
			    it.max_per_buyer <= LI_PER_BUYER_MAX);
			FUZZ_CHECK(!it.has_restock || (it.restock >= 1 &&
			    it.restock <= LI_RESTOCK_MAX));
		}
		break;
	default:
		rc = request_buyer_body(body, len, &b, detail, size);
		if (rc == PROBLEM_NONE)
			check_buyer(b.buyer);
		break;
	}
	if (rc != PROBLEM_NONE)
		check_failure(rc, detail, size);
	return rc;
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
	if (data[0] >= 0xf0) {
		rc = drops_body(data[0] % 4, body, len, detail, sizeof(detail));
	} else if (data[0] % 2 == 0) {
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
