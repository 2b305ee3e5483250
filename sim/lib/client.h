/* SPDX-License-Identifier: MIT */
/*
 * The client end of the simulator protocol, compiled into each drop-in
 * library (its symbols stay local through the version scripts).
 */
#ifndef XVB_SIM_CLIENT_H
#define XVB_SIM_CLIENT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/proto.h"
#include "toolcore.h"

/* One connection = one library handle. Calls on it are serialised. */
struct xsc {
	int fd;
	pthread_mutex_t lock;
	struct xtc_handle tc; /* registered with libxentoolcore */
};

/* Connects to $XVB_SIM_SOCKET and says hello. 0, or -1 with errno. */
int xsc_open(struct xsc *c, unsigned int kind, xtc_restrict_fn *restrict_cb);
/* Waits until the simulator has dropped the connection. Accepts fd < 0. */
void xsc_close(struct xsc *c);

/*
 * One request and its reply. req->len is set from plen. Reply payload is
 * copied to rpl (at most rmax bytes, *rlen gets its size); received fds go to
 * fds (up to XSIM_MAX_FDS, *nfds of them) or are closed when fds is NULL.
 * Returns 0, or -1 with errno (the simulator's, or the transport's).
 */
int xsc_call(struct xsc *c, struct xsim_msg *req, const void *pl, size_t plen,
	     struct xsim_msg *rsp, void *rpl, size_t rmax, size_t *rlen,
	     int *fds, unsigned int *nfds);
/* xsc_call without payloads or fds: returns 0/-1; *out gets arg[0] if set. */
int xsc_simple(struct xsc *c, uint32_t op, uint32_t domid, uint64_t a0,
	       uint64_t a1, uint64_t a2, uint64_t a3, uint64_t *out);
/* The restrict callback of evtchn, dm and fmem handles: RESTRICT op. */
int xsc_restrict(struct xsc *c, uint32_t domid);

#define xsc_of(ah) ((struct xsc *)((char *)(ah)-offsetof(struct xsc, tc)))

#endif
