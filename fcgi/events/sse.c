/*
 * sse.c — Server-Sent Events framing.
 *
 * A newline inside data would end the field early and let the rest be read
 * as another field (an injected "event:" or "id:"), so data is split at
 * every CR, LF or CRLF into its own "data:" line, which EventSource joins
 * back with "\n". id and name cannot be split that way and are refused if
 * they hold a line break. The ids come back from clients in Last-Event-ID,
 * so their parser lives here too, and takes them as outside input.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

/* Appends len bytes at *pos if they fit. Returns 0 when they do not. */
static int
put(char *buf, size_t size, size_t *pos, const char *s, size_t len)
{
	if (len > size - *pos)
		return 0;
	memcpy(buf + *pos, s, len);
	*pos += len;
	return 1;
}

static int
has_line_break(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

size_t
sse_format_event(char *buf, size_t size, const char *id, const char *name,
    const char *data, size_t data_len)
{
	size_t pos = 0, start = 0, i;

	if ((id != NULL && has_line_break(id)) || has_line_break(name))
		return 0;
	if (id != NULL && !(put(buf, size, &pos, "id: ", 4) &&
	    put(buf, size, &pos, id, strlen(id)) && put(buf, size, &pos, "\n", 1)))
		return 0;
	if (!(put(buf, size, &pos, "event: ", 7) &&
	    put(buf, size, &pos, name, strlen(name)) && put(buf, size, &pos, "\n", 1)))
		return 0;
	for (i = 0; i <= data_len; i++) {
		if (i < data_len && data[i] != '\r' && data[i] != '\n')
			continue;
		if (!(put(buf, size, &pos, "data: ", 6) &&
		    put(buf, size, &pos, data + start, i - start) &&
		    put(buf, size, &pos, "\n", 1)))
			return 0;
		if (i + 1 < data_len && data[i] == '\r' && data[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	if (!put(buf, size, &pos, "\n", 1))
		return 0;
	return pos;
}

int
sse_parse_event_id(const char *id, const char *run_id, uint64_t *seq)
{
	size_t rl = strlen(run_id);
	char *end;

	if (strncmp(id, run_id, rl) != 0 || id[rl] != '-' ||
	    id[rl + 1] < '0' || id[rl + 1] > '9')
		return 0;
	errno = 0;
	*seq = strtoull(id + rl + 1, &end, 10);
	/* An id past 2^64 - 1 was never issued: not one of ours. */
	return *end == '\0' && errno != ERANGE;
}
