/* SPDX-License-Identifier: MIT */
/*
 * Running one virtqueue on an event loop: pop chains with a budget per run,
 * keep guest kicks off while the queue is busy and look at the ring again
 * from a timer (adaptive, lib/pollwin.h) before asking for them, hold off
 * while the device waits for an event of its own, defer work to the end of
 * the loop's round, and publish used elements with optional interrupt
 * moderation. The device supplies how one chain is popped and
 * started; everything else a queue of blk, net or a new device does alike
 * is here. State of one thread: the one running @loop.
 */
#ifndef XVB_VIRTIO_VQRUN_H
#define XVB_VIRTIO_VQRUN_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/evl.h"
#include "lib/pollwin.h"
#include "virtio/vq.h"

/*
 * A NOP whose completion runs deferred work after the loop's round: every
 * CQE of the round is handled before it. Usable alone (a queue that needs
 * no more of this file) or as the tick of a struct vqrun.
 */
struct vqrun_defer {
	struct evl_op op;
	bool busy; /* queued; the callback clears it */
};

/*
 * Queues @d's NOP on @loop, to call @cb (which must clear d->busy).
 * Returns 1 if queued now, 0 if it already was, -EAGAIN without an SQE.
 */
int vqrun_defer(struct evl *loop, struct vqrun_defer *d, evl_cb *cb);

struct vqrun;

/* What the device does; recover it from @r with container_of(). */
struct vqrun_ops {
	/*
	 * Pops one chain (vq_pop) and starts it. Returns 1 if it did, 0 if
	 * the ring is empty, -ENOSPC if the device cannot take another now
	 * (pool dry, work waiting for an SQE: popping resumes from the loop
	 * with kicks still off), -EBUSY if the device holds off until an
	 * event it waits for itself (a timer, a socket, a message from the
	 * guest on another queue) and will then call vqrun_resume(), or
	 * vq_pop's -errno (the ring is broken: popping stops). Required.
	 *
	 * Holding off, the queue keeps kicks off and does nothing until
	 * vqrun_resume() (a kick is a no-op): the device must have arranged
	 * that call before it returns -EBUSY, or the guest's buffers wait
	 * for nobody. A device that cannot (no SQE for its timer) returns
	 * -ENOSPC and queues the tick (vqrun_tick) instead.
	 */
	int (*pop)(struct vqrun *r);
	/*
	 * Optional: issues work that waited for an SQE; runs at the start of
	 * every run and at every tick. Returns true if nothing waits now
	 * (popping may resume).
	 */
	bool (*retry)(struct vqrun *r);
	/*
	 * Optional: true while the device has popped work in flight whose
	 * completions will look at the ring (vqrun_complete) and join a held
	 * interrupt. Kicks then stay off without spending idle looks, and
	 * interrupts are held (conf.coalesce_ns) only while it is true,
	 * unless conf.hold_idle.
	 */
	bool (*busy)(struct vqrun *r);
	/* Optional: at the end of every run, before publishing. */
	void (*end)(struct vqrun *r);
	/*
	 * Optional: asks the kernel to cancel the device's operations in
	 * flight (evl_cancel), for vqrun_stop. Called again at every turn
	 * until they are reaped, so it skips the ones it already asked for.
	 */
	void (*cancel)(struct vqrun *r);
};

struct vqrun_conf {
	unsigned int budget;  /* chains popped per run before yielding */
	unsigned int looks;   /* idle looks a window takes at most */
	uint32_t poll_ns;     /* look-again period; 0: kicks on once empty */
	uint32_t coalesce_ns; /* interrupt hold bound; 0: raised at once */
	/*
	 * The idle window adapts (pollwin_idle_end, pollwin_kicked): one
	 * spent without finding work halves the next. Without, every window
	 * takes conf.looks looks.
	 */
	bool adaptive;
	/*
	 * Hold interrupts with nothing in flight too: another queue's
	 * interrupt, raised soon after, pays them (net's transmit queue:
	 * the answers to what it sent come back on the receive queue).
	 */
	bool hold_idle;
};

struct vqrun {
	struct vq *vq;
	struct evl *loop;
	const struct vqrun_ops *ops;
	struct vqrun_conf conf;
	struct pollwin idle; /* looks at an idle ring, and how many to take */

	struct vqrun_defer tick; /* publish used, resume popping */
	struct evl_op look_op;	 /* the look-again timer (conf.poll_ns) */
	struct __kernel_timespec look_ts;
	bool look_busy;
	struct evl_op irq_op; /* the timer that pays a held interrupt */
	struct __kernel_timespec irq_ts;
	bool irq_busy;
	unsigned int nr_ops; /* tick and timers in flight */

	bool running;	/* inside vqrun_run */
	bool resume;	/* popping stopped early: run again from the tick */
	bool pushed;	/* used elements not yet published */
	bool kicks_off; /* a look is armed: the guest does not kick */
	bool held_off;	/* pop said -EBUSY: kicks off until vqrun_resume */
	/*
	 * Set by the device while it stops the queue: nothing is published,
	 * deferred or run, and completions of our operations only count down.
	 */
	bool stopping;
};

/* Sets up @r for @vq on @loop. Allocates nothing: there is no _fini. */
void vqrun_init(struct vqrun *r, struct vq *vq, struct evl *loop,
		const struct vqrun_ops *ops, const struct vqrun_conf *conf);

/*
 * Pops and starts chains until the ring is empty (kicks go back on, or a
 * look is armed), the budget is spent or the device is full (resumed from
 * the loop, kicks still off), the device holds off (resumed by the device,
 * kicks still off), or the ring is broken; then publishes and submits. A
 * no-op while running, stopping or held off, before DRIVER_OK and on a
 * queue that is not ready.
 */
void vqrun_run(struct vqrun *r);

/*
 * The device can take chains again after its pop said -EBUSY (or has new
 * reason to look, held off or not): ends the hold and runs @r. The run
 * turns kicks back on once it finds the ring empty, so a guest that added
 * chains while kicks were off is served without kicking.
 */
void vqrun_resume(struct vqrun *r);

/*
 * The driver kicked: looking at an idle ring may pay again; runs @r. A
 * no-op while held off: the device's resume looks at the ring anyway.
 */
void vqrun_kick(struct vqrun *r);

/*
 * Work of a device with ops->busy completed and pushed its used element
 * outside a run. With kicks off the ring is looked at again from the
 * round's end; the used elements are published then, or at once if @last
 * (nothing else of the device's is in flight to join the round).
 */
void vqrun_complete(struct vqrun *r, bool last);

/*
 * Publishes at the end of the loop's round (the tick); at once if there is
 * no SQE for it. A no-op while stopping.
 */
void vqrun_tick(struct vqrun *r);

/*
 * Publishes used elements (r->pushed) and raises the interrupt the driver
 * asked for, or holds it (conf.coalesce_ns) until the device's work in
 * flight completes or the bound passes, whichever comes first.
 */
void vqrun_publish(struct vqrun *r);

/*
 * Stops the queue's operations: sets r->stopping, then cancels (the
 * device's with ops->cancel, our timers) and runs the loop until neither
 * the device's count of operations in flight, *@dev_ops, nor r->nr_ops is
 * left. Completions meanwhile must only count down. The device then
 * releases its chains, calls vqrun_reset() and clears r->stopping.
 * Returns 0, or the loop's -errno (logged; operations may still be in
 * flight, so guest buffers must stay mapped).
 */
int vqrun_stop(struct vqrun *r, const unsigned int *dev_ops);

/* After a stop reaped everything: the state of a new queue. */
void vqrun_reset(struct vqrun *r);

/*
 * For ops->cancel: asks the kernel to cancel the device's @op while it is
 * @busy, once: *@asked records it (the device clears it when it starts
 * the op again).
 */
static inline void vqrun_cancel_op(struct vqrun *r, struct evl_op *op,
				   bool busy, bool *asked)
{
	if (busy && !*asked)
		*asked = !evl_cancel(r->loop, op);
}

#endif
