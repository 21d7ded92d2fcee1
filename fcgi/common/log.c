/*
 * log.c — timestamped, levelled lines on stderr.
 *
 * Each line is formatted into one buffer and written with a single write(2),
 * so lines from the master and its workers, which share stderr, never
 * interleave mid-line.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Set once in main() before any fork; read-only afterwards. */
static const char *program = "lastitem";

void
log_set_program(const char *name)
{
	program = name;
}

/* The attribute lets the compiler check fmt at our callers instead of
 * calling it a non-literal here (clang's -Wformat-nonliteral). */
static void log_line(const char *level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
log_line(const char *level, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec now;
	struct tm tm;
	size_t len;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + len, sizeof(line) - len, ".%03ldZ %s[%ld] %s: ",
	    now.tv_nsec / 1000000, program, (long)getpid(), level);
	if (n < 0)
		return;
	len += (size_t)n < sizeof(line) - len ? (size_t)n : sizeof(line) - len - 1;
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n < 0)
		return;
	len += (size_t)n < sizeof(line) - len ? (size_t)n : sizeof(line) - len - 1;
	/* Keep one event on one line, even when a message (libpq's) ends in \n. */
	while (len > 0 && line[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0) {
		/* Nowhere left to report that stderr is gone. */
	}
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("info", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("warn", fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("error", fmt, ap);
	va_end(ap);
}
