// SPDX-License-Identifier: MIT
/*
 * Guest-polled queues: Linux's virtio_blk with poll_queues=N gives its last
 * N queues no callback and reaps them itself under io_uring IOPOLL (fio
 * --hipri). Such a queue never asks for an interrupt: with EVENT_IDX its
 * used_event stays 0 (virtqueue_disable_cb's value), without it the avail
 * ring carries VRING_AVAIL_F_NO_INTERRUPT. Here a device with two queues
 * serves a driver that takes interrupts on queue IQ (it collects only after
 * the line fired, as an interrupt handler does, so a lost interrupt is a
 * hang) and polls queue PQ, at QD1 and QD32, with and without EVENT_IDX,
 * moderation and idle polling, on one loop and with PQ on a thread of its
 * own. Checked: every request of both queues completes with its data; PQ
 * gets no interrupt but the one the specification demands (with EVENT_IDX,
 * the first publish crosses used_event 0; then one per 65536 completions,
 * which the wrap case checks), none owed; IQ keeps getting its own; with
 * idle polling the polling driver, which kicks only when the device asks
 * (virtqueue_kick_prepare), is never left waiting.
 */
#include <inttypes.h>
#include <time.h>

#include "blk_rig.h"

#define IQ 0u	 /* the queue the driver takes interrupts on */
#define PQ 1u	 /* the queue it polls */
#define NQ 2u	 /* queues offered: the guest needs more than it polls */
#define SPAN 256 /* 4 KiB blocks of the store the reads come from */

struct pcase {
	bool event_idx;
	unsigned int qd;
	unsigned int nreq; /* requests per queue */
	unsigned int poll_us, coalesce_us;
	bool threads; /* PQ served on a thread of its own, as xvbd does */
};

/* One queue's side of the driver. */
struct pside {
	unsigned int q;
	unsigned int issued, done;
	bool bad;		    /* a wrong status, length or data */
	unsigned int blk[BR_SLOTS]; /* slot -> block it reads */
	uint16_t head[BR_SLOTS];    /* slot -> head in flight */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Slots of queue @q: the first half of the rig's slots for IQ, then PQ. */
static unsigned int p_slot(const struct pside *s, unsigned int i)
{
	return s->q * (BR_SLOTS / NQ) + i;
}

static uint64_t p_buf(const struct brig *r, const struct pside *s,
		      unsigned int i)
{
	return r->data + (uint64_t)p_slot(s, i) * 4096;
}

/* Adds the next 4 KiB read of queue side @s in its slot @i. */
static int p_add(struct brig *r, struct pside *s, unsigned int i)
{
	unsigned int b = (s->issued * 7 + s->q * 131) % SPAN;
	int h;

	br_guest_set(r, p_buf(r, s, i), 4096, 0);
	h = br_add_q(r, s->q, p_slot(s, i), VIRTIO_BLK_T_IN, (uint64_t)b * 8,
		     p_buf(r, s, i), 4096, 0, i & 1 ? GDRV_INDIRECT : 0);
	if (h < 0)
		return h;
	s->blk[i] = b;
	s->head[i] = (uint16_t)h;
	s->issued++;
	return 0;
}

/*
 * Collects what queue side @s has in its used ring, checks each request
 * and refills its slot while requests are left, then kicks if the device
 * asks for it. Returns how many it collected, or -errno.
 */
static int p_reap(struct brig *r, struct pside *s, const struct pcase *c)
{
	unsigned int i, n = 0;
	uint32_t len;
	uint16_t h;
	int rc;

	while ((rc = gdrv_get_used(&r->drv, s->q, &h, &len)) == 1) {
		for (i = 0; i < c->qd && s->head[i] != h; i++)
			;
		if (i == c->qd)
			return -EPROTO;
		s->head[i] = 0xffff;
		if (len != 4096 + 1 ||
		    br_status(r, br_st(r, p_slot(s, i))) != VIRTIO_BLK_S_OK ||
		    !fg_check(r->fg, p_buf(r, s, i), 4096, 1000 + s->blk[i]))
			s->bad = true;
		s->done++;
		n++;
		if (s->issued < c->nreq && p_add(r, s, i))
			return -ENOSPC;
	}
	if (rc < 0)
		return rc;
	if (n)
		gdrv_kick(&r->drv, s->q);
	return (int)n;
}

static uint64_t p_irqs(const struct vq *vq)
{
	return __atomic_load_n(&vq->nr_irqs, __ATOMIC_RELAXED);
}

/*
 * Runs case @c: both queues kept at depth qd until nreq requests each have
 * completed. Returns 0, or -1 with the failure reported.
 */
static int p_run(const struct pcase *c, uint64_t *pq_irqs, uint64_t *iq_irqs,
		 uint64_t *pq_kicks)
{
	struct brig_opts o = {
		.queues = NQ,
		.threads = c->threads,
		.poll_us = c->poll_us,
		.coalesce_us = c->coalesce_us,
		.size = SPAN * 4096,
		.no_features = c->event_idx ? 0 :
					      1ULL << VIRTIO_RING_F_EVENT_IDX,
	};
	struct brig r BRIG_SCOPED = { 0 };
	struct pside iq = { .q = IQ }, pq = { .q = PQ };
	struct gdrv_vq *pv;
	uint64_t end, line_seen;
	int rc;

	T_CHECK(c->qd <= BR_SLOTS / NQ);
	if (brig_start(&r, &o)) {
		t_fail(__FILE__, __LINE__, "rig: %s", r.why ? r.why : "?");
		return -1;
	}
	T_CHECK(!!(r.drv.features & (1ULL << VIRTIO_RING_F_EVENT_IDX)) ==
		c->event_idx);
	for (unsigned int b = 0; b < SPAN; b++)
		T_CHECK(br_file_fill(&r, (uint64_t)b * 4096, 4096, 1000 + b) ==
			0);
	/* PQ as Linux leaves a queue without callback. */
	pv = &r.drv.vqs[PQ];
	pv->manual_used_event = true;
	if (c->event_idx)
		WRITE_ONCE(*pv->used_event, 0);
	else
		WRITE_ONCE(pv->avail->flags,
			   htole16(VRING_AVAIL_F_NO_INTERRUPT));
	smp_mb();

	for (unsigned int i = 0; i < c->qd; i++) {
		T_CHECK(!p_add(&r, &iq, i));
		T_CHECK(!p_add(&r, &pq, i));
	}
	gdrv_kick(&r.drv, IQ);
	gdrv_kick(&r.drv, PQ);
	/*
	 * IQ is reaped only after the line fired since its last reap, and
	 * the interrupt acknowledged first (the count is read before, so one
	 * raised meanwhile is not missed: its edge comes after the ACK); PQ
	 * whenever the driver looks, as blk_poll does.
	 */
	line_seen = 0;
	end = now_ms() + (uint64_t)BR_WAIT_MS;
	while (iq.done < c->nreq || pq.done < c->nreq) {
		uint64_t line =
			__atomic_load_n(&r.drv.nr_irqs, __ATOMIC_RELAXED);
		int busy = evl_run_once(&r.loop, false);

		T_CHECK(busy >= 0);
		rc = p_reap(&r, &pq, c);
		T_CHECK(rc >= 0);
		busy += rc;
		if (line != line_seen) {
			/* virtio_mmio's handler: InterruptStatus, ACK, queues. */
			line_seen = line;
			gdrv_ack_irq(&r.drv);
			rc = p_reap(&r, &iq, c);
			T_CHECK(rc >= 0);
			busy += rc;
		}
		/* A hang is a stop in progress, however long the whole run. */
		if (busy) {
			end = now_ms() + (uint64_t)BR_WAIT_MS;
			continue;
		}
		if (now_ms() > end) {
			t_fail(__FILE__, __LINE__,
			       "hung: IQ %u of %u done, PQ %u of %u done (line fired %" PRIu64
			       " times)",
			       iq.done, c->nreq, pq.done, c->nreq, line);
			return -1;
		}
		usleep(20);
	}
	T_CHECK(!iq.bad && !pq.bad);
	T_CHECK(iq.issued == c->nreq && pq.issued == c->nreq);
	/* Quiet now: nothing stray comes, nothing is owed on either queue. */
	T_CHECK(br_run(&r) == 0);
	for (unsigned int i = 0; i < 4; i++)
		T_CHECK(evl_run_once(&r.loop, false) >= 0);
	T_CHECK(p_reap(&r, &pq, c) == 0 && p_reap(&r, &iq, c) == 0);
	T_CHECK(!r.vdev->vqs[IQ].irq_held && !r.vdev->vqs[PQ].irq_held);
	*pq_irqs = p_irqs(&r.vdev->vqs[PQ]);
	*iq_irqs = p_irqs(&r.vdev->vqs[IQ]);
	*pq_kicks =
		__atomic_load_n(&r.vdev->vqs[PQ].nr_kicks, __ATOMIC_RELAXED);
	T_CHECK(r.vdev->vqs[PQ].nr_used == c->nreq);
	printf("# EVENT_IDX %d QD%u poll_us %u coalesce_us %u%s: PQ %" PRIu64
	       " interrupts %" PRIu64 " kicks, IQ %" PRIu64
	       " interrupts for %u completions each\n",
	       c->event_idx, c->qd, c->poll_us, c->coalesce_us,
	       c->threads ? " threads" : "", *pq_irqs, *pq_kicks, *iq_irqs,
	       c->nreq);
	return brig_fini(&r) ? -1 : 0;
}

/*
 * The polled queue's interrupts: none without EVENT_IDX (the flag), with
 * it exactly one, the first publish (used idx 0 -> n crosses used_event 0:
 * the specification's "MUST send", and Linux's handler finds no callback
 * to run). IQ got interrupts all along: it was reaped only after them.
 */
static void p_check(const struct pcase *c)
{
	uint64_t pq = ~0ULL, iq = 0, kicks = 0;

	T_ASSERT(p_run(c, &pq, &iq, &kicks) == 0);
	T_EQ(pq, c->event_idx ? 1 : 0);
	T_ASSERT(iq >= 1);
	/*
	 * Idle polling on the test's own loop: the device looks at most once
	 * per loop turn and the driver refills between turns, so the window
	 * never runs out and the driver is hardly ever asked to kick (without
	 * polling: once per drain, nreq / qd times). On a thread of its own a
	 * descheduled driver may let the window run out: not checked there.
	 */
	if (c->poll_us && !c->threads)
		T_ASSERT(kicks * 8 <= c->nreq / c->qd);
}

static void polled_event_idx_qd1(void)
{
	const struct pcase c = { .event_idx = true, .qd = 1, .nreq = 200 };

	p_check(&c);
}

static void polled_event_idx_qd32(void)
{
	const struct pcase c = { .event_idx = true, .qd = 32, .nreq = 2048 };

	p_check(&c);
}

static void polled_no_event_idx_qd1(void)
{
	const struct pcase c = { .qd = 1, .nreq = 200 };

	p_check(&c);
}

static void polled_no_event_idx_qd32(void)
{
	const struct pcase c = { .qd = 32, .nreq = 2048 };

	p_check(&c);
}

/*
 * xvbd's defaults for disks: idle polling and moderation on. The timer
 * that pays a held interrupt and the looks at a drained ring must not
 * raise one for PQ either, and the driver that kicks only when asked must
 * never wait on a queue the device stopped looking at.
 */
static void polled_with_poll_and_coalesce(void)
{
	static const struct pcase cs[] = {
		{ .event_idx = true,
		  .qd = 1,
		  .nreq = 200,
		  .poll_us = 50,
		  .coalesce_us = 50 },
		{ .event_idx = true,
		  .qd = 32,
		  .nreq = 2048,
		  .poll_us = 50,
		  .coalesce_us = 50 },
		{ .qd = 1, .nreq = 200, .poll_us = 50, .coalesce_us = 50 },
		{ .qd = 32, .nreq = 2048, .poll_us = 50, .coalesce_us = 50 },
		{ .event_idx = true,
		  .qd = 32,
		  .nreq = 2048,
		  .poll_us = 1000,
		  .coalesce_us = 1000 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cs); i++)
		p_check(&cs[i]);
}

/* PQ on a thread of its own, as xvbd serves every queue past the first. */
static void polled_queue_on_its_thread(void)
{
	static const struct pcase cs[] = {
		{ .event_idx = true,
		  .qd = 32,
		  .nreq = 2048,
		  .poll_us = 50,
		  .coalesce_us = 50,
		  .threads = true },
		{ .qd = 32,
		  .nreq = 2048,
		  .poll_us = 50,
		  .coalesce_us = 50,
		  .threads = true },
		{ .event_idx = true,
		  .qd = 1,
		  .nreq = 200,
		  .poll_us = 50,
		  .coalesce_us = 50,
		  .threads = true },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cs); i++)
		p_check(&cs[i]);
}

/*
 * Past a wrap of the used index: used_event 0 is crossed again after
 * 65536 completions, and the specification asks for that one interrupt
 * too. Two in all, never more.
 */
static void polled_event_idx_wrap(void)
{
	const struct pcase c = { .event_idx = true,
				 .qd = 32,
				 .nreq = 65536 + 4096,
				 .poll_us = 50,
				 .coalesce_us = 50 };
	uint64_t pq = 0, iq = 0, kicks = 0;

	T_ASSERT(p_run(&c, &pq, &iq, &kicks) == 0);
	T_EQ(pq, 2);
}

T_MAIN(T_CASE(polled_event_idx_qd1), T_CASE(polled_event_idx_qd32),
       T_CASE(polled_no_event_idx_qd1), T_CASE(polled_no_event_idx_qd32),
       T_CASE(polled_with_poll_and_coalesce),
       T_CASE(polled_queue_on_its_thread), T_CASE(polled_event_idx_wrap))
