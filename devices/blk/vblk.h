/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk internals shared by the files of devices/blk: the device, its
 * queues (one per event loop, so multiqueue is more of the same), requests
 * from a fixed pool, and the backing store.
 */
#ifndef XVB_DEVICES_BLK_VBLK_H
#define XVB_DEVICES_BLK_VBLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_blk.h>

#include "blk.h"
#include "lib/evl.h"
#include "virtio/vdev.h"
#include "virtio/vq.h"
#include "virtio/vqrun.h"

#define VBLK_SECTOR 512u
#define VBLK_HDR_LEN 16u /* struct virtio_blk_outhdr */

/*
 * Segment limits. With mappings clamped at every 4 KiB page, a segment of
 * at most SIZE_MAX bytes maps to at most two iovecs; header (two) and
 * status (one) included, a chain of SEG_MAX segments stays within
 * VQ_MAX_IOV, so a well-behaved guest never breaks the walker's bound.
 */
#define VBLK_SIZE_MAX 4096u
#define VBLK_SEG_MAX ((VQ_MAX_IOV - 3) / 2)

/* Discard / write-zeroes limits offered in config space. */
#define VBLK_MAX_DISCARD_SEG 32u
#define VBLK_MAX_WZ_SEG 8u
#define VBLK_MAX_DWZ_SECTORS (1u << 22) /* 2 GiB per segment */
#define VBLK_MAX_SEGS VBLK_MAX_DISCARD_SEG

#define VBLK_KICK_BUDGET 256u /* chains popped per kick before yielding */
/*
 * With conf->poll_us, kicks stay off while the queue is busy: while
 * requests are in flight their completions look at the ring, and after it
 * drained a timer looks VBLK_IDLE_POLLS more times, poll_us apart, before
 * kicks are asked for again. A guest adding requests in a burst then traps
 * for none of them (a kick is a synchronous trap: ~0.75 ms under TCG, tens
 * of us on hardware); a request waits at most poll_us to be seen. The
 * idle looks adapt (lib/pollwin.h): a window of them that found nothing
 * halves the next one (down to none: kicks at once), a look that found a
 * request or a kick grows it back by one.
 */
#define VBLK_IDLE_POLLS 4u
#define VBLK_MAX_POLL_US 1000u
#define VBLK_MAX_COALESCE_US 1000u
#define VBLK_MAX_RETRY 8u    /* -EAGAIN / -EINTR resubmissions */
#define VBLK_QUEUE_MAX 1024u /* largest conf->queue_size accepted */
#define VBLK_DEFAULT_QUEUE 256u

/* What a request's one SQE in flight is doing. */
enum vblk_stage {
	VBLK_ST_NONE,
	VBLK_ST_READ,
	VBLK_ST_WRITE,
	VBLK_ST_SYNC,	/* fdatasync: a FLUSH, or a write-through write */
	VBLK_ST_FALLOC, /* one discard / write-zeroes segment */
};

/* A discard / write-zeroes segment, validated, in host byte order. */
struct vblk_seg {
	uint64_t off; /* bytes */
	uint64_t len; /* bytes */
	bool unmap;
};

struct vblk_queue;

/* One guest request, from pop to push. Lives in the queue's pool. */
struct vblk_req {
	struct evl_op op; /* the request's one SQE in flight */
	struct vblk_queue *q;
	struct vblk_req *next; /* free list, flush waiters or backlog */
	uint32_t gen;	       /* q->gen at pop; stale completions drop */
	uint32_t type;	       /* VIRTIO_BLK_T_* */
	enum vblk_stage stage;
	bool active;	  /* popped, not yet pushed or released */
	bool busy;	  /* an SQE of ours is in flight */
	bool cancelled;	  /* reset asked the kernel to cancel it */
	bool is_write;	  /* counted in a flush epoch */
	bool realloc;	  /* zero-range fallback: punch done, allocate next */
	uint8_t *status;  /* host address of the status byte */
	uint32_t written; /* bytes written into the writable part */
	unsigned int retries;
	uint64_t epoch; /* writes: epoch joined; flushes: epoch closed */
	uint64_t off;	/* next byte of the store to transfer */
	uint64_t left;	/* bytes still to transfer */
	uint32_t len;	/* data bytes of the request */
	unsigned int nr_data;
	unsigned int nr_seg, seg;
	int fmode; /* fallocate mode of the segment in flight */
	struct vblk_seg segs[VBLK_MAX_SEGS];
	struct iovec data[VQ_MAX_IOV]; /* private copy, trimmed as I/O moves */
	struct vq_chain chain;
};

/*
 * One virtqueue and the state of its I/O. Everything here is touched by
 * the thread running @loop only, but @remote and @kick_msg, which the
 * device's thread uses to reach it (blk.c).
 */
struct vblk_queue {
	struct vblk *blk;
	struct vq *vq;
	struct evl *loop;
	bool remote; /* @loop is another thread's than the device's */
	struct evl_msg kick_msg; /* a kick, posted to a remote loop */
	uint32_t gen; /* bumped at reset: completions of older requests drop */

	struct vblk_req *pool;
	unsigned int nr_reqs;
	struct vblk_req *free;
	unsigned int nr_active; /* popped and not finished */
	unsigned int nr_ops; /* requests' SQEs in flight (run.nr_ops: timers) */

	/* SQ full: requests ready to issue, oldest first. */
	struct vblk_req *backlog, *backlog_tail;

	/*
	 * Flush ordering. Writes join the open epoch; a FLUSH closes it and
	 * waits until no write of its epoch or an older one is in flight.
	 * ep_cnt[e % nr_ep] counts the writes of epoch e in flight.
	 */
	uint64_t ep_cur;  /* the open epoch */
	uint64_t ep_head; /* every epoch before it has no write in flight */
	unsigned int *ep_cnt;
	unsigned int nr_ep;
	struct vblk_req *flush_wait, *flush_wait_tail;

	/*
	 * Popping, kicks off while busy, the look-again and interrupt timers,
	 * the tick (virtio/vqrun.h); busy while requests are active.
	 */
	struct vqrun run;
};

/* The backing store, as probed once at open. */
struct vblk_store {
	int fd;
	bool bdev;
	bool readonly;
	uint64_t size;			    /* bytes */
	uint32_t lbs, pbs;		    /* logical / physical block size */
	uint32_t io_min, io_opt, align_off; /* bytes */
	bool can_discard;   /* punch-hole (files) / discard (devices) */
	bool can_zero;	    /* write-zeroes offered */
	bool no_zero_range; /* files: ZERO_RANGE refused, punch + allocate */
};

struct vblk {
	struct vdev vdev;
	struct vblk_store store;
	struct virtio_blk_config cfg; /* little-endian, as the guest reads it */
	uint64_t capacity;   /* sectors; READ_ONCE on queue threads (resize) */
	uint8_t wce_default; /* conf->writethrough ? 0 : 1, restored at reset */
	uint32_t poll_ns;    /* conf->poll_us; 0: kicks back on at once */
	uint32_t coalesce_ns; /* conf->coalesce_us; 0: no interrupt held */
	uint8_t wce;	      /* the writeback byte */
	/*
	 * A write or fdatasync failed: every later FLUSH fails, for the life
	 * of the device (a guest reset does not bring lost data back). Shared
	 * by all queues: READ_ONCE/WRITE_ONCE.
	 */
	bool store_failed;
	bool resetting;			  /* inside ops->reset */
	char serial[VIRTIO_BLK_ID_BYTES]; /* NUL-padded */
	unsigned int nr_queues;		  /* > 1: VIRTIO_BLK_F_MQ offered */
	struct vblk_queue *queues;
};

static inline struct vblk *vblk_from_vdev(struct vdev *vdev)
{
	return container_of(vdev, struct vblk, vdev);
}

/*
 * store.c: opens @conf's store (O_RDONLY if read-only) and probes it into
 * @st, which then owns the descriptor. Returns 0 or -errno.
 */
int vblk_store_open(struct vblk_store *st, const struct vblk_conf *conf,
		    struct log_ctx *log);
/* The store's size now, in bytes (a file's length, a device's size). */
int vblk_store_size(const struct vblk_store *st, uint64_t *size);
/* Closes the descriptor; accepts a store that never opened. */
void vblk_store_close(struct vblk_store *st);

/*
 * req.c: a queue over @vq, doing its I/O on @loop, with a pool of @nr_reqs
 * requests (at least the queue size). Returns 0 or -ENOMEM; _fini frees
 * the pool and accepts a half-built queue.
 */
int vblk_queue_init(struct vblk_queue *q, struct vblk *blk, struct vq *vq,
		    struct evl *loop, unsigned int nr_reqs);
void vblk_queue_fini(struct vblk_queue *q);
/* The guest kicked: pops, validates and issues what the ring holds. */
void vblk_queue_kick(struct vblk_queue *q);
/*
 * Drops every request: waiting ones are released, in-flight ones cancelled
 * and reaped by running the loop, so no I/O touches guest memory on return.
 * Returns 0, or -errno if the loop failed (requests then stay mapped).
 */
int vblk_queue_stop(struct vblk_queue *q);

/* blk.c: true if writes must be durable before they complete. */
bool vblk_writethrough(const struct vblk *blk);

#endif
