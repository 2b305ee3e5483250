// SPDX-License-Identifier: MIT
/*
 * The per-guest worker: opens the Xen handles, builds the devices, sets up
 * the ioreq server in the order Xen requires, restricts its handles to the
 * guest, then serves ioreqs and device I/O from one io_uring loop.
 */
#define LOG_MOD "worker"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/devtype.h"
#include "devspec.h"
#include "fmem.h"
#include "gnt.h"
#include "layout.h"
#include "lib/evl.h"
#include "virtio/vmmio.h"
#include "worker.h"

struct xb_worker;

/* Queue threads of a worker, shared by its devices' extra queues. */
#define XB_MAX_IO_THREADS 8u
/* "queues" left automatic: one per guest vCPU and host CPU, at most this. */
#define XB_AUTO_QUEUES 4u
/* Queues of one device given a loop of their own; the rest share @loop. */
#define XB_MAX_QUEUE_LOOPS 64u

struct xb_dev {
	struct xb_worker *w;
	struct xb_devconf conf;
	struct log_ctx log;
	char name[40]; /* "v<type><devid>": vblk51712, vnet0 */
	void *dev;     /* the type's handle */
	struct vdev *vdev;
	char *add; /* the "add" line's arguments, for "hello"; or NULL */
	bool live;
};

struct xb_worker {
	const struct xb_worker_args *args;
	uint32_t domid;
	struct log_ctx log;
	xendevicemodel_handle *xdm;
	xenforeignmemory_handle *xfm;
	xenevtchn_handle *xce;
	struct xb_fmem fmem;
	struct gmem gm;	   /* foreign mappings of guest RAM */
	struct xb_gnt gnt; /* grant mappings, for grant_usage=1 devices */
	struct gmem gnt_gm;
	struct xb_ioreq io;
	/*
	 * A dead predecessor's ioreq server, answered as dead (its own event
	 * channel handle) until our windows are up, then retired.
	 */
	struct xb_ioreq stale;
	xenevtchn_handle *stale_xce;
	struct evl_watch stale_w;
	struct evl loop;
	bool loop_ok;
	struct evl_watch evtchn_w, sig_w;
	/*
	 * The supervisor's connection (-1 while there is none), watched by
	 * one of @ctlw: a stopped watch may still be cancelling when the
	 * next supervisor connects.
	 */
	int ctl;
	struct xb_ctlw {
		struct evl_watch w;
		struct xb_worker *wk;
	} ctlw[4], *ctl_cur;
	int lfd; /* listening on @sock_path for the next supervisor, or -1 */
	struct evl_watch listen_w;
	char sock_path[108];
	int sigfd;
	/*
	 * A device reset reaps its I/O by running the loop, so callbacks can
	 * nest inside an ioreq's handling: while serving, further ioreqs and
	 * control lines wait for the outer call to finish.
	 */
	bool serving, serve_again, ctl_again;
	struct evl_op again_op; /* a NOP: serve more ioreqs next round */
	bool again_queued;
	char ctl_buf[8192];
	size_t ctl_len;
	struct xb_dev devs[XB_MAX_WINDOWS]; /* slots; live ones serve */
	/*
	 * Queue 0 of every device runs on @loop, with the ioreq server; queue
	 * i > 0 on qthr[(i - 1) % nr_io], started when a device first needs it.
	 */
	struct evl_thread qthr[XB_MAX_IO_THREADS];
	unsigned int nr_io;
	int exit_code;
};

static void xb_wk_ctl_send(struct xb_worker *w, const char *fmt, ...)
	__printf(2, 3);
static void xb_wk_ctl_send(struct xb_worker *w, const char *fmt, ...)
{
	/* A "have" line repeats an "add" line: a spec with a whole path. */
	char line[PATH_MAX + 512];
	va_list ap;
	int n;

	if (w->ctl < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (send(w->ctl, line, n, MSG_NOSIGNAL) != n)
		log_warn(&w->log, "control socket: %s", strerror(errno));
}

/* ---- the ioreq server's callbacks --------------------------------------- */

static int xb_wk_worker_mmio(void *cookie, struct xb_req *req)
{
	struct xb_dev *d = cookie;
	uint64_t off = req->addr - d->conf.base;

	if (req->write)
		return vmmio_write(d->vdev, off, req->size, req->data);
	req->data = vmmio_read(d->vdev, off, req->size);
	return -1;
}

static void xb_wk_worker_kick(void *cookie, int index)
{
	struct xb_dev *d = cookie;

	vdev_kick(d->vdev, index);
}

static void xb_wk_worker_invalidate(void *opaque)
{
	struct xb_worker *w = opaque;

	xb_fmem_invalidate(&w->fmem);
}

static void xb_wk_worker_irq(struct vdev *vdev, void *opaque)
{
	struct xb_dev *d = opaque;
	struct xb_worker *w = d->w;

	if (xendevicemodel_set_irq_level(w->xdm, w->domid, d->conf.irq, 1))
		log_guest(&d->log, "set_irq_level(%u): %s", d->conf.irq,
			  strerror(errno));
}

/* ---- devices ------------------------------------------------------------ */

/* The grant device, opened for the first grant_usage=1 device. */
static int xb_wk_open_gnttab(struct xb_worker *w)
{
	if (w->gnt.xgt)
		return 0;
	w->gnt.xgt = xengnttab_open(NULL, 0);
	if (!w->gnt.xgt) {
		log_err(&w->log,
			"opening the grant device: %s (is gntdev loaded?)",
			strerror(errno));
		return -errno;
	}
	w->gnt.domid = w->domid;
	w->gnt.log = &w->log;
	w->gnt_gm.ops = &xb_gnt_ops;
	w->gnt_gm.opaque = &w->gnt;
	return 0;
}

static void xb_wk_io_threads(struct xb_worker *w, unsigned int want);

/* Queues past the first on the worker's queue threads, as far as there are. */
static void xb_wk_queue_loops(struct xb_worker *w, unsigned int n,
			      struct evl **loops)
{
	if (n > 1)
		xb_wk_io_threads(w, n - 1);
	for (unsigned int i = 1; w->nr_io && i < n; i++)
		loops[i] = &w->qthr[(i - 1) % w->nr_io].loop;
}

/* Starts queue threads until there are @want (at most XB_MAX_IO_THREADS). */
static void xb_wk_io_threads(struct xb_worker *w, unsigned int want)
{
	char name[16];
	int rc;

	if (want > XB_MAX_IO_THREADS)
		want = XB_MAX_IO_THREADS;
	while (w->nr_io < want) {
		snprintf(name, sizeof(name), "xvbd-d%u-q%u", w->domid,
			 w->nr_io + 1);
		rc = evl_thread_start(&w->qthr[w->nr_io], name, 256);
		if (rc) {
			log_warn(&w->log, "queue thread %u: %s", w->nr_io + 1,
				 strerror(-rc));
			return;
		}
		w->nr_io++;
	}
}

/*
 * The queues a device runs: "queues" if given, else one per vCPU the host
 * can run at once (at most XB_AUTO_QUEUES), within the type's maximum; 0
 * for a type that takes no "queues".
 */
static unsigned int xb_wk_dev_queues(const struct xb_worker *w,
				     const struct xb_devconf *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int n = w->io.nr_vcpus;

	if (!c->type->max_queues)
		return 0;
	if (c->queues)
		return c->queues;
	if (cpus > 0 && (unsigned long)cpus < n)
		n = cpus;
	if (n > XB_AUTO_QUEUES)
		n = XB_AUTO_QUEUES;
	if (n > c->type->max_queues)
		n = c->type->max_queues;
	return n ? n : 1;
}

static void xb_wk_dev_free(struct xb_dev *d)
{
	if (d->dev)
		d->conf.type->close(d->dev);
	d->dev = NULL;
	d->vdev = NULL;
}

/* The type opens @d with what the worker gives it (its env). */
static int xb_wk_dev_create(struct xb_worker *w, struct xb_dev *d,
			    const struct gmem *gm)
{
	const struct xb_devconf *c = &d->conf;
	struct evl *loops[XB_MAX_QUEUE_LOOPS] = { NULL };
	struct xvb_devenv env = {
		.gm = gm,
		.loop = &w->loop,
		.loops = loops,
		.queues = xb_wk_dev_queues(w, c),
		.poll_us = c->poll_us,
		.coalesce_us = c->coalesce_us,
		.domid = (int)w->domid,
		.devid = c->devid,
		.name = d->name,
		.guest = w->args->guest,
		.run_dir = w->args->run_dir,
	};

	env.nr_loops = env.queues < XB_MAX_QUEUE_LOOPS ? env.queues :
							 XB_MAX_QUEUE_LOOPS;
	xb_wk_queue_loops(w, env.nr_loops, loops);
	return c->type->open(&d->dev, &d->vdev, c->priv, &env);
}

static int xb_wk_dev_open(struct xb_worker *w, struct xb_dev *d,
			  const struct xb_devconf *c)
{
	const struct gmem *gm = &w->gm;
	int rc;

	d->w = w;
	d->conf = *c;
	snprintf(d->name, sizeof(d->name), "v%s%u", c->type->name, c->devid);
	log_ctx_init(&d->log, (int)w->domid, d->name);
	if (c->grants) {
		rc = xb_wk_open_gnttab(w);
		if (rc)
			return rc;
		gm = &w->gnt_gm;
	}
	rc = xb_wk_dev_create(w, d, gm);
	if (rc)
		return rc;
	vdev_set_irq(d->vdev, xb_wk_worker_irq, d);
	rc = xb_ioreq_map_window(&w->io, c->base, XB_MMIO_DEV_SIZE, d);
	if (rc) {
		xb_wk_dev_free(d);
		return rc;
	}
	d->live = true;
	/*
	 * Our predecessor died under the guest, whose driver still believes
	 * the device set up as it left it: say it needs a reset.
	 */
	if (w->stale.created)
		vdev_needs_reset(d->vdev);
	log_info(&d->log, "serving %s at 0x%llx irq %u%s", c->type->name,
		 (unsigned long long)c->base, c->irq,
		 c->grants ? " through grants" : "");
	return 0;
}

/* Stops serving @d: no window, no I/O in flight, store closed. */
static void xb_wk_dev_close(struct xb_dev *d)
{
	if (!d->live)
		return;
	xb_ioreq_unmap_window(&d->w->io, d);
	xb_wk_dev_free(d);
	free(d->add);
	d->add = NULL;
	d->live = false;
	log_info(&d->log, "closed");
}

static void xb_wk_ctl_lines(struct xb_worker *w);

/* ---- a dead predecessor's ioreq server ----------------------------------- */

#define SERVE_BUDGET_STALE 64

static void xb_wk_on_stale(struct evl_watch *wt, unsigned int revents)
{
	struct xb_worker *w = container_of(wt, struct xb_worker, stale_w);
	int rc;

	while ((rc = xb_ioreq_serve(&w->stale, SERVE_BUDGET_STALE)) > 0)
		;
	if (rc < 0)
		log_err(&w->log, "the dead worker's event channels: %s",
			strerror(-rc));
}

/*
 * Takes over the ioreq server a dead predecessor left: whatever a vCPU
 * waits for in it is answered (reads all-ones, writes dropped, as Xen does
 * when an emulator dies), and so is every access routed to it until our
 * own windows serve the guest. Failing that, it is at least destroyed.
 */
static void xb_wk_stale_adopt(struct xb_worker *w, unsigned int id)
{
	int rc;

	w->stale_xce = xenevtchn_open(NULL, 0);
	if (!w->stale_xce ||
	    fcntl(xenevtchn_fd(w->stale_xce), F_SETFL, O_NONBLOCK)) {
		log_err(&w->log, "event channel handle: %s", strerror(errno));
		xendevicemodel_destroy_ioreq_server(w->xdm, w->domid, id);
		return;
	}
	rc = xb_ioreq_adopt(&w->stale, w->domid, id, &w->log, w->xdm, w->xfm,
			    w->stale_xce);
	if (!rc)
		rc = evl_watch_start(&w->loop, &w->stale_w,
				     xenevtchn_fd(w->stale_xce), POLLIN,
				     xb_wk_on_stale);
	if (rc) {
		log_err(&w->log,
			"taking over the dead worker's ioreq server %u: %s; destroyed",
			id, strerror(-rc));
		xb_ioreq_close(&w->stale);
		return;
	}
	log_info(
		&w->log,
		"took over the dead worker's ioreq server %u: what it held is answered as dead",
		id);
}

/* Our windows serve the guest again: the dead worker's server goes. */
static void xb_wk_stale_retire(struct xb_worker *w)
{
	unsigned int id = w->stale.id;

	if (!w->stale.created)
		return;
	evl_watch_stop(&w->stale_w);
	/* A vCPU takes its answer within microseconds unless paused. */
	if (!xb_ioreq_retire(&w->stale, 2000))
		log_info(&w->log, "removed the dead worker's ioreq server %u",
			 id);
}

/* ---- event sources ------------------------------------------------------- */

/*
 * Serves ioreqs, a bounded number at a time: a storm of register accesses
 * from some vCPUs must not starve the devices' I/O completions (and the
 * interrupts other vCPUs wait for) on this same loop.
 */
#define SERVE_BUDGET 64

static void xb_wk_serve(struct xb_worker *w);

static void xb_wk_on_serve_again(struct evl_op *op, int res, unsigned int flags)
{
	struct xb_worker *w = container_of(op, struct xb_worker, again_op);

	w->again_queued = false;
	xb_wk_serve(w);
}

static void xb_wk_serve(struct xb_worker *w)
{
	struct io_uring_sqe *sqe;
	int rc;

	if (w->serving) {
		w->serve_again = true;
		return;
	}
	w->serving = true;
	do {
		w->serve_again = false;
		rc = xb_ioreq_serve(&w->io, SERVE_BUDGET);
	} while (!rc && w->serve_again);
	w->serving = false;
	if (rc < 0) {
		log_err(&w->log, "event channel: %s", strerror(-rc));
		w->exit_code = 1;
		evl_stop(&w->loop);
	} else if (rc > 0 && !w->again_queued) {
		/* Budget spent: come back after one round of the loop. */
		sqe = evl_get_sqe(&w->loop);
		if (sqe) {
			io_uring_prep_nop(sqe);
			evl_set_op(&w->loop, sqe, &w->again_op,
				   xb_wk_on_serve_again);
			w->again_queued = true;
		}
	}
	if (w->ctl_again)
		xb_wk_ctl_lines(w);
}

static void xb_wk_on_evtchn(struct evl_watch *wt, unsigned int revents)
{
	xb_wk_serve(container_of(wt, struct xb_worker, evtchn_w));
}

/* Every device re-reads what may change under it (a disk its size):
 * "resize", or SIGHUP. */
static void xb_wk_resize_all(struct xb_worker *w)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < XB_MAX_WINDOWS; i++) {
		struct xb_dev *d = &w->devs[i];

		if (d->live && d->conf.type->reload &&
		    d->conf.type->reload(d->dev) > 0)
			n++;
	}
	log_info(&w->log, "sizes re-read: %u device(s) changed", n);
}

/* SIGUSR1, or "state": what the worker and each device are doing. */
static void xb_wk_log_state(struct xb_worker *w)
{
	unsigned int n = 0, buckets;
	uint64_t maps;

	for (unsigned int i = 0; i < XB_MAX_WINDOWS; i++)
		n += w->devs[i].live;
	pthread_mutex_lock(&w->fmem.lock); /* queue threads map too */
	buckets = w->fmem.live_buckets;
	maps = w->fmem.nr_bucket_maps;
	pthread_mutex_unlock(&w->fmem.lock);
	log_info(
		&w->log,
		"state: %u device(s), %u vCPU(s), %u queue thread(s); %llu ioreqs (%llu refused, %llu invalidations); %u 2 MiB mapping(s) cached (%llu made)",
		n, w->io.nr_vcpus, w->nr_io, (unsigned long long)w->io.nr_reqs,
		(unsigned long long)w->io.nr_bad,
		(unsigned long long)w->io.nr_invalidate, buckets,
		(unsigned long long)maps);
	for (unsigned int i = 0; i < XB_MAX_WINDOWS; i++) {
		struct xb_dev *d = &w->devs[i];

		if (d->live && d->conf.type->log_state)
			d->conf.type->log_state(d->dev);
	}
}

static void xb_wk_on_signal(struct evl_watch *wt, unsigned int revents)
{
	struct xb_worker *w = container_of(wt, struct xb_worker, sig_w);
	struct signalfd_siginfo si;

	while (read(w->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			xb_wk_resize_all(w);
			continue;
		}
		if (si.ssi_signo == SIGUSR1) {
			xb_wk_log_state(w);
			continue;
		}
		log_info(&w->log, "signal %u: shutting down", si.ssi_signo);
		evl_stop(&w->loop);
	}
}

static struct xb_dev *xb_wk_find_dev(struct xb_worker *w, unsigned int devid)
{
	for (unsigned int i = 0; i < XB_MAX_WINDOWS; i++)
		if (w->devs[i].live && w->devs[i].conf.devid == devid)
			return &w->devs[i];
	return NULL;
}

/* Opens a device in a free slot; answers "ready" or "failed". */
static int xb_wk_add_dev(struct xb_worker *w, const struct xb_devconf *c)
{
	struct xb_dev *d = NULL;
	unsigned int i;
	int rc;

	for (i = 0; i < XB_MAX_WINDOWS && !d; i++)
		if (!w->devs[i].live)
			d = &w->devs[i];
	if (xb_wk_find_dev(w, c->devid))
		rc = -EEXIST;
	else if (!d)
		rc = -ENOSPC;
	else
		rc = xb_wk_dev_open(w, d, c);
	if (rc)
		xb_wk_ctl_send(w, "failed %u %s", c->devid, strerror(-rc));
	else
		xb_wk_ctl_send(w, "ready %u", c->devid);
	return rc;
}

/* "add NAME DEVID SPEC": a device the supervisor read from xenstore. */
static void xb_wk_ctl_add(struct xb_worker *w, const char *args)
{
	struct xb_devconf *c = malloc(sizeof(*c)); /* 8 KiB: not on the stack */
	const struct xvb_devtype *type;
	char name[32], err[256];
	unsigned int devid;
	int off = 0;

	if (!c || sscanf(args, "%31s %u %n", name, &devid, &off) != 2 || !off)
		goto bad;
	type = xvb_devtype_by_name(name);
	if (!type)
		goto bad;
	if (xb_parse_devspec(args + off, type, c, err, sizeof(err))) {
		log_err(&w->log, "device %u refused: %s", devid, err);
		xb_wk_ctl_send(w, "failed %u %s", devid, err);
		free(c);
		return;
	}
	c->devid = devid;
	if (!xb_wk_add_dev(w, c)) {
		struct xb_dev *d = xb_wk_find_dev(w, devid);

		d->add = strdup(args);
	}
	free(c);
	return;
bad:
	free(c);
	log_warn(&w->log, "bad control message 'add %s'", args);
}

/* "hello": a new supervisor; what we serve. */
static void xb_wk_ctl_hello(struct xb_worker *w, const char *args)
{
	xb_wk_ctl_send(w, "server %u", w->io.id);
	for (unsigned int i = 0; i < XB_MAX_WINDOWS; i++)
		if (w->devs[i].live && w->devs[i].add)
			xb_wk_ctl_send(w, "have %s", w->devs[i].add);
	xb_wk_ctl_send(w, "end");
}

/* "close DEVID": answered "closed" whether or not it was served. */
static void xb_wk_ctl_close(struct xb_worker *w, const char *args)
{
	unsigned int devid;
	struct xb_dev *d;

	if (sscanf(args, "%u", &devid) != 1) {
		log_warn(&w->log, "bad control message 'close %s'", args);
		return;
	}
	d = xb_wk_find_dev(w, devid);
	if (d)
		xb_wk_dev_close(d);
	xb_wk_ctl_send(w, "closed %u", devid);
}

static void xb_wk_ctl_exit(struct xb_worker *w, const char *args)
{
	evl_stop(&w->loop);
}

/* "retire": every device of a respawned worker is back. */
static void xb_wk_ctl_retire(struct xb_worker *w, const char *args)
{
	xb_wk_stale_retire(w);
}

static void xb_wk_ctl_resize(struct xb_worker *w, const char *args)
{
	xb_wk_resize_all(w);
}

static void xb_wk_ctl_state(struct xb_worker *w, const char *args)
{
	xb_wk_log_state(w);
}

/* The supervisor's messages: a word, and for some arguments after a space. */
static const struct xb_ctl_cmd {
	const char *word;
	bool args;
	void (*fn)(struct xb_worker *w, const char *args);
} ctl_cmds[] = {
	{ "add", true, xb_wk_ctl_add },
	{ "close", true, xb_wk_ctl_close },
	{ "hello", false, xb_wk_ctl_hello },
	{ "exit", false, xb_wk_ctl_exit },
	{ "retire", false, xb_wk_ctl_retire },
	{ "resize", false, xb_wk_ctl_resize },
	{ "state", false, xb_wk_ctl_state },
};

static void xb_wk_ctl_line(struct xb_worker *w, char *line)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(ctl_cmds); i++) {
		const struct xb_ctl_cmd *c = &ctl_cmds[i];
		size_t n = strlen(c->word);

		if (strncmp(line, c->word, n) ||
		    (c->args ? line[n] != ' ' : line[n] != '\0'))
			continue;
		c->fn(w, line + n + c->args);
		return;
	}
	log_warn(&w->log, "unknown control message '%s'", line);
}

/* Handles the complete lines received, unless an ioreq is being served. */
static void xb_wk_ctl_lines(struct xb_worker *w)
{
	char *nl;

	if (w->serving) {
		w->ctl_again = true;
		return;
	}
	w->ctl_again = false;
	while ((nl = strchr(w->ctl_buf, '\n'))) {
		*nl = '\0';
		xb_wk_ctl_line(w, w->ctl_buf);
		w->ctl_len -= nl + 1 - w->ctl_buf;
		memmove(w->ctl_buf, nl + 1, w->ctl_len + 1);
	}
	if (w->ctl_len == sizeof(w->ctl_buf) - 1)
		w->ctl_len = 0; /* an overlong line: drop it */
}

/* The supervisor's connection closed: wait for the next one, or exit. */
static void xb_wk_ctl_gone(struct xb_worker *w)
{
	evl_watch_stop(&w->ctl_cur->w);
	w->ctl_cur = NULL;
	close(w->ctl);
	w->ctl = -1;
	w->ctl_len = 0;
	w->ctl_buf[0] = '\0';
	if (w->lfd < 0) {
		log_info(&w->log, "supervisor gone: shutting down");
		evl_stop(&w->loop);
		return;
	}
	log_info(
		&w->log,
		"supervisor gone: serving on; the next one takes control through %s",
		w->sock_path);
}

/* Reads and handles what the supervisor sent: 1, 0 if nothing, -1 gone. */
static int xb_wk_ctl_read(struct xb_worker *w)
{
	ssize_t n;

	n = read(w->ctl, w->ctl_buf + w->ctl_len,
		 sizeof(w->ctl_buf) - 1 - w->ctl_len);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return 0;
		xb_wk_ctl_gone(w);
		return -1;
	}
	w->ctl_len += n;
	w->ctl_buf[w->ctl_len] = '\0';
	xb_wk_ctl_lines(w);
	return 1;
}

static void xb_wk_on_ctl(struct evl_watch *wt, unsigned int revents)
{
	struct xb_worker *w = container_of(wt, struct xb_ctlw, w)->wk;

	if (w->ctl >= 0 && wt == &w->ctl_cur->w)
		xb_wk_ctl_read(w);
}

/* Watches @fd as the supervisor's connection. Returns 0 or -errno. */
static int xb_wk_ctl_start(struct xb_worker *w, int fd)
{
	struct xb_ctlw *c = NULL;
	int rc;

	for (unsigned int i = 0; i < ARRAY_SIZE(w->ctlw) && !c; i++)
		if (!evl_watch_busy(&w->ctlw[i].w))
			c = &w->ctlw[i];
	if (!c)
		return -EBUSY;
	/* Non-blocking from here on: the lines sent before were few. */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	c->wk = w;
	rc = evl_watch_start(&w->loop, &c->w, fd, POLLIN, xb_wk_on_ctl);
	if (rc)
		return rc;
	w->ctl = fd;
	w->ctl_cur = c;
	return 0;
}

/* A supervisor (or xvbd --stop-all) connects. One at a time. */
static void xb_wk_on_listen(struct evl_watch *wt, unsigned int revents)
{
	struct xb_worker *w = container_of(wt, struct xb_worker, listen_w);
	int fd;

	while ((fd = accept4(w->lfd, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		/* The last supervisor's end may have closed unseen yet:
		 * what it sent first, then its end. */
		while (w->ctl >= 0 && xb_wk_ctl_read(w) > 0)
			;
		if (w->ctl >= 0 || xb_wk_ctl_start(w, fd) < 0) {
			send(fd, "busy\n", 5, MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		log_info(&w->log, "a supervisor took control");
	}
}

/* Listens on <run_dir>/d<domid>.sock for the supervisors to come. */
static int xb_wk_listen_start(struct xb_worker *w)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n;

	n = snprintf(w->sock_path, sizeof(w->sock_path), "%s/d%u.sock",
		     w->args->run_dir, w->domid);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		log_err(&w->log, "run directory path too long");
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, w->sock_path, n + 1);
	w->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (w->lfd < 0)
		return -errno;
	/* A worker of this domain id killed with -9 left its socket. */
	unlink(w->sock_path);
	if (bind(w->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(w->lfd, 4)) {
		int rc = -errno;

		log_err(&w->log, "control socket %s: %s", w->sock_path,
			strerror(errno));
		close(w->lfd);
		w->lfd = -1;
		w->sock_path[0] = '\0';
		return rc;
	}
	return evl_watch_start(&w->loop, &w->listen_w, w->lfd, POLLIN,
			       xb_wk_on_listen);
}

/* ---- setup and teardown -------------------------------------------------- */

static int xb_wk_open_handles(struct xb_worker *w)
{
	w->xdm = xendevicemodel_open(NULL, 0);
	w->xfm = xenforeignmemory_open(NULL, 0);
	w->xce = xenevtchn_open(NULL, 0);
	if (!w->xdm || !w->xfm || !w->xce) {
		int rc = -errno;

		log_err(&w->log,
			"opening Xen interfaces: %s (is this a Xen backend domain, with privcmd and evtchn loaded?)",
			strerror(errno));
		return rc;
	}
	/* xb_ioreq_serve takes pending ports until EAGAIN. */
	if (fcntl(xenevtchn_fd(w->xce), F_SETFL, O_NONBLOCK))
		return -errno;
	return 0;
}

static int xb_wk_setup_signals(struct xb_worker *w)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	w->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (w->sigfd < 0)
		return -errno;
	return evl_watch_start(&w->loop, &w->sig_w, w->sigfd, POLLIN,
			       xb_wk_on_signal);
}

/*
 * Limits the devicemodel, foreign-memory and event-channel handles to our
 * guest. Not xentoolcore_restrict_all(): it would replace a grant handle's
 * fd with /dev/null, and grant maps are limited to what the guest granted.
 */
static void xb_wk_restrict_handles(struct xb_worker *w)
{
	if (xendevicemodel_restrict(w->xdm, w->domid) ||
	    xenforeignmemory_restrict(w->xfm, w->domid) ||
	    xenevtchn_restrict(w->xce, w->domid))
		log_warn(&w->log, "restricting handles to d%u: %s", w->domid,
			 strerror(errno));
}

/* The Xen handles, guest memory, the loop and the signals. */
static int xb_wk_worker_open(struct xb_worker *w)
{
	int rc;

	rc = xb_wk_open_handles(w);
	if (rc)
		return rc;
	rc = xb_fmem_init(&w->fmem, w->xfm, w->domid, &w->log);
	if (rc)
		return rc;
	w->gm.ops = &xb_fmem_ops;
	w->gm.opaque = &w->fmem;
	rc = evl_init(&w->loop, 256);
	if (rc) {
		log_err(&w->log, "io_uring: %s", strerror(-rc));
		return rc;
	}
	w->loop_ok = true;
	return xb_wk_setup_signals(w);
}

/*
 * The ioreq server and, in static mode, every device (each opens, or xvbd
 * stops), then the server enabled and watched: only once the windows are
 * mapped may the guest's accesses arrive.
 */
static int xb_wk_worker_server(struct xb_worker *w)
{
	const struct xb_worker_args *a = w->args;
	int rc;

	rc = xb_ioreq_open(&w->io, w->domid, &w->log, w->xdm, w->xfm, w->xce);
	if (rc)
		return rc;
	xb_wk_ctl_send(w, "server %u", w->io.id);
	w->io.mmio = xb_wk_worker_mmio;
	w->io.kick = xb_wk_worker_kick;
	w->io.invalidate = xb_wk_worker_invalidate;
	w->io.invalidate_opaque = w;
	for (unsigned int i = 0; i < a->nr_devs; i++) {
		rc = xb_wk_dev_open(w, &w->devs[i], &a->devs[i]);
		if (rc)
			return rc;
	}
	rc = xb_ioreq_enable(&w->io);
	if (rc)
		return rc;
	return evl_watch_start(&w->loop, &w->evtchn_w, xenevtchn_fd(w->xce),
			       POLLIN, xb_wk_on_evtchn);
}

/* The supervisor's connection, and the socket the next one finds us on. */
static int xb_wk_worker_control(struct xb_worker *w)
{
	const struct xb_worker_args *a = w->args;
	int rc;

	if (a->ctl_fd < 0)
		return 0;
	rc = xb_wk_ctl_start(w, a->ctl_fd);
	if (rc || !a->run_dir)
		return rc;
	return xb_wk_listen_start(w);
}

/*
 * Nothing this process execs may gain privileges, and it may not be
 * ptraced or dumped by others: its memory maps guest RAM.
 */
static void xb_wk_worker_lockdown(struct xb_worker *w)
{
	if (!w->args->no_restrict)
		xb_wk_restrict_handles(w);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		log_warn(&w->log, "prctl: %s", strerror(errno));
}

static int xb_wk_worker_setup(struct xb_worker *w)
{
	const struct xb_worker_args *a = w->args;
	int rc;

	rc = xb_wk_worker_open(w);
	if (rc)
		return rc;
	/*
	 * A predecessor that died left its ioreq server registered (Xen does
	 * not know the process is gone): a vCPU whose access sits in it, or
	 * is routed to it, would wait for ever. Answer them first.
	 */
	if (a->stale_server >= 0)
		xb_wk_stale_adopt(w, a->stale_server);
	rc = xb_wk_worker_server(w);
	if (!rc)
		rc = xb_wk_worker_control(w);
	if (rc)
		return rc;
	/* Serve anything that raced with the setup. */
	rc = xb_ioreq_serve(&w->io, SERVE_BUDGET);
	if (rc < 0)
		return rc;
	/* Static mode: our windows are up. */
	if (a->nr_devs)
		xb_wk_stale_retire(w);
	xb_wk_worker_lockdown(w);
	return 0;
}

static void xb_wk_worker_teardown(struct xb_worker *w)
{
	unsigned int i;

	/* No supervisor may take control of a worker on its way out. */
	if (w->sock_path[0])
		unlink(w->sock_path);
	/* Devices first: they cancel and reap their I/O on the live loops. */
	for (i = 0; i < XB_MAX_WINDOWS; i++)
		xb_wk_dev_close(&w->devs[i]);
	for (i = 0; i < w->nr_io; i++)
		if (evl_thread_stop(&w->qthr[i]))
			log_err(&w->log, "queue thread %u: its loop failed",
				i + 1);
	xb_wk_stale_retire(w);
	xb_ioreq_close(&w->io);
	if (w->loop_ok) {
		evl_watch_stop(&w->evtchn_w);
		evl_watch_stop(&w->stale_w);
		evl_watch_stop(&w->sig_w);
		for (i = 0; i < ARRAY_SIZE(w->ctlw); i++)
			evl_watch_stop(&w->ctlw[i].w);
		evl_watch_stop(&w->listen_w);
		if (evl_drain(&w->loop, 2000))
			log_err(&w->log, "operations still in flight at exit");
		evl_exit(&w->loop);
	}
	if (w->sigfd >= 0)
		close(w->sigfd);
	if (w->ctl >= 0)
		close(w->ctl);
	if (w->lfd >= 0)
		close(w->lfd);
	xb_fmem_exit(&w->fmem);
	if (w->gnt.xgt) {
		if (w->gnt.live)
			log_err(&w->log, "%lu grant pages still mapped at exit",
				w->gnt.live);
		xengnttab_close(w->gnt.xgt);
	}
	if (w->xce)
		xenevtchn_close(w->xce);
	if (w->stale_xce)
		xenevtchn_close(w->stale_xce);
	if (w->xfm)
		xenforeignmemory_close(w->xfm);
	if (w->xdm)
		xendevicemodel_close(w->xdm);
}

int xb_worker_run(const struct xb_worker_args *a)
{
	struct xb_worker *w;
	char name[16];
	int rc, code;

	w = calloc(1, sizeof(*w));
	if (!w)
		return 1;
	w->args = a;
	w->domid = a->domid;
	w->sigfd = -1;
	w->ctl = a->ctl_fd; /* watched once set up; "server" goes first */
	w->lfd = -1;
	log_ctx_init(&w->log, (int)a->domid, NULL);
	/* Exec'd through /proc/self/exe, ps and top would call it "exe". */
	snprintf(name, sizeof(name), "xvbd-d%u", a->domid);
	prctl(PR_SET_NAME, name);

	rc = xb_wk_worker_setup(w);
	if (rc) {
		log_err(&w->log, "setup failed: %s", strerror(-rc));
		w->exit_code = 1;
	} else {
		log_info(&w->log, "ioreq server up, %u vCPU(s)",
			 w->io.nr_vcpus);
		rc = evl_run(&w->loop);
		if (rc) {
			log_err(&w->log, "event loop: %s", strerror(-rc));
			w->exit_code = 1;
		}
	}
	xb_wk_worker_teardown(w);
	code = w->exit_code;
	free(w);
	return code;
}
