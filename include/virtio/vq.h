/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue (virtio 1.2, 2.7): pop a descriptor chain into an
 * iovec set with every guest value read once and checked, push used
 * elements, and suppress notifications both ways with EVENT_IDX.
 */
#ifndef XVB_VIRTIO_VQ_H
#define XVB_VIRTIO_VQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_ring.h>

struct vdev;

/* Most iovecs one chain may map to (after splitting at mapping edges). */
#define VQ_MAX_IOV 256

/*
 * One popped chain. iov[0, nr_out) are device-readable buffers (the
 * driver's "out"), iov[nr_out, nr_out + nr_in) device-writable ("in").
 * Every iovec is one gmem map() the chain owns until vq_push() or
 * vq_chain_release() gives it back.
 */
struct vq_chain {
	uint16_t head;
	uint16_t nr_out;
	uint16_t nr_in;
	uint32_t out_len; /* bytes in the readable part */
	uint32_t in_len;  /* bytes in the writable part */
	struct iovec iov[VQ_MAX_IOV];
};

static inline struct iovec *vq_chain_in(struct vq_chain *c)
{
	return c->iov + c->nr_out;
}

struct vq {
	struct vdev *vdev;
	unsigned int index;

	/* Registers, as the driver wrote them. Valid for setup only. */
	uint16_t num; /* QueueNum; 0 until written */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready; /* rings mapped, the queue serves */
	/*
	 * QueueReady=1 was written but the queue was refused (bad layout,
	 * rings not mappable): QueueReady still reads 1, the last value
	 * written, and the device is NEEDS_RESET.
	 */
	bool refused;

	/* Host views of the rings, valid while ready. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	size_t desc_len, avail_len, used_len;

	/* Private state, never read back from guest memory. */
	uint16_t last_avail;	 /* next avail ring entry to pop */
	uint16_t avail_shadow;	 /* avail idx as last read (and checked) */
	uint16_t used_idx;	 /* our used idx (pushed, maybe unpublished) */
	uint16_t used_pub;	 /* used idx as last written to the ring */
	uint16_t signalled_used; /* used idx at the last interrupt */
	bool signalled_valid;
	bool irq_held;	       /* an interrupt owed, held (vq_flush_hold) */
	uint32_t held_gen;     /* vdev->vring_gen after the last held publish */
	unsigned int inflight; /* popped, neither pushed nor released */
	uint32_t gen;	       /* bumped at every reset or disable */
	struct vring_desc *ind_buf; /* private copy of an indirect table */

	/*
	 * Counters over the device's life (resets keep them), each written
	 * by one thread, read by any with relaxed atomics: kicks taken (the
	 * transport's thread), used elements published and interrupts the
	 * driver asked for by them (the queue's thread).
	 */
	uint64_t nr_kicks, nr_used, nr_irqs;
	uint64_t nr_shared; /* held interrupts another queue's raise covered */

	void *priv; /* the device model's per-queue state */
};

/*
 * Map the rings from the addresses the driver wrote and check them:
 * num a power of two and <= @max, each ring aligned (16/2/4), inside guest
 * RAM, mapped whole, not overlapping. Returns 0 and marks the queue ready,
 * or -EINVAL with nothing mapped (QueueReady keeps reading 0).
 */
int vq_enable(struct vq *vq, uint16_t max);

/*
 * Unmap the rings and forget the queue's state (registers too if @regs).
 * The device must have finished every popped chain first.
 */
void vq_disable(struct vq *vq, bool regs);

/*
 * Pop the next available chain into @c.
 * Returns 1 on success, 0 if the ring is empty, -EPROTO if the guest broke
 * the ring protocol (the device is now NEEDS_RESET), -EIO if it already was
 * broken or the queue is not ready.
 */
int vq_pop(struct vq *vq, struct vq_chain *c);

/*
 * Unmap a popped chain's buffers without completing it: it no longer counts
 * as in flight. For reset and teardown paths only: the head must then never
 * be pushed (the driver gets it back only through the reset).
 */
void vq_chain_release(struct vq *vq, struct vq_chain *c);

/*
 * Complete a popped chain: unmap its buffers, write the used element with
 * @written bytes. The element is visible to the driver only after
 * vq_flush().
 */
void vq_push(struct vq *vq, struct vq_chain *c, uint32_t written);

/*
 * Publish pushed elements (used idx) and raise the queue interrupt unless
 * the driver suppressed it (used_event, or VRING_AVAIL_F_NO_INTERRUPT).
 * Returns true if an interrupt was raised.
 */
bool vq_flush(struct vq *vq);

/*
 * Interrupt moderation. vq_flush_hold() publishes like vq_flush(), but an
 * interrupt the driver asked for is owed instead of raised (irq_held).
 * The owner must then, within its bound, call vq_flush() (which raises an
 * owed interrupt with whatever it publishes, unless another queue's raise
 * covered it) or vq_irq_release(). Returns true if an interrupt is owed.
 */
bool vq_flush_hold(struct vq *vq);

/*
 * Raises the interrupt vq_flush_hold() owes, unless another queue of the
 * device raised one after the last held publish (the driver's handler
 * then reads this queue's used ring too: virtio-mmio has one line).
 * Returns true if it raised one.
 */
bool vq_irq_release(struct vq *vq);

/*
 * Kick suppression while the device is busy with the queue: with EVENT_IDX
 * nothing is needed (avail_event is only moved forward on enable), without
 * it VRING_USED_F_NO_NOTIFY is set.
 */
void vq_kick_disable(struct vq *vq);

/*
 * Re-enable kicks once the ring looked empty: publishes avail_event =
 * last_avail (or clears NO_NOTIFY), then re-reads avail idx. Returns true
 * if more chains arrived meanwhile (the caller must keep popping).
 */
bool vq_kick_enable(struct vq *vq);

/* True if the driver has made chains available that were not popped. */
bool vq_has_avail(struct vq *vq);

/*
 * Logs one line on @vq's state (ring indices as the driver left them and
 * as we keep them, in-flight chains, kick and interrupt suppression), for
 * an operator asking what a queue is doing. Run on the queue's thread.
 */
void vq_log_state(struct vq *vq);

/*
 * Logs @vq's counters (kicks, used elements, interrupts, used elements per
 * interrupt) as one line "vqN counts: ...". Any thread.
 */
void vq_log_counts(const struct vq *vq);

#endif
