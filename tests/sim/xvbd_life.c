// SPDX-License-Identifier: MIT
/*
 * xvbd's lifecycle under the simulator, through the xenstore route: many
 * devices and guests, malformed nodes, a worker killed with -9, domain ids
 * reused, a guest destroyed with I/O in flight; after each, nothing left
 * mapped, bound or open. Each case runs the real xvbd supervisor.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "blkdrv.h"
#include "hang.h"
#include "procfs.h"
#include "t.h"
#include "xvbd_rig.h"

#define RAM (32ULL << 20)
#define TMO_MS ((int)t_hang_ms())

/* Set for a static-mode case: xvbd's whole argv (NULL-terminated). */
static const char *static_args[12];
/* A guest to create before xvbd starts (static mode needs it to exist). */
static const struct xsim_domain_config *precreate;

/* A simulator and the xvbd supervisor on it (or xvbd in static mode). */
static int start(void)
{
	/* NICs: no bridge on a test machine; guest "nic" gets a fixed MAC. */
	const struct rig_opts o = {
		.tag = "life",
		.conf = "[net]\nbridge = none\n[guest nic]\n"
			"nic0.mac = 00:16:3e:00:00:07\nnic0.poll_us = 30\n"
			"nic0.coalesce_us = 500\n",
		.libxl_ms = TMO_MS,
		.precreate = precreate,
		.argv = static_args[0] ? static_args : NULL,
		.guest_ram = RAM,
		.image_bytes = 8 << 20,
	};

	return rig_start(&o);
}

static int truncate_new(const char *path)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return -errno;
	rc = ftruncate(fileno(f), 8 << 20) ? -errno : 0;
	fclose(f);
	return rc;
}

/* Whether @dir/@node exists and is not empty. */
static bool xs_has(const char *dir, const char *node)
{
	char path[200], *v;
	bool has;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	v = xsim_xs_read(sim, 0, path, NULL);
	has = v && v[0];
	free(v);
	return has;
}

static char *be_state(uint32_t domid, uint32_t devid)
{
	char path[160];
	int err;

	xsim_libxl_be_path(path, sizeof(path), "virtio_disk", 0, domid, devid);
	strcat(path, "/state");
	return xsim_xs_read(sim, 0, path, &err);
}

/* A verified write and read on the device at @d of guest @domid. */
static int canary(uint32_t domid, const struct xsim_libxl_disk *d,
		  unsigned int vcpu)
{
	struct fakeguest *fg FG_SCOPED = NULL;
	struct blkdrv b BLKDRV_SCOPED = { 0 };
	struct blkreq *r;
	int rc = -1;

	fg = fg_wrap(xsim_ram_ptr(sim, domid, XSIM_RAM0_BASE, RAM),
		     XSIM_RAM0_BASE, RAM);
	T_CHECK(fg);
	if (!blkdrv_up(&b, sim, domid, vcpu, d->base, d->irq, fg, 4, 4096) &&
	    !blkdrv_sync(&b, VIRTIO_BLK_T_OUT, 8, 4096, 77, NULL) &&
	    !blkdrv_sync(&b, VIRTIO_BLK_T_IN, 8, 4096, 0, &r) &&
	    blkdrv_data_is(&b, r, 77))
		rc = 0;
	blkdrv_down(&b);
	fg_release(&fg);
	T_CHECK(rc == 0);
	return 0;
}

static int create(uint32_t domid, struct xsim_libxl_disk *d, unsigned int n)
{
	struct xsim_domain_config dc = { .domid = domid,
					 .nr_vcpus = 2,
					 .ram_bytes = RAM };

	return xsim_libxl_create(sim, &dc, d, n, NULL, 0);
}

/* Eleven disks (every virtio SPI) in one guest, two more guests beside. */
static void many_devices_and_guests(void)
{
	static const char *const v[] = { "xvda", "xvdb", "xvdc", "xvdd",
					 "xvde", "xvdf", "xvdg", "xvdh",
					 "xvdi", "xvdj", "xvdk" };
	struct xsim_libxl_disk d[11], e[2];
	char path[11][128], p2[2][128];
	unsigned int i;

	T_ASSERT(!start());
	for (i = 0; i < 11; i++) {
		T_ASSERT(!rig_image(v[i], 8 << 20, path[i], sizeof(path[i])));
		rig_disk(&d[i], v[i], path[i]);
	}
	T_EQ(create(1, d, 11), 0);
	for (i = 0; i < 2; i++) {
		char name[16];

		snprintf(name, sizeof(name), "g%u", i);
		T_ASSERT(!rig_image(name, 8 << 20, p2[i], sizeof(p2[i])));
		rig_disk(&e[i], "xvda", p2[i]);
		T_EQ(create(2 + i, &e[i], 1), 0);
	}
	for (i = 0; i < 11; i++)
		T_ASSERT(!canary(1, &d[i], i % 2));
	T_ASSERT(!canary(2, &e[0], 0));
	T_ASSERT(!canary(3, &e[1], 1));
	for (uint32_t dom = 1; dom <= 3; dom++)
		T_EQ(xsim_libxl_destroy(sim, dom), 0);
	T_ASSERT(!rig_finish());
}

/*
 * The image grows while the guest runs; SIGHUP to xvbd (systemctl reload)
 * makes the disk re-read it: the guest gets a config interrupt, reads the
 * new capacity, and writes its new last block.
 */
static void resize_on_sighup(void)
{
	struct hguest g HGUEST_SCOPED = { 0 };
	struct blkdrv *b = &g.b;
	struct blkreq *r;
	uint64_t cap;

	T_ASSERT(!start());
	T_ASSERT(!hguest_up(&g, "grow", 1, 2, 4));
	T_EQ_U64(b->capacity, (8 << 20) / 512);
	T_EQ(truncate(g.img, 16 << 20), 0);
	T_EQ(kill(xvbd, SIGHUP), 0);
	T_EQ(xsim_irq_wait(sim, 1, g.d.irq, TMO_MS), 0);
	/* Config space, as the driver's config handler reads it. */
	cap = gdrv_read(&b->drv, VIRTIO_MMIO_CONFIG, 4) |
	      gdrv_read(&b->drv, VIRTIO_MMIO_CONFIG + 4, 4) << 32;
	T_ASSERT(gdrv_ack_irq(&b->drv) & VIRTIO_MMIO_INT_CONFIG);
	T_EQ_U64(cap, (16 << 20) / 512);
	T_EQ(blkdrv_sync(b, VIRTIO_BLK_T_OUT, cap - 8, 4096, 5, NULL), 0);
	T_EQ(blkdrv_sync(b, VIRTIO_BLK_T_IN, cap - 8, 4096, 0, &r), 0);
	T_ASSERT(blkdrv_data_is(b, r, 5));
	T_ASSERT(!hguest_down(&g));
	T_ASSERT(!rig_finish());
}

/* Waits (up to the hang bound) for xvbd's log to hold a line with @needle. */
static bool log_has(const char *needle)
{
	if (T_WAIT(rig_log_count(needle) > 0))
		return true;
	fprintf(stderr, "xvbd's log has no \"%s\"\n", needle);
	return false;
}

/*
 * SIGUSR1 to the supervisor: it logs the guests it serves and each worker
 * logs its devices, with every queue's ring indices as they are.
 */
static void state_on_sigusr1(void)
{
	struct hguest g HGUEST_SCOPED = { 0 };

	T_ASSERT(!start());
	T_ASSERT(!hguest_up(&g, "st", 1, 2, 4));
	for (int i = 0; i < 3; i++)
		T_EQ(blkdrv_sync(&g.b, VIRTIO_BLK_T_OUT, 8 * i, 4096, i, NULL),
		     0);
	T_EQ(kill(xvbd, SIGUSR1), 0);
	T_ASSERT(log_has("state: 1 guest(s)"));
	T_ASSERT(log_has("d1: worker "));
	T_ASSERT(log_has("state: 1 device(s), 2 vCPU(s)"));
	T_ASSERT(log_has("capacity 16384 sectors"));
	/* Three requests made, completed and published; none in flight. */
	T_ASSERT(log_has(
		"vq0: 256 entries; avail 3 (popped 3, 0 in flight); used 3 (published 3"));
	T_ASSERT(log_has("vq0: 0 requests active"));
	blkdrv_down(&g.b);
	/* After the reset the queue is not ready; the worker says so. */
	T_EQ(kill(xvbd, SIGUSR1), 0);
	T_ASSERT(log_has("vq0: not ready"));
	hguest_cleanup(&g); /* reset already */
	T_EQ(xsim_libxl_destroy(sim, 1), 0);
	T_ASSERT(!rig_finish());
}

/* Each bad device is refused (state node removed, reason in error) while
 * a good one beside it works. */
static void malformed_nodes_refused(void)
{
	static const char *const bad[][2] = {
		{ "base", "33554688" },	  /* 0x2000100: misaligned */
		{ "base", "0x10000000" }, /* outside the window */
		{ "base", "banana" },
		{ "irq", "99" }, /* not a virtio SPI */
		{ "irq", "-1" },
		{ "params", "/nonexistent/disk.img" },
		{ "params", "/dev/null" }, /* a character device */
		{ "mode", "x" },
		{ "grant_usage", "2" },
		{ "frontend-id", "9" }, /* not the guest's */
		/* NIC slots: a key libxl owns, values out of range. */
		{ "params", "/etc/xen/xvb-net:irq=40" },
		{ "params", "/etc/xen/xvb-net:mac=00:16:3e:00:00:01,base=0" },
		{ "params", "/etc/xen/xvb-net:queues=9" },
		{ "params", "/etc/xen/xvb-net:poll_us=2000" },
		{ "params", "/etc/xen/xvb-net:coalesce_us=2000" },
		{ "params", "/etc/xen/xvb-net:coalesce_us=soon" },
		{ "params", "/etc/xen/xvb-net:colour=blue" },
	};
	struct xsim_libxl_disk good;
	char img[128], be[160], path[200], *st;
	char big[4097];

	T_ASSERT(!start());
	T_ASSERT(!rig_image("good", 8 << 20, img, sizeof(img)));
	rig_disk(&good, "xvda", img);
	T_EQ(create(1, &good, 1), 0);
	for (unsigned int i = 0; i <= ARRAY_SIZE(bad); i++) {
		/* The nodes xvbd reads, as libxl writes them: at once. */
		static const char *const names[] = {
			"frontend-id", "online",      "state", "dev",
			"mode",	       "device-type", "base",  "irq",
			"params",      "grant_usage",
		};
		char paths[ARRAY_SIZE(names)][200], base[24], irq[8];
		const char *vals[ARRAY_SIZE(names)], *pp[ARRAY_SIZE(names)];
		uint32_t devid = 51728 + 16 * i;

		snprintf(base, sizeof(base), "%llu",
			 XSIM_VIRTIO_MMIO_BASE + 0x200ULL * (i + 1));
		snprintf(irq, sizeof(irq), "%u", 34 + i % 9);
		vals[0] = "1", vals[1] = "1", vals[2] = "1", vals[3] = "xvdb";
		vals[4] = "w", vals[5] = "disk", vals[6] = base, vals[7] = irq;
		vals[8] = img;
		vals[9] = "0";
		xsim_libxl_be_path(be, sizeof(be), "virtio_disk", 0, 1, devid);
		for (unsigned int k = 0; k < ARRAY_SIZE(names); k++) {
			snprintf(paths[k], sizeof(paths[k]), "%s/%s", be,
				 names[k]);
			pp[k] = paths[k];
			if (i == ARRAY_SIZE(bad) &&
			    !strcmp(names[k], "params")) {
				memset(big, 'a', sizeof(big) - 1); /* 4 KiB */
				big[sizeof(big) - 1] = '\0';
				vals[k] = big;
			} else if (i < ARRAY_SIZE(bad) &&
				   !strcmp(names[k], bad[i][0])) {
				vals[k] = bad[i][1];
			}
		}
		T_EQ(xsim_xs_write_atomic(sim, 0, pp, vals, ARRAY_SIZE(names)),
		     0);
		/* Refused: the state node goes (libxl fails at once), the
		 * reason stays in the error node. */
		snprintf(path, sizeof(path), "%s/state", be);
		if (xsim_xs_wait_gone(sim, path, TMO_MS) ||
		    !xs_has(be, "error")) {
			t_fail(__FILE__, __LINE__,
			       "case %u (%s=%s) not refused", i,
			       i < ARRAY_SIZE(bad) ? bad[i][0] : "params",
			       i < ARRAY_SIZE(bad) ? bad[i][1] : "4 KiB");
			return;
		}
		st = be_state(1, 51712);
		T_ASSERT(st && !strcmp(st, "2"));
		free(st);
	}
	T_ASSERT(!canary(1, &good, 0));
	T_EQ(xsim_libxl_destroy(sim, 1), 0);
	T_ASSERT(!rig_finish());
}

/* A worker killed with -9: restarted, the device works after a re-probe. */
/*
 * Whether a respawned worker serves @d's window again (until it does, an
 * access is a data abort): the magic value reads back. Waits up to the hang
 * bound.
 */
static bool served_again(uint32_t domid, const struct xsim_libxl_disk *d)
{
	uint64_t magic = 0;

	return T_WAIT(
		!xsim_mmio_read(sim, domid, 1, d->base, 4, &magic, TMO_MS) &&
		magic == 0x74726976);
}

/*
 * Guest 1's worker killed with -9: the supervisor respawns it and the
 * device works after a re-probe; guest 2 is served throughout.
 */
static void worker_killed_and_restarted(void)
{
	struct xsim_libxl_disk d, e;
	struct xsim_stats st;
	char img[128], img2[128];
	pid_t w, w2 = -1, other;

	T_ASSERT(!start());
	T_ASSERT(!rig_image("k", 8 << 20, img, sizeof(img)));
	T_ASSERT(!rig_image("k2", 8 << 20, img2, sizeof(img2)));
	rig_disk(&d, "xvda", img);
	rig_disk(&e, "xvda", img2);
	T_EQ(create(1, &d, 1), 0);
	T_EQ(create(2, &e, 1), 0);
	T_ASSERT(!canary(1, &d, 0));
	w = rig_worker_of(1);
	other = rig_worker_of(2);
	T_ASSERT(w > 0 && other > 0 && w != other);
	/* ps and top name each worker by its guest, not "exe". */
	T_ASSERT(rig_comm_is(w, "xvbd-d1") && rig_comm_is(other, "xvbd-d2"));
	T_EQ(kill(w, SIGKILL), 0);
	T_ASSERT(!canary(2, &e, 0)); /* the other guest does not notice */
	T_ASSERT(T_WAIT((w2 = rig_worker_of(1)) > 0 && w2 != w));
	/* An access before the successor removed the dead worker's ioreq
	 * server would wait on it (the simulated Xen reports such a vCPU when
	 * the server goes): probe once the new server is up. */
	T_WAIT(rig_log_count("d1: ioreq server up") >= 2);
	T_EQ(rig_log_count("d1: ioreq server up"), 2);
	T_ASSERT(served_again(1, &d));
	T_ASSERT(!canary(1, &d, 1));
	/* The dead worker's ioreq server was removed by its successor. */
	xsim_get_stats(sim, &st);
	T_EQ(st.servers, 2);
	T_EQ(rig_worker_of(2), other);
	T_ASSERT(!canary(2, &e, 0));
	T_EQ(xsim_libxl_destroy(sim, 1), 0);
	T_EQ(xsim_libxl_destroy(sim, 2), 0);
	T_ASSERT(!rig_finish());
}

/* A register read on vCPU 1, made from a thread of its own. */
struct inflight {
	uint32_t domid;
	uint64_t addr, val;
	int rc;
};

static void *inflight_read(void *p)
{
	struct inflight *f = p;

	/* Up to the hang bound: unanswered, it fails with -ETIMEDOUT. */
	f->rc = xsim_mmio_read(sim, f->domid, 1, f->addr, 4, &f->val, TMO_MS);
	return NULL;
}

/*
 * A worker killed with -9 while a vCPU's register access waits in its
 * ioreq slot: the successor answers it as Xen does for a dying emulator
 * (all-ones), marks the device DEVICE_NEEDS_RESET with a configuration
 * interrupt, and the device works again once the driver resets it. The
 * simulated Xen reports a server destroyed with an access pending, which
 * rig_stop() fails on.
 */
static void worker_killed_with_an_access_in_flight(void)
{
	struct xsim_libxl_disk d;
	struct inflight f = { .domid = 1 };
	struct xsim_stats st;
	uint64_t irqs, status = 0, isr = 0;
	char img[128];
	pthread_t t;
	pid_t w;
	int pending = 0;

	T_ASSERT(!start());
	T_ASSERT(!rig_image("f", 8 << 20, img, sizeof(img)));
	rig_disk(&d, "xvda", img);
	T_EQ(create(1, &d, 1), 0);
	T_ASSERT(!canary(1, &d, 0));
	w = rig_worker_of(1);
	T_ASSERT(w > 0);
	irqs = xsim_irq_count(sim, 1, d.irq);
	/* Stopped, the worker cannot answer: the access stays in its slot. */
	T_EQ(kill(w, SIGSTOP), 0);
	f.addr = d.base + VIRTIO_MMIO_STATUS;
	T_ASSERT(!pthread_create(&t, NULL, inflight_read, &f));
	T_WAIT((pending = xsim_ioreq_pending(sim, 1, 1)) == 1);
	if (pending == 1)
		kill(w, SIGKILL);
	else
		kill(w, SIGCONT);
	pthread_join(t, NULL);
	T_EQ(pending, 1);
	/* Answered, as the read of a device whose emulator died. */
	T_EQ(f.rc, 0);
	T_EQ(f.val, 0xffffffffULL);
	T_ASSERT(served_again(1, &d));
	/* The device needs a reset, and the driver was told so. */
	T_EQ(xsim_mmio_read(sim, 1, 0, d.base + VIRTIO_MMIO_STATUS, 4, &status,
			    TMO_MS),
	     0);
	T_ASSERT(status & VIRTIO_CONFIG_S_NEEDS_RESET);
	T_EQ(xsim_mmio_read(sim, 1, 0, d.base + VIRTIO_MMIO_INTERRUPT_STATUS, 4,
			    &isr, TMO_MS),
	     0);
	T_ASSERT(isr & VIRTIO_MMIO_INT_CONFIG);
	T_ASSERT(xsim_irq_count(sim, 1, d.irq) > irqs);
	/* Reset and set up again by the driver, it serves. */
	T_ASSERT(!canary(1, &d, 1));
	/* The dead worker's server is gone; it was not destroyed while a vCPU
	 * waited on it. */
	T_WAIT((xsim_get_stats(sim, &st), st.servers == 1));
	T_EQ(st.servers, 1);
	T_EQ(xsim_last_error(sim, NULL, 0), 0);
	T_EQ(rig_log_count("took over the dead worker's ioreq server"), 1);
	T_EQ(xsim_libxl_destroy(sim, 1), 0);
	T_ASSERT(!rig_finish());
}

/* Verified I/O on a disk from a thread of its own, until told to stop. */
struct io_loop {
	uint32_t domid;
	const struct xsim_libxl_disk *d;
	volatile bool stop;
	volatile unsigned int rounds; /* write, read back, verified */
	const char *why;	      /* the first error, or NULL */
};

static void *io_loop(void *p)
{
	struct io_loop *l = p;
	struct fakeguest *fg;
	struct blkdrv b;
	struct blkreq *r;

	fg = fg_wrap(xsim_ram_ptr(sim, l->domid, XSIM_RAM0_BASE, RAM),
		     XSIM_RAM0_BASE, RAM);
	if (!fg || blkdrv_up(&b, sim, l->domid, 1, l->d->base, l->d->irq, fg, 4,
			     4096)) {
		l->why = "the driver did not come up";
		fg_free(fg);
		return NULL;
	}
	for (uint32_t i = 1; !l->stop && !l->why; i++) {
		uint64_t sector = 8 * (i % 1000);

		if (blkdrv_sync(&b, VIRTIO_BLK_T_OUT, sector, 4096, i, NULL))
			l->why = "a write failed";
		else if (blkdrv_sync(&b, VIRTIO_BLK_T_IN, sector, 4096, 0, &r))
			l->why = "a read failed";
		else if (!blkdrv_data_is(&b, r, i))
			l->why = "data read back differs";
		else
			l->rounds++;
	}
	blkdrv_down(&b);
	fg_free(fg);
	return NULL;
}

/* Waits (up to the hang bound) until @l made @n more rounds, or failed. */
static bool io_progress(struct io_loop *l, unsigned int n)
{
	unsigned int from = l->rounds;

	T_WAIT(l->why || l->rounds >= from + n);
	return !l->why && l->rounds >= from + n;
}

/*
 * The supervisor stopped (SIGTERM) and started again, then killed (-9) and
 * started again, while the guest does verified I/O: the worker serves on
 * throughout (no I/O error, every block read back as written), each new
 * supervisor takes control of it, and handles the guest's destroy (no
 * worker, socket, server or mapping left) and its domain id's reuse.
 */
static void supervisor_restarted_under_io(void)
{
	struct xsim_libxl_disk d;
	struct io_loop l = { .domid = 1, .d = &d };
	char img[128], sock_path[128];
	pthread_t t;
	pid_t w;

	T_ASSERT(!start());
	T_ASSERT(!rig_image("sr", 8 << 20, img, sizeof(img)));
	rig_disk(&d, "xvda", img);
	T_EQ(create(1, &d, 1), 0);
	w = rig_worker_of(1);
	T_ASSERT(w > 0);
	snprintf(sock_path, sizeof(sock_path), "%s/run/d1.sock", rig_dir);
	T_EQ(access(sock_path, F_OK), 0);
	T_ASSERT(!pthread_create(&t, NULL, io_loop, &l));
	T_ASSERT(io_progress(&l, 20));

	T_ASSERT(!rig_restart(SIGTERM));
	T_EQ(rig_log_count("shutting down; the workers serve on"), 1);
	T_EQ(rig_log_count("supervisor gone: serving on"), 1);
	T_EQ(rig_log_count("d1: took control of worker"), 1);
	T_EQ(rig_worker_of(1), w);
	T_ASSERT(io_progress(&l, 20));

	T_ASSERT(!rig_restart(SIGKILL));
	T_EQ(rig_log_count("supervisor gone: serving on"), 2);
	T_EQ(rig_log_count("d1: took control of worker"), 2);
	T_EQ(rig_worker_of(1), w);
	T_ASSERT(io_progress(&l, 20));

	l.stop = true;
	pthread_join(t, NULL);
	if (l.why)
		t_fail(__FILE__, __LINE__, "guest I/O: %s after %u rounds",
		       l.why, l.rounds);
	T_ASSERT(!l.why);
	/* The last supervisor handles the destroy as if it had started it. */
	T_EQ(xsim_libxl_destroy(sim, 1), 0);
	T_ASSERT(!rig_settled());
	T_ASSERT(!rig_no_workers());
	T_ASSERT(access(sock_path, F_OK) && errno == ENOENT);
	/* The domain id again: a new worker, from the new supervisor. */
	T_EQ(create(1, &d, 1), 0);
	T_ASSERT(rig_worker_of(1) > 0 && rig_worker_of(1) != w);
	T_ASSERT(!canary(1, &d, 0));
	T_EQ(xsim_libxl_destroy(sim, 1), 0);
	T_ASSERT(!rig_finish());
}

/*
 * A worker taken over, then killed: the new supervisor (not its parent)
 * sees it go, respawns it, and the respawned worker answers the dead one's
 * ioreq slots; xvbd --stop-all stops workers left serving, and only
 * those.
 */
static void adopted_worker_killed_and_stop_all(void)
{
	struct xsim_libxl_disk d, e;
	char img[128], img2[128];
	pid_t w, w2 = -1;

	T_ASSERT(!start());
	T_ASSERT(!rig_image("ak", 8 << 20, img, sizeof(img)));
	T_ASSERT(!rig_image("ak2", 8 << 20, img2, sizeof(img2)));
	rig_disk(&d, "xvda", img);
	rig_disk(&e, "xvda", img2);
	T_EQ(create(1, &d, 1), 0);
	T_ASSERT(!canary(1, &d, 0));
	w = rig_worker_of(1);
	T_ASSERT(!rig_restart(SIGTERM));
	T_EQ(kill(w, SIGKILL), 0);
	T_WAIT((w2 = rig_worker_of(1)) > 0 && w2 != w);
	T_ASSERT(w2 > 0 && w2 != w);
	T_WAIT(rig_log_count("removed the dead worker"));
	T_EQ(rig_log_count("took over the dead worker's ioreq server"), 1);
	T_ASSERT(served_again(1, &d));
	T_ASSERT(!canary(1, &d, 1));

	/* A second guest, its worker started by this supervisor. */
	T_EQ(create(2, &e, 1), 0);
	T_ASSERT(!canary(2, &e, 0));

	/* --stop-all refuses workers a supervisor controls ... */
	T_ASSERT(rig_xvbd_cmd("--stop-all") != 0);
	T_EQ(rig_log_count("controlled by a running supervisor"), 2);
	T_ASSERT(!canary(1, &d, 0) && !canary(2, &e, 1));
	/* ... and stops them once it is gone. */
	T_ASSERT(!rig_supervisor_stop(SIGTERM));
	T_EQ(rig_xvbd_cmd("--stop-all"), 0);
	T_EQ(rig_log_count("2 worker(s) stopped, 0 left"), 1);
	T_ASSERT(!rig_no_workers());
	T_ASSERT(!rig_settled());
	/* The guests' destroy, with no worker: the new supervisor answers
	 * their Closing. */
	T_ASSERT(!rig_supervisor_start());
	T_EQ(xsim_libxl_destroy(sim, 1), 0);
	T_EQ(xsim_libxl_destroy(sim, 2), 0);
	T_ASSERT(!rig_stop());
}

/*
 * A line to a worker that just died: the supervisor writes into a socket
 * whose other end is gone, which must be an error it logs, not a SIGPIPE
 * that kills it (and with it every guest's devices). Made certain by
 * stopping the supervisor while the worker dies and the SIGHUP (a
 * "resize" line to every worker) arrives: signalfd hands SIGHUP over
 * before SIGCHLD.
 */
static void supervisor_survives_a_dead_workers_socket(void)
{
	struct xsim_libxl_disk d;
	struct t_proc_stat st;
	char img[128];
	pid_t w, w2 = -1;

	T_ASSERT(!start());
	T_ASSERT(!rig_image("p", 8 << 20, img, sizeof(img)));
	rig_disk(&d, "xvda", img);
	T_EQ(create(1, &d, 1), 0);
	T_ASSERT(!canary(1, &d, 0));
	w = rig_worker_of(1);
	T_ASSERT(w > 0);
	T_EQ(kill(xvbd, SIGSTOP), 0);
	T_EQ(kill(w, SIGKILL), 0);
	T_WAIT(!t_proc_stat(w, &st) && st.state == 'Z');
	T_ASSERT(!t_proc_stat(w, &st));
	T_EQ(st.state, 'Z'); /* dead, its socket closed, not yet reaped */
	T_EQ(kill(xvbd, SIGHUP), 0);
	T_EQ(kill(xvbd, SIGCONT), 0);
	T_WAIT((w2 = rig_worker_of(1)) > 0 && w2 != w);
	/* The supervisor lives (a zombie would still take kill(pid, 0)). */
	T_EQ(waitpid(xvbd, NULL, WNOHANG), 0);
	T_ASSERT(w2 > 0 && w2 != w);
	T_WAIT(rig_log_count("d1: ioreq server up") >= 2);
	T_ASSERT(served_again(1, &d));
	T_ASSERT(!canary(1, &d, 1));
	T_EQ(xsim_libxl_destroy(sim, 1), 0);
	T_ASSERT(!rig_finish());
}

/* Domain 1 destroyed (with requests in flight) and created again. */
static void domid_reused_after_destroy_in_flight(void)
{
	struct hguest g HGUEST_SCOPED = { 0 };

	T_ASSERT(!start());
	T_ASSERT(!hguest_image(&g, "r"));
	for (int round = 0; round < 3; round++) {
		rig_disk(&g.d, "xvda", g.img);
		T_ASSERT(!hguest_create(&g, 1, 2));
		T_ASSERT(!hguest_drv(&g, 32));
		for (int i = 0; i < 32; i++)
			T_ASSERT(blkdrv_queue(&g.b, VIRTIO_BLK_T_OUT, 8 * i,
					      4096, i + 1));
		blkdrv_kick(&g.b);
		/* No waiting for completions: the guest dies now. */
		T_EQ(xsim_libxl_destroy(sim, 1), 0);
		hguest_cleanup(&g); /* no reset through a dead guest */
		T_ASSERT(!rig_settled());
	}
	/* And the reused id works like new. */
	rig_disk(&g.d, "xvda", g.img);
	T_EQ(create(1, &g.d, 1), 0);
	T_ASSERT(!canary(1, &g.d, 0));
	T_EQ(xsim_libxl_destroy(sim, 1), 0);
	T_ASSERT(!rig_finish());
}

/* Grant DMA: the guest's addresses are grant references (bit 63). */
struct gbus {
	uint32_t domid;
	uint64_t base;
};

static uint64_t gbus_read(void *opaque, uint64_t off, unsigned int size)
{
	struct gbus *g = opaque;
	uint64_t v = ~0ULL;

	xsim_mmio_read(sim, g->domid, 0, g->base + off, size, &v, TMO_MS);
	return v;
}

static void gbus_write(void *opaque, uint64_t off, unsigned int size,
		       uint64_t val)
{
	struct gbus *g = opaque;

	xsim_mmio_write(sim, g->domid, 0, g->base + off, size, val, TMO_MS);
}

/* Page n of RAM is granted as reference n + 1 (0 is reserved). */
static uint64_t gbus_dma(void *opaque, uint64_t gpa)
{
	uint64_t page = (gpa - XSIM_RAM0_BASE) >> 12;

	return (1ULL << 63) | ((page + 1) << 12) | (gpa & 0xfff);
}

/* One request (header, data, status) to completion; the status or -1. */
static int grant_req(struct gdrv *g, struct gbus *gb, unsigned int spi,
		     struct fakeguest *fg, uint32_t type, uint64_t hdr,
		     uint64_t data, uint64_t status)
{
	struct virtio_blk_outhdr h = { .type = type, .sector = 16 };
	struct gdrv_buf bufs[3] = {
		{ hdr, sizeof(h), false },
		{ data, 4096, type == VIRTIO_BLK_T_IN },
		{ status, 1, true },
	};
	uint8_t st = 0xff;
	uint16_t head;
	uint32_t len;

	fg_write(fg, hdr, &h, sizeof(h));
	fg_write(fg, status, &st, 1);
	if (gdrv_add(g, 0, bufs, 3, GDRV_INDIRECT) < 0)
		return -1;
	gdrv_kick(g, 0);
	for (uint64_t end = t_now_ms() + t_hang_ms(); t_now_ms() < end;) {
		if (gdrv_get_used(g, 0, &head, &len) == 1) {
			fg_read(fg, status, &st, 1);
			return st;
		}
		if (!xsim_irq_wait(sim, gb->domid, spi, 100))
			gdrv_ack_irq(g);
	}
	return -1;
}

static void grant_mode_disk(void)
{
	struct xsim_domain_config dc = { .domid = 4,
					 .nr_vcpus = 1,
					 .ram_bytes = RAM,
					 .nr_grants = RAM / 4096 + 16 };
	struct xsim_libxl_disk d;
	struct gbus gb = { .domid = 4 };
	struct gdrv_bus bus = { gbus_read, gbus_write, gbus_dma, &gb };
	struct fakeguest *fg FG_SCOPED = NULL;
	struct xsim_stats st;
	struct gdrv g;
	uint64_t hdr, data, status;
	char img[128];

	T_ASSERT(!start());
	T_ASSERT(!rig_image("gnt", 8 << 20, img, sizeof(img)));
	rig_disk(&d, "xvda", img);
	d.grant_usage = 1;
	T_EQ(xsim_libxl_create(sim, &dc, &d, 1, NULL, 0), 0);
	for (uint64_t p = 0; p < RAM / 4096; p++)
		T_EQ(xsim_grant(sim, 4, p + 1, 0, (XSIM_RAM0_BASE >> 12) + p,
				false),
		     0);
	gb.base = d.base;
	fg = fg_wrap(xsim_ram_ptr(sim, 4, XSIM_RAM0_BASE, RAM), XSIM_RAM0_BASE,
		     RAM);
	T_ASSERT(fg);
	gdrv_init_bus(&g, &bus, fg);
	T_EQ(gdrv_up(&g,
		     (1ULL << VIRTIO_F_VERSION_1) |
			     (1ULL << VIRTIO_F_ACCESS_PLATFORM) |
			     (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
			     (1ULL << VIRTIO_RING_F_EVENT_IDX),
		     1, 64),
	     0);
	hdr = fg_alloc(fg, 16, 16);
	status = fg_alloc(fg, 1, 1);
	data = fg_alloc(fg, 4096, 4096);
	fg_fill(fg, data, 4096, 99);
	T_EQ(grant_req(&g, &gb, d.irq, fg, VIRTIO_BLK_T_OUT, hdr, data, status),
	     VIRTIO_BLK_S_OK);
	fg_fill(fg, data, 4096, 1);
	T_EQ(grant_req(&g, &gb, d.irq, fg, VIRTIO_BLK_T_IN, hdr, data, status),
	     VIRTIO_BLK_S_OK);
	T_ASSERT(fg_check(fg, data, 4096, 99));
	/* Nothing stays mapped once the requests are done. */
	xsim_get_stats(sim, &st);
	T_EQ(st.grant_maps, 3); /* the rings, for the queue's lifetime */
	gdrv_reset(&g);
	gdrv_fini(&g);
	fg_release(&fg);
	T_EQ(xsim_libxl_destroy(sim, 4), 0);
	T_ASSERT(!rig_finish());
}

/* Plain guest-physical addresses, as a guest without grant DMA gives. */
static uint64_t gbus_plain(void *opaque, uint64_t gpa)
{
	return gpa;
}

/*
 * Queue 0 of guest @domid's disk @d set up with the rings at @desc (avail
 * and used on the next pages) through @dma: refused the spec's way, the
 * log naming the ring and @why. Returns with the device reset.
 */
static void refused_queue(uint32_t domid, const struct xsim_libxl_disk *d,
			  uint64_t (*dma)(void *, uint64_t), uint64_t desc,
			  const char *why)
{
	struct gbus gb = { .domid = domid, .base = d->base };
	struct gdrv_bus bus = { gbus_read, gbus_write, dma, &gb };
	struct fakeguest *fg;
	struct gdrv g;
	char line[200];
	uint64_t irqs;

	fg = fg_wrap(xsim_ram_ptr(sim, domid, XSIM_RAM0_BASE, RAM),
		     XSIM_RAM0_BASE, RAM);
	T_ASSERT(fg);
	gdrv_init_bus(&g, &bus, fg);
	T_EQ(gdrv_probe(&g), 0);
	T_EQ(gdrv_negotiate(&g, (1ULL << VIRTIO_F_VERSION_1) |
					(1ULL << VIRTIO_F_ACCESS_PLATFORM)),
	     0);
	irqs = xsim_irq_count(sim, domid, d->irq);
	/* QueueReady reads back the 1 written (virtio 1.2 4.2.2). */
	T_EQ(gdrv_setup_vq_at(&g, 0, 64, dma(&gb, desc),
			      dma(&gb, desc + 0x1000), dma(&gb, desc + 0x2000),
			      true),
	     1);
	/* The device needs a reset, and a configuration interrupt says so:
	 * Linux never reads QueueReady back. */
	T_ASSERT(gdrv_r32(&g, VIRTIO_MMIO_STATUS) &
		 VIRTIO_CONFIG_S_NEEDS_RESET);
	T_EQ(xsim_irq_wait(sim, domid, d->irq, TMO_MS), 0);
	T_ASSERT(xsim_irq_count(sim, domid, d->irq) > irqs);
	T_ASSERT(gdrv_r32(&g, VIRTIO_MMIO_INTERRUPT_STATUS) &
		 VIRTIO_MMIO_INT_CONFIG);
	/* DRIVER_OK does not start a broken device. */
	T_ASSERT(gdrv_driver_ok(&g) != 0);
	snprintf(line, sizeof(line), "vq0: ring at 0x%llx %s",
		 (unsigned long long)dma(&gb, desc), why);
	T_EQ(rig_log_count(line), 1);
	/* A reset clears it all. */
	T_EQ(gdrv_reset(&g), 0);
	gdrv_w32(&g, VIRTIO_MMIO_QUEUE_SEL, 0);
	T_EQ(gdrv_r32(&g, VIRTIO_MMIO_QUEUE_READY), 0);
	gdrv_fini(&g);
	fg_free(fg);
}

/*
 * A grant-mode disk (grant_usage=1) given plain addresses, as by a guest
 * kernel without CONFIG_XEN_VIRTIO: refused, the log saying the cause and
 * the fix; after a reset the device serves a guest that uses grants.
 */
static void grant_mode_disk_given_plain_addresses(void)
{
	struct xsim_domain_config dc = { .domid = 4,
					 .nr_vcpus = 1,
					 .ram_bytes = RAM,
					 .nr_grants = RAM / 4096 + 16 };
	struct xsim_libxl_disk d;
	char img[128];

	T_ASSERT(!start());
	T_ASSERT(!rig_image("gp", 8 << 20, img, sizeof(img)));
	rig_disk(&d, "xvda", img);
	d.grant_usage = 1;
	T_EQ(xsim_libxl_create(sim, &dc, &d, 1, NULL, 0), 0);
	refused_queue(
		4, &d, gbus_plain, XSIM_RAM0_BASE + 0x100000,
		"is not a grant address: the guest needs CONFIG_XEN_VIRTIO, or set grant_usage=0");
	T_EQ(xsim_libxl_destroy(sim, 4), 0);
	T_ASSERT(!rig_finish());
}

/*
 * Rings xvbd cannot map (past the guest's RAM, and at a grant address on a
 * disk without grants): refused the spec's way, the cause logged; after a
 * reset the device serves.
 */
static void unmappable_rings_need_reset(void)
{
	struct xsim_libxl_disk d;
	char img[128];

	T_ASSERT(!start());
	T_ASSERT(!rig_image("um", 8 << 20, img, sizeof(img)));
	rig_disk(&d, "xvda", img);
	T_EQ(create(1, &d, 1), 0);
	refused_queue(1, &d, gbus_plain, XSIM_RAM0_BASE + RAM + 0x100000,
		      "is not in guest RAM");
	refused_queue(
		1, &d, gbus_dma, XSIM_RAM0_BASE + 0x100000,
		"is not in guest RAM: a grant address, but the device has grant_usage=0");
	T_ASSERT(!canary(1, &d, 0));
	T_EQ(xsim_libxl_destroy(sim, 1), 0);
	T_ASSERT(!rig_finish());
}

/* True if this process may create TAP devices. */
static bool can_tap(void)
{
	return !access("/dev/net/tun", R_OK | W_OK) && !geteuid();
}

static bool if_exists(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/class/net/%s", name);
	return !access(path, F_OK);
}

/*
 * NICs through both xl routes: a generic virtio,device1 (Xen 4.18+) and a
 * disk slot whose target file is named "xvb-net:..." (Xen 4.17). Each is served
 * as DeviceID 1 on a TAP named vxb<domid>.<devid>, removed at teardown.
 */
static void nics_served_on_taps(void)
{
	struct xsim_domain_config dc = { .domid = 5,
					 .nr_vcpus = 1,
					 .ram_bytes = RAM };
	struct xsim_libxl_virtio nic = { .type = "virtio,device1",
					 .grant_usage = -1 };
	struct xsim_libxl_disk slot;
	uint64_t id = 0, mac = 0;
	char path[160], *st = NULL;

	if (!can_tap()) {
		t_skip("no /dev/net/tun or not root: TAPs cannot be made");
		return;
	}
	T_ASSERT(!start());
	/* Created (and introduced) paused; the devices follow. */
	T_EQ(xsim_libxl_create(sim, &dc, NULL, 0, NULL, 0), 0);
	T_EQ(xsim_xs_write(sim, 0, "/local/domain/5/name", "nic"), 0);
	rig_disk(
		&slot, "xvda",
		"/etc/xen/xvb-net:mac=00:16:3e:00:00:09,queues=3,poll_us=20,coalesce_us=0");
	slot.base = XSIM_VIRTIO_MMIO_BASE;
	slot.irq = 33;
	nic.base = XSIM_VIRTIO_MMIO_BASE + 0x200;
	nic.irq = 34;
	T_EQ(xsim_libxl_write_disk(sim, 5, &slot), 0);
	T_EQ(xsim_libxl_write_virtio(sim, 5, &nic), 0);
	xsim_libxl_be_path(path, sizeof(path), "virtio_disk", 0, 5, 51712);
	strcat(path, "/state");
	T_EQ(xsim_xs_wait(sim, path, "2", TMO_MS), 0);
	xsim_libxl_be_path(path, sizeof(path), "virtio", 0, 5, 0);
	strcat(path, "/state");
	T_EQ(xsim_xs_wait(sim, path, "2", TMO_MS), 0);
	T_EQ(xsim_domain_unpause(sim, 5), 0);
	for (unsigned int i = 0; i < 2; i++) {
		uint64_t base = XSIM_VIRTIO_MMIO_BASE + 0x200 * i;

		T_EQ(xsim_mmio_read(sim, 5, 0, base + 0x8, 4, &id, TMO_MS), 0);
		T_EQ(id, 1); /* VIRTIO_ID_NET */
		/* Config space: the MAC (bytes 0..5). */
		T_EQ(xsim_mmio_read(sim, 5, 0, base + 0x100 + 4, 1, &mac,
				    TMO_MS),
		     0);
		T_EQ(mac, i ? 0x00 : 0x00);
		T_EQ(xsim_mmio_read(sim, 5, 0, base + 0x105, 1, &mac, TMO_MS),
		     0);
		T_EQ(mac, i ? 0x07 : 0x09); /* file for the NIC, slot's own */
		/* max_virtqueue_pairs: the slot's queues=3; 1 vCPU, 1. */
		T_EQ(xsim_mmio_read(sim, 5, 0, base + 0x108, 2, &mac, TMO_MS),
		     0);
		T_EQ(mac, i ? 1 : 3);
	}
	/* Transmit polling and interrupt moderation: the slot's poll_us=20
	 * and coalesce_us=0, nic0.poll_us and nic0.coalesce_us in the file
	 * for the generic NIC. */
	T_EQ(rig_log_count(
		     "3 queue pair(s), transmit polling every 20 us, transmit interrupts not held"),
	     1);
	T_EQ(rig_log_count(
		     "1 queue pair(s), transmit polling every 30 us, transmit interrupts held up to 500 us"),
	     1);
	/* SIGUSR1: both NICs say what their pairs are doing. */
	T_EQ(kill(xvbd, SIGUSR1), 0);
	T_ASSERT(log_has("state: 2 device(s)"));
	T_ASSERT(log_has("1 of 3 pair(s) in use"));
	T_ASSERT(log_has("1 of 1 pair(s) in use"));
	T_EQ(rig_log_count("vq1 transmit: 0 frames popped, 0 ops in flight"),
	     2);
	T_ASSERT(if_exists("vxb5.51712"));
	T_ASSERT(if_exists("vxb5.0"));
	T_EQ(xsim_libxl_destroy(sim, 5), 0);
	T_ASSERT(!rig_settled());
	T_WAIT(!if_exists("vxb5.0"));
	T_ASSERT(!if_exists("vxb5.51712"));
	T_ASSERT(!if_exists("vxb5.0"));
	free(st);
	T_ASSERT(!rig_stop());
}

/*
 * Static mode (dom0less, no xenstore): xvbd --domain N --blk ... serves the
 * window as soon as it is up, and SIGTERM takes everything down.
 */
static void static_mode_disk(void)
{
	struct xsim_domain_config dc = { .domid = 6,
					 .nr_vcpus = 2,
					 .ram_bytes = RAM };
	struct xsim_libxl_disk d;
	char img[128], spec[200];
	uint64_t magic = 0;

	snprintf(img, sizeof(img), "/tmp/xvbd-static-%d.img", getpid());
	T_ASSERT(!truncate_new(img));
	snprintf(spec, sizeof(spec), "base=0x%llx,irq=33,path=%s",
		 XSIM_VIRTIO_MMIO_BASE, img);
	static_args[0] = "xvbd";
	static_args[1] = "--domain";
	static_args[2] = "6";
	static_args[3] = "--blk";
	static_args[4] = spec;
	static_args[5] = NULL;
	precreate = &dc;
	T_ASSERT(!start());
	static_args[0] = NULL;
	precreate = NULL;
	T_WAIT(!xsim_mmio_read(sim, 6, 0, XSIM_VIRTIO_MMIO_BASE, 4, &magic,
			       TMO_MS) &&
	       magic == 0x74726976);
	T_EQ(magic, 0x74726976);
	rig_disk(&d, "xvda", img);
	d.base = XSIM_VIRTIO_MMIO_BASE;
	d.irq = 33;
	T_ASSERT(!canary(6, &d, 1));
	/* No xenstore at all: the worker never opened a handle to it. */
	T_ASSERT(!rig_stop());
	unlink(img);
}

/* ---- dist/xvb-create under the simulator --------------------------------- */

/*
 * A fake xl, xenstore-list and xenstore-read for dist/xvb-create: shell
 * scripts on its PATH that hand their argv to a thread of this test over a
 * FIFO and print its answer. xl create -p makes guest 7 (named guest7) with
 * @fx's devices in the simulator, as libxl does; unpause notes whether
 * every device was served at that moment.
 */
struct fakexl {
	char dir[128];
	struct xsim_libxl_virtio devs[2];
	unsigned int nr_devs;
	pthread_t t;
	/* What the wrapper did. */
	unsigned int creates, unpauses, destroys;
	bool unpaused_unserved;
};

/* Every backend of guest 7 is in state 2. */
static bool all_served(struct fakexl *fx)
{
	bool ok = fx->nr_devs > 0;

	for (unsigned int i = 0; i < fx->nr_devs; i++) {
		char path[160], *st;

		xsim_libxl_be_path(path, sizeof(path) - 8, "virtio", 0, 7,
				   fx->devs[i].devid);
		strcat(path, "/state");
		st = xsim_xs_read(sim, 0, path, NULL);
		ok &= st && !strcmp(st, "2");
		free(st);
	}
	return ok;
}

/* One command: its exit status, and what it prints in @out. */
static int fakexl_cmd(struct fakexl *fx, char **av, int ac, char *out,
		      size_t len)
{
	out[0] = '\0';
	if (!strcmp(av[0], "xl") && ac >= 3 && !strcmp(av[1], "create")) {
		struct xsim_domain_config dc = { .domid = 7,
						 .nr_vcpus = 1,
						 .ram_bytes = RAM,
						 .paused = true };

		fx->creates++;
		return xsim_libxl_create(sim, &dc, NULL, 0, fx->devs,
					 fx->nr_devs) ?
			       1 :
			       0;
	}
	if (!strcmp(av[0], "xl") && ac == 3 && !strcmp(av[1], "domid")) {
		if (strcmp(av[2], "guest7"))
			return 1;
		snprintf(out, len, "7\n");
		return 0;
	}
	if (!strcmp(av[0], "xl") && ac == 3 && !strcmp(av[1], "unpause")) {
		fx->unpauses++;
		if (!all_served(fx))
			fx->unpaused_unserved = true;
		return xsim_domain_unpause(sim, 7) ? 1 : 0;
	}
	if (!strcmp(av[0], "xl") && ac == 3 && !strcmp(av[1], "destroy")) {
		fx->destroys++;
		return xsim_libxl_destroy(sim, 7) == -ESRCH ? 1 : 0;
	}
	if (!strcmp(av[0], "xenstore-list") && ac == 2) {
		unsigned int n = 0;
		char *names = xsim_xs_directory(sim, 0, av[1], &n, NULL), *p;

		if (!names)
			return 1;
		p = names;
		for (unsigned int i = 0; i < n; i++, p += strlen(p) + 1)
			snprintf(out + strlen(out), len - strlen(out), "%s\n",
				 p);
		free(names);
		return 0;
	}
	if (!strcmp(av[0], "xenstore-read") && ac == 2) {
		char *v = xsim_xs_read(sim, 0, av[1], NULL);

		if (!v)
			return 1;
		snprintf(out, len, "%s\n", v);
		free(v);
		return 0;
	}
	snprintf(out, len, "fake: unexpected command %s\n", av[0]);
	return 2;
}

static void *fakexl_serve(void *p)
{
	struct fakexl *fx = p;
	char req[160], rep[160], buf[1024], out[1024];

	snprintf(req, sizeof(req), "%s/req", fx->dir);
	snprintf(rep, sizeof(rep), "%s/rep", fx->dir);
	for (;;) {
		char *av[16];
		int ac = 0, fd, st;
		ssize_t n, len = 0;

		fd = open(req, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return NULL;
		while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
			len += n;
		close(fd);
		buf[len] = '\0';
		for (char *l = strtok(buf, "\n"); l && ac < 16;
		     l = strtok(NULL, "\n"))
			av[ac++] = l;
		if (!ac)
			continue;
		if (!strcmp(av[0], "quit"))
			return NULL;
		st = fakexl_cmd(fx, av, ac, out, sizeof(out));
		fd = open(rep, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return NULL;
		dprintf(fd, "%d\n%s", st, out);
		close(fd);
	}
}

static int fakexl_start(struct fakexl *fx)
{
	static const char *const tools[] = { "xl", "xenstore-list",
					     "xenstore-read" };
	char path[200];
	FILE *f;

	snprintf(fx->dir, sizeof(fx->dir), "%s/fake", rig_dir);
	T_CHECK(!mkdir(fx->dir, 0700));
	snprintf(path, sizeof(path), "%s/req", fx->dir);
	T_CHECK(!mkfifo(path, 0600));
	snprintf(path, sizeof(path), "%s/rep", fx->dir);
	T_CHECK(!mkfifo(path, 0600));
	for (unsigned int i = 0; i < ARRAY_SIZE(tools); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->dir, tools[i]);
		f = fopen(path, "w");
		T_CHECK(f);
		fprintf(f,
			"#!/bin/sh\n"
			"{ echo %s; for a in \"$@\"; do echo \"$a\"; done; } >\"%s/req\"\n"
			"{ IFS= read -r st; cat; exit \"$st\"; } <\"%s/rep\"\n",
			tools[i], fx->dir, fx->dir);
		fclose(f);
		T_CHECK(!chmod(path, 0755));
	}
	snprintf(path, sizeof(path), "%s/guest7.cfg", fx->dir);
	f = fopen(path, "w");
	T_CHECK(f);
	fprintf(f, "name = \"guest7\"\nvirtio = [ 'type=virtio,device1' ]\n");
	fclose(f);
	T_CHECK(!pthread_create(&fx->t, NULL, fakexl_serve, fx));
	return 0;
}

static void fakexl_stop(struct fakexl *fx)
{
	char path[200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/req", fx->dir);
	f = fopen(path, "w");
	if (f) {
		fputs("quit\n", f);
		fclose(f);
	}
	pthread_join(fx->t, NULL);
}

/* Runs dist/xvb-create on guest7.cfg; its exit status, its stderr in @err. */
static int xvb_create(struct fakexl *fx, const char *timeout, char *err,
		      size_t len)
{
	char cmd[700];
	int st;
	FILE *f;

	T_CHECK(!access("dist/xvb-create", X_OK));
	snprintf(
		cmd, sizeof(cmd),
		"PATH=%s:$PATH dist/xvb-create -t %s %s/guest7.cfg >%s/out 2>%s/err",
		fx->dir, timeout, fx->dir, fx->dir, fx->dir);
	st = system(cmd);
	snprintf(cmd, sizeof(cmd), "%s/err", fx->dir);
	err[0] = '\0';
	f = fopen(cmd, "r");
	if (f) {
		size_t n = fread(err, 1, len - 1, f);

		err[n] = '\0';
		fclose(f);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Continues the stopped supervisor 500 ms after the guest was created. */
static void *cont_later(void *p)
{
	struct fakexl *fx = p;

	T_WAIT(fx->creates);
	usleep(500000);
	kill(xvbd, SIGCONT);
	return NULL;
}

/*
 * xvb-create (Xen 4.18+: libxl does not wait for generic virtio devices):
 * the guest is unpaused only once xvbd serves its NIC, here late (the
 * supervisor stopped until 500 ms after the guest was made).
 */
static void xvb_create_waits_for_generic_devices(void)
{
	struct fakexl fx = { .nr_devs = 1 };
	char err[512], tmo[16];
	pthread_t t;

	if (!can_tap()) {
		t_skip("no /dev/net/tun or not root: TAPs cannot be made");
		return;
	}
	fx.devs[0] = (struct xsim_libxl_virtio){ .type = "virtio,device1",
						 .grant_usage = -1 };
	T_ASSERT(!start());
	T_ASSERT(!fakexl_start(&fx));
	T_EQ(kill(xvbd, SIGSTOP), 0);
	T_ASSERT(!pthread_create(&t, NULL, cont_later, &fx));
	snprintf(tmo, sizeof(tmo), "%u", t_hang_ms() / 1000 + 1);
	T_EQ(xvb_create(&fx, tmo, err, sizeof(err)), 0);
	pthread_join(t, NULL);
	fakexl_stop(&fx);
	T_EQ(fx.creates, 1);
	T_EQ(fx.unpauses, 1);
	T_EQ(fx.destroys, 0);
	T_ASSERT(!fx.unpaused_unserved);
	T_EQ(xsim_libxl_destroy(sim, 7), 0);
	T_ASSERT(!rig_finish());
}

/*
 * xvb-create with xvbd stopped: it times out with a clear error, destroys
 * the paused guest, and never unpauses it; a device xvbd refuses fails it
 * at once, saying so.
 */
static void xvb_create_fails_clearly(void)
{
	struct fakexl fx = { .nr_devs = 1 };
	char err[512];

	fx.devs[0] = (struct xsim_libxl_virtio){ .type = "virtio,device1",
						 .grant_usage = -1 };
	T_ASSERT(!start());
	T_ASSERT(!fakexl_start(&fx));
	T_ASSERT(!rig_supervisor_stop(SIGINT));
	T_EQ(xvb_create(&fx, "2", err, sizeof(err)), 1);
	if (!strstr(err, "not served within 2 s") ||
	    !strstr(err, "is xvbd running?"))
		t_fail(__FILE__, __LINE__, "xvb-create said: %s", err);
	T_EQ(fx.creates, 1);
	T_EQ(fx.unpauses, 0);
	T_EQ(fx.destroys, 1);
	T_ASSERT(!xsim_xs_read(sim, 0, "/local/domain/7", NULL));

	/* A device xvbd refuses (an unsupported type): at once. */
	T_ASSERT(!rig_supervisor_start());
	fx.devs[0].type = "virtio,device2";
	T_EQ(xvb_create(&fx, "20", err, sizeof(err)), 1);
	if (!strstr(err, "xvbd refused device virtio/0"))
		t_fail(__FILE__, __LINE__, "xvb-create said: %s", err);
	fakexl_stop(&fx);
	T_EQ(fx.creates, 2);
	T_EQ(fx.unpauses, 0);
	T_EQ(fx.destroys, 2);
	T_ASSERT(!rig_finish());
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T_CASE(many_devices_and_guests),
		T_CASE(malformed_nodes_refused),
		T_CASE(worker_killed_and_restarted),
		T_CASE(worker_killed_with_an_access_in_flight),
		T_CASE(supervisor_restarted_under_io),
		T_CASE(adopted_worker_killed_and_stop_all),
		T_CASE(supervisor_survives_a_dead_workers_socket),
		T_CASE(domid_reused_after_destroy_in_flight),
		T_CASE(grant_mode_disk),
		T_CASE(grant_mode_disk_given_plain_addresses),
		T_CASE(unmappable_rings_need_reset),
		T_CASE(nics_served_on_taps),
		T_CASE(static_mode_disk),
		T_CASE(resize_on_sighup),
		T_CASE(state_on_sigusr1),
		T_CASE(xvb_create_waits_for_generic_devices),
		T_CASE(xvb_create_fails_clearly),
	};
	int rc;

	if (rig_init())
		return 1;
	rc = t_main(cases, ARRAY_SIZE(cases), argc, argv);
	rig_cleanup();
	return rc;
}
