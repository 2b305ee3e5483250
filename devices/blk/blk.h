/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk device model: a file or block device served through
 * io_uring on the caller's event loop.
 */
#ifndef XVB_DEVICES_BLK_H
#define XVB_DEVICES_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/evl.h"
#include "virtio/vdev.h"

struct vblk;

#define VBLK_MAX_QUEUES 16u

struct vblk_conf {
	const char *path;    /* regular file or block device */
	bool readonly;	     /* mode=r: VIRTIO_BLK_F_RO, opened O_RDONLY */
	bool writethrough;   /* writeback byte starts at 0 (default: 1) */
	const char *serial;  /* GET_ID answer, at most 20 bytes used */
	uint16_t queue_size; /* QueueNumMax: a power of two <= 1024; 0: 256 */
	/*
	 * Busy queues look at the ring without kicks, every poll_us (at most
	 * 1000) while requests are in flight and a few times after it
	 * drained; 0: the driver is asked to kick as soon as it drained.
	 */
	unsigned int poll_us;
	/*
	 * Interrupt moderation: while other requests of the queue are in
	 * flight, a completion's interrupt waits up to coalesce_us (at most
	 * 1000) for theirs to join it in one interrupt; the last completion
	 * in flight raises at once, so a lone request (QD1) never waits.
	 * 0: every publish raises what the driver asks for.
	 */
	unsigned int coalesce_us;
	/*
	 * Request queues: 0 or 1 for one (no VIRTIO_BLK_F_MQ), up to
	 * VBLK_MAX_QUEUES with VIRTIO_BLK_F_MQ offered.
	 */
	unsigned int nr_queues;
	/*
	 * Where queue i does its I/O: loops[i], or @loop where the array or
	 * the entry is NULL. A loop other than @loop belongs to another thread
	 * (evl_thread): kicks reach it with evl_post, resets with evl_call, and
	 * it must keep running until vblk_destroy returned.
	 */
	struct evl *const *loops;
	int domid;	  /* for log prefixes; -1 if none */
	const char *name; /* device name in logs, e.g. "vblk51712" */
};

/*
 * Opens the backing store and builds the device. The device's I/O runs on
 * @loop (and conf->loops), which must outlive it. @loop is the thread that
 * calls the transport (vmmio_*, vdev_kick) and vblk_destroy. Guest memory comes
 * through @gm. On success *out is the device and its transport state
 * (vblk_vdev()). Returns 0 or -errno (-ENOENT, -EACCES ... from opening the
 * store; -EINVAL for a bad conf or a store that is neither a regular file nor a
 * block device).
 */
int vblk_create(struct vblk **out, const struct vblk_conf *conf,
		const struct gmem *gm, struct evl *loop);

/*
 * Re-reads the store's size (it grew or shrank: the file was extended, the
 * logical volume resized). A changed capacity goes into the config space
 * and the driver gets a config-change interrupt; requests past a smaller
 * end fail. Returns 1 if the capacity changed, 0 if not, or -errno. On the
 * device's thread.
 */
int vblk_resize(struct vblk *blk);

/*
 * Logs the device's state for an operator (xvbd's SIGUSR1): status,
 * capacity, then each queue's ring and I/O in flight (on the queue's
 * thread, waited for). Device's thread.
 */
void vblk_log_state(struct vblk *blk);

/* The device's transport half, for vmmio_read/vmmio_write/vdev_kick. */
struct vdev *vblk_vdev(struct vblk *blk);

/*
 * The file descriptor the device does its I/O on, for fault-injection
 * tests (which may dup2() another file over it) and diagnostics. The
 * device keeps ownership.
 */
int vblk_store_fd(struct vblk *blk);

/*
 * Resets the device (cancelling and reaping every in-flight I/O on the loop,
 * which it runs until then), closes the store and frees it. Accepts NULL.
 * Must run on the loop's thread.
 */
void vblk_destroy(struct vblk *blk);

#endif
