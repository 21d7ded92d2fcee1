/*
 * follow.h — a worker's subscription to the event daemon's stream, which
 * keeps its stock_view (stock_view.h) current.
 */
#ifndef LI_API_FOLLOW_H
#define LI_API_FOLLOW_H

#include "stock_view.h"

/*
 * Follows the stream of the event daemon at addr (a unix socket path, or
 * host:port) into v until stop_fd becomes readable: connects, reads the
 * snapshot and every item event, and on any drop makes v untrusted and
 * connects again (backoff 100 ms doubling to 2 s). Run as a thread of its
 * own; returns when stop_fd is readable.
 */
void follow_run(const char *addr, struct stock_view *v, int stop_fd);

#endif
