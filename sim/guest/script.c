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

static void result(struct ctx *c, bool pass, const char *what)
{
	printf("%s %s:%u: %s\n", pass ? "ok" : "FAIL", c->file, c->line, what);
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

/* The parent of @pid, or -1 if it is gone or a zombie (killed, not reaped). */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p, state = 'X';
	int ppid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 1, " %c %d", &state, &ppid);
	fclose(f);
	return state == 'Z' || state == 'X' ? -1 : ppid;
}

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

/* xvbd's live worker: a child of the supervisor, which is a child of ours. */
static pid_t find_worker(void)
{
	struct dirent *e;
	pid_t found = -1;
	DIR *d = opendir("/proc");

	while (d && (e = readdir(d)) && found < 0) {
		pid_t pid, ppid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = atoi(e->d_name);
		ppid = parent_of(pid);
		if (ppid > 0 && ppid != getpid() && parent_of(ppid) == getpid())
			found = pid;
	}
	if (d)
		closedir(d);
	return found;
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
	char what[160];

	if (!c->storming)
		return;
	/* A storm that has not run yet is no storm: on a busy host its
	 * thread may not have been scheduled; give it up to the hang bound. */
	T_WAIT(c->storm_n || c->storm_bus.err);
	c->storm_stop = true;
	pthread_join(c->storm, NULL);
	c->storming = false;
	/* Answered at all is the check; how fast is the scheduler's. */
	snprintf(
		what, sizeof(what),
		"%llu accesses from vCPU %u meanwhile, all answered (measured: slowest %.1f ms)",
		(unsigned long long)c->storm_n, c->dev->vcpu + 1,
		c->storm_bus.max_ns / 1e6);
	result(c, !c->storm_bus.err && c->storm_n, what);
}

/* ---- the commands -------------------------------------------------------- */

static int step(struct ctx *c, char **av, int ac)
{
	struct gdrv *g = &c->b->drv;
	struct script_dev *d = c->dev;
	uint64_t v[MAX_ARGS] = { 0 };
	const char *cmd = av[0];
	char what[160];
	int i;

	for (i = 1; i < ac; i++)
		if (strcmp(av[i], "start") && strcmp(av[i], "stop") &&
		    value(c, av[i], &v[i]))
			return -EINVAL;
	if (!strcmp(cmd, "up") && ac == 1) {
		result(c, !up(c), "probe, negotiate, queue 0, DRIVER_OK");
	} else if (!strcmp(cmd, "up") && (ac == 2 || ac == 3)) {
		snprintf(what, sizeof(what),
			 "queue 0 of %llu, features 0x%llx, DRIVER_OK",
			 (unsigned long long)v[1], (unsigned long long)v[2]);
		result(c, !up_raw(c, v[1], v[2]), what);
	} else if (!strcmp(cmd, "reset") && ac == 1) {
		reset(c);
	} else if (!strcmp(cmd, "vcpu") && ac == 2) {
		if (v[1] >= d->nr_vcpus)
			return -EINVAL;
		d->vcpu = v[1];
		c->b->sb.vcpu = v[1];
	} else if (!strcmp(cmd, "desc") && ac == 6) {
		if (need_up(c, false))
			return 0;
		gdrv_raw_desc(g, 0, v[1], v[2], v[3], v[4], v[5]);
	} else if (!strcmp(cmd, "table") && ac == 7) {
		gdrv_raw_table(g, v[1], v[2], v[3], v[4], v[5], v[6]);
	} else if (!strcmp(cmd, "chain") && ac == 6) {
		/* An indirect table of v[2] entries chained by NEXT. */
		for (uint64_t k = 0; k < v[2]; k++)
			gdrv_raw_table(g, v[1], k, v[3], v[4],
				       v[5] | (k + 1 < v[2] ? 1 : 0), k + 1);
	} else if (!strcmp(cmd, "negotiate") && ac == 2) {
		c->last = negotiate(c, v[1]);
	} else if (!strcmp(cmd, "queue") && ac == 5) {
		c->last = queue(c, v);
	} else if (!strcmp(cmd, "wused") && ac == 2) {
		if (need_up(c, false))
			return 0;
		snprintf(what, sizeof(what), "used idx reaches %llu",
			 (unsigned long long)v[1]);
		result(c, wait_used(c, v[1]), what);
	} else if (!strcmp(cmd, "publish") && ac == 2) {
		if (need_up(c, false))
			return 0;
		gdrv_raw_publish(g, 0, v[1]);
	} else if (!strcmp(cmd, "ring") && ac == 3) {
		if (need_up(c, false))
			return 0;
		gdrv_raw_avail(g, 0, v[1], v[2]);
	} else if (!strcmp(cmd, "avail") && ac == 2) {
		if (need_up(c, false))
			return 0;
		gdrv_raw_avail_idx(g, 0, v[1]);
	} else if (!strcmp(cmd, "used") && ac == 1) {
		if (need_up(c, false))
			return 0;
		c->last = gdrv_used_idx(g, 0);
	} else if (!strcmp(cmd, "kick") && ac <= 2) {
		wr(c, VIRTIO_MMIO_QUEUE_NOTIFY, 4, v[1]);
	} else if (!strcmp(cmd, "read") && ac == 3) {
		c->last = rd(c, v[1], v[2]);
	} else if (!strcmp(cmd, "write") && ac == 4) {
		wr(c, v[1], v[2], v[3]);
	} else if (!strcmp(cmd, "poke") && ac == 4 && v[2] <= 8) {
		fg_write(d->fg, v[1], &v[3], v[2]);
	} else if (!strcmp(cmd, "peek") && ac == 3 && v[2] <= 8) {
		c->last = 0;
		fg_read(d->fg, v[1], &c->last, v[2]);
	} else if (!strcmp(cmd, "fill") && ac == 4) {
		uint8_t *p = fg_ptr(d->fg, v[1], v[2]);

		if (!p)
			return -EINVAL;
		memset(p, (int)v[3], v[2]);
	} else if (!strcmp(cmd, "hdr") && ac == 4) {
		struct virtio_blk_outhdr h = { .type = htole32(v[2]),
					       .sector = htole64(v[3]) };

		fg_write(d->fg, v[1], &h, sizeof(h));
	} else if (!strcmp(cmd, "irq") && ac == 1) {
		result(c,
		       !xsim_irq_wait(d->sim, d->domid, d->spi,
				      (int)t_hang_ms()),
		       "an interrupt");
	} else if (!strcmp(cmd, "noirq") && ac == 2) {
		snprintf(what, sizeof(what), "no interrupt for %llu ms",
			 (unsigned long long)v[1]);
		result(c,
		       xsim_irq_wait(d->sim, d->domid, d->spi, v[1]) ==
			       -ETIMEDOUT,
		       what);
	} else if (!strcmp(cmd, "expect") && ac == 3) {
		snprintf(what, sizeof(what), "0x%llx & 0x%llx == 0x%llx",
			 (unsigned long long)c->last, (unsigned long long)v[1],
			 (unsigned long long)v[2]);
		result(c, (c->last & v[1]) == v[2], what);
	} else if (!strcmp(cmd, "save") && ac == 1) {
		c->saved = c->last;
	} else if (!strcmp(cmd, "same") && ac == 1) {
		snprintf(what, sizeof(what), "0x%llx unchanged (0x%llx)",
			 (unsigned long long)c->saved,
			 (unsigned long long)c->last);
		result(c, c->last == c->saved, what);
	} else if (!strcmp(cmd, "canary") && ac == 1) {
		if (need_up(c, true))
			return 0;
		result(c, canary(c), "a verified write, flush and read");
	} else if (!strcmp(cmd, "flood") && ac == 2 && v[1] <= MAX_FLOOD) {
		if (need_up(c, true))
			return 0;
		snprintf(what, sizeof(what), "%llu writes in flight",
			 (unsigned long long)v[1]);
		result(c, flood(c, v[1]), what);
	} else if (!strcmp(cmd, "still") && ac == 2) {
		snprintf(
			what, sizeof(what),
			"old used ring and %u status bytes untouched for %llu ms after the reset",
			c->nr_old, (unsigned long long)v[1]);
		result(c, still(c, v[1]), what);
	} else if (!strcmp(cmd, "storm") && ac == 2 &&
		   !strcmp(av[1], "start")) {
		if (d->vcpu + 1 >= d->nr_vcpus)
			return -EINVAL;
		storm_start(c);
	} else if (!strcmp(cmd, "storm") && ac == 2 && !strcmp(av[1], "stop")) {
		storm_end(c);
	} else if (!strcmp(cmd, "sleep") && ac == 2) {
		usleep(v[1] * 1000);
	} else if (!strcmp(cmd, "stallworker") && ac == 2 && v[1] <= 600000) {
		/* For the test that proves the liveness check can fail: the
		 * worker stopped, continued @MS ms later by a thread. */
		if (stall_worker(c->worker, v[1]))
			return -EIO;
	} else if (!strcmp(cmd, "killworker") && ac == 1) {
		/* For the test that proves the universal checks can fail:
		 * returns once the kernel has taken it down. */
		uint64_t end = t_now_ms() + t_hang_ms();

		if (c->worker > 0 && !kill(c->worker, SIGKILL))
			while (parent_of(c->worker) > 0 && t_now_ms() < end)
				usleep(10000);
	} else {
		return -EINVAL;
	}
	if (c->b->sb.err) {
		result(c, false, "an MMIO access was not answered");
		return -EIO;
	}
	return 0;
}

/* ---- after the last line ------------------------------------------------ */

static void universal(struct ctx *c)
{
	char what[200];
	pid_t now;
	int fds;

	storm_end(c);
	c->line = 0;
	now = find_worker();
	snprintf(
		what, sizeof(what),
		"universal: the worker that served the script is alive (pid %d, now %d)",
		(int)c->worker, (int)now);
	result(c, c->worker > 0 && now == c->worker, what);
	/* The script's own vCPU: the storm's were checked at its end. An
	 * access not answered within the hang bound set sb.err. */
	tally(c, &c->b->sb);
	c->b->sb.nr = c->b->sb.max_ns = 0;
	snprintf(
		what, sizeof(what),
		"universal: %llu accesses answered (hang bound %u ms; measured: slowest %.1f ms)",
		(unsigned long long)c->nr_access, t_hang_ms(), c->max_ns / 1e6);
	result(c, !c->b->sb.err, what);
	reset(c);
	if (up(c)) {
		result(c, false, "universal: set up again after a reset");
		return;
	}
	result(c, canary(c),
	       "universal: after a reset, a verified write, flush and read");
	fds = t_count_fds(now);
	snprintf(
		what, sizeof(what),
		"universal: the worker holds %d descriptors, as at the start (%d)",
		fds, c->worker_fds);
	result(c, fds == c->worker_fds, what);
}

int script_run(struct script_dev *dev, const char *path)
{
	struct blkdrv b = { 0 };
	struct ctx c = { .dev = dev, .b = &b, .file = path };
	char buf[256], *av[MAX_ARGS + 1], *save;
	FILE *f = fopen(path, "r");
	int ac, rc = 0;

	if (!f) {
		fprintf(stderr, "xvb-sim: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (!dev->nr_vcpus)
		dev->nr_vcpus = count_vcpus(dev);
	/* Registers reachable before any setup. */
	simbus_init(&b.sb, dev->sim, dev->domid, dev->vcpu, dev->base);
	gdrv_init_bus(&b.drv, &b.sb.bus, dev->fg);
	fresh_ram(&c);
	/* The guest's disk is served: its worker exists from the start. */
	c.worker = find_worker();
	c.worker_fds = t_count_fds(c.worker);
	while (!rc && fgets(buf, sizeof(buf), f)) {
		char *hash = strchr(buf, '#');

		c.line++;
		if (hash)
			*hash = '\0';
		ac = 0;
		for (char *t = strtok_r(buf, " \t\n", &save);
		     t && ac <= MAX_ARGS; t = strtok_r(NULL, " \t\n", &save))
			av[ac++] = t;
		if (!ac)
			continue;
		rc = ac > MAX_ARGS ? -EINVAL : step(&c, av, ac);
		if (rc == -EINVAL) {
			fprintf(stderr, "xvb-sim: %s:%u: cannot parse '%s'\n",
				path, c.line, av[0]);
			c.fail++;
		}
	}
	fclose(f);
	if (!rc)
		universal(&c);
	else
		storm_end(&c);
	reset(&c);
	return c.fail ? -EPROTO : 0;
}
