/* SPDX-License-Identifier: MIT */
/*
 * A guest-side virtio-mmio split-ring driver, shaped like Linux's
 * virtio_mmio + virtio_ring, for the tests and the simulated guest
 * (xvb-sim): it probes and negotiates through the register file, writes
 * rings through the fake guest's guest view, and kicks as the backend would
 * (vmmio_write, then vdev_kick with the returned index), or over a bus.
 * Raw helpers let a malformed-ring test write any descriptor or index.
 */
#ifndef XVB_GUEST_GDRV_H
#define XVB_GUEST_GDRV_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

#include "fakeguest.h"
#include "virtio/vdev.h"

#define GDRV_MAX_VQS 17

struct gdrv_vq {
	uint16_t num; /* 0: not set up */
	uint64_t desc_gpa, avail_gpa, used_gpa, ind_gpa;
	/* Guest views of the rings. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t *used_event;  /* avail->ring[num] */
	uint16_t *avail_event; /* used->ring[num] */

	uint16_t avail_idx;  /* the driver's shadow of avail->idx */
	uint16_t kicked_idx; /* avail idx at the last kick decision */
	uint16_t last_used;  /* next used element to collect */
	uint16_t num_free;
	/* Private bookkeeping (never read back from shared memory). */
	uint16_t *free_stack;
	uint16_t *link;		/* link[i]: next descriptor of i's chain */
	uint16_t *ndesc;	/* per head: direct descriptors, 0 if free */
	bool manual_used_event; /* do not move used_event on collect */
};

/*
 * How the driver reaches the device's registers when it is not in this
 * process (the simulator: MMIO through ioreqs). NULL: vmmio on d->vdev.
 */
struct gdrv_bus {
	uint64_t (*read)(void *opaque, uint64_t off, unsigned int size);
	void (*write)(void *opaque, uint64_t off, unsigned int size,
		      uint64_t val);
	/*
	 * Optional: the address the device is given for guest-physical @gpa
	 * (a grant address with Xen's grant DMA). NULL: @gpa itself.
	 */
	uint64_t (*dma)(void *opaque, uint64_t gpa);
	void *opaque;
};

struct gdrv {
	struct vdev *vdev;
	const struct gdrv_bus *bus;
	struct fakeguest *fg;
	uint64_t features; /* negotiated */
	struct gdrv_vq vqs[GDRV_MAX_VQS];
	uint64_t nr_irqs;     /* interrupts raised by the device */
	uint64_t nr_notifies; /* QueueNotify writes */
	unsigned int errors;  /* bogus used elements / indices seen */
	const char *why;      /* the last failure, for test messages */
};

/* One buffer of a chain to add. */
struct gdrv_buf {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

/* gdrv_add() flags. */
#define GDRV_INDIRECT 1u

/*
 * Binds the driver to @vdev (whose guest RAM is @fg) and installs its
 * interrupt callback. Frees nothing; call gdrv_fini() after.
 */
void gdrv_init(struct gdrv *d, struct vdev *vdev, struct fakeguest *fg);

/*
 * Binds the driver to a device reached through @bus, in guest RAM @fg.
 * Interrupts are the bus owner's business (d->nr_irqs stays 0).
 */
void gdrv_init_bus(struct gdrv *d, const struct gdrv_bus *bus,
		   struct fakeguest *fg);
void gdrv_fini(struct gdrv *d);

/* One 32-bit register access through vmmio, kicks delivered. */
uint32_t gdrv_r32(struct gdrv *d, uint32_t off);
void gdrv_w32(struct gdrv *d, uint32_t off, uint32_t val);

/* Any access (for width and alignment tests); kicks delivered. */
uint64_t gdrv_read(struct gdrv *d, uint64_t off, unsigned int size);
void gdrv_write(struct gdrv *d, uint64_t off, unsigned int size, uint64_t val);

/* Checks Magic, Version 2 and a non-zero DeviceID. 0 or -ENODEV. */
int gdrv_probe(struct gdrv *d);

/* Writes Status=0 and forgets every queue. Returns Status read back. */
uint32_t gdrv_reset(struct gdrv *d);

/* Status: OR @bits into what the device reports, write, read back. */
uint32_t gdrv_add_status(struct gdrv *d, uint32_t bits);

/* DeviceFeatures, both words. */
uint64_t gdrv_device_features(struct gdrv *d);

/* Writes DriverFeatures (both words) without touching Status. */
void gdrv_write_features(struct gdrv *d, uint64_t features);

/*
 * Reset, ACKNOWLEDGE|DRIVER, then features (device's & @want), then
 * FEATURES_OK read back. 0, or -EIO if the device did not latch it.
 */
int gdrv_negotiate(struct gdrv *d, uint64_t want);

/*
 * Sets up queue @q with @num entries in freshly allocated guest memory,
 * each ring on its own page(s), plus an indirect table area of @num tables
 * of @num entries. Returns 0, -EINVAL if QueueReady does not read back 1,
 * -ENOMEM if guest RAM is exhausted.
 */
int gdrv_setup_vq(struct gdrv *d, unsigned int q, uint16_t num);

/*
 * Writes QueueSel, QueueNum and the ring addresses of @q, and then
 * QueueReady=1 if @ready. Does not allocate. Returns QueueReady read back.
 */
uint32_t gdrv_setup_vq_at(struct gdrv *d, unsigned int q, uint16_t num,
			  uint64_t desc, uint64_t avail, uint64_t used,
			  bool ready);

/* Sets DRIVER_OK. 0, or -EIO if NEEDS_RESET or DRIVER_OK did not stick. */
int gdrv_driver_ok(struct gdrv *d);

/*
 * Probe, negotiate @want, set up queues 0..nr_vqs-1 with @num entries,
 * DRIVER_OK. 0 or -errno (with d->why).
 */
int gdrv_up(struct gdrv *d, uint64_t want, unsigned int nr_vqs, uint16_t num);

/*
 * Adds a chain of @n buffers (direct, or through an indirect table with
 * GDRV_INDIRECT) and publishes it in the avail ring. Does not kick.
 * Returns the head, or -ENOSPC.
 */
int gdrv_add(struct gdrv *d, unsigned int q, const struct gdrv_buf *bufs,
	     unsigned int n, unsigned int flags);

/* True if the device asked for a kick since the last decision. */
bool gdrv_kick_prepare(struct gdrv *d, unsigned int q);

/* QueueNotify(@q), and vdev_kick() if the transport returned an index. */
void gdrv_notify(struct gdrv *d, unsigned int q);

/* gdrv_kick_prepare() then gdrv_notify() if needed. True if notified. */
bool gdrv_kick(struct gdrv *d, unsigned int q);

/*
 * Collects one used element. Returns 1 (*head, *len set), 0 if none, or
 * -EPROTO if the device wrote a bogus element (d->errors counts them).
 */
int gdrv_get_used(struct gdrv *d, unsigned int q, uint16_t *head,
		  uint32_t *len);

/* Reads InterruptStatus and acknowledges exactly what it read. */
uint32_t gdrv_ack_irq(struct gdrv *d);

/*
 * One request: @out_len readable bytes at @out, @in_len writable at @in,
 * added, kicked, collected. Returns the used length, or -errno.
 */
long gdrv_xfer(struct gdrv *d, unsigned int q, uint64_t out, uint32_t out_len,
	       uint64_t in, uint32_t in_len, unsigned int flags);

/* ---- raw ring access for malformed-ring tests ---- */

/* Writes descriptor @i of queue @q's table. */
void gdrv_raw_desc(struct gdrv *d, unsigned int q, uint16_t i, uint64_t addr,
		   uint32_t len, uint16_t flags, uint16_t next);

/* Writes one descriptor of a table at @table_gpa (an indirect table). */
void gdrv_raw_table(struct gdrv *d, uint64_t table_gpa, uint16_t i,
		    uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);

/* Writes avail ring slot @slot (taken modulo num). */
void gdrv_raw_avail(struct gdrv *d, unsigned int q, uint16_t slot,
		    uint16_t head);

/* Publishes @idx as avail->idx (ring entries first). Updates the shadow. */
void gdrv_raw_avail_idx(struct gdrv *d, unsigned int q, uint16_t idx);

/* Puts @head in the next avail slot and publishes it. */
void gdrv_raw_publish(struct gdrv *d, unsigned int q, uint16_t head);

/*
 * Marks @head as an in-flight one-descriptor chain the test wrote by hand,
 * so gdrv_get_used() accepts it back. Returns 0, or -EBUSY if in flight.
 */
int gdrv_raw_claim(struct gdrv *d, unsigned int q, uint16_t head);

/* Used idx as the device published it. */
uint16_t gdrv_used_idx(struct gdrv *d, unsigned int q);

#endif
