// SPDX-License-Identifier: MIT
/*
 * devbench: the virtio-blk device model's own speed, without a transport.
 * One process, one thread: a fake guest's driver keeps QD I/Os in flight on
 * a disk opened through its registry entry (as xvbd's worker opens it),
 * kicks by a direct call into virtio-mmio, polls the used ring, and runs the
 * device's io_uring loop in between. Prints one JSON line per run.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#include "devices/devtype.h"
#include "fakeguest.h"
#include "gdrv.h"
#include "hang.h"
#include "lib/evl.h"
#include "lib/log.h"
#include "procfs.h"
#include "virtio/vmmio.h"

#include "devlib.h"

#define DB_RAM (96u << 20)	/* rings, tables, headers and data */
#define DB_MAX_DATA (64u << 20) /* bs * qd */
#define DB_NUM 256u		/* queue entries: one per request (indirect) */
#define DB_MAX_QD 128u
#define DB_MAX_BS (4u << 20)
#define DB_LAT_CAP (4u << 20) /* latency samples kept per run */
#define DB_STATUS_NONE 0xff   /* a status byte the device has not written */

struct db_opts {
	const char *image;
	bool random;
	bool write;
	uint32_t bs;
	unsigned int qd;
	double seconds, ramp;
	int poll_us, coalesce_us; /* -1: the type's defaults, as xvbd's */
	bool verify;		  /* compare every read with the store */
	const char *label;	  /* the smoke cases' names */
};

/* One I/O of bs bytes: one or more virtio requests, as Linux cuts it. */
struct db_io {
	uint64_t t0_ns;	   /* when it was queued */
	uint64_t sector;   /* first sector */
	unsigned int left; /* its requests not yet completed */
	bool failed;	   /* a request came back with a non-OK status */
};

struct db {
	struct db_opts o;
	struct fakeguest *fg;
	struct dl_gmem gm;
	struct evl loop;
	const struct xvb_devtype *type;
	void *conf, *dev;
	struct vdev *vdev;
	struct gdrv drv;
	int fd; /* our own view of the store, for --verify */

	uint32_t seg_len;	    /* size_max: bytes per data descriptor */
	uint32_t req_max;	    /* bytes per request: size_max * seg_max */
	unsigned int parts;	    /* requests per I/O */
	uint64_t nblocks;	    /* the disk in bs units */
	uint64_t hdr, status, data; /* guest addresses */
	struct db_io io[DB_MAX_QD];
	int16_t head_req[DB_NUM]; /* head -> request slot, -1 when free */
	unsigned int free_io[DB_MAX_QD], nr_free;
	uint64_t seed, next;

	/* Counted over the whole run; snapshots take the window. */
	uint64_t ios, reqs, errors, mismatches, bytes;
	uint64_t guest_ns; /* wall time inside the guest's own code */
	uint32_t *lat;	   /* ns, the window's completions */
	size_t nr_lat;
	bool measuring;
};

/* What a run counted, for the smoke test's verdict. */
struct db_result {
	uint64_t ios, errors, mismatches;
};

struct db_snap {
	uint64_t t_ns, ios, reqs, bytes, guest_ns, irqs, kicks;
	double cpu_s, thread_s;
};

/* ---- the device, through the registry ------------------------------------ */

/* Registry entry "blk": its conf from a spec, then open, as the worker. */
static int db_open_dev(struct db *b)
{
	struct xvb_devenv env = {
		.gm = &b->gm.gm,
		.loop = &b->loop,
		.queues = 1,
		.poll_us = b->o.poll_us,
		.coalesce_us = b->o.coalesce_us,
		.domid = -1,
		.name = "vblk0",
	};
	char spec[PATH_MAX + 16], err[512] = "";

	b->type = xvb_devtype_by_name("blk");
	if (!b->type)
		return -ENOENT;
	snprintf(spec, sizeof(spec), "mode=%s,path=%s", b->o.write ? "w" : "r",
		 b->o.image);
	b->conf = xvb_devconf_parse(b->type, spec, err, sizeof(err));
	if (!b->conf) {
		fprintf(stderr, "devbench: %s\n", err);
		return -EINVAL;
	}
	return b->type->open(&b->dev, &b->vdev, b->conf, &env);
}

static uint32_t db_cfg32(struct db *b, size_t off)
{
	return (uint32_t)gdrv_read(&b->drv, VMMIO_CONFIG_OFF + off, 4);
}

/*
 * How Linux cuts an I/O: data descriptors of at most size_max bytes, at
 * most seg_max of them per request; an I/O larger than that is split into
 * several requests (the block layer's max_sectors).
 */
static int db_geometry(struct db *b)
{
	uint64_t cap = (uint64_t)db_cfg32(b, 4) << 32 | db_cfg32(b, 0);
	uint32_t seg_max = 1;

	b->seg_len = b->o.bs;
	if (b->drv.features & (1ULL << VIRTIO_BLK_F_SIZE_MAX))
		b->seg_len = db_cfg32(b, offsetof(struct virtio_blk_config,
						  size_max));
	if (b->drv.features & (1ULL << VIRTIO_BLK_F_SEG_MAX))
		seg_max = db_cfg32(b,
				   offsetof(struct virtio_blk_config, seg_max));
	if (!b->seg_len || b->seg_len % 512 || !seg_max || seg_max > 254)
		return -EINVAL;
	b->req_max = b->seg_len * seg_max;
	if (b->req_max > b->o.bs)
		b->req_max = b->o.bs;
	b->req_max -= b->req_max % 512;
	b->parts = (b->o.bs + b->req_max - 1) / b->req_max;
	b->nblocks = cap * 512 / b->o.bs;
	if (!b->nblocks || b->parts * b->o.qd > DB_NUM)
		return -EINVAL;
	return 0;
}

static int db_setup(struct db *b)
{
	int rc;

	b->fd = open(b->o.image, O_RDONLY | O_CLOEXEC);
	if (b->fd < 0)
		return -errno;
	b->fg = fg_new(DB_RAM);
	if (!b->fg)
		return -ENOMEM;
	rc = dl_gmem_init(&b->gm, b->fg);
	if (rc)
		return rc;
	rc = evl_init(&b->loop, 256); /* as xvbd's worker */
	if (rc)
		return rc;
	rc = db_open_dev(b);
	if (rc)
		return rc;
	gdrv_init(&b->drv, b->vdev, b->fg);
	/* Every feature the device offers, as Linux takes them. */
	rc = gdrv_up(&b->drv, ~0ULL, 1, DB_NUM);
	if (rc)
		return rc;
	/*
	 * A polling guest (Linux's poll queues) never re-arms used_event: the
	 * device interrupts once per 64 Ki completions at most.
	 */
	b->drv.vqs[0].manual_used_event = true;
	rc = db_geometry(b);
	if (rc)
		return rc;
	b->hdr = fg_alloc(b->fg, 16u * DB_NUM, 4096);
	b->status = fg_alloc(b->fg, DB_NUM, 4096);
	b->data = fg_alloc(b->fg, (size_t)b->o.bs * b->o.qd, 4096);
	b->lat = malloc(DB_LAT_CAP * sizeof(*b->lat));
	if (!b->hdr || !b->status || !b->data || !b->lat)
		return -ENOMEM;
	for (unsigned int i = 0; i < DB_NUM; i++)
		b->head_req[i] = -1;
	for (unsigned int i = 0; i < b->o.qd; i++)
		b->free_io[b->nr_free++] = b->o.qd - 1 - i;
	return 0;
}

/* Returns 0 if the device left no mapping and no descriptor behind. */
static int db_teardown(struct db *b, int fds)
{
	int rc = 0;

	if (b->type && b->dev)
		b->type->close(b->dev);
	b->dev = NULL;
	gdrv_fini(&b->drv);
	if (b->fg && !dl_gmem_clean(&b->gm))
		rc = -EBADE;
	free(b->gm.refs);
	evl_exit(&b->loop);
	fg_free(b->fg);
	b->fg = NULL;
	free(b->conf);
	free(b->lat);
	if (b->fd >= 0)
		close(b->fd);
	if (fds >= 0 && t_count_fds(0) != fds)
		rc = -EBADF;
	return rc;
}

/* ---- the guest ----------------------------------------------------------- */

static uint64_t db_rand(struct db *b)
{
	b->seed ^= b->seed << 13;
	b->seed ^= b->seed >> 7;
	b->seed ^= b->seed << 17;
	return b->seed;
}

/* Data bytes of request @part of an I/O. */
static uint32_t db_req_len(const struct db *b, unsigned int part)
{
	uint32_t left = b->o.bs - part * b->req_max;

	return left < b->req_max ? left : b->req_max;
}

/* Adds request @part of I/O @i: header, data in size_max pieces, status. */
static int db_add_req(struct db *b, unsigned int i, unsigned int part)
{
	struct gdrv_buf bufs[2 + 256];
	unsigned int slot = i * b->parts + part, n = 0;
	uint32_t off = part * b->req_max, len = db_req_len(b, part);
	uint64_t data = b->data + (uint64_t)i * b->o.bs + off;
	struct virtio_blk_outhdr h = {
		.type = htole32(b->o.write ? VIRTIO_BLK_T_OUT :
					     VIRTIO_BLK_T_IN),
		.sector = htole64(b->io[i].sector + off / 512),
	};
	uint8_t st = DB_STATUS_NONE;
	int head;

	fg_write(b->fg, b->hdr + 16u * slot, &h, sizeof(h));
	fg_write(b->fg, b->status + slot, &st, 1);
	bufs[n++] = (struct gdrv_buf){ b->hdr + 16u * slot, 16, false };
	for (uint32_t o = 0; o < len; o += b->seg_len) {
		uint32_t l = len - o < b->seg_len ? len - o : b->seg_len;

		bufs[n++] = (struct gdrv_buf){ data + o, l, !b->o.write };
	}
	bufs[n++] = (struct gdrv_buf){ b->status + slot, 1, true };
	head = gdrv_add(&b->drv, 0, bufs, n, GDRV_INDIRECT);
	if (head < 0)
		return head;
	b->head_req[head] = (int16_t)slot;
	return 0;
}

/* Queues I/Os until qd are in flight, all stamped @now. */
static int db_fill(struct db *b, uint64_t now)
{
	while (b->nr_free) {
		unsigned int i = b->free_io[--b->nr_free];
		uint64_t blk = b->o.random ? db_rand(b) % b->nblocks :
					     b->next++ % b->nblocks;
		int rc;

		b->io[i] = (struct db_io){ .t0_ns = now,
					   .sector = blk * (b->o.bs / 512),
					   .left = b->parts };
		for (unsigned int p = 0; p < b->parts; p++) {
			rc = db_add_req(b, i, p);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* --verify: the data read back is the store's. */
static bool db_same(struct db *b, unsigned int i)
{
	static uint8_t want[DB_MAX_BS];
	const uint8_t *got =
		fg_ptr(b->fg, b->data + (uint64_t)i * b->o.bs, b->o.bs);
	ssize_t n = pread(b->fd, want, b->o.bs, (off_t)b->io[i].sector * 512);

	return got && n == (ssize_t)b->o.bs && !memcmp(got, want, b->o.bs);
}

static void db_io_done(struct db *b, unsigned int i, uint64_t now)
{
	struct db_io *io = &b->io[i];

	if (io->failed)
		b->errors++;
	else if (b->o.verify && !b->o.write && !db_same(b, i))
		b->mismatches++;
	b->ios++;
	b->bytes += b->o.bs;
	if (b->measuring && b->nr_lat < DB_LAT_CAP)
		b->lat[b->nr_lat++] = (uint32_t)(now - io->t0_ns > UINT32_MAX ?
							 UINT32_MAX :
							 now - io->t0_ns);
	b->free_io[b->nr_free++] = i;
}

/*
 * Collects every used element. Returns how many, or -EPROTO for one the
 * device should never have written (a head not in flight, a wrong length).
 */
static int db_collect(struct db *b, uint64_t now)
{
	int n = 0, rc;
	uint32_t len;
	uint16_t head;

	while ((rc = gdrv_get_used(&b->drv, 0, &head, &len)) == 1) {
		int slot = b->head_req[head];
		unsigned int i = (unsigned int)slot / b->parts;
		uint8_t st = DB_STATUS_NONE;

		if (slot < 0)
			return -EPROTO;
		b->head_req[head] = -1;
		fg_read(b->fg, b->status + slot, &st, 1);
		/* Reads: data and status written; writes: the status only. */
		if (st != VIRTIO_BLK_S_OK ||
		    len != 1 + (b->o.write ? 0 :
					     db_req_len(b, slot % b->parts)))
			b->io[i].failed = true;
		b->reqs++;
		n++;
		if (!--b->io[i].left)
			db_io_done(b, i, now);
	}
	return rc < 0 ? rc : n;
}

/* ---- the run ------------------------------------------------------------- */

static void db_snap(struct db *b, struct db_snap *s, uint64_t now)
{
	s->t_ns = now;
	s->ios = b->ios;
	s->reqs = b->reqs;
	s->bytes = b->bytes;
	s->guest_ns = b->guest_ns;
	s->irqs = b->drv.nr_irqs;
	s->kicks = b->drv.nr_notifies;
	s->cpu_s = dl_proc_cpu_s();
	s->thread_s = dl_clock_s(CLOCK_THREAD_CPUTIME_ID);
}

/*
 * One round: the guest fills and kicks, the device's loop runs (waiting
 * for a CQE only if the used ring has nothing new), the guest collects.
 * The guest's own sections are timed (wall clock: they never block).
 */
static int db_round(struct db *b, bool fill)
{
	struct gdrv_vq *v = &b->drv.vqs[0];
	uint64_t t0 = dl_now_ns(), t1, t2;
	int rc = 0;

	if (fill)
		rc = db_fill(b, t0);
	t1 = dl_now_ns();
	if (rc)
		return rc;
	gdrv_kick(&b->drv, 0);
	rc = evl_run_once(&b->loop, gdrv_used_idx(&b->drv, 0) == v->last_used);
	if (rc < 0)
		return rc;
	t2 = dl_now_ns();
	rc = db_collect(b, t2);
	b->guest_ns += (t1 - t0) + (dl_now_ns() - t2);
	return rc;
}

static int db_run(struct db *b, struct db_snap *s0, struct db_snap *s1)
{
	uint64_t start = dl_now_ns(), ramp_end, end, last = start, now;
	uint64_t hang = (uint64_t)t_hang_ms() * 1000000u, seen = 0;
	int rc;

	ramp_end = start + (uint64_t)(b->o.ramp * 1e9);
	end = ramp_end + (uint64_t)(b->o.seconds * 1e9);
	b->seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	for (;;) {
		now = dl_now_ns();
		if (!b->measuring && now >= ramp_end) {
			db_snap(b, s0, now);
			b->measuring = true;
		}
		if (now >= end)
			break;
		rc = db_round(b, true);
		if (rc < 0)
			return rc;
		if (b->reqs != seen) {
			seen = b->reqs;
			last = now;
		} else if (now - last > hang) {
			fprintf(stderr, "devbench: no completion in %u ms\n",
				t_hang_ms());
			return -ETIMEDOUT;
		}
	}
	db_snap(b, s1, dl_now_ns());
	b->measuring = false;
	/* Drain: what is in flight completes before the device closes. */
	last = dl_now_ns();
	while (b->nr_free < b->o.qd) {
		rc = db_round(b, false);
		if (rc < 0)
			return rc;
		if (dl_now_ns() - last > hang)
			return -ETIMEDOUT;
	}
	return 0;
}

static int db_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double db_pct(const struct db *b, double p)
{
	size_t k;

	if (!b->nr_lat)
		return 0;
	k = (size_t)(p * (double)(b->nr_lat - 1) + 0.5);
	return b->lat[k] / 1e3;
}

struct db_field {
	const char *key;
	double val;
};

static void db_print(struct db *b, const struct db_snap *a,
		     const struct db_snap *z)
{
	double secs = (z->t_ns - a->t_ns) / 1e9;
	double ios = (double)(z->ios - a->ios), n = ios ? ios : 1;
	double cpu = (z->cpu_s - a->cpu_s) * 1e6 / n;
	double thr = (z->thread_s - a->thread_s) * 1e6 / n;
	double guest = (z->guest_ns - a->guest_ns) / 1e3 / n;
	double mean = 0;

	for (size_t k = 0; k < b->nr_lat; k++)
		mean += b->lat[k];
	mean = b->nr_lat ? mean / (double)b->nr_lat / 1e3 : 0;
	qsort(b->lat, b->nr_lat, sizeof(*b->lat), db_cmp_u32);

	/* Per request means per I/O: a 1 MiB I/O counts once, as fio's. */
	const struct db_field f[] = {
		{ "bs", b->o.bs },
		{ "qd", b->o.qd },
		{ "ios", ios },
		{ "seconds", secs },
		{ "iops", ios / secs },
		{ "mib_s", (z->bytes - a->bytes) / secs / (1 << 20) },
		{ "reqs_per_io", (z->reqs - a->reqs) / n },
		{ "lat_p50_us", db_pct(b, 0.5) },
		{ "lat_p99_us", db_pct(b, 0.99) },
		{ "lat_mean_us", mean },
		{ "lat_samples", (double)b->nr_lat },
		{ "cpu_us_per_req", cpu },
		{ "guest_cpu_us_per_req", guest },
		{ "dev_cpu_us_per_req", cpu - guest },
		{ "thread_cpu_us_per_req", thr },
		{ "iowq_cpu_us_per_req", cpu - thr },
		{ "cpu_util", (z->cpu_s - a->cpu_s) / secs },
		{ "irq_per_req", (z->irqs - a->irqs) / n },
		{ "kick_per_req", (z->kicks - a->kicks) / n },
		{ "errors", (double)b->errors },
		{ "mismatches", (double)b->mismatches },
	};

	printf("{\"rw\": \"%s%s\"", b->o.random ? "rand" : "",
	       b->o.write ? "write" : "read");
	for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
		printf(", \"%s\": %.10g", f[k].key, f[k].val);
	printf(", \"verified\": %s}\n", b->o.verify ? "true" : "false");
	fflush(stdout);
}

/* One run of @o. Returns 0, or -errno (a device or guest failure). */
static int db_bench(const struct db_opts *o, bool print, struct db_result *out)
{
	struct db *b = calloc(1, sizeof(*b));
	struct db_snap s0 = { 0 }, s1 = { 0 };
	int fds = t_count_fds(0), rc, rc2;

	if (!b)
		return -ENOMEM;
	b->o = *o;
	b->fd = -1;
	rc = db_setup(b);
	if (!rc)
		rc = db_run(b, &s0, &s1);
	if (!rc && print)
		db_print(b, &s0, &s1);
	if (!rc && (b->errors || b->mismatches))
		rc = -EIO;
	if (out)
		*out = (struct db_result){ b->ios, b->errors, b->mismatches };
	rc2 = db_teardown(b, fds);
	free(b);
	return rc ? rc : rc2;
}

/* ---- the smoke test (a check job) ---------------------------------------- */

/* A store of 8 MiB of pseudo-random bytes in a private temporary file. */
static int db_smoke_store(char *path, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	uint64_t x = 0x2545f4914f6cdd1dULL ^ (uint64_t)getpid();
	static uint64_t buf[1 << 17];
	int fd, rc = 0;

	snprintf(path, len, "%s/xvb-devbench-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (int k = 0; k < 8 && !rc; k++) {
		for (size_t i = 0; i < sizeof(buf) / sizeof(buf[0]); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			rc = -EIO;
	}
	close(fd);
	return rc;
}

/*
 * Short verified runs: 4k random reads at QD1 and QD32 and 1 MiB sequential
 * reads (cut into several requests each). Each must complete I/Os, read the
 * store's bytes, and leave no mapping or descriptor. "ok"/"FAIL" lines.
 */
static int db_smoke(void)
{
	static const struct db_opts cases[] = {
		{ .label = "randread_4k_qd1",
		  .random = true,
		  .bs = 4096,
		  .qd = 1 },
		{ .label = "randread_4k_qd32",
		  .random = true,
		  .bs = 4096,
		  .qd = 32 },
		{ .label = "read_1m_qd4", .bs = 1u << 20, .qd = 4 },
	};
	char path[256];
	int failed = 0, rc;

	rc = db_smoke_store(path, sizeof(path));
	if (rc) {
		printf("skip devbench_smoke: no temporary store: %s\n",
		       strerror(-rc));
		return 77;
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct db_opts o = cases[c];
		struct db_result r;

		o.image = path;
		o.seconds = 0.15;
		o.ramp = 0.02;
		o.poll_us = -1;
		o.coalesce_us = -1;
		o.verify = true;
		memset(&r, 0, sizeof(r));
		rc = db_bench(&o, false, &r);
		if (!rc && !r.ios)
			rc = -ENODATA;
		if (rc) {
			printf("FAIL devbench_%s: %s (%" PRIu64
			       " I/Os, %" PRIu64 " errors, %" PRIu64
			       " mismatches)\n",
			       o.label, strerror(-rc), r.ios, r.errors,
			       r.mismatches);
			failed++;
		} else {
			printf("ok devbench_%s: %" PRIu64
			       " I/Os read back as the store holds them\n",
			       o.label, r.ios);
		}
	}
	unlink(path);
	return failed ? 1 : 0;
}

/* ---- main ------------------------------------------------------------------ */

static void db_usage(FILE *f)
{
	fprintf(f,
		"usage: devbench --image FILE [--rw randread|read|randwrite|write]\n"
		"         [--bs BYTES] [--qd N] [--seconds S] [--ramp S]\n"
		"         [--poll-us N] [--coalesce-us N] [--verify]\n"
		"       devbench --smoke\n"
		"One JSON line per run (bench/README.md, make bench-dev).\n");
}

static int db_parse(int argc, char **argv, struct db_opts *o, bool *smoke)
{
	static const struct option lo[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "rw", required_argument, NULL, 'w' },
		{ "bs", required_argument, NULL, 'b' },
		{ "qd", required_argument, NULL, 'q' },
		{ "seconds", required_argument, NULL, 's' },
		{ "ramp", required_argument, NULL, 'r' },
		{ "poll-us", required_argument, NULL, 'p' },
		{ "coalesce-us", required_argument, NULL, 'c' },
		{ "verify", no_argument, NULL, 'v' },
		{ "smoke", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct db_opts){ .random = true,
			       .bs = 4096,
			       .qd = 1,
			       .seconds = 2,
			       .ramp = 0.5,
			       .poll_us = -1,
			       .coalesce_us = -1 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->image = optarg;
			break;
		case 'w':
			o->random = !strncmp(optarg, "rand", 4);
			o->write = strstr(optarg, "write") != NULL;
			if (strcmp(optarg + (o->random ? 4 : 0),
				   o->write ? "write" : "read"))
				return -EINVAL;
			break;
		case 'b':
			o->bs = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'q':
			o->qd = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 's':
			o->seconds = strtod(optarg, NULL);
			break;
		case 'r':
			o->ramp = strtod(optarg, NULL);
			break;
		case 'p':
			o->poll_us = atoi(optarg);
			break;
		case 'c':
			o->coalesce_us = atoi(optarg);
			break;
		case 'v':
			o->verify = true;
			break;
		case 'S':
			*smoke = true;
			break;
		case 'h':
			db_usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (*smoke)
		return 0;
	if (!o->image || optind != argc || !o->bs || o->bs % 512 ||
	    o->bs > DB_MAX_BS || !o->qd || o->qd > DB_MAX_QD ||
	    (uint64_t)o->bs * o->qd > DB_MAX_DATA || !(o->seconds > 0) ||
	    o->ramp < 0)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct db_opts o;
	bool smoke = false;
	int rc;

	if (db_parse(argc, argv, &o, &smoke)) {
		db_usage(stderr);
		return 2;
	}
	log_setup("devbench", LOG_WARN);
	if (dl_watchdog(true))
		return 1;
	if (smoke)
		return db_smoke();
	rc = db_bench(&o, true, NULL);
	if (rc)
		fprintf(stderr, "devbench: %s\n", strerror(-rc));
	return rc ? 1 : 0;
}
