/* SPDX-License-Identifier: MIT */
/*
 * The simulated guest's virtio-blk driver: requests built in guest RAM the
 * way Linux builds them (header, data in segments of at most size_max,
 * status; indirect when negotiated), MMIO through the simulated hypervisor,
 * completions by interrupt.
 */
#ifndef XVB_SIM_BLKDRV_H
#define XVB_SIM_BLKDRV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "fakeguest.h"
#include "gdrv.h"
#include "sim/sim.h"
#include "simbus.h"

struct blkreq {
	uint64_t hdr_gpa, data_gpa, status_gpa;
	uint32_t type;
	uint64_t sector;
	uint32_t len;  /* data bytes */
	uint32_t seed; /* pattern written / expected */
	bool busy;
	uint8_t status; /* VIRTIO_BLK_S_* once completed */
	uint64_t t_submit_ns;
};

/*
 * The device's one interrupt line, shared by the threads driving its queues
 * (as Linux's handler serves every queue of a virtio-mmio device): one
 * thread waits for it and acknowledges it, then wakes the others to look at
 * their rings.
 */
struct blkirq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t gen; /* interrupts (or timed-out waits) handled */
	bool waiting; /* a thread is in xsim_irq_wait */
};

struct blkdrv {
	struct xsim *sim;
	uint32_t domid;
	unsigned int vcpu; /* issues this device's MMIO */
	uint64_t base;	   /* window */
	unsigned int spi;
	struct simbus sb; /* its registers, and their errors and costs */
	struct gdrv drv;
	unsigned int q;		/* the queue this driver fills */
	unsigned int nr_queues; /* set up on the device (the owner's) */
	bool attached;		/* blkdrv_attach(): the owner has the device */
	struct blkirq *irq;	/* several queues: the shared line */
	struct fakeguest *fg;	/* guest RAM, shared by the guest's devices */
	uint64_t features;
	uint64_t capacity; /* sectors */
	char serial[21];
	unsigned int qd;  /* request slots */
	uint32_t max_len; /* data bytes per slot */
	uint32_t seg_len; /* data bytes per descriptor (size_max, or max_len) */
	uint32_t seg_max; /* data descriptors per request */
	uint16_t *slot_of; /* descriptor head -> slot index */
	struct blkreq *slots;
	uint16_t *free_slots; /* stack of slot indices not busy */
	unsigned int nr_free;
	unsigned int inflight;
	bool indirect;
	bool no_fill; /* OUT data left as it is (a load generator's choice) */
	/* Statistics. */
	uint64_t nr_reqs, nr_bytes, nr_irqs, nr_errors;
	uint64_t irq_wait_ns; /* wall time blocked waiting for interrupts */
	uint64_t lat_sum_ns, *lat_ns; /* IN/OUT latencies, if recorded */
	uint64_t nr_lat, lat_cap;
};

/* Probes, negotiates, sets up the queue, reads config. Returns 0 or -errno. */
int blkdrv_up(struct blkdrv *b, struct xsim *sim, uint32_t domid,
	      unsigned int vcpu, uint64_t base, unsigned int spi,
	      struct fakeguest *fg, unsigned int qd, uint32_t max_len);
void blkdrv_down(struct blkdrv *b);
/*
 * Frees what blkdrv_up() allocated without touching the device (which may
 * be gone or hung): a failed test's way out. A no-op after blkdrv_down()
 * and on a zeroed struct. As a cleanup attribute: BLKDRV_SCOPED.
 */
void blkdrv_cleanup(struct blkdrv *b);
#define BLKDRV_SCOPED __attribute__((cleanup(blkdrv_cleanup)))

/*
 * blkdrv_up with up to @nq queues, where the device offers MQ: b->nr_queues
 * tells how many were set up. This driver fills queue 0.
 */
int blkdrv_up_mq(struct blkdrv *b, struct xsim *sim, uint32_t domid,
		 unsigned int vcpu, uint64_t base, unsigned int spi,
		 struct fakeguest *fg, unsigned int qd, uint32_t max_len,
		 unsigned int nq);

/*
 * A driver for queue @q of @owner's device, issuing its MMIO from @vcpu,
 * with @qd slots; for a thread of its own. Set up before the threads run.
 * blkdrv_down() on it frees its slots; the owner's resets the device.
 */
int blkdrv_attach(struct blkdrv *b, struct blkdrv *owner, unsigned int q,
		  unsigned int vcpu, unsigned int qd);

/*
 * Queues one request in a free slot (does not kick). @type VIRTIO_BLK_T_*,
 * @len data bytes (IN/OUT/GET_ID), @seed the data pattern for OUT.
 * Returns the slot, or NULL if none is free.
 */
struct blkreq *blkdrv_queue(struct blkdrv *b, uint32_t type, uint64_t sector,
			    uint32_t len, uint32_t seed);

/* Kicks if the device asked for it. */
void blkdrv_kick(struct blkdrv *b);

/*
 * Waits (up to @timeout_ms for the first) for completions and calls @done
 * on each. Returns the number completed, 0 on timeout, or -errno.
 */
int blkdrv_reap(struct blkdrv *b, int timeout_ms,
		void (*done)(struct blkdrv *b, struct blkreq *r, void *arg),
		void *arg);

/* Runs one request to completion. Returns its status or -errno. */
int blkdrv_sync(struct blkdrv *b, uint32_t type, uint64_t sector, uint32_t len,
		uint32_t seed, struct blkreq **out);

/* True if the slot's data buffer holds the pattern of @seed. */
bool blkdrv_data_is(struct blkdrv *b, const struct blkreq *r, uint32_t seed);

/* Reads Status and tells whether the device set NEEDS_RESET. */
bool blkdrv_needs_reset(struct blkdrv *b);

#endif
