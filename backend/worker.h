/* SPDX-License-Identifier: MIT */
/*
 * A worker serves all the devices of one guest: one process, one thread,
 * one io_uring. It never touches xenstore; a supervisor (or the command
 * line, in static mode) tells it what to serve, over a control socket.
 */
#ifndef XVB_BACKEND_WORKER_H
#define XVB_BACKEND_WORKER_H

#include <stdint.h>

#include "devspec.h"
#include "ioreq.h"

struct xb_worker_args {
	uint32_t domid;
	unsigned int nr_devs;
	struct xb_devconf devs[XB_MAX_WINDOWS];
	int ctl_fd; /* control socket from the supervisor, or -1 */
	/*
	 * With a control socket: the directory where the worker listens as
	 * d<domid>.sock, so that it outlives its supervisor and a new one
	 * takes control of it. NULL: the worker exits when its socket closes.
	 */
	const char *run_dir;
	/* The guest's name (xenstore), for its devices; NULL if unknown. */
	const char *guest;
	bool no_restrict; /* skip restricting the handles (tests) */
	/*
	 * A dead predecessor's ioreq server, or -1: answered as dead until
	 * "retire" (static mode: until the devices are up), then destroyed.
	 */
	int stale_server;
};

/*
 * Control protocol, one line per message.
 *   supervisor -> worker: "add <type> <devid> <spec>" (as --dev
 *                         TYPE:SPEC, TYPE a name of the registry),
 *                         "close <devid>", "retire" (every device of a
 *                         respawned worker is back: the dead predecessor's
 *                         ioreq server may go), "exit"
 *                         "hello" (a new supervisor taking control),
 *   worker -> supervisor: "server <id>" (its ioreq server, for a successor
 *                         to destroy should this worker die),
 *                         on "hello": "server <id>", then "have <devid>
 *                         <the add line's arguments>" per device served,
 *                         then "end",
 *                         "ready <devid>" (window served: state 2 may be
 *                         written), "failed <devid> <reason>",
 *                         "closed <devid>" (no I/O left: state 6)
 * Without a run directory the worker exits when the socket closes. With
 * one it serves on, and accepts the next supervisor's connection on
 * <run_dir>/d<domid>.sock (one at a time: another is told "busy" and
 * closed; `xvbd --stop-all` connects and sends "exit").
 */

/* Serves until SIGTERM/SIGINT, "exit", or a fatal error. Returns an exit code. */
int xb_worker_run(const struct xb_worker_args *a);

#endif
