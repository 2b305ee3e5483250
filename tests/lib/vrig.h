/* SPDX-License-Identifier: MIT */
/*
 * A test rig: fake guest + test device + guest driver wired together, with
 * the checks every virtio test ends with (a canary request works, nothing
 * leaked, no contract breach).
 */
#ifndef XVB_TESTS_VRIG_H
#define XVB_TESTS_VRIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "fakeguest.h"
#include "gdrv.h"
#include "testdev.h"

#define VRIG_F(bit) (1ULL << (bit))
/* Everything testdev and the transport offer. */
#define VRIG_ALL_FEATURES                                                   \
	(VRIG_F(VIRTIO_F_VERSION_1) | VRIG_F(VIRTIO_RING_F_INDIRECT_DESC) | \
	 VRIG_F(VIRTIO_RING_F_EVENT_IDX) | TESTDEV_FEATURES)

struct vrig_opts {
	size_t ram; /* bytes of guest RAM; 0: 16 MiB */
	bool clamp; /* 4 KiB map clamping */
	bool guard; /* guard pages around every mapping */
	enum testdev_mode mode;
	uint64_t features;   /* wanted; 0: VRIG_ALL_FEATURES */
	unsigned int nr_vqs; /* queues to set up; 0: all of testdev's */
	uint16_t num;	     /* entries per queue; 0: 16 */
	size_t data_size;    /* scratch area for buffers; 0: VRIG_DATA_SIZE */
};

struct vrig {
	struct vrig_opts o;
	struct fakeguest *fg;
	struct testdev td;
	struct gdrv drv;
	uint64_t data;	 /* gpa of the scratch area for buffers */
	size_t baseline; /* live mappings once up: the rings */
	bool fresh;	 /* vrig_up: rings at new addresses, not reused */
	const char *why; /* the last failure, for test messages */
};

#define VRIG_DATA_SIZE (1u << 20)

/* The vq of queue @q, and the rig's vdev. */
static inline struct vq *vrig_vq(struct vrig *r, unsigned int q)
{
	return &r->td.vdev.vqs[q];
}

static inline struct vdev *vrig_vdev(struct vrig *r)
{
	return &r->td.vdev;
}

/* Creates guest, device and driver (device not yet set up). 0 or -errno. */
int vrig_init(struct vrig *r, const struct vrig_opts *o);

/*
 * Drives the device to DRIVER_OK with the rig's features and queues, and
 * records the live-mapping baseline. 0 or -errno (r->why says why).
 */
int vrig_up(struct vrig *r);

/* vrig_init() then vrig_up(). */
int vrig_start(struct vrig *r, const struct vrig_opts *o);

/*
 * One echo request on queue @q with buffers across page edges, direct
 * and, if negotiated, indirect: both must come back intact. 0 or -errno.
 */
int vrig_canary(struct vrig *r, unsigned int q);

/*
 * Resets the device, checks that every mapping is gone, sets it up again
 * and runs a canary on every queue. 0 or -errno.
 */
int vrig_recover(struct vrig *r);

/* True if the device reports DEVICE_NEEDS_RESET. */
bool vrig_needs_reset(struct vrig *r);

/*
 * Tears everything down. Returns 0 if nothing leaked (no live mapping,
 * no bogus unmap) and the device never breached its contract, else -1.
 */
int vrig_fini(struct vrig *r);

/* vrig_fini() if still set up, ignoring leaks (a failed test's exit). */
void vrig_cleanup(struct vrig *r);

#endif
