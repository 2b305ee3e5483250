// SPDX-License-Identifier: MIT
/*
 * The queue machinery every device shares (include/virtio/vqrun.h): the
 * popping loop with its budget and kick suppression, the device holding
 * off, the look-again timer, the tick that defers work to the round's end,
 * and interrupt moderation.
 */
#define LOG_MOD "vqrun"

#include <errno.h>
#include <string.h>

#include "virtio/vdev.h"
#include "virtio/vqrun.h"

static void vqrun_tick_done(struct evl_op *op, int res, unsigned int flags);
static void vqrun_look_done(struct evl_op *op, int res, unsigned int flags);
static void vqrun_irq_done(struct evl_op *op, int res, unsigned int flags);

int vqrun_defer(struct evl *loop, struct vqrun_defer *d, evl_cb *cb)
{
	struct io_uring_sqe *sqe;

	if (d->busy)
		return 0;
	sqe = evl_get_sqe(loop);
	if (!sqe)
		return -EAGAIN;
	io_uring_prep_nop(sqe);
	evl_set_op(loop, sqe, &d->op, cb);
	d->busy = true;
	return 1;
}

void vqrun_init(struct vqrun *r, struct vq *vq, struct evl *loop,
		const struct vqrun_ops *ops, const struct vqrun_conf *conf)
{
	memset(r, 0, sizeof(*r));
	r->vq = vq;
	r->loop = loop;
	r->ops = ops;
	r->conf = *conf;
	pollwin_init(&r->idle, conf->looks);
}

static bool vqrun_busy(struct vqrun *r)
{
	return r->ops->busy && r->ops->busy(r);
}

/* Arms a one-shot timer of @ns for @op. False without an SQE. */
static bool vqrun_timer(struct vqrun *r, struct evl_op *op,
			struct __kernel_timespec *ts, uint32_t ns, evl_cb *cb)
{
	struct io_uring_sqe *sqe = evl_get_sqe(r->loop);

	if (!sqe)
		return false;
	ts->tv_sec = 0;
	ts->tv_nsec = ns;
	io_uring_prep_timeout(sqe, ts, 0, 0);
	evl_set_op(r->loop, sqe, op, cb);
	r->nr_ops++;
	return true;
}

/*
 * One of our operations completed: false if the queue is stopping (the
 * completion only counts down then).
 */
static bool vqrun_reaped(struct vqrun *r, bool *busy)
{
	*busy = false;
	r->nr_ops--;
	return !r->stopping;
}

/* ---- interrupt moderation and publishing ---- */

/* Arms the timer that pays a held interrupt. False without an SQE. */
static bool vqrun_irq_arm(struct vqrun *r)
{
	if (r->irq_busy)
		return true;
	r->irq_busy = vqrun_timer(r, &r->irq_op, &r->irq_ts,
				  r->conf.coalesce_ns, vqrun_irq_done);
	return r->irq_busy;
}

void vqrun_publish(struct vqrun *r)
{
	if (!r->pushed && !r->vq->irq_held)
		return;
	r->pushed = false;
	if (r->conf.coalesce_ns && !r->stopping &&
	    (r->conf.hold_idle || vqrun_busy(r))) {
		if (vq_flush_hold(r->vq) && !vqrun_irq_arm(r))
			vq_irq_release(r->vq); /* no SQE for the timer */
		return;
	}
	vq_flush(r->vq);
}

static void vqrun_irq_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vqrun *r = container_of(op, struct vqrun, irq_op);

	if (!vqrun_reaped(r, &r->irq_busy))
		return;
	/* The bound: whatever is pushed goes out, an owed interrupt too. */
	r->pushed = false;
	vq_flush(r->vq);
}

/* ---- deferred work ---- */

/*
 * Completions of one loop round are published together: the first one
 * queues a NOP, whose completion comes after the round's other CQEs.
 */
void vqrun_tick(struct vqrun *r)
{
	int rc;

	if (r->stopping)
		return;
	rc = vqrun_defer(r->loop, &r->tick, vqrun_tick_done);
	if (rc > 0)
		r->nr_ops++;
	else if (rc < 0)
		vqrun_publish(r); /* no SQE for the NOP: publish now */
}

static void vqrun_tick_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vqrun *r = container_of(op, struct vqrun, tick.op);
	bool waiting;

	if (!vqrun_reaped(r, &r->tick.busy))
		return;
	waiting = r->ops->retry && !r->ops->retry(r);
	if (r->resume && !waiting) {
		r->resume = false;
		vqrun_run(r);
	}
	vqrun_publish(r);
}

void vqrun_complete(struct vqrun *r, bool last)
{
	r->pushed = true;
	if (r->running)
		return; /* vqrun_run publishes as it ends */
	/* The guest does not kick now: the round's end looks at the ring. */
	if (r->kicks_off)
		r->resume = true;
	/*
	 * With nothing else in flight no other completion can join this
	 * round: publish now instead of one io_uring_enter later.
	 */
	if (last && !r->nr_ops && !r->stopping && !r->resume)
		vqrun_publish(r);
	else
		vqrun_tick(r);
}

/* ---- popping ---- */

/* Arms the look-again timer. False without an SQE (kicks go back on). */
static bool vqrun_look_arm(struct vqrun *r)
{
	if (r->look_busy)
		return true;
	r->look_busy = vqrun_timer(r, &r->look_op, &r->look_ts, r->conf.poll_ns,
				   vqrun_look_done);
	return r->look_busy;
}

static void vqrun_look_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vqrun *r = container_of(op, struct vqrun, look_op);

	if (!vqrun_reaped(r, &r->look_busy))
		return;
	vqrun_run(r);
}

/*
 * The ring looked empty: true if kicks stay off, a completion or the
 * look-again timer looking at it instead of the guest kicking. Busy, it
 * costs no look of the idle window: completions come anyway.
 */
static bool vqrun_keep_kicks_off(struct vqrun *r)
{
	bool busy = vqrun_busy(r);

	if (r->conf.poll_ns && (busy || pollwin_look(&r->idle)) &&
	    vqrun_look_arm(r)) {
		r->kicks_off = true;
		return true;
	}
	/* A whole idle window found nothing: look less next time. */
	if (!busy && r->conf.adaptive)
		pollwin_idle_end(&r->idle);
	r->kicks_off = false;
	return false;
}

void vqrun_kick(struct vqrun *r)
{
	if (r->held_off)
		return; /* the device resumes; a kick here costs nothing */
	if (r->conf.adaptive)
		pollwin_kicked(&r->idle);
	vqrun_run(r);
}

void vqrun_run(struct vqrun *r)
{
	unsigned int budget = r->conf.budget;
	struct vq *vq = r->vq;
	int rc = 0;

	if (r->running || r->stopping || r->held_off || !vq->ready ||
	    !(vdev_status(vq->vdev) & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	r->running = true;
	if (r->ops->retry)
		r->ops->retry(r);
	for (;;) {
		vq_kick_disable(vq);
		while (budget && (rc = r->ops->pop(r)) > 0) {
			budget--;
			pollwin_found(&r->idle);
		}
		/*
		 * Held off: kicks stay off. No wake-up is lost: the device's
		 * resume runs the ring, and only a run that finds it empty
		 * turns kicks back on (with vq_kick_enable's re-check).
		 */
		if (rc == -EBUSY) {
			r->held_off = true;
			break;
		}
		if (rc < 0 && rc != -ENOSPC)
			break; /* broken: no more popping */
		if (!budget || rc == -ENOSPC) {
			r->resume = true;
			break;
		}
		if (vqrun_keep_kicks_off(r))
			break;
		/* More arrived while kicks went back on: pop it too. */
		if (!vq_kick_enable(vq))
			break;
	}
	r->running = false;
	if (r->ops->end)
		r->ops->end(r);
	if (r->resume && !budget)
		vqrun_tick(r);
	vqrun_publish(r);
	evl_submit(r->loop);
}

void vqrun_resume(struct vqrun *r)
{
	r->held_off = false;
	vqrun_run(r);
}

/* ---- stop ---- */

/* Asks the kernel to cancel what is in flight; the tick ends by itself. */
static void vqrun_cancel(struct vqrun *r)
{
	if (r->ops->cancel)
		r->ops->cancel(r);
	if (r->look_busy)
		evl_cancel(r->loop, &r->look_op);
	if (r->irq_busy)
		evl_cancel(r->loop, &r->irq_op);
}

int vqrun_stop(struct vqrun *r, const unsigned int *dev_ops)
{
	int rc;

	r->stopping = true;
	while (*dev_ops + r->nr_ops) {
		vqrun_cancel(r);
		rc = evl_run_once(r->loop, true);
		if (rc < 0) {
			log_err(&r->vq->vdev->log,
				"vq%u: event loop failed (%d) with %u ops",
				r->vq->index, rc, *dev_ops + r->nr_ops);
			return rc;
		}
	}
	return 0;
}

void vqrun_reset(struct vqrun *r)
{
	r->resume = r->pushed = r->kicks_off = r->held_off = false;
	pollwin_init(&r->idle, r->conf.looks);
}
