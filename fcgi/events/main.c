/*
 * main.c — lastitem-events: every committed sale and reset, streamed
 * to every open page as Server-Sent Events.
 *
 * Why a daemon of its own: an SSE connection lives for hours; in the FastCGI
 * pool it would pin a worker for as long. Here one process holds thousands
 * of them in one epoll loop, beside one PostgreSQL connection that LISTENs.
 * The events come from the database (triggers in sql/triggers.sql), so a
 * purchase made through any worker, any host, or psql reaches every client,
 * in commit order.
 *
 * Signals arrive through a signalfd and time through a timerfd, both in the
 * same loop: no handler runs asynchronously, and nothing is global.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "common/log.h"
#include "common/option.h"
#include "common/socket_access.h"

#define TICK_MS 100

static const char usage[] =
"usage: lastitem-events [options]\n"
"  --listen ADDR           unix socket path or host:port (default 127.0.0.1:9001)\n"
"  --socket-group NAME     a unix socket is 0660 and of group NAME (nginx's\n"
"                          workers'); without it 0600, this user's alone\n"
"  --db CONNINFO           libpq connection string or URI (default: DATABASE_URL,\n"
"                          else libpq's PG* variables)\n"
"  --heartbeat SECONDS     a ': ping' comment at least this often (default 15)\n"
"  --max-buffer BYTES      unsent bytes a client may fall behind before it is\n"
"                          dropped (default 262144)\n"
"  --max-clients N         connections beyond this get 503 (default 19000)\n"
"  --ring N                recent events kept for Last-Event-ID (default 4096)\n"
"  --request-timeout S     time a client has to send its request (default 10)\n"
"  --flush MS              events are sent together, in ticks at most this often;\n"
"                          an event waits at most this long (default 50)\n"
"  --fanout-share PCT      the next tick waits until nginx has read the last one,\n"
"                          and after a rush until that took at most PCT % of the\n"
"                          time since it left (default 20; 100: only for the\n"
"                          read; 0: no waiting at all)\n"
"  --connect-timeout S     time each address has to let the daemon in before the\n"
"                          attempt is abandoned and retried (default 5; the\n"
"                          conninfo's connect_timeout wins when it has one)\n"
"  --help, --version\n";

/* Returns LI_OK, LI_DECLINED (help or version given) or LI_ERROR. */
static int
parse_options(struct events_config *cfg, int argc, char **argv)
{
	static const struct option options[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "db", required_argument, NULL, 'd' },
		{ "heartbeat", required_argument, NULL, 'b' },
		{ "max-buffer", required_argument, NULL, 'm' },
		{ "max-clients", required_argument, NULL, 'c' },
		{ "ring", required_argument, NULL, 'r' },
		{ "request-timeout", required_argument, NULL, 't' },
		{ "connect-timeout", required_argument, NULL, 'T' },
		{ "flush", required_argument, NULL, 'F' },
		{ "fanout-share", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *env = getenv("DATABASE_URL");
	char err[128];
	long n;
	int c;

	cfg->listen = "127.0.0.1:9001";
	cfg->conninfo = env != NULL ? env : "";
	cfg->heartbeat_seconds = 15;
	cfg->max_buffer = 262144;
	cfg->max_clients = 19000;
	cfg->ring_size = 4096;
	cfg->request_seconds = 10;
	cfg->connect_timeout_seconds = 5;
	cfg->flush_ms = 50;
	cfg->fanout_share = 20;
	while ((c = getopt_long(argc, argv, "l:d:h", options, NULL)) != -1) {
		n = 0;
		switch (c) {
		case 'l': cfg->listen = optarg; continue;
		case 'd': cfg->conninfo = optarg; continue;
		case 'g':
			if (socket_access_set_group(&cfg->socket_access, optarg,
			    err, sizeof(err)) != LI_OK) {
				fprintf(stderr, "lastitem-events: %s\n", err);
				return LI_ERROR;
			}
			continue;
		case 'h': fputs(usage, stdout); return LI_DECLINED;
		case 'V': puts("lastitem-events " PACKAGE_VERSION); return LI_DECLINED;
		case 'b': n = cfg->heartbeat_seconds = (int)option_number(optarg, 1, 3600); break;
		case 'm': n = option_number(optarg, 1024, 1L << 30); cfg->max_buffer = (size_t)n; break;
		case 'c': n = cfg->max_clients = (int)option_number(optarg, 1, 1000000); break;
		case 'r': n = option_number(optarg, 1, 1000000); cfg->ring_size = (size_t)n; break;
		case 't': n = cfg->request_seconds = (int)option_number(optarg, 1, 3600); break;
		case 'T': n = cfg->connect_timeout_seconds = (int)option_number(optarg, 1, 3600); break;
		case 'F': n = cfg->flush_ms = (int)option_number(optarg, 0, 1000); break;
		case 'S': n = cfg->fanout_share = (int)option_number(optarg, 0, 100); break;
		default: n = -1; break;
		}
		if (n < 0) {
			fprintf(stderr, "lastitem-events: bad value for an option; "
			    "see --help\n");
			return LI_ERROR;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lastitem-events: unexpected argument '%s'\n",
		    argv[optind]);
		return LI_ERROR;
	}
	return LI_OK;
}

/* Opens the listening socket: a unix path (open to this user and
 * --socket-group alone, socket_access.h), or host:port. */
static int
open_listener(const char *addr, const struct socket_access *sa)
{
	const char *colon = strrchr(addr, ':');
	int fd = -1, one = 1;
	mode_t mask;

	if (strchr(addr, '/') != NULL || colon == NULL) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(addr) >= sizeof(sun.sun_path))
			return -1;
		strcpy(sun.sun_path, addr);
		(void)unlink(addr);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
			goto fail;
		mask = socket_access_begin();
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
			(void)umask(mask);
			goto fail;
		}
		if (socket_access_apply(sa, addr, mask) != LI_OK)
			goto fail;
	} else {
		struct addrinfo hints, *ai = NULL;
		char host[256];
		size_t hl = (size_t)(colon - addr);

		if (hl >= sizeof(host))
			return -1;
		memcpy(host, addr, hl);
		host[hl] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE;
		if (getaddrinfo(hl ? host : NULL, colon + 1, &hints, &ai) != 0)
			return -1;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			freeaddrinfo(ai);
			goto fail;
		}
		freeaddrinfo(ai);
	}
	if (listen(fd, 4096) != 0)
		goto fail;
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
watch_fd(struct events *ev, int fd, struct watch *w)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.ptr = w;
	return epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e);
}

/* Each stream costs a descriptor: take every one the hard limit allows. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
setup(struct events *ev, const struct events_config *cfg)
{
	struct itimerspec tick;
	sigset_t signals;

	memset(ev, 0, sizeof(*ev));
	ev->cfg = cfg;
	ev->db_fd = -1;
	db_outage_init(&ev->db_outage, 100, 5000);
	ev->listener_watch.kind = WATCH_LISTENER;
	ev->signal_watch.kind = WATCH_SIGNAL;
	ev->timer_watch.kind = WATCH_TIMER;
	ev->db_watch.kind = WATCH_DB;
	ev->last_heartbeat_ms = monotonic_ms();
	/* Ids of this run differ from every other run's: milliseconds since
	 * the epoch at start, and the pid, in hex. */
	{
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		snprintf(ev->run_id, sizeof(ev->run_id), "%llx%x",
		    (unsigned long long)now.tv_sec * 1000 + (unsigned long long)(now.tv_nsec / 1000000),
		    (unsigned)getpid() & 0xfff);
	}
	item_state_init(&ev->items);
	if (ring_init(&ev->ring, cfg->ring_size) != LI_OK) {
		log_error("out of memory");
		return LI_ERROR;
	}

	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigprocmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&tick, 0, sizeof(tick));
	tick.it_interval.tv_nsec = TICK_MS * 1000000L;
	tick.it_value.tv_nsec = TICK_MS * 1000000L;
	if ((ev->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (ev->signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    (ev->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
	    timerfd_settime(ev->timer_fd, 0, &tick, NULL) != 0) {
		log_error("cannot set up the event loop: %s", strerror(errno));
		return LI_ERROR;
	}
	if ((ev->listen_fd = open_listener(cfg->listen, &cfg->socket_access)) < 0) {
		log_error("cannot listen on %s: %s", cfg->listen, strerror(errno));
		return LI_ERROR;
	}
	if (watch_fd(ev, ev->listen_fd, &ev->listener_watch) != 0 ||
	    watch_fd(ev, ev->signal_fd, &ev->signal_watch) != 0 ||
	    watch_fd(ev, ev->timer_fd, &ev->timer_watch) != 0) {
		log_error("epoll: %s", strerror(errno));
		return LI_ERROR;
	}
	return LI_OK;
}

/*
 * After a crowd leaves, hands the memory its clients held back to the
 * system. glibc keeps what free() returns for reuse, and trims only the
 * top of the heap: thousands of small client structures and buffers freed
 * in any order leave whole pages free inside it, counted in RSS for ever.
 * malloc_trim(0) releases those pages (madvise). It walks the heap, so it
 * runs only when the connections fall below a quarter of their peak since
 * the last trim, and that peak was at least 256: after a burst, not on
 * every close.
 */
static void
memory_give_back(struct events *ev)
{
	if (ev->nclients > ev->clients_peak)
		ev->clients_peak = ev->nclients;
	if (ev->clients_peak < 256 || ev->nclients >= ev->clients_peak / 4)
		return;
#ifdef HAVE_MALLOC_TRIM
	(void)malloc_trim(0);
#endif
	ev->clients_peak = ev->nclients;
}

static void
run(struct events *ev)
{
	struct epoll_event events[256];
	struct signalfd_siginfo si;
	uint64_t ticks;
	int n;

	events_db_tick(ev);
	while (!ev->stopping) {
		/* Wakes for the end of the flush tick when events wait. */
		n = epoll_wait(ev->epfd, events, (int)LI_ARRAY_LEN(events),
		    stream_flush_wait_ms(ev));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n && !ev->stopping; i++) {
			struct watch *w = events[i].data.ptr;
			switch (w->kind) {
			case WATCH_LISTENER:
				clients_accept(ev);
				break;
			case WATCH_SIGNAL:
				if (read(ev->signal_fd, &si, sizeof(si)) == sizeof(si))
					ev->stopping = 1;
				break;
			case WATCH_TIMER:
				if (read(ev->timer_fd, &ticks, sizeof(ticks)) < 0 &&
				    errno != EAGAIN)
					log_warn("timer: %s", strerror(errno));
				events_db_tick(ev);
				clients_tick(ev);
				break;
			case WATCH_DB:
				events_db_on_socket(ev, events[i].events);
				break;
			case WATCH_CLIENT:
				client_on_event(ev, (struct client *)w, events[i].events);
				break;
			}
		}
		stream_pump(ev);
		clients_free_dead(ev);
		memory_give_back(ev);
	}
}

int
main(int argc, char **argv)
{
	struct events_config cfg;
	struct events ev;
	int rc;

	log_set_program("lastitem-events");
	memset(&cfg, 0, sizeof(cfg));
	if ((rc = parse_options(&cfg, argc, argv)) != LI_OK)
		return rc == LI_DECLINED ? EXIT_SUCCESS : 2;
	raise_fd_limit();
	if (setup(&ev, &cfg) != LI_OK)
		return EXIT_FAILURE;
	log_info("listening on %s; heartbeat %d s, max %d clients, %zu events "
	    "kept for resuming", cfg.listen, cfg.heartbeat_seconds,
	    cfg.max_clients, cfg.ring_size);
	run(&ev);
	stream_flush(&ev);
	clients_free_dead(&ev);
	log_info("stopping: closing %zu clients", ev.nclients);
	clients_close_all(&ev);
	events_db_close(&ev);
	close(ev.listen_fd);
	if (strchr(cfg.listen, '/') != NULL)
		(void)unlink(cfg.listen);
	close(ev.timer_fd);
	close(ev.signal_fd);
	close(ev.epfd);
	ring_free(&ev.ring);
	item_state_free(&ev.items);
	free(ev.snapshot);
	free(ev.batch);
	free(ev.brief);
	free(ev.pending);
	log_info("stopped");
	return EXIT_SUCCESS;
}
