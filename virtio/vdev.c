// SPDX-License-Identifier: MIT
/*
 * The transport-independent half of a virtio device: status state machine,
 * feature negotiation, interrupt status and the sticky broken state.
 */
#define LOG_MOD "vdev"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/vdev.h"

int vdev_init(struct vdev *vdev, const struct vdev_ops *ops,
	      const struct gmem *gm, unsigned int nr_vqs, uint16_t queue_max,
	      unsigned int cfg_size, uint64_t features)
{
	unsigned int i;

	memset(vdev, 0, sizeof(*vdev));
	/* Host invariants of the device model, not guest input. */
	if (!nr_vqs || !queue_max || queue_max > 32768 ||
	    (queue_max & (queue_max - 1)) || cfg_size > 0x100)
		return -EINVAL;
	vdev->vqs = calloc(nr_vqs, sizeof(*vdev->vqs));
	if (!vdev->vqs)
		return -ENOMEM;
	vdev->ops = ops;
	vdev->gmem = *gm;
	vdev->nr_vqs = nr_vqs;
	vdev->queue_max = queue_max;
	vdev->cfg_size = cfg_size;
	vdev->host_features = features | VDEV_TRANSPORT_FEATURES;
	for (i = 0; i < nr_vqs; i++) {
		vdev->vqs[i].vdev = vdev;
		vdev->vqs[i].index = i;
	}
	log_ctx_init(&vdev->log, -1, ops->name);
	return 0;
}

void vdev_destroy(struct vdev *vdev)
{
	if (!vdev->vqs)
		return;
	vdev_reset(vdev);
	/* What each queue cost in notifications, for logs and benchmarks. */
	for (unsigned int i = 0; i < vdev->nr_vqs; i++)
		if (vdev->vqs[i].nr_kicks || vdev->vqs[i].nr_used)
			vq_log_counts(&vdev->vqs[i]);
	free(vdev->vqs);
	vdev->vqs = NULL;
	vdev->nr_vqs = 0;
}

void vdev_set_irq(struct vdev *vdev, vdev_irq_fn *fn, void *opaque)
{
	vdev->irq = fn;
	vdev->irq_opaque = opaque;
}

void vdev_raise(struct vdev *vdev, uint32_t bits)
{
	uint32_t old;

	/*
	 * Before the bit: a queue that sees the new generation knows the bit
	 * was set after it read the old one, hence after its publish (see
	 * vq_irq_release). The driver's handler reads every queue's used ring
	 * after it acknowledged the bit.
	 */
	if (bits & VIRTIO_MMIO_INT_VRING)
		__atomic_fetch_add(&vdev->vring_gen, 1, __ATOMIC_SEQ_CST);
	old = __atomic_fetch_or(&vdev->isr, bits, __ATOMIC_SEQ_CST);

	/* An edge only for a newly set bit: one still set is still pending. */
	if (!(bits & ~old))
		return;
	__atomic_fetch_add(&vdev->nr_irqs, 1, __ATOMIC_RELAXED);
	if (vdev->irq)
		vdev->irq(vdev, vdev->irq_opaque);
}

void vdev_config_changed(struct vdev *vdev)
{
	__atomic_fetch_add(&vdev->config_gen, 1, __ATOMIC_RELEASE);
	vdev_raise(vdev, VIRTIO_MMIO_INT_CONFIG);
}

int vdev_fail(struct vdev *vdev, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_guest(&vdev->log, "%s: device needs reset", msg);
	/* Queue threads may fail the device while the transport runs. */
	if (__atomic_exchange_n(&vdev->broken, true, __ATOMIC_ACQ_REL))
		return -EPROTO;
	if (__atomic_fetch_or(&vdev->status, VIRTIO_CONFIG_S_NEEDS_RESET,
			      __ATOMIC_ACQ_REL) &
	    VIRTIO_CONFIG_S_DRIVER_OK)
		vdev_config_changed(vdev);
	return -EPROTO;
}

void vdev_needs_reset(struct vdev *vdev)
{
	__atomic_store_n(&vdev->broken, true, __ATOMIC_RELEASE);
	__atomic_fetch_or(&vdev->status, VIRTIO_CONFIG_S_NEEDS_RESET,
			  __ATOMIC_ACQ_REL);
	vdev_config_changed(vdev);
}

void vdev_reset(struct vdev *vdev)
{
	unsigned int i;

	/* The model drops its in-flight work before the rings go away. */
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	for (i = 0; i < vdev->nr_vqs; i++)
		vq_disable(&vdev->vqs[i], true);
	__atomic_store_n(&vdev->status, 0, __ATOMIC_RELEASE);
	vdev->guest_features = vdev->features = 0;
	vdev->guest_features_bad = false;
	vdev->dev_feat_sel = vdev->drv_feat_sel = vdev->queue_sel = 0;
	__atomic_store_n(&vdev->broken, false, __ATOMIC_RELEASE);
	__atomic_store_n(&vdev->isr, 0, __ATOMIC_RELEASE);
}

/* Checks the driver's feature set at FEATURES_OK. */
static bool vdev_features_acceptable(struct vdev *vdev)
{
	uint64_t f = vdev->guest_features;

	if (vdev->guest_features_bad) {
		log_guest(&vdev->log, "feature bits above 63 written");
		return false;
	}
	/* Rejects bits we never offered. */
	if (f & ~vdev->host_features) {
		log_guest(&vdev->log, "unoffered features 0x%llx",
			  (unsigned long long)(f & ~vdev->host_features));
		return false;
	}
	/* Rejects legacy drivers: this is a version 2 (modern) device. */
	if (!(f & (1ULL << VIRTIO_F_VERSION_1))) {
		log_guest(&vdev->log, "driver did not accept VERSION_1");
		return false;
	}
	if (vdev->ops->features_ok && vdev->ops->features_ok(vdev, f))
		return false;
	return true;
}

/*
 * Stores the driver's status bits, keeping NEEDS_RESET, which a queue thread
 * may set meanwhile (vdev_fail).
 */
static void vdev_store_status(struct vdev *vdev, uint32_t val)
{
	uint32_t cur = __atomic_load_n(&vdev->status, __ATOMIC_RELAXED);

	while (!__atomic_compare_exchange_n(
		&vdev->status, &cur, val | (cur & VIRTIO_CONFIG_S_NEEDS_RESET),
		true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		;
}

void vdev_set_status(struct vdev *vdev, uint32_t val)
{
	uint32_t old = vdev_status(vdev), add;

	if (!val) {
		vdev_reset(vdev);
		return;
	}
	/* NEEDS_RESET is the device's bit; the driver cannot set or clear it. */
	val &= 0xff & ~VIRTIO_CONFIG_S_NEEDS_RESET;
	/* Rejects clearing bits other than by a reset. */
	if (old & ~val & ~VIRTIO_CONFIG_S_NEEDS_RESET) {
		log_guest(&vdev->log, "status 0x%x -> 0x%x clears bits", old,
			  val);
		return;
	}
	add = val & ~old;
	if (add & VIRTIO_CONFIG_S_FEATURES_OK) {
		if (!(val & VIRTIO_CONFIG_S_DRIVER) ||
		    !vdev_features_acceptable(vdev)) {
			val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
			add &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		} else {
			vdev->features = vdev->guest_features;
		}
	}
	/* Rejects DRIVER_OK before FEATURES_OK was latched. */
	if ((add & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(val & VIRTIO_CONFIG_S_FEATURES_OK)) {
		log_guest(&vdev->log, "DRIVER_OK without FEATURES_OK");
		val &= ~VIRTIO_CONFIG_S_DRIVER_OK;
		add &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	}
	vdev_store_status(vdev, val);
	if ((add & VIRTIO_CONFIG_S_DRIVER_OK) && !vdev_broken(vdev) &&
	    vdev->ops->start) {
		int rc = vdev->ops->start(vdev);

		if (rc)
			vdev_fail(vdev, "device start failed (%d)", rc);
	}
}

struct vq *vdev_sel_vq(struct vdev *vdev)
{
	if (vdev->queue_sel >= vdev->nr_vqs)
		return NULL;
	return &vdev->vqs[vdev->queue_sel];
}

void vdev_kick(struct vdev *vdev, unsigned int index)
{
	struct vq *vq;

	/* Ignores kicks before DRIVER_OK, on a broken device, bad or unready
	 * queues. */
	if (index >= vdev->nr_vqs || vdev_broken(vdev) ||
	    !(vdev_status(vdev) & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	vq = &vdev->vqs[index];
	if (!vq->ready)
		return;
	vdev->nr_kicks++;
	__atomic_store_n(&vq->nr_kicks, vq->nr_kicks + 1, __ATOMIC_RELAXED);
	if (vdev->ops->kick)
		vdev->ops->kick(vdev, vq);
}

void vdev_log_state(struct vdev *vdev)
{
	log_info(
		&vdev->log,
		"status 0x%x%s, features 0x%llx, interrupt status 0x%x, %llu interrupts, %llu kicks",
		vdev_status(vdev), vdev_broken(vdev) ? " (broken)" : "",
		(unsigned long long)vdev->features,
		__atomic_load_n(&vdev->isr, __ATOMIC_ACQUIRE),
		(unsigned long long)__atomic_load_n(&vdev->nr_irqs,
						    __ATOMIC_RELAXED),
		(unsigned long long)__atomic_load_n(&vdev->nr_kicks,
						    __ATOMIC_RELAXED));
}
