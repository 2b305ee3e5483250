// SPDX-License-Identifier: MIT
/*
 * The virtio-mmio version 2 register file. Decodes one access; anything the
 * spec does not allow reads 0 or is ignored, and the caller always answers.
 */
#define LOG_MOD "vmmio"

#include <stdbool.h>
#include <string.h>

#include "virtio/vmmio.h"

/* Queue registers may change only while the queue is off and before DRIVER_OK. */
static struct vq *vmmio_setup_vq(struct vdev *vdev, uint64_t off)
{
	struct vq *vq = vdev_sel_vq(vdev);

	if (!vq || vq->ready || vq->refused ||
	    (vdev_status(vdev) & VIRTIO_CONFIG_S_DRIVER_OK)) {
		log_guest(&vdev->log,
			  "queue register 0x%llx write ignored (queue %u)",
			  (unsigned long long)off, vdev->queue_sel);
		return NULL;
	}
	return vq;
}

static void set_lo(uint64_t *reg, uint32_t v)
{
	*reg = (*reg & ~0xffffffffULL) | v;
}

static void set_hi(uint64_t *reg, uint32_t v)
{
	*reg = (*reg & 0xffffffffULL) | ((uint64_t)v << 32);
}

static uint32_t vmmio_reg_read(struct vdev *vdev, unsigned int off)
{
	struct vq *vq = vdev_sel_vq(vdev);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VMMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VMMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return vdev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VMMIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (vdev->dev_feat_sel > 1)
			return 0;
		return (uint32_t)(vdev->host_features >>
				  (32 * vdev->dev_feat_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? vdev->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_NUM:
		return vq ? vq->num : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		/* The last value written, refused or not (virtio 1.2 4.2.2). */
		return vq ? vq->ready || vq->refused : 0;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return vq ? (uint32_t)vq->desc_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		return vq ? (uint32_t)(vq->desc_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		return vq ? (uint32_t)vq->avail_gpa : 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		return vq ? (uint32_t)(vq->avail_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		return vq ? (uint32_t)vq->used_gpa : 0;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		return vq ? (uint32_t)(vq->used_gpa >> 32) : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&vdev->isr, __ATOMIC_ACQUIRE);
	case VIRTIO_MMIO_STATUS:
		return vdev_status(vdev);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffff; /* no shared memory regions: length -1 */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return __atomic_load_n(&vdev->config_gen, __ATOMIC_ACQUIRE);
	default:
		return 0; /* write-only, legacy or unassigned */
	}
}

/* Returns a queue index to kick, or -1. */
static int vmmio_reg_write(struct vdev *vdev, unsigned int off, uint32_t val)
{
	struct vq *vq;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		vdev->dev_feat_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Ignored once FEATURES_OK is latched: negotiation is over. */
		if (vdev_status(vdev) & VIRTIO_CONFIG_S_FEATURES_OK)
			break;
		if (vdev->drv_feat_sel == 0)
			set_lo(&vdev->guest_features, val);
		else if (vdev->drv_feat_sel == 1)
			set_hi(&vdev->guest_features, val);
		else if (val)
			vdev->guest_features_bad = true;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		vdev->drv_feat_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		vdev->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		vq = vmmio_setup_vq(vdev, off);
		if (vq) /* out-of-range sizes become 0, refused at QueueReady */
			vq->num = val <= 0x8000 ? val : 0;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		vq = vdev_sel_vq(vdev);
		if (!vq || (vdev_status(vdev) & VIRTIO_CONFIG_S_DRIVER_OK)) {
			log_guest(&vdev->log, "QueueReady write ignored");
			break;
		}
		if (val == 1 && !vq->ready && !vq->refused) {
			/*
			 * Refused: a driver that never reads QueueReady back
			 * (Linux) would wait for ever on the queue; the
			 * device needs a reset, and says so.
			 */
			if (vq_enable(vq, vdev->queue_max)) {
				vq->refused = true;
				vdev_needs_reset(vdev);
			}
		} else if (val == 0 && (vq->ready || vq->refused)) {
			vq_disable(vq, false); /* no chains before DRIVER_OK */
		}
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH: {
		uint64_t *reg;

		vq = vmmio_setup_vq(vdev, off);
		if (!vq)
			break;
		if (off <= VIRTIO_MMIO_QUEUE_DESC_HIGH)
			reg = &vq->desc_gpa;
		else if (off <= VIRTIO_MMIO_QUEUE_AVAIL_HIGH)
			reg = &vq->avail_gpa;
		else
			reg = &vq->used_gpa;
		if (off & 4)
			set_hi(reg, val);
		else
			set_lo(reg, val);
		break;
	}
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* vdev_kick() re-checks; this only filters the obvious. */
		if (val < vdev->nr_vqs &&
		    (vdev_status(vdev) & VIRTIO_CONFIG_S_DRIVER_OK) &&
		    !vdev_broken(vdev))
			return (int)val;
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_fetch_and(&vdev->isr, ~val, __ATOMIC_ACQ_REL);
		break;
	case VIRTIO_MMIO_STATUS:
		vdev_set_status(vdev, val);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		break; /* no regions; lengths read -1 */
	default:
		/* Read-only, legacy or unassigned registers. */
		log_guest(&vdev->log, "write 0x%x to register 0x%x ignored",
			  val, off);
		break;
	}
	return -1;
}

/* A config-space access is allowed if naturally aligned and in bounds. */
static bool vmmio_cfg_ok(struct vdev *vdev, uint64_t coff, unsigned int size)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	return !(coff & (size - 1)) && coff + size <= vdev->cfg_size;
}

static bool vmmio_reg_ok(uint64_t off, unsigned int size)
{
	return size == 4 && !(off & 3);
}

uint64_t vmmio_read(struct vdev *vdev, uint64_t off, unsigned int size)
{
	uint8_t buf[8];
	uint64_t val = 0;
	unsigned int i;

	if (off < VMMIO_CONFIG_OFF) {
		if (vmmio_reg_ok(off, size))
			return vmmio_reg_read(vdev, off);
	} else if (off < VMMIO_WINDOW_SIZE &&
		   vmmio_cfg_ok(vdev, off - VMMIO_CONFIG_OFF, size)) {
		if (vdev->ops->cfg_read)
			vdev->ops->cfg_read(vdev, off - VMMIO_CONFIG_OFF, buf,
					    size);
		else
			memset(buf, 0, size);
		/* Config space is little-endian. */
		for (i = 0; i < size; i++)
			val |= (uint64_t)buf[i] << (8 * i);
		return val;
	}
	log_guest(&vdev->log, "bad read of %u bytes at 0x%llx", size,
		  (unsigned long long)off);
	return 0;
}

int vmmio_write(struct vdev *vdev, uint64_t off, unsigned int size,
		uint64_t val)
{
	uint8_t buf[8];
	unsigned int i;

	if (off < VMMIO_CONFIG_OFF) {
		if (vmmio_reg_ok(off, size))
			return vmmio_reg_write(vdev, off, (uint32_t)val);
	} else if (off < VMMIO_WINDOW_SIZE &&
		   vmmio_cfg_ok(vdev, off - VMMIO_CONFIG_OFF, size)) {
		for (i = 0; i < size; i++)
			buf[i] = val >> (8 * i);
		if (!vdev->ops->cfg_write ||
		    vdev->ops->cfg_write(vdev, off - VMMIO_CONFIG_OFF, buf,
					 size))
			log_guest(&vdev->log, "config write at 0x%llx refused",
				  (unsigned long long)off);
		return -1;
	}
	log_guest(&vdev->log, "bad write of %u bytes at 0x%llx", size,
		  (unsigned long long)off);
	return -1;
}
