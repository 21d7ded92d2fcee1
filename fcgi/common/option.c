/*
 * option.c — reading command-line values.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "option.h"

long
option_number(const char *s, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < min || n > max)
		return -1;
	return n;
}
