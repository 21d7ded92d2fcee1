/*
 * li.h — the conventions every file of lastitem shares.
 *
 * One error convention for the whole code base, as in nginx: a function that
 * can fail returns LI_OK or a negative LI_* code, never a home-made scheme of
 * its own. Functions that answer a client with an error return an
 * enum problem_code instead (problem.h), which names the problem+json reply.
 */
#ifndef LI_H
#define LI_H

#include <stddef.h>

#define LI_OK        0   /* done */
#define LI_ERROR    -1   /* failed; the caller gives up on this request */
#define LI_AGAIN    -2   /* not possible now; try again later */
#define LI_DECLINED -3   /* not for this function; the caller goes on */

#define LI_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Limits of the HTTP contract (doc/api.md), shared by parser, pool and tests. */
#define LI_ITEM_ID_MAX       64     /* [a-z0-9][a-z0-9-]{0,63} */
#define LI_BUYER_MAX_CHARS   64     /* characters, not bytes */
#define LI_BUYER_MAX_BYTES   (LI_BUYER_MAX_CHARS * 4)
#define LI_KEY_MAX           255    /* Idempotency-Key, visible ASCII */
#define LI_QUANTITY_MAX      100
#define LI_RESET_MAX         1000000000
#define LI_BODY_MAX          4096
#define LI_ORDERS_LIMIT_MAX  500
#define LI_ORDERS_LIMIT_DEF  50
/* Limited drops: items managed through the API, holds (doc/api.md). */
#define LI_NAME_MAX_CHARS    100
#define LI_DESCRIPTION_MAX_CHARS 1000
#define LI_IMAGE_URL_MAX     500    /* bytes: visible ASCII only */
#define LI_ITEM_QUANTITY_MAX 1000000000
#define LI_RESTOCK_MAX       1000000
#define LI_PER_BUYER_MAX     1000000
#define LI_TTL_MIN           10     /* a hold's ttl_seconds */
#define LI_TTL_MAX           900
#define LI_TTL_DEF           120

#endif
