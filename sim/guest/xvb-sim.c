// SPDX-License-Identifier: MIT
/*
 * xvb-sim: a simulated Xen with a guest, driving the unmodified xvbd. It
 * starts the simulator, starts `xvbd` (the supervisor) on the drop-in
 * libxen* libraries, creates a guest the way xl does, runs a workload
 * through the guest's virtio-blk driver, destroys the guest and checks
 * that xvbd let go of everything. Prints "ok"/"FAIL" lines per check.
 * With --load it is a load generator instead of a verifier: one workload,
 * measured, printed as one JSON line (see bench/).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/if_ether.h>
#include <netpacket/packet.h>
#include <sys/socket.h>
#include <fcntl.h>
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

#include "hang.h"
#include "blkdrv.h"
#include "netdrv.h"
#include "netstack.h"
#include "procfs.h"
#include "script.h"
#include "sim/libxl.h"
#include "sim/sim.h"

#define MAX_DISKS 8
#define BLOCK 4096
#define DOMID 1

/* A load generator's workload (--load, and --bench's measurements). */
struct load {
	const char *rw;		  /* randread, randwrite, read, write */
	bool write, random;	  /* decoded from rw */
	uint32_t bs;		  /* bytes per data request */
	unsigned int qd;	  /* requests in flight */
	unsigned int flush_every; /* a FLUSH after every N writes; 0: none */
	double ramp, seconds;	  /* warm-up, then the measured window */
};

struct opts {
	bool nic;    /* a virtio NIC beside the disks */
	bool no_nic; /* --no-nic: none even where TAPs can be made */
	char xvbd[PATH_MAX];
	char libdir[PATH_MAX];
	unsigned int vcpus, disks, qd;
	unsigned int queues;	/* xvda's queues driven, one thread each */
	unsigned int nic_pairs; /* the NIC's queue pairs (VQ_PAIRS_SET) */
	int nic_poll_us;     /* xvbd.conf [net] poll_us; -1: xvbd's default */
	int nic_coalesce_us; /* xvbd.conf [net] coalesce_us; -1: default */
	unsigned int size_mib, ram_mib;
	uint64_t disk_bytes; /* each disk: size_mib, or the --image's size */
	unsigned int verify_blocks;
	double seconds;
	bool bench, quiet, verbose;
	const char *script;
	bool load_mode;	   /* --load: measure one workload, skip verifying */
	struct load load;  /* its parameters */
	const char *image; /* serve this file (one disk) instead of a new one */
	/* --netns: the NIC drives a guest network stack (netstack.c). */
	struct nstack_conf ns;
	/* xvbd's namespace, and the bridge for its TAP */
	const char *xvbd_netns, *bridge;
};

struct disk {
	struct blkdrv drv;		   /* queue 0 */
	struct blkdrv *qdrv[GDRV_MAX_VQS]; /* queue q > 0, attached */
	unsigned int nr_queues;
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

/* ---- xvbd ---------------------------------------------------------------- */

static pid_t start_xvbd(const struct opts *o, const char *sock,
			const char *conf)
{
	pid_t pid = fork();
	char run_dir[PATH_MAX], *slash;

	if (pid)
		return pid;
	/* Its lock and its workers' sockets beside its configuration, not in
	 * the host's /run/xvbd. */
	snprintf(run_dir, sizeof(run_dir), "%s", conf);
	slash = strrchr(run_dir, '/');
	if (slash)
		*slash = '\0';
	setenv("LD_LIBRARY_PATH", o->libdir, 1);
	setenv("XVB_SIM_SOCKET", sock, 1);
	/* Its TAP is created where it runs: a peer namespace, for --netns. */
	if (o->xvbd_netns && nstack_enter(o->xvbd_netns)) {
		fprintf(stderr, "xvb-sim: namespace %s: %s\n", o->xvbd_netns,
			strerror(errno));
		_exit(127);
	}
	if (o->quiet) {
		/* Keep xvbd's log out of the test output, but not lost. */
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
	}
	execl(o->xvbd, "xvbd", "--config", conf, "--run-dir", run_dir,
	      o->verbose ? "-v" : (char *)NULL, (char *)NULL);
	fprintf(stderr, "xvb-sim: cannot run %s: %s\n", o->xvbd,
		strerror(errno));
	_exit(127);
}

/*
 * SIGINT (the supervisor stops with its workers; SIGTERM would leave them
 * serving), then wait up to the hang bound. Returns the exit status or -1.
 */
static int stop_xvbd(pid_t pid)
{
	int status;

	kill(pid, SIGINT);
	if (T_WAIT(waitpid(pid, &status, WNOHANG) == pid))
		return status;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- workloads ----------------------------------------------------------- */

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
		rc = blkdrv_reap(b, (int)t_hang_ms(), done, d);
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
	/* WRITE_ZEROES over a written block reads back zeroes; DISCARD is OK. */
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

/* ---- several queues ------------------------------------------------------ */

/*
 * xvda with --queues N: drivers for queues 1.. of the device blkdrv_up_mq
 * set up, issuing from the next vCPUs. Returns 0 or -errno (checked).
 */
static int mq_attach(struct disk *d, const struct opts *o)
{
	unsigned int q;
	int rc = 0;

	d->nr_queues = d->drv.nr_queues;
	if (o->queues > 1)
		check(d->nr_queues == o->queues,
		      "%s: %u queues negotiated (VIRTIO_BLK_F_MQ), %u asked",
		      d->vdev, d->nr_queues, o->queues);
	for (q = 1; q < d->nr_queues && !rc; q++) {
		d->qdrv[q] = calloc(1, sizeof(*d->qdrv[q]));
		rc = d->qdrv[q] ?
			     blkdrv_attach(d->qdrv[q], &d->drv, q,
					   (d->vcpu + q) % o->vcpus, o->qd) :
			     -ENOMEM;
	}
	if (rc)
		check(false, "%s: queue %u: %s", d->vdev, q - 1, strerror(-rc));
	return rc;
}

static void mq_detach(struct disk *d)
{
	for (unsigned int q = 1; q < GDRV_MAX_VQS; q++) {
		if (d->qdrv[q])
			blkdrv_down(d->qdrv[q]);
		free(d->qdrv[q]);
		d->qdrv[q] = NULL;
	}
}

#define MQ_BLOCKS 256u /* per queue */

/* One queue's thread: writes its blocks, then reads back its neighbour's. */
struct mq_ver {
	pthread_t tid;
	struct disk *d;
	struct blkdrv *b;
	unsigned int q;
	pthread_barrier_t *bar;
	uint64_t first; /* the region's first block */
	unsigned int bad;
	int rc;
};

static uint32_t mq_seed(uint64_t blk)
{
	return 0x5a000000u ^ (uint32_t)(blk * 2654435761u);
}

static void mq_done(struct blkdrv *b, struct blkreq *r, void *arg)
{
	struct mq_ver *v = arg;

	if (r->status != VIRTIO_BLK_S_OK ||
	    (r->type == VIRTIO_BLK_T_IN && !blkdrv_data_is(b, r, r->seed)))
		v->bad++;
}

/* Keeps the queue full with @type on blocks first + k * nq + q. */
static int mq_pass(struct mq_ver *v, uint32_t type, unsigned int q)
{
	unsigned int nq = v->d->nr_queues, issued = 0;
	struct blkdrv *b = v->b;
	uint64_t blk;
	int rc;

	while (issued < MQ_BLOCKS || b->inflight) {
		while (issued < MQ_BLOCKS) {
			blk = v->first + (uint64_t)issued * nq + q;
			if (!blkdrv_queue(b, type, blk * (BLOCK / 512), BLOCK,
					  mq_seed(blk)))
				break;
			issued++;
		}
		blkdrv_kick(b);
		rc = blkdrv_reap(b, (int)t_hang_ms(), mq_done, v);
		if (rc <= 0)
			return rc ? rc : -ETIMEDOUT;
	}
	return 0;
}

static void *mq_verify_main(void *arg)
{
	struct mq_ver *v = arg;
	unsigned int nq = v->d->nr_queues;

	v->rc = mq_pass(v, VIRTIO_BLK_T_OUT, v->q);
	pthread_barrier_wait(v->bar);
	if (!v->rc)
		v->rc = mq_pass(v, VIRTIO_BLK_T_IN, (v->q + 1) % nq);
	return NULL;
}

/*
 * Every queue busy at once from its own vCPU: each writes its own blocks,
 * then reads back those another queue wrote.
 */
static void mq_verify(struct disk *d)
{
	struct mq_ver v[GDRV_MAX_VQS];
	pthread_barrier_t bar;
	unsigned int nq = d->nr_queues, q, bad = 0;
	uint64_t reqs = 0, irqs = 0;
	int rc = 0;

	pthread_barrier_init(&bar, NULL, nq);
	for (q = 0; q < nq; q++) {
		v[q] = (struct mq_ver){
			.d = d,
			.b = q ? d->qdrv[q] : &d->drv,
			.q = q,
			.bar = &bar,
			.first = d->drv.capacity / 8 / 2,
		};
		pthread_create(&v[q].tid, NULL, mq_verify_main, &v[q]);
	}
	for (q = 0; q < nq; q++) {
		pthread_join(v[q].tid, NULL);
		if (v[q].rc && !rc)
			rc = v[q].rc;
		bad += v[q].bad;
		reqs += v[q].b->nr_reqs;
		irqs += v[q].b->nr_irqs;
	}
	pthread_barrier_destroy(&bar);
	check(!rc && !bad && reqs >= 2 * MQ_BLOCKS * nq,
	      "%s: %u queues at once, %u blocks each read back through another: %s (%" PRIu64
	      " requests, %" PRIu64 " interrupts)",
	      d->vdev, nq, MQ_BLOCKS,
	      rc  ? strerror(-rc) :
	      bad ? "MISMATCH" :
		    "verified",
	      reqs, irqs);
	for (q = 1; q < nq; q++)
		check(!v[q].b->drv.errors, "%s: queue %u's used ring sane",
		      d->vdev, q);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentiles of the first @n recorded latencies, in microseconds. */
static void percentile(struct blkdrv *b, uint64_t n, double *p50, double *p99)
{
	if (!n || n > b->nr_lat) {
		*p50 = *p99 = 0;
		return;
	}
	qsort(b->lat_ns, n, sizeof(*b->lat_ns), cmp_u64);
	*p50 = b->lat_ns[n / 2] / 1000.0;
	*p99 = b->lat_ns[n * 99 / 100] / 1000.0;
}

/* ---- the load generator ------------------------------------------------- */

/* Counters at one edge of the measured window. */
struct load_snap {
	double t;			      /* wall clock */
	double guest_cpu, proc_cpu, xvbd_cpu; /* s of CPU */
	uint64_t ios, bytes, flushes, errors, irqs, kicks, mmio, lat_n;
	uint64_t lat_sum_ns, mmio_ns, irq_wait_ns;
	uint64_t mmio_max_ns; /* the slowest access since the window opened */
};

struct load_run {
	struct disk *d;
	struct blkdrv *b; /* the queue this run fills */
	const struct load *l;
	pid_t worker;	  /* xvbd's worker process for this guest */
	uint64_t seed;	  /* random offsets */
	uint64_t next;	  /* sequential: the next block, in bs units */
	uint64_t nblocks; /* the disk, in bs units */
	unsigned int since_flush;
	uint64_t ios, bytes, flushes; /* completed */
	struct load_snap s0, s1;
};

/* What one run measured; "per request" means per data request (IN/OUT). */
struct load_result {
	double secs, iops, mib_s, p50_us, p99_us, mean_us;
	double irq, kick, ioreq;	  /* per request */
	double xvbd_us, guest_us, sim_us; /* CPU per request */
	double xvbd_util;		  /* xvbd's CPU / wall time */
	double mmio_rtt_us; /* one register read, trap to answer (idle) */
	double mmio_max_us; /* the slowest access under this load */
	double trap_frac, irq_wait_frac; /* of the guest's wall time */
	uint64_t ios, flushes, errors;
};

static void load_done(struct blkdrv *b, struct blkreq *r, void *arg)
{
	struct load_run *lr = arg;

	if (r->type == VIRTIO_BLK_T_FLUSH) {
		lr->flushes++;
		return;
	}
	lr->ios++;
	lr->bytes += r->len;
}

static void load_snap(struct load_run *lr, struct load_snap *s)
{
	struct blkdrv *b = lr->b;

	s->t = now_s();
	s->guest_cpu = clock_s(CLOCK_THREAD_CPUTIME_ID);
	s->proc_cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	s->xvbd_cpu = lr->worker > 0 ? t_cpu_s(lr->worker) : -1;
	s->ios = lr->ios;
	s->bytes = lr->bytes;
	s->flushes = lr->flushes;
	s->errors = b->nr_errors;
	s->irqs = xsim_irq_count(lr->d->sim, DOMID, lr->d->irq);
	s->kicks = b->drv.nr_notifies;
	s->mmio = b->sb.nr;
	s->lat_n = b->nr_lat;
	s->lat_sum_ns = b->lat_sum_ns;
	s->mmio_ns = b->sb.ns;
	s->mmio_max_ns = b->sb.max_ns;
	s->irq_wait_ns = b->irq_wait_ns;
}

/* Queues requests until qd are in flight. False if the driver refused one. */
static bool load_fill(struct load_run *lr)
{
	const struct load *l = lr->l;
	struct blkdrv *b = lr->b;
	uint32_t type = l->write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	uint64_t blk;

	while (b->inflight < l->qd) {
		if (l->write && l->flush_every &&
		    lr->since_flush >= l->flush_every) {
			if (!blkdrv_queue(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0))
				return false;
			lr->since_flush = 0;
			continue;
		}
		blk = l->random ? rnd(&lr->seed) % lr->nblocks : lr->next;
		if (!blkdrv_queue(b, type, blk * (l->bs / 512), l->bs, 0))
			return false;
		if (!l->random)
			lr->next = (lr->next + 1) % lr->nblocks;
		lr->since_flush++;
	}
	return true;
}

/* Reaps one batch of completions. 0, or -errno (-ETIMEDOUT after 5 s). */
static int load_reap(struct load_run *lr)
{
	int rc = blkdrv_reap(lr->b, (int)t_hang_ms(), load_done, lr);

	return rc > 0 ? 0 : rc ? rc : -ETIMEDOUT;
}

/*
 * Runs @l on @d: l->ramp seconds of warm-up (first-touch mappings, io-wq
 * threads), then the measured window of l->seconds with l->qd requests kept
 * in flight, then a drain. Fills @lr. Returns 0 or -errno.
 */
static int load_measure_on(struct disk *d, struct blkdrv *b,
			   const struct load *l, pid_t worker,
			   struct load_run *lr)
{
	bool measuring = false, fill = b->no_fill;
	double start, end, t;
	int rc = 0;

	*lr = (struct load_run){
		.d = d, .b = b, .l = l, .worker = worker, .seed = 42 + b->q
	};
	lr->nblocks = b->capacity * 512 / l->bs;
	if (!lr->nblocks || !l->qd || l->qd > b->qd)
		return -EINVAL;
	b->no_fill = true; /* like fio: write buffers are not refilled */
	start = now_s() + l->ramp;
	end = start + l->seconds;
	for (;;) {
		t = now_s();
		if (!measuring && t >= start) {
			b->nr_lat = 0;
			load_snap(lr, &lr->s0);
			lr->b->sb.max_ns = 0; /* the window's own slowest */
			measuring = true;
		}
		if (measuring && t >= end)
			break;
		if (!load_fill(lr) && !b->inflight) {
			rc = -ENOSPC;
			break;
		}
		blkdrv_kick(b);
		rc = load_reap(lr);
		if (rc)
			break;
	}
	if (!rc)
		load_snap(lr, &lr->s1);
	while (!rc && b->inflight)
		rc = load_reap(lr);
	b->no_fill = fill;
	return rc;
}

static int load_measure(struct disk *d, const struct load *l, pid_t worker,
			struct load_run *lr)
{
	return load_measure_on(d, &d->drv, l, worker, lr);
}

/* One queue's share of a multiqueue run, on a thread (a vCPU) of its own. */
struct mq_load {
	pthread_t tid;
	struct disk *d;
	struct blkdrv *b;
	struct load l; /* qd: this queue's share */
	pid_t worker;
	struct load_run lr;
	int rc;
};

static void *mq_load_main(void *arg)
{
	struct mq_load *m = arg;

	m->rc = load_measure_on(m->d, m->b, &m->l, m->worker, &m->lr);
	return NULL;
}

static void load_result(struct load_run *lr, struct load_result *r)
{
	const struct load_snap *a = &lr->s0, *z = &lr->s1;
	double n;

	r->secs = z->t - a->t;
	r->ios = z->ios - a->ios;
	r->flushes = z->flushes - a->flushes;
	r->errors = z->errors - a->errors;
	n = r->ios ? (double)r->ios : 1;
	r->iops = r->ios / r->secs;
	r->mib_s = (z->bytes - a->bytes) / r->secs / (1 << 20);
	percentile(lr->b, z->lat_n, &r->p50_us, &r->p99_us);
	r->mean_us = z->lat_n ? (z->lat_sum_ns - a->lat_sum_ns) / 1e3 /
					(double)z->lat_n :
				0;
	r->irq = (z->irqs - a->irqs) / n;
	r->kick = (z->kicks - a->kicks) / n;
	r->ioreq = (z->mmio - a->mmio) / n;
	r->xvbd_us = z->xvbd_cpu < 0 || a->xvbd_cpu < 0 ?
			     -1 :
			     (z->xvbd_cpu - a->xvbd_cpu) * 1e6 / n;
	r->xvbd_util = r->xvbd_us < 0 ? -1 :
					(z->xvbd_cpu - a->xvbd_cpu) / r->secs;
	r->guest_us = (z->guest_cpu - a->guest_cpu) * 1e6 / n;
	/* Where the guest's vCPU spent the window: trapped, or idle. */
	r->trap_frac = (z->mmio_ns - a->mmio_ns) / 1e9 / r->secs;
	r->mmio_max_us = z->mmio_max_ns / 1e3;
	r->irq_wait_frac = (z->irq_wait_ns - a->irq_wait_ns) / 1e9 / r->secs;
	/* The rest of this process: the simulated Xen's server thread. */
	r->sim_us =
		((z->proc_cpu - a->proc_cpu) - (z->guest_cpu - a->guest_cpu)) *
		1e6 / n;
}

/*
 * A load over every queue of @d at once, l->qd requests shared among them,
 * each queue filled by its own thread from its own vCPU; one result for
 * the whole device. Returns 0 or -errno.
 */
static int load_mq(struct disk *d, const struct load *l, pid_t worker,
		   struct load_result *r)
{
	struct mq_load m[GDRV_MAX_VQS];
	unsigned int nq = d->nr_queues, i;
	uint64_t nlat = 0, *lat = NULL, kicks = 0, mmio = 0;
	double guest = 0, trap = 0, wait = 0, n;
	const struct load_snap *a, *z;
	struct load_result q;
	int rc = 0;

	memset(m, 0, sizeof(m));
	for (i = 0; i < nq; i++) {
		m[i].d = d;
		m[i].b = i ? d->qdrv[i] : &d->drv;
		m[i].l = *l;
		m[i].l.qd = l->qd / nq + (i < l->qd % nq);
		if (!m[i].l.qd)
			m[i].l.qd = 1;
		m[i].worker = worker;
		if (pthread_create(&m[i].tid, NULL, mq_load_main, &m[i]))
			m[i].rc = -EAGAIN;
	}
	for (i = 0; i < nq; i++) {
		if (m[i].rc != -EAGAIN)
			pthread_join(m[i].tid, NULL);
		if (m[i].rc && !rc)
			rc = m[i].rc;
	}
	if (rc)
		return rc;
	memset(r, 0, sizeof(*r));
	for (i = 0; i < nq; i++) {
		struct blkdrv *b = m[i].b;
		uint64_t k = m[i].lr.s1.lat_n, *p;

		load_result(&m[i].lr, &q);
		r->ios += q.ios;
		r->flushes += q.flushes;
		r->errors += q.errors;
		r->iops += q.iops;
		r->mib_s += q.mib_s;
		if (q.secs > r->secs)
			r->secs = q.secs;
		kicks += (uint64_t)(q.kick * q.ios + 0.5);
		mmio += m[i].lr.s1.mmio - m[i].lr.s0.mmio;
		guest += q.guest_us * q.ios;
		trap += q.trap_frac / nq;
		wait += q.irq_wait_frac / nq;
		p = realloc(lat, (nlat + k) * sizeof(*lat));
		if (!p) {
			free(lat);
			return -ENOMEM;
		}
		lat = p;
		memcpy(lat + nlat, b->lat_ns, k * sizeof(*lat));
		nlat += k;
	}
	n = r->ios ? (double)r->ios : 1;
	if (nlat) {
		qsort(lat, nlat, sizeof(*lat), cmp_u64);
		r->p50_us = lat[nlat / 2] / 1000.0;
		r->p99_us = lat[nlat * 99 / 100] / 1000.0;
	}
	free(lat);
	/* The line, the worker and the process are the device's: one view. */
	a = &m[0].lr.s0;
	z = &m[0].lr.s1;
	r->irq = (z->irqs - a->irqs) / n;
	r->kick = kicks / n;
	r->ioreq = mmio / n;
	r->xvbd_us = z->xvbd_cpu < 0 || a->xvbd_cpu < 0 ?
			     -1 :
			     (z->xvbd_cpu - a->xvbd_cpu) * 1e6 / n;
	r->xvbd_util = r->xvbd_us < 0 ? -1 :
					(z->xvbd_cpu - a->xvbd_cpu) / r->secs;
	r->guest_us = guest / n;
	r->sim_us = (z->proc_cpu - a->proc_cpu) * 1e6 / n - r->guest_us;
	r->trap_frac = trap;
	r->irq_wait_frac = wait;
	return 0;
}

/* One JSON line: the workload, what it measured, and who used the CPU. */
static void load_print_json(const struct load *l, const struct load_result *r,
			    pid_t worker, unsigned int queues)
{
	/* A few keys a call, so that each key can be found with its value. */
	printf("{\"rw\":\"%s\",\"bs\":%u,\"qd\":%u,\"flush_every\":%u,", l->rw,
	       l->bs, l->qd, l->flush_every);
	printf("\"queues\":%u,\"ramp_s\":%.3f,\"seconds\":%.3f,", queues,
	       l->ramp, r->secs);
	printf("\"ios\":%" PRIu64 ",\"flushes\":%" PRIu64 ",", r->ios,
	       r->flushes);
	printf("\"errors\":%" PRIu64 ",\"iops\":%.1f,\"mib_s\":%.2f,",
	       r->errors, r->iops, r->mib_s);
	printf("\"lat_p50_us\":%.2f,\"lat_p99_us\":%.2f,\"lat_mean_us\":%.2f,",
	       r->p50_us, r->p99_us, r->mean_us);
	printf("\"irq_per_req\":%.4f,\"kick_per_req\":%.4f,\"ioreq_per_req\":%.4f,",
	       r->irq, r->kick, r->ioreq);
	printf("\"xvbd_cpu_us_per_req\":%.3f,\"xvbd_cpu_util\":%.3f,",
	       r->xvbd_us, r->xvbd_util);
	printf("\"guest_cpu_us_per_req\":%.3f,\"sim_cpu_us_per_req\":%.3f,",
	       r->guest_us, r->sim_us);
	printf("\"mmio_rtt_us\":%.2f,\"mmio_max_us\":%.1f,", r->mmio_rtt_us,
	       r->mmio_max_us);
	printf("\"guest_trap_frac\":%.3f,\"guest_irq_wait_frac\":%.3f,",
	       r->trap_frac, r->irq_wait_frac);
	printf("\"worker_pid\":%d}\n", (int)worker);
}

/*
 * Mean time of one register read through the simulated trap: the guest's
 * ioreq, xvbd's answer, the vCPU resumed. What every kick and interrupt
 * acknowledgement costs in wall time here.
 */
static double mmio_rtt_us(struct disk *d, unsigned int n)
{
	double t0 = now_s();

	for (unsigned int i = 0; i < n; i++)
		gdrv_r32(&d->drv.drv, VIRTIO_MMIO_MAGIC_VALUE);
	return (now_s() - t0) * 1e6 / n;
}

struct bench {
	const char *name;
	unsigned int qd;
	bool write;
};

/* --bench: one line per workload, measured by the load generator. */
static void run_bench(struct disk *d, const struct bench *bn, pid_t worker)
{
	struct load l = {
		.rw = bn->write ? "randwrite" : "randread",
		.write = bn->write,
		.random = true,
		.bs = BLOCK,
		.qd = bn->qd < d->drv.qd ? bn->qd : d->drv.qd,
		.ramp = 0.2,
		.seconds = d->o->seconds,
	};
	struct load_result r;
	struct load_run lr;
	int rc = load_measure(d, &l, worker, &lr);

	if (rc) {
		printf("  %-17s failed: %s\n", bn->name, strerror(-rc));
		return;
	}
	load_result(&lr, &r);
	printf("  %-17s %9.0f IOPS  p50 %7.1f us  p99 %7.1f us", bn->name,
	       r.iops, r.p50_us, r.p99_us);
	printf("  %.3f irq/req  %.3f kick/req  xvbd %.2f us CPU/req\n", r.irq,
	       r.kick, r.xvbd_us);
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
				   (int)t_hang_ms()) ||
		    v != 0x74726976)
			rd->errors++;
		rd->reads++;
		usleep(1000); /* a busy guest, not a storm */
	}
	return NULL;
}

/* ---- the run ------------------------------------------------------------- */

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

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

/* ---- the NIC ---------------------------------------------------------- */

#define NET_ETHERTYPE 0x88b5 /* IEEE local experimental */
#define NET_FRAMES 200

/* A frame of test @i: to @dst, our ethertype, a pattern, 60..1514 bytes. */
static unsigned int make_frame(uint8_t *f, const uint8_t dst[6],
			       const uint8_t src[6], unsigned int i)
{
	unsigned int len = 60 + (i * 97) % (1514 - 60 + 1);

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = NET_ETHERTYPE >> 8;
	f[13] = NET_ETHERTYPE & 0xff;
	f[14] = i;
	f[15] = i >> 8;
	for (unsigned int k = 16; k < len; k++)
		f[k] = (uint8_t)(k * 31 + i);
	return len;
}

static bool frame_ok(const uint8_t *f, unsigned int len, unsigned int *i)
{
	uint8_t want[1514];

	if (len < 16 || f[12] != NET_ETHERTYPE >> 8 ||
	    f[13] != (NET_ETHERTYPE & 0xff))
		return false;
	*i = f[14] | f[15] << 8;
	return make_frame(want, f, f + 6, *i) == len &&
	       !memcmp(want + 12, f + 12, len - 12);
}

/*
 * A UDP/IPv4 frame from the host to the guest, flow @flow (its source
 * port): a TAP with several queues steers it by that flow's hash.
 */
static unsigned int udp_frame(uint8_t *f, const uint8_t dst[6],
			      const uint8_t src[6], unsigned int flow)
{
	unsigned int len = 14 + 20 + 8 + 64, sum = 0;
	uint8_t *ip = f + 14, *udp = ip + 20;

	memset(f, 0, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = len - 14;
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = ip[16] = 10;
	ip[13] = ip[17] = 99;
	ip[15] = 1;
	ip[19] = 2;
	for (unsigned int k = 0; k < 20; k += 2)
		sum += ip[k] << 8 | ip[k + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = ~sum >> 8;
	ip[11] = ~sum & 0xff;
	udp[0] = (20000 + flow) >> 8;
	udp[1] = (20000 + flow) & 0xff;
	udp[3] = 9;
	udp[5] = len - 34;
	for (unsigned int k = 42; k < len; k++)
		f[k] = (uint8_t)(k + flow);
	return len;
}

/*
 * --nic-pairs N: frames from every pair's transmit queue reach the TAP,
 * and flows from the host spread over several pairs' receive queues.
 */
static void net_mq_phase(struct netdrv *n, int sk, struct sockaddr_ll *sll,
			 const char *ifname)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t host[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	enum { PER_PAIR = 20, FLOWS = 64 };
	unsigned int p, i, k, got = 0, bad = 0, used = 0;
	bool seen[NETDRV_MAX_PAIRS * PER_PAIR] = { false };
	uint8_t f[2048], want[2048];
	uint64_t before[NETDRV_MAX_PAIRS];
	struct sockaddr_ll ip4;
	int len;

	for (p = 0; p < n->pairs; p++)
		for (i = 0; i < PER_PAIR; i++) {
			len = make_frame(f, bcast, n->mac,
					 1000 + p * PER_PAIR + i);
			if (netdrv_send_on(n, p, f, len))
				bad++;
		}
	while (got + bad < n->pairs * PER_PAIR) {
		len = recv(sk, f, sizeof(f), 0);
		if (len <= 0)
			break;
		if (!frame_ok(f, len, &k) || k < 1000 ||
		    k - 1000 >= n->pairs * PER_PAIR || seen[k - 1000]) {
			bad++;
			continue;
		}
		seen[k - 1000] = true;
		got++;
	}
	check(got == n->pairs * PER_PAIR && !bad,
	      "NIC: %u pairs; %u frames from each transmit queue on %s, byte for byte (%u bad)",
	      n->pairs, got, ifname, bad);

	got = bad = 0;
	memcpy(before, n->rx_frames, sizeof(before));
	/* As IPv4: the flow dissector then finds the ports to hash. */
	ip4 = *sll;
	ip4.sll_protocol = htons(ETH_P_IP);
	memcpy(ip4.sll_addr, n->mac, 6);
	for (i = 0; i < FLOWS; i++) {
		len = udp_frame(f, n->mac, host, i);
		sendto(sk, f, len, 0, (struct sockaddr *)&ip4, sizeof(ip4));
	}
	while (got + bad < FLOWS &&
	       (len = netdrv_recv(n, f, sizeof(f), (int)t_hang_ms())) > 0) {
		k = (f[34] << 8 | f[35]) - 20000;
		if (f[12] != 0x08 || k >= FLOWS)
			continue; /* the host's own traffic */
		udp_frame(want, n->mac, host, k);
		memcmp(f, want, len) ? bad++ : got++;
	}
	for (p = 0; p < n->pairs; p++)
		used += n->rx_frames[p] > before[p];
	check(got == FLOWS && !bad && used >= 2,
	      "NIC: %u UDP flows into %s reached %u of %u receive queues, byte for byte (%u bad)",
	      got, ifname, used, n->pairs, bad);
}

/* Frames both ways between the guest's driver and its TAP in this host. */
static void net_phase(struct opts *o, struct xsim *sim, struct fakeguest *fg,
		      const struct xsim_libxl_virtio *nic)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t host[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(NET_ETHERTYPE) };
	struct timeval tv = { .tv_sec = t_hang_ms() / 1000 };
	int rcvbuf = 4 << 20;
	unsigned int i, got = 0, bad = 0, sent = 0;
	uint8_t f[2048], scratch[2048];
	struct netdrv n;
	char ifname[IFNAMSIZ];
	double t0;
	int sk, rc, len;

	snprintf(ifname, sizeof(ifname), "vxb%u.%u", DOMID, nic->devid);
	rc = netdrv_up_mq(&n, sim, DOMID, 0, nic->base, nic->irq, fg,
			  o->nic_pairs);
	check(!rc,
	      "NIC: probed at 0x%" PRIx64
	      " irq %u, MAC %02x:%02x:%02x:%02x:%02x:%02x, TAP %s",
	      nic->base, nic->irq, n.mac[0], n.mac[1], n.mac[2], n.mac[3],
	      n.mac[4], n.mac[5], ifname);
	if (rc)
		goto out;
	sk = socket(AF_PACKET, SOCK_RAW, htons(NET_ETHERTYPE));
	sll.sll_ifindex = if_nametoindex(ifname);
	if (sk < 0 || !sll.sll_ifindex ||
	    bind(sk, (struct sockaddr *)&sll, sizeof(sll))) {
		check(false, "NIC: a packet socket on %s: %s", ifname,
		      strerror(errno));
		if (sk >= 0)
			close(sk);
		goto out;
	}
	setsockopt(sk, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Room for every frame the guest sends before we read them. */
	setsockopt(sk, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));

	/* Guest -> TAP. */
	t0 = now_s();
	for (i = 0; i < NET_FRAMES; i++) {
		len = make_frame(f, bcast, n.mac, i);
		/* A full ring: reap TX completions until there is room. */
		T_WAIT_US(!netdrv_send(&n, f, len) ||
				  (netdrv_recv(&n, scratch, sizeof(scratch), 1),
				   false),
			  1);
	}
	while (got + bad < NET_FRAMES) {
		len = recv(sk, f, sizeof(f), 0);
		if (len <= 0)
			break;
		if (frame_ok(f, len, &i) && i == got)
			got++;
		else
			bad++;
	}
	check(got == NET_FRAMES && !bad,
	      "NIC: %u/%u guest frames (60-1514 B) on %s in order, byte for byte (%.0f/s, %u bad)",
	      got, NET_FRAMES, ifname, got / (now_s() - t0), bad);

	/* TAP -> guest. */
	got = bad = 0;
	t0 = now_s();
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, n.mac, 6);
	for (i = 0; i < NET_FRAMES; i++) {
		len = make_frame(f, n.mac, host, i);
		if (sendto(sk, f, len, 0, (struct sockaddr *)&sll,
			   sizeof(sll)) == len)
			sent++;
		/* Receive as we go: the guest posts NETDRV_SLOTS buffers. */
		while ((len = netdrv_recv(&n, f, sizeof(f),
					  i + 1 == NET_FRAMES ? 2000 : 0)) >
		       0) {
			unsigned int k;

			if (!frame_ok(f, len, &k))
				continue; /* the host's own traffic */
			if (k == got)
				got++;
			else
				bad++;
			if (got + bad == sent)
				break;
		}
	}
	while (got + bad < sent &&
	       (len = netdrv_recv(&n, f, sizeof(f), (int)t_hang_ms())) > 0) {
		unsigned int k;

		if (frame_ok(f, len, &k))
			k == got ? got++ : bad++;
	}
	check(got == NET_FRAMES && !bad,
	      "NIC: %u/%u frames sent into %s reached the guest, byte for byte (%.0f/s, %" PRIu64
	      " interrupts)",
	      got, NET_FRAMES, ifname, got / (now_s() - t0), n.nr_irqs);
	if (o->nic_pairs > 1) {
		check(n.pairs == o->nic_pairs,
		      "NIC: %u queue pairs (VIRTIO_NET_F_MQ, VQ_PAIRS_SET), %u asked",
		      n.pairs, o->nic_pairs);
		net_mq_phase(&n, sk, &sll, ifname);
	}
	close(sk);
out:
	netdrv_down(&n);
}

/* One run: the simulator, xvbd, the guest and its devices. */
struct run {
	struct opts *o;
	const char *dir;
	struct xsim *sim;
	struct fakeguest *fg;
	struct xsim_domain_config dc;
	struct xsim_libxl_disk xd[MAX_DISKS];
	struct disk disks[MAX_DISKS];
	struct xsim_libxl_virtio nic;
	char sock[PATH_MAX], conf[PATH_MAX];
	char tap[IFNAMSIZ]; /* --netns: the NIC's TAP */
	pid_t xvbd;	    /* the supervisor */
	pid_t worker; /* the guest's worker: its CPU time is the backend's cost */
	int fds0;     /* the supervisor's descriptors before the guest */
};

static const char *const vdevs[MAX_DISKS] = { "xvda", "xvdb", "xvdc", "xvdd",
					      "xvde", "xvdf", "xvdg", "xvdh" };

/* Appends a printf-formatted line to the NUL-terminated text in @buf. */
static void append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* xvbd.conf beside the guest's files. Returns 0 or -errno (a FAIL line). */
static int write_conf(struct run *r)
{
	const struct opts *o = r->o;
	char text[256];
	int rc;

	snprintf(r->conf, sizeof(r->conf), "%s/xvbd.conf", r->dir);
	/* NICs: no bridge here; the guest's TAP is reached directly. */
	snprintf(text, sizeof(text), "[net]\nbridge = %s\n",
		 o->bridge ? o->bridge : "none");
	if (o->nic_pairs > 1)
		append(text, sizeof(text), "queues = %u\n", o->nic_pairs);
	if (o->nic_poll_us >= 0)
		append(text, sizeof(text), "poll_us = %d\n", o->nic_poll_us);
	if (o->nic_coalesce_us >= 0)
		append(text, sizeof(text), "coalesce_us = %d\n",
		       o->nic_coalesce_us);
	/* --queues N: xvbd.conf asks xvbd for as many (default: automatic). */
	if (o->queues > 1)
		append(text, sizeof(text), "[blk]\nqueues = %u\n", o->queues);
	rc = write_file(r->conf, text);
	if (rc)
		check(false, "%s: %s", r->conf, strerror(-rc));
	return rc;
}

/* The simulated Xen. Returns 0 or -errno. */
static int sim_start(struct run *r)
{
	struct xsim_config sc = { .quiet = true, .socket_path = r->sock };
	int rc;

	snprintf(r->sock, sizeof(r->sock), "%s/xen.sock", r->dir);
	rc = xsim_create(&sc, &r->sim);
	if (rc) {
		fprintf(stderr, "xvb-sim: simulator: %s\n", strerror(-rc));
		return rc;
	}
	say(r->o,
	    "simulated Xen on %s (Arm guest layout, libxl's xenstore nodes)",
	    r->sock);
	return 0;
}

/* Each disk's image (made, or --image) and its xl disk line. */
static int make_disks(struct run *r)
{
	const struct opts *o = r->o;

	for (unsigned int i = 0; i < o->disks; i++) {
		struct disk *d = &r->disks[i];
		int rc;

		snprintf(d->image, sizeof(d->image), "%s/disk%u.img", r->dir,
			 i);
		if (o->image)
			snprintf(d->image, sizeof(d->image), "%s", o->image);
		rc = o->image ? 0 : make_image(d->image, o->size_mib);
		if (rc) {
			check(false, "%s: %s", d->image, strerror(-rc));
			return rc;
		}
		r->xd[i] = (struct xsim_libxl_disk){ .be_domid = 0,
						     .vdev = vdevs[i],
						     .target = d->image,
						     .grant_usage = -1 };
	}
	return 0;
}

/*
 * xl create, once the supervisor watches: nodes, then up to 10 s for state
 * 2, then unpause. Returns 0 or -errno; the guest's RAM is then in r->fg.
 */
static int guest_create(struct run *r)
{
	const struct opts *o = r->o;
	char path[256];
	double t0;
	int rc;

	/* The supervisor's descriptors once it watches, to compare at the end. */
	T_WAIT(st_watching(r->sim));
	r->fds0 = t_count_fds(r->xvbd);
	t0 = now_s();
	/* libxl does not wait for generic devices: xl create -p, unpause. */
	r->dc.paused = o->nic;
	rc = xsim_libxl_create(r->sim, &r->dc, r->xd, o->disks, &r->nic,
			       o->nic);
	if (!rc && o->nic) {
		xsim_libxl_be_path(path, sizeof(path), "virtio", 0, DOMID, 0);
		strcat(path, "/state");
		rc = xsim_xs_wait(r->sim, path, "2", (int)t_hang_ms());
		if (!rc)
			rc = xsim_domain_unpause(r->sim, DOMID);
	}
	check(!rc,
	      "xl create: %u virtio disk(s) reached state 2 in %.0f ms (%s)",
	      o->disks, (now_s() - t0) * 1000,
	      rc ? strerror(-rc) : "guest unpaused");
	if (!rc)
		r->fg = fg_wrap(xsim_ram_ptr(r->sim, DOMID, XSIM_RAM0_BASE,
					     r->dc.ram_bytes),
				XSIM_RAM0_BASE, r->dc.ram_bytes);
	return rc;
}

/* Probes disk @i from its vCPU and attaches its other queues. */
static int disk_up(struct run *r, unsigned int i)
{
	const struct opts *o = r->o;
	struct disk *d = &r->disks[i];
	int rc;

	d->o = r->o;
	d->sim = r->sim;
	d->fg = r->fg;
	d->base = r->xd[i].base;
	d->irq = r->xd[i].irq;
	d->vcpu = i % o->vcpus;
	d->vdev = vdevs[i];
	rc = blkdrv_up_mq(&d->drv, r->sim, DOMID, d->vcpu, d->base, d->irq,
			  r->fg, o->qd, 128 << 10, i ? 1 : o->queues);
	check(!rc,
	      "%s: probed at 0x%" PRIx64 " irq %u from vCPU %u: %" PRIu64
	      " sectors, features 0x%" PRIx64 "%s%s",
	      vdevs[i], d->base, d->irq, d->vcpu, d->drv.capacity,
	      d->drv.features, rc ? ": " : "",
	      rc ? (d->drv.drv.why ? d->drv.drv.why : strerror(-rc)) : "");
	if (rc)
		return rc;
	check(d->drv.capacity == o->disk_bytes / 512,
	      "%s: capacity matches the image", vdevs[i]);
	rc = mq_attach(d, o);
	if (rc)
		return rc;
	d->stamp = calloc(d->drv.capacity / 8, sizeof(*d->stamp));
	return 0;
}

/* --script: the hostile-guest script on xvda instead of the workload. */
static void run_script(struct run *r)
{
	struct script_dev sd = { .sim = r->sim,
				 .domid = DOMID,
				 .base = r->xd[0].base,
				 .spi = r->xd[0].irq,
				 .fg = r->fg,
				 .xvbd = r->xvbd };

	check(!script_run(&sd, r->o->script), "script %s", r->o->script);
}

/* --netns: the NIC drives a guest network stack instead of the workload. */
static void run_netns(struct run *r)
{
	struct opts *o = r->o;
	snprintf(r->tap, sizeof(r->tap), "vxb%u.%u", DOMID, r->nic.devid);
	o->ns.tap = r->tap;
	o->ns.worker = r->worker;
	o->ns.workdir = r->dir;
	o->ns.check = check;
	nstack_run(&o->ns, r->sim, DOMID, r->nic.base, r->nic.irq, r->fg);
}

/* --load: one workload on xvda, measured, printed as one JSON line. */
static void run_load(struct run *r)
{
	const struct load *l = &r->o->load;
	struct disk *d = &r->disks[0];
	struct load_result res = { 0 };
	struct load_run lr;
	double rtt = mmio_rtt_us(d, 200);
	int rc;

	if (d->nr_queues > 1) {
		rc = load_mq(d, l, r->worker, &res);
	} else {
		rc = load_measure(d, l, r->worker, &lr);
		if (!rc)
			load_result(&lr, &res);
	}
	check(!rc && !res.errors && r->worker > 0,
	      "load: %s %u bytes QD%u on %u queue(s) for %.1f s: %" PRIu64
	      " requests, %" PRIu64 " errors%s%s",
	      l->rw, l->bs, l->qd, d->nr_queues, res.secs, res.ios, res.errors,
	      rc ? ": " : "", rc ? strerror(-rc) : "");
	res.mmio_rtt_us = rtt;
	if (!rc)
		load_print_json(l, &res, r->worker, d->nr_queues);
}

/* What disk @i's verification (verify_disk) found, started at @t0. */
static void verify_report(struct run *r, unsigned int i, double t0)
{
	struct disk *d = &r->disks[i];

	check(!d->rc && !d->bad,
	      "%s: %u random 4 KiB writes, flush, read back: %s (%" PRIu64
	      " requests, %" PRIu64 " interrupts, %.2f s)",
	      vdevs[i], r->o->verify_blocks,
	      d->rc  ? strerror(-d->rc) :
	      d->bad ? "MISMATCH" :
		       "verified",
	      d->drv.nr_reqs, d->drv.nr_irqs, now_s() - t0);
	check(!d->rc && !d->bad, "%s: GET_ID answered '%s'%s%s", vdevs[i],
	      vdevs[i], d->zeroed ? ", WRITE_ZEROES read back zeroes" : "",
	      d->discarded ? ", DISCARD completed" : "");
	check(d->drv.nr_irqs > 0 && !d->drv.drv.errors,
	      "%s: completions signalled by interrupt, used ring sane",
	      vdevs[i]);
	check(!blkdrv_needs_reset(&d->drv), "%s: device healthy", vdevs[i]);
	if (d->nr_queues > 1)
		mq_verify(d);
}

/*
 * Every disk verified at once, each from its vCPU, while the vCPUs left
 * over hammer xvda's registers.
 */
static void run_verify(struct run *r)
{
	const struct opts *o = r->o;
	struct reader readers[16] = { 0 };
	pthread_t th[MAX_DISKS], rth[16];
	unsigned int i, nreaders = 0;
	volatile bool stop = false;
	double t0;

	for (i = o->disks; i < o->vcpus && nreaders < 16; i++, nreaders++) {
		readers[nreaders] =
			(struct reader){ r->sim, i, r->xd[0].base, &stop };
		pthread_create(&rth[nreaders], NULL, read_regs,
			       &readers[nreaders]);
	}
	t0 = now_s();
	for (i = 0; i < o->disks; i++)
		pthread_create(&th[i], NULL, verify_disk, &r->disks[i]);
	for (i = 0; i < o->disks; i++)
		pthread_join(th[i], NULL);
	stop = true;
	for (i = 0; i < nreaders; i++) {
		pthread_join(rth[i], NULL);
		check(!readers[i].errors && readers[i].reads,
		      "vCPU %u: %" PRIu64 " concurrent register reads answered",
		      readers[i].vcpu, readers[i].reads);
	}
	for (i = 0; i < o->disks; i++)
		verify_report(r, i, t0);
}

/* --bench: 4k random I/O on xvda after the checks. */
static void run_benches(struct run *r)
{
	static const struct bench benches[] = {
		{ "4k randread QD1", 1, false },
		{ "4k randread QD32", 32, false },
		{ "4k randwrite QD32", 32, true },
	};

	say(r->o,
	    "workload on xvda (simulated guest, %.1f s each):", r->o->seconds);
	for (unsigned int i = 0; i < ARRAY_SIZE(benches); i++)
		run_bench(&r->disks[0], &benches[i], r->worker);
}

/*
 * The guest's work: its disks probed, then the script, the network stack,
 * the load, or the verifying workload with the NIC and benchmarks after.
 */
static void guest_work(struct run *r)
{
	const struct opts *o = r->o;

	if (o->script) {
		run_script(r);
		return;
	}
	for (unsigned int i = 0; i < o->disks; i++)
		if (disk_up(r, i))
			return;
	r->worker = t_child_of(r->xvbd);
	if (o->ns.netns) {
		run_netns(r);
		return;
	}
	if (o->load_mode) {
		run_load(r);
		return;
	}
	run_verify(r);
	if (o->nic)
		net_phase(r->o, r->sim, r->fg, &r->nic);
	if (o->bench)
		run_benches(r);
}

/* The guest's drivers let go of their disks. */
static void disks_down(struct run *r)
{
	for (unsigned int i = 0; i < r->o->disks; i++) {
		mq_detach(&r->disks[i]);
		if (r->disks[i].drv.slots)
			blkdrv_down(&r->disks[i].drv);
		free(r->disks[i].stamp);
	}
}

/* xl destroy: state 5, then 6 (libxl gives up after 10 s); nodes gone. */
static void guest_destroy(struct run *r)
{
	char path[256], *state;
	double t0 = now_s();
	int rc, err;

	rc = xsim_libxl_destroy(r->sim, DOMID);
	xsim_libxl_be_path(path, sizeof(path), "virtio_disk", 0, DOMID,
			   r->xd[0].devid);
	check(!rc,
	      "xl destroy: backend answered Closing with Closed (measured: %.0f ms)",
	      (now_s() - t0) * 1000);
	state = xsim_xs_read(r->sim, 0, path, &err);
	check(!state, "xenstore: backend nodes removed");
	free(state);
}

/* Nothing of the guest left in xvbd: mappings, ports, its TAP, descriptors. */
static void guest_released(struct run *r)
{
	struct xsim_stats st;
	char path[64];
	int fds1;

	/* The worker exits once its guest is gone. */
	T_WAIT((xsim_get_stats(r->sim, &st),
		!st.servers && !st.fmem_pages && !st.resources && !st.ports &&
			t_count_fds(r->xvbd) == r->fds0));
	if (r->o->nic && !r->o->xvbd_netns) {
		snprintf(path, sizeof(path), "/sys/class/net/vxb%u.%u", DOMID,
			 r->nic.devid);
		T_WAIT(access(path, F_OK));
		check(access(path, F_OK), "NIC: the TAP went with the guest");
	}
	fds1 = t_count_fds(r->xvbd);
	check(fds1 == r->fds0,
	      "xvbd supervisor holds %d file descriptors, as before the guest (%d)",
	      fds1, r->fds0);
	check(!st.servers && !st.fmem_pages && !st.resources && !st.ports &&
		      !st.grant_maps,
	      "xvbd released the guest: %u ioreq servers, %" PRIu64
	      " mapped pages, %u resources, %u ports left",
	      st.servers, st.fmem_pages, st.resources, st.ports);
}

/* SIGINT to the supervisor; nothing left open in the simulated Xen. */
static void xvbd_stopped(struct run *r)
{
	struct xsim_stats st;
	char why[256] = "";
	int rc = stop_xvbd(r->xvbd);

	check(rc == 0, "xvbd supervisor stopped cleanly on SIGINT (status %d)",
	      rc);
	xsim_get_stats(r->sim, &st);
	check(!st.conns && !st.watches && !st.transactions,
	      "no libxen handle left open (%u handles, %u watches)", st.conns,
	      st.watches);
	check(!xsim_last_error(r->sim, why, sizeof(why)),
	      "the simulated Xen saw no protocol violation%s%s",
	      why[0] ? ": " : "", why);
}

/*
 * The whole run in @dir: the simulator, xvbd on it, a guest created, its
 * work, the guest destroyed, xvbd stopped, with checks at every step.
 * Returns 1 if any check failed, 0 otherwise.
 */
static int run(struct opts *o, const char *dir)
{
	struct run r = {
		.o = o,
		.dir = dir,
		.dc = { .domid = DOMID,
			.nr_vcpus = o->vcpus,
			.ram_bytes = (uint64_t)o->ram_mib << 20 },
		.nic = { .type = "virtio,device1", .grant_usage = -1 },
		.fds0 = -1,
	};

	if (sim_start(&r))
		return 1;
	if (write_conf(&r))
		goto out;
	r.xvbd = start_xvbd(o, r.sock, r.conf);
	say(o, "started %s (supervisor, pid %d) on the simulator's libxen*",
	    o->xvbd, (int)r.xvbd);
	if (make_disks(&r) || guest_create(&r))
		goto out_xvbd;
	if (r.fg)
		guest_work(&r);
	else
		check(false, "the guest's RAM could not be mapped");
	disks_down(&r);
	guest_destroy(&r);
	guest_released(&r);
out_xvbd:
	xvbd_stopped(&r);
out:
	fg_free(r.fg);
	xsim_destroy(r.sim);
	return nr_fail ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xvb-sim [options]\n"
		"  --xvbd PATH      the xvbd binary (default: ../xvbd beside xvb-sim)\n"
		"  --libdir DIR     the simulator's libxen*.so (default: lib/ beside xvb-sim)\n"
		"  --vcpus N        guest vCPUs (default 2)\n"
		"  --queues N       xvda's request queues driven, one vCPU each\n"
		"                   (default 1; the device must offer as many)\n"
		"  --nic-pairs N    the NIC's queue pairs, asked of xvbd and taken\n"
		"                   with VQ_PAIRS_SET (default 1)\n"
		"  --nic-poll US    the NIC's transmit polling (xvbd.conf poll_us)\n"
		"  --nic-coalesce US  the NIC's interrupt moderation (coalesce_us)\n"
		"  --disks N        virtio disks (default 1, at most %d)\n"
		"  --size MIB       each disk image (default 64)\n"
		"  --blocks N       4 KiB blocks written and verified per disk (default 512)\n"
		"  --qd N           requests in flight per disk (default 32)\n"
		"  --bench          measure 4k random I/O after the checks\n"
		"  --no-nic         no virtio NIC (one is added when TAPs can be made)\n"
		"  --seconds S      per benchmark (default 1)\n"
		"  -q, --quiet      only the ok/FAIL lines\n"
		"  -v, --verbose    xvbd logs at debug level\n"
		"  --script FILE    run a hostile-guest script on xvda instead of the\n"
		"                   workload (see docs/testing.md)\n"
		"load generator (instead of the verifying workload; prints one JSON line):\n"
		"  --load           measure one workload on xvda (--qd, --seconds apply)\n"
		"  --rw MODE        randread (default), randwrite, read or write\n"
		"  --bs SIZE        bytes per request, 512 to 128k in sectors (default 4k)\n"
		"  --flush-every N  writes: a FLUSH after every N writes (default 0: none)\n"
		"  --ramp S         warm-up before the measured window (default 0.5)\n"
		"  --image PATH     serve this existing file (one disk) instead of a new one\n"
		"guest network stack (instead of the workload; needs 2 vCPUs, root):\n"
		"  --netns NS       forward between the NIC and a TAP in namespace NS\n"
		"                   (its kernel's TCP/IP is the guest's), run the\n"
		"                   command after --, or until SIGTERM\n"
		"  --net-if NAME    that TAP's name (default eth0)\n"
		"  --xvbd-netns NS  run xvbd in namespace NS (its TAP appears there)\n"
		"  --bridge BR      xvbd puts its TAP on bridge BR\n"
		"  --net-off LIST   features not negotiated: mrg,tso,csum,ctrl,mac,mtu,\n"
		"                   status,event-idx\n"
		"  --net-rxbuf N    mergeable RX buffer bytes (default 4096)\n"
		"  --net-rx-off     post no RX buffers until SIGUSR2\n",
		MAX_DISKS);
}

/* "4096", "4k", "128K": bytes, or 0 if malformed. */
static uint32_t parse_size(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s)
		return 0;
	if (*end == 'k' || *end == 'K') {
		v <<= 10;
		end++;
	}
	return *end || v > UINT32_MAX ? 0 : (uint32_t)v;
}

/* Decodes --rw and checks the load options. 0 or -EINVAL. */
static int load_opts(struct opts *o)
{
	struct load *l = &o->load;
	struct stat st;

	l->qd = o->qd;
	l->seconds = o->seconds;
	if (!strcmp(l->rw, "randread") || !strcmp(l->rw, "randwrite"))
		l->random = true;
	else if (strcmp(l->rw, "read") && strcmp(l->rw, "write"))
		return -EINVAL;
	l->write = strstr(l->rw, "write") != NULL;
	if (!l->bs || l->bs % 512 || l->bs > 128 << 10 || l->ramp < 0 ||
	    l->seconds <= 0)
		return -EINVAL;
	o->disk_bytes = (uint64_t)o->size_mib << 20;
	if (!o->image)
		return 0;
	if (o->disks != 1 || stat(o->image, &st) || !S_ISREG(st.st_mode) ||
	    !st.st_size || st.st_size % 512) {
		fprintf(stderr,
			"xvb-sim: --image wants one disk and a regular file of whole sectors\n");
		return -EINVAL;
	}
	o->disk_bytes = st.st_size;
	return 0;
}

/* The --netns family of options. 0, or -EINVAL with a message. */
static int net_opt(struct opts *o, int opt, const char *arg)
{
	switch (opt) {
	case 1000:
		o->ns.netns = arg;
		return 0;
	case 1001:
		o->ns.ifname = arg;
		return 0;
	case 1002:
		o->xvbd_netns = arg;
		return 0;
	case 1003:
		o->bridge = arg;
		return 0;
	case 1004:
		if (!nstack_parse_off(arg, &o->ns.feat_off))
			return 0;
		break;
	case 1005:
		o->ns.rxbuf = atoi(arg);
		if (o->ns.rxbuf >= 64 && o->ns.rxbuf <= 65536)
			return 0;
		break;
	case 1006:
		o->ns.rx_off = true;
		return 0;
	}
	fprintf(stderr, "xvb-sim: bad value '%s'\n", arg);
	return -EINVAL;
}

/* The command line's options (see usage()). */
static const struct option long_opts[] = {
	{ "xvbd", required_argument, NULL, 'x' },
	{ "libdir", required_argument, NULL, 'l' },
	{ "vcpus", required_argument, NULL, 'c' },
	{ "queues", required_argument, NULL, 1100 },
	{ "nic-pairs", required_argument, NULL, 1101 },
	{ "nic-poll", required_argument, NULL, 1102 },
	{ "nic-coalesce", required_argument, NULL, 1103 },
	{ "disks", required_argument, NULL, 'd' },
	{ "size", required_argument, NULL, 's' },
	{ "blocks", required_argument, NULL, 'b' },
	{ "qd", required_argument, NULL, 'Q' },
	{ "bench", no_argument, NULL, 'B' },
	{ "no-nic", no_argument, NULL, 'N' },
	{ "seconds", required_argument, NULL, 'S' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "script", required_argument, NULL, 'X' },
	{ "load", no_argument, NULL, 'L' },
	{ "rw", required_argument, NULL, 'R' },
	{ "bs", required_argument, NULL, 'Z' },
	{ "flush-every", required_argument, NULL, 'F' },
	{ "ramp", required_argument, NULL, 'P' },
	{ "image", required_argument, NULL, 'I' },
	{ "netns", required_argument, NULL, 1000 },
	{ "net-if", required_argument, NULL, 1001 },
	{ "xvbd-netns", required_argument, NULL, 1002 },
	{ "bridge", required_argument, NULL, 1003 },
	{ "net-off", required_argument, NULL, 1004 },
	{ "net-rxbuf", required_argument, NULL, 1005 },
	{ "net-rx-off", no_argument, NULL, 1006 },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Takes one option of long_opts into @o. Returns 0 or -EINVAL. */
static int take_opt(struct opts *o, int opt, const char *arg)
{
	switch (opt) {
	case 'x':
		snprintf(o->xvbd, sizeof(o->xvbd), "%s", arg);
		break;
	case 'l':
		snprintf(o->libdir, sizeof(o->libdir), "%s", arg);
		break;
	case 'c':
		o->vcpus = atoi(arg);
		break;
	case 1100:
		o->queues = atoi(arg);
		break;
	case 1101:
		o->nic_pairs = atoi(arg);
		break;
	case 1102:
		o->nic_poll_us = atoi(arg);
		break;
	case 1103:
		o->nic_coalesce_us = atoi(arg);
		break;
	case 'd':
		o->disks = atoi(arg);
		break;
	case 's':
		o->size_mib = atoi(arg);
		break;
	case 'b':
		o->verify_blocks = atoi(arg);
		break;
	case 'Q':
		o->qd = atoi(arg);
		break;
	case 'B':
		o->bench = true;
		break;
	case 'N':
		o->no_nic = true;
		break;
	case 'S':
		o->seconds = atof(arg);
		break;
	case 'q':
		o->quiet = true;
		break;
	case 'v':
		o->verbose = true;
		break;
	case 'X':
		o->script = arg;
		break;
	case 'L':
		o->load_mode = true;
		break;
	case 'R':
		o->load.rw = arg;
		break;
	case 'Z':
		o->load.bs = parse_size(arg);
		break;
	case 'F':
		o->load.flush_every = atoi(arg);
		break;
	case 'P':
		o->load.ramp = atof(arg);
		break;
	case 'I':
		o->image = arg;
		break;
	case 1000 ... 1006:
		return net_opt(o, opt, arg);
	default:
		return -EINVAL;
	}
	return 0;
}

/*
 * Reads the command line into @o and checks it. Returns 0 to run, 1 if it
 * asked for help (printed), 2 if it was wrong (usage printed), or -1.
 */
static int parse_opts(struct opts *o, int argc, char **argv)
{
	char self[PATH_MAX - 16];
	ssize_t n;
	int opt;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -1;
	self[n] = '\0';
	dirname(self);
	snprintf(o->xvbd, sizeof(o->xvbd), "%s/../xvbd", self);
	snprintf(o->libdir, sizeof(o->libdir), "%s/lib", self);
	while ((opt = getopt_long(argc, argv, "qvh", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 1;
		}
		if (take_opt(o, opt, optarg)) {
			if (opt < 1000 || opt > 1006)
				usage(stderr);
			return 2;
		}
	}
	if (!o->vcpus || o->vcpus > 16 || !o->disks || o->disks > MAX_DISKS ||
	    !o->queues || o->queues > GDRV_MAX_VQS || !o->nic_pairs ||
	    o->nic_pairs > NETDRV_MAX_PAIRS || !o->size_mib ||
	    o->size_mib > 4096 || !o->qd || o->qd > 256 || load_opts(o)) {
		usage(stderr);
		return 2;
	}
	if (o->ns.netns && optind < argc)
		o->ns.argv = argv + optind;
	return 0;
}

/*
 * What follows from the options and the host: guest RAM, whether a NIC can
 * be added. Returns 0, or 2 (said why) if the run cannot be made here.
 */
static int plan_run(struct opts *o)
{
	if (access(o->xvbd, X_OK)) {
		fprintf(stderr, "xvb-sim: %s: %s\n", o->xvbd, strerror(errno));
		return 2;
	}
	/*
	 * Guest RAM: rings, tables and request buffers (qd slots of 128 KiB
	 * per disk), with room to spare.
	 */
	o->ram_mib = 64 + 16 * o->disks + o->disks * o->qd / 8;
	/* A NIC needs a TAP: root and /dev/net/tun. */
	o->nic = !o->no_nic && !o->load_mode && !o->script && !geteuid() &&
		 !access("/dev/net/tun", R_OK | W_OK);
	if (o->ns.netns) {
		if (!o->nic || o->vcpus < 2) {
			fprintf(stderr,
				"xvb-sim: --netns needs root, /dev/net/tun and 2 vCPUs\n");
			return 2;
		}
		o->ram_mib += NSTACK_RAM_MIB;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .vcpus = 2,
			  .queues = 1,
			  .nic_pairs = 1,
			  .nic_poll_us = -1,
			  .nic_coalesce_us = -1,
			  .disks = 1,
			  .qd = 32,
			  .size_mib = 64,
			  .verify_blocks = 512,
			  .seconds = 1,
			  .load = {
				  .rw = "randread", .bs = 4096, .ramp = 0.5 } };
	char dir[] = "/tmp/xvb-sim-XXXXXX", cmd[64];
	int rc;

	rc = parse_opts(&o, argc, argv);
	if (rc)
		return rc < 0 ? 1 : rc == 1 ? 0 : 2;
	rc = plan_run(&o);
	if (rc)
		return rc;
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
