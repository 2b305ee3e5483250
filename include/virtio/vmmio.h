/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio version 2 register file (virtio 1.2, 4.2.2): decodes one
 * guest access at an offset into the device's 0x200-byte window.
 */
#ifndef XVB_VIRTIO_VMMIO_H
#define XVB_VIRTIO_VMMIO_H

#include <stdint.h>

#include "virtio/vdev.h"

/* Size of one device's window; the config space starts at 0x100. */
#define VMMIO_WINDOW_SIZE 0x200
#define VMMIO_CONFIG_OFF 0x100
#define VMMIO_MAGIC 0x74726976 /* "virt" */
#define VMMIO_VERSION 2
#define VMMIO_VENDOR_ID 0x00425658 /* "XVB" */

/*
 * A guest read of @size bytes (1, 2, 4 or 8) at @off. Registers need 32-bit
 * aligned accesses, config space natural alignment; anything else reads 0.
 * Never fails: the ioreq is always answered.
 */
uint64_t vmmio_read(struct vdev *vdev, uint64_t off, unsigned int size);

/*
 * A guest write. Invalid writes are ignored (and logged, rate-limited).
 * Returns the index of a queue the driver kicked, which the caller delivers
 * with vdev_kick() once it has answered the vCPU, or -1.
 */
int vmmio_write(struct vdev *vdev, uint64_t off, unsigned int size,
		uint64_t val);

#endif
