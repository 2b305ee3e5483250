/* SPDX-License-Identifier: MIT */
/*
 * The virtio-rng device model (virtio 1.2, 5.4): entropy from the host's
 * getrandom(2) into the buffers of one request queue, with a per-device
 * (so per-guest) token bucket, so that one guest cannot drain the host.
 */
#ifndef XVB_DEVICES_RNG_H
#define XVB_DEVICES_RNG_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/evl.h"
#include "virtio/vdev.h"

struct vrng;

#define VRNG_DEFAULT_RATE (64u << 10)  /* bytes/s */
#define VRNG_DEFAULT_BURST (64u << 10) /* bytes */
#define VRNG_MAX_RATE (1ull << 30)     /* 1 GiB/s */
#define VRNG_MAX_BURST (16u << 20)
#define VRNG_MAX_FILL (64u << 10) /* most bytes one chain gets */

/*
 * Where the bytes come from: getrandom(2)'s signature. Returns a count
 * (which may be short) or -1 with errno. Tests put a fake here.
 */
typedef ssize_t vrng_source_fn(void *buf, size_t len, unsigned int flags);

struct vrng_conf {
	/*
	 * Bytes per second the guest may take, 0 for no limit. At most
	 * VRNG_MAX_RATE.
	 */
	uint64_t rate;
	/*
	 * Bytes the guest may take at once after being idle (the bucket's
	 * size); at most VRNG_MAX_BURST, 0 for VRNG_DEFAULT_BURST. Unused
	 * without a rate.
	 */
	uint32_t burst;
	uint16_t queue_size;	/* QueueNumMax: a power of two <= 1024; 0: 64 */
	vrng_source_fn *source; /* NULL: getrandom(2) */
	int domid;		/* for log prefixes; -1 if none */
	const char *name;	/* device name in logs, e.g. "vrng0" */
};

/* What the device did, for logs and tests. Counted over its whole life. */
struct vrng_stats {
	uint64_t bytes;	     /* delivered into guest buffers */
	uint64_t chains;     /* completed */
	uint64_t calls;	     /* source calls, failed ones included */
	uint64_t waits;	     /* timer wake-ups: rate limit, yield, EAGAIN */
	uint64_t throttled;  /* chains that had to wait for the bucket */
	uint64_t src_errors; /* source failures other than EINTR */
};

/*
 * Builds the device; its work runs on @loop, the thread that calls the
 * transport (vmmio_*, vdev_kick) and vrng_destroy. Guest memory comes
 * through @gm. On success *out is the device (vrng_vdev() its transport
 * half). Returns 0, -EINVAL for a bad conf, or -ENOMEM.
 */
int vrng_create(struct vrng **out, const struct vrng_conf *conf,
		const struct gmem *gm, struct evl *loop);

/* Logs the device's state for an operator (xvbd's SIGUSR1). */
void vrng_log_state(struct vrng *rng);

/* The device's transport half, for vmmio_read/vmmio_write/vdev_kick. */
struct vdev *vrng_vdev(struct vrng *rng);

/* Copies the device's counters into @st. The device's thread. */
void vrng_get_stats(const struct vrng *rng, struct vrng_stats *st);

/*
 * Resets the device (a waiting chain is released, its timer cancelled and
 * reaped by running @loop) and frees it. Accepts NULL. The loop's thread.
 */
void vrng_destroy(struct vrng *rng);

#endif
