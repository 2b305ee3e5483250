// SPDX-License-Identifier: MIT
/*
 * virtio-blk data path: reads and writes of many sizes and offsets, direct
 * and indirect, split at page edges and across descriptors, batches with
 * many requests in flight, short reads at EOF, and FLUSH ordering.
 */
#include "blk_rig.h"

static const uint32_t sizes[] = {
	512, 1024, 4096, 4608, 65536, 65536 + 512, 131072 + 3584, 1u << 20,
};
static const uint64_t sectors[] = { 0, 1, 7, 8, 4095, 12345 };

/* Writes pattern @seed at @sector, checks the file, reads it back. */
static int rw_one(struct brig *r, uint64_t sector, uint32_t len, uint32_t seed,
		  uint32_t piece, unsigned int flags, uint64_t goff)
{
	uint32_t used = 0;

	int st;

	fg_fill(r->fg, r->data + goff, len, seed);
	st = br_req_ex(r, VIRTIO_BLK_T_OUT, sector, r->data + goff, len, piece,
		       flags, &used);
	T_CHECK(st == VIRTIO_BLK_S_OK);
	T_CHECK(used == 1);
	T_CHECK(br_file_check(r, sector * 512, len, seed));
	br_guest_set(r, r->data2 + goff, len, 0x5a);
	T_CHECK(br_req_ex(r, VIRTIO_BLK_T_IN, sector, r->data2 + goff, len,
			  piece, flags, &used) == VIRTIO_BLK_S_OK);
	T_CHECK(used == len + 1);
	T_CHECK(fg_check(r->fg, r->data2 + goff, len, seed));
	T_CHECK(fg_live(r->fg) == r->baseline);
	return 0;
}

static void rw_matrix(const struct brig_opts *o, unsigned int flags,
		      uint64_t goff, uint32_t max_len)
{
	struct brig r BRIG_SCOPED = { 0 };
	uint32_t seed = 1;

	T_BR_START(&r, o);
	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		if (sizes[i] > max_len)
			continue;
		for (unsigned int j = 0; j < ARRAY_SIZE(sectors); j++) {
			if (rw_one(&r, sectors[j], sizes[i], seed++, 0, flags,
				   goff)) {
				brig_fini(&r);
				return;
			}
		}
	}
	T_ASSERT(!br_needs_reset(&r));
	T_BR_FINI(&r);
}

static void rw_sizes_direct(void)
{
	rw_matrix(NULL, 0, 0, 1u << 20);
}

static void rw_sizes_indirect(void)
{
	rw_matrix(NULL, GDRV_INDIRECT, 0, 1u << 20);
}

/*
 * Every map ends at a page edge and the buffers start mid-page, so data
 * spans several iovecs. 1 MiB would need 258 iovecs: beyond VQ_MAX_IOV.
 */
static void rw_clamped_unaligned(void)
{
	struct brig_opts o = { .clamp = true };

	rw_matrix(&o, 0, 100, 512u << 10);
}

static void rw_clamped_indirect(void)
{
	struct brig_opts o = { .clamp = true };

	rw_matrix(&o, GDRV_INDIRECT, 4000, 512u << 10);
}

/* Data cut into many small descriptors, direct and indirect. */
static void rw_many_descriptors(void)
{
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	T_ASSERT(!rw_one(&r, 3, 64 * 512, 11, 512, 0, 0));
	T_ASSERT(!rw_one(&r, 5, 200 * 512, 12, 512, GDRV_INDIRECT, 0));
	/* Descriptors that are not sector multiples, only their sum is. */
	T_ASSERT(!rw_one(&r, 9, 4096 * 3, 13, 1000, 0, 0));
	T_ASSERT(!rw_one(&r, 9, 4096 * 3, 14, 100, GDRV_INDIRECT, 0));
	T_BR_FINI(&r);
}

/* The last sector of the disk is writable, one past it is not. */
static void rw_last_sector(void)
{
	struct brig_opts o = { .size = 1u << 20 };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_ASSERT(!rw_one(&r, 2047, 512, 21, 0, 0, 0));
	T_ASSERT(!rw_one(&r, 2040, 4096, 22, 0, 0, 0));
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 2047, r.data, 1024),
	     VIRTIO_BLK_S_IOERR);
	T_BR_FINI(&r);
}

/* A zero-length read or write inside the disk succeeds and does nothing. */
static void rw_zero_length(void)
{
	struct brig r BRIG_SCOPED = { 0 };
	uint32_t used = 0;

	T_BR_START(&r, NULL);
	T_EQ(br_req_ex(&r, VIRTIO_BLK_T_OUT, 4, r.data, 0, 0, 0, &used),
	     VIRTIO_BLK_S_OK);
	T_EQ(used, 1);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 4, r.data, 0), VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_is(&r, 0, 8192, 0));
	T_BR_FINI(&r);
}

/* ---- header and status split across descriptors ------------------------ */

static void split_header_and_status(void)
{
	static const uint32_t cuts[] = { 1, 4, 8, 15 };
	struct brig r BRIG_SCOPED = { 0 };
	uint64_t h;
	uint8_t *p;

	T_BR_START(&r, NULL);
	h = br_hdr(&r, 1);
	for (unsigned int i = 0; i < ARRAY_SIZE(cuts); i++) {
		uint32_t c = cuts[i];
		struct gdrv_buf b[4] = {
			{ h, c, false },
			{ h + c, 16 - c, false },
			{ r.data, 4096, false },
			{ br_st(&r, 1), 1, true },
		};

		br_put_hdr(&r, h, VIRTIO_BLK_T_OUT, 16 + i);
		fg_fill(r.fg, r.data, 4096, 100 + i);
		br_set_status(&r, br_st(&r, 1));
		T_EQ(br_xfer(&r, b, 4, i & 1 ? GDRV_INDIRECT : 0), 1);
		T_EQ(br_status(&r, br_st(&r, 1)), VIRTIO_BLK_S_OK);
		T_ASSERT(br_file_check(&r, (16 + i) * 512, 4096, 100 + i));
	}

	/* Header and data in one readable descriptor. */
	p = fg_ptr(r.fg, r.data, 16 + 1024);
	br_put_hdr(&r, r.data, VIRTIO_BLK_T_OUT, 40);
	fg_fill(r.fg, r.data + 16, 1024, 200);
	{
		struct gdrv_buf b[2] = {
			{ r.data, 16 + 1024, false },
			{ br_st(&r, 2), 1, true },
		};

		br_set_status(&r, br_st(&r, 2));
		T_EQ(br_xfer(&r, b, 2, 0), 1);
		T_EQ(br_status(&r, br_st(&r, 2)), VIRTIO_BLK_S_OK);
		T_ASSERT(br_file_check(&r, 40 * 512, 1024, 200));
	}

	/* Read data and status in one writable descriptor. */
	br_put_hdr(&r, h, VIRTIO_BLK_T_IN, 40);
	p = fg_ptr(r.fg, r.data2, 1025);
	memset(p, 0x77, 1025);
	{
		struct gdrv_buf b[2] = {
			{ h, 16, false },
			{ r.data2, 1025, true },
		};

		T_EQ(br_xfer(&r, b, 2, GDRV_INDIRECT), 1025);
		T_ASSERT(fg_check(r.fg, r.data2, 1024, 200));
		T_EQ(p[1024], VIRTIO_BLK_S_OK);
	}

	/* Status split off the end of a descriptor holding data. */
	br_put_hdr(&r, h, VIRTIO_BLK_T_IN, 40);
	memset(p, 0x77, 1025);
	{
		struct gdrv_buf b[3] = {
			{ h, 16, false },
			{ r.data2, 1000, true },
			{ r.data2 + 1000, 25, true },
		};

		T_EQ(br_xfer(&r, b, 3, 0), 1025);
		T_ASSERT(fg_check(r.fg, r.data2, 1024, 200));
		T_EQ(p[1024], VIRTIO_BLK_S_OK);
	}
	T_EQ(fg_live(r.fg), r.baseline);
	T_BR_FINI(&r);
}

/* ---- batches ------------------------------------------------------------- */

/* @n requests of @len bytes to distinct places in one kick. */
static int batch(struct brig *r, uint32_t type, unsigned int n, uint32_t len,
		 unsigned int flags)
{
	uint16_t heads[BR_SLOTS];
	unsigned int got = 0;
	int rc;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa = (type == VIRTIO_BLK_T_IN ? r->data2 : r->data) +
			       (uint64_t)i * len;

		if (type == VIRTIO_BLK_T_OUT)
			fg_fill(r->fg, gpa, len, 1000 + i);
		else
			br_guest_set(r, gpa, len, 0);
		T_CHECK(br_add(r, i, type, (uint64_t)i * 16, gpa, len, 0,
			       flags) >= 0);
	}
	gdrv_kick(&r->drv, BQ);
	for (int tries = 0; got < n && tries < 100; tries++) {
		T_CHECK(br_run(r) == 0);
		rc = br_collect(r, heads + got, NULL, n - got);
		T_CHECK(rc >= 0);
		got += rc;
	}
	T_CHECK(got == n);
	for (unsigned int i = 0; i < n; i++) {
		T_CHECK(br_status(r, br_st(r, i)) == VIRTIO_BLK_S_OK);
		if (type == VIRTIO_BLK_T_OUT)
			T_CHECK(br_file_check(r, i * 16 * 512, len, 1000 + i));
		else
			T_CHECK(fg_check(r->fg, r->data2 + (uint64_t)i * len,
					 len, 1000 + i));
	}
	return 0;
}

static void batch_full_queue(void)
{
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	T_ASSERT(!batch(&r, VIRTIO_BLK_T_OUT, 256, 8192, GDRV_INDIRECT));
	T_ASSERT(!batch(&r, VIRTIO_BLK_T_IN, 256, 8192, GDRV_INDIRECT));
	/* Fewer interrupts than requests: completions are published together. */
	T_ASSERT(r.drv.nr_irqs < 2 * 256);
	T_EQ(fg_live(r.fg), r.baseline);
	T_BR_FINI(&r);
}

/* Direct chains of three descriptors: 85 requests fill a 256-entry table. */
static void batch_direct(void)
{
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	T_ASSERT(!batch(&r, VIRTIO_BLK_T_OUT, 85, 4096, 0));
	T_ASSERT(!batch(&r, VIRTIO_BLK_T_IN, 85, 4096, 0));
	T_BR_FINI(&r);
}

/* Without EVENT_IDX the device suppresses kicks with NO_NOTIFY. */
static void batch_without_event_idx(void)
{
	struct brig_opts o = { .no_features = 1ULL << VIRTIO_RING_F_EVENT_IDX };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_ASSERT(!batch(&r, VIRTIO_BLK_T_OUT, 100, 4096, GDRV_INDIRECT));
	T_ASSERT(!batch(&r, VIRTIO_BLK_T_IN, 100, 4096, GDRV_INDIRECT));
	T_ASSERT(!rw_one(&r, 1, 512, 5, 0, 0, 0));
	T_BR_FINI(&r);
}

/*
 * A small io_uring (8 SQEs) under a full queue: the SQ fills, gets submitted
 * and refilled; every request still completes once.
 */
static void batch_small_ring(void)
{
	struct brig_opts o = { .ring = 8 };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_ASSERT(!batch(&r, VIRTIO_BLK_T_OUT, 256, 4096, GDRV_INDIRECT));
	T_ASSERT(!batch(&r, VIRTIO_BLK_T_IN, 256, 4096, GDRV_INDIRECT));
	T_BR_FINI(&r);
}

/*
 * A 512-entry queue with 300 chains in one kick: the per-kick budget (256)
 * stops popping, and the queue resumes from the loop by itself.
 */
static void batch_over_budget(void)
{
	struct brig_opts o = { .queue_size = 512, .num = 512 };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_ASSERT(!batch(&r, VIRTIO_BLK_T_OUT, 300, 4096, GDRV_INDIRECT));
	T_ASSERT(!batch(&r, VIRTIO_BLK_T_IN, 300, 4096, GDRV_INDIRECT));
	T_BR_FINI(&r);
}

/* ---- EOF and flush ------------------------------------------------------- */

/*
 * The file shrinks under the device: a read across the new EOF returns the
 * data before it and zeroes after it (a short read, then EOF).
 */
static void read_past_eof_zero_fills(void)
{
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	T_ASSERT(!br_file_fill(&r, 0, 16384, 77));
	T_ASSERT(!ftruncate(r.fd, 6000));
	br_guest_set(&r, r.data, 16384, 0xaa);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 0, r.data, 16384), VIRTIO_BLK_S_OK);
	T_ASSERT(fg_check(r.fg, r.data, 6000, 77));
	T_ASSERT(br_guest_is(&r, r.data + 6000, 16384 - 6000, 0));
	/* Entirely past EOF: all zeroes. */
	br_guest_set(&r, r.data, 4096, 0xaa);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 100, r.data, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(br_guest_is(&r, r.data, 4096, 0));
	T_BR_FINI(&r);
}

static void flush_ok(const struct brig_opts *o)
{
	struct brig r BRIG_SCOPED = { 0 };
	uint32_t used = 0;

	T_BR_START(&r, o);
	T_ASSERT(!rw_one(&r, 10, 4096, 31, 0, 0, 0));
	T_EQ(br_req_ex(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, 0, &used),
	     VIRTIO_BLK_S_OK);
	T_EQ(used, 1);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	T_BR_FINI(&r);
}

static void flush_writeback(void)
{
	flush_ok(NULL);
}

static void flush_writethrough(void)
{
	struct brig_opts o = { .writethrough = true };

	flush_ok(&o);
}

static void flush_without_flush_feature(void)
{
	struct brig_opts o = { .no_features = 1ULL << VIRTIO_BLK_F_FLUSH };

	flush_ok(&o);
}

/*
 * Writes and a FLUSH in one kick: the FLUSH completes after every write
 * that was made available before it.
 */
static void flush_completes_after_earlier_writes(void)
{
	uint16_t heads[64];
	unsigned int got = 0;
	struct brig r BRIG_SCOPED = { 0 };
	int flush, rc;

	T_BR_START(&r, NULL);
	for (int round = 0; round < 10; round++) {
		got = 0;
		for (unsigned int i = 0; i < 32; i++) {
			fg_fill(r.fg, r.data + i * 65536, 65536, i);
			T_ASSERT(br_add(&r, i, VIRTIO_BLK_T_OUT, i * 128,
					r.data + i * 65536, 65536, 0,
					GDRV_INDIRECT) >= 0);
		}
		flush = br_add(&r, 32, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, 0);
		T_ASSERT(flush >= 0);
		for (unsigned int i = 33; i < 40; i++)
			T_ASSERT(br_add(&r, i, VIRTIO_BLK_T_OUT, i * 128,
					r.data + i * 65536, 65536, 0,
					GDRV_INDIRECT) >= 0);
		gdrv_kick(&r.drv, BQ);
		while (got < 40) {
			T_EQ(br_run(&r), 0);
			rc = br_collect(&r, heads + got, NULL, 40 - got);
			T_ASSERT(rc > 0);
			got += rc;
		}
		/* The flush's used element comes after the first 32 writes'. */
		for (unsigned int i = 0; i < 32; i++)
			T_ASSERT(heads[i] != flush);
		T_EQ(br_status(&r, br_st(&r, 32)), VIRTIO_BLK_S_OK);
	}
	T_BR_FINI(&r);
}

/*
 * With poll_us, the guest need not kick while the queue is busy: a request
 * added just after another completed is seen without a kick, and once the
 * queue stayed idle for a few polls the guest is asked to kick again.
 */
static void poll_spares_kicks(void)
{
	struct brig_opts o = { .poll_us = 200 };
	uint16_t h;
	struct brig r BRIG_SCOPED = { 0 };
	int head;

	T_BR_START(&r, &o);
	fg_fill(r.fg, r.data, 4096, 3);
	T_ASSERT(br_add(&r, 0, VIRTIO_BLK_T_OUT, 0, r.data, 4096, 0, 0) >= 0);
	T_ASSERT(gdrv_kick(&r.drv, BQ));
	/* Only until it completed: the idle polls are still to come. */
	for (int i = 0; i < 100000 && br_collect(&r, &h, NULL, 1) < 1; i++)
		T_ASSERT(evl_run_once(&r.loop, true) >= 0);
	T_EQ(br_status(&r, br_st(&r, 0)), VIRTIO_BLK_S_OK);
	/* Right after: kicks are still off, the poll finds the request. */
	head = br_add(&r, 1, VIRTIO_BLK_T_IN, 0, r.data2, 4096, 0, 0);
	T_ASSERT(head >= 0);
	T_ASSERT(!gdrv_kick(&r.drv, BQ));
	T_EQ(br_run(&r), 0); /* runs the loop until the polls are over */
	T_EQ(br_collect(&r, &h, NULL, 1), 1);
	T_EQ(h, head);
	T_ASSERT(fg_check(r.fg, r.data2, 4096, 3));
	/* Idle long enough: the driver is asked to kick again. */
	head = br_add(&r, 2, VIRTIO_BLK_T_IN, 0, r.data2, 4096, 0, 0);
	T_ASSERT(head >= 0);
	T_ASSERT(gdrv_kick(&r.drv, BQ));
	T_EQ(br_run(&r), 0);
	T_EQ(br_collect(&r, &h, NULL, 1), 1);
	T_EQ(h, head);
	T_BR_FINI(&r);

	/* Without poll_us the driver kicks every time the queue drained. */
	T_BR_START(&r, NULL);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(br_add(&r, 1, VIRTIO_BLK_T_IN, 0, r.data2, 4096, 0, 0) >= 0);
	T_ASSERT(gdrv_kick(&r.drv, BQ));
	T_EQ(br_run(&r), 0);
	T_EQ(br_collect(&r, &h, NULL, 1), 1);
	T_BR_FINI(&r);
}

T_MAIN(T_CASE(rw_sizes_direct), T_CASE(rw_sizes_indirect),
       T_CASE(rw_clamped_unaligned), T_CASE(rw_clamped_indirect),
       T_CASE(rw_many_descriptors), T_CASE(rw_last_sector),
       T_CASE(rw_zero_length), T_CASE(split_header_and_status),
       T_CASE(batch_full_queue), T_CASE(batch_direct),
       T_CASE(batch_without_event_idx), T_CASE(batch_small_ring),
       T_CASE(batch_over_budget), T_CASE(read_past_eof_zero_fills),
       T_CASE(flush_writeback), T_CASE(flush_writethrough),
       T_CASE(flush_without_flush_feature),
       T_CASE(flush_completes_after_earlier_writes), T_CASE(poll_spares_kicks))
