// SPDX-License-Identifier: MIT
/*
 * The shared queue machinery (virtio/vqrun.c) on its own: a test device
 * whose ops hold or complete the chains it pops, on queue 0 of the test
 * rig, with the test turning the event loop. Checked by the logic (chains
 * popped per run, what the guest sees published, whether it is asked to
 * kick, interrupts raised), never by a duration but for the moderation
 * bound, a lower bound a busy host cannot break.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "lib/evl.h"
#include "t.h"
#include "virtio/vqrun.h"
#include "vrig.h"

#define Q 0u
#define NUM 64u
#define BUF 64u

/* The device: pops into slots, holds them (busy) or completes at once. */
struct tdev {
	struct vrig rig;
	struct evl loop;
	struct vqrun run;
	struct vq_chain slot[NUM];
	unsigned int nr_held; /* popped, not completed: slot[0, nr_held) */
	unsigned int pops;    /* chains popped over the test */
	unsigned int retries; /* ops->retry calls */
	unsigned int mark;    /* pops when the last run ended */
	unsigned int max_run; /* most chains one run popped */
	unsigned int cancels; /* ops->cancel calls */
	unsigned int dev_ops; /* the device's own operations: none */
	bool hold;	      /* keep popped chains in flight */
	bool full;	      /* pop answers -ENOSPC */
	unsigned int off_at;  /* pop holds off (-EBUSY) once pops reach it */
	unsigned int offs;    /* pop calls answered -EBUSY */
};

static int tdev_pop(struct vqrun *r)
{
	struct tdev *d = container_of(r, struct tdev, run);
	struct vq_chain *c;
	int rc;

	if (d->full || d->nr_held == NUM)
		return -ENOSPC;
	if (d->off_at && d->pops >= d->off_at) {
		d->offs++;
		return -EBUSY;
	}
	c = &d->slot[d->nr_held];
	rc = vq_pop(r->vq, c);
	if (rc <= 0)
		return rc;
	d->pops++;
	if (d->hold) {
		d->nr_held++;
		return 1;
	}
	vq_push(r->vq, c, 0);
	r->pushed = true;
	return 1;
}

static bool tdev_retry(struct vqrun *r)
{
	struct tdev *d = container_of(r, struct tdev, run);

	d->retries++;
	return !d->full;
}

static bool tdev_busy(struct vqrun *r)
{
	return container_of(r, struct tdev, run)->nr_held != 0;
}

static void tdev_end(struct vqrun *r)
{
	struct tdev *d = container_of(r, struct tdev, run);

	if (d->pops - d->mark > d->max_run)
		d->max_run = d->pops - d->mark;
	d->mark = d->pops;
}

static void tdev_cancel(struct vqrun *r)
{
	container_of(r, struct tdev, run)->cancels++;
}

static const struct vqrun_ops tdev_ops = {
	.pop = tdev_pop,
	.retry = tdev_retry,
	.busy = tdev_busy,
	.end = tdev_end,
	.cancel = tdev_cancel,
};

/*
 * Up without EVENT_IDX, so kick suppression shows as NO_NOTIFY and every
 * publish of a new element owes an interrupt.
 */
static int tdev_start(struct tdev *d, const struct vqrun_conf *conf)
{
	struct vrig_opts o = {
		.mode = TESTDEV_MANUAL,
		.features = VRIG_F(VIRTIO_F_VERSION_1) |
			    VRIG_F(VIRTIO_RING_F_INDIRECT_DESC) |
			    TESTDEV_FEATURES,
		.num = NUM,
	};

	memset(d, 0, sizeof(*d));
	T_CHECK(evl_init(&d->loop, 32) == 0);
	if (vrig_start(&d->rig, &o)) {
		evl_exit(&d->loop);
		t_fail(__FILE__, __LINE__, "vrig_start: %s", d->rig.why);
		return -1;
	}
	vqrun_init(&d->run, vrig_vq(&d->rig, Q), &d->loop, &tdev_ops, conf);
	return 0;
}

/* The guest adds @n one-buffer chains, without kicking. */
static int guest_add(struct tdev *d, unsigned int n)
{
	struct gdrv_buf b = { .gpa = d->rig.data, .len = BUF, .write = true };

	for (unsigned int i = 0; i < n; i++)
		T_CHECK(gdrv_add(&d->rig.drv, Q, &b, 1, 0) >= 0);
	return 0;
}

/* Used elements the guest collects now. */
static unsigned int guest_collect(struct tdev *d)
{
	unsigned int n = 0;
	uint16_t head;
	uint32_t len;

	while (gdrv_get_used(&d->rig.drv, Q, &head, &len) == 1)
		n++;
	return n;
}

/* True if the device asks the guest to kick (NO_NOTIFY clear). */
static bool kicks_wanted(struct tdev *d)
{
	return !(vrig_vq(&d->rig, Q)->used->flags &
		 htole16(VRING_USED_F_NO_NOTIFY));
}

/*
 * One turn of the loop, waiting for a CQE; false if the loop failed or
 * nothing is in flight to wait for (the test would hang).
 */
static bool turn(struct tdev *d)
{
	if (!d->run.nr_ops)
		return false;
	return evl_run_once(&d->loop, true) >= 0;
}

/* Completes the oldest held chain, as a device's completion would. */
static void tdev_complete(struct tdev *d, bool last)
{
	struct vq *vq = d->run.vq;

	vq_push(vq, &d->slot[0], 0);
	memmove(&d->slot[0], &d->slot[1],
		(d->nr_held - 1) * sizeof(d->slot[0]));
	d->nr_held--;
	vqrun_complete(&d->run, last);
}

/*
 * Stops as a device's reset does: timers cancelled and reaped, held
 * chains released. Then the rig's checks: nothing leaked.
 */
static int tdev_stop(struct tdev *d)
{
	int rc = vqrun_stop(&d->run, &d->dev_ops);

	for (unsigned int i = 0; i < d->nr_held; i++)
		vq_chain_release(d->run.vq, &d->slot[i]);
	d->nr_held = 0;
	vqrun_reset(&d->run);
	d->run.stopping = false;
	evl_exit(&d->loop);
	if (vrig_fini(&d->rig))
		rc = -1;
	return rc;
}

#define T_END(d) T_EQ(tdev_stop(d), 0)

/* A run pops at most the budget, then resumes from the tick. */
static void budget_then_tick(void)
{
	struct vqrun_conf conf = { .budget = 4 };
	struct tdev d;
	unsigned int rounds = 0;

	T_ASSERT(!tdev_start(&d, &conf));
	T_ASSERT(!guest_add(&d, 10));
	vqrun_run(&d.run);
	T_EQ(d.pops, 4);
	T_ASSERT(d.run.resume);
	T_ASSERT(d.run.tick.busy);
	/* Popping resumes with kicks still off: the guest need not kick. */
	T_ASSERT(!kicks_wanted(&d));
	while (d.pops < 10 && rounds++ < 10)
		T_ASSERT(turn(&d));
	T_EQ(d.pops, 10);
	T_EQ(d.max_run, 4);
	T_EQ(guest_collect(&d), 10);
	/* Drained without polling: kicks are asked for again. */
	T_ASSERT(!d.run.resume);
	T_ASSERT(kicks_wanted(&d));
	T_END(&d);
}

/* A device with no room: popping resumes from the tick once it has. */
static void full_device_resumes(void)
{
	struct vqrun_conf conf = { .budget = 64 };
	struct tdev d;

	T_ASSERT(!tdev_start(&d, &conf));
	T_ASSERT(!guest_add(&d, 3));
	d.full = true;
	vqrun_run(&d.run);
	T_EQ(d.pops, 0);
	T_ASSERT(d.run.resume);
	T_ASSERT(!kicks_wanted(&d));
	/* The budget is not spent: the device's completions resume it. */
	T_ASSERT(!d.run.tick.busy);
	vqrun_tick(&d.run);
	T_ASSERT(turn(&d)); /* still full: retried, nothing popped */
	T_EQ(d.pops, 0);
	T_EQ(d.retries, 2);
	T_ASSERT(d.run.resume);
	/* Room again: the next tick pops. */
	d.full = false;
	vqrun_tick(&d.run);
	T_ASSERT(turn(&d));
	T_EQ(d.pops, 3);
	T_EQ(guest_collect(&d), 3);
	T_END(&d);
}

/*
 * Completions outside a run are published at the round's end (the tick),
 * or at once by the last with nothing else in flight.
 */
static void completion_deferred_to_tick(void)
{
	struct vqrun_conf conf = { .budget = 64 };
	struct tdev d;
	uint16_t pub;

	T_ASSERT(!tdev_start(&d, &conf));
	d.hold = true;
	T_ASSERT(!guest_add(&d, 3));
	vqrun_run(&d.run);
	T_EQ(d.nr_held, 3);
	pub = gdrv_used_idx(&d.rig.drv, Q);
	tdev_complete(&d, false);
	tdev_complete(&d, false);
	/* Not published yet: the tick does it, for both. */
	T_EQ(gdrv_used_idx(&d.rig.drv, Q), pub);
	T_ASSERT(d.run.tick.busy);
	T_ASSERT(turn(&d));
	T_EQ((uint16_t)(gdrv_used_idx(&d.rig.drv, Q) - pub), 2);
	/* The last, nothing else in flight: published at once. */
	tdev_complete(&d, true);
	T_ASSERT(!d.run.tick.busy);
	T_EQ((uint16_t)(gdrv_used_idx(&d.rig.drv, Q) - pub), 3);
	T_EQ(guest_collect(&d), 3);
	T_END(&d);
}

/*
 * With poll_ns the drained ring is looked at again from a timer, kicks
 * off: a chain added meanwhile is found without a kick. After a window of
 * looks that found nothing, kicks go back on.
 */
static void look_again_finds_without_kick(void)
{
	struct vqrun_conf conf = { .budget = 64,
				   .looks = 4,
				   .poll_ns = 100000 };
	struct tdev d;
	unsigned int rounds = 0;

	T_ASSERT(!tdev_start(&d, &conf));
	vqrun_run(&d.run);
	T_ASSERT(d.run.look_busy);
	T_ASSERT(d.run.kicks_off);
	T_ASSERT(!kicks_wanted(&d));
	T_ASSERT(!guest_add(&d, 1));
	while (!d.pops && rounds++ < 10)
		T_ASSERT(turn(&d));
	T_EQ(d.pops, 1);
	T_EQ(guest_collect(&d), 1);
	/* Nothing more: the window runs out, kicks come back on. */
	rounds = 0;
	while (d.run.look_busy && rounds++ < 20)
		T_ASSERT(turn(&d));
	T_ASSERT(!d.run.look_busy);
	T_ASSERT(!d.run.kicks_off);
	T_ASSERT(kicks_wanted(&d));
	T_END(&d);
}

/* Timer looks until kicks are back on. */
static unsigned int looks_left(struct tdev *d)
{
	unsigned int looks = 0;

	while (d->run.look_busy && looks < 100) {
		if (!turn(d))
			return 1000;
		looks++;
	}
	return looks;
}

/* A run on the idle ring, and the looks of the window it opens. */
static unsigned int window(struct tdev *d)
{
	vqrun_run(&d->run);
	return looks_left(d);
}

/*
 * Adaptive: a window that found nothing halves the next. Without, a burst
 * opens one window of conf.looks looks, and no more until work is found.
 */
static void idle_window_adapts(void)
{
	struct vqrun_conf conf = {
		.budget = 64, .looks = 4, .poll_ns = 50000, .adaptive = true
	};
	struct tdev d;

	T_ASSERT(!tdev_start(&d, &conf));
	T_EQ(window(&d), 4);
	T_EQ(window(&d), 2);
	/* A kick the guest had to make grows it back by one. */
	vqrun_kick(&d.run);
	T_EQ(looks_left(&d), 2);
	T_END(&d);

	conf.adaptive = false;
	T_ASSERT(!tdev_start(&d, &conf));
	T_EQ(window(&d), 4);
	T_EQ(window(&d), 0);
	T_ASSERT(!guest_add(&d, 1));
	T_EQ(window(&d), 4);
	T_EQ(d.pops, 1);
	T_EQ(guest_collect(&d), 1);
	T_END(&d);
}

/* Busy (work in flight), kicks stay off without spending idle looks. */
static void busy_keeps_kicks_off(void)
{
	struct vqrun_conf conf = {
		.budget = 64, .looks = 1, .poll_ns = 50000, .adaptive = true
	};
	struct tdev d;
	unsigned int i;

	T_ASSERT(!tdev_start(&d, &conf));
	d.hold = true;
	T_ASSERT(!guest_add(&d, 1));
	vqrun_run(&d.run);
	T_EQ(d.nr_held, 1);
	for (i = 0; i < 5; i++) {
		T_ASSERT(d.run.look_busy);
		T_ASSERT(!kicks_wanted(&d));
		T_ASSERT(turn(&d));
	}
	T_EQ(d.run.idle.looks, 0);
	T_END(&d);
}

static uint64_t irqs(struct tdev *d)
{
	return __atomic_load_n(&vrig_vdev(&d->rig)->nr_irqs, __ATOMIC_RELAXED);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/*
 * Coalescing: a completion while others are in flight holds its
 * interrupt; the timer pays it no sooner than the bound, and the guest
 * then sees every element published.
 */
static void coalesce_bound_pays_held_irq(void)
{
	struct vqrun_conf conf = { .budget = 64, .coalesce_ns = 1000000 };
	struct tdev d;
	uint64_t before, held_at;
	unsigned int rounds = 0;

	T_ASSERT(!tdev_start(&d, &conf));
	d.hold = true;
	T_ASSERT(!guest_add(&d, 3));
	vqrun_run(&d.run);
	T_EQ(d.nr_held, 3);
	before = irqs(&d);
	held_at = now_ns();
	tdev_complete(&d, true); /* others in flight: published now */
	/* Published, interrupt owed and held, the bound's timer armed. */
	T_EQ(gdrv_used_idx(&d.rig.drv, Q), 1);
	T_ASSERT(vrig_vq(&d.rig, Q)->irq_held);
	T_ASSERT(d.run.irq_busy);
	T_EQ(irqs(&d), before);
	while (irqs(&d) == before && rounds++ < 10)
		T_ASSERT(turn(&d));
	T_EQ(irqs(&d), before + 1);
	T_ASSERT(now_ns() - held_at >= conf.coalesce_ns);
	T_ASSERT(!vrig_vq(&d.rig, Q)->irq_held);
	T_EQ(guest_collect(&d), 1);
	T_END(&d);
}

/*
 * No lost interrupt: the completion that leaves nothing in flight raises
 * what was held at the round's end, long before the bound (1 s here: one
 * turn, which the tick's NOP ends, pays it); with coalesce_ns 0 every
 * publish raises.
 */
static void last_completion_raises_held_irq(void)
{
	struct vqrun_conf conf = { .budget = 64, .coalesce_ns = 999999999 };
	struct tdev d;
	uint64_t before;

	T_ASSERT(!tdev_start(&d, &conf));
	d.hold = true;
	T_ASSERT(!guest_add(&d, 2));
	vqrun_run(&d.run);
	before = irqs(&d);
	tdev_complete(&d, false);
	T_ASSERT(turn(&d)); /* the tick publishes and holds */
	T_EQ(irqs(&d), before);
	T_ASSERT(vrig_vq(&d.rig, Q)->irq_held);
	T_ASSERT(d.run.irq_busy);
	tdev_complete(&d, true); /* nothing else in flight */
	T_ASSERT(turn(&d));
	T_EQ(irqs(&d), before + 1);
	T_ASSERT(!vrig_vq(&d.rig, Q)->irq_held);
	T_EQ(guest_collect(&d), 2);
	T_END(&d);

	conf.coalesce_ns = 0;
	T_ASSERT(!tdev_start(&d, &conf));
	d.hold = true;
	T_ASSERT(!guest_add(&d, 2));
	vqrun_run(&d.run);
	before = irqs(&d);
	tdev_complete(&d, false);
	T_ASSERT(turn(&d));
	T_EQ(irqs(&d), before + 1);
	T_END(&d);
}

/* hold_idle: held with nothing in flight too, the bound pays it. */
static void hold_idle_holds_without_work(void)
{
	struct vqrun_conf conf = { .budget = 64,
				   .coalesce_ns = 200000,
				   .hold_idle = true };
	struct tdev d;
	uint64_t before;
	unsigned int rounds = 0;

	T_ASSERT(!tdev_start(&d, &conf));
	before = irqs(&d);
	T_ASSERT(!guest_add(&d, 1));
	vqrun_run(&d.run); /* pops, completes, publishes, holds */
	T_EQ(d.pops, 1);
	T_EQ(gdrv_used_idx(&d.rig.drv, Q), 1);
	T_EQ(irqs(&d), before);
	T_ASSERT(d.run.irq_busy);
	while (irqs(&d) == before && rounds++ < 10)
		T_ASSERT(turn(&d));
	T_EQ(irqs(&d), before + 1);
	T_END(&d);
}

/* Stopping: timers cancelled and reaped, nothing published meanwhile. */
static void stop_reaps_timers(void)
{
	struct vqrun_conf conf = { .budget = 64,
				   .looks = 4,
				   .poll_ns = 1000000000,
				   .coalesce_ns = 1000000 };
	struct tdev d;
	uint64_t before;

	T_ASSERT(!tdev_start(&d, &conf));
	d.hold = true;
	T_ASSERT(!guest_add(&d, 2));
	vqrun_run(&d.run);
	tdev_complete(&d, false);
	T_ASSERT(turn(&d));
	T_ASSERT(d.run.look_busy);
	T_ASSERT(d.run.irq_busy);
	before = irqs(&d);
	d.run.stopping = true;
	vqrun_tick(&d.run);
	T_ASSERT(!d.run.tick.busy);
	T_ASSERT(!guest_add(&d, 1));
	vqrun_run(&d.run);
	T_EQ(d.pops, 2);
	T_EQ(vqrun_stop(&d.run, &d.dev_ops), 0);
	T_EQ(d.run.nr_ops, 0);
	T_ASSERT(d.cancels >= 1);
	T_ASSERT(!d.run.look_busy && !d.run.irq_busy);
	/* Reaped without paying the held interrupt: the rings go. */
	T_EQ(irqs(&d), before);
	T_END(&d);
}

/*
 * Holding off: the device's pop says -EBUSY (as rng's while its bucket
 * refills). Kicks stay off and a guest kicking meanwhile costs nothing:
 * no pop, no retry, no timer or tick queued. The device's resume pops
 * what the guest added meanwhile, and kicks come back on only once the
 * ring was found empty.
 */
static void hold_off_until_resume(void)
{
	struct vqrun_conf conf = { .budget = 64 };
	struct tdev d;

	T_ASSERT(!tdev_start(&d, &conf));
	d.off_at = 1;
	T_ASSERT(!guest_add(&d, 3));
	vqrun_kick(&d.run);
	T_EQ(d.pops, 1);
	T_EQ(d.offs, 1);
	T_ASSERT(d.run.held_off);
	T_ASSERT(!kicks_wanted(&d));
	T_EQ(guest_collect(&d), 1); /* the run published what it pushed */
	T_ASSERT(!guest_add(&d, 2));
	for (unsigned int i = 0; i < 1000; i++)
		vqrun_kick(&d.run);
	vqrun_run(&d.run);
	T_EQ(d.pops, 1);
	T_EQ(d.offs, 1);
	T_EQ(d.retries, 1);
	T_EQ(d.run.nr_ops, 0);
	T_ASSERT(!kicks_wanted(&d));
	/* The device's event: the four chains waiting are popped. */
	d.off_at = 0;
	vqrun_resume(&d.run);
	T_ASSERT(!d.run.held_off);
	T_EQ(d.pops, 5);
	T_EQ(guest_collect(&d), 4);
	T_ASSERT(kicks_wanted(&d));
	T_EQ(d.run.nr_ops, 0);
	T_END(&d);
}

/*
 * The tick of a spent budget comes while the device holds off: it pops
 * nothing (the device said it cannot take more), and the resume does.
 */
static void hold_off_beats_tick(void)
{
	struct vqrun_conf conf = { .budget = 2 };
	struct tdev d;

	T_ASSERT(!tdev_start(&d, &conf));
	T_ASSERT(!guest_add(&d, 6));
	vqrun_run(&d.run);
	T_EQ(d.pops, 2);
	T_ASSERT(d.run.tick.busy);
	d.off_at = 3;
	T_ASSERT(turn(&d)); /* the tick: pops one, then held off */
	T_EQ(d.pops, 3);
	T_ASSERT(d.run.held_off);
	T_ASSERT(!d.run.tick.busy);
	T_ASSERT(!d.run.resume);
	T_EQ(d.run.nr_ops, 0);
	T_ASSERT(!kicks_wanted(&d));
	d.off_at = 0;
	vqrun_resume(&d.run); /* budget 2: one tick more */
	while (d.pops < 6 && turn(&d))
		;
	T_EQ(d.pops, 6);
	T_EQ(guest_collect(&d), 6);
	T_ASSERT(kicks_wanted(&d));
	T_END(&d);
}

/*
 * A reset ends a hold: the new driver's first kick runs the queue. A
 * resume that finds the ring empty turns kicks back on.
 */
static void hold_off_ends_at_reset(void)
{
	struct vqrun_conf conf = { .budget = 64 };
	struct tdev d;

	T_ASSERT(!tdev_start(&d, &conf));
	d.off_at = 1;
	T_ASSERT(!guest_add(&d, 2));
	vqrun_run(&d.run);
	T_ASSERT(d.run.held_off);
	T_EQ(vqrun_stop(&d.run, &d.dev_ops), 0);
	vqrun_reset(&d.run);
	d.run.stopping = false;
	T_ASSERT(!d.run.held_off);
	d.off_at = 0;
	vqrun_kick(&d.run);
	T_EQ(d.pops, 2);
	T_ASSERT(kicks_wanted(&d));
	/* Empty ring, resumed anyway: kicks on, nothing held. */
	vqrun_resume(&d.run);
	T_ASSERT(!d.run.held_off);
	T_ASSERT(kicks_wanted(&d));
	T_EQ(guest_collect(&d), 2);
	T_END(&d);
}

T_MAIN(T_CASE(budget_then_tick), T_CASE(full_device_resumes),
       T_CASE(completion_deferred_to_tick),
       T_CASE(look_again_finds_without_kick), T_CASE(idle_window_adapts),
       T_CASE(busy_keeps_kicks_off), T_CASE(coalesce_bound_pays_held_irq),
       T_CASE(last_completion_raises_held_irq),
       T_CASE(hold_idle_holds_without_work), T_CASE(stop_reaps_timers),
       T_CASE(hold_off_until_resume), T_CASE(hold_off_beats_tick),
       T_CASE(hold_off_ends_at_reset))
