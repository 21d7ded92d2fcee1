/*
 * text_check.h — checks of outside text shared by the pool and the event
 * daemon. Pure: bytes and a length in, 1 (good) or 0 out.
 */
#ifndef LI_TEXT_CHECK_H
#define LI_TEXT_CHECK_H

#include <stddef.h>

/* Whether s (len bytes) is a well-formed item id: [a-z0-9][a-z0-9-]{0,63}. */
int text_item_id_valid(const char *s, size_t len);

/* Whether s (len bytes) is well-formed UTF-8 (no overlongs, no surrogates). */
int text_utf8_valid(const char *s, size_t len);

/*
 * Decodes the UTF-8 sequence at s[*i] (len bytes in all) and moves *i
 * past it. Returns the code point, or -1 when the sequence is malformed,
 * overlong, a surrogate or runs past the end.
 */
long text_utf8_next(const unsigned char *s, size_t len, size_t *i);

/*
 * Whether every token of s (len bytes) is a JSON token (RFC 8259): strings
 * in double quotes without raw control characters, numbers without a
 * leading zero or a bare dot, and no word but true, false and null. json-c
 * checks the structure and the escapes but, even in strict mode, lets
 * through single quotes, raw control characters, NaN, Infinity, 1. and -01;
 * this is the check that keeps them out.
 */
int text_json_tokens_valid(const char *s, size_t len);

#endif
