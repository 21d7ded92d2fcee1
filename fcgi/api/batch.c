/*
 * batch.c — the request threads of a worker share its one connection, and
 * the buyers of the batched strategy who wait for it are decided together.
 *
 * Why: a hot item sells at most one transaction per WAL flush. Every other
 * strategy puts one buyer in a transaction; batched puts every buyer of the
 * item who is waiting in this worker into one (sql/batched.sql). The batch
 * forms by itself, with no timer: while the connection is busy with one
 * batch (mostly waiting for its commit to reach disk), the buyers who arrive
 * queue here, and the thread that finds the connection free next takes the
 * whole queue with it (flat combining). An idle worker decides a lone buyer
 * at once; a stampede fills each batch with everyone who came during the
 * previous commit. No extra thread, no added latency.
 *
 * The connection is a lease, handed out first come, first served, each
 * waiter on a condition of its own, so that passing it on wakes exactly the
 * next one: a thread running any other statement (batch_conn_acquire)
 * queues for it, and so does the one thread that will decide the batched
 * queue,
 * so the other strategies and endpoints work as they did, one call at a
 * time per worker, in arrival order. At most one combiner waits for the
 * lease at a time; buyers who come meanwhile join the queue it will take.
 *
 * A waiter's record lives on its own stack: the combiner reads everything
 * it needs from it before it marks it done and signals it, under the
 * mutex, and never touches it after. (A condition broadcast to every
 * thread of the worker at each hand-over cost about a millisecond of CPU
 * per purchase under make bench: every waiter woke to find it was not its
 * turn.)
 */
#include <config.h>

#include <string.h>

#include "batch.h"
#include "common/li.h"
#include "common/log.h"

struct batch_wait {
	struct purchase_request *req;
	enum strategy strategy;
	pthread_cond_t cv;         /* signalled once, when done */
	int done;                  /* set, under mu, when rc is final */
	int rc;                    /* LI_OK: req->result is the answer */
	struct batch_wait *next;
};

/* A thread waiting for the connection. */
struct lease_wait {
	pthread_cond_t cv;
	int granted;
	struct lease_wait *next;
};

int
batch_conn_init(struct batch_conn *bc, struct db *db)
{
	memset(bc, 0, sizeof(*bc));
	bc->db = db;
	if (pthread_mutex_init(&bc->mu, NULL) != 0) {
		log_error("cannot create the connection's mutex");
		return LI_ERROR;
	}
	return LI_OK;
}

void
batch_conn_destroy(struct batch_conn *bc)
{
	pthread_mutex_destroy(&bc->mu);
}

/* Waits for the lease, behind everyone who asked before; the caller holds
 * mu (released while waiting). */
static void
wait_turn(struct batch_conn *bc)
{
	struct lease_wait me = { .granted = 0, .next = NULL };

	if (!bc->busy) {
		bc->busy = 1;
		return;
	}
	pthread_cond_init(&me.cv, NULL);
	if (bc->last != NULL)
		bc->last->next = &me;
	else
		bc->first = &me;
	bc->last = &me;
	while (!me.granted)
		pthread_cond_wait(&me.cv, &bc->mu);
	pthread_cond_destroy(&me.cv);
}

/* Hands the lease to the next waiter, or frees it; the caller holds mu. */
static void
pass_turn(struct batch_conn *bc)
{
	struct lease_wait *next = bc->first;

	if (next == NULL) {
		bc->busy = 0;
		return;
	}
	bc->first = next->next;
	if (bc->first == NULL)
		bc->last = NULL;
	next->granted = 1;           /* busy stays set: it is next's now */
	pthread_cond_signal(&next->cv);
}

struct db *
batch_conn_acquire(struct batch_conn *bc)
{
	pthread_mutex_lock(&bc->mu);
	wait_turn(bc);
	pthread_mutex_unlock(&bc->mu);
	return bc->db;
}

void
batch_conn_release(struct batch_conn *bc)
{
	pthread_mutex_lock(&bc->mu);
	pass_turn(bc);
	pthread_mutex_unlock(&bc->mu);
}

/*
 * Moves from *list into group the first waiter and every later one for the
 * same strategy and item, up to BATCH_MAX, keeping arrival order in both.
 */
static int
take_group(struct batch_wait **list, struct batch_wait **group)
{
	struct batch_wait *first = *list, **pp;
	int n = 0;

	group[n++] = first;
	*list = first->next;
	pp = list;
	while (*pp != NULL && n < BATCH_MAX) {
		struct batch_wait *w = *pp;

		if (w->strategy == first->strategy &&
		    strcmp(w->req->item_id, first->req->item_id) == 0) {
			group[n++] = w;
			*pp = w->next;
		} else {
			pp = &w->next;
		}
	}
	return n;
}

/* Decides every waiter of list, one call per item; the caller holds the
 * lease, not the mutex. */
static void
run_batches(struct batch_conn *bc, struct batch_wait *list)
{
	struct batch_wait *group[BATCH_MAX];
	struct purchase_request *reqs[BATCH_MAX];
	int n, rc;

	while (list != NULL) {
		n = take_group(&list, group);
		for (int i = 0; i < n; i++)
			reqs[i] = group[i]->req;
		rc = purchase_execute_batch(bc->db, group[0]->strategy, reqs, n);
		pthread_mutex_lock(&bc->mu);
		for (int i = 0; i < n; i++) {
			group[i]->rc = rc;
			group[i]->done = 1;
			/* Its owner may return once the mutex is free. */
			pthread_cond_signal(&group[i]->cv);
		}
		pthread_mutex_unlock(&bc->mu);
	}
}

int
batch_purchase(struct batch_conn *bc, enum strategy s,
    struct purchase_request *req)
{
	struct batch_wait w = { .req = req, .strategy = s, .rc = LI_ERROR };
	struct batch_wait *list;
	int rc;

	pthread_cond_init(&w.cv, NULL);
	pthread_mutex_lock(&bc->mu);
	if (bc->tail != NULL)
		bc->tail->next = &w;
	else
		bc->head = &w;
	bc->tail = &w;
	/* A combiner queued for the connection has not yet taken the queue,
	 * so it will take us along; otherwise we are the next combiner. */
	if (!bc->combiner_queued) {
		bc->combiner_queued = 1;
		wait_turn(bc);
		bc->combiner_queued = 0;
		list = bc->head;
		bc->head = bc->tail = NULL;
		pthread_mutex_unlock(&bc->mu);
		run_batches(bc, list);     /* we are in it: w.done is set */
		pthread_mutex_lock(&bc->mu);
		pass_turn(bc);
	}
	while (!w.done)
		pthread_cond_wait(&w.cv, &bc->mu);
	rc = w.rc;
	pthread_mutex_unlock(&bc->mu);
	pthread_cond_destroy(&w.cv);
	return rc;
}
