/*
 * pq_notice.c — what both programs do with libpq's notices (pq_notice.h).
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pq_notice.h"

void
pq_notice_keep_goodbye(const PGresult *res, char *goodbye, size_t size)
{
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (severity != NULL && primary != NULL &&
	    (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0))
		snprintf(goodbye, size, "%s", primary);
	else
		log_warn("the database says: %s", PQresultErrorMessage(res));
}
