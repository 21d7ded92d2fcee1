/*
 * config.c — command line and environment of lastitem-api.
 *
 * The admin token is read from a file (--admin-token-file) or from
 * LASTITEM_ADMIN_TOKEN, never from the command line, where ps would show it
 * to every user of the machine. There is no option that takes the token
 * itself, and the variable is wiped once read (scrub_env_token).
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "common/li.h"
#include "common/option.h"

static const char usage[] =
"usage: lastitem-api [options]\n"
"  --listen ADDR            unix socket path or host:port (default 127.0.0.1:9000)\n"
"  --metrics-listen ADDR    a second socket, served by a worker of its own,\n"
"                           for GET /api/metrics and /api/health only, so a\n"
"                           scrape never queues behind purchases (default:\n"
"                           none; both are answered on --listen as well)\n"
"  --socket-group NAME      a unix socket is 0660 and of group NAME (nginx's\n"
"                           workers'); without it 0600, this user's alone\n"
"  --workers N              worker processes, each with one database connection\n"
"                           (default: 2 per core, at least 2, at most 16)\n"
"  --threads N              request threads per worker, sharing its one\n"
"                           connection; batched buyers wait there to be\n"
"                           decided together (default 64, at most 1024)\n"
"  --events ADDR            the event daemon (unix socket path or host:port):\n"
"                           each worker follows its stream and answers a\n"
"                           purchase it knows cannot fit 409 sold_out without\n"
"                           the database (default: none, always ask)\n"
"  --strategy NAME          default strategy: pessimistic (default), atomic,\n"
"                           optimistic, batched, or naive (needs\n"
"                           --allow-unsafe)\n"
"  --allow-unsafe           accept the naive strategy, which oversells\n"
"  --admin-token-file FILE  POST /api/reset needs this bearer token\n"
"                           (or set LASTITEM_ADMIN_TOKEN)\n"
"  --db CONNINFO            libpq connection string or URI (default:\n"
"                           DATABASE_URL, else libpq's PG* variables)\n"
"  --backlog N              listen backlog (default 4096)\n"
"  --drain-timeout SECONDS  on SIGTERM, how long in-flight requests may\n"
"                           take before workers are killed (default 10)\n"
"  --lock-timeout MS        a database call that waits this long for a lock\n"
"                           is given up: 503 (default 2000)\n"
"  --statement-timeout MS   a database call that runs this long is given up:\n"
"                           503 (default 10000); keep both below nginx's\n"
"                           fastcgi_read_timeout (30 s)\n"
"  --buyer-header NAME      take the buyer from this request header, set by\n"
"                           the authenticating proxy in front (a body naming\n"
"                           another buyer is 403); default: the body's buyer\n"
"  --expire-interval MS     how often the expiry process ends holds past their\n"
"                           time (default 200; 0: no expiry process here)\n"
"  --help, --version\n";

/*
 * Sets the FastCGI parameter nginx passes header name in: HTTP_, then the
 * name in upper case with '-' as '_'. Letters, digits and '-' only: nginx
 * drops headers with '_' in their names (underscores_in_headers off), so
 * X_User could never arrive, and X-User and X_User must not both map here.
 */
static int
buyer_param(struct api_config *cfg, const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > API_BUYER_HEADER_MAX)
		return LI_ERROR;
	memcpy(cfg->buyer_param, "HTTP_", 5);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (c == '-')
			c = '_';
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return LI_ERROR;
		cfg->buyer_param[5 + i] = c;
	}
	cfg->buyer_param[5 + len] = '\0';
	cfg->buyer_header = name;
	return LI_OK;
}

int
api_config_default_workers(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	long n = cores > 0 ? cores * 2 : 4;

	return (int)(n < 2 ? 2 : n > 16 ? 16 : n);
}

/* Stores token (len bytes) without surrounding white space. */
static int
set_token(struct api_config *cfg, const char *token, size_t len,
    const char *from, char *err, size_t errlen)
{
	while (len > 0 && strchr(" \t\r\n", token[len - 1]))
		len--;
	while (len > 0 && strchr(" \t\r\n", token[0])) {
		token++;
		len--;
	}
	if (len == 0 || len > API_ADMIN_TOKEN_MAX || memchr(token, '\n', len)) {
		snprintf(err, errlen, "the admin token in %s must be one line of "
		    "1 to %d characters", from, API_ADMIN_TOKEN_MAX);
		return LI_ERROR;
	}
	memcpy(cfg->admin_token, token, len);
	cfg->admin_token[len] = '\0';
	cfg->admin_token_len = len;
	return LI_OK;
}

static int
read_token_file(struct api_config *cfg, const char *path, char *err,
    size_t errlen)
{
	char buf[API_ADMIN_TOKEN_MAX + 4];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return LI_ERROR;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return set_token(cfg, buf, n, path, err, errlen);
}

/*
 * Wipes the token from the environment once it is copied. unsetenv() alone
 * only drops the pointer: the bytes stay in the block the kernel shows as
 * /proc/PID/environ (to our user and root), in the master and in every
 * worker forked from it. Overwriting them in place hides the value there
 * too; the variable is then removed so no child we might exec inherits it.
 */
static void
scrub_env_token(char *value, size_t len)
{
	volatile char *p = value;

	for (size_t i = 0; i < len; i++)
		p[i] = 'x';
	(void)unsetenv("LASTITEM_ADMIN_TOKEN");
}

int
api_config_parse(struct api_config *cfg, int argc, char **argv, char *err,
    size_t errlen)
{
	enum { OPT_ALLOW_UNSAFE = 256, OPT_TOKEN_FILE, OPT_BACKLOG, OPT_DRAIN,
	    OPT_VERSION, OPT_METRICS_LISTEN, OPT_LOCK_TIMEOUT,
	    OPT_STATEMENT_TIMEOUT, OPT_SOCKET_GROUP, OPT_BUYER_HEADER,
	    OPT_EXPIRE_INTERVAL, OPT_THREADS, OPT_EVENTS };
	static const struct option options[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
		{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
		{ "workers", required_argument, NULL, 'w' },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "events", required_argument, NULL, OPT_EVENTS },
		{ "strategy", required_argument, NULL, 's' },
		{ "allow-unsafe", no_argument, NULL, OPT_ALLOW_UNSAFE },
		{ "admin-token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "db", required_argument, NULL, 'd' },
		{ "backlog", required_argument, NULL, OPT_BACKLOG },
		{ "drain-timeout", required_argument, NULL, OPT_DRAIN },
		{ "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
		{ "statement-timeout", required_argument, NULL,
		    OPT_STATEMENT_TIMEOUT },
		{ "buyer-header", required_argument, NULL, OPT_BUYER_HEADER },
		{ "expire-interval", required_argument, NULL,
		    OPT_EXPIRE_INTERVAL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	const char *token_file = NULL, *env;
	int c, s, rc;
	long n;

	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = "127.0.0.1:9000";
	cfg->workers = api_config_default_workers();
	cfg->threads = API_THREADS_DEF;
	cfg->backlog = 4096;
	cfg->default_strategy = STRATEGY_PESSIMISTIC;
	cfg->drain_seconds = 10;
	cfg->lock_timeout_ms = API_LOCK_TIMEOUT_MS_DEF;
	cfg->statement_timeout_ms = API_STATEMENT_TIMEOUT_MS_DEF;
	cfg->expire_interval_ms = API_EXPIRE_INTERVAL_MS_DEF;
	cfg->conninfo = (env = getenv("DATABASE_URL")) != NULL ? env : "";

	optind = 1;
	while ((c = getopt_long(argc, argv, "l:w:s:d:h", options, NULL)) != -1) {
		switch (c) {
		case 'l':
			cfg->listen = optarg;
			break;
		case OPT_METRICS_LISTEN:
			cfg->metrics_listen = optarg;
			break;
		case OPT_SOCKET_GROUP:
			if (socket_access_set_group(&cfg->socket_access, optarg,
			    err, errlen) != LI_OK)
				return LI_ERROR;
			break;
		case 'w':
			if ((n = option_number(optarg, 1, 256)) < 0) {
				snprintf(err, errlen, "--workers takes 1 to 256");
				return LI_ERROR;
			}
			cfg->workers = (int)n;
			break;
		case OPT_EVENTS:
			cfg->events = optarg;
			break;
		case OPT_THREADS:
			if ((n = option_number(optarg, 1, API_THREADS_MAX)) < 0) {
				snprintf(err, errlen, "--threads takes 1 to %d",
				    API_THREADS_MAX);
				return LI_ERROR;
			}
			cfg->threads = (int)n;
			break;
		case 's':
			if ((s = strategy_from_name(optarg, strlen(optarg))) < 0) {
				snprintf(err, errlen, "unknown strategy '%s'", optarg);
				return LI_ERROR;
			}
			cfg->default_strategy = (enum strategy)s;
			break;
		case OPT_ALLOW_UNSAFE:
			cfg->allow_unsafe = 1;
			break;
		case OPT_TOKEN_FILE:
			token_file = optarg;
			break;
		case 'd':
			cfg->conninfo = optarg;
			break;
		case OPT_BACKLOG:
			if ((n = option_number(optarg, 1, 65535)) < 0) {
				snprintf(err, errlen, "--backlog takes 1 to 65535");
				return LI_ERROR;
			}
			cfg->backlog = (int)n;
			break;
		case OPT_DRAIN:
			if ((n = option_number(optarg, 0, 3600)) < 0) {
				snprintf(err, errlen, "--drain-timeout takes 0 to 3600");
				return LI_ERROR;
			}
			cfg->drain_seconds = (int)n;
			break;
		case OPT_LOCK_TIMEOUT:
		case OPT_STATEMENT_TIMEOUT:
			/* 0 would mean "wait for ever" to PostgreSQL. */
			if ((n = option_number(optarg, 1, API_TIMEOUT_MS_MAX)) < 0) {
				snprintf(err, errlen, "--%s takes 1 to %d (ms)",
				    c == OPT_LOCK_TIMEOUT ? "lock-timeout" :
				    "statement-timeout", API_TIMEOUT_MS_MAX);
				return LI_ERROR;
			}
			if (c == OPT_LOCK_TIMEOUT)
				cfg->lock_timeout_ms = (int)n;
			else
				cfg->statement_timeout_ms = (int)n;
			break;
		case OPT_BUYER_HEADER:
			if (buyer_param(cfg, optarg) != LI_OK) {
				snprintf(err, errlen, "--buyer-header takes a header "
				    "name of letters, digits and '-', at most %d",
				    API_BUYER_HEADER_MAX);
				return LI_ERROR;
			}
			break;
		case OPT_EXPIRE_INTERVAL:
			if ((n = option_number(optarg, 0, 60000)) < 0) {
				snprintf(err, errlen, "--expire-interval takes 0 to "
				    "60000 (ms)");
				return LI_ERROR;
			}
			cfg->expire_interval_ms = (int)n;
			break;
		case 'h':
			fputs(usage, stdout);
			return LI_DECLINED;
		case OPT_VERSION:
			puts("lastitem-api " PACKAGE_VERSION);
			return LI_DECLINED;
		default:
			snprintf(err, errlen, "see lastitem-api --help");
			return LI_ERROR;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return LI_ERROR;
	}
	if (cfg->metrics_listen != NULL &&
	    strcmp(cfg->metrics_listen, cfg->listen) == 0) {
		snprintf(err, errlen, "--metrics-listen must differ from --listen");
		return LI_ERROR;
	}
	if (strategy_is_unsafe(cfg->default_strategy) && !cfg->allow_unsafe) {
		snprintf(err, errlen, "--strategy %s needs --allow-unsafe",
		    strategy_name(cfg->default_strategy));
		return LI_ERROR;
	}
	/* The file wins; the variable is wiped whichever is used. */
	rc = LI_OK;
	if ((env = getenv("LASTITEM_ADMIN_TOKEN")) != NULL) {
		size_t len = strlen(env);

		if (token_file == NULL && len > 0)
			rc = set_token(cfg, env, len, "LASTITEM_ADMIN_TOKEN",
			    err, errlen);
		scrub_env_token((char *)env, len);
	}
	if (rc == LI_OK && token_file != NULL)
		rc = read_token_file(cfg, token_file, err, errlen);
	return rc;
}
