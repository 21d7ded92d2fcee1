/*
 * expiry.h — the pool's expiry process: ends holds past their time.
 */
#ifndef LI_EXPIRY_H
#define LI_EXPIRY_H

#include "config.h"
#include "metrics.h"

/* Runs until SIGTERM or SIGINT; returns the exit status. */
int api_expiry_run(const struct api_config *cfg, struct api_metrics *metrics);

#endif
