/*
 * tap.h — the Test Anything Protocol for C unit tests, in a few macros.
 * Each check prints "ok N - name" or "not ok N - name"; tap_done() prints the
 * plan and returns the exit status.
 */
#ifndef LI_TAP_H
#define LI_TAP_H

#include <stdio.h>
#include <string.h>

/* Counters of the one test program that includes this header. */
static int tap_run, tap_failed;

#define ok(cond, ...) do {                                              \
	int ok_ = (cond) ? 1 : 0;                                       \
	tap_run++;                                                      \
	if (!ok_)                                                       \
		tap_failed++;                                           \
	printf("%sok %d - ", ok_ ? "" : "not ", tap_run);               \
	printf(__VA_ARGS__);                                            \
	printf("\n");                                                   \
	if (!ok_)                                                       \
		printf("#   failed at %s:%d\n", __FILE__, __LINE__);       \
} while (0)

#define is_int(got, want, ...) do {                                     \
	long long g_ = (got), w_ = (want);                              \
	ok(g_ == w_, __VA_ARGS__);                                      \
	if (g_ != w_)                                                   \
		printf("#   got %lld, want %lld\n", g_, w_);            \
} while (0)

#define is_str(got, want, ...) do {                                     \
	const char *g_ = (got), *w_ = (want);                           \
	int same_ = g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0;    \
	ok(same_, __VA_ARGS__);                                         \
	if (!same_)                                                     \
		printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", \
		    w_ ? w_ : "(null)");                                \
} while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_run);
	return tap_failed == 0 ? 0 : 1;
}

#endif
