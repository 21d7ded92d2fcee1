/*
 * text_check.c — the checks of outside text that both programs make: an item
 * id, UTF-8, and the tokens of a JSON document. The pool checks what clients
 * send with them; the event daemon checks what arrives in a notification.
 * Pure: bytes in, a yes or no out.
 */
#include <config.h>

#include <string.h>

#include "li.h"
#include "text_check.h"

int
text_item_id_valid(const char *s, size_t len)
{
	if (len == 0 || len > LI_ITEM_ID_MAX)
		return 0;
	/* Explicit ranges, not islower(): a locale must not widen the set. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c == '-' && i > 0)))
			return 0;
	}
	return 1;
}

long
text_utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	size_t n;
	long cp, min;

	if (c < 0x80) {
		(*i)++;
		return c;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 1; cp = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2; cp = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3; cp = c & 0x07; min = 0x10000;
	} else
		return -1;
	if (n >= len - *i)          /* the sequence runs past the end */
		return -1;
	for (size_t k = 1; k <= n; k++) {
		unsigned char cc = s[*i + k];
		if ((cc & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (cc & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i += n + 1;
	return cp;
}

int
text_utf8_valid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len)
		if (text_utf8_next((const unsigned char *)s, len, &i) < 0)
			return 0;
	return 1;
}

/* The length of the JSON number at s (RFC 8259, section 6), or 0. */
static size_t
json_number_length(const char *s, size_t len)
{
	size_t i = 0, digits;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	if (i < len && s[i] == '.') {
		for (digits = 0, i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
		if (digits == 0)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (digits = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
		if (digits == 0)
			return 0;
	}
	/* "01" or "1.2.3" is not two numbers but a bad one. */
	if (i < len && s[i] != '\0' && strchr("0123456789.eE+-", s[i]) != NULL)
		return 0;
	return i;
}

int
text_json_tokens_valid(const char *s, size_t len)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t i = 0, n;

	while (i < len) {
		char c = s[i];
		if (c != '\0' && strchr(" \t\r\n{}[]:,", c) != NULL) {
			i++;
		} else if (c == '"') {
			/* Escapes are json-c's to check; raw controls are ours. */
			for (i++; i < len && s[i] != '"'; i++) {
				if ((unsigned char)s[i] < 0x20)
					return 0;
				if (s[i] == '\\')
					i++;
			}
			if (i >= len)
				return 0;
			i++;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			if ((n = json_number_length(s + i, len - i)) == 0)
				return 0;
			i += n;
		} else {
			for (n = 0; n < LI_ARRAY_LEN(words); n++)
				if (len - i >= strlen(words[n]) &&
				    memcmp(s + i, words[n], strlen(words[n])) == 0)
					break;
			if (n == LI_ARRAY_LEN(words))
				return 0;
			i += strlen(words[n]);
		}
	}
	return 1;
}
