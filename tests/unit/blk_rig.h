/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk tests' rig: a backing file in a private mkdtemp directory,
 * a fake guest, an event loop, the device and a guest driver, with helpers
 * that build requests, run the loop until they complete, and check leaks.
 */
#ifndef XVB_TESTS_BLK_RIG_H
#define XVB_TESTS_BLK_RIG_H

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/virtio_blk.h>

#include "devices/blk/blk.h"
#include "fakeguest.h"
#include "gdrv.h"
#include "hang.h"
#include "procfs.h"
#include "t.h"
#include "virtio/vmmio.h"

#define BQ 0 /* the one queue */
#define BR_SLOTS 512u
#define BR_DATA_SIZE (4u << 20)
#define BR_STATUS_NONE 0xff /* status byte before the device writes it */
#define BR_WAIT_MS ((int)t_hang_ms()) /* hang detection, tests/lib/hang.h */

struct brig_opts {
	uint64_t size;	      /* backing file bytes; 0: 8 MiB */
	bool readonly;	      /* conf->readonly */
	bool writethrough;    /* conf->writethrough */
	bool clamp;	      /* 4 KiB map clamping */
	uint64_t features;    /* driver's wanted features; 0: all */
	uint64_t no_features; /* removed from the wanted set */
	uint16_t num;	      /* entries of the queue; 0: 256 */
	uint16_t queue_size;  /* device QueueNumMax; 0: the device's default */
	unsigned int ring;    /* io_uring entries; 0: 256 */
	const char *serial;
	const char *path;    /* use this store instead of a new file */
	unsigned int queues; /* conf->nr_queues; the driver sets all up */
	bool threads;	     /* queues past the first on threads of their own */
	unsigned int poll_us;	  /* conf->poll_us */
	unsigned int coalesce_us; /* conf->coalesce_us */
};

struct brig {
	struct brig_opts o;
	char dir[64];
	char path[160];
	int fd; /* the test's own descriptor of the store */
	struct fakeguest *fg;
	struct evl loop;
	struct evl_thread thr[VBLK_MAX_QUEUES]; /* o.threads: queue i's loop */
	struct evl *loops[VBLK_MAX_QUEUES];
	struct vblk *blk;
	struct vdev *vdev;
	struct gdrv drv;
	uint64_t hdr;	 /* BR_SLOTS headers of 16 bytes */
	uint64_t status; /* BR_SLOTS status bytes */
	uint64_t data;	 /* BR_DATA_SIZE bytes, page aligned */
	uint64_t data2;	 /* a second area of the same size */
	size_t baseline; /* live mappings once up: the rings */
	int fds;	 /* open descriptors before the rig */
	bool up;
	const char *why;
};

static inline int br_fail(struct brig *r, const char *why)
{
	r->why = why;
	return -1;
}

/* A fresh sparse file of @size bytes in a new mkdtemp directory. */
static inline int br_make_store(struct brig *r, uint64_t size)
{
	int fd;

	snprintf(r->dir, sizeof(r->dir), "/tmp/xvb-blk-XXXXXX");
	if (!mkdtemp(r->dir))
		return br_fail(r, "mkdtemp");
	snprintf(r->path, sizeof(r->path), "%s/disk.img", r->dir);
	fd = open(r->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return br_fail(r, "create backing file");
	if (ftruncate(fd, size)) {
		close(fd);
		return br_fail(r, "ftruncate backing file");
	}
	close(fd);
	return 0;
}

/* Device, guest and loop, up to DRIVER_OK. */
static inline int brig_up(struct brig *r)
{
	uint64_t want = r->o.features ? r->o.features : ~0ULL;
	struct vblk_conf conf = {
		.path = r->path,
		.readonly = r->o.readonly,
		.writethrough = r->o.writethrough,
		.serial = r->o.serial,
		.queue_size = r->o.queue_size,
		.nr_queues = r->o.queues,
		.poll_us = r->o.poll_us,
		.coalesce_us = r->o.coalesce_us,
		.loops = r->o.threads ? r->loops : NULL,
		.domid = 7,
		.name = "vblk-test",
	};
	unsigned int nq = r->o.queues ? r->o.queues : 1;
	int rc;

	for (unsigned int i = 1; r->o.threads && i < nq; i++) {
		if (evl_thread_start(&r->thr[i], "blk-test-q", 256))
			return br_fail(r, "evl_thread_start");
		r->loops[i] = &r->thr[i].loop;
	}
	rc = vblk_create(&r->blk, &conf, &r->fg->gmem, &r->loop);
	if (rc)
		return br_fail(r, "vblk_create");
	r->vdev = vblk_vdev(r->blk);
	gdrv_init(&r->drv, r->vdev, r->fg);
	if (gdrv_up(&r->drv, want & ~r->o.no_features, nq,
		    r->o.num ? r->o.num : 256))
		return br_fail(r, r->drv.why ? r->drv.why : "gdrv_up");
	r->up = true;
	return 0;
}

static inline int brig_start(struct brig *r, const struct brig_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (o)
		r->o = *o;
	r->fds = t_count_fds(0);
	if (r->o.path) {
		snprintf(r->path, sizeof(r->path), "%s", r->o.path);
	} else if (br_make_store(r, r->o.size ? r->o.size : 8u << 20)) {
		return -1;
	}
	r->fd = open(r->path, O_RDWR | O_CLOEXEC);
	if (r->fd < 0)
		return br_fail(r, "open backing file");
	r->fg = fg_new(64u << 20);
	if (!r->fg)
		return br_fail(r, "fg_new");
	fg_set_clamp(r->fg, r->o.clamp);
	if (evl_init(&r->loop, r->o.ring ? r->o.ring : 256))
		return br_fail(r, "evl_init");
	if (brig_up(r))
		return -1;
	r->hdr = fg_alloc(r->fg, 16 * BR_SLOTS, 4096);
	r->status = fg_alloc(r->fg, BR_SLOTS, 4096);
	r->data = fg_alloc(r->fg, BR_DATA_SIZE, 4096);
	r->data2 = fg_alloc(r->fg, BR_DATA_SIZE, 4096);
	if (!r->hdr || !r->status || !r->data || !r->data2)
		return br_fail(r, "guest RAM exhausted");
	r->baseline = fg_live(r->fg);
	return 0;
}

/* Tears down; 0 if no mapping, descriptor or temporary file was left. */
static inline int brig_fini(struct brig *r)
{
	int rc = 0;

	vblk_destroy(r->blk);
	r->blk = NULL;
	for (unsigned int i = 0; i < VBLK_MAX_QUEUES; i++) {
		if (evl_thread_stop(&r->thr[i]))
			rc = br_fail(r, "queue thread's loop failed");
		r->loops[i] = NULL;
	}
	gdrv_fini(&r->drv);
	if (r->fg && (fg_live(r->fg) || !fg_ok(r->fg)))
		rc = br_fail(r, "guest mappings leaked or bogus unmaps");
	evl_exit(&r->loop);
	fg_free(r->fg);
	r->fg = NULL;
	if (r->fd >= 0)
		close(r->fd);
	if (!r->o.path && r->dir[0]) {
		unlink(r->path);
		if (rmdir(r->dir))
			rc = br_fail(r, "temporary directory not empty");
	}
	if (t_count_fds(0) != r->fds)
		rc = br_fail(r, "file descriptors leaked");
	return rc;
}

/*
 * brig_fini() if still set up, its verdict ignored: a failed case's way
 * out. As a cleanup attribute (BRIG_SCOPED, on a zeroed struct) it tears
 * the rig down however the case returns, so a failure reports itself, not
 * the rig's leaks.
 */
static inline void brig_cleanup(struct brig *r)
{
	if (r->fg || r->blk)
		brig_fini(r);
}
#define BRIG_SCOPED __attribute__((cleanup(brig_cleanup)))

#define T_BR(r, expr)                                                     \
	do {                                                              \
		int t_rc_ = (expr);                                       \
		if (t_rc_) {                                              \
			t_fail(__FILE__, __LINE__, "%s = %d (%s)", #expr, \
			       t_rc_, (r)->why ? (r)->why : "?");         \
			if ((r)->fg || (r)->blk)                          \
				brig_fini(r);                             \
			return;                                           \
		}                                                         \
	} while (0)
#define T_BR_START(r, o) T_BR(r, brig_start(r, o))
#define T_BR_FINI(r) T_BR(r, brig_fini(r))

/* ---- requests --------------------------------------------------------- */

static inline uint64_t br_hdr(const struct brig *r, unsigned int slot)
{
	return r->hdr + 16u * (slot % BR_SLOTS);
}

static inline uint64_t br_st(const struct brig *r, unsigned int slot)
{
	return r->status + slot % BR_SLOTS;
}

/* Writes a request header at @gpa and marks slot's status unwritten. */
static inline void br_put_hdr(struct brig *r, uint64_t gpa, uint32_t type,
			      uint64_t sector)
{
	struct virtio_blk_outhdr h = {
		.type = htole32(type),
		.sector = htole64(sector),
	};

	fg_write(r->fg, gpa, &h, sizeof(h));
}

static inline uint8_t br_status(const struct brig *r, uint64_t gpa)
{
	uint8_t s = 0;

	fg_read(r->fg, gpa, &s, 1);
	return s;
}

static inline void br_set_status(struct brig *r, uint64_t gpa)
{
	uint8_t s = BR_STATUS_NONE;

	fg_write(r->fg, gpa, &s, 1);
}

/* True if @type moves data from the device into the guest. */
static inline bool br_is_in(uint32_t type)
{
	return type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
}

/*
 * Adds one request in slot @slot: header, data at @data cut into
 * descriptors of at most @piece bytes (0: one), status. Not kicked.
 * Returns the head or -errno.
 */
static inline int br_add_q(struct brig *r, unsigned int q, unsigned int slot,
			   uint32_t type, uint64_t sector, uint64_t data,
			   uint32_t len, uint32_t piece, unsigned int flags)
{
	struct gdrv_buf b[258];
	unsigned int n = 0;
	uint32_t off = 0;

	br_put_hdr(r, br_hdr(r, slot), type, sector);
	br_set_status(r, br_st(r, slot));
	b[n++] = (struct gdrv_buf){ br_hdr(r, slot), 16, false };
	while (off < len && n < 257) {
		uint32_t l = piece && len - off > piece ? piece : len - off;

		b[n++] = (struct gdrv_buf){ data + off, l, br_is_in(type) };
		off += l;
	}
	b[n++] = (struct gdrv_buf){ br_st(r, slot), 1, true };
	return gdrv_add(&r->drv, q, b, n, flags);
}

static inline int br_add(struct brig *r, unsigned int slot, uint32_t type,
			 uint64_t sector, uint64_t data, uint32_t len,
			 uint32_t piece, unsigned int flags)
{
	return br_add_q(r, BQ, slot, type, sector, data, len, piece, flags);
}

/* Runs the loop until the device has no I/O in flight. */
static inline int br_run(struct brig *r)
{
	return evl_drain(&r->loop, BR_WAIT_MS);
}

/* Collects up to @max used elements; returns how many, -errno on a bogus one. */
static inline int br_collect(struct brig *r, uint16_t *heads, uint32_t *lens,
			     unsigned int max)
{
	unsigned int n = 0;
	uint16_t h;
	uint32_t l;
	int rc;

	while (n < max && (rc = gdrv_get_used(&r->drv, BQ, &h, &l)) == 1) {
		if (heads)
			heads[n] = h;
		if (lens)
			lens[n] = l;
		n++;
	}
	if (n < max && rc < 0)
		return rc;
	return n;
}

/*
 * Adds a chain of explicit buffers, kicks, runs the loop and collects it.
 * Returns the used length, or -errno (-ETIMEDOUT if it never completed).
 */
static inline long br_xfer(struct brig *r, const struct gdrv_buf *b,
			   unsigned int n, unsigned int flags)
{
	uint32_t len;
	int head, rc;
	uint16_t h;

	head = gdrv_add(&r->drv, BQ, b, n, flags);
	if (head < 0)
		return head;
	gdrv_kick(&r->drv, BQ);
	rc = br_run(r);
	if (rc)
		return rc;
	rc = br_collect(r, &h, &len, 1);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ETIMEDOUT;
	if (h != head)
		return -EPROTO;
	return len;
}

/*
 * One request in slot 0 (see br_add), run to completion. Returns its status
 * byte, or -errno.
 */
static inline int br_req_ex(struct brig *r, uint32_t type, uint64_t sector,
			    uint64_t data, uint32_t len, uint32_t piece,
			    unsigned int flags, uint32_t *used)
{
	uint32_t ulen;
	uint16_t h;
	int head, rc;

	head = br_add(r, 0, type, sector, data, len, piece, flags);
	if (head < 0)
		return head;
	gdrv_kick(&r->drv, BQ);
	rc = br_run(r);
	if (rc)
		return rc;
	rc = br_collect(r, &h, &ulen, 1);
	if (rc <= 0)
		return rc ? rc : -ETIMEDOUT;
	if (h != head)
		return -EPROTO;
	if (used)
		*used = ulen;
	return br_status(r, br_st(r, 0));
}

static inline int br_req(struct brig *r, uint32_t type, uint64_t sector,
			 uint64_t data, uint32_t len)
{
	return br_req_ex(r, type, sector, data, len, 0, 0, NULL);
}

/* ---- the store ----------------------------------------------------------- */

/* True if the store holds pattern @seed over [off, off + len). */
static inline bool br_file_check(struct brig *r, uint64_t off, size_t len,
				 uint32_t seed)
{
	uint8_t *buf = malloc(len);
	bool ok = buf && pread(r->fd, buf, len, off) == (ssize_t)len;

	for (size_t i = 0; ok && i < len; i++)
		ok = buf[i] == fg_pattern(seed, i);
	free(buf);
	return ok;
}

/* True if the store holds @c over [off, off + len). */
static inline bool br_file_is(struct brig *r, uint64_t off, size_t len, int c)
{
	uint8_t *buf = malloc(len);
	bool ok = buf && pread(r->fd, buf, len, off) == (ssize_t)len;

	for (size_t i = 0; ok && i < len; i++)
		ok = buf[i] == (uint8_t)c;
	free(buf);
	return ok;
}

/* Writes pattern @seed into the store at [off, off + len). */
static inline int br_file_fill(struct brig *r, uint64_t off, size_t len,
			       uint32_t seed)
{
	uint8_t *buf = malloc(len);
	int rc = -1;

	if (!buf)
		return -1;
	for (size_t i = 0; i < len; i++)
		buf[i] = fg_pattern(seed, i);
	if (pwrite(r->fd, buf, len, off) == (ssize_t)len)
		rc = 0;
	free(buf);
	return rc;
}

/* True if guest memory [gpa, gpa + len) is all @c. */
static inline bool br_guest_is(struct brig *r, uint64_t gpa, size_t len, int c)
{
	const uint8_t *p = fg_ptr(r->fg, gpa, len);

	for (size_t i = 0; p && i < len; i++)
		if (p[i] != (uint8_t)c)
			return false;
	return p != NULL;
}

static inline void br_guest_set(struct brig *r, uint64_t gpa, size_t len, int c)
{
	uint8_t *p = fg_ptr(r->fg, gpa, len);

	if (p)
		memset(p, c, len);
}

static inline bool br_needs_reset(struct brig *r)
{
	return gdrv_r32(&r->drv, VIRTIO_MMIO_STATUS) &
	       VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* Reset, set up again with the same features, and run a canary write+read. */
static inline int brig_recover(struct brig *r)
{
	uint64_t want = r->o.features ? r->o.features : ~0ULL;
	unsigned int nq = r->o.queues ? r->o.queues : 1;
	int st;

	gdrv_reset(&r->drv);
	/* Each queue's three rings were mapped. */
	if (fg_live(r->fg) != r->baseline - 3 * nq)
		return br_fail(r, "mappings left after reset");
	if (gdrv_up(&r->drv, want & ~r->o.no_features, nq,
		    r->o.num ? r->o.num : 256))
		return br_fail(r, r->drv.why ? r->drv.why : "gdrv_up");
	r->baseline = fg_live(r->fg);
	if (r->o.readonly)
		return 0;
	fg_fill(r->fg, r->data, 4096, 0xca7a);
	st = br_req(r, VIRTIO_BLK_T_OUT, 8, r->data, 4096);
	if (st != VIRTIO_BLK_S_OK)
		return br_fail(r, "canary write failed");
	br_guest_set(r, r->data2, 4096, 0);
	st = br_req(r, VIRTIO_BLK_T_IN, 8, r->data2, 4096);
	if (st != VIRTIO_BLK_S_OK || !fg_check(r->fg, r->data2, 4096, 0xca7a))
		return br_fail(r, "canary read failed");
	return 0;
}

#endif
