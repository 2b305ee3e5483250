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
#define XB_RUN_DIR "/run/xvbd"

/*
 * Where workers listen for the supervisor (NULL: XB_RUN_DIR). Workers
 * outlive the supervisor; the next one takes control of them there.
 */
void xb_supervisor_set_run_dir(const char *dir);

/*
 * xvbd --stop-all: tells every worker in @dir (NULL: XB_RUN_DIR) that no
 * supervisor controls to exit, and waits for it. Returns an exit code.
 */
int xb_stop_all(const char *dir);

/*
 * Runs until SIGTERM (the workers serve on) or SIGINT (they are stopped),
 * with NIC settings from @config (NULL: the default path; a missing file
 * is fine). Returns an exit code.
 */
int xb_supervisor_run(const char *config, enum log_level level);

#endif
