/*
 * db_outage.c — the reconnect backoff and the outage's log lines, once for
 * both programs (db_outage.h).
 */
#include <config.h>

#include <stddef.h>

#include "db_outage.h"
#include "log.h"
#include "monotonic.h"

#define REMIND_MS 30000

void
db_outage_init(struct db_outage *o, long min_ms, long max_ms)
{
	o->min_ms = min_ms;
	o->max_ms = max_ms;
	o->backoff_ms = min_ms;
	o->retry_ms = 0;
	o->since_ms = monotonic_ms();
	o->logged_ms = 0;
	o->failures = 0;
	o->ever_up = 0;
}

int
db_outage_may_try(const struct db_outage *o)
{
	return monotonic_ms() >= o->retry_ms;
}

void
db_outage_lost(struct db_outage *o, const char *how, const char *msg,
    const char *note)
{
	if (msg == NULL)
		msg = "";
	log_warn("database connection lost %s%s%s%s%s", how,
	    msg[0] != '\0' ? ": " : "", msg, note != NULL ? "; " : "",
	    note != NULL ? note : "");
	o->since_ms = monotonic_ms();
	o->failures = 0;
	o->retry_ms = 0;
}

void
db_outage_failed(struct db_outage *o, const char *what, const char *msg)
{
	long long now = monotonic_ms();

	if (++o->failures == 1 || now - o->logged_ms >= REMIND_MS) {
		log_warn("cannot reach the database (%s; %lu attempts in %.1f s): %s",
		    what, o->failures, (double)(now - o->since_ms) / 1000,
		    msg != NULL ? msg : "");
		o->logged_ms = now;
	}
	o->retry_ms = now + o->backoff_ms;
	o->backoff_ms = o->backoff_ms > o->max_ms / 2 ? o->max_ms : o->backoff_ms * 2;
}

int
db_outage_end(struct db_outage *o, const char *detail)
{
	double down = (double)(monotonic_ms() - o->since_ms) / 1000;
	int regained = o->ever_up;
	const char *sep = detail != NULL ? "; " : "";

	if (detail == NULL)
		detail = "";
	if (regained)
		log_info("database connection regained %.3f s after it was found "
		    "lost, %lu failed attempts%s%s", down, o->failures, sep, detail);
	else if (o->failures > 0)
		log_info("database connected after %.1f s (%lu failed attempts)%s%s",
		    down, o->failures, sep, detail);
	else if (sep[0] != '\0')
		log_info("database connected%s%s", sep, detail);
	o->ever_up = 1;
	o->failures = 0;
	o->backoff_ms = o->min_ms;
	o->retry_ms = 0;
	return regained;
}
