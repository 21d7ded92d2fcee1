/*
 * db_outage.h — how both programs live without their database: when to try
 * again, and what to say about it.
 *
 * An outage is logged as one line when a working connection is lost, one at
 * the first failed attempt, a reminder at most every 30 s while it lasts,
 * however often the backoff retries, and one line when it ends, saying how
 * long it lasted and how many attempts failed. Attempts are spaced by a
 * backoff that doubles from min_ms to max_ms and starts again at min_ms once
 * a connection works. Every time is read from the one monotonic clock
 * (monotonic.h).
 */
#ifndef LI_DB_OUTAGE_H
#define LI_DB_OUTAGE_H

struct db_outage {
	long min_ms, max_ms;          /* the backoff schedule */
	long backoff_ms;              /* the wait after the next failure */
	long long retry_ms;           /* no attempt before this */
	long long since_ms;           /* when the outage in progress began */
	long long logged_ms;          /* the last "cannot reach" line */
	unsigned long failures;       /* attempts failed during it */
	int ever_up;                  /* a connection has worked before */
};

/* Starts "down": a program has no connection until its first one works. */
void db_outage_init(struct db_outage *o, long min_ms, long max_ms);

/* Whether an attempt may be made now (the backoff has passed). */
int db_outage_may_try(const struct db_outage *o);

/*
 * A working connection broke: the outage begins. Logs "database connection
 * lost HOW: MSG" (and "; NOTE" when note is not NULL). The next attempt may
 * follow at once: one that fails is then spaced by the backoff.
 */
void db_outage_lost(struct db_outage *o, const char *how, const char *msg,
    const char *note);

/*
 * An attempt failed (WHAT: the step that did, e.g. "connect"; MSG: why).
 * Counts it, logs it when it is the first or a reminder is due, and puts
 * the next attempt one backoff away.
 */
void db_outage_failed(struct db_outage *o, const char *what, const char *msg);

/*
 * The connection works: the outage ends. Logs how long it lasted (with
 * "; DETAIL" when detail is not NULL); the first connection of a program is
 * logged only when attempts failed before it or there is a detail. Returns 1
 * when this regained a connection that had worked before, 0 on the first.
 */
int db_outage_end(struct db_outage *o, const char *detail);

#endif
