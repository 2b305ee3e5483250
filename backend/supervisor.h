/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: watches the backend nodes libxl writes below this domain,
 * starts one worker per guest, tells it what to serve, and writes the
 * backend states libxl waits for (2 once served, 6 once torn down).
 */
#ifndef XVB_BACKEND_SUPERVISOR_H
#define XVB_BACKEND_SUPERVISOR_H

#include "lib/log.h"

#define XB_CONFIG_PATH "/etc/xen/xvbd.conf"
/* Where the supervisor keeps its lock (one supervisor per backend domain). */
#define XB_RUN_DIR "/run/xvbd"
#define XB_LOCK_NAME "supervisor.lock"

/*
 * Runs until SIGTERM/SIGINT, with NIC settings from @config (NULL: the
 * default path; a missing file is fine) and its lock in @run_dir (NULL:
 * XB_RUN_DIR). Returns 0, or a sysexits(3) code after logging why.
 */
int xb_supervisor_run(const char *config, const char *run_dir,
		      enum log_level level);

#endif
