/* SPDX-License-Identifier: MIT */
/*
 * The virtio-rng tests' rig: a fake guest, an event loop, the device and a
 * guest driver, with a fake entropy source the cases can make fail, and
 * helpers that post buffers, run the loop and collect used elements.
 */
#ifndef XVB_TESTS_RNG_RIG_H
#define XVB_TESTS_RNG_RIG_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <linux/virtio_ids.h>

#include "devices/rng/rng.h"
#include "fakeguest.h"
#include "gdrv.h"
#include "hang.h"
#include "procfs.h"
#include "t.h"
#include "virtio/vmmio.h"

#define RQ 0 /* the one queue */
#define RR_BUF_SIZE (32u << 20)
#define RR_FILL 0xa5 /* guest bytes before the device writes them */
#define RR_WAIT_MS ((int)t_hang_ms())

/*
 * The fake entropy source: getrandom(2) unless told to fail. Tests are
 * single-threaded; the state is the running case's.
 */
struct rr_src {
	unsigned int calls;
	unsigned int ok_first;	/* this many calls succeed, then: */
	unsigned int fail_next; /* this many calls fail with @err */
	int err;		/* errno, or 0: return 0 bytes */
	size_t max_len;		/* short reads: at most this much; 0: none */
	bool overclaim;		/* claims one byte more than asked */
};
static struct rr_src rr_src;

static inline ssize_t rr_source(void *buf, size_t len, unsigned int flags)
{
	ssize_t n;

	rr_src.calls++;
	if (!(flags & GRND_NONBLOCK))
		abort(); /* the device must never block the loop */
	if (rr_src.ok_first) {
		rr_src.ok_first--;
	} else if (rr_src.fail_next) {
		rr_src.fail_next--;
		if (!rr_src.err)
			return 0;
		errno = rr_src.err;
		return -1;
	}
	if (rr_src.max_len && len > rr_src.max_len)
		len = rr_src.max_len;
	n = getrandom(buf, len, flags);
	if (n > 0 && rr_src.overclaim)
		n++;
	return n;
}

struct rrig_opts {
	uint64_t rate;	      /* conf->rate: 0 for no limit */
	uint32_t burst;	      /* conf->burst */
	uint16_t num;	      /* entries of the queue; 0: 64 */
	uint16_t queue_size;  /* conf->queue_size (QueueNumMax) */
	uint64_t features;    /* driver's wanted features; 0: all */
	uint64_t no_features; /* removed from the wanted set */
	bool clamp;	      /* 4 KiB map clamping */
	bool real_source;     /* getrandom(2) itself, not rr_source */
};

struct rrig {
	struct rrig_opts o;
	struct fakeguest *fg;
	struct evl loop;
	struct vrng *rng;
	struct vdev *vdev;
	struct gdrv drv;
	uint64_t buf;	  /* RR_BUF_SIZE bytes, page aligned */
	size_t baseline;  /* live mappings once up: the rings */
	unsigned int ops; /* the loop's own ops in flight (its wake watch) */
	int fds;	  /* open descriptors before the rig */
	const char *why;
};

static inline int rr_fail(struct rrig *r, const char *why)
{
	r->why = why;
	return -1;
}

static inline int rrig_up(struct rrig *r)
{
	uint64_t want = r->o.features ? r->o.features : ~0ULL;

	gdrv_init(&r->drv, r->vdev, r->fg);
	if (gdrv_up(&r->drv, want & ~r->o.no_features, 1,
		    r->o.num ? r->o.num : 64))
		return rr_fail(r, r->drv.why ? r->drv.why : "gdrv_up");
	r->baseline = fg_live(r->fg);
	return 0;
}

static inline int rrig_start(struct rrig *r, const struct rrig_opts *o)
{
	struct vrng_conf conf = { .domid = 3, .name = "vrng-test" };

	memset(r, 0, sizeof(*r));
	memset(&rr_src, 0, sizeof(rr_src));
	if (o)
		r->o = *o;
	conf.rate = r->o.rate;
	conf.burst = r->o.burst;
	conf.queue_size = r->o.queue_size;
	conf.source = r->o.real_source ? NULL : rr_source;
	r->fds = t_count_fds(0);
	r->fg = fg_new(64u << 20);
	if (!r->fg)
		return rr_fail(r, "fg_new");
	fg_set_clamp(r->fg, r->o.clamp);
	if (evl_init(&r->loop, 64))
		return rr_fail(r, "evl_init");
	r->ops = r->loop.inflight;
	if (vrng_create(&r->rng, &conf, &r->fg->gmem, &r->loop))
		return rr_fail(r, "vrng_create");
	r->vdev = vrng_vdev(r->rng);
	r->buf = fg_alloc(r->fg, RR_BUF_SIZE, 4096);
	if (!r->buf)
		return rr_fail(r, "guest RAM exhausted");
	return rrig_up(r);
}

/* Tears down; 0 if no mapping, SQE or descriptor was left. */
static inline int rrig_fini(struct rrig *r)
{
	int rc = 0;

	vrng_destroy(r->rng);
	r->rng = NULL;
	if (r->loop.inflight != r->ops)
		rc = rr_fail(r, "operations left in flight");
	gdrv_fini(&r->drv);
	if (r->fg && (fg_live(r->fg) || !fg_ok(r->fg)))
		rc = rr_fail(r, "guest mappings leaked or bogus unmaps");
	evl_exit(&r->loop);
	fg_free(r->fg);
	r->fg = NULL;
	if (t_count_fds(0) != r->fds)
		rc = rr_fail(r, "file descriptors leaked");
	return rc;
}

/* A failed case's way out (RRIG_SCOPED): tears down, verdict ignored. */
static inline void rrig_cleanup(struct rrig *r)
{
	if (r->fg || r->rng)
		rrig_fini(r);
}
#define RRIG_SCOPED __attribute__((cleanup(rrig_cleanup)))

#define T_RR(r, expr) T_WHY(r, expr)
#define T_RR_START(r, o) T_RR(r, rrig_start(r, o))
#define T_RR_FINI(r) T_RR(r, rrig_fini(r))

/* ---- requests --------------------------------------------------------- */

/* Runs the loop until nothing of the device's is in flight (its timer). */
static inline int rr_run(struct rrig *r)
{
	return evl_drain(&r->loop, RR_WAIT_MS);
}

/* Sets guest bytes [gpa, gpa + len) to RR_FILL. */
static inline void rr_clear(struct rrig *r, uint64_t gpa, size_t len)
{
	uint8_t *p = fg_ptr(r->fg, gpa, len);

	if (p)
		memset(p, RR_FILL, len);
}

/* Posts one writable buffer (not kicked). Returns the head or -errno. */
static inline int rr_post(struct rrig *r, uint64_t gpa, uint32_t len)
{
	struct gdrv_buf b = { gpa, len, true };

	return gdrv_add(&r->drv, RQ, &b, 1, 0);
}

/*
 * Posts a chain, kicks, runs the loop and collects it. Returns the used
 * length, or -errno (-ETIMEDOUT if it never completed).
 */
static inline long rr_xfer(struct rrig *r, const struct gdrv_buf *b,
			   unsigned int n, unsigned int flags)
{
	uint32_t len;
	uint16_t h;
	int head, rc;

	head = gdrv_add(&r->drv, RQ, b, n, flags);
	if (head < 0)
		return head;
	gdrv_kick(&r->drv, RQ);
	rc = rr_run(r);
	if (rc)
		return rc;
	rc = gdrv_get_used(&r->drv, RQ, &h, &len);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ETIMEDOUT;
	if (h != head)
		return -EPROTO;
	return len;
}

/* One writable buffer of @len bytes at @gpa, through rr_xfer. */
static inline long rr_read(struct rrig *r, uint64_t gpa, uint32_t len)
{
	struct gdrv_buf b = { gpa, len, true };

	return rr_xfer(r, &b, 1, 0);
}

/* Collects every used element; returns how many and their total length. */
static inline int rr_collect(struct rrig *r, uint64_t *bytes)
{
	uint32_t len;
	uint16_t h;
	int n = 0, rc;

	while ((rc = gdrv_get_used(&r->drv, RQ, &h, &len)) == 1) {
		n++;
		if (bytes)
			*bytes += len;
	}
	return rc < 0 ? rc : n;
}

/* The device's operations in flight (its timer). */
static inline unsigned int rr_ops(const struct rrig *r)
{
	return r->loop.inflight - r->ops;
}

static inline struct vrng_stats rr_stats(struct rrig *r)
{
	struct vrng_stats st;

	vrng_get_stats(r->rng, &st);
	return st;
}

static inline bool rr_needs_reset(struct rrig *r)
{
	return gdrv_r32(&r->drv, VIRTIO_MMIO_STATUS) &
	       VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* True if guest bytes [gpa, gpa + len) are all @c. */
static inline bool rr_is(struct rrig *r, uint64_t gpa, size_t len, int c)
{
	const uint8_t *p = fg_ptr(r->fg, gpa, len);

	for (size_t i = 0; p && i < len; i++)
		if (p[i] != (uint8_t)c)
			return false;
	return p != NULL;
}

/*
 * True if [gpa, gpa + len) does not look constant: at least len / 4
 * distinct byte values for len >= 64 (random bytes give ~len * 0.6 at 256
 * and ~all 256 at 4 KiB; the odds of failing are below 2^-100), or, for
 * shorter buffers, not every byte equal to the first.
 */
static inline bool rr_random_looking(struct rrig *r, uint64_t gpa, size_t len)
{
	const uint8_t *p = fg_ptr(r->fg, gpa, len);
	bool seen[256] = { false };
	unsigned int distinct = 0;

	if (!p || !len)
		return false;
	for (size_t i = 0; i < len; i++) {
		distinct += !seen[p[i]];
		seen[p[i]] = true;
	}
	if (len < 64)
		return len < 8 || distinct > 1;
	return distinct >= (len / 4 < 256 ? len / 4 : 200);
}

/* Reset, set up again; the rings' mappings are back to the baseline. */
static inline int rrig_recover(struct rrig *r)
{
	gdrv_reset(&r->drv);
	if (fg_live(r->fg) != r->baseline - 3)
		return rr_fail(r, "mappings left after reset");
	return rrig_up(r);
}

#endif
