// SPDX-License-Identifier: MIT
/*
 * Hostile-guest scripts for xvb-sim: a few lines of raw register accesses,
 * hand-built descriptors, waits and expectations, run by the simulated
 * guest against the real xvbd. The language is in docs/testing.md. After
 * the last line every script gets the universal checks: the worker that
 * served it is alive (not restarted), every access was answered (within the
 * hang bound: a liveness check, the slowest answer is printed as a
 * measurement, never compared with a constant), a reset brings back a device a
 * verified write, flush and read work on, and the worker holds as many
 * descriptors as when the script began.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>

#include "hang.h"
#include "procfs.h"
#include "script.h"

#define SCRATCH_LEN (64 << 10)
#define MAX_ARGS 7
#define QD 256 /* requests the driver can keep in flight */
#define MAX_FLOOD 256

struct ctx {
	struct script_dev *dev;
	struct blkdrv *b;
	bool up;	  /* set up (through the driver, or raw) */
	bool raw;	  /* set up by hand: no request slots */
	uint64_t scratch; /* "buf": guest RAM the script may point at */
	uint64_t last;	  /* value of the last read */
	uint64_t saved;	  /* `save`d value of last, for `same` */
	const char *file;
	unsigned int line;
	unsigned int ok, fail;
	/* The worker serving the guest, and what it held at the first up. */
	pid_t worker;
	int worker_fds;
	/* Register accesses of buses set up before the current one. */
	uint64_t nr_access, max_ns;
	/* The rings and requests of the last reset, for `still`. */
	uint64_t old_used;
	uint16_t old_used_idx;
	unsigned int nr_old;
	uint64_t old_status[MAX_FLOOD];
	uint8_t old_st[MAX_FLOOD];
	/* `storm`: another vCPU hammering registers meanwhile. */
	pthread_t storm;
	bool storming;
	volatile bool storm_stop;
	struct simbus storm_bus;
	volatile uint64_t storm_n;
};

/* One line of the script's verdict: "ok" or "FAIL", where, then what. */
static void result(struct ctx *c, bool pass, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void result(struct ctx *c, bool pass, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s:%u: ", pass ? "ok" : "FAIL", c->file, c->line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (pass)
		c->ok++;
	else
		c->fail++;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* A number (decimal or 0x-hex), or buf[+N]. Returns 0 or -EINVAL. */
static int value(struct ctx *c, const char *s, uint64_t *v)
{
	char *end;

	if (!strncmp(s, "buf", 3)) {
		*v = c->scratch;
		s += 3;
		if (!*s)
			return 0;
		if (*s++ != '+')
			return -EINVAL;
		*v += strtoull(s, &end, 0);
		return *end ? -EINVAL : 0;
	}
	*v = strtoull(s, &end, 0);
	return *s && !*end ? 0 : -EINVAL;
}

static int need_up(struct ctx *c, bool slots)
{
	if (c->up && (!slots || !c->raw))
		return 0;
	result(c, false,
	       slots ? "needs the driver's own setup ('up' without arguments)" :
		       "the device is not up ('up' first)");
	return -EINVAL;
}

/* ---- the worker process ---------------------------------------------- */

struct stall {
	pid_t pid;
	unsigned int ms;
};

static void *stall_end(void *arg)
{
	struct stall *st = arg;

	usleep(st->ms * 1000);
	kill(st->pid, SIGCONT);
	free(st);
	return NULL;
}

/* Stops @pid and has a thread continue it @ms ms later. */
static int stall_worker(pid_t pid, unsigned int ms)
{
	struct stall *st = malloc(sizeof(*st));
	pthread_t t;

	if (!st || pid <= 0 || kill(pid, SIGSTOP)) {
		free(st);
		return -1;
	}
	*st = (struct stall){ pid, ms };
	if (pthread_create(&t, NULL, stall_end, st)) {
		kill(pid, SIGCONT);
		free(st);
		return -1;
	}
	pthread_detach(t);
	return 0;
}

/* xvbd's live worker: the supervisor's child, or -1. */
static pid_t find_worker(const struct ctx *c)
{
	return t_child_of(c->dev->xvbd);
}

/* vCPUs of the guest: the first that cannot issue an access is too far. */
static unsigned int count_vcpus(const struct script_dev *d)
{
	unsigned int n = 1;
	uint64_t v;

	while (n < 16 && xsim_mmio_read(d->sim, d->domid, n, d->base, 4, &v,
					(int)t_hang_ms()) != -EINVAL)
		n++;
	return n;
}

/* ---- register accesses ------------------------------------------------- */

/* Folds the bus's counts into the script's before a setup replaces it. */
static void tally(struct ctx *c, const struct simbus *sb)
{
	c->nr_access += sb->nr;
	if (sb->max_ns > c->max_ns)
		c->max_ns = sb->max_ns;
}

static uint64_t rd(struct ctx *c, uint64_t off, unsigned int size)
{
	return gdrv_read(&c->b->drv, off, size);
}

static void wr(struct ctx *c, uint64_t off, unsigned int size, uint64_t v)
{
	gdrv_write(&c->b->drv, off, size, v);
}

/* ---- setup and reset ----------------------------------------------------- */

/* A 4 KiB write, flush and read of block 0 through the normal driver. */
static bool canary(struct ctx *c)
{
	struct blkreq *r;
	uint32_t seed = 0xc0ffee + c->line;

	if (blkdrv_sync(c->b, VIRTIO_BLK_T_OUT, 0, 4096, seed, NULL) ||
	    blkdrv_sync(c->b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL) ||
	    blkdrv_sync(c->b, VIRTIO_BLK_T_IN, 0, 4096, 0, &r))
		return false;
	return blkdrv_data_is(c->b, r, seed);
}

/*
 * Guest RAM starts over at every setup: the scratch buffer first (so its
 * address never changes), then rings and request slots.
 */
static void fresh_ram(struct ctx *c)
{
	fg_alloc_reset(c->dev->fg);
	c->scratch = fg_alloc(c->dev->fg, SCRATCH_LEN, 4096);
}

/* The driver's own setup: every feature it knows, request slots. */
static int up(struct ctx *c)
{
	struct script_dev *d = c->dev;
	int rc;

	fresh_ram(c);
	tally(c, &c->b->sb);
	rc = blkdrv_up(c->b, d->sim, d->domid, d->vcpu, d->base, d->spi, d->fg,
		       QD, 4096);
	c->up = !rc;
	c->raw = false;
	return rc;
}

/* By hand: queue 0 of @num entries, features @want (0: the usual). */
static int up_raw(struct ctx *c, uint64_t num, uint64_t want)
{
	struct script_dev *d = c->dev;
	struct blkdrv *b = c->b;
	int rc;

	fresh_ram(c);
	tally(c, &b->sb);
	memset(b, 0, sizeof(*b));
	b->sim = d->sim;
	b->domid = d->domid;
	b->vcpu = d->vcpu;
	b->base = d->base;
	b->spi = d->spi;
	b->fg = d->fg;
	simbus_init(&b->sb, d->sim, d->domid, d->vcpu, d->base);
	gdrv_init_bus(&b->drv, &b->sb.bus, d->fg);
	if (!want)
		want = (1ULL << VIRTIO_F_VERSION_1) |
		       (1ULL << VIRTIO_F_ACCESS_PLATFORM) |
		       (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
		       (1ULL << VIRTIO_RING_F_EVENT_IDX) |
		       (1ULL << VIRTIO_BLK_F_FLUSH);
	rc = gdrv_up(&b->drv, want, 1, num);
	c->up = !rc && !b->sb.err;
	c->raw = true;
	return c->up ? 0 : rc ? rc : b->sb.err;
}

/*
 * Status=0, then remembers what the old used ring and the status bytes of
 * requests in flight held once the reset was answered, for `still`.
 */
static void reset(struct ctx *c)
{
	struct blkdrv *b = c->b;
	struct gdrv_vq *v = &b->drv.vqs[0];

	if (!c->up)
		return;
	c->old_used = v->used_gpa;
	c->nr_old = 0;
	for (unsigned int i = 0; !c->raw && i < b->qd && i < MAX_FLOOD; i++)
		if (b->slots[i].busy)
			c->old_status[c->nr_old++] = b->slots[i].status_gpa;
	if (c->raw) {
		gdrv_reset(&b->drv);
		gdrv_fini(&b->drv);
	} else {
		blkdrv_down(b);
	}
	c->up = false;
	/* What the rings hold once Status=0 was answered: final. */
	fg_read(c->dev->fg, c->old_used + 2, &c->old_used_idx, 2);
	for (unsigned int i = 0; i < c->nr_old; i++)
		fg_read(c->dev->fg, c->old_status[i], &c->old_st[i], 1);
}

/* Nothing reached the old rings or requests for @ms after the reset. */
static bool still(struct ctx *c, uint64_t ms)
{
	uint16_t idx = 0;
	uint8_t st;

	usleep(ms * 1000);
	if (!c->old_used)
		return false;
	fg_read(c->dev->fg, c->old_used + 2, &idx, 2);
	if (idx != c->old_used_idx)
		return false;
	for (unsigned int i = 0; i < c->nr_old; i++) {
		fg_read(c->dev->fg, c->old_status[i], &st, 1);
		if (st != c->old_st[i])
			return false;
	}
	return true;
}

/* @n writes through the driver, kicked, not waited for. */
static bool flood(struct ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (!blkdrv_queue(c->b, VIRTIO_BLK_T_OUT, 8 * (i % 4096), 4096,
				  i + 1))
			return false;
	blkdrv_kick(c->b);
	return true;
}

/* Status 0, ACK|DRIVER, @features, FEATURES_OK; Status read back. */
static uint64_t negotiate(struct ctx *c, uint64_t features)
{
	wr(c, VIRTIO_MMIO_STATUS, 4, 0);
	wr(c, VIRTIO_MMIO_STATUS, 4, 1);
	wr(c, VIRTIO_MMIO_STATUS, 4, 3);
	wr(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 0);
	wr(c, VIRTIO_MMIO_DRIVER_FEATURES, 4, (uint32_t)features);
	wr(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 1);
	wr(c, VIRTIO_MMIO_DRIVER_FEATURES, 4, features >> 32);
	wr(c, VIRTIO_MMIO_STATUS, 4, 0xb);
	return rd(c, VIRTIO_MMIO_STATUS, 4);
}

/* Queue 0's registers by hand, then QueueReady=1; QueueReady read back. */
static uint64_t queue(struct ctx *c, const uint64_t *v)
{
	static const uint32_t regs[] = { VIRTIO_MMIO_QUEUE_DESC_LOW,
					 VIRTIO_MMIO_QUEUE_AVAIL_LOW,
					 VIRTIO_MMIO_QUEUE_USED_LOW };

	wr(c, VIRTIO_MMIO_QUEUE_SEL, 4, 0);
	wr(c, VIRTIO_MMIO_QUEUE_NUM, 4, v[1]);
	for (unsigned int i = 0; i < 3; i++) {
		wr(c, regs[i], 4, (uint32_t)v[2 + i]);
		wr(c, regs[i] + 4, 4, v[2 + i] >> 32);
	}
	wr(c, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	return rd(c, VIRTIO_MMIO_QUEUE_READY, 4);
}

/* Waits (up to the hang bound) for the used ring's idx to read @want. */
static bool wait_used(struct ctx *c, uint16_t want)
{
	uint64_t end = now_ns() + t_hang_ms() * 1000000ULL;

	do {
		if (gdrv_used_idx(&c->b->drv, 0) == want)
			return true;
		usleep(1000);
	} while (now_ns() < end);
	return false;
}

/* ---- another vCPU ------------------------------------------------------- */

/* Register reads and harmless writes from vCPU 1 while the script runs. */
static void *storm(void *arg)
{
	struct ctx *c = arg;
	struct gdrv_bus *bus = &c->storm_bus.bus;
	static const uint32_t reads[] = { VIRTIO_MMIO_STATUS,
					  VIRTIO_MMIO_INTERRUPT_STATUS,
					  VIRTIO_MMIO_QUEUE_READY,
					  VIRTIO_MMIO_CONFIG_GENERATION,
					  VIRTIO_MMIO_CONFIG };

	while (!c->storm_stop && !c->storm_bus.err) {
		for (unsigned int i = 0; i < 5; i++)
			bus->read(bus->opaque, reads[i], 4);
		bus->write(bus->opaque, VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0);
		bus->write(bus->opaque, VIRTIO_MMIO_INTERRUPT_ACK, 4, 0);
		c->storm_n += 7;
	}
	return NULL;
}

static void storm_start(struct ctx *c)
{
	struct script_dev *d = c->dev;

	simbus_init(&c->storm_bus, d->sim, d->domid, d->vcpu + 1, d->base);
	c->storm_stop = false;
	c->storm_n = 0;
	c->storming = !pthread_create(&c->storm, NULL, storm, c);
}

static void storm_end(struct ctx *c)
{
	if (!c->storming)
		return;
	/* A storm that has not run yet is no storm: on a busy host its
	 * thread may not have been scheduled; give it up to the hang bound. */
	T_WAIT(c->storm_n || c->storm_bus.err);
	c->storm_stop = true;
	pthread_join(c->storm, NULL);
	c->storming = false;
	/* Answered at all is the check; how fast is the scheduler's. */
	result(c, !c->storm_bus.err && c->storm_n,
	       "%llu accesses from vCPU %u meanwhile, all answered (measured: slowest %.1f ms)",
	       (unsigned long long)c->storm_n, c->dev->vcpu + 1,
	       c->storm_bus.max_ns / 1e6);
}

/* ---- the commands -------------------------------------------------------- */

/*
 * One line of a script: its arguments after the name, as numbers (v[1] is
 * the first; v[0] and absent ones read 0), and as words for `storm`.
 */
struct args {
	uint64_t v[MAX_ARGS];
	char **av;
};

/* What a command needs before it may run. */
enum need {
	NEED_NOTHING,
	NEED_UP,    /* set up, through the driver or raw */
	NEED_SLOTS, /* set up by the driver: it has request slots */
};

/*
 * A command: its name, how many arguments it takes, the one it bounds (1
 * on: v[bounded] <= bound, or the line does not parse), whether they are
 * words rather than numbers, what it needs and what it does. A handler
 * returns 0, -EINVAL for a line that does not parse, or -errno to stop.
 */
struct cmd {
	const char *name;
	unsigned int min_args, max_args;
	unsigned int bounded;
	uint64_t bound;
	bool words;
	enum need need;
	int (*run)(struct ctx *c, const struct args *a);
};

static int cmd_up(struct ctx *c, const struct args *a)
{
	result(c, !up(c), "probe, negotiate, queue 0, DRIVER_OK");
	return 0;
}

static int cmd_up_raw(struct ctx *c, const struct args *a)
{
	result(c, !up_raw(c, a->v[1], a->v[2]),
	       "queue 0 of %llu, features 0x%llx, DRIVER_OK",
	       (unsigned long long)a->v[1], (unsigned long long)a->v[2]);
	return 0;
}

static int cmd_reset(struct ctx *c, const struct args *a)
{
	reset(c);
	return 0;
}

static int cmd_vcpu(struct ctx *c, const struct args *a)
{
	if (a->v[1] >= c->dev->nr_vcpus)
		return -EINVAL;
	c->dev->vcpu = a->v[1];
	c->b->sb.vcpu = a->v[1];
	return 0;
}

static int cmd_desc(struct ctx *c, const struct args *a)
{
	const uint64_t *v = a->v;

	gdrv_raw_desc(&c->b->drv, 0, v[1], v[2], v[3], v[4], v[5]);
	return 0;
}

static int cmd_table(struct ctx *c, const struct args *a)
{
	const uint64_t *v = a->v;

	gdrv_raw_table(&c->b->drv, v[1], v[2], v[3], v[4], v[5], v[6]);
	return 0;
}

/* An indirect table of v[2] entries chained by NEXT. */
static int cmd_chain(struct ctx *c, const struct args *a)
{
	const uint64_t *v = a->v;

	for (uint64_t k = 0; k < v[2]; k++)
		gdrv_raw_table(&c->b->drv, v[1], k, v[3], v[4],
			       v[5] | (k + 1 < v[2] ? 1 : 0), k + 1);
	return 0;
}

static int cmd_negotiate(struct ctx *c, const struct args *a)
{
	c->last = negotiate(c, a->v[1]);
	return 0;
}

static int cmd_queue(struct ctx *c, const struct args *a)
{
	c->last = queue(c, a->v);
	return 0;
}

static int cmd_wused(struct ctx *c, const struct args *a)
{
	result(c, wait_used(c, a->v[1]), "used idx reaches %llu",
	       (unsigned long long)a->v[1]);
	return 0;
}

static int cmd_publish(struct ctx *c, const struct args *a)
{
	gdrv_raw_publish(&c->b->drv, 0, a->v[1]);
	return 0;
}

static int cmd_ring(struct ctx *c, const struct args *a)
{
	gdrv_raw_avail(&c->b->drv, 0, a->v[1], a->v[2]);
	return 0;
}

static int cmd_avail(struct ctx *c, const struct args *a)
{
	gdrv_raw_avail_idx(&c->b->drv, 0, a->v[1]);
	return 0;
}

static int cmd_used(struct ctx *c, const struct args *a)
{
	c->last = gdrv_used_idx(&c->b->drv, 0);
	return 0;
}

static int cmd_kick(struct ctx *c, const struct args *a)
{
	wr(c, VIRTIO_MMIO_QUEUE_NOTIFY, 4, a->v[1]);
	return 0;
}

static int cmd_read(struct ctx *c, const struct args *a)
{
	c->last = rd(c, a->v[1], a->v[2]);
	return 0;
}

static int cmd_write(struct ctx *c, const struct args *a)
{
	wr(c, a->v[1], a->v[2], a->v[3]);
	return 0;
}

static int cmd_poke(struct ctx *c, const struct args *a)
{
	fg_write(c->dev->fg, a->v[1], &a->v[3], a->v[2]);
	return 0;
}

static int cmd_peek(struct ctx *c, const struct args *a)
{
	c->last = 0;
	fg_read(c->dev->fg, a->v[1], &c->last, a->v[2]);
	return 0;
}

static int cmd_fill(struct ctx *c, const struct args *a)
{
	uint8_t *p = fg_ptr(c->dev->fg, a->v[1], a->v[2]);

	if (!p)
		return -EINVAL;
	memset(p, (int)a->v[3], a->v[2]);
	return 0;
}

static int cmd_hdr(struct ctx *c, const struct args *a)
{
	struct virtio_blk_outhdr h = { .type = htole32(a->v[2]),
				       .sector = htole64(a->v[3]) };

	fg_write(c->dev->fg, a->v[1], &h, sizeof(h));
	return 0;
}

static int cmd_irq(struct ctx *c, const struct args *a)
{
	struct script_dev *d = c->dev;

	result(c, !xsim_irq_wait(d->sim, d->domid, d->spi, (int)t_hang_ms()),
	       "an interrupt");
	return 0;
}

static int cmd_noirq(struct ctx *c, const struct args *a)
{
	struct script_dev *d = c->dev;
	result(c,
	       xsim_irq_wait(d->sim, d->domid, d->spi, a->v[1]) == -ETIMEDOUT,
	       "no interrupt for %llu ms", (unsigned long long)a->v[1]);
	return 0;
}

static int cmd_expect(struct ctx *c, const struct args *a)
{
	result(c, (c->last & a->v[1]) == a->v[2], "0x%llx & 0x%llx == 0x%llx",
	       (unsigned long long)c->last, (unsigned long long)a->v[1],
	       (unsigned long long)a->v[2]);
	return 0;
}

static int cmd_save(struct ctx *c, const struct args *a)
{
	c->saved = c->last;
	return 0;
}

static int cmd_same(struct ctx *c, const struct args *a)
{
	result(c, c->last == c->saved, "0x%llx unchanged (0x%llx)",
	       (unsigned long long)c->saved, (unsigned long long)c->last);
	return 0;
}

static int cmd_canary(struct ctx *c, const struct args *a)
{
	result(c, canary(c), "a verified write, flush and read");
	return 0;
}

static int cmd_flood(struct ctx *c, const struct args *a)
{
	result(c, flood(c, a->v[1]), "%llu writes in flight",
	       (unsigned long long)a->v[1]);
	return 0;
}

static int cmd_still(struct ctx *c, const struct args *a)
{
	result(c, still(c, a->v[1]),
	       "old used ring and %u status bytes untouched for %llu ms after the reset",
	       c->nr_old, (unsigned long long)a->v[1]);
	return 0;
}

static int cmd_storm(struct ctx *c, const struct args *a)
{
	if (!strcmp(a->av[1], "stop")) {
		storm_end(c);
		return 0;
	}
	if (strcmp(a->av[1], "start") || c->dev->vcpu + 1 >= c->dev->nr_vcpus)
		return -EINVAL;
	storm_start(c);
	return 0;
}

static int cmd_sleep(struct ctx *c, const struct args *a)
{
	usleep(a->v[1] * 1000);
	return 0;
}

/*
 * For the test that proves the liveness check can fail: the worker
 * stopped, continued @MS ms later by a thread.
 */
static int cmd_stallworker(struct ctx *c, const struct args *a)
{
	return stall_worker(c->worker, a->v[1]) ? -EIO : 0;
}

/*
 * For the test that proves the universal checks can fail: returns once the
 * kernel has taken it down.
 */
static int cmd_killworker(struct ctx *c, const struct args *a)
{
	uint64_t end = t_now_ms() + t_hang_ms();

	if (c->worker > 0 && !kill(c->worker, SIGKILL))
		while (t_proc_alive(c->worker) && t_now_ms() < end)
			usleep(10000);
	return 0;
}

/* The language of docs/testing.md; a name may take two lines of arity. */
static const struct cmd cmds[] = {
	{ "up", 0, 0, .run = cmd_up },
	{ "up", 1, 2, .run = cmd_up_raw },
	{ "reset", 0, 0, .run = cmd_reset },
	{ "vcpu", 1, 1, .run = cmd_vcpu },
	{ "desc", 5, 5, .need = NEED_UP, .run = cmd_desc },
	{ "table", 6, 6, .run = cmd_table },
	{ "chain", 5, 5, .run = cmd_chain },
	{ "negotiate", 1, 1, .run = cmd_negotiate },
	{ "queue", 4, 4, .run = cmd_queue },
	{ "wused", 1, 1, .need = NEED_UP, .run = cmd_wused },
	{ "publish", 1, 1, .need = NEED_UP, .run = cmd_publish },
	{ "ring", 2, 2, .need = NEED_UP, .run = cmd_ring },
	{ "avail", 1, 1, .need = NEED_UP, .run = cmd_avail },
	{ "used", 0, 0, .need = NEED_UP, .run = cmd_used },
	{ "kick", 0, 1, .run = cmd_kick },
	{ "read", 2, 2, .run = cmd_read },
	{ "write", 3, 3, .run = cmd_write },
	{ "poke", 3, 3, .bounded = 2, .bound = 8, .run = cmd_poke },
	{ "peek", 2, 2, .bounded = 2, .bound = 8, .run = cmd_peek },
	{ "fill", 3, 3, .run = cmd_fill },
	{ "hdr", 3, 3, .run = cmd_hdr },
	{ "irq", 0, 0, .run = cmd_irq },
	{ "noirq", 1, 1, .run = cmd_noirq },
	{ "expect", 2, 2, .run = cmd_expect },
	{ "save", 0, 0, .run = cmd_save },
	{ "same", 0, 0, .run = cmd_same },
	{ "canary", 0, 0, .need = NEED_SLOTS, .run = cmd_canary },
	{ "flood", 1, 1, .bounded = 1, .bound = MAX_FLOOD, .need = NEED_SLOTS,
	  .run = cmd_flood },
	{ "still", 1, 1, .run = cmd_still },
	{ "storm", 1, 1, .words = true, .run = cmd_storm },
	{ "sleep", 1, 1, .run = cmd_sleep },
	{ "stallworker", 1, 1, .bounded = 1, .bound = 600000,
	  .run = cmd_stallworker },
	{ "killworker", 0, 0, .run = cmd_killworker },
};

/* The command named @name that takes @n arguments, or NULL. */
static const struct cmd *find_cmd(const char *name, unsigned int n)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name) && n >= cmds[i].min_args &&
		    n <= cmds[i].max_args)
			return &cmds[i];
	return NULL;
}

/* Reads @cmd's @ac - 1 arguments into @a. Returns 0 or -EINVAL. */
static int parse_args(struct ctx *c, const struct cmd *cmd, char **av, int ac,
		      struct args *a)
{
	*a = (struct args){ .av = av };
	for (int i = 1; i < ac && !cmd->words; i++)
		if (value(c, av[i], &a->v[i]))
			return -EINVAL;
	if (cmd->bounded && a->v[cmd->bounded] > cmd->bound)
		return -EINVAL;
	return 0;
}

/*
 * Runs one line, @ac words in @av. Returns 0, -EINVAL if it does not parse,
 * -EIO once an access went unanswered (the script stops), or another -errno.
 */
static int step(struct ctx *c, char **av, int ac)
{
	const struct cmd *cmd = find_cmd(av[0], ac - 1);
	struct args a;
	int rc;

	if (!cmd || parse_args(c, cmd, av, ac, &a))
		return -EINVAL;
	if (cmd->need != NEED_NOTHING && need_up(c, cmd->need == NEED_SLOTS))
		return 0;
	rc = cmd->run(c, &a);
	if (rc)
		return rc;
	if (c->b->sb.err) {
		result(c, false, "an MMIO access was not answered");
		return -EIO;
	}
	return 0;
}

/* ---- after the last line ------------------------------------------------ */

/* The worker that served the script is still the live one. Returns it. */
static pid_t universal_alive(struct ctx *c)
{
	pid_t now = find_worker(c);
	result(c, c->worker > 0 && now == c->worker,
	       "universal: the worker that served the script is alive (pid %d, now %d)",
	       (int)c->worker, (int)now);
	return now;
}

/*
 * Every access of the script's own vCPU was answered: one not answered
 * within the hang bound set sb.err. The storm's were checked at its end.
 */
static void universal_answered(struct ctx *c)
{
	tally(c, &c->b->sb);
	c->b->sb.nr = c->b->sb.max_ns = 0;
	result(c, !c->b->sb.err,
	       "universal: %llu accesses answered (hang bound %u ms; measured: slowest %.1f ms)",
	       (unsigned long long)c->nr_access, t_hang_ms(), c->max_ns / 1e6);
}

/* A reset brings back a device that works, and worker @now leaked nothing. */
static void universal_reset(struct ctx *c, pid_t now)
{
	int fds;

	reset(c);
	if (up(c)) {
		result(c, false, "universal: set up again after a reset");
		return;
	}
	result(c, canary(c),
	       "universal: after a reset, a verified write, flush and read");
	fds = t_count_fds(now);
	result(c, fds == c->worker_fds,
	       "universal: the worker holds %d descriptors, as at the start (%d)",
	       fds, c->worker_fds);
}

static void universal(struct ctx *c)
{
	pid_t now;

	storm_end(c);
	c->line = 0;
	now = universal_alive(c);
	universal_answered(c);
	universal_reset(c, now);
}

/* ---- the script ---------------------------------------------------------- */

/*
 * Splits a line into words, '#' to its end a comment. Returns how many
 * (MAX_ARGS + 1 if there are more than MAX_ARGS).
 */
static int split_line(char *buf, char **av)
{
	char *hash = strchr(buf, '#'), *save;
	int ac = 0;

	if (hash)
		*hash = '\0';
	for (char *t = strtok_r(buf, " \t\n", &save); t && ac <= MAX_ARGS;
	     t = strtok_r(NULL, " \t\n", &save))
		av[ac++] = t;
	return ac;
}

/* Registers reachable before any setup, and the worker as it starts. */
static void begin(struct ctx *c)
{
	struct script_dev *dev = c->dev;

	if (!dev->nr_vcpus)
		dev->nr_vcpus = count_vcpus(dev);
	simbus_init(&c->b->sb, dev->sim, dev->domid, dev->vcpu, dev->base);
	gdrv_init_bus(&c->b->drv, &c->b->sb.bus, dev->fg);
	fresh_ram(c);
	/* The guest's disk is served: its worker exists from the start. */
	c->worker = find_worker(c);
	c->worker_fds = t_count_fds(c->worker);
}

/*
 * Runs the lines of @f, counting one that does not parse as a failure.
 * Returns 0 at the end, or what stopped it (-EINVAL, -EIO, -errno).
 */
static int run_lines(struct ctx *c, FILE *f)
{
	char buf[256], *av[MAX_ARGS + 1];
	int ac, rc = 0;

	while (!rc && fgets(buf, sizeof(buf), f)) {
		c->line++;
		ac = split_line(buf, av);
		if (!ac)
			continue;
		rc = ac > MAX_ARGS ? -EINVAL : step(c, av, ac);
		if (rc == -EINVAL) {
			fprintf(stderr, "xvb-sim: %s:%u: cannot parse '%s'\n",
				c->file, c->line, av[0]);
			c->fail++;
		}
	}
	return rc;
}

int script_run(struct script_dev *dev, const char *path)
{
	struct blkdrv b = { 0 };
	struct ctx c = { .dev = dev, .b = &b, .file = path };
	FILE *f = fopen(path, "r");
	int rc;

	if (!f) {
		rc = -errno;
		fprintf(stderr, "xvb-sim: %s: %s\n", path, strerror(-rc));
		return rc;
	}
	begin(&c);
	rc = run_lines(&c, f);
	fclose(f);
	if (!rc)
		universal(&c);
	else
		storm_end(&c);
	reset(&c);
	return c.fail ? -EPROTO : 0;
}
