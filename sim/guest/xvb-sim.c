// SPDX-License-Identifier: MIT
/*
 * xvb-sim: a simulated Xen with a guest, driving the unmodified xvbd. It
 * starts the simulator, starts `xvbd` (the supervisor) on the drop-in
 * libxen* libraries, creates a guest the way xl does, runs a workload
 * through the guest's virtio-blk driver, destroys the guest and checks
 * that xvbd let go of everything. Prints "ok"/"FAIL" lines per check.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>

#include "blkdrv.h"
#include "script.h"
#include "sim/libxl.h"
#include "sim/sim.h"

#define MAX_DISKS 8
#define BLOCK 4096
#define DOMID 1

struct opts {
	char xvbd[PATH_MAX];
	char libdir[PATH_MAX];
	unsigned int vcpus, disks, qd;
	unsigned int size_mib, ram_mib;
	unsigned int verify_blocks;
	double seconds;
	bool bench, quiet, verbose;
	const char *script;
};

struct disk {
	struct blkdrv drv;
	char image[PATH_MAX];
	uint64_t base;
	unsigned int irq, vcpu;
	uint32_t *stamp;  /* per 4 KiB block: the seed last written, 0 none */
	unsigned int bad; /* verification failures */
	const char *vdev;
	bool zeroed, discarded;
	int rc;
	struct opts *o;
	struct fakeguest *fg;
	struct xsim *sim;
};

static unsigned int nr_ok, nr_fail;

static void check(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void check(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", cond ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (cond)
		nr_ok++;
	else
		nr_fail++;
}

static void say(const struct opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(const struct opts *o, const char *fmt, ...)
{
	va_list ap;

	if (o->quiet)
		return;
	va_start(ap, fmt);
	printf("  ");
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- xvbd -------------------------------------------------------------------
 */

/* Open file descriptors of process @pid, or -1. */
static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

static pid_t start_xvbd(const struct opts *o, const char *sock)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	setenv("LD_LIBRARY_PATH", o->libdir, 1);
	setenv("XVB_SIM_SOCKET", sock, 1);
	if (o->quiet) {
		/* Keep xvbd's log out of the test output, but not lost. */
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
	}
	execl(o->xvbd, "xvbd", o->verbose ? "-v" : (char *)NULL, (char *)NULL);
	fprintf(stderr, "xvb-sim: cannot run %s: %s\n", o->xvbd,
		strerror(errno));
	_exit(127);
}

/* SIGTERM, then wait up to 5 s. Returns the exit status or -1. */
static int stop_xvbd(pid_t pid)
{
	int status, i;

	kill(pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* ---- workloads
 * ---------------------------------------------------------------- */

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)*s;
}

static void on_write(struct blkdrv *b, struct blkreq *r, void *arg)
{
	struct disk *d = arg;

	if (r->status != VIRTIO_BLK_S_OK)
		d->bad++;
}

/* Keeps up to qd requests in flight until @n are issued, then drains. */
static int pump(struct disk *d, unsigned int n, uint32_t type,
		void (*done)(struct blkdrv *, struct blkreq *, void *),
		uint64_t *seed, bool random_seeds)
{
	struct blkdrv *b = &d->drv;
	uint64_t nblocks = b->capacity / (BLOCK / 512);
	unsigned int issued = 0;
	int rc;

	while (issued < n || b->inflight) {
		while (issued < n && b->inflight < b->qd) {
			uint64_t blk = rnd(seed) % nblocks;
			uint32_t s = random_seeds ? (rnd(seed) | 1) : 0;

			if (type == VIRTIO_BLK_T_OUT)
				d->stamp[blk] = s;
			if (!blkdrv_queue(b, type, blk * (BLOCK / 512), BLOCK,
					  s))
				break;
			issued++;
		}
		blkdrv_kick(b);
		rc = blkdrv_reap(b, 5000, done, d);
		if (rc <= 0)
			return rc ? rc : -ETIMEDOUT;
	}
	return 0;
}

static bool all_zero(struct disk *d, const struct blkreq *r)
{
	const uint8_t *p = fg_ptr(d->fg, r->data_gpa, r->len);

	for (uint32_t i = 0; p && i < r->len; i++)
		if (p[i])
			return false;
	return p != NULL;
}

static void *verify_disk(void *arg)
{
	struct disk *d = arg;
	struct blkdrv *b = &d->drv;
	uint64_t seed = 0x9e3779b97f4a7c15ULL ^ d->irq;
	struct blkreq *r;
	int st;

	/* Writes, a flush, then every written block read back. */
	d->rc = pump(d, d->o->verify_blocks, VIRTIO_BLK_T_OUT, on_write, &seed,
		     true);
	if (d->rc)
		return NULL;
	st = blkdrv_sync(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL);
	if (st != VIRTIO_BLK_S_OK)
		d->bad++;
	for (uint64_t blk = 0; blk < b->capacity / 8; blk++) {
		if (!d->stamp[blk])
			continue;
		st = blkdrv_sync(b, VIRTIO_BLK_T_IN, blk * 8, BLOCK, 0, &r);
		if (st != VIRTIO_BLK_S_OK ||
		    !blkdrv_data_is(b, r, d->stamp[blk]))
			d->bad++;
	}
	/* GET_ID: the serial is the vdev name libxl wrote. */
	st = blkdrv_sync(b, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, 0, &r);
	if (st != VIRTIO_BLK_S_OK ||
	    strncmp(fg_ptr(d->fg, r->data_gpa, VIRTIO_BLK_ID_BYTES), d->vdev,
		    VIRTIO_BLK_ID_BYTES))
		d->bad++;
	/* WRITE_ZEROES over a written block reads back zeroes; DISCARD is OK.
	 */
	if (b->features & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES)) {
		st = blkdrv_sync(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0, NULL);
		if (st != VIRTIO_BLK_S_OK)
			d->bad++;
		st = blkdrv_sync(b, VIRTIO_BLK_T_IN, 0, BLOCK, 0, &r);
		if (st != VIRTIO_BLK_S_OK || !all_zero(d, r))
			d->bad++;
		d->stamp[0] = 0;
		d->zeroed = true;
	}
	if (b->features & (1ULL << VIRTIO_BLK_F_DISCARD)) {
		st = blkdrv_sync(b, VIRTIO_BLK_T_DISCARD, 8, 8, 0, NULL);
		if (st != VIRTIO_BLK_S_OK)
			d->bad++;
		d->stamp[1] = 0;
		d->discarded = true;
	}
	/* Hostile-ish but legal: a read past the end fails cleanly. */
	st = blkdrv_sync(b, VIRTIO_BLK_T_IN, b->capacity, BLOCK, 0, NULL);
	if (st != VIRTIO_BLK_S_IOERR)
		d->bad++;
	return NULL;
}

struct bench {
	const char *name;
	unsigned int qd;
	uint32_t type;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void percentile(struct blkdrv *b, double *p50, double *p99)
{
	if (!b->nr_lat) {
		*p50 = *p99 = 0;
		return;
	}
	qsort(b->lat_ns, b->nr_lat, sizeof(*b->lat_ns), cmp_u64);
	*p50 = b->lat_ns[b->nr_lat / 2] / 1000.0;
	*p99 = b->lat_ns[b->nr_lat * 99 / 100] / 1000.0;
}

static void run_bench(struct disk *d, const struct bench *bn)
{
	struct blkdrv *b = &d->drv;
	uint64_t seed = 42, reqs0 = b->nr_reqs, irqs0 = b->nr_irqs;
	uint64_t kicks0 = b->drv.nr_notifies;
	unsigned int qd = b->qd;
	double t0 = now_s(), t = 0, p50, p99;
	uint64_t n;

	b->qd = bn->qd < qd ? bn->qd : qd;
	b->nr_lat = 0;
	do {
		if (pump(d, 256, bn->type, NULL, &seed, false))
			break;
		t = now_s() - t0;
	} while (t < d->o->seconds);
	b->qd = qd;
	n = b->nr_reqs - reqs0;
	percentile(b, &p50, &p99);
	printf("  %-16s %9.0f IOPS  p50 %7.1f us  p99 %7.1f us  "
	       "%.3f irq/req  %.3f kick/req\n",
	       bn->name, n / t, p50, p99, (double)(b->nr_irqs - irqs0) / n,
	       (double)(b->drv.nr_notifies - kicks0) / n);
}

/* Other vCPUs read registers while the disks work: concurrent ioreqs. */
struct reader {
	struct xsim *sim;
	unsigned int vcpu;
	uint64_t base;
	volatile bool *stop;
	uint64_t reads, errors;
};

static void *read_regs(void *arg)
{
	struct reader *rd = arg;
	uint64_t v;

	while (!*rd->stop) {
		if (xsim_mmio_read(rd->sim, DOMID, rd->vcpu,
				   rd->base + VIRTIO_MMIO_MAGIC_VALUE, 4, &v,
				   5000) ||
		    v != 0x74726976)
			rd->errors++;
		rd->reads++;
		usleep(20); /* a busy guest, not a storm */
	}
	return NULL;
}

/* ---- the run
 * -------------------------------------------------------------------- */

static int make_image(const char *path, unsigned int mib)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	if (ftruncate(fileno(f), (off_t)mib << 20)) {
		fclose(f);
		return -errno;
	}
	fclose(f);
	return 0;
}

/* True once the supervisor has its xenstore watches set. */
static bool st_watching(struct xsim *sim)
{
	struct xsim_stats st;

	xsim_get_stats(sim, &st);
	return st.watches >= 3;
}

static int run(struct opts *o, const char *dir)
{
	struct xsim_libxl_disk xd[MAX_DISKS] = { 0 };
	struct disk disks[MAX_DISKS] = { 0 };
	struct xsim_domain_config dc = {
		.domid = DOMID,
		.nr_vcpus = o->vcpus,
		.ram_bytes = (uint64_t)o->ram_mib << 20,
	};
	static const char *const vdevs[] = { "xvda", "xvdb", "xvdc", "xvdd",
					     "xvde", "xvdf", "xvdg", "xvdh" };
	struct xsim_config sc = { .quiet = true };
	struct reader readers[16] = { 0 };
	pthread_t th[MAX_DISKS], rth[16];
	volatile bool stop = false;
	struct xsim_stats st;
	struct xsim *sim = NULL;
	struct fakeguest *fg = NULL;
	char sock[PATH_MAX], path[256], *state;
	unsigned int i, nreaders = 0;
	int fds0 = -1, fds1;
	pid_t xvbd;
	double t0;
	int rc, err;

	snprintf(sock, sizeof(sock), "%s/xen.sock", dir);
	sc.socket_path = sock;
	rc = xsim_create(&sc, &sim);
	if (rc) {
		fprintf(stderr, "xvb-sim: simulator: %s\n", strerror(-rc));
		return 1;
	}
	say(o, "simulated Xen on %s (Arm guest layout, libxl's xenstore nodes)",
	    sock);
	xvbd = start_xvbd(o, sock);
	say(o, "started %s (supervisor, pid %d) on the simulator's libxen*",
	    o->xvbd, (int)xvbd);

	for (i = 0; i < o->disks; i++) {
		snprintf(disks[i].image, sizeof(disks[i].image),
			 "%s/disk%u.img", dir, i);
		rc = make_image(disks[i].image, o->size_mib);
		if (rc) {
			fprintf(stderr, "xvb-sim: %s: %s\n", disks[i].image,
				strerror(-rc));
			goto out;
		}
		xd[i].be_domid = 0;
		xd[i].vdev = vdevs[i];
		xd[i].target = disks[i].image;
		xd[i].grant_usage = -1;
	}

	/* The supervisor's descriptors once it watches, to compare at the end.
	 */
	for (i = 0; i < 250 && !st_watching(sim); i++)
		usleep(20000);
	fds0 = count_fds(xvbd);
	/* xl create: nodes, then up to 10 s for state 2, then unpause. */
	t0 = now_s();
	rc = xsim_libxl_create(sim, &dc, xd, o->disks, NULL, 0);
	check(!rc,
	      "xl create: %u virtio disk(s) reached state 2 in %.0f ms "
	      "(%s)",
	      o->disks, (now_s() - t0) * 1000,
	      rc ? strerror(-rc) : "guest unpaused");
	if (rc)
		goto out_xvbd;

	fg = fg_wrap(xsim_ram_ptr(sim, DOMID, XSIM_RAM0_BASE, dc.ram_bytes),
		     XSIM_RAM0_BASE, dc.ram_bytes);
	if (o->script && fg) {
		struct script_dev sd = { sim,	     DOMID,	0,
					 xd[0].base, xd[0].irq, fg };

		rc = script_run(&sd, o->script);
		check(!rc, "script %s", o->script);
		goto out_destroy;
	}
	for (i = 0; i < o->disks && fg; i++) {
		struct disk *d = &disks[i];

		d->o = o;
		d->sim = sim;
		d->fg = fg;
		d->base = xd[i].base;
		d->irq = xd[i].irq;
		d->vcpu = i % o->vcpus;
		d->vdev = vdevs[i];
		rc = blkdrv_up(&d->drv, sim, DOMID, d->vcpu, d->base, d->irq,
			       fg, o->qd, 128 << 10);
		check(!rc,
		      "%s: probed at 0x%" PRIx64 " irq %u from vCPU %u: "
		      "%" PRIu64 " sectors, features 0x%" PRIx64 "%s%s",
		      vdevs[i], d->base, d->irq, d->vcpu, d->drv.capacity,
		      d->drv.features, rc ? ": " : "",
		      rc ? (d->drv.drv.why ? d->drv.drv.why : strerror(-rc)) :
			   "");
		if (rc)
			goto out_destroy;
		check(d->drv.capacity == ((uint64_t)o->size_mib << 20) / 512,
		      "%s: capacity matches the image", vdevs[i]);
		d->stamp = calloc(d->drv.capacity / 8, sizeof(*d->stamp));
	}

	/* Extra vCPUs hammer registers while the disks verify data. */
	for (i = o->disks; i < o->vcpus && nreaders < 16; i++, nreaders++) {
		readers[nreaders] =
			(struct reader){ sim, i, xd[0].base, &stop };
		pthread_create(&rth[nreaders], NULL, read_regs,
			       &readers[nreaders]);
	}
	t0 = now_s();
	for (i = 0; i < o->disks; i++)
		pthread_create(&th[i], NULL, verify_disk, &disks[i]);
	for (i = 0; i < o->disks; i++)
		pthread_join(th[i], NULL);
	stop = true;
	for (i = 0; i < nreaders; i++) {
		pthread_join(rth[i], NULL);
		check(!readers[i].errors && readers[i].reads,
		      "vCPU %u: %" PRIu64 " concurrent register reads answered",
		      readers[i].vcpu, readers[i].reads);
	}
	for (i = 0; i < o->disks; i++) {
		struct disk *d = &disks[i];

		check(!d->rc && !d->bad,
		      "%s: %u random 4 KiB writes, flush, read back: %s "
		      "(%" PRIu64 " requests, %" PRIu64 " interrupts, %.2f s)",
		      vdevs[i], o->verify_blocks,
		      d->rc  ? strerror(-d->rc) :
		      d->bad ? "MISMATCH" :
			       "verified",
		      d->drv.nr_reqs, d->drv.nr_irqs, now_s() - t0);
		check(!d->rc && !d->bad, "%s: GET_ID answered '%s'%s%s",
		      vdevs[i], vdevs[i],
		      d->zeroed ? ", WRITE_ZEROES read back zeroes" : "",
		      d->discarded ? ", DISCARD completed" : "");
		check(d->drv.nr_irqs > 0 && !d->drv.drv.errors,
		      "%s: completions signalled by interrupt, used ring sane",
		      vdevs[i]);
		check(!blkdrv_needs_reset(&d->drv), "%s: device healthy",
		      vdevs[i]);
	}

	if (o->bench) {
		static const struct bench benches[] = {
			{ "4k randread QD1", 1, VIRTIO_BLK_T_IN },
			{ "4k randread QD32", 32, VIRTIO_BLK_T_IN },
			{ "4k randwrite QD32", 32, VIRTIO_BLK_T_OUT },
		};

		say(o, "workload on xvda (simulated guest, %.1f s each):",
		    o->seconds);
		for (i = 0; i < ARRAY_SIZE(benches); i++)
			run_bench(&disks[0], &benches[i]);
	}

out_destroy:
	for (i = 0; i < o->disks; i++) {
		if (disks[i].drv.slots)
			blkdrv_down(&disks[i].drv);
		free(disks[i].stamp);
	}
	/* xl destroy: state 5, wait for 6 (libxl gives up after 10 s). */
	t0 = now_s();
	rc = xsim_libxl_destroy(sim, DOMID);
	xsim_libxl_be_path(path, sizeof(path), "virtio_disk", 0, DOMID,
			   xd[0].devid);
	check(!rc && now_s() - t0 < 5,
	      "xl destroy: backend answered Closing with Closed in %.0f ms",
	      (now_s() - t0) * 1000);
	state = xsim_xs_read(sim, 0, path, &err);
	check(!state, "xenstore: backend nodes removed");
	free(state);
	/* The worker exits once its guest is gone. */
	for (i = 0; i < 100; i++) {
		xsim_get_stats(sim, &st);
		if (!st.servers && !st.fmem_pages && !st.resources &&
		    !st.ports && count_fds(xvbd) == fds0)
			break;
		usleep(50000);
	}
	fds1 = count_fds(xvbd);
	check(fds1 == fds0,
	      "xvbd supervisor holds %d file descriptors, as before the guest "
	      "(%d)",
	      fds1, fds0);
	check(!st.servers && !st.fmem_pages && !st.resources && !st.ports &&
		      !st.grant_maps,
	      "xvbd released the guest: %u ioreq servers, %" PRIu64
	      " mapped pages, %u resources, %u ports left",
	      st.servers, st.fmem_pages, st.resources, st.ports);

out_xvbd:
	rc = stop_xvbd(xvbd);
	check(rc == 0,
	      "xvbd supervisor stopped cleanly on SIGTERM "
	      "(status %d)",
	      rc);
	xsim_get_stats(sim, &st);
	check(!st.conns && !st.watches && !st.transactions,
	      "no libxen handle left open (%u handles, %u watches)", st.conns,
	      st.watches);
	path[0] = '\0';
	check(!xsim_last_error(sim, path, sizeof(path)),
	      "the simulated Xen saw no protocol violation%s%s",
	      path[0] ? ": " : "", path);
out:
	fg_free(fg);
	xsim_destroy(sim);
	return nr_fail ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xvb-sim [options]\n"
		"  --xvbd PATH      the xvbd binary (default: ../xvbd beside xvb-sim)\n"
		"  --libdir DIR     the simulator's libxen*.so (default: lib/ beside xvb-sim)\n"
		"  --vcpus N        guest vCPUs (default 2)\n"
		"  --disks N        virtio disks (default 1, at most %d)\n"
		"  --size MIB       each disk image (default 64)\n"
		"  --blocks N       4 KiB blocks written and verified per disk (default 512)\n"
		"  --qd N           requests in flight per disk (default 32)\n"
		"  --bench          measure 4k random I/O after the checks\n"
		"  --seconds S      per benchmark (default 1)\n"
		"  -q, --quiet      only the ok/FAIL lines\n"
		"  -v, --verbose    xvbd logs at debug level\n"
		"  --script FILE    run a hostile-guest script on xvda instead of the\n"
		"                   workload (see docs/testing.md)\n",
		MAX_DISKS);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "xvbd", required_argument, NULL, 'x' },
		{ "libdir", required_argument, NULL, 'l' },
		{ "vcpus", required_argument, NULL, 'c' },
		{ "disks", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "qd", required_argument, NULL, 'Q' },
		{ "bench", no_argument, NULL, 'B' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "script", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .vcpus = 2,
			  .disks = 1,
			  .qd = 32,
			  .size_mib = 64,
			  .verify_blocks = 512,
			  .seconds = 1 };
	char self[PATH_MAX - 16], dir[] = "/tmp/xvb-sim-XXXXXX",
				  cmd[PATH_MAX + 16];
	ssize_t n;
	int opt, rc;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return 1;
	self[n] = '\0';
	dirname(self);
	snprintf(o.xvbd, sizeof(o.xvbd), "%s/../xvbd", self);
	snprintf(o.libdir, sizeof(o.libdir), "%s/lib", self);
	while ((opt = getopt_long(argc, argv, "qvh", lo, NULL)) != -1) {
		switch (opt) {
		case 'x':
			snprintf(o.xvbd, sizeof(o.xvbd), "%s", optarg);
			break;
		case 'l':
			snprintf(o.libdir, sizeof(o.libdir), "%s", optarg);
			break;
		case 'c':
			o.vcpus = atoi(optarg);
			break;
		case 'd':
			o.disks = atoi(optarg);
			break;
		case 's':
			o.size_mib = atoi(optarg);
			break;
		case 'b':
			o.verify_blocks = atoi(optarg);
			break;
		case 'Q':
			o.qd = atoi(optarg);
			break;
		case 'B':
			o.bench = true;
			break;
		case 'S':
			o.seconds = atof(optarg);
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'X':
			o.script = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o.vcpus || o.vcpus > 16 || !o.disks || o.disks > MAX_DISKS ||
	    !o.size_mib || o.size_mib > 4096 || !o.qd) {
		usage(stderr);
		return 2;
	}
	if (access(o.xvbd, X_OK)) {
		fprintf(stderr, "xvb-sim: %s: %s\n", o.xvbd, strerror(errno));
		return 2;
	}
	/* Guest RAM: rings, tables and request buffers, with room to spare. */
	o.ram_mib = 64 + 16 * o.disks;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(dir)) {
		perror("xvb-sim: mkdtemp");
		return 1;
	}
	rc = run(&o, dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "xvb-sim: could not remove %s\n", dir);
	if (!o.quiet)
		printf("%u passed, %u failed\n", nr_ok, nr_fail);
	return rc;
}
