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

#endif
