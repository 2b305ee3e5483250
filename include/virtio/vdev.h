/* SPDX-License-Identifier: MIT */
/*
 * A virtio device as the transport sees it: the device model's ops table,
 * the status state machine, feature negotiation, interrupt status and the
 * sticky "broken" state (DEVICE_NEEDS_RESET).
 */
#ifndef XVB_VIRTIO_VDEV_H
#define XVB_VIRTIO_VDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "lib/compiler.h"
#include "lib/log.h"
#include "virtio/gmem.h"
#include "virtio/vq.h"

struct vdev;

/*
 * What a device model gives the transport. One static const table per model.
 * Every op runs on the transport's thread (the one handling the device's
 * register accesses: xvb_devenv.loop), never two at once; only name is
 * required, an op left NULL behaves as its comment says. docs/devices.md
 * tells the whole contract.
 */
struct vdev_ops {
	const char *name;   /* log prefix until the device sets its own */
	uint32_t device_id; /* VIRTIO_ID_*: DeviceID */
	/*
	 * Config space; the transport has already bounds-checked off + len
	 * against cfg_size. NULL: config space reads as zeroes.
	 */
	void (*cfg_read)(struct vdev *vdev, unsigned int off, void *buf,
			 unsigned int len);
	/*
	 * Returns 0, or -EPERM for a read-only field (the write is ignored
	 * and logged). NULL: config space is read-only.
	 */
	int (*cfg_write)(struct vdev *vdev, unsigned int off, const void *buf,
			 unsigned int len);
	/* FEATURES_OK: refuse a feature set (return -errno). NULL: accept. */
	int (*features_ok)(struct vdev *vdev, uint64_t features);
	/*
	 * DRIVER_OK: features final, queues set up. -errno fails the device
	 * (NEEDS_RESET). Not called on a broken device. NULL: nothing to do.
	 */
	int (*start)(struct vdev *vdev);
	/*
	 * The driver kicked @vq (ready, after DRIVER_OK, device not broken).
	 * Must not block: hand the work to the queue's loop. NULL: kicks are
	 * only counted.
	 */
	void (*kick)(struct vdev *vdev, struct vq *vq);
	/*
	 * Drop all in-flight work: on return no I/O may touch guest memory
	 * and every popped chain has been pushed or released. Called at
	 * Status=0 and at teardown (vdev_destroy), before the rings are
	 * unmapped; it may run the queues' loops and must tolerate being
	 * re-entered from a callback meanwhile. NULL only for a device that
	 * never holds a chain past its kick.
	 */
	void (*reset)(struct vdev *vdev);
};

/* Transport features every xvb device offers on top of its own. */
#define VDEV_TRANSPORT_FEATURES                                              \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ACCESS_PLATFORM) | \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                             \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX))

/* How the device tells its host to raise its interrupt line (an SPI). */
typedef void vdev_irq_fn(struct vdev *vdev, void *opaque);

struct vdev {
	const struct vdev_ops *ops;
	struct gmem gmem;
	struct log_ctx log;

	uint64_t host_features;	 /* offered to the driver */
	uint64_t guest_features; /* as the driver wrote them */
	uint64_t features;	 /* negotiated; valid once FEATURES_OK */
	bool guest_features_bad; /* non-zero write with DriverFeaturesSel > 1 */
	uint32_t status;	 /* atomic: queue threads may set NEEDS_RESET */
	uint32_t isr; /* InterruptStatus; atomic: queue threads set bits */
	uint32_t config_gen;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	unsigned int cfg_size;
	uint16_t queue_max; /* QueueNumMax of every queue */
	bool broken; /* atomic; DEVICE_NEEDS_RESET: no new chains popped */

	unsigned int nr_vqs;
	struct vq *vqs;

	vdev_irq_fn *irq;
	void *irq_opaque;

	/* Counters for tests, benchmarks and logs. */
	uint64_t nr_irqs, nr_kicks;
	/*
	 * Atomic; bumped by every VRING raise before InterruptStatus is set:
	 * a queue holding its interrupt (vq_flush_hold) learns from it that
	 * the driver will look at every queue after its publish anyway.
	 */
	uint32_t vring_gen;
};

/*
 * Initialise @vdev for a device model with @nr_vqs queues of at most
 * @queue_max entries, @cfg_size bytes of config space and device feature
 * bits @features (the transport's are added). Returns 0 or -ENOMEM.
 */
int vdev_init(struct vdev *vdev, const struct vdev_ops *ops,
	      const struct gmem *gm, unsigned int nr_vqs, uint16_t queue_max,
	      unsigned int cfg_size, uint64_t features);

/* Resets the device and frees what vdev_init allocated. Accepts a zeroed vdev. */
void vdev_destroy(struct vdev *vdev);

/*
 * Logs one line on the device (status, features, InterruptStatus, counts);
 * the device model logs its queues (vq_log_state) on their threads.
 */
void vdev_log_state(struct vdev *vdev);

/* Where interrupts go. Without one they are only counted. */
void vdev_set_irq(struct vdev *vdev, vdev_irq_fn *fn, void *opaque);

/* True if feature bit @bit was negotiated. */
static inline bool vdev_has(const struct vdev *vdev, unsigned int bit)
{
	return vdev->features & (1ULL << bit);
}

/*
 * Device status and the broken flag, safe from any thread: a queue thread
 * may fail the device (vdev_fail) while the transport's thread reads them.
 */
static inline uint32_t vdev_status(const struct vdev *vdev)
{
	return __atomic_load_n(&vdev->status, __ATOMIC_ACQUIRE);
}

static inline bool vdev_broken(const struct vdev *vdev)
{
	return __atomic_load_n(&vdev->broken, __ATOMIC_ACQUIRE);
}

/*
 * The driver broke the protocol: log (rate-limited), set NEEDS_RESET,
 * stop popping chains, raise a config interrupt. Returns -EPROTO so callers
 * can `return vdev_fail(...)`.
 */
int vdev_fail(struct vdev *vdev, const char *fmt, ...) __printf(2, 3);

/*
 * The device cannot go on as the driver set it up (its rings cannot be
 * mapped, or its backend restarted under it): set NEEDS_RESET, stop
 * popping chains, and raise a configuration-change interrupt even before
 * DRIVER_OK, so the driver notices. Until Status=0.
 */
void vdev_needs_reset(struct vdev *vdev);

/*
 * Set interrupt status bit(s) @bits (VIRTIO_MMIO_INT_VRING / _CONFIG) and
 * raise the line if any of them was clear: an edge per newly set bit, so a
 * bit set after the driver read InterruptStatus is never lost.
 */
void vdev_raise(struct vdev *vdev, uint32_t bits);

/* The device changed its config space: bump the generation, interrupt. */
void vdev_config_changed(struct vdev *vdev);

/* Status=0: device reset, queues disabled, negotiation forgotten. */
void vdev_reset(struct vdev *vdev);

/* Write to the Status register, with the state machine's checks. */
void vdev_set_status(struct vdev *vdev, uint32_t status);

/*
 * Deliver one queue kick to the device model. Dropped before DRIVER_OK, on
 * a broken (NEEDS_RESET) device, and for bad or unready queues.
 */
void vdev_kick(struct vdev *vdev, unsigned int index);

/* The selected queue, or NULL if QueueSel is out of range. */
struct vq *vdev_sel_vq(struct vdev *vdev);

#endif
