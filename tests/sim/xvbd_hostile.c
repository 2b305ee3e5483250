// SPDX-License-Identifier: MIT
/*
 * Hostile guests and faults against the real xvbd under the simulator, for
 * what a script cannot express: several vCPUs at once, a guest rewriting
 * its rings while xvbd reads them, other guests that must not notice, a
 * worker killed mid-I/O with a data-integrity oracle, a hundred guests
 * destroyed mid-I/O, a xenstore watch storm, a read-only disk, and a NIC
 * fed hostile frames. After each: the worker that served the guest is the
 * same process, every access was answered, a reset brings the device back,
 * and once the guest is gone nothing stays mapped, bound or open.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <net/if.h>

#include "blkdrv.h"
#include "hang.h"
#include "procfs.h"
#include "t.h"
#include "xvbd_rig.h"

#define RAM (64ULL << 20)
#define TMO_MS ((int)t_hang_ms())
#define IMG_BYTES (16ULL << 20)
#define BLOCK 4096u

/* ---- xvbd and the simulator -------------------------------------------- */

static int start(void)
{
	const struct rig_opts o = { .tag = "hostile",
				    .libxl_ms = TMO_MS,
				    .guest_ram = RAM,
				    .image_bytes = IMG_BYTES };

	return rig_start(&o);
}

/* ---- processes ----------------------------------------------------------- */

static int proc_field(pid_t pid, const char *file, const char *key,
		      long long *v)
{
	char path[64], line[256];
	size_t n = strlen(key);
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (rc && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n))
			rc = sscanf(line + n, "%lld", v) == 1 ? 0 : -1;
	fclose(f);
	return rc;
}

/*
 * Memory growth allowed, in KiB. Under ASan (tests/san/run sets
 * ASAN_OPTIONS) freed memory waits in a quarantine of up to 256 MiB, so RSS
 * grows with any allocation, leaked or not: no bound there, LeakSanitizer
 * checks xvbd for leaks when it exits instead.
 */
static long long rss_slack_kb(long long kb)
{
	return getenv("ASAN_OPTIONS") ? 1LL << 40 : kb;
}

static long long rss_kb(pid_t pid)
{
	long long v = -1;

	proc_field(pid, "status", "VmRSS:", &v);
	return v;
}

/* ---- a guest's disk ------------------------------------------------------ */

/* A verified write, flush and read of block @blk. */
static int canary(struct blkdrv *b, uint64_t blk, uint32_t seed)
{
	struct blkreq *r;

	T_CHECK(!blkdrv_sync(b, VIRTIO_BLK_T_OUT, blk * 8, BLOCK, seed, NULL));
	T_CHECK(!blkdrv_sync(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL));
	T_CHECK(!blkdrv_sync(b, VIRTIO_BLK_T_IN, blk * 8, BLOCK, 0, &r));
	T_CHECK(blkdrv_data_is(b, r, seed));
	return 0;
}

/* Fresh driver on the same RAM (after a reset or a hostile phase). */
static int recover(struct hguest *g)
{
	blkdrv_down(&g->b);
	fg_alloc_reset(g->fg);
	T_CHECK(!hguest_drv(g, 8));
	return canary(&g->b, 3, 0xfeed);
}

struct verify {
	struct blkdrv *b;
	unsigned int rounds;
	unsigned int bad, done;
	int rc;
};

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)*s;
}

/* Random verified writes and reads of 4 KiB blocks, @rounds of them. */
static void *verify_io(void *arg)
{
	struct verify *v = arg;
	uint64_t seed = 0x1234567 + v->rounds;
	struct blkreq *r;

	for (unsigned int i = 0; i < v->rounds; i++) {
		uint64_t blk = 16 + rnd(&seed) % (IMG_BYTES / BLOCK - 16);
		uint32_t s = rnd(&seed) | 1;

		if (blkdrv_sync(v->b, VIRTIO_BLK_T_OUT, blk * 8, BLOCK, s,
				NULL) ||
		    blkdrv_sync(v->b, VIRTIO_BLK_T_IN, blk * 8, BLOCK, 0, &r)) {
			v->rc = v->b->sb.err ? v->b->sb.err : -EIO;
			return NULL;
		}
		v->bad += !blkdrv_data_is(v->b, r, s);
		v->done++;
	}
	return NULL;
}

/* ---- other vCPUs --------------------------------------------------------- */

struct storm {
	uint32_t domid;
	unsigned int vcpu;
	uint64_t base;
	bool notify; /* QueueNotify as fast as possible */
	bool *stop;
	uint64_t n;
	uint64_t max_ms; /* the slowest access */
	int err;
	bool running;
	pthread_t th;
};

/* At most 4 storming vCPUs; STORMS_SCOPED stops them on any way out. */
#define NR_STORMS 4
static void storms_cleanup(struct storm (*s)[NR_STORMS])
{
	for (unsigned int i = 0; i < NR_STORMS; i++) {
		if (!(*s)[i].running)
			continue;
		__atomic_store_n((*s)[i].stop, true, __ATOMIC_RELAXED);
		pthread_join((*s)[i].th, NULL);
		(*s)[i].running = false;
	}
}
#define STORMS_SCOPED __attribute__((cleanup(storms_cleanup)))

/* Register reads (and notifies) without pause until told to stop. */
static void *storm_run(void *arg)
{
	static const uint32_t regs[] = {
		VIRTIO_MMIO_MAGIC_VALUE,       VIRTIO_MMIO_STATUS,
		VIRTIO_MMIO_INTERRUPT_STATUS,  VIRTIO_MMIO_QUEUE_READY,
		VIRTIO_MMIO_CONFIG_GENERATION, VIRTIO_MMIO_CONFIG,
		VIRTIO_MMIO_DEVICE_FEATURES,   VIRTIO_MMIO_QUEUE_NUM_MAX,
	};
	struct storm *s = arg;
	uint64_t v, t0, ms;

	while (!__atomic_load_n(s->stop, __ATOMIC_RELAXED) && !s->err) {
		for (unsigned int i = 0; i < ARRAY_SIZE(regs) && !s->err; i++) {
			t0 = rig_now_ms();
			if (s->notify)
				s->err = xsim_mmio_write(
					sim, s->domid, s->vcpu,
					s->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4,
					0, TMO_MS);
			else
				s->err = xsim_mmio_read(sim, s->domid, s->vcpu,
							s->base + regs[i], 4,
							&v, TMO_MS);
			ms = rig_now_ms() - t0;
			if (ms > s->max_ms)
				s->max_ms = ms;
			s->n++;
		}
	}
	return NULL;
}

static void storms_start(struct storm *s, unsigned int n, uint32_t domid,
			 unsigned int first_vcpu, uint64_t base, bool notify,
			 bool *stop)
{
	for (unsigned int i = 0; i < n; i++) {
		s[i] = (struct storm){ .domid = domid,
				       .vcpu = first_vcpu + i,
				       .base = base,
				       .notify = notify,
				       .stop = stop };
		s[i].running =
			!pthread_create(&s[i].th, NULL, storm_run, &s[i]);
	}
}

static int storms_stop(struct storm *s, unsigned int n, bool *stop)
{
	int err = 0;

	/* Every vCPU gets going, however late its thread was scheduled. */
	for (unsigned int i = 0; i < n; i++)
		T_WAIT_US(__atomic_load_n(&s[i].n, __ATOMIC_RELAXED) ||
				  s[i].err,
			  10000);
	__atomic_store_n(stop, true, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < n; i++) {
		if (!s[i].running)
			return -EAGAIN;
		pthread_join(s[i].th, NULL);
		s[i].running = false;
		printf("  vCPU %u: %llu accesses (measured: slowest %llu ms)\n",
		       s[i].vcpu, (unsigned long long)s[i].n,
		       (unsigned long long)s[i].max_ms);
		if (s[i].err || !s[i].n)
			err = s[i].err ? s[i].err : -ENODATA;
	}
	return err;
}

/* ---- cases: several vCPUs ------------------------------------------------ */

/*
 * vCPUs 1-3 read every register without pause while vCPU 0 writes and
 * reads back random blocks: all verified, all answered. The I/O goes on
 * (300 blocks at least) until every storming vCPU has had 100 accesses
 * answered during it, however the scheduler shares the cores out.
 */
static void register_storm_during_io(void)
{
	bool halt = false;
	struct storm s[NR_STORMS] STORMS_SCOPED = { 0 };
	struct verify v = { .rounds = 300 };
	struct hguest g HGUEST_SCOPED = { 0 };
	unsigned int done = 0;
	uint64_t n0[3], end;

	T_ASSERT(!start());
	T_ASSERT(!hguest_up(&g, "a", 1, 4, 8));
	storms_start(s, 3, 1, 1, g.d.base, false, &halt);
	for (unsigned int i = 0; i < 3; i++)
		n0[i] = __atomic_load_n(&s[i].n, __ATOMIC_RELAXED);
	v.b = &g.b;
	end = t_now_ms() + t_hang_ms();
	for (;;) {
		verify_io(&v);
		T_EQ(v.rc, 0);
		T_EQ(v.bad, 0);
		T_EQ(v.done, v.rounds);
		done += v.done;
		v.done = 0;
		v.rounds = 10;
		if (done < 300)
			continue;
		if (__atomic_load_n(&s[0].n, __ATOMIC_RELAXED) >= n0[0] + 100 &&
		    __atomic_load_n(&s[1].n, __ATOMIC_RELAXED) >= n0[1] + 100 &&
		    __atomic_load_n(&s[2].n, __ATOMIC_RELAXED) >= n0[2] + 100)
			break;
		T_ASSERT(t_now_ms() < end); /* hang bound */
	}
	T_EQ(storms_stop(s, 3, &halt), 0);
	printf("  %u blocks verified\n", done);
	T_EQ(rig_worker_of(1), g.w);
	T_ASSERT(!hguest_down(&g));
	T_ASSERT(!rig_finish());
}

/*
 * Every vCPU of guest 1 writes QueueNotify without pause for 2 s while
 * guest 2 does verified I/O. Guest 1's worker stays within one core,
 * guest 2 is served throughout (its I/O completes, none slower than 1 s),
 * and guest 1's disk works afterwards.
 */
static void notify_storm_other_guest_unaffected(void)
{
	bool halt = false;
	struct storm s[NR_STORMS] STORMS_SCOPED = { 0 };
	struct verify v = { .rounds = 100 };
	struct hguest g1 HGUEST_SCOPED = { 0 };
	struct hguest g2 HGUEST_SCOPED = { 0 };
	double c0, c1, t0, t1;

	T_ASSERT(!start());
	T_ASSERT(!hguest_up(&g1, "s1", 1, 4, 8));
	T_ASSERT(!hguest_up(&g2, "s2", 2, 1, 8));
	/* Something to walk: the storm kicks a ring with work in it. */
	for (int i = 0; i < 4; i++)
		T_ASSERT(blkdrv_queue(&g1.b, VIRTIO_BLK_T_IN, i * 8, BLOCK, 0));
	c0 = t_cpu_s(g1.w);
	t0 = rig_now_ms() / 1e3;
	storms_start(s, 4, 1, 0, g1.d.base, true, &halt);
	v.b = &g2.b;
	verify_io(&v);
	while (rig_now_ms() / 1e3 - t0 < 2)
		usleep(10000);
	T_EQ(storms_stop(s, 4, &halt), 0);
	t1 = rig_now_ms() / 1e3;
	c1 = t_cpu_s(g1.w);
	T_EQ(v.rc, 0);
	T_EQ(v.bad, 0);
	/* One core at most (a 10% margin for the clock tick). */
	if (c1 - c0 > (t1 - t0) * 1.1)
		t_fail(__FILE__, __LINE__,
		       "guest 1's worker used %.2f s of CPU in %.2f s", c1 - c0,
		       t1 - t0);
	printf("  notify storm: %llu notifies in %.2f s, worker CPU %.2f s\n",
	       (unsigned long long)(s[0].n + s[1].n + s[2].n + s[3].n), t1 - t0,
	       c1 - c0);
	T_EQ(rig_worker_of(1), g1.w);
	T_ASSERT(!recover(&g1));
	T_ASSERT(!hguest_down(&g1));
	T_ASSERT(!hguest_down(&g2));
	T_ASSERT(!rig_finish());
}

/* A thread of the guest scribbling over its own rings. */
struct scribble {
	struct fakeguest *fg;
	struct gdrv *g;
	uint64_t ind; /* an indirect table the chains use */
	uint64_t hdr; /* the request header */
	bool *stop;
	uint64_t n;
};

static void *scribble_run(void *arg)
{
	struct scribble *s = arg;
	struct gdrv_vq *v = &s->g->vqs[0];
	uint64_t seed = 99;

	while (!__atomic_load_n(s->stop, __ATOMIC_RELAXED)) {
		uint32_t r = rnd(&seed);
		uint16_t i = r % v->num;

		switch ((r >> 8) % 6) {
		case 0: /* a descriptor: loop, out of range, len 0, any */
			gdrv_raw_desc(s->g, 0, i, s->hdr + (r >> 20) % 64,
				      (r >> 12) % 3 ? 16 : 0, (r >> 16) & 7,
				      (r >> 24) % (v->num + 2));
			break;
		case 1: /* an indirect table entry */
			gdrv_raw_table(s->g, s->ind, i, s->hdr, r >> 16,
				       (r >> 4) & 7, (r >> 20) % 10);
			break;
		case 2: /* an avail ring entry */
			gdrv_raw_avail(s->g, 0, i, r >> 16);
			break;
		case 3: /* the header's type and sector */
			fg_write(s->fg, s->hdr, &r, 4);
			fg_write(s->fg, s->hdr + 8, &seed, 8);
			break;
		case 4: /* avail idx, a little ahead */
			WRITE_ONCE(v->avail->idx,
				   htole16(v->avail_idx + (r >> 16) % 3));
			break;
		default: /* the used ring: the device must not read it */
			WRITE_ONCE(v->used->idx, (uint16_t)(r >> 16));
			break;
		}
		s->n++;
	}
	return NULL;
}

/*
 * The guest rewrites descriptors, indirect tables, avail entries, request
 * headers and even the used ring from vCPU 1's thread while vCPU 0 keeps
 * publishing requests and kicking, for 2 s. Whatever xvbd reads it reads
 * once: it completes requests or marks the device NEEDS_RESET, and after a
 * reset the device works. The same worker serves throughout.
 */
static void guest_rewrites_rings_while_read(void)
{
	struct scribble s = { 0 };
	struct hguest g HGUEST_SCOPED = { 0 };
	struct blkdrv *b = &g.b;
	pthread_t th;
	bool halt = false;
	uint64_t end, rounds = 0, nr = 0;
	uint32_t status;
	pid_t w;
	int fds;

	T_ASSERT(!start());
	T_ASSERT(!hguest_up(&g, "r", 1, 2, 8));
	w = g.w;
	fds = t_count_fds(w);
	s = (struct scribble){ .fg = g.fg,
			       .g = &b->drv,
			       .ind = fg_alloc(g.fg, 4096, 4096),
			       .hdr = fg_alloc(g.fg, 4096, 4096),
			       .stop = &halt };
	T_ASSERT(s.ind && s.hdr);
	pthread_create(&th, NULL, scribble_run, &s);
	end = rig_now_ms() + 2000;
	while (rig_now_ms() < end && !b->sb.err) {
		/* A FLUSH chain, direct or indirect, then a kick. */
		uint16_t head = rounds % b->drv.vqs[0].num;

		gdrv_raw_table(&b->drv, s.ind, 0, s.hdr, 16, 1, 1);
		gdrv_raw_table(&b->drv, s.ind, 1, s.hdr + 512, 1, 2, 0);
		if (rounds & 1)
			gdrv_raw_desc(&b->drv, 0, head, s.ind, 32, 4, 0);
		else
			gdrv_raw_desc(&b->drv, 0, head, s.hdr, 16, 0, 0);
		gdrv_raw_publish(&b->drv, 0, head);
		gdrv_write(&b->drv, VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0);
		if (!(rounds % 64)) {
			/* Broken? Reset and set up again, as Linux would. */
			status = gdrv_read(&b->drv, VIRTIO_MMIO_STATUS, 4);
			if (status & VIRTIO_CONFIG_S_NEEDS_RESET) {
				nr++;
				__atomic_store_n(&halt, true, __ATOMIC_RELAXED);
				pthread_join(th, NULL);
				blkdrv_down(b);
				fg_alloc_reset(g.fg);
				T_ASSERT(!hguest_drv(&g, 8));
				halt = false;
				s.g = &b->drv;
				s.ind = fg_alloc(g.fg, 4096, 4096);
				s.hdr = fg_alloc(g.fg, 4096, 4096);
				pthread_create(&th, NULL, scribble_run, &s);
			}
		}
		rounds++;
	}
	__atomic_store_n(&halt, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	T_EQ(b->sb.err, 0);
	printf("  %llu requests published, %llu rewrites, %llu resets\n",
	       (unsigned long long)rounds, (unsigned long long)s.n,
	       (unsigned long long)nr);
	T_EQ(rig_worker_of(1), w);
	T_ASSERT(!recover(&g));
	T_EQ(t_count_fds(w), fds);
	T_ASSERT(!hguest_down(&g));
	T_ASSERT(!rig_finish());
}

/*
 * vCPU 1 resets the device (Status=0) at random moments while vCPU 0 sets
 * it up and starts I/O, for 2 s; then a reset and a verified request.
 */
static void reset_races_io_from_another_vcpu(void)
{
	struct hguest g HGUEST_SCOPED = { 0 };
	struct blkdrv *b = &g.b;
	uint64_t end, seed = 5, resets = 0, ups = 0;
	pid_t w;

	T_ASSERT(!start());
	T_ASSERT(!hguest_up(&g, "z", 1, 2, 8));
	w = g.w;
	end = rig_now_ms() + 2000;
	while (rig_now_ms() < end) {
		for (int i = 0; i < 8; i++)
			blkdrv_queue(b,
				     i & 1 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT,
				     i * 8, BLOCK, i + 1);
		blkdrv_kick(b);
		usleep(rnd(&seed) % 2000);
		T_EQ(xsim_mmio_write(sim, 1, 1, g.d.base + VIRTIO_MMIO_STATUS,
				     4, 0, TMO_MS),
		     0);
		resets++;
		b->sb.err = 0;
		blkdrv_down(b); /* a second Status=0, from vCPU 0 */
		fg_alloc_reset(g.fg);
		/* Not hguest_drv: a set-up the race broke is no failure. */
		if (!blkdrv_up(b, sim, 1, 0, g.d.base, g.d.irq, g.fg, 8, BLOCK))
			ups++;
	}
	T_EQ(b->sb.err, 0);
	printf("  %llu resets from vCPU 1, %llu set-ups\n",
	       (unsigned long long)resets, (unsigned long long)ups);
	T_EQ(rig_worker_of(1), w);
	T_ASSERT(!recover(&g));
	T_ASSERT(!hguest_down(&g));
	T_ASSERT(!rig_finish());
}

/*
 * The guest gives memory back over and over (IOREQ_TYPE_INVALIDATE before
 * the next access of every vCPU) while it does verified I/O: xvbd drops
 * idle mappings, keeps busy ones, and loses nothing.
 */
static void invalidate_storm_during_io(void)
{
	struct verify v = { .rounds = 200 };
	struct hguest g HGUEST_SCOPED = { 0 };
	pthread_t th;
	unsigned int n = 0;

	T_ASSERT(!start());
	T_ASSERT(!hguest_up(&g, "i", 1, 1, 8));
	v.b = &g.b;
	pthread_create(&th, NULL, verify_io, &v);
	while (!__atomic_load_n(&v.done, __ATOMIC_RELAXED) || v.done < 200) {
		if (v.rc)
			break;
		T_EQ(xsim_request_invalidate(sim, 1), 0);
		n++;
		usleep(1000);
	}
	pthread_join(th, NULL);
	T_EQ(v.rc, 0);
	T_EQ(v.bad, 0);
	printf("  %u invalidations during %u verified blocks\n", n, v.done);
	T_ASSERT(!recover(&g));
	T_ASSERT(!hguest_down(&g));
	T_ASSERT(!rig_finish());
}

/* ---- cases: lifecycle and faults --------------------------------------- */

/*
 * A guest destroyed with 256 requests in flight, 100 times in a row (the
 * domain id reused each time): every mapping, port and server released,
 * no worker left behind, the supervisor's descriptors and memory flat.
 */
static void destroy_mid_io_100_times(void)
{
	struct hguest g HGUEST_SCOPED = { 0 };
	long long rss0 = 0, rss1;
	int fds0 = 0, fds1;

	T_ASSERT(!start());
	T_ASSERT(!hguest_image(&g, "m"));
	for (int round = 0; round < 100; round++) {
		rig_disk(&g.d, "xvda", g.img);
		T_ASSERT(!hguest_create(&g, 1, 1));
		T_ASSERT(!hguest_drv(&g, 256));
		for (int i = 0; i < 256; i++)
			T_ASSERT(blkdrv_queue(&g.b,
					      i & 1 ? VIRTIO_BLK_T_IN :
						      VIRTIO_BLK_T_OUT,
					      8 * i, BLOCK, i + 1));
		blkdrv_kick(&g.b);
		T_EQ(xsim_libxl_destroy(sim, 1), 0);
		/* No reset through a dead guest. */
		hguest_cleanup(&g);
		if (round == 9) {
			/* Measured once the first rounds warmed things up. */
			T_ASSERT(!rig_settled());
			T_ASSERT(!rig_no_workers());
			rss0 = rss_kb(xvbd);
			fds0 = t_count_fds(xvbd);
		}
	}
	T_ASSERT(!rig_settled());
	T_ASSERT(!rig_no_workers()); /* exited and reaped */
	rss1 = rss_kb(xvbd);
	fds1 = t_count_fds(xvbd);
	printf("  supervisor: %d -> %d descriptors, %lld -> %lld KiB RSS\n",
	       fds0, fds1, rss0, rss1);
	T_EQ(fds1, fds0);
	T_ASSERT(rss1 - rss0 < rss_slack_kb(2048));
	T_ASSERT(!rig_stop());
}

/* ---- the data-integrity oracle ------------------------------------------ */

#define ORACLE_BLOCKS 512u
#define ORACLE_BATCH 32u
#define ORACLE_MAX 256u /* writes remembered per block */

/*
 * Per block: the seeds written, in order, and how many of them were
 * acknowledged before a FLUSH that completed. Seeds encode the block
 * (seed % ORACLE_BLOCKS == block), so data of another block never matches.
 */
struct oracle {
	uint32_t seeds[ORACLE_BLOCKS][ORACLE_MAX];
	unsigned int nr[ORACLE_BLOCKS];
	unsigned int durable[ORACLE_BLOCKS]; /* 1 + index, 0: none */
	unsigned int acked[ORACLE_BLOCKS];   /* 1 + index of the last acked */
	uint64_t writes, flushes;
};

static uint32_t oracle_seed(struct oracle *o, unsigned int blk)
{
	return (o->writes++ + 1) * ORACLE_BLOCKS + blk;
}

struct batch {
	struct oracle *o;
	unsigned int blk[ORACLE_BATCH];
	unsigned int idx[ORACLE_BATCH];
};

static void oracle_done(struct blkdrv *b, struct blkreq *r, void *arg)
{
	struct batch *bt = arg;
	unsigned int blk = r->sector / 8;

	if (r->type != VIRTIO_BLK_T_OUT || r->status != VIRTIO_BLK_S_OK)
		return;
	for (unsigned int i = 0; i < ORACLE_BATCH; i++)
		if (bt->blk[i] == blk &&
		    bt->o->seeds[blk][bt->idx[i]] == r->seed)
			bt->o->acked[blk] = bt->idx[i] + 1;
}

/*
 * Writes batches of stamped blocks, each followed by a FLUSH, until the
 * driver fails (the worker died) or @ms pass. Returns the batches done.
 */
static unsigned int oracle_write(struct oracle *o, struct blkdrv *b,
				 uint64_t *seed, uint64_t ms)
{
	uint64_t end = rig_now_ms() + ms;
	unsigned int batches = 0;

	while (rig_now_ms() < end) {
		struct batch bt = { .o = o };
		unsigned int issued = 0;
		int rc = 0;

		while (issued < ORACLE_BATCH || b->inflight) {
			while (issued < ORACLE_BATCH && b->inflight < b->qd) {
				unsigned int blk = rnd(seed) % ORACLE_BLOCKS;

				if (o->nr[blk] == ORACLE_MAX)
					continue; /* this block is done */
				bt.blk[issued] = blk;
				bt.idx[issued] = o->nr[blk];
				o->seeds[blk][o->nr[blk]++] =
					oracle_seed(o, blk);
				if (!blkdrv_queue(
					    b, VIRTIO_BLK_T_OUT, blk * 8, BLOCK,
					    o->seeds[blk][bt.idx[issued]]))
					return batches;
				issued++;
			}
			blkdrv_kick(b);
			rc = blkdrv_reap(b, TMO_MS, oracle_done, &bt);
			if (rc <= 0)
				return batches;
		}
		if (blkdrv_sync(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL))
			return batches;
		/* Everything acknowledged before the FLUSH is durable now. */
		for (unsigned int blk = 0; blk < ORACLE_BLOCKS; blk++)
			o->durable[blk] = o->acked[blk];
		o->flushes++;
		batches++;
	}
	return batches;
}

/* Writes queued and kicked but not waited for (the kill comes next). */
static void oracle_queue(struct oracle *o, struct blkdrv *b, uint64_t *seed,
			 unsigned int n)
{
	for (unsigned int i = 0; i < n && b->inflight < b->qd; i++) {
		unsigned int blk = rnd(seed) % ORACLE_BLOCKS;
		uint32_t s = oracle_seed(o, blk);

		if (o->nr[blk] == ORACLE_MAX)
			continue;
		o->seeds[blk][o->nr[blk]++] = s; /* issued, never acked */
		if (!blkdrv_queue(b, VIRTIO_BLK_T_OUT, blk * 8, BLOCK, s))
			break;
	}
	blkdrv_kick(b);
}

/* True if @p (4 KiB) holds the pattern of one of the block's seeds from
 * index @from on, or is all zeroes and @zero_ok. */
static bool oracle_block_ok(const struct oracle *o, unsigned int blk,
			    const uint8_t *p, unsigned int from, bool zero_ok)
{
	bool zero = true;

	for (unsigned int i = 0; i < BLOCK && zero; i++)
		zero = !p[i];
	if (zero)
		return zero_ok;
	for (unsigned int k = from; k < o->nr[blk]; k++) {
		uint32_t s = o->seeds[blk][k];
		bool same = true;

		for (unsigned int i = 0; i < BLOCK && same; i++)
			same = p[i] == fg_pattern(s, i);
		if (same)
			return true;
	}
	return false;
}

/*
 * Every block holds its last durable stamp or a later one of its own.
 * Returns 0, or -1 (a failure of the case unless @quiet).
 */
static int oracle_check_file(const struct oracle *o, const char *path,
			     bool quiet)
{
	static uint8_t buf[BLOCK];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	T_CHECK(fd >= 0);
	for (unsigned int blk = 0; blk < ORACLE_BLOCKS; blk++) {
		unsigned int dur = o->durable[blk];

		if (pread(fd, buf, BLOCK, (off_t)blk * BLOCK) != BLOCK ||
		    !oracle_block_ok(o, blk, buf, dur ? dur - 1 : 0, !dur)) {
			close(fd);
			if (!quiet)
				t_fail(__FILE__, __LINE__,
				       "block %u: not its durable data (%u of %u)",
				       blk, dur, o->nr[blk]);
			return -1;
		}
	}
	close(fd);
	return 0;
}

/* The oracle is not blind: a lost write and a misplaced block fail it. */
static int oracle_selftest(const struct oracle *o, const char *path)
{
	static uint8_t save[BLOCK], other[BLOCK], zero[BLOCK];
	unsigned int a = ORACLE_BLOCKS, b = ORACLE_BLOCKS;
	int fd = open(path, O_RDWR | O_CLOEXEC), rc = -1;

	T_CHECK(fd >= 0);
	for (unsigned int blk = 0; blk < ORACLE_BLOCKS; blk++) {
		if (o->durable[blk] && a == ORACLE_BLOCKS)
			a = blk;
		else if (o->durable[blk] && b == ORACLE_BLOCKS)
			b = blk;
	}
	if (b == ORACLE_BLOCKS ||
	    pread(fd, save, BLOCK, (off_t)a * BLOCK) != BLOCK ||
	    pread(fd, other, BLOCK, (off_t)b * BLOCK) != BLOCK)
		goto out;
	/* The durable write of block a lost: zeroes again. */
	if (pwrite(fd, zero, BLOCK, (off_t)a * BLOCK) != BLOCK ||
	    !oracle_check_file(o, path, true))
		goto out;
	/* Block b's data in block a. */
	if (pwrite(fd, other, BLOCK, (off_t)a * BLOCK) != BLOCK ||
	    !oracle_check_file(o, path, true))
		goto out;
	if (pwrite(fd, save, BLOCK, (off_t)a * BLOCK) != BLOCK)
		goto out;
	rc = oracle_check_file(o, path, false);
out:
	close(fd);
	T_CHECK(rc == 0);
	return 0;
}

/* The same through the guest's driver, on the respawned worker. */
static int oracle_check_guest(const struct oracle *o, struct blkdrv *b,
			      struct fakeguest *fg)
{
	for (unsigned int blk = 0; blk < ORACLE_BLOCKS; blk++) {
		unsigned int dur = o->durable[blk];
		struct blkreq *r;

		T_CHECK(!blkdrv_sync(b, VIRTIO_BLK_T_IN, blk * 8, BLOCK, 0,
				     &r));
		if (!oracle_block_ok(o, blk, fg_ptr(fg, r->data_gpa, BLOCK),
				     dur ? dur - 1 : 0, !dur)) {
			t_fail(__FILE__, __LINE__,
			       "block %u read by the guest: not its durable data",
			       blk);
			return -1;
		}
	}
	return 0;
}

/*
 * The worker killed with -9 in the middle of stamped writes and flushes,
 * three times: the supervisor respawns it, the guest re-probes, and every
 * block holds the data of its last write acknowledged before a completed
 * FLUSH, or of a later write of the same block: no acknowledged flushed
 * write lost, no block holding another block's data. Checked through the
 * guest and in the image file. (The file's page cache survives a killed
 * process; power loss is not what this models.)
 */
static void worker_killed_mid_io_keeps_flushed_writes(void)
{
	static struct oracle o;
	struct hguest g HGUEST_SCOPED = { 0 };
	uint64_t seed = 77;

	memset(&o, 0, sizeof(o));
	T_ASSERT(!start());
	T_ASSERT(!hguest_image(&g, "o"));
	T_ASSERT(!hguest_create(&g, 1, 2));
	for (int round = 0; round < 3; round++) {
		int served = rig_log_count(": serving ");
		pid_t w, w2 = -1;
		unsigned int batches;
		uint64_t magic = 0;

		fg_alloc_reset(g.fg);
		T_ASSERT(!hguest_drv(&g, 16));
		T_ASSERT(!oracle_check_guest(&o, &g.b, g.fg));
		w = g.w;
		batches = oracle_write(&o, &g.b, &seed, 150 + round * 70);
		/* Mid-batch: writes in flight, then the kill. */
		oracle_queue(&o, &g.b, &seed, 16);
		T_EQ(kill(w, SIGKILL), 0);
		printf("  round %d: %u batches flushed, then -9\n", round,
		       batches);
		T_ASSERT(T_WAIT((w2 = rig_worker_of(1)) > 0 && w2 != w));
		g.b.sb.err = -EIO; /* the old device is gone: no reset */
		blkdrv_down(&g.b);
		/*
		 * Until the new worker serves the window, an access would
		 * wait on the dead one's server (design.md): the guest keeps
		 * off it meanwhile, as a reset device's driver would.
		 */
		T_ASSERT(T_WAIT(rig_log_count(": serving ") > served));
		T_EQ(xsim_mmio_read(sim, 1, 1, g.d.base, 4, &magic, TMO_MS), 0);
		T_EQ(magic, 0x74726976);
		T_ASSERT(!oracle_check_file(&o, g.img, false));
	}
	fg_alloc_reset(g.fg);
	T_ASSERT(!hguest_drv(&g, 16));
	T_ASSERT(!oracle_check_guest(&o, &g.b, g.fg));
	T_ASSERT(!oracle_selftest(&o, g.img));
	printf("  %llu stamped writes, %llu flushes, 3 kills\n",
	       (unsigned long long)o.writes, (unsigned long long)o.flushes);
	T_ASSERT(!hguest_down(&g));
	T_ASSERT(!rig_finish());
}

/*
 * 20000 xenstore writes in xvbd's backend directories (unrelated nodes of
 * a served device, a device of another guest flipping states, junk under
 * the kinds) while a guest does verified I/O: the guest is served
 * throughout, a new guest's disk reaches state 2 right after, and the
 * supervisor's memory and descriptors stay flat.
 */
static void xenstore_watch_storm(void)
{
	struct xsim_domain_config dc2 = { .domid = 2,
					  .nr_vcpus = 1,
					  .ram_bytes = RAM };
	struct xsim_libxl_disk e;
	struct verify v = { .rounds = 100 };
	struct hguest g HGUEST_SCOPED = { 0 };
	pthread_t th;
	char img2[128], be[160], path[256];
	long long rss0, rss1;
	double c0, c1;
	uint64_t t0;
	int fds0, fds1;

	T_ASSERT(!start());
	fds0 = t_count_fds(xvbd); /* no guest yet */
	T_ASSERT(!rig_image("w2", IMG_BYTES, img2, sizeof(img2)));
	T_ASSERT(!hguest_up(&g, "w", 1, 1, 8));
	rss0 = rss_kb(xvbd);
	c0 = t_cpu_s(xvbd);
	v.b = &g.b;
	pthread_create(&th, NULL, verify_io, &v);
	xsim_libxl_be_path(be, sizeof(be), "virtio_disk", 0, 1, g.d.devid);
	t0 = rig_now_ms();
	for (int i = 0; i < 20000; i++) {
		switch (i % 4) {
		case 0:
			snprintf(path, sizeof(path), "%s/junk%d", be, i % 50);
			xsim_xs_printf(sim, 0, path, "%d", i);
			break;
		case 1: /* a device of guest 7 (absent): never state 1 */
			snprintf(
				path, sizeof(path),
				"/local/domain/0/backend/virtio_disk/7/%d/state",
				51712 + i % 16);
			xsim_xs_printf(sim, 0, path, "%d", 3 + i % 3);
			break;
		case 2:
			snprintf(path, sizeof(path),
				 "/local/domain/0/backend/virtio/x%d", i % 30);
			xsim_xs_write(sim, 0, path, "not a domain");
			break;
		default:
			snprintf(path, sizeof(path), "%s/params", be);
			xsim_xs_write(sim, 0, path, g.img); /* the same value */
			break;
		}
	}
	pthread_join(th, NULL);
	T_EQ(v.rc, 0);
	T_EQ(v.bad, 0);
	/* A new guest right after: served within libxl's timeout. */
	rig_disk(&e, "xvda", img2);
	T_EQ(xsim_libxl_create(sim, &dc2, &e, 1, NULL, 0), 0);
	c1 = t_cpu_s(xvbd);
	rss1 = rss_kb(xvbd);
	printf("  20000 writes in %llu ms; supervisor CPU %.2f s, RSS %lld -> %lld KiB\n",
	       (unsigned long long)(rig_now_ms() - t0), c1 - c0, rss0, rss1);
	T_ASSERT(rss1 - rss0 < rss_slack_kb(4096));
	T_ASSERT(!canary(&g.b, 5, 0xabc));
	T_ASSERT(!hguest_down(&g));
	T_EQ(xsim_libxl_destroy(sim, 2), 0);
	/* The storm's own nodes stay in xenstore; clear them so the
	 * supervisor's handle count returns to its baseline. */
	xsim_xs_rm(sim, 0, "/local/domain/0/backend/virtio_disk/7");
	T_ASSERT(!rig_settled());
	T_ASSERT(!rig_no_workers());
	fds1 = t_count_fds(xvbd);
	T_EQ(fds1, fds0);
	T_ASSERT(!rig_stop());
}

/*
 * A disk given with mode r: a write (and a discard) completes with an
 * error and the file is left as it was; reads and FLUSH work.
 */
static void readonly_disk_refuses_writes(void)
{
	struct hguest g HGUEST_SCOPED = { 0 };
	struct blkdrv *b = &g.b;
	struct blkreq *r;
	struct stat st0, st1;
	uint8_t buf[BLOCK];
	int fd;

	T_ASSERT(!start());
	T_ASSERT(!hguest_image(&g, "ro"));
	fd = open(g.img, O_RDWR | O_CLOEXEC);
	T_ASSERT(fd >= 0);
	memset(buf, 0x5a, sizeof(buf));
	T_EQ(pwrite(fd, buf, BLOCK, 8 * BLOCK), BLOCK);
	T_ASSERT(!fstat(fd, &st0));
	g.d.readonly = true;
	T_ASSERT(!hguest_create(&g, 1, 1));
	T_ASSERT(!hguest_drv(&g, 8));
	T_ASSERT(b->features & (1ULL << VIRTIO_BLK_F_RO));
	T_EQ(blkdrv_sync(b, VIRTIO_BLK_T_OUT, 64, BLOCK, 9, NULL),
	     VIRTIO_BLK_S_IOERR);
	T_EQ(blkdrv_sync(b, VIRTIO_BLK_T_IN, 64, BLOCK, 0, &r),
	     VIRTIO_BLK_S_OK);
	T_ASSERT(*(uint8_t *)fg_ptr(g.fg, r->data_gpa, 1) == 0x5a);
	T_EQ(blkdrv_sync(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL),
	     VIRTIO_BLK_S_OK);
	T_ASSERT(!fstat(fd, &st1));
	T_EQ(pread(fd, buf, BLOCK, 8 * BLOCK), BLOCK);
	T_EQ(buf[0], 0x5a);
	T_EQ(buf[BLOCK - 1], 0x5a);
	T_EQ(st1.st_size, st0.st_size);
	T_EQ(st1.st_mtim.tv_sec, st0.st_mtim.tv_sec);
	T_EQ(st1.st_mtim.tv_nsec, st0.st_mtim.tv_nsec);
	close(fd);
	T_ASSERT(!hguest_down(&g));
	T_ASSERT(!rig_finish());
}

/* ---- a NIC --------------------------------------------------------------- */

#define NIC_HDR 12u

static bool can_tap(void)
{
	return !access("/dev/net/tun", R_OK | W_OK) && !geteuid();
}

/* A packet socket on the TAP: what the guest sends arrives here. */
static int tap_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       htons(ETH_P_ALL));

	if (s < 0)
		return -1;
	sll.sll_ifindex = if_nametoindex(ifname);
	if (!sll.sll_ifindex || bind(s, (struct sockaddr *)&sll, sizeof(sll))) {
		close(s);
		return -1;
	}
	return s;
}

/* Frames of our test ethertype seen on the TAP within @ms. */
static int frames_seen(int s, unsigned int ms)
{
	uint8_t buf[70000];
	uint64_t end = rig_now_ms() + ms;
	int n = 0;

	while (rig_now_ms() < end) {
		struct pollfd p = { s, POLLIN, 0 };
		ssize_t len;

		if (poll(&p, 1, 20) <= 0)
			continue;
		while ((len = recv(s, buf, sizeof(buf), 0)) > 0)
			n += len >= 14 && buf[12] == 0x88 && buf[13] == 0xb5;
	}
	return n;
}

/*
 * Frames of our test ethertype seen on the TAP until @want arrived (or the
 * hang bound passed), then for 200 ms more: a surplus shows.
 */
static int frames_until(int s, int want)
{
	uint64_t end = t_now_ms() + t_hang_ms();
	int n = 0;

	while (n < want && t_now_ms() < end)
		n += frames_seen(s, 20);
	return n + frames_seen(s, 200);
}

struct nic {
	struct simbus sb;
	struct gdrv g;
	struct fakeguest *fg;
	uint64_t area;
	uint32_t off;
	unsigned int irq;
};

/* A TX chain: a 12-byte header then @len frame bytes (ethertype 0x88b5). */
static int nic_tx(struct nic *n, const struct virtio_net_hdr_v1 *h,
		  uint32_t len, bool header_only)
{
	uint64_t gpa = n->area + n->off;
	struct gdrv_buf bufs[2] = { { gpa, NIC_HDR, false },
				    { gpa + NIC_HDR, len, false } };
	uint8_t *f;

	n->off += (NIC_HDR + len + 4095) & ~4095u;
	fg_write(n->fg, gpa, h, NIC_HDR);
	f = fg_ptr(n->fg, gpa + NIC_HDR, len);
	if (len >= 14) {
		memset(f, 0xff, 6);
		memset(f + 6, 0x02, 6);
		f[12] = 0x88;
		f[13] = 0xb5;
	}
	return gdrv_add(&n->g, 1, bufs, header_only ? 1 : 2, 0);
}

/*
 * Guest @domid with one NIC, created paused and unpaused once xvbd serves
 * it (libxl does not wait for generic devices: xl create -p), its driver up
 * with @features and a 1 MiB buffer area. Returns 0 or -1 (the case has
 * failed); @ifname gets the name of its TAP.
 */
static int nic_guest_up(struct nic *n, uint32_t domid, uint64_t features,
			char ifname[IFNAMSIZ])
{
	struct xsim_domain_config dc = {
		.domid = domid, .nr_vcpus = 1, .ram_bytes = RAM, .paused = true
	};
	struct xsim_libxl_virtio nic = { .type = "virtio,device1",
					 .grant_usage = -1 };
	char path[160];

	T_CHECK(xsim_libxl_create(sim, &dc, NULL, 0, &nic, 1) == 0);
	xsim_libxl_be_path(path, sizeof(path), "virtio", 0, domid, nic.devid);
	strcat(path, "/state");
	T_CHECK(xsim_xs_wait(sim, path, "2", TMO_MS) == 0);
	T_CHECK(xsim_domain_unpause(sim, domid) == 0);
	snprintf(ifname, IFNAMSIZ, "vxb%u.%u", domid, nic.devid);
	n->fg = fg_wrap(xsim_ram_ptr(sim, domid, XSIM_RAM0_BASE, RAM),
			XSIM_RAM0_BASE, RAM);
	T_CHECK(n->fg);
	simbus_init(&n->sb, sim, domid, 0, nic.base);
	gdrv_init_bus(&n->g, &n->sb.bus, n->fg);
	T_CHECK(gdrv_up(&n->g, features, 2, 64) == 0);
	n->area = fg_alloc(n->fg, 1 << 20, 4096);
	T_CHECK(n->area);
	return 0;
}

/* The driver reset and gone, the TAP socket @s closed, the guest destroyed. */
static int nic_guest_down(struct nic *n, uint32_t domid, int s)
{
	gdrv_reset(&n->g);
	gdrv_fini(&n->g);
	fg_free(n->fg);
	close(s);
	T_CHECK(xsim_libxl_destroy(sim, domid) == 0);
	return 0;
}

/*
 * Hostile transmit: a header alone, a frame above 64 KiB, a checksum field
 * past the frame, GSO without NEEDS_CSUM. Each chain completes, nothing
 * reaches the TAP, and a sound frame sent after them does.
 */
static void nic_hostile_tx_dropped(void)
{
	struct virtio_net_hdr_v1 h = { 0 };
	struct nic n = { 0 };
	char ifname[IFNAMSIZ];
	uint16_t head;
	uint32_t len;
	int s, got = 0;

	if (!can_tap()) {
		t_skip("no /dev/net/tun or not root: TAPs cannot be made");
		return;
	}
	T_ASSERT(!start());
	T_ASSERT(!nic_guest_up(&n, 3,
			       (1ULL << VIRTIO_F_VERSION_1) |
				       (1ULL << VIRTIO_NET_F_CSUM),
			       ifname));
	s = tap_socket(ifname);
	T_ASSERT(s >= 0);
	T_ASSERT(nic_tx(&n, &h, 0, true) >= 0);		   /* header only */
	T_ASSERT(nic_tx(&n, &h, 65536 + 100, false) >= 0); /* too big */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = htole16(60);
	h.csum_offset = htole16(4);
	T_ASSERT(nic_tx(&n, &h, 64, false) >= 0); /* 60 + 4 + 2 > 64 */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;	  /* not negotiated */
	h.gso_size = htole16(1000);
	h.csum_start = htole16(14);
	T_ASSERT(nic_tx(&n, &h, 2000, false) >= 0);
	gdrv_notify(&n.g, 1);
	T_WAIT_US(({
			  while (gdrv_get_used(&n.g, 1, &head, &len) == 1)
				  got++;
			  got >= 4;
		  }),
		  5000);
	T_EQ(got, 4);		      /* every chain completed ... */
	T_EQ(frames_seen(s, 300), 0); /* ... and none reached the TAP */
	memset(&h, 0, sizeof(h));
	T_ASSERT(nic_tx(&n, &h, 60, false) >= 0);
	gdrv_notify(&n.g, 1);
	T_EQ(frames_until(s, 1), 1);
	T_ASSERT(!(gdrv_read(&n.g, VIRTIO_MMIO_STATUS, 4) &
		   VIRTIO_CONFIG_S_NEEDS_RESET));
	T_EQ(n.sb.err, 0);
	T_ASSERT(!nic_guest_down(&n, 3, s));
	T_ASSERT(!rig_finish());
}

/*
 * The host floods the TAP while the guest posts no receive buffers, then
 * only tiny ones: the worker waits (no spin: little CPU), its memory stays
 * flat, the tiny chains come back unused, and with real buffers posted
 * frames flow again.
 */
static void nic_rx_without_buffers_no_spin(void)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = 6 };
	struct nic n = { 0 };
	char ifname[IFNAMSIZ];
	uint8_t frame[600] = { 0 };
	long long rss0, rss1;
	double c0, c1;
	uint64_t t0;
	uint16_t head;
	uint32_t len;
	int s, sent = 0, back = 0, got = 0;
	pid_t w;

	if (!can_tap()) {
		t_skip("no /dev/net/tun or not root: TAPs cannot be made");
		return;
	}
	T_ASSERT(!start());
	T_ASSERT(!nic_guest_up(&n, 4, 1ULL << VIRTIO_F_VERSION_1, ifname));
	s = tap_socket(ifname);
	T_ASSERT(s >= 0);
	to.sll_ifindex = if_nametoindex(ifname);
	w = rig_worker_of(4);
	memset(frame, 0xff, 6);
	memset(frame + 6, 0x02, 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	rss0 = rss_kb(w);
	c0 = t_cpu_s(w);
	t0 = rig_now_ms();
	/* 1 s of frames towards a guest that has no buffers. */
	while (rig_now_ms() - t0 < 1000) {
		sent += sendto(s, frame, sizeof(frame), 0,
			       (struct sockaddr *)&to, sizeof(to)) > 0;
		if (!(sent % 64))
			usleep(1000);
	}
	/* Then tiny buffers: returned unused, no spin either. */
	for (int i = 0; i < 16; i++) {
		struct gdrv_buf tiny = { n.area + 64 * i, 8, true };

		T_ASSERT(gdrv_add(&n.g, 0, &tiny, 1, 0) >= 0);
	}
	gdrv_notify(&n.g, 0);
	T_WAIT_US(({
			  while (gdrv_get_used(&n.g, 0, &head, &len) == 1)
				  back += !len;
			  back >= 16;
		  }),
		  5000);
	usleep(300000);
	c1 = t_cpu_s(w);
	rss1 = rss_kb(w);
	printf("  %d frames towards no buffers: worker CPU %.2f s in %.1f s, RSS %lld->%lld KiB\n",
	       sent, c1 - c0, (rig_now_ms() - t0) / 1e3, rss0, rss1);
	T_EQ(back, 16);
	T_ASSERT(c1 - c0 < 0.5); /* waiting, not spinning */
	T_ASSERT(rss1 - rss0 < rss_slack_kb(4096));
	/* Real buffers: frames flow again. */
	for (int i = 0; i < 16; i++) {
		struct gdrv_buf rb = { n.area + 65536 + 2048 * i, 2048, true };

		T_ASSERT(gdrv_add(&n.g, 0, &rb, 1, 0) >= 0);
	}
	gdrv_notify(&n.g, 0);
	T_WAIT_US(({
			  sendto(s, frame, sizeof(frame), 0,
				 (struct sockaddr *)&to, sizeof(to));
			  usleep(5000);
			  while (gdrv_get_used(&n.g, 0, &head, &len) == 1)
				  got += len == NIC_HDR + sizeof(frame);
			  got > 0;
		  }),
		  1);
	T_ASSERT(got > 0);
	T_EQ(rig_worker_of(4), w);
	T_EQ(n.sb.err, 0);
	T_ASSERT(!nic_guest_down(&n, 4, s));
	T_ASSERT(!rig_finish());
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T_CASE(register_storm_during_io),
		T_CASE(notify_storm_other_guest_unaffected),
		T_CASE(guest_rewrites_rings_while_read),
		T_CASE(reset_races_io_from_another_vcpu),
		T_CASE(invalidate_storm_during_io),
		T_CASE(destroy_mid_io_100_times),
		T_CASE(worker_killed_mid_io_keeps_flushed_writes),
		T_CASE(xenstore_watch_storm),
		T_CASE(readonly_disk_refuses_writes),
		T_CASE(nic_hostile_tx_dropped),
		T_CASE(nic_rx_without_buffers_no_spin),
	};
	int rc;

	if (rig_init())
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = t_main(cases, ARRAY_SIZE(cases), argc, argv);
	rig_cleanup();
	return rc;
}
