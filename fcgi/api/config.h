/*
 * config.h — the pool's configuration, read once at start-up from the
 * command line and the environment, then passed (never global).
 */
#ifndef LI_API_CONFIG_H
#define LI_API_CONFIG_H

#include <stddef.h>

#include "common/socket_access.h"
#include "strategy.h"

#define API_ADMIN_TOKEN_MAX 1024

/*
 * How long one database call may wait for a lock, and run in all, before the
 * server gives it up and the request is a 503. Both well below nginx's
 * fastcgi_read_timeout (30 s in nginx/lastitem.conf.in), so a worker answers
 * a client that is still there, and is free again, instead of waiting on a
 * row lock that someone holds for as long as they like.
 */
#define API_LOCK_TIMEOUT_MS_DEF       2000
#define API_STATEMENT_TIMEOUT_MS_DEF  10000
#define API_TIMEOUT_MS_MAX            600000

/* How often the expiry process runs lastitem.expire_holds(): a hold ends
 * within this much (plus one call) of its expires_at. */
#define API_EXPIRE_INTERVAL_MS_DEF    200
#define API_BUYER_HEADER_MAX          64

struct api_config {
	int workers;                   /* --workers */
	int threads;                   /* --threads: request threads per worker */
	const char *listen;            /* --listen: unix path or host:port */
	const char *metrics_listen;    /* --metrics-listen, or NULL: none */
	struct socket_access socket_access; /* --socket-group */
	const char *events;            /* --events: the event daemon, or NULL */
	int backlog;                   /* --backlog */
	enum strategy default_strategy;/* --strategy */
	int allow_unsafe;              /* --allow-unsafe */
	const char *conninfo;          /* --db, DATABASE_URL, or "" for PG* */
	int drain_seconds;             /* --drain-timeout */
	int lock_timeout_ms;           /* --lock-timeout */
	int statement_timeout_ms;      /* --statement-timeout */
	int expire_interval_ms;        /* --expire-interval; 0: none */
	const char *buyer_header;      /* --buyer-header, or NULL: the body's */
	char buyer_param[API_BUYER_HEADER_MAX + 6]; /* its FastCGI name */
	char admin_token[API_ADMIN_TOKEN_MAX + 1]; /* "" when reset is open */
	size_t admin_token_len;
};

/*
 * Fills cfg from argv and the environment. Returns LI_OK; LI_DECLINED when
 * --help or --version was answered; LI_ERROR with a sentence in err.
 */
int api_config_parse(struct api_config *cfg, int argc, char **argv,
    char *err, size_t errlen);

/*
 * Request threads per worker: how many requests one worker holds at once.
 * They share its one connection (batch.c), so they cost no database
 * connections; they let a stampede's buyers wait inside the pool, where the
 * batched strategy can decide them together.
 */
#define API_THREADS_DEF 64
#define API_THREADS_MAX 1024

/* The default worker count: DB-bound work wants a few per core. */
int api_config_default_workers(void);

#endif
