// SPDX-License-Identifier: MIT
/*
 * virtio-rng through the transport: what the driver sees of the device,
 * random bytes delivered in buffers of many shapes with the right used
 * lengths, readable descriptors refused, and the entropy source failing
 * (EINTR, EAGAIN, short reads) without the loop ever blocking.
 */
#include "rng_rig.h"

/* Device ID 4, no device feature, no config space. */
static void identity(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	uint64_t f;

	T_RR_START(&r, NULL);
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	f = gdrv_device_features(&r.drv);
	T_EQ_U64(f, VDEV_TRANSPORT_FEATURES);
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	/* Config space is empty: reads give 0, writes change nothing. */
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_CONFIG), 0);
	gdrv_w32(&r.drv, VIRTIO_MMIO_CONFIG, 0xffffffff);
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_CONFIG), 0);
	T_ASSERT(!rr_needs_reset(&r));
	/* A second queue does not exist. */
	gdrv_w32(&r.drv, VIRTIO_MMIO_QUEUE_SEL, 1);
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	T_RR_FINI(&r);
}

static const uint32_t sizes[] = {
	1, 2, 15, 16, 64, 100, 4095, 4096, 4097, 65535, 65536, 65537, 1u << 20,
};

/*
 * Each size: the used length is the buffer's, up to VRNG_MAX_FILL; bytes
 * past it are untouched; what was written looks random and differs from
 * the read before.
 */
static void sizes_one_buffer(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct rrig_opts o = { .rate = 0, .real_source = true };
	uint64_t a, b;

	T_RR_START(&r, &o);
	a = r.buf;
	b = r.buf + (2u << 20);
	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint32_t len = sizes[i];
		uint32_t want = len < VRNG_MAX_FILL ? len : VRNG_MAX_FILL;
		const uint8_t *pa, *pb;

		rr_clear(&r, a, len + 64);
		T_EQ(rr_read(&r, a, len), want);
		T_ASSERT(rr_is(&r, a + want, len + 64 - want, RR_FILL));
		T_ASSERT(rr_random_looking(&r, a, want));
		rr_clear(&r, b, want);
		T_EQ(rr_read(&r, b, len), want);
		pa = fg_ptr(r.fg, a, want);
		pb = fg_ptr(r.fg, b, want);
		/* Two reads of 8 bytes or more are equal with odds 2^-64. */
		if (want >= 8)
			T_ASSERT(memcmp(pa, pb, want));
	}
	T_EQ(fg_live(r.fg), r.baseline);
	T_ASSERT(!rr_needs_reset(&r));
	T_RR_FINI(&r);
}

/* Several writable descriptors: filled in order, across all of them. */
static void chain_of_buffers(unsigned int flags, bool clamp)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct rrig_opts o = { .clamp = clamp, .real_source = true };
	/* Unaligned and crossing pages, so clamping splits them. */
	struct gdrv_buf b[4];
	static const uint32_t lens[4] = { 100, 5000, 1, 300 };
	uint32_t total = 0;

	T_RR_START(&r, &o);
	for (unsigned int i = 0; i < 4; i++) {
		b[i] = (struct gdrv_buf){ r.buf + 4000 + i * 16384, lens[i],
					  true };
		rr_clear(&r, b[i].gpa - 16, lens[i] + 32);
		total += lens[i];
	}
	T_EQ(rr_xfer(&r, b, 4, flags), total);
	for (unsigned int i = 0; i < 4; i++) {
		T_ASSERT(rr_is(&r, b[i].gpa - 16, 16, RR_FILL));
		T_ASSERT(rr_is(&r, b[i].gpa + lens[i], 16, RR_FILL));
		T_ASSERT(rr_random_looking(&r, b[i].gpa, lens[i]));
	}
	T_EQ(fg_live(r.fg), r.baseline);
	T_RR_FINI(&r);
}

static void chain_direct(void)
{
	chain_of_buffers(0, false);
}

static void chain_indirect_clamped(void)
{
	chain_of_buffers(GDRV_INDIRECT, true);
}

/*
 * A chain longer than VRNG_MAX_FILL: the first buffers are filled, the rest
 * untouched, the used length says how much (virtio 1.2, 5.4.6.2: the
 * device MAY use less than the whole buffer).
 */
static void huge_chain(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct rrig_opts o = {
		.clamp = true,
		.num = 256,
		.queue_size = 256,
		.real_source = true,
	};
	struct gdrv_buf b[200];
	struct gdrv_buf big;
	struct vrng_stats st;

	T_RR_START(&r, &o);
	big = (struct gdrv_buf){ r.buf, RR_BUF_SIZE, true };
	for (unsigned int i = 0; i < 200; i++)
		b[i] = (struct gdrv_buf){ r.buf + i * 4096u, 4096, true };
	rr_clear(&r, r.buf, 200 * 4096);
	T_EQ(rr_xfer(&r, b, 200, GDRV_INDIRECT), VRNG_MAX_FILL);
	T_ASSERT(rr_random_looking(&r, r.buf, VRNG_MAX_FILL));
	T_ASSERT(rr_is(&r, r.buf + VRNG_MAX_FILL, 200 * 4096 - VRNG_MAX_FILL,
		       RR_FILL));
	/* One source call per buffer filled, none for the rest. */
	st = rr_stats(&r);
	T_EQ(st.calls, VRNG_MAX_FILL / 4096);
	/* 32 MiB in one descriptor: mapped in 4 KiB pieces, 64 KiB filled. */
	rr_clear(&r, r.buf, 2 * VRNG_MAX_FILL);
	T_EQ(rr_xfer(&r, &big, 1, 0), -ETIMEDOUT); /* > VQ_MAX_IOV pieces */
	T_ASSERT(rr_needs_reset(&r));
	T_ASSERT(rr_is(&r, r.buf, 2 * VRNG_MAX_FILL, RR_FILL));
	T_RR(&r, rrig_recover(&r));
	/* Unclamped, the same buffer is one iovec. */
	fg_set_clamp(r.fg, false);
	T_EQ(rr_xfer(&r, &big, 1, 0), VRNG_MAX_FILL);
	T_ASSERT(rr_is(&r, r.buf + VRNG_MAX_FILL, 4096, RR_FILL));
	T_EQ(fg_live(r.fg), r.baseline);
	T_RR_FINI(&r);
}

/*
 * The driver MUST NOT place device-readable buffers (virtio 1.2, 5.4.6.1):
 * a chain with one is a protocol error, the device needs a reset, nothing
 * of the chain is written or completed, and the device works after it.
 */
static void readable_refused(void)
{
	static const struct {
		const char *name;
		struct gdrv_buf b[3];
		unsigned int n;
	} cases[] = {
		{ "readable only", { { 0, 64, false } }, 1 },
		{ "readable, then writable",
		  { { 0, 16, false }, { 4096, 64, true } },
		  2 },
		{ "two readable, one writable",
		  { { 0, 16, false }, { 512, 16, false }, { 4096, 64, true } },
		  3 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		for (unsigned int ind = 0; ind < 2; ind++) {
			struct rrig r RRIG_SCOPED = { 0 };
			struct gdrv_buf b[3];
			uint16_t used;

			T_RR_START(&r, NULL);
			for (unsigned int j = 0; j < cases[i].n; j++) {
				b[j] = cases[i].b[j];
				b[j].gpa += r.buf;
			}
			rr_clear(&r, r.buf, 8192);
			used = gdrv_used_idx(&r.drv, RQ);
			T_EQ(rr_xfer(&r, b, cases[i].n,
				     ind ? GDRV_INDIRECT : 0),
			     -ETIMEDOUT);
			T_ASSERT(rr_needs_reset(&r));
			T_EQ(gdrv_used_idx(&r.drv, RQ), used);
			T_ASSERT(rr_is(&r, r.buf, 8192, RR_FILL));
			T_EQ(rr_stats(&r).calls, 0);
			T_EQ(fg_live(r.fg), r.baseline);
			T_RR(&r, rrig_recover(&r));
			T_EQ(rr_read(&r, r.buf, 64), 64);
			T_RR_FINI(&r);
		}
	}
}

/*
 * Hostile buffers the ring walker refuses before the device sees them: a
 * zero-length descriptor, a buffer outside RAM (the MMIO window, past the
 * end, straddling it). The device needs a reset, nothing was filled.
 */
static void hostile_buffers(void)
{
	static const struct {
		uint64_t gpa; /* absolute; 0: the rig's buffer */
		uint32_t len;
	} cases[] = {
		{ 0, 0 },
		{ FG_MMIO_BASE, 64 },
		{ FG_RAM_BASE + (64u << 20), 64 },
		{ FG_RAM_BASE + (64u << 20) - 32, 64 },
		{ ~0ULL - 31, 64 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct rrig r RRIG_SCOPED = { 0 };
		struct gdrv_buf b[2];

		T_RR_START(&r, NULL);
		b[0] = (struct gdrv_buf){ r.buf, 64, true };
		b[1] = (struct gdrv_buf){ cases[i].gpa ? cases[i].gpa : r.buf,
					  cases[i].len, true };
		rr_clear(&r, r.buf, 128);
		T_EQ(rr_xfer(&r, b, 2, 0), -ETIMEDOUT);
		T_ASSERT(rr_needs_reset(&r));
		T_ASSERT(rr_is(&r, r.buf, 128, RR_FILL));
		T_EQ(rr_stats(&r).calls, 0);
		T_EQ(fg_live(r.fg), r.baseline);
		T_RR(&r, rrig_recover(&r));
		T_EQ(rr_read(&r, r.buf, 64), 64);
		T_RR_FINI(&r);
	}
}

/* EINTR: retried at once; the chain completes whole. */
static void source_eintr(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct vrng_stats st;

	T_RR_START(&r, NULL);
	rr_src.fail_next = 3;
	rr_src.err = EINTR;
	T_EQ(rr_read(&r, r.buf, 256), 256);
	T_ASSERT(rr_random_looking(&r, r.buf, 256));
	st = rr_stats(&r);
	T_EQ(st.calls, 4);
	T_EQ(st.waits, 0);
	T_RR_FINI(&r);
}

/* Short reads: the device asks again for the rest, buffer by buffer. */
static void source_short_reads(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct gdrv_buf b[2];

	T_RR_START(&r, NULL);
	rr_src.max_len = 7;
	b[0] = (struct gdrv_buf){ r.buf, 20, true };
	b[1] = (struct gdrv_buf){ r.buf + 4096, 30, true };
	rr_clear(&r, r.buf, 8192);
	T_EQ(rr_xfer(&r, b, 2, 0), 50);
	/* 20 = 7 + 7 + 6, 30 = 7 * 4 + 2: no call crosses a buffer. */
	T_EQ(rr_stats(&r).calls, 3 + 5);
	T_ASSERT(rr_is(&r, r.buf + 20, 4096 - 20, RR_FILL));
	T_ASSERT(rr_is(&r, r.buf + 4096 + 30, 64, RR_FILL));
	T_ASSERT(rr_random_looking(&r, r.buf, 20));
	T_ASSERT(rr_random_looking(&r, r.buf + 4096, 30));
	T_RR_FINI(&r);
}

/*
 * The source fails after the first buffer filled: the bytes already there
 * are delivered at once, the used length says how many (one or more is
 * all the spec asks), and nothing waits.
 */
static void source_fails_midway(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct gdrv_buf b[2];
	struct vrng_stats st;

	T_RR_START(&r, NULL);
	b[0] = (struct gdrv_buf){ r.buf, 20, true };
	b[1] = (struct gdrv_buf){ r.buf + 4096, 30, true };
	rr_src.ok_first = 1;
	rr_src.fail_next = 1;
	rr_src.err = EAGAIN;
	rr_clear(&r, r.buf, 8192);
	T_EQ(rr_xfer(&r, b, 2, 0), 20);
	T_ASSERT(rr_random_looking(&r, r.buf, 20));
	T_ASSERT(rr_is(&r, r.buf + 4096, 30, RR_FILL));
	st = rr_stats(&r);
	T_EQ(st.calls, 2);
	T_EQ(st.src_errors, 1);
	T_EQ(st.waits, 0);
	T_RR_FINI(&r);
}

/* EINTR without end is a failure like EAGAIN: the chain waits. */
static void source_eintr_storm(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct vrng_stats st;

	T_RR_START(&r, NULL);
	rr_src.fail_next = 8;
	rr_src.err = EINTR;
	T_EQ(rr_read(&r, r.buf, 64), 64);
	st = rr_stats(&r);
	T_EQ(st.calls, 9);
	T_EQ(st.waits, 1);
	T_RR_FINI(&r);
}

/*
 * EAGAIN (the host's pool not ready) and a source giving 0 bytes: the
 * chain waits on a timer, never on the loop, and completes once the
 * source gives. One wake-up per failure: no spinning.
 */
static void source_eagain(int err)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct vrng_stats st;
	uint16_t h;
	uint32_t len;

	T_RR_START(&r, NULL);
	rr_src.fail_next = 2;
	rr_src.err = err;
	T_ASSERT(rr_post(&r, r.buf, 64) >= 0);
	gdrv_kick(&r.drv, RQ);
	/* The kick returned: nothing delivered, a timer armed. */
	T_EQ(gdrv_get_used(&r.drv, RQ, &h, &len), 0);
	T_EQ(rr_ops(&r), 1);
	T_EQ(fg_live(r.fg), r.baseline + 1); /* the one chain held */
	T_EQ(rr_run(&r), 0);
	T_EQ(gdrv_get_used(&r.drv, RQ, &h, &len), 1);
	T_EQ(len, 64);
	st = rr_stats(&r);
	T_EQ(st.calls, 3);
	T_EQ(st.waits, 2);
	T_EQ(st.src_errors, 2);
	T_EQ(fg_live(r.fg), r.baseline);
	T_RR_FINI(&r);
}

static void source_eagain_errno(void)
{
	source_eagain(EAGAIN);
}

static void source_gives_nothing(void)
{
	source_eagain(0);
}

/* A source claiming more than it was asked is not believed. */
static void source_overclaims(void)
{
	struct rrig r RRIG_SCOPED = { 0 };

	T_RR_START(&r, NULL);
	rr_src.overclaim = true;
	rr_clear(&r, r.buf, 4096);
	T_EQ(rr_read(&r, r.buf, 100), 100);
	T_ASSERT(rr_is(&r, r.buf + 100, 4096 - 100, RR_FILL));
	T_RR_FINI(&r);
}

/*
 * Chains of many 1-byte buffers cost a source call per byte: a run ends on
 * the calls it made, not only on bytes or chains, so such a guest cannot
 * hold the loop for 256 chains of 1024 calls. All are served in the end.
 */
static void tiny_buffers_end_the_run(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct rrig_opts o = {
		.num = 256,
		.queue_size = 256,
		.real_source = true,
	};
	struct gdrv_buf b[128];
	uint64_t bytes = 0;
	const unsigned int chains = 40;
	int n;

	T_RR_START(&r, &o);
	for (unsigned int c = 0; c < chains; c++) {
		for (unsigned int i = 0; i < 128; i++)
			b[i] = (struct gdrv_buf){ r.buf + (c * 128 + i) * 2, 1,
						  true };
		T_ASSERT(gdrv_add(&r.drv, RQ, b, 128, GDRV_INDIRECT) >= 0);
	}
	gdrv_kick(&r.drv, RQ); /* the kick runs the queue once */
	T_ASSERT(rr_stats(&r).calls < chains * 128);
	T_RR(&r, rr_run(&r));
	n = rr_collect(&r, &bytes);
	T_EQ(n, chains);
	T_EQ(bytes, chains * 128);
	T_EQ(rr_stats(&r).calls, chains * 128);
	T_RR_FINI(&r);
}

T_MAIN(T_CASE(identity), T_CASE(sizes_one_buffer), T_CASE(chain_direct),
       T_CASE(chain_indirect_clamped), T_CASE(huge_chain),
       T_CASE(readable_refused), T_CASE(hostile_buffers), T_CASE(source_eintr),
       T_CASE(source_short_reads), T_CASE(source_fails_midway),
       T_CASE(source_eintr_storm), T_CASE(source_eagain_errno),
       T_CASE(source_gives_nothing), T_CASE(source_overclaims),
       T_CASE(tiny_buffers_end_the_run))
