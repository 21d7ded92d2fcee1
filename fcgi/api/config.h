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

struct api_config {
	int workers;                   /* --workers */
	const char *listen;            /* --listen: unix path or host:port */
	const char *metrics_listen;    /* --metrics-listen, or NULL: none */
	struct socket_access socket_access; /* --socket-group */
	int backlog;                   /* --backlog */
	enum strategy default_strategy;/* --strategy */
	int allow_unsafe;              /* --allow-unsafe */
	const char *conninfo;          /* --db, DATABASE_URL, or "" for PG* */
	int drain_seconds;             /* --drain-timeout */
	char admin_token[API_ADMIN_TOKEN_MAX + 1]; /* "" when reset is open */
	size_t admin_token_len;
};

/*
 * Fills cfg from argv and the environment. Returns LI_OK; LI_DECLINED when
 * --help or --version was answered; LI_ERROR with a sentence in err.
 */
int api_config_parse(struct api_config *cfg, int argc, char **argv,
    char *err, size_t errlen);

/* The default worker count: DB-bound work wants a few per core. */
int api_config_default_workers(void);

#endif
