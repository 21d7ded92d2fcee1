/*
 * purchase_outcome.c — the columns of PURCHASE_OUTCOME_LIST (purchase_outcome.h),
 * looked up by outcome or by the database's text.
 */
#include <config.h>

#include <string.h>

#include "purchase_outcome.h"

static const struct {
	const char *sql;
	const char *label;
	enum problem_code problem;
} outcomes[PURCHASE_OUTCOME_COUNT] = {
#define PURCHASE_OUTCOME_ROW(id, sql, label, problem) \
	[PURCHASE_##id] = { sql, label, problem },
	PURCHASE_OUTCOME_LIST(PURCHASE_OUTCOME_ROW)
#undef PURCHASE_OUTCOME_ROW
};

int
purchase_outcome_from_sql(const char *sql)
{
	for (int o = 0; o < PURCHASE_OUTCOME_COUNT; o++)
		if (outcomes[o].sql != NULL && strcmp(outcomes[o].sql, sql) == 0)
			return o;
	return -1;
}

const char *
purchase_outcome_label(enum purchase_outcome o)
{
	return (unsigned)o < PURCHASE_OUTCOME_COUNT ? outcomes[o].label :
	    "unknown";
}

enum problem_code
purchase_outcome_problem(enum purchase_outcome o)
{
	return (unsigned)o < PURCHASE_OUTCOME_COUNT ? outcomes[o].problem :
	    PROBLEM_UNAVAILABLE;
}
