/* SPDX-License-Identifier: MIT */
/*
 * The Arm guest layout xvb serves (Xen's public arch-arm.h). Written out here
 * because the backend also builds on x86 hosts (the simulator), where Xen's
 * headers describe the x86 layout instead.
 */
#ifndef XVB_BACKEND_LAYOUT_H
#define XVB_BACKEND_LAYOUT_H

#include <stdint.h>

#define XB_RAM0_BASE 0x40000000ULL /* GUEST_RAM0_BASE: 3 GiB at 1 GiB */
#define XB_RAM0_SIZE 0xc0000000ULL
#define XB_RAM1_BASE 0x200000000ULL /* GUEST_RAM1_BASE: 1016 GiB at 8 GiB */
#define XB_RAM1_SIZE 0xfe00000000ULL

#define XB_MMIO_BASE 0x02000000ULL /* GUEST_VIRTIO_MMIO_BASE */
#define XB_MMIO_SIZE 0x00100000ULL
#define XB_MMIO_DEV_SIZE 0x200ULL /* one device's window */

#define XB_SPI_FIRST 33 /* GUEST_VIRTIO_MMIO_SPI_FIRST */
#define XB_SPI_LAST 43

#define XB_PAGE_SHIFT 12
#define XB_PAGE_SIZE (1ULL << XB_PAGE_SHIFT)

#endif
