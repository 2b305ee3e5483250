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
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "conf.h"
#include "config.h"
#include "lib/evl.h"
#include "supervisor.h"

#define MAX_RESTARTS 3	  /* per guest ... */
#define RESTART_WINDOW 60 /* ... within this many seconds */

enum sup_state {
	SD_ADDING,  /* sent to the worker, not ready yet */
	SD_READY,   /* served; state 2 written */
	SD_CLOSING, /* close sent */
	SD_DONE,    /* closed or refused; state 6 written */
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
	char msg[PATH_MAX + 200]; /* the "add" line for the worker */
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
	bool exiting; /* "exit" sent */
	int server;   /* the worker's ioreq server id, or -1 */
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
	bool config_named; /* --config: the file must exist */
	const char *run_dir;
	int lock_fd; /* holds the supervisor lock, or -1 */
	struct xb_config cfg;
	struct log_ctx log;
	struct sup_dom *doms;
	struct sup_ctl *graveyard; /* stopped watches, freed once idle */
};

static const char *const kinds[] = { "virtio_disk", "virtio" };

/* ---- xenstore helpers ---------------------------------------------------- */

/* Reads @dir/@node into @buf (NUL-terminated). Returns 0, -ENOENT, -ERANGE. */
static int xs_get(struct sup *s, const char *dir, const char *node, char *buf,
		  size_t size)
{
	char path[256];
	unsigned int len;
	char *v;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	v = xs_read(s->xs, XBT_NULL, path, &len);
	if (!v)
		return -ENOENT;
	if (len >= size || strlen(v) != len) { /* too long, or embedded NUL */
		free(v);
		return -ERANGE;
	}
	memcpy(buf, v, len + 1);
	free(v);
	return 0;
}

static int xs_get_u64(struct sup *s, const char *dir, const char *node,
		      uint64_t max, uint64_t *out)
{
	char buf[32];
	int rc = xs_get(s, dir, node, buf, sizeof(buf));

	return rc ? rc : xb_parse_u64(buf, 0, max, out);
}

static void write_state(struct sup *s, const struct sup_dev *d, int state)
{
	char path[200], val[4];

	snprintf(path, sizeof(path), "%s/state", d->be);
	snprintf(val, sizeof(val), "%d", state);
	if (!xs_write(s->xs, XBT_NULL, path, val, strlen(val)))
		log_err(&s->log, "writing %s: %s", path, strerror(errno));
}

/* ---- reading one device's nodes ------------------------------------------ */

/* Only plain names reach the serial and the control line. */
static bool plain(const char *v)
{
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && *v != '-' && *v != '_')
			return false;
	return true;
}

/* The prefix of a disk's target that makes the slot a NIC (Xen 4.17). */
#define NIC_TARGET "xvb-net:"

/*
 * A disk's @key from xvbd.conf: in [guest NAME], then in [blk], appended to
 * @out as ",key=N"; "auto" or absent leaves the choice to the worker.
 * Returns 0, or -EINVAL (logged) for a value outside [@min, @max].
 */
static int blk_key(struct sup *s, uint32_t domid, struct sup_dev *d,
		   const char *key, uint64_t min, uint64_t max, char *out,
		   size_t outlen)
{
	char name[64] = "", home[72], section[80];
	const char *v;
	uint64_t n;

	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	if (xs_get(s, home, "name", name, sizeof(name)) || !plain(name))
		snprintf(name, sizeof(name), "domain%u", domid);
	snprintf(section, sizeof(section), "guest %s", name);
	v = xb_config_get(&s->cfg, section, key);
	if (!v)
		v = xb_config_get(&s->cfg, "blk", key);
	if (!v || !strcmp(v, "auto"))
		return 0;
	if (xb_parse_u64(v, min, max, &n)) {
		log_err(&s->log,
			"d%u %s: refused: xvbd.conf: %s '%s' is not auto or "
			"%llu to %llu",
			domid, d->be, key, v, (unsigned long long)min,
			(unsigned long long)max);
		return -EINVAL;
	}
	snprintf(out + strlen(out), outlen - strlen(out), ",%s=%llu", key,
		 (unsigned long long)n);
	return 0;
}

/*
 * A number @key of NIC @index from xvbd.conf (nicN.KEY in [guest NAME],
 * then KEY in [net]), @min to @max, as ",KEY=N" in @out; absent (or
 * "auto" where @can_auto) leaves @out empty, to the worker's default.
 */
static int nic_num(struct sup *s, const char *name, unsigned int index,
		   const char *key, uint64_t min, uint64_t max, bool can_auto,
		   char *out, size_t outlen, char *err, size_t errlen)
{
	char section[80], nkey[32];
	const char *v;
	uint64_t n;

	snprintf(section, sizeof(section), "guest %s", name);
	snprintf(nkey, sizeof(nkey), "nic%u.%s", index, key);
	v = xb_config_get(&s->cfg, section, nkey);
	if (!v)
		v = xb_config_get(&s->cfg, "net", key);
	out[0] = '\0';
	if (!v || (can_auto && !strcmp(v, "auto")))
		return 0;
	if (xb_parse_u64(v, min, max, &n)) {
		snprintf(err, errlen,
			 "xvbd.conf: NIC %s '%s' is not %s%llu to %llu", key, v,
			 can_auto ? "auto or " : "", (unsigned long long)min,
			 (unsigned long long)max);
		return -EINVAL;
	}
	snprintf(out, outlen, ",%s=%llu", key, (unsigned long long)n);
	return 0;
}

/*
 * Keys of a NIC's disk-slot target that libxl owns (the slot's window,
 * interrupt, grants and id): named there, they are refused, not ignored.
 */
static const char *slot_owned_key(const char *opts)
{
	static const char *const owned[] = { "base", "irq", "grants", "devid" };
	const char *p = opts;

	while (p && *p) {
		size_t n = strcspn(p, "=,");

		for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
			if (strlen(owned[i]) == n && !strncmp(p, owned[i], n))
				return owned[i];
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return NULL;
}

/*
 * The NIC being added or served that has MAC @mac_s ("aa:...:ff"), or NULL.
 * Devices being closed, and exiting workers' (a rebooting guest's old
 * self), do not count.
 */
static const struct sup_dev *mac_user(struct sup *s, const char *mac_s)
{
	char needle[32];

	snprintf(needle, sizeof(needle), ",mac=%s,", mac_s);
	for (struct sup_dom *dom = s->doms; dom; dom = dom->next) {
		if (dom->exiting)
			continue;
		for (struct sup_dev *d = dom->devs; d; d = d->next)
			if ((d->st == SD_ADDING || d->st == SD_READY) &&
			    !strncmp(d->msg, "add net ", 8) &&
			    strstr(d->msg, needle))
				return d;
	}
	return NULL;
}

/*
 * Builds d->msg for a NIC: bridge and MAC from xvbd.conf by the guest's
 * name, overridden by @opts ("bridge=BR,mac=MAC", from a disk slot's
 * target). Returns 0 or -EINVAL (logged).
 */
static int net_msg(struct sup *s, struct sup_dev *d, uint32_t domid,
		   uint64_t base, uint64_t irq, uint64_t grants,
		   const char *opts)
{
	char name[64] = "", home[64], bridge[IFNAMSIZ], err[256];
	char mac_s[18], queues[24], poll[24], ifname[IFNAMSIZ + 8] = "";
	const char *owned;
	const struct sup_dev *other;
	uint8_t mac[6];
	struct xb_devconf o;

	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	if (xs_get(s, home, "name", name, sizeof(name)) || !plain(name))
		snprintf(name, sizeof(name), "domain%u", domid);
	if (xb_config_nic(&s->cfg, name, d->devid, bridge, mac, err,
			  sizeof(err)) ||
	    nic_num(s, name, d->devid, "queues", 1, XB_MAX_PAIRS, true, queues,
		    sizeof(queues), err, sizeof(err)) ||
	    nic_num(s, name, d->devid, "poll_us", 0, XB_MAX_POLL_US, false,
		    poll, sizeof(poll), err, sizeof(err)))
		goto bad;
	/* A disk slot's own options win over the file. */
	if (opts && *opts) {
		char spec[128];

		owned = slot_owned_key(opts);
		if (owned) {
			snprintf(err, sizeof(err),
				 "'%s' in the target: libxl sets it", owned);
			goto bad;
		}
		snprintf(spec, sizeof(spec), "base=0x%llx,irq=%llu,%s",
			 (unsigned long long)base, (unsigned long long)irq,
			 opts);
		if (xb_parse_devspec(spec, XB_DEV_NET, &o, err, sizeof(err)))
			goto bad;
		if (o.bridge[0])
			snprintf(bridge, sizeof(bridge), "%s",
				 strcmp(o.bridge, "none") ? o.bridge : "");
		if (o.has_mac)
			memcpy(mac, o.mac, sizeof(mac));
		if (o.queues)
			snprintf(queues, sizeof(queues), ",queues=%u",
				 o.queues);
		if (o.poll_us >= 0)
			snprintf(poll, sizeof(poll), ",poll_us=%d", o.poll_us);
		if (o.ifname[0])
			snprintf(ifname, sizeof(ifname), "%s", o.ifname);
	}
	if (!ifname[0])
		snprintf(ifname, sizeof(ifname), "vxb%u.%u", domid, d->devid);
	snprintf(mac_s, sizeof(mac_s), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5]);
	/* Two NICs with one MAC break both (bridges and ARP lose one). */
	other = mac_user(s, mac_s);
	if (other) {
		snprintf(err, sizeof(err), "MAC %s is already d%u's %s", mac_s,
			 other->dom->domid, other->be);
		goto bad;
	}
	snprintf(d->msg, sizeof(d->msg),
		 "add net %u base=0x%llx,irq=%llu,grants=%d,mac=%s,"
		 "ifname=%s%s%s%s%s\n",
		 d->devid, (unsigned long long)base, (unsigned long long)irq,
		 (int)grants, mac_s, ifname, bridge[0] ? ",bridge=" : "",
		 bridge, queues, poll);
	log_info(&s->log, "d%u %s: NIC %s on %s", domid, d->be, mac_s,
		 bridge[0] ? bridge : "(no bridge)");
	return 0;
bad:
	log_err(&s->log, "d%u %s: refused: %s", domid, d->be, err);
	return -EINVAL;
}

/* Builds d->msg for a virtio_disk. Returns 0 or -EINVAL (logged). */
static int read_disk(struct sup *s, struct sup_dev *d, uint32_t domid)
{
	char params[PATH_MAX], mode[4], dev[32] = "", dtype[16] = "disk";
	char opts[48] = "";
	const char *nic;
	uint64_t base, irq, grants = 0;
	const char *why = NULL;
	int rc;

	if (xs_get_u64(s, d->be, "base", UINT64_MAX, &base))
		why = "bad or missing base";
	else if (xs_get_u64(s, d->be, "irq", 1023, &irq))
		why = "bad or missing irq";
	else if (xs_get(s, d->be, "params", params, sizeof(params)) ||
		 !params[0])
		why = "bad or missing params";
	else if (strpbrk(params, "\n\r"))
		why = "params holds a line break";
	else if (xs_get(s, d->be, "mode", mode, sizeof(mode)) ||
		 (strcmp(mode, "r") && strcmp(mode, "w")))
		why = "mode is neither r nor w";
	else if ((rc = xs_get_u64(s, d->be, "grant_usage", 1, &grants)) &&
		 rc != -ENOENT)
		why = "grant_usage is neither 0 nor 1";
	if (why) {
		log_err(&s->log, "d%u %s: refused: %s", domid, d->be, why);
		return -EINVAL;
	}
	/*
	 * Xen 4.17 has no xl syntax for a virtio NIC: a disk slot whose
	 * target's file name starts with "xvb-net:" is one. libxl stat()s
	 * every standalone target, so the (empty) file must exist; its name,
	 * chosen by the administrator, carries the options.
	 */
	nic = strrchr(params, '/');
	nic = nic ? nic + 1 : params;
	if (!strncmp(nic, NIC_TARGET, strlen(NIC_TARGET)))
		return net_msg(s, d, domid, base, irq, grants,
			       nic + strlen(NIC_TARGET));
	xs_get(s, d->be, "dev", dev, sizeof(dev));
	xs_get(s, d->be, "device-type", dtype, sizeof(dtype));
	if (!strcmp(dtype, "cdrom"))
		strcpy(mode, "r");
	if (blk_key(s, domid, d, "queues", 1, XB_MAX_QUEUES, opts,
		    sizeof(opts)) ||
	    blk_key(s, domid, d, "poll_us", 0, XB_MAX_POLL_US, opts,
		    sizeof(opts)))
		return -EINVAL;
	snprintf(d->msg, sizeof(d->msg),
		 "add blk %u base=0x%llx,irq=%llu,mode=%s,grants=%d%s%s%s,"
		 "path=%s\n",
		 d->devid, (unsigned long long)base, (unsigned long long)irq,
		 mode, (int)grants, dev[0] && plain(dev) ? ",serial=" : "",
		 dev[0] && plain(dev) ? dev : "", opts, params);
	return 0;
}

/* A generic virtio device (Xen 4.18+): "virtio,device<N>". */
static int read_generic(struct sup *s, struct sup_dev *d, uint32_t domid)
{
	uint64_t base, irq, grants = 0;
	const char *why = NULL;
	char type[64];
	int rc;

	if (xs_get(s, d->be, "type", type, sizeof(type)))
		why = "no type";
	else if (strcmp(type, "virtio,device1"))
		why = "only virtio,device1 (net) is supported";
	else if (xs_get_u64(s, d->be, "base", UINT64_MAX, &base))
		why = "bad or missing base";
	else if (xs_get_u64(s, d->be, "irq", 1023, &irq))
		why = "bad or missing irq";
	else if ((rc = xs_get_u64(s, d->be, "grant_usage", 1, &grants)) &&
		 rc != -ENOENT)
		why = "grant_usage is neither 0 nor 1";
	if (why) {
		log_err(&s->log, "d%u %s: refused: %s", domid, d->be, why);
		return -EINVAL;
	}
	return net_msg(s, d, domid, base, irq, grants, NULL);
}

/* ---- workers ---------------------------------------------------------------
 */

/* A worker that died has closed its end: EPIPE, logged, and no SIGPIPE. */
static void send_line(struct sup_dom *dom, const char *line)
{
	size_t n = strlen(line);

	if (dom->ctl >= 0 &&
	    send(dom->ctl, line, n, MSG_NOSIGNAL) != (ssize_t)n)
		log_err(&dom->sup->log, "d%u: worker control: %s", dom->domid,
			strerror(errno));
}

static struct sup_dev *find_dev(struct sup_dom *dom, unsigned int devid)
{
	for (struct sup_dev *d = dom->devs; d; d = d->next)
		if (d->devid == devid)
			return d;
	return NULL;
}

static void on_worker_line(struct sup_dom *dom, const char *line)
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
	d = find_dev(dom, devid);
	if (!d)
		goto bad;
	if (!strncmp(line, "ready ", 6)) {
		if (d->st == SD_ADDING) {
			d->st = SD_READY;
			write_state(s, d, 2); /* InitWait: the window is served
					       */
			log_info(&s->log, "d%u %s: served", dom->domid, d->be);
		}
	} else if (!strncmp(line, "failed ", 7)) {
		log_err(&s->log, "d%u %s: worker refused it: %s", dom->domid,
			d->be, line + off);
		d->st = SD_DONE;
		write_state(s, d, 6);
	} else if (!strncmp(line, "closed ", 7)) {
		d->st = SD_DONE;
		write_state(s, d, 6);
		log_info(&s->log, "d%u %s: closed", dom->domid, d->be);
	} else {
		goto bad;
	}
	return;
bad:
	log_warn(&s->log, "d%u: unexpected worker message '%s'", dom->domid,
		 line);
}

/* Stops the watch on the worker's socket; its memory waits for idleness. */
static void stop_ctl(struct sup *s, struct sup_dom *dom)
{
	struct sup_ctl *c = dom->ctlw;

	if (!c)
		return;
	evl_watch_stop(&c->w);
	c->dom = NULL;
	c->next = s->graveyard;
	s->graveyard = c;
	dom->ctlw = NULL;
}

static void on_worker(struct evl_watch *w, unsigned int revents)
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
		stop_ctl(dom->sup, dom); /* the worker is gone; SIGCHLD reaps */
		return;
	}
	dom->len += n;
	dom->buf[dom->len] = '\0';
	while ((nl = strchr(dom->buf, '\n'))) {
		*nl = '\0';
		on_worker_line(dom, dom->buf);
		dom->len -= nl + 1 - dom->buf;
		memmove(dom->buf, nl + 1, dom->len + 1);
	}
	if (dom->len == sizeof(dom->buf) - 1)
		dom->len = 0;
}

static int spawn(struct sup_dom *dom)
{
	struct sup *s = dom->sup;
	char domid[16], fd[4] = "3", stale[8];
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	snprintf(domid, sizeof(domid), "%u", dom->domid);
	snprintf(stale, sizeof(stale), "%d", dom->server);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (!pid) {
		char *argv[10] = { (char *)"xvbd",     (char *)"--worker",
				   (char *)"--domain", domid,
				   (char *)"--ctl-fd", fd };
		sigset_t all;
		int n = 6;

		if (dom->server >= 0) {
			argv[n++] = (char *)"--stale-server";
			argv[n++] = stale;
		}
		if (s->verbose)
			argv[n++] = (char *)"-v";
		argv[n] = NULL;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (dup2(sv[1], 3) < 0)
			_exit(127);
		close_range(4, ~0U, 0);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
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
			       on_worker);
}

/* Undoes a spawn that failed half-way. */
static void kill_worker(struct sup *s, struct sup_dom *dom)
{
	if (dom->pid > 0) {
		kill(dom->pid, SIGKILL);
		waitpid(dom->pid, NULL, 0);
		dom->pid = -1;
	}
	stop_ctl(s, dom);
	if (dom->ctl >= 0)
		close(dom->ctl);
	dom->ctl = -1;
	free(dom->ctlw); /* never armed if start failed: not busy */
	dom->ctlw = NULL;
}

static struct sup_dom *get_dom(struct sup *s, uint32_t domid, bool create)
{
	struct sup_dom *dom;

	/* An exiting worker belongs to a dead guest whose id may be reused. */
	for (dom = s->doms; dom; dom = dom->next)
		if (dom->domid == domid && !dom->exiting)
			return dom;
	if (!create)
		return NULL;
	dom = calloc(1, sizeof(*dom));
	if (!dom)
		return NULL;
	dom->sup = s;
	dom->domid = domid;
	dom->ctl = -1;
	dom->pid = -1;
	dom->server = -1;
	if (spawn(dom)) {
		log_err(&s->log, "d%u: cannot start a worker", domid);
		kill_worker(s, dom);
		free(dom);
		return NULL;
	}
	dom->next = s->doms;
	s->doms = dom;
	return dom;
}

/* Forgets a guest whose worker has exited. */
static void free_dom(struct sup *s, struct sup_dom *dom)
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
	stop_ctl(s, dom);
	if (dom->ctl >= 0)
		close(dom->ctl);
	free(dom);
}

/* Frees stopped control watches the kernel has let go of. */
static void bury(struct sup *s)
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

/* ---- scanning xenstore ------------------------------------------------------
 */

/* True if an exiting worker of domain id @domid has not been reaped. */
static bool old_worker(const struct sup *s, uint32_t domid)
{
	for (const struct sup_dom *dom = s->doms; dom; dom = dom->next)
		if (dom->domid == domid && dom->exiting && dom->pid > 0)
			return true;
	return false;
}

/* True if some device of @dom is being added, served or closed. */
static bool dom_live(const struct sup_dom *dom)
{
	for (const struct sup_dev *d = dom->devs; d; d = d->next)
		if (d->st != SD_DONE)
			return true;
	return false;
}

static void new_dev(struct sup *s, const char *kind, uint32_t domid,
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
	if ((kind == kinds[0] ? read_disk : read_generic)(s, d, domid)) {
		write_state(s, d, 6);
		d->st = SD_DONE;
		dom = get_dom(s, domid, false);
		if (!dom) { /* remember the refusal without a worker */
			free(d);
			return;
		}
	} else {
		/*
		 * A worker whose devices are all done is about to be told to
		 * exit, and may serve a guest already destroyed whose id a new
		 * guest reuses (its @releaseDomain not seen yet): it gets no
		 * new device. A fresh worker does.
		 */
		dom = get_dom(s, domid, false);
		if (dom && !dom_live(dom)) {
			dom->exiting = true;
			send_line(dom, "exit\n");
		}
		/*
		 * Until that worker is gone, a new one for the same domain id
		 * could have its ioreq server destroyed by the old one's
		 * teardown (server ids restart with the domain). The device
		 * stays in state 1; reap() scans again.
		 */
		if (old_worker(s, domid)) {
			log_info(&s->log, "d%u %s: waiting for the old worker",
				 domid, be);
			free(d);
			return;
		}
		dom = get_dom(s, domid, true);
		if (!dom) {
			free(d);
			return;
		}
		d->st = SD_ADDING;
		send_line(dom, d->msg);
	}
	d->dom = dom;
	d->next = dom->devs;
	dom->devs = d;
}

static struct sup_dev *lookup(struct sup *s, const char *be)
{
	for (struct sup_dom *dom = s->doms; dom; dom = dom->next)
		for (struct sup_dev *d = dom->devs; d && !dom->exiting;
		     d = d->next)
			if (!strcmp(d->be, be))
				return d;
	return NULL;
}

static void forget_dev(struct sup_dev *d)
{
	struct sup_dev **pp;

	for (pp = &d->dom->devs; *pp && *pp != d; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = d->next;
	free(d);
}

static void close_dev(struct sup_dev *d)
{
	char line[32];

	if (d->st != SD_ADDING && d->st != SD_READY)
		return;
	d->st = SD_CLOSING;
	snprintf(line, sizeof(line), "close %u\n", d->devid);
	send_line(d->dom, line);
}

static void scan_dev(struct sup *s, const char *kind, uint32_t domid,
		     unsigned int devid)
{
	uint64_t state = 0, online = 0, feid;
	struct sup_dev *d;
	char be[160];

	snprintf(be, sizeof(be), "%s/%s/%u/%u", s->root, kind, domid, devid);
	d = lookup(s, be);
	if (xs_get_u64(s, be, "state", 255, &state))
		return;
	xs_get_u64(s, be, "online", 1, &online);
	/* Done with, and libxl wrote it anew: a new device (id reuse). */
	if (d && d->st == SD_DONE && state == 1 && online) {
		forget_dev(d);
		d = NULL;
	}
	if (d) {
		d->seen = true;
		if (state == 5 || !online)
			close_dev(d);
		/* Closing written over our Closed: answer it again. */
		if (d->st == SD_DONE && state == 5)
			write_state(s, d, 6);
		return;
	}
	/* Not ours (refused, or from before us) but Closing: say Closed. */
	if (state == 5) {
		struct sup_dev gone = { .devid = devid };

		snprintf(gone.be, sizeof(gone.be), "%s", be);
		write_state(s, &gone, 6);
		return;
	}
	/* libxl creates devices in state 1 (Initialising), online=1. */
	if (state != 1 || !online)
		return;
	if (xs_get_u64(s, be, "frontend-id", 0x7fef, &feid) || feid != domid) {
		struct sup_dev bad = { .devid = devid };

		log_err(&s->log, "d%u %s: refused: frontend-id is not %u",
			domid, be, domid);
		snprintf(bad.be, sizeof(bad.be), "%s", be);
		write_state(s, &bad, 6);
		return;
	}
	new_dev(s, kind, domid, devid, be);
}

static void scan_kind(struct sup *s, const char *kind)
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
				scan_dev(s, kind, domid, devid);
		free(devs);
	}
	free(doms);
}

static void scan(struct sup *s)
{
	struct sup_dom *dom;
	struct sup_dev *d;

	for (dom = s->doms; dom; dom = dom->next)
		for (d = dom->devs; d; d = d->next)
			d->seen = false;
	for (unsigned int k = 0; k < ARRAY_SIZE(kinds); k++)
		scan_kind(s, kinds[k]);
	for (dom = s->doms; dom; dom = dom->next) {
		bool live = false;

		/* Nodes removed without a Closing first: tear down anyway. */
		for (d = dom->devs; d; d = d->next) {
			if (!d->seen)
				close_dev(d);
			live |= d->st != SD_DONE;
		}
		/* A dead guest, or one with nothing left to serve. */
		if (!dom->exiting &&
		    (!live || !xs_is_domain_introduced(s->xs, dom->domid))) {
			dom->exiting = true;
			send_line(dom, "exit\n");
		}
	}
}

static void on_xs(struct evl_watch *w, unsigned int revents)
{
	struct sup *s = container_of(w, struct sup, xs_w);
	char **ev;
	bool any = false;

	bury(s);
	while ((ev = xs_check_watch(s->xs))) {
		free(ev);
		any = true;
	}
	if (any)
		scan(s);
}

/* ---- children and signals
 * ---------------------------------------------------- */

/* Sends a respawned worker every device its predecessor served. */
static void readd(struct sup *s, struct sup_dom *dom)
{
	for (struct sup_dev *d = dom->devs; d; d = d->next) {
		if (d->st != SD_ADDING && d->st != SD_READY)
			continue;
		d->st = SD_ADDING;
		send_line(dom, d->msg);
	}
}

static void scan(struct sup *s);

/*
 * Reaps exited workers, respawning those whose guest lives. With @rescan,
 * scans xenstore again once one is gone: a new guest reusing its domain id
 * may be waiting for it.
 */
static void reap(struct sup *s, bool rescan)
{
	struct sup_dom *dom;
	bool freed = false;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		bool clean = WIFEXITED(status) && !WEXITSTATUS(status);
		time_t now = time(NULL);

		for (dom = s->doms; dom && dom->pid != pid; dom = dom->next)
			;
		if (!dom)
			continue;
		dom->pid = -1;
		stop_ctl(s, dom);
		close(dom->ctl);
		dom->ctl = -1;
		dom->len = 0;
		if (clean || !xs_is_domain_introduced(s->xs, dom->domid)) {
			log_info(&s->log, "d%u: worker %d exited", dom->domid,
				 (int)pid);
		} else {
			log_err(&s->log, "d%u: worker %d died (status 0x%x)",
				dom->domid, (int)pid, status);
			if (now - dom->restart_window > RESTART_WINDOW) {
				dom->restart_window = now;
				dom->restarts = 0;
			}
			if (dom->restarts++ < MAX_RESTARTS) {
				if (!spawn(dom)) {
					readd(s, dom); /* the guest sees a reset
							*/
					continue;
				}
				kill_worker(s, dom);
			}
			log_err(&s->log, "d%u: giving up on its devices",
				dom->domid);
		}
		for (struct sup_dev *d = dom->devs; d; d = d->next)
			if (d->st != SD_DONE)
				write_state(s, d, 6);
		free_dom(s, dom);
		freed = true;
	}
	if (freed && rescan)
		scan(s);
}

/* SIGUSR1: the guests served, and each worker asked for its own state. */
static void log_state(struct sup *s)
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
			send_line(dom, "state\n");
	}
}

/*
 * SIGHUP: xvbd.conf again. Devices already served keep what they have; a
 * file that does not load leaves the one before in force.
 */
static void reload(struct sup *s)
{
	struct xb_config cfg;
	char err[PATH_MAX + 200];

	if (xb_config_load(&cfg, s->config_path, s->config_named, err,
			   sizeof(err))) {
		log_err(&s->log,
			"SIGHUP: %s: keeping the configuration "
			"loaded before",
			err);
		return;
	}
	xb_config_free(&s->cfg);
	s->cfg = cfg;
	log_info(&s->log,
		 "SIGHUP: %s re-read (%u setting(s)), for devices "
		 "added from now on",
		 s->config_path, cfg.n);
}

static void on_signal(struct evl_watch *w, unsigned int revents)
{
	struct sup *s = container_of(w, struct sup, sig_w);
	struct signalfd_siginfo si;

	bury(s);
	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap(s, true);
			continue;
		}
		if (si.ssi_signo == SIGHUP) {
			/* systemctl reload: the file again, for devices added
			 * from now on, and disks re-read their stores' sizes.
			 */
			reload(s);
			log_info(&s->log, "SIGHUP: disks re-read their sizes");
			for (struct sup_dom *dom = s->doms; dom;
			     dom = dom->next)
				send_line(dom, "resize\n");
			continue;
		}
		if (si.ssi_signo == SIGUSR1) {
			log_state(s);
			continue;
		}
		log_info(&s->log, "signal %u: shutting down", si.ssi_signo);
		evl_stop(&s->loop);
	}
}

/* Tells every worker to exit and waits up to 5 s before killing them. */
static void stop_workers(struct sup *s)
{
	struct sup_dom *dom;
	int i;

	for (dom = s->doms; dom; dom = dom->next)
		send_line(dom, "exit\n");
	for (i = 0; i < 100 && s->doms; i++) {
		reap(s, false);
		if (s->doms)
			usleep(50000);
	}
	for (dom = s->doms; dom; dom = dom->next)
		if (dom->pid > 0)
			kill(dom->pid, SIGKILL);
	while (s->doms) {
		if (s->doms->pid > 0)
			waitpid(s->doms->pid, NULL, 0);
		for (struct sup_dev *d = s->doms->devs; d; d = d->next)
			if (d->st != SD_DONE)
				write_state(s, d, 6);
		free_dom(s, s->doms);
	}
}

static void sup_exit(struct sup *s)
{
	/* A startup failure may come before the loop exists. */
	if (s->loop_ok) {
		evl_watch_stop(&s->xs_w);
		evl_watch_stop(&s->sig_w);
		evl_drain(&s->loop, 1000);
		bury(s);
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
static int take_lock(struct sup *s)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[PATH_MAX];
	int fd;

	if (mkdir(s->run_dir, 0755) && errno != EEXIST) {
		log_err(&s->log,
			"cannot create %s: %s (--run-dir names "
			"another directory)",
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
				"another xvbd supervisor (pid %d) holds %s: one "
				"serves this backend domain; stop it first",
				(int)q.l_pid, path);
		else
			log_err(&s->log,
				"another xvbd supervisor holds %s: one serves "
				"this backend domain; stop it first",
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

/*
 * Everything before the loop runs. Each failure is one log line naming the
 * cause and what to do, and a sysexits(3) code; 0 once watching.
 */
static int setup(struct sup *s)
{
	char buf[16], path[128], err[PATH_MAX + 200];
	uint64_t self = 0;
	sigset_t set;
	unsigned int len, k;
	char *v;
	int rc;

	rc = xb_config_load(&s->cfg, s->config_path, s->config_named, err,
			    sizeof(err));
	if (rc) {
		log_err(&s->log, "%s", err);
		return rc == -EINVAL ? EX_CONFIG : EX_NOINPUT;
	}
	rc = take_lock(s);
	if (rc)
		return rc;
	s->xs = xs_open(0);
	if (!s->xs) {
		log_err(&s->log,
			"cannot open xenstore: %s: is xenstored running? "
			"(and is this a Xen domain with xenfs at /proc/xen)",
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

	rc = evl_init(&s->loop, 64);
	if (rc) {
		log_err(&s->log,
			"cannot set up io_uring: %s: xvbd needs a kernel with "
			"io_uring enabled (sysctl kernel.io_uring_disabled=0)",
			strerror(-rc));
		return EX_OSERR;
	}
	s->loop_ok = true;
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
	rc = evl_watch_start(&s->loop, &s->sig_w, s->sigfd, POLLIN, on_signal);
	if (rc) {
		log_err(&s->log, "watching signals: %s", strerror(-rc));
		return EX_OSERR;
	}
	for (k = 0; k < ARRAY_SIZE(kinds); k++) {
		snprintf(path, sizeof(path), "%s/%s", s->root, kinds[k]);
		if (!xs_watch(s->xs, path, kinds[k])) {
			log_err(&s->log,
				"cannot watch %s in xenstore: %s: is xvbd "
				"running in the backend domain, as root?",
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
			     on_xs);
	if (rc) {
		log_err(&s->log, "watching xenstore: %s", strerror(-rc));
		return EX_OSERR;
	}
	log_info(&s->log, "watching %s/{virtio_disk,virtio}", s->root);
	scan(s);
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
	rc = setup(&s);
	if (!rc) {
		rc = evl_run(&s.loop);
		if (rc) {
			log_err(&s.log, "event loop: %s", strerror(-rc));
			rc = EX_SOFTWARE;
		}
	}
	stop_workers(&s);
	sup_exit(&s);
	xb_config_free(&s.cfg);
	if (s.lock_fd >= 0)
		close(s.lock_fd); /* the lock goes with it */
	return rc;
}
