/*
 * batch.h — a worker's one database connection, shared by its request
 * threads, and the queue in which buyers of the batched strategy wait to be
 * decided together.
 */
#ifndef LI_API_BATCH_H
#define LI_API_BATCH_H

#include <pthread.h>

#include "db.h"
#include "purchase.h"

/* At most this many buyers go into one call of purchase_batched: a bound
 * on the size of one statement and of the time its row lock is held. */
#define BATCH_MAX 256

struct batch_wait;
struct lease_wait;

/*
 * The connection is handed out in the order it was asked for, each waiter
 * woken alone on a condition of its own: under load no request waits longer
 * than those that came after it (the order the listen backlog kept before
 * there were threads), and handing it on wakes one thread, not all.
 */
struct batch_conn {
	pthread_mutex_t mu;
	int busy;                    /* someone holds the connection */
	struct lease_wait *first;    /* who waits for it, in order */
	struct lease_wait *last;
	int combiner_queued;         /* a thread waits for it to decide the queue */
	struct db *db;               /* used only by whoever holds it */
	struct batch_wait *head;     /* batched purchases waiting, in arrival order */
	struct batch_wait *tail;
};

/* Returns LI_OK or LI_ERROR (logged). db is borrowed. */
int batch_conn_init(struct batch_conn *bc, struct db *db);
void batch_conn_destroy(struct batch_conn *bc);

/* The connection, for this thread alone until batch_conn_release(). */
struct db *batch_conn_acquire(struct batch_conn *bc);
void batch_conn_release(struct batch_conn *bc);

/*
 * Decides req with batched strategy s together with whatever other buyers
 * are waiting in this worker: req->result is filled (LI_OK) only after the
 * batch's commit returned, or the call returns LI_ERROR (503).
 */
int batch_purchase(struct batch_conn *bc, enum strategy s,
    struct purchase_request *req);

#endif
