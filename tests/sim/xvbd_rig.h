/* SPDX-License-Identifier: MIT */
/*
 * The simulated Xen and the real xvbd supervisor on it, for the test
 * programs that drive xvbd through the xenstore route (xvbd_life,
 * xvbd_hostile). One pair at a time: `sim` and `xvbd` are it.
 */
#ifndef XVB_TESTS_SIM_XVBD_RIG_H
#define XVB_TESTS_SIM_XVBD_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "blkdrv.h"
#include "fakeguest.h"
#include "sim/libxl.h"
#include "sim/sim.h"

extern struct xsim *sim;
extern pid_t xvbd;
/* The case's directory: socket, xvbd.conf, xvbd.log, images. */
extern char rig_dir[64];

struct rig_opts {
	const char *tag;       /* the directory is /tmp/xvbd-TAG-XXXXXX */
	const char *conf;      /* xvbd.conf's text; NULL: no bridge for NICs */
	unsigned int libxl_ms; /* how long libxl waits for the backend */
	/* A guest made before xvbd starts (static mode needs it). */
	const struct xsim_domain_config *precreate;
	/* Static mode: xvbd's whole argv, NULL-terminated; no watches. */
	const char *const *argv;
	/* What struct hguest gives a guest: RAM and image bytes (0: 64 MiB
	 * of RAM, a 16 MiB image). */
	uint64_t guest_ram, image_bytes;
};

/* Finds xvbd and the drop-in libraries beside the test program. */
int rig_init(void);
/* What an earlier case left is cleaned up first; then a simulator and
 * xvbd on it, with its watches set. */
int rig_start(const struct rig_opts *o);
/*
 * Ends the supervisor with @sig (SIGTERM: it leaves its workers serving,
 * and must exit 0; SIGKILL: a crash) and starts a new one on the same
 * directory, which takes control of the workers. Waits for its watches.
 */
int rig_restart(int sig);
/* The two halves of rig_restart. */
int rig_supervisor_stop(int sig);
int rig_supervisor_start(void);
/* Runs `xvbd ARG --run-dir DIR` to its end (log appended); its exit code. */
int rig_xvbd_cmd(const char *arg);
/* Waits until the simulator holds nothing for guests. */
int rig_settled(void);
/* SIGINT must be enough: xvbd exits 0 with its workers, every handle it
 * had is closed, the simulated Xen saw no error; its log is kept on a
 * sanitizer report (or always, with XVB_RIG_LOG set). */
int rig_stop(void);
/* The end of a case: rig_settled(), then rig_stop() whatever it found.
 * Returns 0, or -1 if either failed (the case has failed). */
int rig_finish(void);
/* Kills what a failed case left running and removes its files, printing
 * xvbd's log to stderr. */
void rig_cleanup(void);

/* A sparse image of @bytes in the case's directory; its path in @path. */
int rig_image(const char *name, uint64_t bytes, char *path, size_t len);
void rig_disk(struct xsim_libxl_disk *d, const char *vdev, const char *path);

/* xvbd's workers: its children, live or zombie, and workers an earlier
 * supervisor left (ours, as subreaper); the one serving @domid if >= 0. */
int rig_children(int domid, pid_t *found);
/* The worker serving @domid, or -1. */
pid_t rig_worker_of(uint32_t domid);
/* Waits until every worker exited and was reaped (up to the hang bound). */
int rig_no_workers(void);
/* Whether process @pid is called @name (/proc/PID/comm). */
bool rig_comm_is(pid_t pid, const char *name);
/* Lines of xvbd's log holding @needle. */
int rig_log_count(const char *needle);
uint64_t rig_now_ms(void);

/*
 * A guest with one disk (xvda on an image of its own) and the test's
 * driver up on it from vCPU 0, 4 KiB per request slot: what most cases of
 * xvbd_hostile and xvbd_life start from. Declare it HGUEST_SCOPED: on any
 * way out of the case its driver and RAM are freed without a bus access.
 */
struct hguest {
	uint32_t domid;
	char img[128];		  /* the image's path */
	struct xsim_libxl_disk d; /* its disk, as libxl made it */
	struct fakeguest *fg;	  /* a view of its RAM */
	struct blkdrv b;
	pid_t w; /* the worker serving it, once the driver is up */
};

/* hguest_image, hguest_create and hguest_drv in a row. */
int hguest_up(struct hguest *g, const char *tag, uint32_t domid,
	      unsigned int vcpus, unsigned int qd);
/* The image @tag in the case's directory, and a disk on it. */
int hguest_image(struct hguest *g, const char *tag);
/* The guest created through libxl with its disk, and its RAM in view. */
int hguest_create(struct hguest *g, uint32_t domid, unsigned int vcpus);
/* The driver up with @qd slots; the serving worker found. */
int hguest_drv(struct hguest *g, unsigned int qd);
/* Driver down (with a reset), RAM released, the guest destroyed. */
int hguest_down(struct hguest *g);
/* Driver and RAM freed, no bus access: a failed case's way out, or a
 * guest already gone. The image and disk stay for another round. */
void hguest_cleanup(struct hguest *g);
#define HGUEST_SCOPED __attribute__((cleanup(hguest_cleanup)))

#endif
