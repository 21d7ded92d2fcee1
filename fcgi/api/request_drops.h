/*
 * request_drops.h — the bodies of limited drops: holds, their confirmation
 * and release, and items created or changed through the API (doc/api.md
 * "Holds", "Items"). Pure, like request.h: bytes in, a struct the caller
 * owns out, PROBLEM_NONE or a 400 with a detail naming the field.
 */
#ifndef LI_REQUEST_DROPS_H
#define LI_REQUEST_DROPS_H

#include <stddef.h>

#include "common/li.h"
#include "problem.h"
#include "request.h"

struct hold_body {
	struct purchase_body p;       /* quantity, buyer, strategy as a purchase */
	int ttl_seconds;              /* 10 … 900, default 120 */
};

/* Parses the optional body of POST /api/items/{id}/holds. */
enum problem_code request_hold_body(const char *body, size_t len,
    struct hold_body *out, char *detail, size_t detail_size);

/* Parses the optional {"buyer"} of a confirm or a release into out->buyer
 * and out->buyer_given ("anonymous" when absent). Any other field a
 * purchase takes is held to a purchase's rules, then ignored. */
enum problem_code request_buyer_body(const char *body, size_t len,
    struct purchase_body *out, char *detail, size_t detail_size);

struct item_body {
	char id[LI_ITEM_ID_MAX + 1];
	char name[LI_NAME_MAX_CHARS * 4 + 1];
	char description[LI_DESCRIPTION_MAX_CHARS * 4 + 1];
	char image_url[LI_IMAGE_URL_MAX + 1];
	int quantity;                 /* create: 0 … 1,000,000,000, default 0 */
	int max_per_buyer;            /* 1 … 1,000,000; 0: null (no limit) */
	int restock;                  /* patch: 1 … 1,000,000 */
	int has_id, has_name, has_description, has_image_url, has_max_per_buyer,
	    has_restock;
};

/* POST /api/items: id and name required, the rest optional. */
enum problem_code request_item_create_body(const char *body, size_t len,
    struct item_body *out, char *detail, size_t detail_size);

/* PATCH /api/items/{id}: at least one of name, description, image_url,
 * max_per_buyer (null: no limit) and restock. */
enum problem_code request_item_patch_body(const char *body, size_t len,
    struct item_body *out, char *detail, size_t detail_size);

/*
 * Who the buyer is. Without --buyer-header (header_name NULL) the body's
 * buyer, as parsed into b. With it, header_value is the buyer the shop's
 * proxy vouches for: it replaces b->buyer; a missing or malformed one is
 * PROBLEM_FORBIDDEN, and so is a body naming someone else.
 */
enum problem_code request_buyer_identity(const char *header_name,
    const char *header_value, struct purchase_body *b, char *detail,
    size_t detail_size);

#endif
