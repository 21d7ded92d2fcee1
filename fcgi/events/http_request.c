/*
 * http_request.c — parsing the head of an HTTP/1.x request.
 *
 * Only what the event daemon needs is kept (method, path, query,
 * Last-Event-ID);
 * everything else is checked for shape and skipped. Bytes outside visible
 * ASCII in the request line, a header line without a colon, an oversized
 * path or a head past its bound are refused, never truncated into something
 * that means something else.
 */
#include <config.h>

#include <string.h>
#include <strings.h>

#include "http_request.h"

/* Finds the end of the head ("\r\n\r\n" or "\n\n"); returns its length. */
static size_t
head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The length of the line at s (up to end), without its CR LF or LF. */
static size_t
line_length(const char *s, const char *end, const char **next)
{
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	size_t len;

	if (nl == NULL) {
		*next = end;
		return (size_t)(end - s);
	}
	*next = nl + 1;
	len = (size_t)(nl - s);
	if (len > 0 && s[len - 1] == '\r')
		len--;
	return len;
}

static enum http_req_status
parse_request_line(const char *s, size_t len, struct http_req *req)
{
	const char *sp1, *sp2, *end = s + len, *q;
	size_t mlen, plen;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return HTTP_REQ_BAD;
	if ((sp1 = memchr(s, ' ', len)) == NULL)
		return HTTP_REQ_BAD;
	if ((sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))) == NULL)
		return HTTP_REQ_BAD;
	mlen = (size_t)(sp1 - s);
	if (mlen == 0 || mlen >= sizeof(req->method))
		return HTTP_REQ_BAD;
	for (size_t i = 0; i < mlen; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return HTTP_REQ_BAD;
	memcpy(req->method, s, mlen);
	req->method[mlen] = '\0';

	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	plen = (size_t)((q != NULL ? q : sp2) - (sp1 + 1));
	if (plen == 0 || sp1[1] != '/' || plen >= sizeof(req->path))
		return HTTP_REQ_BAD;
	memcpy(req->path, sp1 + 1, plen);
	req->path[plen] = '\0';
	req->query[0] = '\0';
	if (q != NULL) {
		size_t qlen = (size_t)(sp2 - q - 1);
		if (qlen >= sizeof(req->query))
			return HTTP_REQ_BAD;
		memcpy(req->query, q + 1, qlen);
		req->query[qlen] = '\0';
	}

	if ((size_t)(end - sp2 - 1) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return HTTP_REQ_BAD;
	req->http_minor = sp2[8] - '0';
	return HTTP_REQ_COMPLETE;
}

static enum http_req_status
parse_header(const char *s, size_t len, struct http_req *req)
{
	const char *colon = memchr(s, ':', len), *v, *end = s + len;
	size_t vlen;

	if (colon == NULL || colon == s)
		return HTTP_REQ_BAD;
	for (const char *p = s; p < colon; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p > 0x7e)
			return HTTP_REQ_BAD;     /* no space before the colon */
	for (const char *p = colon + 1; p < end; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return HTTP_REQ_BAD;
	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	vlen = (size_t)(end - v);
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if ((size_t)(colon - s) == 13 && strncasecmp(s, "Last-Event-ID", 13) == 0) {
		/* An id we never issued is simply not one of ours: a snapshot. */
		if (vlen > HTTP_REQ_ID_MAX)
			vlen = 0;
		memcpy(req->last_event_id, v, vlen);
		req->last_event_id[vlen] = '\0';
		req->has_last_event_id = vlen > 0;
	}
	return HTTP_REQ_COMPLETE;
}

enum http_req_status
http_req_parse(const char *buf, size_t len, struct http_req *req)
{
	const char *p, *end, *next;
	size_t n, hl;
	enum http_req_status st;

	memset(req, 0, sizeof(*req));
	if ((hl = head_end(buf, len)) == 0)
		return len >= HTTP_REQ_HEAD_MAX ? HTTP_REQ_TOO_LARGE :
		    memchr(buf, '\0', len) ? HTTP_REQ_BAD : HTTP_REQ_INCOMPLETE;
	if (hl > HTTP_REQ_HEAD_MAX)
		return HTTP_REQ_TOO_LARGE;
	end = buf + hl;
	n = line_length(buf, end, &next);
	if ((st = parse_request_line(buf, n, req)) != HTTP_REQ_COMPLETE)
		return st;
	for (p = next; p < end; p = next) {
		n = line_length(p, end, &next);
		if (n == 0)
			break;                   /* the blank line */
		if (*p == ' ' || *p == '\t')
			return HTTP_REQ_BAD;     /* obsolete line folding */
		if ((st = parse_header(p, n, req)) != HTTP_REQ_COMPLETE)
			return st;
	}
	req->head_len = hl;
	return HTTP_REQ_COMPLETE;
}
