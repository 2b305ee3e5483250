// SPDX-License-Identifier: MIT
/*
 * virtio-rng's rate limit and what a guest costs: a guest asking far more
 * than the rate gets it over time, never more than the bucket allows, with
 * one timer wake-up per chain at most (no spinning); a waiting guest holds
 * one chain; a guest that never collects or never posts costs nothing; a
 * reset drops the waiting chain and keeps the bucket.
 */
#include "rng_rig.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Posts @n chains of @len bytes, kicks once and runs the loop until the
 * device has nothing in flight. Returns the bytes delivered (or -errno);
 * *@ns is how long it took, measured around it.
 */
static long long ask(struct rrig *r, unsigned int n, uint32_t len, uint64_t *ns)
{
	uint64_t bytes = 0, t0;
	int rc;

	for (unsigned int i = 0; i < n; i++) {
		rc = rr_post(r, r->buf + (uint64_t)i * len, len);
		if (rc < 0)
			return rc;
	}
	t0 = now_ns();
	gdrv_kick(&r->drv, RQ);
	rc = rr_run(r);
	*ns = now_ns() - t0;
	if (rc)
		return rc;
	rc = rr_collect(r, &bytes);
	if (rc < 0)
		return rc;
	return rc == (int)n ? (long long)bytes : -ETIMEDOUT;
}

/*
 * 16 chains of 2 KiB at 32 KiB/s with a 4 KiB burst: all delivered whole,
 * in about a second, never more than burst + rate * elapsed, and each
 * timer wake-up serves a chain: the device waited, it did not poll.
 */
static void rate_limits(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct rrig_opts o = { .rate = 32u << 10, .burst = 4096 };
	const unsigned int n = 16;
	struct vrng_stats st;
	long long got;
	uint64_t ns;

	T_RR_START(&r, &o);
	got = ask(&r, n, 2048, &ns);
	T_EQ(got, (long long)n * 2048);
	/* The bucket's bound, with the test's own clock around the run. */
	T_ASSERT((uint64_t)got <= o.burst + o.rate * ns / 1000000000ull + 1);
	st = rr_stats(&r);
	T_EQ(st.chains, n);
	T_EQ(st.calls, n);	     /* one getrandom call per chain */
	T_ASSERT(st.waits <= n - 2); /* the first two came from the burst */
	T_EQ(st.throttled, st.waits);
	T_EQ(rr_ops(&r), 0);
	printf("# %u chains of 2 KiB at 32 KiB/s: %.2f s, %llu timer wake-ups\n",
	       n, ns / 1e9, (unsigned long long)st.waits);
	T_RR_FINI(&r);
}

/*
 * Chains larger than the burst get a burst each: the bucket can always
 * serve the chain it waits for.
 */
static void chain_larger_than_burst(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct rrig_opts o = { .rate = 64u << 10, .burst = 1024 };
	uint64_t ns;

	T_RR_START(&r, &o);
	T_EQ(ask(&r, 4, 8192, &ns), 4 * 1024);
	T_ASSERT(rr_stats(&r).waits <= 3);
	T_RR_FINI(&r);
}

/* What the bucket holds at start comes at once: no wait, no timer. */
static void burst_at_once(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct rrig_opts o = { .rate = 1024, .burst = 8192 };
	uint64_t ns;

	T_RR_START(&r, &o);
	T_EQ(ask(&r, 8, 1024, &ns), 8192);
	T_EQ(rr_stats(&r).waits, 0);
	T_EQ(rr_stats(&r).throttled, 0);
	T_RR_FINI(&r);
}

/*
 * No limit (rate=0): 8 MiB in one kick is delivered whole, the run yielding
 * to the loop now and then (a zero timeout); still at most one wake-up per
 * chain.
 */
static void unlimited_yields(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct rrig_opts o = { .rate = 0, .real_source = true };
	const unsigned int n = 64, len = 128u << 10;
	struct vrng_stats st;
	uint64_t ns;

	T_RR_START(&r, &o);
	T_EQ(ask(&r, n, len, &ns), (long long)n * VRNG_MAX_FILL);
	st = rr_stats(&r);
	T_EQ(st.chains, n);
	T_ASSERT(st.waits >= 1);
	T_ASSERT(st.waits < n);
	T_EQ(st.throttled, 0);
	T_RR_FINI(&r);
}

/*
 * Throttled (1 B/s, bucket spent): the guest posts a full ring, kicks,
 * and kicks again and again. The device holds one chain popped (one
 * mapping), one timer, and does nothing per kick; the other chains wait
 * in the guest's ring. Reset then drops the chain and the timer.
 */
static void waiting_holds_one_chain(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct rrig_opts o = { .rate = 1, .burst = 1024 };
	struct vrng_stats st;
	uint16_t h;
	uint32_t len;

	T_RR_START(&r, &o);
	for (unsigned int i = 0; i < 64; i++)
		T_ASSERT(rr_post(&r, r.buf + i * 1024u, 1024) >= 0);
	gdrv_kick(&r.drv, RQ);
	/* The burst paid the first chain; the second waits 1024 s. */
	T_EQ(gdrv_get_used(&r.drv, RQ, &h, &len), 1);
	T_EQ(len, 1024);
	T_EQ(gdrv_get_used(&r.drv, RQ, &h, &len), 0);
	T_EQ(fg_live(r.fg), r.baseline + 1);
	T_EQ(rr_ops(&r), 1);
	for (unsigned int i = 0; i < 1000; i++)
		gdrv_notify(&r.drv, RQ);
	T_EQ(evl_run_once(&r.loop, false) >= 0, 1);
	st = rr_stats(&r);
	T_EQ(st.calls, 1);
	T_EQ(st.chains, 1);
	T_EQ(fg_live(r.fg), r.baseline + 1);
	T_EQ(rr_ops(&r), 1);
	/* Status=0 with the chain waiting: released, timer reaped. */
	gdrv_reset(&r.drv);
	T_EQ(rr_ops(&r), 0);
	T_EQ(fg_live(r.fg), r.baseline - 3);
	T_EQ(rr_stats(&r).waits, 0); /* the cancelled timer woke nothing */
	T_RR(&r, rrig_up(&r));
	T_RR_FINI(&r);
}

/*
 * The bucket survives a reset: a guest cannot refill it by resetting. The
 * burst spent, a reset, the same again: the second 4 KiB come no sooner
 * than the rate allows, measured around both (a refilled bucket would
 * give them at once).
 */
static void reset_keeps_bucket(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct rrig_opts o = { .rate = 8192, .burst = 4096 };
	uint64_t t0, ns;

	T_RR_START(&r, &o);
	t0 = now_ns();
	T_EQ(ask(&r, 1, 4096, &ns), 4096);
	T_RR(&r, rrig_recover(&r));
	T_EQ(ask(&r, 1, 4096, &ns), 4096);
	ns = now_ns() - t0;
	T_ASSERT(8192 <= o.burst + o.rate * ns / 1000000000ull + 1);
	T_RR_FINI(&r);
}

/*
 * A guest that posts and never collects: its chains are filled (the bucket
 * allowing) and then the device is idle: no timer, no call, however long
 * the loop runs. A guest that never posts costs nothing from the start.
 */
static void idle_guests_cost_nothing(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct rrig_opts o = { .rate = 64u << 10, .burst = 4096 };
	struct vrng_stats st;

	T_RR_START(&r, &o);
	T_EQ(rr_ops(&r), 0);
	T_EQ(evl_run_once(&r.loop, false), 0);
	T_EQ(rr_stats(&r).calls, 0);
	/* Fill the whole ring; never collect. */
	for (unsigned int i = 0; i < 64; i++)
		T_ASSERT(rr_post(&r, r.buf + i * 512u, 512) >= 0);
	gdrv_kick(&r.drv, RQ);
	T_EQ(rr_run(&r), 0);
	st = rr_stats(&r);
	T_EQ(st.chains, 64);
	T_EQ(rr_ops(&r), 0);
	T_EQ(fg_live(r.fg), r.baseline);
	/* The ring is full of used elements: kicks find nothing to do. */
	for (unsigned int i = 0; i < 100; i++)
		gdrv_notify(&r.drv, RQ);
	T_EQ(rr_run(&r), 0);
	T_EQ(rr_stats(&r).calls, st.calls);
	T_EQ(rr_stats(&r).waits, st.waits);
	T_RR_FINI(&r);
}

/* Destroying the device with a chain waiting: nothing left behind. */
static void destroy_while_waiting(void)
{
	struct rrig r RRIG_SCOPED = { 0 };
	struct rrig_opts o = { .rate = 1, .burst = 1 };

	T_RR_START(&r, &o);
	T_ASSERT(rr_post(&r, r.buf, 64) >= 0);
	T_ASSERT(rr_post(&r, r.buf + 64, 64) >= 0);
	gdrv_kick(&r.drv, RQ);
	T_EQ(rr_stats(&r).chains, 1); /* one byte, from the burst */
	T_EQ(rr_ops(&r), 1);
	T_RR_FINI(&r); /* no mapping, no timer left */
}

T_MAIN(T_CASE(rate_limits), T_CASE(chain_larger_than_burst),
       T_CASE(burst_at_once), T_CASE(unlimited_yields),
       T_CASE(waiting_holds_one_chain), T_CASE(reset_keeps_bucket),
       T_CASE(idle_guests_cost_nothing), T_CASE(destroy_while_waiting))
