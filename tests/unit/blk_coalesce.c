// SPDX-License-Identifier: MIT
/*
 * virtio-blk interrupt moderation (conf->coalesce_us). The test drives the
 * loop itself and arranges the kernel's answers in the completion ring (a
 * 4 KiB read answered -EAGAIN is issued again), so it decides how many
 * requests complete in each loop turn while the others stay in flight.
 * Checked by the logic, never by a duration: a completion published while
 * other requests are in flight holds its interrupt (it is raised by the
 * publish that leaves nothing in flight, or by the timer no sooner than
 * coalesce_us after the hold: a lower bound a busy host cannot break);
 * every completion is delivered and the last interrupt announces them
 * all; a lone request's interrupt comes in the turn that completed it
 * with no timer armed; coalesce_us=0 interrupts at every publish as
 * before; the driver's used_event decides whether an interrupt is owed.
 */
#include "blk_rig.h"

#include <liburing.h>

#define NREQ 8u
#define LOG_MAX 64u

/* Every interrupt the guest took, as its handler saw it. */
struct irqlog {
	struct brig *r;
	unsigned int n;
	uint16_t used[LOG_MAX];	    /* used idx published when raised */
	unsigned int busy[LOG_MAX]; /* requests still in flight then */
	uint64_t at_us[LOG_MAX];    /* when */
	uint64_t held_since_us;	    /* start of the turn that first held */
	unsigned int early;	    /* raised in flight before the bound */
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The guest's handler: notes what was published, acknowledges. */
static void irq_seen(struct vdev *vdev, void *opaque)
{
	struct irqlog *g = opaque;
	const struct vq *vq = &vdev->vqs[BQ];

	if (g->n < LOG_MAX) {
		g->used[g->n] = vq->used_pub;
		g->busy[g->n] = vq->inflight;
		g->at_us[g->n] = now_us();
	}
	g->n++;
	g->r->drv.nr_irqs++;
	gdrv_ack_irq(&g->r->drv);
}

static void irqlog_start(struct irqlog *g, struct brig *r)
{
	memset(g, 0, sizeof(*g));
	g->r = r;
	vdev_set_irq(r->vdev, irq_seen, g);
}

/*
 * After a turn that began at @t0: an interrupt raised while requests were
 * in flight must have been held first, and for at least @bound_us; a hold
 * still owed dates from @t0 at the latest.
 */
static void irqlog_turn(struct irqlog *g, unsigned int from, uint64_t t0,
			unsigned int bound_us)
{
	for (unsigned int i = from; i < g->n && i < LOG_MAX; i++) {
		if (g->busy[i] && (!g->held_since_us ||
				   g->at_us[i] < g->held_since_us + bound_us))
			g->early++;
		g->held_since_us = 0;
	}
	if (g->r->vdev->vqs[BQ].irq_held && !g->held_since_us)
		g->held_since_us = t0;
}

/* 4 KiB reads whose answers wait in the completion ring. */
static unsigned int reads_ready(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;

	io_uring_for_each_cqe(ring, head, cqe)
		if (cqe->res == 4096)
			n++;
	return n;
}

/*
 * One loop turn in which exactly @keep of the @reads reads in flight
 * complete: the rest are answered -EAGAIN and issued again. Publishing
 * the previous turn's completions (the tick) happens in this turn too.
 * Then the guest collects what it sees, which moves used_event unless the
 * driver set it by hand. Returns what it collected, or -1.
 */
static int turn(struct brig *r, struct irqlog *g, unsigned int reads,
		unsigned int keep, unsigned int bound_us, uint16_t *heads)
{
	struct io_uring *ring = &r->loop.ring;
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0, from = g->n;
	uint64_t t0;

	T_CHECK(evl_submit(&r->loop) >= 0);
	T_CHECK(T_WAIT_US(reads_ready(ring) >= reads, 100));
	io_uring_for_each_cqe(ring, head, cqe) {
		if (cqe->res == 4096 && seen++ >= keep)
			cqe->res = -EAGAIN;
	}
	t0 = now_us();
	T_CHECK(evl_run_once(&r->loop, false) >= 0);
	irqlog_turn(g, from, t0, bound_us);
	return br_collect(r, heads, NULL, NREQ);
}

/* NREQ reads of 4 KiB in slots 0.., kicked at once. */
static int add_reads(struct brig *r)
{
	for (unsigned int i = 0; i < NREQ; i++)
		T_CHECK(br_add(r, i, VIRTIO_BLK_T_IN, i * 8,
			       r->data2 + i * 4096, 4096, 0, 0) >= 0);
	gdrv_kick(&r->drv, BQ);
	return 0;
}

/*
 * Runs 3, then 4, then 1 of NREQ reads to completion, one loop turn each,
 * then drains. Returns the number collected, or -1.
 */
static int three_turns(struct brig *r, struct irqlog *g, unsigned int bound_us,
		       unsigned int *after)
{
	static const unsigned int keep[] = { 3, 4, 1 };
	uint16_t heads[NREQ];
	unsigned int left = NREQ;
	int got = 0, n;

	T_CHECK(!add_reads(r));
	for (unsigned int i = 0; i < ARRAY_SIZE(keep); i++) {
		n = turn(r, g, left, keep[i], bound_us, heads);
		T_CHECK(n >= 0);
		got += n;
		left -= keep[i];
		after[i] = g->n;
	}
	T_CHECK(br_run(r) == 0); /* the last tick, and any timer */
	irqlog_turn(g, after[2], now_us(), bound_us);
	n = br_collect(r, heads, NULL, NREQ);
	T_CHECK(n >= 0);
	got += n;
	after[3] = g->n;
	for (unsigned int i = 0; i < NREQ; i++)
		T_CHECK(br_status(r, br_st(r, i)) == VIRTIO_BLK_S_OK);
	return got;
}

/*
 * With requests in flight the interrupt waits: 8 completions in three
 * publishes, fewer interrupts than completions, none raised early, the
 * last announcing all 8, nothing owed at the end.
 */
static void gathered_while_in_flight(void)
{
	struct brig_opts o = { .coalesce_us = 1000 };
	struct brig r BRIG_SCOPED = { 0 };
	unsigned int after[4];
	struct irqlog g;
	struct vq *vq;

	T_BR_START(&r, &o);
	vq = &r.vdev->vqs[BQ];
	irqlog_start(&g, &r);
	T_EQ(three_turns(&r, &g, 1000, after), (int)NREQ);
	T_EQ(g.early, 0);
	T_ASSERT(g.n >= 1 && g.n < NREQ);
	T_EQ(g.used[g.n - 1], NREQ);
	T_EQ(g.busy[g.n - 1], 0);
	T_EQ(vq->irq_held, false);
	T_EQ(vq->nr_used, NREQ);
	T_EQ(vq->nr_irqs, g.n);
	printf("# %u interrupts for %u completions\n", g.n, NREQ);
	T_BR_FINI(&r);
}

/*
 * coalesce_us=0: as before moderation, every publish the driver asked for
 * interrupts at once, requests in flight or not. The turns publish 3, then
 * 4; the last completion, alone in flight, is published in the same turn
 * as those 4, before the guest moved used_event past them: the driver
 * finds it when it collects after that interrupt (EVENT_IDX as it is).
 */
static void coalesce_off_interrupts_every_publish(void)
{
	struct brig r BRIG_SCOPED = { 0 };
	unsigned int after[4];
	struct irqlog g;
	struct vq *vq;

	T_BR_START(&r, NULL);
	vq = &r.vdev->vqs[BQ];
	irqlog_start(&g, &r);
	T_EQ(three_turns(&r, &g, 0, after), (int)NREQ);
	T_EQ(after[0], 0); /* the first turn's completions: not yet published */
	T_EQ(after[1], 1);
	T_EQ(after[2], 2);
	T_EQ(after[3], 2);
	T_EQ(g.used[0], 3);
	T_EQ(g.used[1], 7);
	T_ASSERT(g.busy[0] && g.busy[1]); /* raised with requests in flight */
	T_EQ(vq->used_pub, NREQ);
	T_EQ(vq->nr_shared, 0);
	T_EQ(vq->irq_held, false);
	T_BR_FINI(&r);
}

/*
 * QD1: nothing else in flight, so nothing to wait for. The interrupt is
 * raised in the loop turn that completed the request, no timer is armed
 * (the loop has nothing in flight right after), nothing is owed.
 */
static void lone_request_not_held(void)
{
	struct brig_opts o = { .coalesce_us = 1000 };
	struct brig r BRIG_SCOPED = { 0 };
	unsigned int idle;
	struct irqlog g;
	struct vq *vq;

	T_BR_START(&r, &o);
	vq = &r.vdev->vqs[BQ];
	irqlog_start(&g, &r);
	idle = r.loop.inflight;
	for (unsigned int i = 0; i < 4; i++) {
		uint16_t h = 0xffff;
		int head, got = 0;

		head = br_add(&r, 0, VIRTIO_BLK_T_IN, i * 8, r.data, 4096, 0,
			      0);
		T_ASSERT(head >= 0);
		T_ASSERT(gdrv_kick(&r.drv, BQ));
		/* Turn by turn until the used element shows. */
		T_ASSERT(T_WAIT_US(evl_run_once(&r.loop, true) >= 0 &&
					   (got = br_collect(&r, &h, NULL, 1)),
				   0));
		T_EQ(got, 1);
		T_EQ(h, head);
		T_EQ(g.n, i + 1);
		T_EQ(g.used[i], i + 1);
		T_EQ(r.loop.inflight, idle);
		T_EQ(vq->irq_held, false);
		T_EQ(br_status(&r, br_st(&r, 0)), VIRTIO_BLK_S_OK);
	}
	T_EQ(vq->nr_irqs, 4);
	T_EQ(vq->nr_shared, 0);
	T_BR_FINI(&r);
}

/*
 * EVENT_IDX: the driver asks for an interrupt past used idx @ev only (as
 * virtqueue_enable_cb_delayed does). Publishes short of it owe nothing,
 * even held; the publish that crosses it owes one, held while requests
 * are in flight, and the one that leaves nothing in flight pays it though
 * it crosses nothing itself. Returns the interrupts taken, or -1.
 */
static int delayed_used_event(unsigned int coalesce_us, uint16_t ev,
			      unsigned int *after, struct irqlog *g)
{
	struct brig_opts o = { .coalesce_us = coalesce_us };
	struct brig r BRIG_SCOPED = { 0 };
	int rc;

	if (brig_start(&r, &o))
		return -1;
	irqlog_start(g, &r);
	/* A first request: the first publish always interrupts. */
	T_CHECK(br_req(&r, VIRTIO_BLK_T_IN, 0, r.data, 4096) ==
		VIRTIO_BLK_S_OK);
	T_CHECK(g->n == 1);
	g->n = 0;
	r.drv.vqs[BQ].manual_used_event = true;
	*r.drv.vqs[BQ].used_event = htole16(ev);
	T_CHECK(three_turns(&r, g, coalesce_us, after) == (int)NREQ);
	T_CHECK(!r.vdev->vqs[BQ].irq_held);
	rc = (int)g->n;
	return brig_fini(&r) ? -1 : rc;
}

static void used_event_decides_what_is_owed(void)
{
	unsigned int after[4];
	struct irqlog g;

	/*
	 * used_event 5 (wake me after the 6th): used idx 1 -> 4 crosses
	 * nothing, 4 -> 8 crosses it with a request in flight (held), 8 -> 9
	 * crosses nothing but pays the owed interrupt.
	 */
	T_EQ(delayed_used_event(1000, 5, after, &g), 1);
	T_EQ(after[1], 0); /* 1 -> 4: nothing asked for, nothing raised */
	T_EQ(g.early, 0);
	T_ASSERT(g.used[0] >= 8); /* announced the crossing element */
	/* The same without moderation: raised at the crossing itself. */
	T_EQ(delayed_used_event(0, 5, after, &g), 1);
	T_EQ(after[1], 0);
	T_EQ(after[2], 1);
	T_EQ(g.used[0], 8);
	/* used_event past everything: no interrupt at all, none owed. */
	T_EQ(delayed_used_event(1000, 200, after, &g), 0);
	T_EQ(delayed_used_event(0, 200, after, &g), 0);
}

T_MAIN(T_CASE(gathered_while_in_flight),
       T_CASE(coalesce_off_interrupts_every_publish),
       T_CASE(lone_request_not_held), T_CASE(used_event_decides_what_is_owed))
