/* SPDX-License-Identifier: MIT */
/*
 * A device model for virtio/ tests: two queues that echo what the driver
 * sends (or hold chains for the test to complete), 20 bytes of config
 * space with read-only and writable fields, two device feature bits, and
 * counters of everything the transport asked of it.
 */
#ifndef XVB_TESTS_TESTDEV_H
#define XVB_TESTS_TESTDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "fakeguest.h"
#include "virtio/vdev.h"
#include "virtio/vq.h"

#define TESTDEV_ID 0x42
#define TESTDEV_NR_VQS 2
#define TESTDEV_QUEUE_MAX 256
#define TESTDEV_CFG_SIZE 20 /* not a multiple of 8: 8-byte reads straddle */

/* Device feature bits: both offered; B is refused at FEATURES_OK without A. */
#define TESTDEV_F_A 0
#define TESTDEV_F_B 5
#define TESTDEV_F_UNOFFERED 3 /* never offered */
#define TESTDEV_FEATURES ((1ULL << TESTDEV_F_A) | (1ULL << TESTDEV_F_B))

/* Config space: a read-only u64, a writable u32, two read-only u32s. */
#define TESTDEV_CFG_CAP 0
#define TESTDEV_CFG_RW 8
#define TESTDEV_CFG_ID 12
#define TESTDEV_CFG_TAIL 16
#define TESTDEV_CAP_VALUE 0x1122334455667788ULL
#define TESTDEV_ID_VALUE 0xc0ffee42u
#define TESTDEV_TAIL_VALUE 0x7a11ab1eu

enum testdev_mode {
	TESTDEV_ECHO,	/* kick: pop, copy readable to writable, push, flush */
	TESTDEV_HOLD,	/* kick: pop and keep; the test completes them */
	TESTDEV_MANUAL, /* kick: only counted; the test calls vq_pop */
};

struct testdev_queue {
	struct vq_chain *slots; /* TESTDEV_QUEUE_MAX, from the first hold */
	uint16_t order[TESTDEV_QUEUE_MAX]; /* held slots, oldest first */
	uint16_t free_slots[TESTDEV_QUEUE_MAX];
	unsigned int nr_held, nr_free;

	uint64_t kicks;
	uint64_t bad_kicks; /* kick before DRIVER_OK or on an unready queue */
	uint64_t popped, pushed, released;
	uint64_t eproto, eio; /* vq_pop results seen */
	uint64_t budget_hit;  /* a kick popped more than the budget */
	uint64_t overflow;    /* popped more heads than the queue holds */
	uint64_t bad_chains;  /* a popped chain failed testdev_chain_check */
	const char *bad_chain_why;
};

struct testdev {
	struct vdev vdev;
	struct fakeguest *fg;
	enum testdev_mode mode;
	unsigned int budget; /* most pops per kick before giving up */
	uint8_t cfg[TESTDEV_CFG_SIZE];

	uint64_t nr_start, nr_reset, nr_features_ok;
	uint64_t last_features; /* as offered to features_ok */
	int start_rc;		/* what start() returns */
	uint64_t cfg_reads, cfg_writes, cfg_eperm;
	uint64_t cfg_oob; /* transport passed a range outside config */

	struct testdev_queue q[TESTDEV_NR_VQS];
	struct vq_chain *scratch; /* echo mode's chain */
};

/*
 * vdev_init() with the test model over @fg's guest memory, in @mode, with
 * device features TESTDEV_FEATURES. Returns 0 or -errno.
 */
int testdev_init(struct testdev *td, struct fakeguest *fg,
		 enum testdev_mode mode);

/* vdev_destroy() and frees the chain slots. Accepts a zeroed testdev. */
void testdev_destroy(struct testdev *td);

/*
 * Checks a popped chain: iovecs inside guest RAM's host views, readable
 * ones read-only, none empty, lengths summing to out_len/in_len. Returns
 * NULL if sound, or what is wrong.
 */
const char *testdev_chain_check(const struct fakeguest *fg,
				const struct vq_chain *c, uint16_t num);

/*
 * Copies the readable part of @c into its writable part (as much as fits).
 * Returns the bytes written.
 */
uint32_t testdev_echo(struct vq_chain *c);

/* Held chains (HOLD mode) of queue @q. */
static inline unsigned int testdev_nr_held(const struct testdev *td,
					   unsigned int q)
{
	return td->q[q].nr_held;
}

/* The @k-th oldest held chain of queue @q. */
struct vq_chain *testdev_held(struct testdev *td, unsigned int q,
			      unsigned int k);

/*
 * Completes the @k-th oldest held chain (echo, vq_push), without flushing.
 * Returns its head, or -ENOENT.
 */
int testdev_complete(struct testdev *td, unsigned int q, unsigned int k);

/* Completes every held chain oldest first, then vq_flush(). */
void testdev_complete_all(struct testdev *td, unsigned int q);

/*
 * Pops one chain of queue @q as the model does (HOLD semantics: kept).
 * Returns vq_pop()'s result.
 */
int testdev_pop(struct testdev *td, unsigned int q);

/* Sum of the "bad" counters of all queues (kicks, overflows, chains). */
uint64_t testdev_violations(const struct testdev *td);

#endif
