/*
 * db.c — a worker's database connection.
 *
 * Each worker owns exactly one libpq connection for its whole life and uses
 * it in blocking mode: a worker serves one request at a time, so there is
 * nothing else it could do while it waits. Few connections are the point:
 * one hot row serializes every purchase of it, and a crowd of backends
 * queueing on that row lock only adds contention. nginx and the listen
 * backlog hold the rest of the crowd.
 *
 * Every statement is prepared once per connection. Prepared statements live
 * in the server session, so after a reconnect they are prepared again before
 * the connection is used. So are lock_timeout and statement_timeout: a call
 * that waits on a row lock someone holds (a psql session, a stuck
 * transaction) is given up by the server after --lock-timeout, and answered
 * 503, instead of holding the worker past nginx's patience.
 *
 * When the database goes away (restart, pg_terminate_backend, network) the
 * worker does not die: it drops the connection, answers 503 for as long as
 * the database cannot be reached, and tries again with a backoff of 50 ms
 * growing to 2 s, one attempt per interval, so a request never waits for a
 * connection attempt the previous one just saw fail.
 *
 * An outage is logged (common/db_outage.h) as one line when it starts ("database connection
 * lost"), one at the first failed attempt, a reminder at most every 30 s
 * while it lasts, and one when it ends ("regained N s after it was found
 * lost"), however many requests meet it in between. A worker finds a loss
 * only when a request needs the connection, so N is how long this worker
 * was without it, not how long the server was down.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "common/li.h"
#include "common/db_outage.h"
#include "common/log.h"
#include "common/pq_notice.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000

static const struct {
	const char *name;
	const char *sql;
	int nparams;
} statements[DB_STMT_COUNT] = {
/* The arguments of a purchase function: one buyer, or arrays of them. */
#define DB_PURCHASE_ARGS_0 "($1, $2::integer, $3, $4)"
#define DB_PURCHASE_ARGS_1 "($1, $2::integer[], $3::text[], $4::text[])"
#define DB_PURCHASE_STATEMENT(id, name, unsafe, batched) \
	[DB_PURCHASE_##id] = { "purchase_" name, \
	    "SELECT outcome, order_id, quantity_left, attempts, body " \
	    "FROM lastitem.purchase_" name DB_PURCHASE_ARGS_##batched, 4 },
	STRATEGY_LIST(DB_PURCHASE_STATEMENT)
#undef DB_PURCHASE_STATEMENT
	[DB_RESET] = { "reset",
	    "SELECT lastitem.reset($1::integer)", 1 },
	[DB_ITEMS] = { "items",
	    "SELECT lastitem.items_json()", 0 },
	[DB_ITEM] = { "item",
	    "SELECT lastitem.item_json_by_id($1)", 1 },
	[DB_ORDERS] = { "orders",
	    "SELECT lastitem.orders_json($1, $2::integer, $3::bigint)", 3 },
	[DB_ORDER] = { "order",
	    "SELECT lastitem.order_json_by_id($1::bigint)", 1 },
	[DB_HEALTH] = { "health",
	    "SELECT 1", 0 },
#define DB_OUTCOME_COLUMNS "SELECT outcome, order_id, quantity_left, attempts, body "
	[DB_HOLD_CREATE] = { "hold_create", DB_OUTCOME_COLUMNS
	    "FROM lastitem.hold_create($1, $2::integer, $3, $4, $5::integer, $6)", 6 },
	[DB_HOLD_CONFIRM] = { "hold_confirm", DB_OUTCOME_COLUMNS
	    "FROM lastitem.hold_confirm($1::bigint, $2)", 2 },
	[DB_HOLD_RELEASE] = { "hold_release", DB_OUTCOME_COLUMNS
	    "FROM lastitem.hold_release($1::bigint, $2)", 2 },
	[DB_HOLD] = { "hold",
	    "SELECT lastitem.hold_json_by_id($1::bigint)", 1 },
	[DB_ITEM_CREATE] = { "item_create", DB_OUTCOME_COLUMNS
	    "FROM lastitem.item_create($1, $2, $3, $4, $5::integer, $6::integer)", 6 },
	[DB_ITEM_UPDATE] = { "item_update", DB_OUTCOME_COLUMNS
	    "FROM lastitem.item_update($1, $2, $3, $4, $5::boolean, $6::integer, "
	    "$7::integer)", 7 },
	[DB_EXPIRE_HOLDS] = { "expire_holds",
	    "SELECT lastitem.expire_holds($1::integer)", 1 },
#undef DB_OUTCOME_COLUMNS
};

void
db_init(struct db *db, const char *conninfo, struct api_metrics *metrics)
{
	memset(db, 0, sizeof(*db));
	db->conninfo = conninfo;
	db->metrics = metrics;
	db->application_name = "lastitem-api";
	db_outage_init(&db->outage, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
}

void
db_set_timeouts(struct db *db, int lock_timeout_ms, int statement_timeout_ms)
{
	db->lock_timeout_ms = lock_timeout_ms;
	db->statement_timeout_ms = statement_timeout_ms;
}

/* Sets the session's timeouts. Returns LI_OK or LI_ERROR (logged). */
static int
db_apply_timeouts(struct db *db)
{
	char lock[16], statement[16];
	const char *params[2] = { lock, statement };
	PGresult *res;
	int ok;

	if (db->lock_timeout_ms <= 0 && db->statement_timeout_ms <= 0)
		return LI_OK;
	/* "0" leaves the server's own setting (no limit) in force. */
	snprintf(lock, sizeof(lock), "%d", db->lock_timeout_ms > 0 ?
	    db->lock_timeout_ms : 0);
	snprintf(statement, sizeof(statement), "%d",
	    db->statement_timeout_ms > 0 ? db->statement_timeout_ms : 0);
	res = PQexecParams(db->conn, "SELECT set_config('lock_timeout', $1, false), "
	    "set_config('statement_timeout', $2, false)", 2, NULL, params, NULL,
	    NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		log_error("cannot set the timeouts: %s", PQresultErrorMessage(res));
	PQclear(res);
	return ok ? LI_OK : LI_ERROR;
}

/*
 * The server gave the statement up: it waited longer than lock_timeout
 * (55P03 lock_not_available) or ran longer than statement_timeout (57014
 * query_canceled; the pool never cancels a statement itself).
 */
static int
db_given_up(const PGresult *res)
{
	const char *state = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return state != NULL &&
	    (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0);
}

/*
 * The server no longer takes writes (25006 read_only_sql_transaction): it
 * was a primary and is a standby now, or the conninfo named a standby. The
 * statement changed nothing, so it may run again on a new connection,
 * which the conninfo's target_session_attrs=read-write sends to whichever
 * server is primary now (doc/operations.md, "Many hosts").
 */
static int
db_read_only(const PGresult *res)
{
	const char *state = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return state != NULL && strcmp(state, "25006") == 0;
}

/* The server's goodbye is kept for db_lost()'s line (pq_notice.h). */
static void
db_on_notice(void *arg, const PGresult *res)
{
	struct db *db = arg;

	pq_notice_keep_goodbye(res, db->goodbye, sizeof(db->goodbye));
}

/* Drops a connection that broke: the start of an outage, logged once. */
static void
db_lost(struct db *db, const char *how, const char *msg)
{
	if (db->goodbye[0] != '\0')
		msg = db->goodbye;
	db_outage_lost(&db->outage, how, msg, NULL);
	db_close(db);
}

void
db_close(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
}

/* Prepares every statement. Returns LI_OK or LI_ERROR (logged). */
static int
db_prepare_all(struct db *db)
{
	for (int i = 0; i < DB_STMT_COUNT; i++) {
		PGresult *res = PQprepare(db->conn, statements[i].name,
		    statements[i].sql, statements[i].nparams, NULL);
		int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

		if (!ok)
			log_error("cannot prepare %s: %s", statements[i].name,
			    PQresultErrorMessage(res));
		PQclear(res);
		if (!ok)
			return LI_ERROR;
	}
	return LI_OK;
}

/*
 * Notices a connection the server has already closed while it sat idle
 * (pg_terminate_backend, a restart), so that a purchase is never sent down a
 * dead connection, where it could not be told whether it ran.
 *
 * The server says FATAL before it hangs up, but libpq files an error that
 * arrives while idle as a mere notice and keeps the status OK until it reads
 * the end of the stream, which may not have arrived yet. So the rule is
 * simpler and stricter: the pool never LISTENs, so on an idle connection the
 * server has nothing to say but goodbye. Anything readable there ends the
 * connection; the rare harmless message (a parameter change) costs only a
 * reconnect.
 */
static void
db_check_idle(struct db *db)
{
	struct pollfd pfd;

	if (db->conn == NULL)
		return;
	pfd.fd = PQsocket(db->conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (pfd.fd < 0 || PQstatus(db->conn) != CONNECTION_OK) {
		db_lost(db, "while idle", PQerrorMessage(db->conn));
	} else if (poll(&pfd, 1, 0) != 0) {
		/* Read and parse the server's message: its FATAL reaches
		 * db_on_notice(), for the line db_lost() writes. */
		(void)PQconsumeInput(db->conn);
		(void)PQisBusy(db->conn);
		db_lost(db, "while idle, closed by the server",
		    PQerrorMessage(db->conn));
	}
}

int
db_ready(struct db *db)
{
	/* Later keywords win: the caller's conninfo overrides our defaults. */
	static const char *const keys[] = {
		"application_name", "connect_timeout", "dbname", NULL
	};
	const char *values[] = { db->application_name, "3", db->conninfo, NULL };

	db_check_idle(db);
	if (db->conn != NULL)
		return LI_OK;
	if (!db_outage_may_try(&db->outage))
		return LI_AGAIN;

	db->conn = PQconnectdbParams(keys, values, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		db_outage_failed(&db->outage, "connect",
		    db->conn ? PQerrorMessage(db->conn) : "out of memory");
		goto fail;
	}
	db->goodbye[0] = '\0';
	(void)PQsetNoticeReceiver(db->conn, db_on_notice, db);
	if (db_apply_timeouts(db) != LI_OK || db_prepare_all(db) != LI_OK) {
		db_outage_failed(&db->outage, "prepare", "see the line before");
		goto fail;
	}
	if (db_outage_end(&db->outage, NULL) && db->metrics != NULL)
		metrics_add(&db->metrics->db_reconnects, 1);
	return LI_OK;
fail:
	db_close(db);
	return LI_AGAIN;
}

PGresult *
db_exec(struct db *db, enum db_stmt stmt, const char *const *params, int retry)
{
	PGresult *res;
	char how[64];
	int read_only_retry = 1;

	for (;;) {
		if (db_ready(db) != LI_OK)
			return NULL;
		res = PQexecPrepared(db->conn, statements[stmt].name,
		    statements[stmt].nparams, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			return res;
		if (PQstatus(db->conn) == CONNECTION_OK && db_read_only(res) &&
		    read_only_retry) {
			/* Even a purchase: the server refused it unwritten. */
			read_only_retry = 0;
			snprintf(how, sizeof(how), "during %s, the server is "
			    "read-only", statements[stmt].name);
			db_lost(db, how, PQresultErrorMessage(res));
			PQclear(res);
			continue;     /* db_lost() allows the attempt at once */
		}
		if (PQstatus(db->conn) == CONNECTION_OK) {
			/* A statement error, rolled back; the connection is
			 * fine. A timeout is the load, not a bug: a warning. */
			if (db_given_up(res))
				log_warn("%s given up (lock_timeout %d ms, "
				    "statement_timeout %d ms): %s",
				    statements[stmt].name, db->lock_timeout_ms,
				    db->statement_timeout_ms,
				    PQresultErrorMessage(res));
			else
				log_error("%s failed: %s", statements[stmt].name,
				    res ? PQresultErrorMessage(res) :
				    PQerrorMessage(db->conn));
			PQclear(res);
			return NULL;
		}
		PQclear(res);
		snprintf(how, sizeof(how), "during %s", statements[stmt].name);
		db_lost(db, how, PQerrorMessage(db->conn));
		if (!retry)
			return NULL;
		retry = 0;
	}
}
