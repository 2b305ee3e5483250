// SPDX-License-Identifier: MIT
/*
 * virtio-blk with several queues: MQ offered only with more than one, data
 * verified on every queue at once with each queue's I/O on a thread of its
 * own, a driver that ignores MQ, kick storms, resets and teardown with I/O
 * in flight on every thread, and a write failing on one queue making FLUSH
 * fail on another.
 */
#include <stddef.h>
#include <time.h>

#include "blk_rig.h"

#define NQ 4u
#define PER_Q 64u /* requests per queue per round */
#define REQ_LEN 8192u

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Collects @want used elements of queue @q into @heads, running the test's
 * own loop for queues that live on it. Returns how many came before
 * BR_WAIT_MS passed, or -errno for a bogus element.
 */
static int mq_wait(struct brig *r, unsigned int q, uint16_t *heads,
		   unsigned int want);

/* True if queue @q has no used element waiting: nothing stray came. */
static bool mq_none(struct brig *r, unsigned int q)
{
	uint16_t h;
	uint32_t len;

	evl_run_once(&r->loop, false);
	return gdrv_get_used(&r->drv, q, &h, &len) == 0;
}

/*
 */
static int mq_wait(struct brig *r, unsigned int q, uint16_t *heads,
		   unsigned int want)
{
	uint64_t end = now_ms() + BR_WAIT_MS;

	unsigned int got = 0;
	uint32_t len;
	int rc;

	while (got < want) {
		rc = gdrv_get_used(&r->drv, q, &heads[got], &len);
		if (rc < 0)
			return rc;
		if (rc) {
			got++;
			continue;
		}
		if (now_ms() > end)
			break;
		if (evl_run_once(&r->loop, false) <= 0)
			usleep(200);
	}
	return got;
}

/* Slot of request @i of queue @q: each queue has its own header slots. */
static unsigned int mq_slot(unsigned int q, unsigned int i)
{
	return q * PER_Q + i;
}

/* Guest buffer of request @i of queue @q, in the data area. */
static uint64_t mq_buf(const struct brig *r, unsigned int q, unsigned int i)
{
	return r->data + (uint64_t)mq_slot(q, i) * REQ_LEN;
}

/* Sector of request @i of queue @q in round @round. */
static uint64_t mq_sector(unsigned int round, unsigned int q, unsigned int i)
{
	return ((uint64_t)round * NQ * PER_Q + mq_slot(q, i)) * (REQ_LEN / 512);
}

/*
 * One round: PER_Q requests of @type on every queue, all kicked before any
 * is collected, each completed exactly once with status OK.
 */
static int mq_round(struct brig *r, uint32_t type, unsigned int round,
		    bool rotate)
{
	uint16_t heads[PER_Q];

	for (unsigned int q = 0; q < NQ; q++) {
		for (unsigned int i = 0; i < PER_Q; i++) {
			/* Reads come back on another queue than the write's. */
			unsigned int src = rotate ? (q + 1) % NQ : q;
			int h = br_add_q(r, q, mq_slot(q, i), type,
					 mq_sector(round, src, i),
					 mq_buf(r, q, i), REQ_LEN, 4096,
					 i & 1 ? GDRV_INDIRECT : 0);

			T_CHECK(h >= 0);
		}
	}
	for (unsigned int q = 0; q < NQ; q++)
		gdrv_kick(&r->drv, q);
	for (unsigned int q = 0; q < NQ; q++) {
		T_CHECK(mq_wait(r, q, heads, PER_Q) == (int)PER_Q);
		for (unsigned int i = 0; i < PER_Q; i++)
			T_CHECK(br_status(r, br_st(r, mq_slot(q, i))) ==
				VIRTIO_BLK_S_OK);
		T_CHECK(mq_none(r, q));
	}
	return 0;
}

/* Writes on every queue, file checked, read back through other queues. */
static int mq_data(struct brig *r, unsigned int rounds)
{
	for (unsigned int round = 0; round < rounds; round++) {
		for (unsigned int q = 0; q < NQ; q++)
			for (unsigned int i = 0; i < PER_Q; i++)
				fg_fill(r->fg, mq_buf(r, q, i), REQ_LEN,
					round * 1000 + mq_slot(q, i));
		T_CHECK(!mq_round(r, VIRTIO_BLK_T_OUT, round, false));
		for (unsigned int q = 0; q < NQ; q++)
			for (unsigned int i = 0; i < PER_Q; i++)
				T_CHECK(br_file_check(
					r, mq_sector(round, q, i) * 512,
					REQ_LEN, round * 1000 + mq_slot(q, i)));
		for (unsigned int q = 0; q < NQ; q++)
			br_guest_set(r, mq_buf(r, q, 0), PER_Q * REQ_LEN, 0);
		T_CHECK(!mq_round(r, VIRTIO_BLK_T_IN, round, true));
		for (unsigned int q = 0; q < NQ; q++)
			for (unsigned int i = 0; i < PER_Q; i++)
				T_CHECK(fg_check(
					r->fg, mq_buf(r, q, i), REQ_LEN,
					round * 1000 +
						mq_slot((q + 1) % NQ, i)));
	}
	T_CHECK(fg_live(r->fg) == r->baseline);
	return 0;
}

static uint32_t cfg_num_queues(struct brig *r)
{
	return (uint32_t)gdrv_read(&r->drv,
				   VIRTIO_MMIO_CONFIG +
					   offsetof(struct virtio_blk_config,
						    num_queues),
				   2);
}

/* ---- cases ------------------------------------------------------------ */

/* MQ and num_queues with several queues; neither with one. */
static void mq_feature_and_config(void)
{
	struct brig_opts o = { .queues = NQ, .threads = true };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_ASSERT(vdev_has(r.vdev, VIRTIO_BLK_F_MQ));
	T_EQ(cfg_num_queues(&r), NQ);
	T_EQ(r.vdev->nr_vqs, NQ);
	T_BR_FINI(&r);

	o.queues = 1;
	T_BR_START(&r, &o);
	T_ASSERT(!(gdrv_device_features(&r.drv) & (1ULL << VIRTIO_BLK_F_MQ)));
	T_EQ(r.vdev->nr_vqs, 1u);
	T_BR_FINI(&r);
}

/* More queues than the device supports: refused, nothing leaked. */
static void mq_too_many_queues(void)
{
	struct vblk_conf conf = {
		.path = "/dev/null",
		.nr_queues = VBLK_MAX_QUEUES + 1,
	};
	struct fakeguest *fg = fg_new(1u << 20);
	struct vblk *blk = (struct vblk *)&conf;
	struct evl loop;

	T_ASSERT(fg);
	T_EQ(evl_init(&loop, 8), 0);
	T_EQ(vblk_create(&blk, &conf, &fg->gmem, &loop), -EINVAL);
	T_ASSERT(!blk);
	evl_exit(&loop);
	fg_free(fg);
}

/* Every queue on a thread of its own, all busy at once, data verified. */
static void mq_threads_data(void)
{
	struct brig_opts o = { .queues = NQ, .threads = true };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_ASSERT(!mq_data(&r, 3));
	T_ASSERT(!br_needs_reset(&r));
	T_BR_FINI(&r);
}

/* Several queues on the device's own loop: the same, without threads. */
static void mq_one_loop_data(void)
{
	struct brig_opts o = { .queues = NQ };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_ASSERT(!mq_data(&r, 2));
	T_BR_FINI(&r);
}

/* A driver that does not take MQ uses the first queue; it works. */
static void mq_driver_without_mq(void)
{
	struct brig_opts o = {
		.queues = NQ,
		.threads = true,
		.no_features = 1ULL << VIRTIO_BLK_F_MQ,
	};
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_ASSERT(!vdev_has(r.vdev, VIRTIO_BLK_F_MQ));
	fg_fill(r.fg, r.data, 65536, 77);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 64, r.data, 65536), VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_check(&r, 64 * 512, 65536, 77));
	T_BR_FINI(&r);
}

/*
 * The driver kicks a remote queue again and again while it works through a
 * long batch: every request completes exactly once, no kick is lost.
 */
static void mq_kick_storm(void)
{
	struct brig_opts o = { .queues = 2, .threads = true };
	uint16_t heads[256];
	bool seen[256];
	struct brig r BRIG_SCOPED = { 0 };
	int n;

	T_BR_START(&r, &o);
	for (unsigned int round = 0; round < 8; round++) {
		memset(seen, 0, sizeof(seen));
		for (unsigned int i = 0; i < 256; i++) {
			int h = br_add_q(&r, 1, i, VIRTIO_BLK_T_OUT, i * 8,
					 r.data + (uint64_t)i * 4096, 4096, 0,
					 GDRV_INDIRECT);

			T_ASSERT(h >= 0);
			/* A kick after every few requests, as a busy guest. */
			if (i % 3 == 0)
				gdrv_notify(&r.drv, 1);
		}
		for (unsigned int k = 0; k < 100; k++)
			gdrv_notify(&r.drv, 1);
		n = mq_wait(&r, 1, heads, 256);
		T_EQ(n, 256);
		for (int i = 0; i < n; i++) {
			T_ASSERT(heads[i] < 256 && !seen[heads[i]]);
			seen[heads[i]] = true;
		}
		T_ASSERT(mq_none(&r, 1));
	}
	T_BR_FINI(&r);
}

/*
 * Resets with up to PER_Q requests in flight on every thread: no used
 * element reaches the old rings after the reset returned, nothing stays
 * mapped, and every queue works again.
 */
static void mq_reset_in_flight(void)
{
	struct brig_opts o = { .queues = NQ, .threads = true };
	uint16_t before[NQ], *used[NQ];
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	for (unsigned int round = 0; round < 10; round++) {
		uint32_t type = round & 1 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT;

		for (unsigned int q = 0; q < NQ; q++) {
			for (unsigned int i = 0; i < PER_Q; i++)
				T_ASSERT(br_add_q(&r, q, mq_slot(q, i), type,
						  mq_sector(0, q, i),
						  mq_buf(&r, q, i), REQ_LEN, 0,
						  GDRV_INDIRECT) >= 0);
			gdrv_kick(&r.drv, q);
		}
		if (round & 2)
			usleep(500); /* let some complete first */
		/* The rings stay in guest RAM after the driver lets go. */
		for (unsigned int q = 0; q < NQ; q++)
			used[q] = &r.drv.vqs[q].used->idx;
		gdrv_reset(&r.drv);
		for (unsigned int q = 0; q < NQ; q++)
			before[q] = le16toh(READ_ONCE(*used[q]));
		T_EQ(fg_live(r.fg), r.baseline - 3 * NQ);
		usleep(2000);
		for (unsigned int q = 0; q < NQ; q++)
			T_EQ(le16toh(READ_ONCE(*used[q])), before[q]);
		T_EQ(fg_live(r.fg), r.baseline - 3 * NQ);
		T_ASSERT(!brig_recover(&r));
		/* The canary used queue 0; each other queue gets its own. */
		T_ASSERT(!mq_data(&r, 1));
	}
	T_BR_FINI(&r);
}

/* Teardown with I/O in flight on every queue thread, 20 times. */
static void mq_destroy_in_flight(void)
{
	struct brig_opts o = { .queues = NQ, .threads = true };
	struct brig r BRIG_SCOPED = { 0 };

	for (unsigned int round = 0; round < 20; round++) {
		T_BR_START(&r, &o);
		for (unsigned int q = 0; q < NQ; q++) {
			for (unsigned int i = 0; i < PER_Q; i++)
				T_ASSERT(br_add_q(&r, q, mq_slot(q, i),
						  VIRTIO_BLK_T_OUT,
						  mq_sector(0, q, i),
						  mq_buf(&r, q, i), REQ_LEN, 0,
						  0) >= 0);
			gdrv_kick(&r.drv, q);
		}
		if (round & 1)
			usleep(300);
		T_BR_FINI(&r);
	}
}

/*
 * A write that fails on one queue's thread poisons the store for all: a
 * FLUSH on another queue fails, while reads still work.
 */
static void mq_write_error_fails_other_queues_flush(void)
{
	struct brig_opts o = { .queues = 3, .threads = true };
	uint16_t h;
	struct brig r BRIG_SCOPED = { 0 };
	int fd, saved, rfd;

	T_BR_START(&r, &o);
	/* Queue 2 flushes fine first. */
	T_ASSERT(br_add_q(&r, 2, 1, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, 0) >= 0);
	gdrv_kick(&r.drv, 2);
	T_EQ(mq_wait(&r, 2, &h, 1), 1);
	T_EQ(br_status(&r, br_st(&r, 1)), VIRTIO_BLK_S_OK);

	/* Queue 1's write meets a read-only descriptor: it fails. */
	fd = vblk_store_fd(r.blk);
	rfd = open(r.path, O_RDONLY | O_CLOEXEC);
	T_ASSERT(rfd >= 0);
	saved = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	T_ASSERT(saved >= 0);
	T_ASSERT(dup3(rfd, fd, O_CLOEXEC) == fd);
	T_ASSERT(br_add_q(&r, 1, 2, VIRTIO_BLK_T_OUT, 0, r.data, 4096, 0, 0) >=
		 0);
	gdrv_kick(&r.drv, 1);
	T_EQ(mq_wait(&r, 1, &h, 1), 1);
	T_EQ(br_status(&r, br_st(&r, 2)), VIRTIO_BLK_S_IOERR);
	dup3(saved, fd, O_CLOEXEC);
	close(saved);
	close(rfd);

	/* Queue 2's next FLUSH fails; a read on queue 2 still works. */
	T_ASSERT(br_add_q(&r, 2, 3, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, 0) >= 0);
	gdrv_kick(&r.drv, 2);
	T_EQ(mq_wait(&r, 2, &h, 1), 1);
	T_EQ(br_status(&r, br_st(&r, 3)), VIRTIO_BLK_S_IOERR);
	T_ASSERT(br_add_q(&r, 2, 4, VIRTIO_BLK_T_IN, 0, r.data, 4096, 0, 0) >=
		 0);
	gdrv_kick(&r.drv, 2);
	T_EQ(mq_wait(&r, 2, &h, 1), 1);
	T_EQ(br_status(&r, br_st(&r, 4)), VIRTIO_BLK_S_OK);
	T_BR_FINI(&r);
}

/*
 * A malformed chain on a remote queue marks the whole device NEEDS_RESET
 * (set from the queue's thread), and a reset brings every queue back.
 */
static void mq_protocol_violation_on_remote_queue(void)
{
	struct brig_opts o = { .queues = NQ, .threads = true };
	struct gdrv_buf b = { 0, 16, false };
	uint16_t h;
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	/* A request with no writable status byte. */
	b.gpa = br_hdr(&r, 0);
	br_put_hdr(&r, b.gpa, VIRTIO_BLK_T_IN, 0);
	T_ASSERT(gdrv_add(&r.drv, 3, &b, 1, 0) >= 0);
	gdrv_kick(&r.drv, 3);
	T_ASSERT(T_WAIT_US(br_needs_reset(&r), 1000));
	T_ASSERT(mq_wait(&r, 3, &h, 1) <= 1);
	T_ASSERT(!brig_recover(&r));
	T_ASSERT(!mq_data(&r, 1));
	T_BR_FINI(&r);
}

T_MAIN(T_CASE(mq_feature_and_config), T_CASE(mq_too_many_queues),
       T_CASE(mq_threads_data), T_CASE(mq_one_loop_data),
       T_CASE(mq_driver_without_mq), T_CASE(mq_kick_storm),
       T_CASE(mq_reset_in_flight), T_CASE(mq_destroy_in_flight),
       T_CASE(mq_write_error_fails_other_queues_flush),
       T_CASE(mq_protocol_violation_on_remote_queue))
