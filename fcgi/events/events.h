/*
 * events.h — lastitem-events, the Server-Sent Events daemon: what its parts
 * share.
 *
 *   main.c     options, set-up, the epoll loop, signals, the timer
 *   listen.c   the LISTEN connection: non-blocking libpq in the loop
 *   changes.c  notifications and snapshot rows into the item state, as events
 *   stream.c   turning committed changes into numbered SSE frames, sent
 *              once per flush tick
 *   client.c   the clients: requests, streams, buffers, drops
 *
 * One process, one thread, one epoll loop, and no handler ever blocks:
 * every socket is non-blocking, libpq included.
 */
#ifndef LI_EVENTS_H
#define LI_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include <libpq-fe.h>

#include "item_state.h"
#include "common/db_outage.h"
#include "common/monotonic.h"
#include "common/socket_access.h"
#include "ring.h"

struct events_config {
	const char *listen;          /* --listen: unix path or host:port */
	struct socket_access socket_access; /* --socket-group */
	const char *conninfo;        /* --db, DATABASE_URL, or "" for PG* */
	int heartbeat_seconds;       /* --heartbeat */
	size_t max_buffer;           /* --max-buffer: unsent bytes per client */
	int max_clients;             /* --max-clients */
	size_t ring_size;            /* --ring: events kept for Last-Event-ID */
	int request_seconds;         /* --request-timeout: to send a request */
	int connect_timeout_seconds; /* --connect-timeout: per socket of an
	                                attempt, unless the conninfo says */
	int flush_ms;                /* --flush: ticks leave at most this
	                                often; the longest an event waits */
	int fanout_share;            /* --fanout-share: percent of the time
	                                the fan-out may take in a rush */
};

/* What an epoll event points at: the first member of each watched thing. */
enum watch_kind {
	WATCH_LISTENER,
	WATCH_SIGNAL,
	WATCH_TIMER,
	WATCH_DB,
	WATCH_CLIENT
};

struct watch {
	enum watch_kind kind;
};

enum client_state {
	CLIENT_READING,      /* waiting for its request */
	CLIENT_STREAMING,    /* subscribed: gets every event */
	CLIENT_CLOSING,      /* one answer to flush, then linger */
	CLIENT_LINGERING,    /* answer sent and half-closed; reading until the
	                        client closes too, or --request-timeout */
	CLIENT_DEAD          /* closed; freed after the current epoll batch */
};

struct client {
	struct watch watch;          /* first: epoll's data.ptr points here */
	int fd;
	enum client_state state;
	char *in;                    /* the request so far (READING only) */
	size_t in_len;
	char *out;                   /* bytes not yet written */
	size_t out_len, out_off, out_cap;
	int want_write;              /* EPOLLOUT is registered */
	size_t grace;                /* bytes of its start (snapshot, or a replay
	                                of at most --max-buffer) or of its last
	                                resync's snapshot not yet sent: allowed
	                                past --max-buffer */
	long long since_ms;          /* when it connected */
	int orders_summary;          /* ?orders=summary: one `orders` frame per
	                                tick instead of every `order` */
	struct client *prev, *next;
};

/* Who a broadcast is for: every stream, or those of one kind of orders. */
enum audience {
	AUDIENCE_ALL,
	AUDIENCE_ORDERS,             /* streams that follow every order */
	AUDIENCE_SUMMARY             /* ?orders=summary */
};

enum pending_kind {
	PENDING_ITEM,                /* superseded by a newer one of its item */
	PENDING_ORDER,               /* summarized for summary streams */
	PENDING_RESET,               /* ends a run of orders */
	PENDING_OTHER                /* anything else: sent as is */
};

/* An event published in the current flush tick, not yet sent (stream.c). */
struct pending {
	uint64_t seq;
	enum pending_kind kind;
	int superseded;              /* a newer item event of the tick has it */
	char item_id[LI_ITEM_ID_MAX + 1];    /* PENDING_ITEM */
	char *frame;                 /* the frame, owned */
	size_t len;
	char *data;                  /* PENDING_ORDER: the order's JSON, owned */
	size_t data_len;
};

enum db_state {
	DB_DOWN,             /* not connected; retry at db_retry_ms */
	DB_CONNECTING,       /* PQconnectPoll in progress */
	DB_LISTENING,        /* LISTEN sent */
	DB_LOADING,          /* the snapshot query sent */
	DB_READY             /* streaming notifications */
};

struct events_metrics {
	unsigned long long clients_accepted;
	unsigned long long clients_dropped;      /* could not keep up */
	unsigned long long clients_refused;      /* past --max-clients */
	unsigned long long bad_requests;
	unsigned long long notifications;        /* received from PostgreSQL */
	unsigned long long notifications_stale;  /* older than the state */
	unsigned long long notifications_bad;    /* unparsable payloads */
	unsigned long long events;               /* published */
	unsigned long long frames_sent;          /* frames queued to clients */
	unsigned long long snapshots;            /* resynchronizations */
	unsigned long long replays_refused;      /* past --max-buffer: snapshot */
	unsigned long long db_reconnects;
	unsigned long long db_timeouts;          /* attempts abandoned */
	unsigned long long ticks;                /* ticks sent */
	unsigned long long ticks_waited;         /* due, nginx behind: waited */
	unsigned long long ticks_held;           /* due, held after a rush */
};

struct events {
	const struct events_config *cfg;
	int epfd;
	struct watch listener_watch, signal_watch, timer_watch, db_watch;
	int listen_fd, signal_fd, timer_fd;

	PGconn *conn;
	enum db_state db_state;
	int db_fd;                   /* the socket registered in epoll, or -1 */
	ino_t db_ino;                /* and its identity: libpq may replace it */
	dev_t db_dev;                /* by another socket under the same number */
	long long db_timeout_ms;     /* for each socket of an attempt */
	long long db_deadline_ms;    /* the current socket's or step's */
	struct db_outage db_outage;  /* backoff, and the outage's log lines */
	char db_goodbye[256];        /* the server's FATAL before it hung up */

	struct item_state items;
	struct ring ring;
	uint64_t seq;                /* the last event number published */
	char run_id[24];             /* this run's prefix of every event id */
	char *snapshot;              /* the snapshot frame, built on demand */
	size_t snapshot_len;
	struct pending *pending;     /* this tick's events, oldest first */
	size_t npending, pending_cap;
	size_t pending_bytes;        /* their frames' bytes */
	long long flush_due_ms;      /* when they must leave (npending > 0) */
	long long last_flush_ms;     /* when the last tick left */
	uint64_t sent_seq;           /* the last number sent or superseded */
	char *batch;                 /* a tick's frames for streams following */
	size_t batch_len, batch_cap; /* every order, built at its flush */
	char *brief;                 /* and for summary streams */
	size_t brief_len, brief_cap;
	long long tick_sent_ms;      /* when the last tick was written */
	size_t tick_events;          /* the events it carried */
	int tick_read;               /* nginx has read it (or the wait ran out) */
	long long hold_until_ms;     /* in a rush, no tick before (stream.c) */
	int tick_waited, tick_held;  /* the pending tick was due and waited for
	                                nginx's read, or for the hold */
	int tick_urgent;             /* the pending tick waits for nothing:
	                                stream_urgent */
	struct client *tick_probe[8];/* streams it was written to, spread over
	                                its writes (stream.c) */
	size_t tick_written;         /* streams it was written to so far */
	size_t tick_stride;          /* a probe every this many of them */

	struct client *clients;      /* every connection */
	struct client *dead;         /* closed in this batch, not yet freed */
	size_t nclients, nstreaming;
	size_t clients_peak;         /* most connections since the last trim */
	long long last_heartbeat_ms;
	struct events_metrics metrics;
	int stopping;
};

/* listen.c */
void events_db_tick(struct events *ev);
void events_db_on_socket(struct events *ev, uint32_t epoll_events);
void events_db_close(struct events *ev);

/* changes.c */
void changes_on_notification(struct events *ev, const char *payload);
/* Reads the snapshot's rows into a fresh item state: LI_OK or LI_ERROR. */
int changes_load_snapshot(struct events *ev, const PGresult *res);

/* stream.c */
void stream_publish(struct events *ev, const char *name, const char *data,
    size_t len);
/* Sends the tick's events, if any: at its end, or before a snapshot. */
void stream_flush(struct events *ev);
/* Milliseconds until stream_pump has something to do; -1: nothing waits. */
int stream_flush_wait_ms(const struct events *ev);
/* Sends the tick when it is due. */
void stream_pump(struct events *ev);
/* The tick pending sells an item out or brings stock back: it leaves at
 * --flush, waiting for neither nginx nor a rush. */
void stream_urgent(struct events *ev);
void stream_snapshot_loaded(struct events *ev);
int stream_send_start(struct events *ev, struct client *c,
    const char *last_event_id);

/* client.c */
void clients_accept(struct events *ev);
void client_on_event(struct events *ev, struct client *c, uint32_t epoll_events);
void clients_broadcast(struct events *ev, enum audience to, const char *frame,
    size_t len, size_t frames);
void clients_tick(struct events *ev);
void clients_close_all(struct events *ev);
void clients_free_dead(struct events *ev);
int client_queue(struct events *ev, struct client *c, const char *data,
    size_t len);
char *events_metrics_text(const struct events *ev, size_t *len);

#endif
