/*
 * option.h — reading command-line values, shared by both programs.
 */
#ifndef LI_OPTION_H
#define LI_OPTION_H

/* Parses a whole decimal number from min to max; returns -1 when s is not
 * one (so min must be 0 or more). */
long option_number(const char *s, long min, long max);

#endif
