/*
 * sse.h — Server-Sent Events framing (the WHATWG EventSource format).
 * Pure: formats into a caller's buffer, no I/O.
 */
#ifndef LI_SSE_H
#define LI_SSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Formats one event: "id: <id>\n" (when id is not NULL), "event: <name>\n",
 * one "data: " line per line of data, and the blank line that ends it.
 * Returns the length written (without a NUL), or 0 when it does not fit in
 * size bytes or a field would break the framing (a newline in id or name).
 */
size_t sse_format_event(char *buf, size_t size, const char *id,
    const char *name, const char *data, size_t data_len);

/*
 * Parses an event id "<run_id>-<n>" that a client sent back in
 * Last-Event-ID. Returns 1 and sets *seq when it is one of this run's
 * (run_id) ids, 0 for anything else.
 */
int sse_parse_event_id(const char *id, const char *run_id, uint64_t *seq);

#endif
