/*
 * log.h — one line per notable event, to stderr, with a timestamp and a
 * level: "2026-11-22T12:00:00.123Z lastitem-api[123] info: worker 124 started".
 * Request logs are nginx's access log; these are the process's own story.
 */
#ifndef LI_LOG_H
#define LI_LOG_H

/* The name printed in every line; set once at start-up by main(). */
void log_set_program(const char *name);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
