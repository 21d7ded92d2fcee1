/*
 * monotonic.h — the one clock for timeouts, deadlines and durations: it
 * never jumps with the wall clock, and every process of a machine shares it.
 */
#ifndef LI_MONOTONIC_H
#define LI_MONOTONIC_H

long long monotonic_ns(void);
long long monotonic_ms(void);

#endif
