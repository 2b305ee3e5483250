// SPDX-License-Identifier: MIT
/*
 * virtio-blk under io_uring faults the kernel rarely produces on demand:
 * completions that say -EAGAIN, -ENOMEM, -EIO, -ECANCELED or a short count
 * (the test rewrites the CQEs in the shared completion ring before the
 * device's loop reaps them), and a submission ring far smaller than the
 * requests in flight (a full SQ, and completions overflowing the CQ).
 * Checked: every request completes once with the status the fault calls
 * for, retries stay bounded, a failed write makes later FLUSHes fail while
 * flushed data stays intact, and nothing leaks.
 */
#include "blk_rig.h"

#include <time.h>

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits until @want CQEs wait in the ring (at most 2 s), then rewrites the
 * result of each device CQE (not the loop's own wake watch) with @res, or
 * with what @fn returns for it. Returns how many were rewritten.
 */
static unsigned int rewrite_cqes(struct brig *r, unsigned int want, int res,
				 int (*fn)(const struct io_uring_cqe *cqe))
{
	struct io_uring *ring = &r->loop.ring;
	struct io_uring_cqe *cqe;
	uint64_t end = now_ms() + BR_WAIT_MS;
	unsigned int head, n = 0;

	while (io_uring_cq_ready(ring) < want && now_ms() < end) {
		io_uring_get_events(ring); /* flush an overflowed CQ */
		usleep(200);
	}
	io_uring_for_each_cqe(ring, head, cqe) {
		if (io_uring_cqe_get_data(cqe) == &r->loop.wake.op)
			continue;
		cqe->res = fn ? fn(cqe) : res;
		n++;
	}
	return n;
}

/* Adds @n requests of @type on distinct sectors, kicks, submits. */
static int add_kick(struct brig *r, unsigned int n, uint32_t type, uint32_t len)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t data = r->data + (uint64_t)i * len;

		if (type == VIRTIO_BLK_T_OUT)
			fg_fill(r->fg, data, len, 100 + i);
		if (br_add(r, i, type, (uint64_t)i * (len / 512), data, len, 0,
			   0) < 0)
			return -1;
	}
	gdrv_kick(&r->drv, BQ);
	return 0;
}

/* Collects @n completions and counts the slots with status @st. */
static int collect(struct brig *r, unsigned int n, uint8_t st)
{
	int got = 0, match = 0;

	if (br_run(r))
		return -1;
	got = br_collect(r, NULL, NULL, n);
	if (got != (int)n)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		match += br_status(r, br_st(r, i)) == st;
	return match;
}

/*
 * One -EAGAIN on every read: each is submitted again and completes with
 * the right data; the device stays healthy.
 */
static void eagain_once_is_retried(void)
{
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	T_ASSERT(!br_file_fill(&r, 0, 16 * 4096, 5));
	T_ASSERT(!add_kick(&r, 16, VIRTIO_BLK_T_IN, 4096));
	T_EQ(rewrite_cqes(&r, 16, -EAGAIN, NULL), 16);
	T_EQ(collect(&r, 16, VIRTIO_BLK_S_OK), 16);
	T_ASSERT(fg_check(r.fg, r.data, 16 * 4096, 5));
	T_ASSERT(!br_needs_reset(&r));
	T_BR_FINI(&r);
}

/*
 * -EAGAIN forever: the retries are bounded (VBLK_MAX_RETRY), then the
 * request fails alone; the next one works.
 */
static void eagain_forever_fails_the_request(void)
{
	struct brig r BRIG_SCOPED = { 0 };
	unsigned int rounds = 0;

	T_BR_START(&r, NULL);
	T_ASSERT(!add_kick(&r, 1, VIRTIO_BLK_T_IN, 4096));
	/* Each retry's completion says -EAGAIN again, until none comes. */
	while (rounds < 50 && br_status(&r, br_st(&r, 0)) == BR_STATUS_NONE) {
		evl_submit(&r.loop);
		if (!rewrite_cqes(&r, 1, -EAGAIN, NULL))
			break;
		evl_run_once(&r.loop, false);
		rounds++;
	}
	T_EQ(br_run(&r), 0);
	T_EQ(br_collect(&r, NULL, NULL, 1), 1);
	T_EQ(br_status(&r, br_st(&r, 0)), VIRTIO_BLK_S_IOERR);
	T_ASSERT(rounds >= 2 && rounds < 20); /* bounded, not one try */
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 0, r.data, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(!br_needs_reset(&r));
	T_BR_FINI(&r);
}

/*
 * Reads that complete with -ENOMEM, -EIO or -ECANCELED fail alone (IOERR)
 * and poison nothing: a FLUSH afterwards succeeds.
 */
static void read_errors_fail_alone(void)
{
	static const int errs[] = { -ENOMEM, -EIO, -ECANCELED, -EFAULT };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	for (unsigned int i = 0; i < ARRAY_SIZE(errs); i++) {
		T_ASSERT(!add_kick(&r, 4, VIRTIO_BLK_T_IN, 4096));
		T_EQ(rewrite_cqes(&r, 4, errs[i], NULL), 4);
		T_EQ(collect(&r, 4, VIRTIO_BLK_S_IOERR), 4);
	}
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	T_ASSERT(!br_needs_reset(&r));
	T_BR_FINI(&r);
}

/*
 * A write the kernel reports failed with -ENOMEM: it fails, and every
 * later FLUSH fails (the page cache may have dropped the data), even after
 * a guest reset; data flushed before stays readable.
 */
static void failed_write_poisons_flush(void)
{
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	fg_fill(r.fg, r.data2, 4096, 9);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 64, r.data2, 4096), VIRTIO_BLK_S_OK);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	T_ASSERT(!add_kick(&r, 2, VIRTIO_BLK_T_OUT, 4096));
	T_EQ(rewrite_cqes(&r, 2, -ENOMEM, NULL), 2);
	T_EQ(collect(&r, 2, VIRTIO_BLK_S_IOERR), 2);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_IOERR);
	T_BR(&r, brig_recover(&r));
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_IOERR);
	br_guest_set(&r, r.data2, 4096, 0);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 64, r.data2, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(fg_check(r.fg, r.data2, 4096, 9));
	T_BR_FINI(&r);
}

/* ENOSPC reported for a write fails that write only (no poison). */
static void enospc_write_fails_alone(void)
{
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	T_ASSERT(!add_kick(&r, 1, VIRTIO_BLK_T_OUT, 4096));
	T_EQ(rewrite_cqes(&r, 1, -ENOSPC, NULL), 1);
	T_EQ(collect(&r, 1, VIRTIO_BLK_S_IOERR), 1);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	T_BR_FINI(&r);
}

/* The fdatasync of a FLUSH reported -EIO: that FLUSH and later ones fail. */
static void fsync_eio_fails_later_flushes(void)
{
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	fg_fill(r.fg, r.data, 4096, 3);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(br_add(&r, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, 0) >= 0);
	gdrv_kick(&r.drv, BQ);
	T_EQ(rewrite_cqes(&r, 1, -EIO, NULL), 1);
	T_EQ(collect(&r, 1, VIRTIO_BLK_S_IOERR), 1);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_IOERR);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 0, r.data2, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(fg_check(r.fg, r.data2, 4096, 3));
	T_BR_FINI(&r);
}

static int half(const struct io_uring_cqe *cqe)
{
	return cqe->res > 1 ? cqe->res / 2 : cqe->res;
}

/*
 * The kernel reports half of each transfer: the rest is submitted again
 * from where it stopped, reads and writes both land whole.
 */
static void short_counts_resubmitted(void)
{
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	T_ASSERT(!add_kick(&r, 8, VIRTIO_BLK_T_OUT, 16384));
	T_ASSERT(rewrite_cqes(&r, 8, 0, half) == 8);
	T_EQ(collect(&r, 8, VIRTIO_BLK_S_OK), 8);
	/* The second half was written twice over the same bytes: whole. */
	for (unsigned int i = 0; i < 8; i++)
		T_ASSERT(
			br_file_check(&r, (uint64_t)i * 16384, 16384, 100 + i));
	br_guest_set(&r, r.data, 8 * 16384, 0);
	T_ASSERT(!add_kick(&r, 8, VIRTIO_BLK_T_IN, 16384));
	T_ASSERT(rewrite_cqes(&r, 8, 0, half) == 8);
	T_EQ(collect(&r, 8, VIRTIO_BLK_S_OK), 8);
	for (unsigned int i = 0; i < 8; i++)
		T_ASSERT(fg_check(r.fg, r.data + (uint64_t)i * 16384, 16384,
				  100 + i));
	T_BR_FINI(&r);
}

/*
 * A ring of 4 SQEs for 256 requests: the SQ is full most of the time and
 * completions overflow the CQ; every request completes once, data intact.
 */
static void full_sq_and_cq_overflow(void)
{
	struct brig_opts o = { .ring = 4 };
	struct brig r BRIG_SCOPED = { 0 };
	uint16_t heads[256];
	bool seen[256] = { false };

	T_BR_START(&r, &o);
	for (int round = 0; round < 2; round++) {
		uint32_t type = round ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT;

		if (round)
			br_guest_set(&r, r.data, 256 * 8192, 0);
		for (unsigned int i = 0; i < 256; i++) {
			uint64_t data = r.data + (uint64_t)i * 8192;

			if (!round)
				fg_fill(r.fg, data, 8192, 1000 + i);
			T_ASSERT(br_add(&r, i, type, (uint64_t)i * 16, data,
					8192, 4096, GDRV_INDIRECT) >= 0);
		}
		gdrv_kick(&r.drv, BQ);
		T_EQ(br_run(&r), 0);
		T_EQ(br_collect(&r, heads, NULL, 256), 256);
		memset(seen, 0, sizeof(seen));
		for (unsigned int i = 0; i < 256; i++) {
			T_ASSERT(!seen[heads[i]]); /* each once */
			seen[heads[i]] = true;
			T_EQ(br_status(&r, br_st(&r, i)), VIRTIO_BLK_S_OK);
		}
	}
	for (unsigned int i = 0; i < 256; i++)
		T_ASSERT(fg_check(r.fg, r.data + (uint64_t)i * 8192, 8192,
				  1000 + i));
	T_ASSERT(!br_needs_reset(&r));
	T_BR_FINI(&r);
}

/* A reset while every completion of the ring says -EAGAIN. */
static void reset_during_eagain_storm(void)
{
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	T_ASSERT(!add_kick(&r, 32, VIRTIO_BLK_T_IN, 4096));
	T_EQ(rewrite_cqes(&r, 32, -EAGAIN, NULL), 32);
	evl_run_once(&r.loop, false); /* the retries go in */
	gdrv_reset(&r.drv);
	T_EQ(fg_live(r.fg), 0);
	T_BR(&r, brig_recover(&r));
	T_BR_FINI(&r);
}

T_MAIN(T_CASE(eagain_once_is_retried), T_CASE(eagain_forever_fails_the_request),
       T_CASE(read_errors_fail_alone), T_CASE(failed_write_poisons_flush),
       T_CASE(enospc_write_fails_alone), T_CASE(fsync_eio_fails_later_flushes),
       T_CASE(short_counts_resubmitted), T_CASE(full_sq_and_cq_overflow),
       T_CASE(reset_during_eagain_storm))
