/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: watches the backend nodes libxl writes below this domain,
 * starts one worker per guest, tells it what to serve, and writes the
 * backend states libxl waits for (2 once served, 6 once torn down).
 */
#ifndef XVB_BACKEND_SUPERVISOR_H
#define XVB_BACKEND_SUPERVISOR_H

#include "lib/log.h"

/* Runs until SIGTERM/SIGINT. Returns an exit code. */
int xb_supervisor_run(enum log_level level);

#endif
