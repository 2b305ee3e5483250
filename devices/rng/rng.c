// SPDX-License-Identifier: MIT
/*
 * The virtio-rng device: the device-writable buffers of one request queue
 * filled from getrandom(2), paced by a token bucket, run on the shared
 * queue machinery (virtio/vqrun.h). At most one chain is popped at a time;
 * the others wait in the guest's own ring.
 */
#define LOG_MOD "vrng"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <linux/virtio_ids.h>

#include "rng.h"
#include "virtio/vq.h"
#include "virtio/vqrun.h"

#define NSEC 1000000000ull
#define VRNG_QUEUE_MAX 1024u
#define VRNG_DEFAULT_QUEUE 64u
/* Bytes one run delivers before it lets the loop do other work. */
#define VRNG_RUN_BYTES (256u << 10)
/* Chains one run serves (each costs a getrandom call or more). */
#define VRNG_RUN_CHAINS 256u
/*
 * What a source call costs the run's byte budget at the least: a chain of
 * many 1-byte buffers (a call each) ends the run after VRNG_RUN_BYTES /
 * VRNG_CALL_BYTES calls, not 256 chains of 1024 calls.
 */
#define VRNG_CALL_BYTES 64u
#define VRNG_MAX_EINTR 8u
/* How long a chain waits when the host's pool cannot give (EAGAIN). */
#define VRNG_RETRY_NS (100 * 1000000ull)

struct vrng {
	struct vdev vdev;
	struct evl *loop;
	vrng_source_fn *source;

	/*
	 * The token bucket, in bytes: @tokens at time @stamp_ns, @rate more
	 * per second, at most @burst. Kept across resets: a guest does not
	 * refill it by resetting the device.
	 */
	uint64_t rate, burst, tokens, stamp_ns;

	struct vqrun run;      /* the request queue */
	struct vq_chain chain; /* the one chain popped (if @held) */
	bool held;	       /* popped, neither pushed nor released */
	bool throttled;	       /* @chain has waited for the bucket */
	size_t run_bytes;      /* what this run may still deliver */

	/*
	 * The timer that resumes the queue held off (vqrun_resume): bucket
	 * refilled, yield, EAGAIN.
	 */
	struct evl_op timer_op;
	struct __kernel_timespec ts;
	bool timer_busy;      /* the timeout is in flight */
	bool timer_cancelled; /* vqrun_stop asked the kernel to cancel it */
	unsigned int nr_ops;  /* the timer, for vqrun_stop */
	struct vrng_stats st;
};

static struct vrng *vrng_from_vdev(struct vdev *vdev)
{
	return container_of(vdev, struct vrng, vdev);
}

static uint64_t vrng_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

/* ---- the token bucket ---- */

/* Nanoseconds @bytes of tokens take to come, rounded up. */
static uint64_t vrng_bytes_ns(const struct vrng *rng, uint64_t bytes)
{
	/* bytes <= VRNG_MAX_BURST: the product fits in 64 bits. */
	return (bytes * NSEC + rng->rate - 1) / rng->rate;
}

/*
 * Adds the tokens that came since @stamp_ns. The stamp moves by the time
 * the whole tokens added stand for (never more), so fractions carry over.
 */
static void vrng_refill(struct vrng *rng, uint64_t now)
{
	uint64_t elapsed = now - rng->stamp_ns, add;

	if (rng->tokens >= rng->burst ||
	    elapsed >= vrng_bytes_ns(rng, rng->burst - rng->tokens)) {
		rng->tokens = rng->burst;
		rng->stamp_ns = now;
		return;
	}
	/* elapsed < burst / rate seconds: the product fits in 64 bits. */
	add = elapsed * rng->rate / NSEC;
	rng->tokens += add;
	rng->stamp_ns += vrng_bytes_ns(rng, add);
}

/* ---- the request path ---- */

/*
 * Fills the chain's writable buffers, in order, with up to @want bytes.
 * Returns the count; 0 with *@err set if the source gave nothing.
 */
static size_t vrng_fill(struct vrng *rng, size_t want, int *err)
{
	const struct iovec *iov = vq_chain_in(&rng->chain);
	unsigned int i = 0, eintr = 0;
	size_t got = 0, off = 0, len;
	ssize_t n;

	while (got < want && i < rng->chain.nr_in) {
		len = iov[i].iov_len - off;
		if (len > want - got)
			len = want - got;
		rng->st.calls++;
		n = rng->source((uint8_t *)iov[i].iov_base + off, len,
				GRND_NONBLOCK);
		if (n < 0 && errno == EINTR && ++eintr < VRNG_MAX_EINTR)
			continue;
		if (n <= 0) {
			/* A source giving 0 bytes would spin: like EAGAIN. */
			*err = n < 0 ? errno : EAGAIN;
			rng->st.src_errors++;
			break;
		}
		if ((size_t)n > len) /* a source that claims too much */
			n = len;
		got += n;
		off += n;
		if (off == iov[i].iov_len) {
			i++;
			off = 0;
		}
	}
	return got;
}

/*
 * Serves the popped chain: once the bucket holds what it needs, fills it
 * and pushes it. Returns 0 if pushed, or 1 with *@delay_ns set if it must
 * wait (the bucket, or a source that could not give).
 */
static int vrng_serve(struct vrng *rng, struct vq *vq, uint64_t *delay_ns)
{
	size_t want = rng->chain.in_len, got, cost;
	uint64_t calls = rng->st.calls;
	int err = 0;

	/* virtio 1.2, 5.4.6.2: the device MAY use less than the buffer. */
	if (want > VRNG_MAX_FILL)
		want = VRNG_MAX_FILL;
	if (rng->rate) {
		if (want > rng->burst)
			want = rng->burst;
		vrng_refill(rng, vrng_now_ns());
		if (rng->tokens < want) {
			rng->throttled = true;
			*delay_ns = vrng_bytes_ns(rng, want - rng->tokens);
			return 1;
		}
	}
	got = vrng_fill(rng, want, &err);
	if (!got) {
		log_guest(&rng->vdev.log, "entropy source: %s; retrying",
			  strerror(err));
		*delay_ns = VRNG_RETRY_NS;
		return 1;
	}
	if (rng->rate)
		rng->tokens -= got;
	vq_push(vq, &rng->chain, got);
	rng->held = false;
	rng->st.throttled += rng->throttled;
	rng->throttled = false;
	rng->st.chains++;
	rng->st.bytes += got;
	cost = (rng->st.calls - calls) * VRNG_CALL_BYTES;
	if (cost < got)
		cost = got;
	rng->run_bytes = cost < rng->run_bytes ? rng->run_bytes - cost : 0;
	return 0;
}

/*
 * Pops the next chain. Returns 1, 0 if the ring is empty, or -errno if the
 * device is (now) broken.
 */
static int vrng_pop(struct vrng *rng, struct vq *vq)
{
	int rc = vq_pop(vq, &rng->chain);

	if (rc <= 0)
		return rc;
	/*
	 * Rejects device-readable buffers: virtio 1.2, 5.4.6.1, "the driver
	 * MUST NOT place device-readable buffers". A chain with none has at
	 * least one writable byte (vq_pop refuses zero-length buffers).
	 */
	if (rng->chain.nr_out) {
		uint32_t out = rng->chain.out_len;

		vq_chain_release(vq, &rng->chain);
		return vdev_fail(&rng->vdev,
				 "vq0: chain with %u readable bytes", out);
	}
	rng->held = true;
	return 1;
}

static void vrng_timer_done(struct evl_op *op, int res, unsigned int flags);

/* Arms the timer that resumes the queue. False without an SQE. */
static bool vrng_timer_arm(struct vrng *rng, uint64_t delay_ns)
{
	struct io_uring_sqe *sqe = evl_get_sqe(rng->loop);

	if (!sqe)
		return false;
	rng->ts.tv_sec = delay_ns / NSEC;
	rng->ts.tv_nsec = delay_ns % NSEC;
	io_uring_prep_timeout(sqe, &rng->ts, 0, 0);
	evl_set_op(rng->loop, sqe, &rng->timer_op, vrng_timer_done);
	rng->timer_busy = true;
	rng->timer_cancelled = false;
	rng->nr_ops++;
	return true;
}

/*
 * The queue must wait @delay_ns: it holds off (-EBUSY) with the timer
 * armed, which resumes it, so kicks meanwhile cost nothing. Without an SQE
 * for the timer (the loop's ring cannot take more), the tick retries.
 */
static int vrng_wait(struct vrng *rng, uint64_t delay_ns)
{
	if (vrng_timer_arm(rng, delay_ns))
		return -EBUSY;
	log_guest(&rng->vdev.log, "no SQE for the timer: retrying");
	vqrun_tick(&rng->run);
	return -ENOSPC;
}

/*
 * vqrun: serves the chain waiting, or pops the next one and serves it.
 * Holds off if it must wait: for the bucket, for the source, or, the
 * run's bytes delivered, for nothing, so the loop runs in between.
 */
static int vrng_run_pop(struct vqrun *r)
{
	struct vrng *rng = container_of(r, struct vrng, run);
	uint64_t delay_ns;
	int rc;

	if (!rng->run_bytes)
		return vrng_wait(rng, 0);
	if (!rng->held) {
		rc = vrng_pop(rng, r->vq);
		if (rc <= 0)
			return rc;
	}
	if (vrng_serve(rng, r->vq, &delay_ns))
		return vrng_wait(rng, delay_ns);
	r->pushed = true;
	return 1;
}

/* vqrun: the next run may deliver its bytes again. */
static void vrng_run_end(struct vqrun *r)
{
	container_of(r, struct vrng, run)->run_bytes = VRNG_RUN_BYTES;
}

/* vqrun_stop: asks the kernel to cancel the timer, once. */
static void vrng_run_cancel(struct vqrun *r)
{
	struct vrng *rng = container_of(r, struct vrng, run);

	vqrun_cancel_op(r, &rng->timer_op, rng->timer_busy,
			&rng->timer_cancelled);
}

static const struct vqrun_ops vrng_run_ops = {
	.pop = vrng_run_pop,
	.end = vrng_run_end,
	.cancel = vrng_run_cancel,
};

static void vrng_timer_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vrng *rng = container_of(op, struct vrng, timer_op);

	rng->timer_busy = false;
	rng->nr_ops--;
	if (rng->run.stopping)
		return; /* cancelled by a reset: only counted down */
	rng->st.waits++;
	vqrun_resume(&rng->run);
}

/* ---- the ops the transport calls ---- */

static void vrng_kick(struct vdev *vdev, struct vq *vq)
{
	vqrun_kick(&vrng_from_vdev(vdev)->run);
}

/*
 * Stops the queue (the timer cancelled and reaped, running the loop), then
 * releases the waiting chain: no guest memory stays mapped. The bucket is
 * kept.
 */
static void vrng_reset(struct vdev *vdev)
{
	struct vrng *rng = vrng_from_vdev(vdev);

	/* Re-entered from a callback while this reset runs the loop: no-op. */
	if (rng->run.stopping)
		return;
	/* A failed loop is logged; the timer touches no guest memory. */
	vqrun_stop(&rng->run, &rng->nr_ops);
	if (rng->held) {
		vq_chain_release(&vdev->vqs[0], &rng->chain);
		rng->held = false;
	}
	rng->throttled = false;
	rng->run_bytes = VRNG_RUN_BYTES;
	vqrun_reset(&rng->run);
	rng->run.stopping = false;
}

static const struct vdev_ops vrng_ops = {
	.name = "vrng",
	.device_id = VIRTIO_ID_RNG,
	.kick = vrng_kick,
	.reset = vrng_reset,
};

/* ---- life cycle ---- */

static int vrng_conf_check(const struct vrng_conf *conf, const struct gmem *gm,
			   const struct evl *loop, uint16_t qsize)
{
	if (!conf || !gm || !gm->ops || !loop)
		return -EINVAL;
	if (conf->rate > VRNG_MAX_RATE || conf->burst > VRNG_MAX_BURST)
		return -EINVAL;
	if (!qsize || qsize > VRNG_QUEUE_MAX || (qsize & (qsize - 1)))
		return -EINVAL;
	return 0;
}

static ssize_t vrng_getrandom(void *buf, size_t len, unsigned int flags)
{
	return getrandom(buf, len, flags);
}

int vrng_create(struct vrng **out, const struct vrng_conf *conf,
		const struct gmem *gm, struct evl *loop)
{
	uint16_t qsize = conf && conf->queue_size ? conf->queue_size :
						    VRNG_DEFAULT_QUEUE;
	struct vrng *rng;
	int rc;

	*out = NULL;
	rc = vrng_conf_check(conf, gm, loop, qsize);
	if (rc)
		return rc;
	rng = calloc(1, sizeof(*rng));
	if (!rng)
		return -ENOMEM;
	rc = vdev_init(&rng->vdev, &vrng_ops, gm, 1, qsize, 0, 0);
	if (rc) {
		free(rng);
		return rc;
	}
	log_ctx_init(&rng->vdev.log, conf->domid,
		     conf->name ? conf->name : "vrng");
	rng->loop = loop;
	vqrun_init(&rng->run, &rng->vdev.vqs[0], loop, &vrng_run_ops,
		   &(struct vqrun_conf){ .budget = VRNG_RUN_CHAINS });
	rng->run_bytes = VRNG_RUN_BYTES;
	rng->source = conf->source ? conf->source : vrng_getrandom;
	rng->rate = conf->rate;
	rng->burst = conf->burst ? conf->burst : VRNG_DEFAULT_BURST;
	rng->tokens = rng->burst; /* a guest booting gets a burst at once */
	rng->stamp_ns = vrng_now_ns();
	*out = rng;
	return 0;
}

void vrng_log_state(struct vrng *rng)
{
	vdev_log_state(&rng->vdev);
	vq_log_state(&rng->vdev.vqs[0]);
	if (rng->rate)
		log_info(&rng->vdev.log,
			 "rate %llu B/s, burst %llu, %llu tokens",
			 (unsigned long long)rng->rate,
			 (unsigned long long)rng->burst,
			 (unsigned long long)rng->tokens);
	log_info(
		&rng->vdev.log,
		"%llu bytes in %llu chains, %llu throttled, %llu source errors%s%s",
		(unsigned long long)rng->st.bytes,
		(unsigned long long)rng->st.chains,
		(unsigned long long)rng->st.throttled,
		(unsigned long long)rng->st.src_errors,
		rng->held ? ", a chain waiting" : "",
		rng->timer_busy ? ", timer armed" : "");
}

struct vdev *vrng_vdev(struct vrng *rng)
{
	return &rng->vdev;
}

void vrng_get_stats(const struct vrng *rng, struct vrng_stats *st)
{
	*st = rng->st;
}

void vrng_destroy(struct vrng *rng)
{
	if (!rng)
		return;
	vdev_destroy(&rng->vdev); /* resets: timer reaped, chain released */
	if (rng->timer_busy) {
		/* The loop failed with the timer in flight: freeing is a UAF. */
		log_err(&rng->vdev.log, "timer still in flight; device leaked");
		return;
	}
	free(rng);
}
