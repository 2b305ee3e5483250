// SPDX-License-Identifier: MIT
/*
 * The supervisor. xenstore is its input, and is treated as such: every node
 * is read from the backend's own subtree (never from the guest's), parsed
 * strictly, and a bad device is refused with a log line while the others
 * carry on. Workers are separate processes, one per guest, so one guest
 * cannot take down another's devices.
 */
#define LOG_MOD "supervisor"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "conffile.h"
#include "devspec.h"
#include "lib/evl.h"
#include "supervisor.h"
#include "xsdev.h"

#define MAX_RESTARTS 3	  /* per guest ... */
#define RESTART_WINDOW 60 /* ... within this many seconds */

enum sup_state {
	SD_ADDING,  /* sent to the worker, not ready yet */
	SD_READY,   /* served; state 2 written */
	SD_CLOSING, /* close sent */
	SD_DONE,    /* closed (state 6 written) or refused (state removed) */
};

struct sup_dom;

/*
 * The watch on one worker's control socket. It outlives the worker: the
 * kernel may still be cancelling it when the worker is reaped or respawned,
 * so stopped ones wait in the graveyard until idle.
 */
struct sup_ctl {
	struct evl_watch w;
	struct sup_dom *dom; /* NULL once stopped */
	struct sup_ctl *next;
};

struct sup_dev {
	struct sup_dom *dom;
	const char *kind; /* "virtio_disk" or "virtio" */
	unsigned int devid;
	char be[160];		  /* backend directory */
	char msg[PATH_MAX + 400]; /* the "add" line for the worker */
	char guest[64];		  /* its guest's name, or "" */
	enum sup_state st;
	bool seen;
	struct sup_dev *next;
};

struct sup_dom {
	struct sup *sup;
	uint32_t domid;
	pid_t pid;
	int ctl;
	struct sup_ctl *ctlw; /* watch on @ctl, while a worker runs */
	char buf[1024];
	size_t len;
	unsigned int restarts;
	time_t restart_window;
	bool exiting;	/* "exit" sent */
	int server;	/* the worker's ioreq server id, or -1 */
	char guest[64]; /* the guest's name for its worker, or "" */
	/*
	 * Taken over from an earlier supervisor: not our child, so its exit
	 * is seen on a pidfd (@pidw), not by SIGCHLD.
	 */
	bool adopted;
	int pidfd;
	struct sup_ctl *pidw;
	struct sup_dev *devs;
	struct sup_dom *next;
};

struct sup {
	struct xs_handle *xs;
	uint32_t self;
	char root[64]; /* /local/domain/<self>/backend */
	struct evl loop;
	bool loop_ok; /* evl_init done: sup_exit may drain it */
	struct evl_watch xs_w, sig_w;
	int sigfd;
	bool verbose;
	const char *config_path;
	bool config_named;   /* --config: the file must exist */
	const char *run_dir; /* our lock; where workers listen for us */
	int lock_fd;	     /* holds the supervisor lock, or -1 */
	struct xb_config cfg;
	struct log_ctx log;
	struct sup_dom *doms;
	struct sup_ctl *graveyard; /* stopped watches, freed once idle */
	bool stop_all;		   /* SIGINT: the workers stop too */
	char why[256];		   /* the last refusal's reason */
};

static const char *const kinds[] = { "virtio_disk", "virtio" };

/* ---- xenstore helpers ---------------------------------------------------- */

/* The backend's own nodes: xsdev.c reads them. */
static int xb_sup_xs_get(struct sup *s, const char *dir, const char *node,
			 char *buf, size_t size)
{
	return xb_xs_get(s->xs, dir, node, buf, size);
}

static int xb_sup_xs_get_u64(struct sup *s, const char *dir, const char *node,
			     uint64_t max, uint64_t *out)
{
	return xb_xs_get_u64(s->xs, dir, node, max, out);
}

static void xb_sup_write_state(struct sup *s, const struct sup_dev *d,
			       int state)
{
	char path[200], val[4];

	snprintf(path, sizeof(path), "%s/state", d->be);
	snprintf(val, sizeof(val), "%d", state);
	if (!xs_write(s->xs, XBT_NULL, path, val, strlen(val)))
		log_err(&s->log, "writing %s: %s", path, strerror(errno));
}

/* Logs "refused: <reason>" for a device and keeps the reason in s->why. */
static void __attribute__((format(printf, 4, 5)))
refused(struct sup *s, uint32_t domid, const char *be, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	log_err(&s->log, "d%u %s: refused: %s", domid, be, s->why);
}

/*
 * A device xvbd will not serve: its reason goes to <be>/error and its
 * state node is removed. libxl (4.17 and later) fails a device wait the
 * moment the state node it watches disappears ("unable to add device with
 * path ..."), so xl create fails at once instead of after its 10 s
 * timeout; on destroy it finds no state, cleans the frontend and removes
 * the backend directory. xvb-create reports the error node.
 */
static void xb_sup_refuse_dev(struct sup *s, const char *be)
{
	char path[200];

	snprintf(path, sizeof(path), "%s/error", be);
	if (!xs_write(s->xs, XBT_NULL, path, s->why, strlen(s->why)))
		log_err(&s->log, "writing %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/state", be);
	if (!xs_rm(s->xs, XBT_NULL, path) && errno != ENOENT)
		log_err(&s->log, "removing %s: %s", path, strerror(errno));
}

/* ---- reading one device's nodes ------------------------------------------ */

/*
 * The device being added or served, of type @t, whose spec has @val for
 * the type's unique key, described into @buf; NULL if none. Devices being
 * closed, and exiting workers' (a rebooting guest's old self), do not
 * count.
 */
static const char *xb_sup_unique_user(void *opaque, const struct xvb_devtype *t,
				      const char *val, char *buf, size_t len)
{
	struct sup *s = opaque;
	char prefix[40], needle[96];

	snprintf(prefix, sizeof(prefix), "add %s ", t->name);
	snprintf(needle, sizeof(needle), ",%s=%s", t->unique_key, val);
	for (struct sup_dom *dom = s->doms; dom; dom = dom->next) {
		if (dom->exiting)
			continue;
		for (struct sup_dev *d = dom->devs; d; d = d->next) {
			const char *hit;

			if ((d->st != SD_ADDING && d->st != SD_READY) ||
			    strncmp(d->msg, prefix, strlen(prefix)))
				continue;
			hit = strcasestr(d->msg, needle);
			if (hit && strchr(",\n", hit[strlen(needle)])) {
				snprintf(buf, len, "d%u's %s", dom->domid,
					 d->be);
				return buf;
			}
		}
	}
	return NULL;
}

/* Builds d->msg from the device's nodes. Returns 0 or -EINVAL (logged). */
static int xb_sup_read_dev(struct sup *s, struct sup_dev *d, uint32_t domid)
{
	struct xb_xsdev *x = calloc(1, sizeof(*x));
	int rc;

	if (!x) {
		refused(s, domid, d->be, "out of memory");
		return -EINVAL;
	}
	x->xs = s->xs;
	x->cfg = &s->cfg;
	x->domid = domid;
	x->devid = d->devid;
	x->be = d->be;
	x->generic = d->kind != kinds[0];
	x->unique_user = xb_sup_unique_user;
	x->opaque = s;
	rc = xb_xsdev_read(x);
	if (rc) {
		refused(s, domid, d->be, "%s", x->why);
	} else {
		snprintf(d->msg, sizeof(d->msg), "%s", x->msg);
		snprintf(d->guest, sizeof(d->guest), "%s", x->guest);
		log_info(&s->log, "d%u %s: %.*s", domid, d->be,
			 (int)strcspn(x->msg, "\n"), x->msg);
	}
	free(x);
	return rc;
}

/* ---- workers ------------------------------------------------------------- */

/* A worker that died has closed its end: EPIPE, logged, and no SIGPIPE. */
static void xb_sup_send_line(struct sup_dom *dom, const char *line)
{
	size_t n = strlen(line);

	if (dom->ctl >= 0 &&
	    send(dom->ctl, line, n, MSG_NOSIGNAL) != (ssize_t)n)
		log_err(&dom->sup->log, "d%u: worker control: %s", dom->domid,
			strerror(errno));
}

static struct sup_dev *xb_sup_find_dev(struct sup_dom *dom, unsigned int devid)
{
	for (struct sup_dev *d = dom->devs; d; d = d->next)
		if (d->devid == devid)
			return d;
	return NULL;
}

static void xb_sup_on_worker_line(struct sup_dom *dom, const char *line)
{
	struct sup *s = dom->sup;
	unsigned int devid;
	struct sup_dev *d;
	int off = 0;

	if (sscanf(line, "server %u", &devid) == 1) {
		dom->server = devid;
		return;
	}
	if (sscanf(line, "%*s %u %n", &devid, &off) < 1)
		goto bad;
	d = xb_sup_find_dev(dom, devid);
	if (!d)
		goto bad;
	if (!strncmp(line, "ready ", 6)) {
		if (d->st == SD_ADDING) {
			d->st = SD_READY;
			/* InitWait: the window is served. */
			xb_sup_write_state(s, d, 2);
			log_info(&s->log, "d%u %s: served", dom->domid, d->be);
		}
	} else if (!strncmp(line, "failed ", 7)) {
		refused(s, dom->domid, d->be, "%s", line + off);
		d->st = SD_DONE;
		xb_sup_refuse_dev(s, d->be);
	} else if (!strncmp(line, "closed ", 7)) {
		d->st = SD_DONE;
		xb_sup_write_state(s, d, 6);
		log_info(&s->log, "d%u %s: closed", dom->domid, d->be);
	} else {
		goto bad;
	}
	return;
bad:
	log_warn(&s->log, "d%u: unexpected worker message '%s'", dom->domid,
		 line);
}

/* Stops a watch of @dom's; its memory waits in the graveyard for idleness. */
static void xb_sup_stop_watch(struct sup *s, struct sup_ctl **cp)
{
	struct sup_ctl *c = *cp;

	if (!c)
		return;
	evl_watch_stop(&c->w);
	c->dom = NULL;
	c->next = s->graveyard;
	s->graveyard = c;
	*cp = NULL;
}

/* Stops the watch on the worker's socket. */
static void xb_sup_stop_ctl(struct sup *s, struct sup_dom *dom)
{
	xb_sup_stop_watch(s, &dom->ctlw);
}

static void xb_sup_on_worker(struct evl_watch *w, unsigned int revents)
{
	struct sup_dom *dom = container_of(w, struct sup_ctl, w)->dom;
	ssize_t n;
	char *nl;

	if (!dom)
		return;
	n = read(dom->ctl, dom->buf + dom->len,
		 sizeof(dom->buf) - 1 - dom->len);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		xb_sup_stop_ctl(dom->sup,
				dom); /* the worker is gone; SIGCHLD reaps */
		return;
	}
	dom->len += n;
	dom->buf[dom->len] = '\0';
	while ((nl = strchr(dom->buf, '\n'))) {
		*nl = '\0';
		xb_sup_on_worker_line(dom, dom->buf);
		dom->len -= nl + 1 - dom->buf;
		memmove(dom->buf, nl + 1, dom->len + 1);
	}
	if (dom->len == sizeof(dom->buf) - 1)
		dom->len = 0;
}

/* In the child: becomes @dom's worker on control fd @ctl, or exits 127. */
static void __attribute__((noreturn))
xb_sup_exec_worker(struct sup_dom *dom, int ctl)
{
	struct sup *s = dom->sup;
	char domid[16], fd[4] = "3", stale[8];
	char *argv[14] = { (char *)"xvbd",	(char *)"--worker",
			   (char *)"--domain",	domid,
			   (char *)"--ctl-fd",	fd,
			   (char *)"--run-dir", (char *)s->run_dir };
	sigset_t all;
	int n = 8;

	snprintf(domid, sizeof(domid), "%u", dom->domid);
	snprintf(stale, sizeof(stale), "%d", dom->server);
	if (dom->server >= 0) {
		argv[n++] = (char *)"--stale-server";
		argv[n++] = stale;
	}
	if (dom->guest[0]) {
		argv[n++] = (char *)"--guest";
		argv[n++] = dom->guest;
	}
	if (s->verbose)
		argv[n++] = (char *)"-v";
	argv[n] = NULL;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (dup2(ctl, 3) < 0)
		_exit(127);
	close_range(4, ~0U, 0);
	execv("/proc/self/exe", argv);
	_exit(127);
}

static int xb_sup_spawn(struct sup_dom *dom)
{
	struct sup *s = dom->sup;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (!pid)
		xb_sup_exec_worker(dom, sv[1]);
	close(sv[1]);
	dom->pid = pid;
	dom->ctl = sv[0];
	dom->len = 0;
	fcntl(dom->ctl, F_SETFL, O_NONBLOCK);
	log_info(&s->log, "d%u: worker %d started", dom->domid, (int)pid);
	dom->ctlw = calloc(1, sizeof(*dom->ctlw));
	if (!dom->ctlw)
		return -ENOMEM; /* the caller kills the worker */
	dom->ctlw->dom = dom;
	return evl_watch_start(&s->loop, &dom->ctlw->w, dom->ctl, POLLIN,
			       xb_sup_on_worker);
}

/* Undoes a spawn that failed half-way. */
static void xb_sup_kill_worker(struct sup *s, struct sup_dom *dom)
{
	if (dom->pid > 0) {
		kill(dom->pid, SIGKILL);
		waitpid(dom->pid, NULL, 0);
		dom->pid = -1;
	}
	xb_sup_stop_ctl(s, dom);
	if (dom->ctl >= 0)
		close(dom->ctl);
	dom->ctl = -1;
	free(dom->ctlw); /* never armed if start failed: not busy */
	dom->ctlw = NULL;
}

/*
 * The guest's entry, or NULL; with @guest (its name, maybe ""), one made
 * and its worker started if there is none.
 */
static struct sup_dom *xb_sup_get_dom(struct sup *s, uint32_t domid,
				      const char *guest)
{
	struct sup_dom *dom;

	/* An exiting worker belongs to a dead guest whose id may be reused. */
	for (dom = s->doms; dom; dom = dom->next)
		if (dom->domid == domid && !dom->exiting)
			return dom;
	if (!guest)
		return NULL;
	dom = calloc(1, sizeof(*dom));
	if (!dom)
		return NULL;
	dom->sup = s;
	dom->domid = domid;
	snprintf(dom->guest, sizeof(dom->guest), "%s", guest);
	dom->ctl = -1;
	dom->pid = -1;
	dom->server = -1;
	dom->pidfd = -1;
	if (xb_sup_spawn(dom)) {
		log_err(&s->log, "d%u: cannot start a worker", domid);
		xb_sup_kill_worker(s, dom);
		free(dom);
		return NULL;
	}
	dom->next = s->doms;
	s->doms = dom;
	return dom;
}

/* Forgets a guest whose worker has exited. */
static void xb_sup_free_dom(struct sup *s, struct sup_dom *dom)
{
	struct sup_dom **pp;

	for (pp = &s->doms; *pp && *pp != dom; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = dom->next;
	while (dom->devs) {
		struct sup_dev *d = dom->devs;

		dom->devs = d->next;
		free(d);
	}
	xb_sup_stop_ctl(s, dom);
	xb_sup_stop_watch(s, &dom->pidw);
	if (dom->ctl >= 0)
		close(dom->ctl);
	if (dom->pidfd >= 0)
		close(dom->pidfd);
	free(dom);
}

/* Frees stopped control watches the kernel has let go of. */
static void xb_sup_bury(struct sup *s)
{
	struct sup_ctl **pp = &s->graveyard;

	while (*pp) {
		struct sup_ctl *c = *pp;

		if (evl_watch_busy(&c->w)) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		free(c);
	}
}

/* ---- scanning xenstore --------------------------------------------------- */

/* True if an exiting worker of domain id @domid has not been reaped. */
static bool xb_sup_old_worker(const struct sup *s, uint32_t domid)
{
	for (const struct sup_dom *dom = s->doms; dom; dom = dom->next)
		if (dom->domid == domid && dom->exiting && dom->pid > 0)
			return true;
	return false;
}

/* True if some device of @dom is being added, served or closed. */
static bool xb_sup_dom_live(const struct sup_dom *dom)
{
	for (const struct sup_dev *d = dom->devs; d; d = d->next)
		if (d->st != SD_DONE)
			return true;
	return false;
}

/*
 * The worker a device read well goes to, told to add it; NULL if it must
 * wait (logged) or no worker can be had.
 */
static struct sup_dom *xb_sup_offer_dev(struct sup *s, struct sup_dev *d,
					uint32_t domid)
{
	struct sup_dom *dom = xb_sup_get_dom(s, domid, NULL);

	/*
	 * A worker whose devices are all done is about to be told to exit,
	 * and may serve a guest already destroyed whose id a new guest
	 * reuses (its @releaseDomain not seen yet): it gets no new device. A
	 * fresh worker does.
	 */
	if (dom && !xb_sup_dom_live(dom)) {
		dom->exiting = true;
		xb_sup_send_line(dom, "exit\n");
	}
	/*
	 * Until that worker is gone, a new one for the same domain id could
	 * have its ioreq server destroyed by the old one's teardown (server
	 * ids restart with the domain). The device stays in state 1;
	 * xb_sup_reap() scans again.
	 */
	if (xb_sup_old_worker(s, domid)) {
		log_info(&s->log, "d%u %s: waiting for the old worker", domid,
			 d->be);
		return NULL;
	}
	dom = xb_sup_get_dom(s, domid, d->guest);
	if (!dom)
		return NULL;
	d->st = SD_ADDING;
	xb_sup_send_line(dom, d->msg);
	return dom;
}

static void xb_sup_new_dev(struct sup *s, const char *kind, uint32_t domid,
			   unsigned int devid, const char *be)
{
	struct sup_dom *dom;
	struct sup_dev *d;

	d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->kind = kind;
	d->devid = devid;
	d->seen = true;
	snprintf(d->be, sizeof(d->be), "%s", be);
	snprintf(s->why, sizeof(s->why), "refused: xvbd's log says why");
	if (xb_sup_read_dev(s, d, domid)) {
		xb_sup_refuse_dev(s, d->be);
		d->st = SD_DONE;
		/* Remembered with its worker, if it has one. */
		dom = xb_sup_get_dom(s, domid, NULL);
	} else {
		dom = xb_sup_offer_dev(s, d, domid);
	}
	if (!dom) {
		free(d);
		return;
	}
	d->dom = dom;
	d->next = dom->devs;
	dom->devs = d;
}

static struct sup_dev *xb_sup_lookup(struct sup *s, const char *be)
{
	for (struct sup_dom *dom = s->doms; dom; dom = dom->next)
		for (struct sup_dev *d = dom->devs; d && !dom->exiting;
		     d = d->next)
			if (!strcmp(d->be, be))
				return d;
	return NULL;
}

static void xb_sup_forget_dev(struct sup_dev *d)
{
	struct sup_dev **pp;

	for (pp = &d->dom->devs; *pp && *pp != d; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = d->next;
	free(d);
}

static void xb_sup_close_dev(struct sup_dev *d)
{
	char line[32];

	if (d->st != SD_ADDING && d->st != SD_READY)
		return;
	d->st = SD_CLOSING;
	snprintf(line, sizeof(line), "close %u\n", d->devid);
	xb_sup_send_line(d->dom, line);
}

static void xb_sup_scan_dev(struct sup *s, const char *kind, uint32_t domid,
			    unsigned int devid)
{
	uint64_t state = 0, online = 0, feid;
	struct sup_dev *d;
	char be[160];

	snprintf(be, sizeof(be), "%s/%s/%u/%u", s->root, kind, domid, devid);
	d = xb_sup_lookup(s, be);
	if (xb_sup_xs_get_u64(s, be, "state", 255, &state))
		return;
	xb_sup_xs_get_u64(s, be, "online", 1, &online);
	/* Done with, and libxl wrote it anew: a new device (id reuse). */
	if (d && d->st == SD_DONE && state == 1 && online) {
		xb_sup_forget_dev(d);
		d = NULL;
	}
	if (d) {
		d->seen = true;
		if (state == 5 || !online)
			xb_sup_close_dev(d);
		/* Closing written over our Closed: answer it again. */
		if (d->st == SD_DONE && state == 5)
			xb_sup_write_state(s, d, 6);
		return;
	}
	/* Not ours (refused, or from before us) but Closing: say Closed. */
	if (state == 5) {
		struct sup_dev gone = { .devid = devid };

		snprintf(gone.be, sizeof(gone.be), "%s", be);
		xb_sup_write_state(s, &gone, 6);
		return;
	}
	/* libxl creates devices in state 1 (Initialising), online=1. */
	if (state != 1 || !online)
		return;
	if (xb_sup_xs_get_u64(s, be, "frontend-id", 0x7fef, &feid) ||
	    feid != domid) {
		refused(s, domid, be, "frontend-id is not %u", domid);
		xb_sup_refuse_dev(s, be);
		return;
	}
	xb_sup_new_dev(s, kind, domid, devid, be);
}

static void xb_sup_scan_kind(struct sup *s, const char *kind)
{
	char path[128], **doms, **devs;
	unsigned int nd, nv, i, j;
	uint64_t domid, devid;

	snprintf(path, sizeof(path), "%s/%s", s->root, kind);
	doms = xs_directory(s->xs, XBT_NULL, path, &nd);
	for (i = 0; doms && i < nd; i++) {
		char dpath[160];

		if (xb_parse_u64(doms[i], 1, 0x7fef, &domid))
			continue;
		snprintf(dpath, sizeof(dpath), "%s/%s", path, doms[i]);
		devs = xs_directory(s->xs, XBT_NULL, dpath, &nv);
		for (j = 0; devs && j < nv; j++)
			if (!xb_parse_u64(devs[j], 0, INT32_MAX, &devid))
				xb_sup_scan_dev(s, kind, domid, devid);
		free(devs);
	}
	free(doms);
}

static void xb_sup_scan(struct sup *s)
{
	struct sup_dom *dom;
	struct sup_dev *d;

	for (dom = s->doms; dom; dom = dom->next)
		for (d = dom->devs; d; d = d->next)
			d->seen = false;
	for (unsigned int k = 0; k < ARRAY_SIZE(kinds); k++)
		xb_sup_scan_kind(s, kinds[k]);
	for (dom = s->doms; dom; dom = dom->next) {
		bool live = false;

		/* Nodes removed without a Closing first: tear down anyway. */
		for (d = dom->devs; d; d = d->next) {
			if (!d->seen)
				xb_sup_close_dev(d);
			live |= d->st != SD_DONE;
		}
		/* A dead guest, or one with nothing left to serve. */
		if (!dom->exiting &&
		    (!live || !xs_is_domain_introduced(s->xs, dom->domid))) {
			dom->exiting = true;
			xb_sup_send_line(dom, "exit\n");
		}
	}
}

static void xb_sup_on_xs(struct evl_watch *w, unsigned int revents)
{
	struct sup *s = container_of(w, struct sup, xs_w);
	char **ev;
	bool any = false;

	xb_sup_bury(s);
	while ((ev = xs_check_watch(s->xs))) {
		free(ev);
		any = true;
	}
	if (any)
		xb_sup_scan(s);
}

/* ---- taking over the workers of an earlier supervisor -------------------- */

static void xb_sup_on_adopted_exit(struct evl_watch *w, unsigned int revents);

/* The longest answer to "hello": 16 devices of a path each, and some. */
#define HELLO_MAX (16 * (PATH_MAX + 512) + 256)

/* Connects to the worker socket @path. Returns the fd, or -errno. */
static int xb_sup_worker_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/*
 * Reads from @fd into @buf until it holds a line @last (or "busy"), the
 * peer closes, or @ms pass. Returns the bytes read, or -1.
 */
static ssize_t xb_sup_read_until(int fd, char *buf, size_t size,
				 const char *last, int ms)
{
	size_t len = 0;

	buf[0] = '\0';
	while (len < size - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, ms) <= 0)
			return -1;
		n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			return len;
		len += n;
		buf[len] = '\0';
		if (strstr(buf, last) || !strncmp(buf, "busy\n", 5))
			return len;
	}
	return -1;
}

/*
 * The backend directory of device @devid of @domid a "have" line names:
 * the kind whose directory has a state node (a disk slot is virtio_disk,
 * a generic device virtio), else virtio_disk.
 */
static const char *xb_sup_adopted_kind(struct sup *s, uint32_t domid,
				       unsigned int devid, char *be, size_t len)
{
	char st[8];

	for (unsigned int k = 0; k < ARRAY_SIZE(kinds); k++) {
		snprintf(be, len, "%s/%s/%u/%u", s->root, kinds[k], domid,
			 devid);
		if (!xb_sup_xs_get(s, be, "state", st, sizeof(st)))
			return kinds[k];
	}
	snprintf(be, len, "%s/%s/%u/%u", s->root, kinds[0], domid, devid);
	return kinds[0];
}

/* A device the worker of @dom serves ("have <type> <devid> <spec>"). */
static void xb_sup_adopt_dev(struct sup *s, struct sup_dom *dom,
			     const char *args)
{
	char name[32];
	unsigned int devid;
	uint64_t state;
	struct sup_dev *d;

	if (sscanf(args, "%31s %u", name, &devid) != 2 ||
	    !xvb_devtype_by_name(name))
		return;
	d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->dom = dom;
	d->devid = devid;
	d->st = SD_READY;
	d->kind =
		xb_sup_adopted_kind(s, dom->domid, devid, d->be, sizeof(d->be));
	snprintf(d->msg, sizeof(d->msg), "add %s\n", args);
	/* Served, but its "ready" went to the supervisor before us. */
	if (!xb_sup_xs_get_u64(s, d->be, "state", 255, &state) && state == 1)
		xb_sup_write_state(s, d, 2);
	d->next = dom->devs;
	dom->devs = d;
}

/*
 * Connects to the worker on @path and asks it what it serves ("hello"),
 * into @buf (HELLO_MAX bytes): its fd, or -1 (logged; a socket nobody
 * listens on, its worker killed, is removed).
 */
static int xb_sup_adopt_hello(struct sup *s, uint32_t domid, const char *path,
			      char *buf)
{
	unsigned int tries = 0;
	int fd;

again:
	fd = xb_sup_worker_connect(path);
	if (fd == -ECONNREFUSED || fd == -ENOENT) {
		log_info(&s->log, "d%u: no worker behind %s: removed", domid,
			 path);
		unlink(path);
		return -1;
	}
	if (fd < 0) {
		log_err(&s->log, "d%u: %s: %s", domid, path, strerror(-fd));
		return -1;
	}
	/* A worker that answers "busy" closes at once: our "hello" may
	 * fail, its answer is still there to read. */
	send(fd, "hello\n", 6, MSG_NOSIGNAL);
	if (xb_sup_read_until(fd, buf, HELLO_MAX, "\nend\n", 5000) < 0) {
		log_err(&s->log, "d%u: the worker on %s does not answer", domid,
			path);
		goto fail;
	}
	/*
	 * A supervisor just killed may hold the worker's socket a little
	 * longer (the kernel tears its io_uring down after it): ask again
	 * for 3 s before believing another supervisor runs.
	 */
	if (!strncmp(buf, "busy\n", 5) && ++tries < 30) {
		close(fd);
		usleep(100000);
		goto again;
	}
	if (!strncmp(buf, "busy\n", 5)) {
		log_err(&s->log,
			"d%u: the worker on %s is controlled by another supervisor",
			domid, path);
		goto fail;
	}
	if (strstr(buf, "\nend\n"))
		return fd;
	log_err(&s->log, "d%u: the worker on %s closed", domid, path);
fail:
	close(fd);
	return -1;
}

/* The answer to "hello": its ioreq server and a device per "have" line. */
static unsigned int xb_sup_adopt_answer(struct sup *s, struct sup_dom *dom,
					char *buf)
{
	unsigned int n = 0;
	char *line, *nl;

	for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		if (!strcmp(line, "end"))
			break;
		if (sscanf(line, "server %d", &dom->server) == 1)
			continue;
		if (!strncmp(line, "have ", 5)) {
			xb_sup_adopt_dev(s, dom, line + 5);
			n++;
		}
	}
	return n;
}

/*
 * Watches the adopted worker of @dom: its socket, and its exit on a pidfd
 * (it is not our child). Returns 0, or -1 with @dom freed (logged; the
 * worker serves on).
 */
static int xb_sup_adopt_watch(struct sup *s, struct sup_dom *dom)
{
	dom->pidfd = (int)syscall(SYS_pidfd_open, dom->pid, 0);
	dom->ctlw = calloc(1, sizeof(*dom->ctlw));
	dom->pidw = calloc(1, sizeof(*dom->pidw));
	if (dom->pidfd < 0 || !dom->ctlw || !dom->pidw) {
		log_err(&s->log, "d%u: cannot watch worker %d: %s", dom->domid,
			(int)dom->pid, strerror(errno));
		free(dom->ctlw);
		free(dom->pidw);
		dom->ctlw = dom->pidw = NULL;
		goto fail;
	}
	dom->ctlw->dom = dom;
	dom->pidw->dom = dom;
	fcntl(dom->ctl, F_SETFL, O_NONBLOCK);
	if (!evl_watch_start(&s->loop, &dom->ctlw->w, dom->ctl, POLLIN,
			     xb_sup_on_worker) &&
	    !evl_watch_start(&s->loop, &dom->pidw->w, dom->pidfd, POLLIN,
			     xb_sup_on_adopted_exit))
		return 0;
	log_err(&s->log, "d%u: cannot watch worker %d", dom->domid,
		(int)dom->pid);
fail:
	dom->ctl = -1; /* the caller closes it; the worker serves on */
	xb_sup_free_dom(s, dom);
	return -1;
}

/*
 * Takes control of the worker listening on @path for guest @domid: asks it
 * what it serves ("hello") and handles it from here on as if we had
 * started it.
 */
static void xb_sup_adopt(struct sup *s, uint32_t domid, const char *path)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct sup_dom *dom = calloc(1, sizeof(*dom));
	char *buf = malloc(HELLO_MAX);
	unsigned int n;
	int fd = -1;

	if (!dom || !buf)
		goto out;
	fd = xb_sup_adopt_hello(s, domid, path, buf);
	if (fd < 0)
		goto out;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen)) {
		log_err(&s->log, "d%u: the worker on %s does not answer", domid,
			path);
		goto out;
	}
	dom->sup = s;
	dom->domid = domid;
	dom->pid = cred.pid;
	dom->server = -1;
	dom->adopted = true;
	dom->ctl = fd;
	n = xb_sup_adopt_answer(s, dom, buf);
	if (xb_sup_adopt_watch(s, dom)) {
		dom = NULL; /* freed */
		goto out;
	}
	dom->next = s->doms;
	s->doms = dom;
	log_info(
		&s->log,
		"d%u: took control of worker %d (%u device(s), ioreq server %d)",
		domid, (int)cred.pid, n, dom->server);
	fd = -1;
	dom = NULL;
out:
	if (fd >= 0)
		close(fd);
	free(dom);
	free(buf);
}

/* Takes control of every worker listening in the run directory. */
static int xb_sup_adopt_all(struct sup *s)
{
	struct dirent *e;
	DIR *d;

	if (mkdir(s->run_dir, 0700) && errno != EEXIST) {
		log_err(&s->log, "cannot create %s: %s", s->run_dir,
			strerror(errno));
		return -errno;
	}
	d = opendir(s->run_dir);
	if (!d) {
		log_err(&s->log, "%s: %s", s->run_dir, strerror(errno));
		return -errno;
	}
	while ((e = readdir(d))) {
		char path[PATH_MAX], tail[8] = "";
		unsigned int domid;

		if (sscanf(e->d_name, "d%u.sock%7s", &domid, tail) != 1 ||
		    !domid || domid > 0x7fef)
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->run_dir, e->d_name);
		xb_sup_adopt(s, domid, path);
	}
	closedir(d);
	return 0;
}

/*
 * Tells the worker on @path to exit, if no supervisor controls it: 1 if it
 * stopped, 0 if nobody listened (the socket removed), -1 if it is busy.
 */
static int xb_sup_stop_one(struct log_ctx *log, unsigned int domid,
			   const char *path)
{
	char buf[64];
	int fd = xb_sup_worker_connect(path), rc = 1;

	if (fd == -ECONNREFUSED || fd == -ENOENT) {
		unlink(path);
		return 0;
	}
	if (fd < 0) {
		log_err(log, "d%u: %s: %s", domid, path, strerror(-fd));
		return -1;
	}
	/* The worker answers "busy" at once if a supervisor has it;
	 * otherwise it takes "exit" and closes once torn down. */
	send(fd, "exit\n", 5, MSG_NOSIGNAL);
	if (xb_sup_read_until(fd, buf, sizeof(buf), "\n", 10000) != 0) {
		log_err(log,
			"d%u: its worker is controlled by a running supervisor: stop it first (systemctl stop xvbd, or SIGINT to stop it with its workers)",
			domid);
		rc = -1;
	} else {
		log_info(log, "d%u: worker stopped", domid);
	}
	close(fd);
	return rc;
}

int xb_stop_all(const char *dir)
{
	struct log_ctx log;
	unsigned int stopped = 0, busy = 0;
	struct dirent *e;
	DIR *d;

	log_ctx_init(&log, -1, NULL);
	dir = dir ? dir : XB_RUN_DIR;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT) {
			log_info(&log, "%s does not exist: no workers", dir);
			return 0;
		}
		log_err(&log, "%s: %s", dir, strerror(errno));
		return 1;
	}
	while ((e = readdir(d))) {
		char path[PATH_MAX], tail[8] = "";
		unsigned int domid;
		int rc;

		if (sscanf(e->d_name, "d%u.sock%7s", &domid, tail) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		rc = xb_sup_stop_one(&log, domid, path);
		stopped += rc > 0;
		busy += rc < 0;
	}
	closedir(d);
	log_info(&log, "%u worker(s) stopped, %u left", stopped, busy);
	return busy ? 1 : 0;
}

/* ---- children and signals ------------------------------------------------ */

/*
 * Sends a respawned worker every device its predecessor served, then
 * "retire": with their windows up, it may remove the dead worker's ioreq
 * server, which it answers for until then.
 */
static void xb_sup_readd(struct sup *s, struct sup_dom *dom)
{
	for (struct sup_dev *d = dom->devs; d; d = d->next) {
		if (d->st != SD_ADDING && d->st != SD_READY)
			continue;
		d->st = SD_ADDING;
		xb_sup_send_line(dom, d->msg);
	}
	xb_sup_send_line(dom, "retire\n");
}

static void xb_sup_scan(struct sup *s);

/*
 * @dom's worker @pid is gone (@clean: it exited 0, or was told to exit):
 * respawns it if its guest lives, else its devices get state 6 and @dom is
 * freed. Returns true if @dom was freed.
 */
static bool xb_sup_worker_gone(struct sup *s, struct sup_dom *dom, pid_t pid,
			       bool clean, int status)
{
	time_t now = time(NULL);

	dom->pid = -1;
	xb_sup_stop_ctl(s, dom);
	xb_sup_stop_watch(s, &dom->pidw);
	if (dom->ctl >= 0)
		close(dom->ctl);
	dom->ctl = -1;
	if (dom->pidfd >= 0)
		close(dom->pidfd);
	dom->pidfd = -1;
	dom->adopted = false;
	dom->len = 0;
	if (clean || !xs_is_domain_introduced(s->xs, dom->domid)) {
		log_info(&s->log, "d%u: worker %d exited", dom->domid,
			 (int)pid);
	} else {
		if (status >= 0)
			log_err(&s->log, "d%u: worker %d died (status 0x%x)",
				dom->domid, (int)pid, status);
		else
			log_err(&s->log, "d%u: worker %d died", dom->domid,
				(int)pid);
		if (now - dom->restart_window > RESTART_WINDOW) {
			dom->restart_window = now;
			dom->restarts = 0;
		}
		if (dom->restarts++ < MAX_RESTARTS) {
			if (!xb_sup_spawn(dom)) {
				xb_sup_readd(s,
					     dom); /* the guest sees a reset */
				return false;
			}
			xb_sup_kill_worker(s, dom);
		}
		log_err(&s->log, "d%u: giving up on its devices", dom->domid);
	}
	for (struct sup_dev *d = dom->devs; d; d = d->next)
		if (d->st != SD_DONE)
			xb_sup_write_state(s, d, 6);
	xb_sup_free_dom(s, dom);
	return true;
}

/*
 * Reaps exited workers, respawning those whose guest lives. With @rescan,
 * scans xenstore again once one is gone: a new guest reusing its domain id
 * may be waiting for it.
 */
static void xb_sup_reap(struct sup *s, bool rescan)
{
	struct sup_dom *dom;
	bool freed = false;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (dom = s->doms; dom && (dom->pid != pid || dom->adopted);
		     dom = dom->next)
			;
		if (dom)
			freed |= xb_sup_worker_gone(
				s, dom, pid,
				WIFEXITED(status) && !WEXITSTATUS(status),
				status);
	}
	if (freed && rescan)
		xb_sup_scan(s);
}

/* An adopted worker's pidfd is readable: it exited. */
static void xb_sup_on_adopted_exit(struct evl_watch *w, unsigned int revents)
{
	struct sup_dom *dom = container_of(w, struct sup_ctl, w)->dom;
	struct sup *s;

	if (!dom)
		return;
	s = dom->sup;
	xb_sup_bury(s);
	if (xb_sup_worker_gone(s, dom, dom->pid, dom->exiting, -1))
		xb_sup_scan(s);
}

/* SIGUSR1: the guests served, and each worker asked for its own state. */
static void xb_sup_log_state(struct sup *s)
{
	unsigned int n = 0;

	for (struct sup_dom *dom = s->doms; dom; dom = dom->next)
		n++;
	log_info(&s->log, "state: %u guest(s)", n);
	for (struct sup_dom *dom = s->doms; dom; dom = dom->next) {
		unsigned int devs = 0;

		for (struct sup_dev *d = dom->devs; d; d = d->next)
			devs++;
		log_info(&s->log,
			 "d%u: worker %d, %u device(s), %u restart(s)%s",
			 dom->domid, (int)dom->pid, devs, dom->restarts,
			 dom->exiting ? ", exiting" : "");
		if (dom->pid > 0 && dom->ctlw && !dom->exiting)
			xb_sup_send_line(dom, "state\n");
	}
}

/*
 * SIGHUP: xvbd.conf again. Devices already served keep what they have; a
 * file that does not load leaves the one before in force.
 */
static void xb_sup_reload(struct sup *s)
{
	struct xb_config cfg;
	char err[PATH_MAX + 200];

	if (xb_config_load(&cfg, s->config_path, s->config_named, err,
			   sizeof(err))) {
		log_err(&s->log,
			"SIGHUP: %s: keeping the configuration loaded before",
			err);
		return;
	}
	xb_config_free(&s->cfg);
	s->cfg = cfg;
	log_info(
		&s->log,
		"SIGHUP: %s re-read (%u setting(s)), for devices added from now on",
		s->config_path, cfg.n);
}

static void xb_sup_on_signal(struct evl_watch *w, unsigned int revents)
{
	struct sup *s = container_of(w, struct sup, sig_w);
	struct signalfd_siginfo si;

	xb_sup_bury(s);
	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			xb_sup_reap(s, true);
			continue;
		}
		if (si.ssi_signo == SIGHUP) {
			/* systemctl reload: the file again, for devices added
			 * from now on, and disks re-read their stores' sizes. */
			xb_sup_reload(s);
			log_info(&s->log, "SIGHUP: disks re-read their sizes");
			for (struct sup_dom *dom = s->doms; dom;
			     dom = dom->next)
				xb_sup_send_line(dom, "resize\n");
			continue;
		}
		if (si.ssi_signo == SIGUSR1) {
			xb_sup_log_state(s);
			continue;
		}
		/*
		 * SIGTERM (systemctl stop or restart, an upgrade): only the
		 * supervisor goes; its workers serve on, and the next
		 * supervisor takes control of them. SIGINT (Ctrl-C): the
		 * workers stop too, their devices closed.
		 */
		s->stop_all = si.ssi_signo == SIGINT;
		log_info(&s->log, "signal %u: shutting down%s", si.ssi_signo,
			 s->stop_all ? " with every worker" :
				       "; the workers serve on");
		evl_stop(&s->loop);
	}
}

/* Whether the adopted worker of @dom has exited, waiting up to @ms. */
static bool xb_sup_adopted_exited(struct sup_dom *dom, int ms)
{
	struct pollfd p = { .fd = dom->pidfd, .events = POLLIN };

	return dom->pidfd < 0 || poll(&p, 1, ms) > 0;
}

/*
 * SIGTERM: the supervisor leaves its workers serving. Their sockets close,
 * which a worker with a run directory takes as "serve on".
 */
static void xb_sup_leave_workers(struct sup *s)
{
	unsigned int n = 0;

	while (s->doms) {
		n += s->doms->pid > 0;
		xb_sup_free_dom(s, s->doms);
	}
	if (n)
		log_info(
			&s->log,
			"%u worker(s) left serving their guests: the next supervisor takes control through %s",
			n, s->run_dir);
}

/* Tells every worker to exit and waits up to 5 s before killing them. */
static void xb_sup_stop_workers(struct sup *s)
{
	struct sup_dom *dom;
	int i;

	for (dom = s->doms; dom; dom = dom->next) {
		xb_sup_send_line(dom, "exit\n");
		dom->exiting = true;
	}
	for (i = 0; i < 100 && s->doms; i++) {
		xb_sup_reap(s, false);
		for (dom = s->doms; dom; dom = dom->next)
			if (dom->adopted && xb_sup_adopted_exited(dom, 0)) {
				xb_sup_worker_gone(s, dom, dom->pid, true, -1);
				break; /* the list changed */
			}
		if (s->doms)
			usleep(50000);
	}
	for (dom = s->doms; dom; dom = dom->next)
		if (dom->pid > 0)
			kill(dom->pid, SIGKILL);
	while (s->doms) {
		if (s->doms->adopted)
			xb_sup_adopted_exited(s->doms, 2000);
		else if (s->doms->pid > 0)
			waitpid(s->doms->pid, NULL, 0);
		for (struct sup_dev *d = s->doms->devs; d; d = d->next)
			if (d->st != SD_DONE)
				xb_sup_write_state(s, d, 6);
		xb_sup_free_dom(s, s->doms);
	}
}

static void xb_sup_sup_exit(struct sup *s)
{
	/* A startup failure may come before the loop exists. */
	if (s->loop_ok) {
		evl_watch_stop(&s->xs_w);
		evl_watch_stop(&s->sig_w);
		evl_drain(&s->loop, 1000);
		xb_sup_bury(s);
		evl_exit(&s->loop);
		s->loop_ok = false;
	}
	if (s->sigfd >= 0)
		close(s->sigfd);
	s->sigfd = -1;
	if (s->xs)
		xs_close(s->xs);
	s->xs = NULL;
}

/*
 * One supervisor per backend domain: two would both serve each guest (two
 * ioreq servers on one window) and open its images twice. A POSIX lock on
 * RUN_DIR/supervisor.lock: the kernel drops it when the process dies, the
 * workers do not inherit it, and F_GETLK names the holder.
 */
static int xb_sup_take_lock(struct sup *s)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[PATH_MAX];
	int fd;

	if (mkdir(s->run_dir, 0755) && errno != EEXIST) {
		log_err(&s->log,
			"cannot create %s: %s (--run-dir names another directory)",
			s->run_dir, strerror(errno));
		return EX_CANTCREAT;
	}
	snprintf(path, sizeof(path), "%s/" XB_LOCK_NAME, s->run_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		log_err(&s->log, "cannot open %s: %s", path, strerror(errno));
		return EX_CANTCREAT;
	}
	if (fcntl(fd, F_SETLK, &fl)) {
		int e = errno;
		struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		if (e != EAGAIN && e != EACCES) {
			log_err(&s->log, "cannot lock %s: %s", path,
				strerror(e));
			close(fd);
			return EX_OSERR;
		}
		if (fcntl(fd, F_GETLK, &q) || q.l_type == F_UNLCK)
			q.l_pid = 0;
		if (q.l_pid > 0)
			log_err(&s->log,
				"another xvbd supervisor (pid %d) holds %s: one serves this backend domain; stop it first",
				(int)q.l_pid, path);
		else
			log_err(&s->log,
				"another xvbd supervisor holds %s: one serves this backend domain; stop it first",
				path);
		close(fd);
		return EX_TEMPFAIL;
	}
	/* For a human reading it; the lock is what counts. */
	if (!ftruncate(fd, 0))
		dprintf(fd, "%d\n", (int)getpid());
	s->lock_fd = fd;
	return 0;
}

/* The signals the supervisor handles, on its loop. 0 or a sysexits code. */
static int xb_sup_setup_signals(struct sup *s)
{
	sigset_t set;
	int rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	s->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sigfd < 0) {
		log_err(&s->log, "signalfd: %s", strerror(errno));
		return EX_OSERR;
	}
	rc = evl_watch_start(&s->loop, &s->sig_w, s->sigfd, POLLIN,
			     xb_sup_on_signal);
	if (rc) {
		log_err(&s->log, "watching signals: %s", strerror(-rc));
		return EX_OSERR;
	}
	return 0;
}

/* xenstore's watches: each backend kind, and guests going. */
static int xb_sup_setup_watches(struct sup *s)
{
	char path[128];
	int rc;

	for (unsigned int k = 0; k < ARRAY_SIZE(kinds); k++) {
		snprintf(path, sizeof(path), "%s/%s", s->root, kinds[k]);
		if (!xs_watch(s->xs, path, kinds[k])) {
			log_err(&s->log,
				"cannot watch %s in xenstore: %s: is xvbd running in the backend domain, as root?",
				path, strerror(errno));
			return EX_UNAVAILABLE;
		}
	}
	if (!xs_watch(s->xs, "@releaseDomain", "release")) {
		log_err(&s->log, "cannot watch @releaseDomain: %s",
			strerror(errno));
		return EX_UNAVAILABLE;
	}
	rc = evl_watch_start(&s->loop, &s->xs_w, xs_fileno(s->xs), POLLIN,
			     xb_sup_on_xs);
	if (rc) {
		log_err(&s->log, "watching xenstore: %s", strerror(-rc));
		return EX_OSERR;
	}
	log_info(&s->log, "watching %s/{virtio_disk,virtio}", s->root);
	return 0;
}

/* xenstore, and the backend directory of the domain we run in. */
static int xb_sup_setup_xs(struct sup *s)
{
	uint64_t self = 0;
	unsigned int len;
	char buf[16], *v;

	s->xs = xs_open(0);
	if (!s->xs) {
		log_err(&s->log,
			"cannot open xenstore: %s: is xenstored running? (and is this a Xen domain with xenfs at /proc/xen)",
			strerror(errno));
		return EX_UNAVAILABLE;
	}
	v = xs_read(s->xs, XBT_NULL, "domid", &len);
	if (v && len < sizeof(buf)) {
		memcpy(buf, v, len + 1);
		xb_parse_u64(buf, 0, 0x7fef, &self);
	}
	free(v);
	s->self = self;
	snprintf(s->root, sizeof(s->root), "/local/domain/%u/backend", s->self);
	return 0;
}

/*
 * Everything before the loop runs. Each failure is one log line naming the
 * cause and what to do, and a sysexits(3) code; 0 once watching.
 */
static int xb_sup_setup(struct sup *s)
{
	char err[PATH_MAX + 200];
	int rc;

	rc = xb_config_load(&s->cfg, s->config_path, s->config_named, err,
			    sizeof(err));
	if (rc) {
		log_err(&s->log, "%s", err);
		return rc == -EINVAL ? EX_CONFIG : EX_NOINPUT;
	}
	rc = xb_sup_take_lock(s);
	if (!rc)
		rc = xb_sup_setup_xs(s);
	if (rc)
		return rc;
	rc = evl_init(&s->loop, 64);
	if (rc) {
		log_err(&s->log,
			"cannot set up io_uring: %s: xvbd needs a kernel with io_uring enabled (sysctl kernel.io_uring_disabled=0)",
			strerror(-rc));
		return EX_OSERR;
	}
	s->loop_ok = true;
	rc = xb_sup_setup_signals(s);
	if (rc)
		return rc;
	/* The workers an earlier supervisor left, before any event. */
	if (xb_sup_adopt_all(s))
		return EX_CANTCREAT; /* (logged) */
	rc = xb_sup_setup_watches(s);
	if (rc)
		return rc;
	xb_sup_scan(s);
	return 0;
}

int xb_supervisor_run(const char *config, const char *run_dir,
		      enum log_level level)
{
	static struct sup s;
	int rc;

	s.run_dir = run_dir ? run_dir : XB_RUN_DIR;
	s.lock_fd = -1;
	s.config_path = config ? config : XB_CONFIG_PATH;
	s.config_named = config != NULL;
	s.sigfd = -1;
	s.verbose = level >= LOG_DBG;
	log_ctx_init(&s.log, -1, NULL);
	rc = xb_sup_setup(&s);
	if (!rc) {
		rc = evl_run(&s.loop);
		if (rc) {
			log_err(&s.log, "event loop: %s", strerror(-rc));
			rc = EX_SOFTWARE;
		}
	}
	/* SIGINT stops the workers too; SIGTERM or a failure leaves them
	 * serving for the next supervisor. */
	if (s.stop_all)
		xb_sup_stop_workers(&s);
	else
		xb_sup_leave_workers(&s);
	xb_sup_sup_exit(&s);
	xb_config_free(&s.cfg);
	if (s.lock_fd >= 0)
		close(s.lock_fd); /* the lock goes with it */
	return rc;
}
