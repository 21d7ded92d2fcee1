/*
 * http_request.h — the event daemon's HTTP/1.x request parser.
 *
 * Pure and incremental: give it everything received so far; it says whether
 * the head is complete, malformed or too large. It keeps no state between
 * calls, so a client that trickles its request (slowloris) costs only its
 * bytes, bounded by HTTP_REQ_HEAD_MAX, and a timer elsewhere.
 */
#ifndef LI_HTTP_REQ_H
#define LI_HTTP_REQ_H

#include <stddef.h>

#define HTTP_REQ_HEAD_MAX   8192   /* request line and headers together */
#define HTTP_REQ_PATH_MAX   256
#define HTTP_REQ_ID_MAX     64     /* Last-Event-ID */

enum http_req_status {
	HTTP_REQ_COMPLETE,       /* a whole head was parsed */
	HTTP_REQ_INCOMPLETE,     /* more bytes needed */
	HTTP_REQ_BAD,            /* malformed: answer 400 */
	HTTP_REQ_TOO_LARGE       /* head past HTTP_REQ_HEAD_MAX: answer 431 */
};

struct http_req {
	char method[8];                          /* "GET", … */
	char path[HTTP_REQ_PATH_MAX];            /* without the query */
	char query[HTTP_REQ_PATH_MAX];           /* after '?', "" when none */
	char last_event_id[HTTP_REQ_ID_MAX + 1]; /* "" when absent */
	int has_last_event_id;
	int http_minor;                          /* HTTP/1.<minor> */
	size_t head_len;                         /* bytes of the head */
};

enum http_req_status http_req_parse(const char *buf, size_t len,
    struct http_req *req);

#endif
