/*
 * pq_notice.h — what both programs do with libpq's notices.
 */
#ifndef LI_PQ_NOTICE_H
#define LI_PQ_NOTICE_H

#include <stddef.h>

#include <libpq-fe.h>

/*
 * libpq hands what the server says outside a query to a notice receiver,
 * whose default prints it to stderr as a bare line. The server's FATAL (or
 * PANIC) just before it hangs up (shutdown, pg_terminate_backend) is kept in
 * goodbye, for the line that reports the lost connection; anything else is
 * logged as a line of its own. Call it from a PQnoticeReceiver.
 */
void pq_notice_keep_goodbye(const PGresult *res, char *goodbye, size_t size);

#endif
