/*
 * fuzz.h — what the libFuzzer harnesses of test/fuzz/ share.
 *
 * A harness is one LLVMFuzzerTestOneInput(). Built with clang and
 * -fsanitize=fuzzer it is driven by libFuzzer (`make fuzz`); built with the
 * project's compiler and replay.c it replays the seed corpus and every
 * crasher ever found (`make check`). Beyond "no crash", a harness checks
 * properties of what the parser accepted and aborts when one fails, so
 * libFuzzer keeps the input as a crash.
 */
#ifndef LI_FUZZ_H
#define LI_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the parser's answer that must hold for every input. */
#define FUZZ_CHECK(cond) do {                                           \
	if (!(cond)) {                                                  \
		fprintf(stderr, "%s:%d: property failed: %s\n",         \
		    __FILE__, __LINE__, #cond);                         \
		abort();                                                \
	}                                                               \
} while (0)

/*
 * Cuts the next field, up to a '\n' or the end, off *data and returns it as
 * a NUL-terminated copy the caller frees (an embedded NUL ends the string
 * early, as it would in a FastCGI parameter). Aborts when out of memory.
 */
static inline char *
fuzz_field(const uint8_t **data, size_t *size)
{
	const uint8_t *nl = memchr(*data, '\n', *size);
	size_t len = nl != NULL ? (size_t)(nl - *data) : *size;
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	memcpy(s, *data, len);
	s[len] = '\0';
	*data += len + (nl != NULL);
	*size -= len + (nl != NULL);
	return s;
}

/* Whether s (len bytes) is [a-z0-9][a-z0-9-]{0,63}, written independently
 * of the parser it checks. */
static inline int
fuzz_item_id_ok(const char *s, size_t len)
{
	if (len < 1 || len > 64)
		return 0;
	if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789") < 1)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") >= len;
}

/*
 * Whether s (len bytes) is well-formed UTF-8 by the table of the Unicode
 * standard (3.9, table 3-7), a second implementation to hold the parser's
 * against.
 */
static inline int
fuzz_utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned char lo = 0x80, hi = 0xbf;

		if (c <= 0x7f) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c == 0xe0) {
			n = 2; lo = 0xa0;
		} else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
			n = 2;
		else if (c == 0xed) {
			n = 2; hi = 0x9f;
		} else if (c == 0xf0) {
			n = 3; lo = 0x90;
		} else if (c >= 0xf1 && c <= 0xf3)
			n = 3;
		else if (c == 0xf4) {
			n = 3; hi = 0x8f;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return 0;
		i += n + 1;
	}
	return 1;
}

/*
 * A strict RFC 8259 recognizer, to hold json-c to: whatever a parser
 * accepts as JSON must be JSON (json-c alone lets through single quotes
 * and more). Returns the position after the value at s[i], or 0 when there
 * is none. Depth is bounded by the parsers' own limit, so recursion is too.
 */
static inline size_t fuzz_json_value(const char *s, size_t len, size_t i,
    int depth);

static inline size_t
fuzz_json_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
	    s[i] == '\n'))
		i++;
	return i;
}

static inline size_t
fuzz_json_string(const char *s, size_t len, size_t i)
{
	if (i >= len || s[i] != '"')
		return 0;
	for (i++; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"')
			return i + 1;
		if (c < 0x20)
			return 0;
		if (c != '\\')
			continue;
		if (++i >= len)
			return 0;
		if (s[i] == 'u') {
			for (int k = 1; k <= 4; k++)
				if (i + (size_t)k >= len ||
				    strchr("0123456789abcdefABCDEF", s[i + (size_t)k]) == NULL ||
				    s[i + (size_t)k] == '\0')
					return 0;
			i += 4;
		} else if (s[i] == '\0' || strchr("\"\\/bfnrt", s[i]) == NULL)
			return 0;
	}
	return 0;
}

static inline size_t
fuzz_json_digits(const char *s, size_t len, size_t i)
{
	size_t start = i;

	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i > start ? i : 0;
}

static inline size_t
fuzz_json_number(const char *s, size_t len, size_t i)
{
	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
		i = fuzz_json_digits(s, len, i);
	else
		return 0;
	if (i < len && s[i] == '.' && (i = fuzz_json_digits(s, len, i + 1)) == 0)
		return 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if ((i = fuzz_json_digits(s, len, i)) == 0)
			return 0;
	}
	return i;
}

static inline size_t
fuzz_json_value(const char *s, size_t len, size_t i, int depth)
{
	char close;

	i = fuzz_json_ws(s, len, i);
	if (i >= len || depth > 64)
		return 0;
	if (s[i] == '"')
		return fuzz_json_string(s, len, i);
	if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9'))
		return fuzz_json_number(s, len, i);
	if (s[i] == 't' || s[i] == 'f' || s[i] == 'n') {
		static const char *const words[] = { "true", "false", "null" };
		for (size_t w = 0; w < 3; w++) {
			size_t wl = strlen(words[w]);
			if (len - i >= wl && memcmp(s + i, words[w], wl) == 0)
				return i + wl;
		}
		return 0;
	}
	if (s[i] != '{' && s[i] != '[')
		return 0;
	close = s[i] == '{' ? '}' : ']';
	i = fuzz_json_ws(s, len, i + 1);
	if (i < len && s[i] == close)
		return i + 1;
	for (;;) {
		if (close == '}') {
			if ((i = fuzz_json_string(s, len, fuzz_json_ws(s, len, i))) == 0)
				return 0;
			i = fuzz_json_ws(s, len, i);
			if (i >= len || s[i] != ':')
				return 0;
			i++;
		}
		if ((i = fuzz_json_value(s, len, i, depth + 1)) == 0)
			return 0;
		i = fuzz_json_ws(s, len, i);
		if (i >= len)
			return 0;
		if (s[i] == close)
			return i + 1;
		if (s[i] != ',')
			return 0;
		i++;
	}
}

/* Whether s (len bytes) is exactly one JSON text (RFC 8259, section 2). */
static inline int
fuzz_json_ok(const char *s, size_t len)
{
	size_t end = fuzz_json_value(s, len, 0, 0);

	return end > 0 && fuzz_json_ws(s, len, end) == len;
}

#endif
