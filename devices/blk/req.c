// SPDX-License-Identifier: MIT
/*
 * The request path of one queue: pop chains, validate the request copied out
 * of guest memory, run it as io_uring operations straight on the guest's
 * buffers (one in flight per request), and complete it exactly once.
 */
#define LOG_MOD "vblk"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>

#include "lib/iov.h"
#include "vblk.h"

#define PUNCH (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
#define ZERO_RANGE (FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)

static void vblk_req_done(struct evl_op *op, int res, unsigned int flags);
static void vblk_req_issue(struct vblk_req *req);
static void vblk_req_start(struct vblk_queue *q, struct vblk_req *req);
static const struct vqrun_ops vblk_run_ops;

/* ---- lists and the pool ---- */

static void vblk_list_add(struct vblk_req **head, struct vblk_req **tail,
			  struct vblk_req *req)
{
	req->next = NULL;
	if (*head)
		(*tail)->next = req;
	else
		*head = req;
	*tail = req;
}

static void vblk_list_pop(struct vblk_req **head, struct vblk_req **tail)
{
	*head = (*head)->next;
	if (!*head)
		*tail = NULL;
}

static struct vblk_req *vblk_req_get(struct vblk_queue *q)
{
	struct vblk_req *req = q->free;

	if (req)
		q->free = req->next;
	return req;
}

static void vblk_req_put(struct vblk_queue *q, struct vblk_req *req)
{
	req->active = false;
	req->next = q->free;
	q->free = req;
}

int vblk_queue_init(struct vblk_queue *q, struct vblk *blk, struct vq *vq,
		    struct evl *loop, unsigned int nr_reqs)
{
	unsigned int i;

	memset(q, 0, sizeof(*q));
	q->blk = blk;
	q->vq = vq;
	q->loop = loop;
	q->pool = calloc(nr_reqs, sizeof(*q->pool));
	/* One epoch per flush that may wait, plus the open one. */
	q->nr_ep = nr_reqs + 1;
	q->ep_cnt = calloc(q->nr_ep, sizeof(*q->ep_cnt));
	if (!q->pool || !q->ep_cnt) {
		vblk_queue_fini(q);
		return -ENOMEM;
	}
	q->nr_reqs = nr_reqs;
	vqrun_init(&q->run, vq, loop, &vblk_run_ops,
		   &(struct vqrun_conf){ .budget = VBLK_KICK_BUDGET,
					 .looks = VBLK_IDLE_POLLS,
					 .poll_ns = blk->poll_ns,
					 .coalesce_ns = blk->coalesce_ns,
					 .adaptive = true });
	for (i = nr_reqs; i-- > 0;) {
		q->pool[i].q = q;
		vblk_req_put(q, &q->pool[i]);
	}
	return 0;
}

void vblk_queue_fini(struct vblk_queue *q)
{
	free(q->pool);
	free(q->ep_cnt);
	q->pool = NULL;
	q->ep_cnt = NULL;
	q->free = NULL;
	q->nr_reqs = 0;
}

/* ---- flush epochs ---- */

static void vblk_epoch_join(struct vblk_queue *q, struct vblk_req *req)
{
	req->is_write = true;
	req->epoch = q->ep_cur;
	q->ep_cnt[q->ep_cur % q->nr_ep]++;
}

/* Skips finished closed epochs, then issues the flushes they held back. */
static void vblk_epoch_advance(struct vblk_queue *q)
{
	struct vblk_req *f;

	while (q->ep_head < q->ep_cur && !q->ep_cnt[q->ep_head % q->nr_ep])
		q->ep_head++;
	while ((f = q->flush_wait) && f->epoch < q->ep_head) {
		vblk_list_pop(&q->flush_wait, &q->flush_wait_tail);
		vblk_req_issue(f);
	}
}

static void vblk_epoch_leave(struct vblk_queue *q, struct vblk_req *req)
{
	req->is_write = false;
	q->ep_cnt[req->epoch % q->nr_ep]--;
	vblk_epoch_advance(q);
}

/* ---- completion ---- */

/* The one completion of a live request: status, used element, pool. */
static void vblk_req_complete(struct vblk_req *req, uint8_t status)
{
	struct vblk_queue *q = req->q;

	if (req->is_write)
		vblk_epoch_leave(q, req);
	WRITE_ONCE(*req->status, status);
	vq_push(q->vq, &req->chain, req->written + 1);
	q->nr_active--;
	vblk_req_put(q, req);
	vqrun_complete(&q->run, !q->nr_ops);
}

/* A request the guest got wrong: logged (rate-limited), then completed. */
static void __printf(3, 4)
	vblk_req_bad(struct vblk_req *req, uint8_t status, const char *fmt, ...)
{
	char msg[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_guest(&req->q->blk->vdev.log, "vq%u: %s", req->q->vq->index, msg);
	vblk_req_complete(req, status);
}

/* A chain with no status byte: completed empty (the device is broken). */
static void vblk_req_abandon(struct vblk_req *req)
{
	struct vblk_queue *q = req->q;

	vq_push(q->vq, &req->chain, 0);
	q->nr_active--;
	vblk_req_put(q, req);
	q->run.pushed = true;
}

/* A request of an older generation (reset meanwhile): released, not pushed. */
static void vblk_req_drop(struct vblk_req *req)
{
	struct vblk_queue *q = req->q;

	vq_chain_release(q->vq, &req->chain);
	q->nr_active--;
	vblk_req_put(q, req);
}

/*
 * A failed store operation. Data the page cache may have dropped makes every
 * later FLUSH fail (fsyncgate); a write refused for want of space lost
 * nothing already acknowledged, so it fails alone.
 */
static void vblk_store_error(struct vblk_req *req, const char *what, int err)
{
	struct vblk *blk = req->q->blk;
	bool poison;

	poison = req->stage == VBLK_ST_SYNC ||
		 (req->stage == VBLK_ST_WRITE && err != -ENOSPC &&
		  err != -EDQUOT && err != -EFBIG) ||
		 (req->stage == VBLK_ST_FALLOC && err == -EIO);
	if (poison && !READ_ONCE(blk->store_failed)) {
		WRITE_ONCE(blk->store_failed, true);
		log_err(&blk->vdev.log, "%s failed (%d): every FLUSH fails now",
			what, err);
	} else {
		log_guest(&blk->vdev.log, "%s at %llu failed: %d", what,
			  (unsigned long long)req->off, err);
	}
	vblk_req_complete(req, VIRTIO_BLK_S_IOERR);
}

/* ---- issuing ---- */

static bool vblk_req_try_issue(struct vblk_req *req)
{
	struct vblk_queue *q = req->q;
	int fd = q->blk->store.fd;
	struct io_uring_sqe *sqe = evl_get_sqe(q->loop);

	if (!sqe)
		return false;
	/* One buffer (most 4 KiB requests): no iovec for the kernel to copy. */
	switch (req->stage) {
	case VBLK_ST_READ:
		if (req->nr_data == 1)
			io_uring_prep_read(sqe, fd, req->data[0].iov_base,
					   req->data[0].iov_len, req->off);
		else
			io_uring_prep_readv(sqe, fd, req->data, req->nr_data,
					    req->off);
		break;
	case VBLK_ST_WRITE:
		if (req->nr_data == 1)
			io_uring_prep_write(sqe, fd, req->data[0].iov_base,
					    req->data[0].iov_len, req->off);
		else
			io_uring_prep_writev(sqe, fd, req->data, req->nr_data,
					     req->off);
		break;
	case VBLK_ST_SYNC:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case VBLK_ST_FALLOC:
		io_uring_prep_fallocate(sqe, fd, req->fmode, req->off,
					req->left);
		break;
	default:
		io_uring_prep_nop(sqe); /* not reached: every caller sets it */
		break;
	}
	evl_set_op(q->loop, sqe, &req->op, vblk_req_done);
	req->busy = true;
	req->cancelled = false;
	q->nr_ops++;
	return true;
}

/* Issues @req's stage, or queues it behind others waiting for an SQE. */
static void vblk_req_issue(struct vblk_req *req)
{
	struct vblk_queue *q = req->q;

	if (!q->backlog && vblk_req_try_issue(req))
		return;
	vblk_list_add(&q->backlog, &q->backlog_tail, req);
}

static void vblk_backlog_run(struct vblk_queue *q)
{
	while (q->backlog && vblk_req_try_issue(q->backlog))
		vblk_list_pop(&q->backlog, &q->backlog_tail);
}

/* vqrun: requests that found no SQE go first; true if none is left. */
static bool vblk_run_retry(struct vqrun *r)
{
	struct vblk_queue *q = container_of(r, struct vblk_queue, run);

	vblk_backlog_run(q);
	return !q->backlog;
}

/* ---- reads and writes ---- */

/* Whole sectors, starting and ending inside the disk. */
static bool vblk_range_ok(const struct vblk *blk, uint64_t sector, uint64_t len)
{
	uint64_t cap = READ_ONCE(blk->capacity); /* vblk_resize may change it */

	if (len % VBLK_SECTOR || sector >= cap)
		return false;
	return len / VBLK_SECTOR <= cap - sector;
}

static void vblk_rw_start(struct vblk_queue *q, struct vblk_req *req,
			  uint64_t sector)
{
	struct vq_chain *c = &req->chain;
	bool rd = req->type == VIRTIO_BLK_T_IN;
	const struct iovec *src = c->iov;
	unsigned int n = c->nr_out;
	size_t off = VBLK_HDR_LEN, len, got;

	if (rd) {
		/* Rejects a read that also carries device-readable data. */
		if (c->out_len != VBLK_HDR_LEN) {
			vblk_req_bad(req, VIRTIO_BLK_S_IOERR,
				     "read with %u readable bytes", c->out_len);
			return;
		}
		src = vq_chain_in(c);
		n = c->nr_in;
		off = 0;
		len = c->in_len - 1;
	} else {
		/* Rejects a write that also carries device-writable data. */
		if (c->in_len != 1) {
			vblk_req_bad(req, VIRTIO_BLK_S_IOERR,
				     "write with %u writable bytes", c->in_len);
			return;
		}
		if (q->blk->store.readonly) {
			vblk_req_bad(req, VIRTIO_BLK_S_IOERR,
				     "write to a read-only disk");
			return;
		}
		len = c->out_len - VBLK_HDR_LEN;
	}
	/* Rejects partial sectors, and ranges past the end or wrapping. */
	if (!vblk_range_ok(q->blk, sector, len)) {
		vblk_req_bad(req, VIRTIO_BLK_S_IOERR,
			     "%s of %zu bytes at sector %llu",
			     rd ? "read" : "write", len,
			     (unsigned long long)sector);
		return;
	}
	if (!len) {
		vblk_req_complete(req, VIRTIO_BLK_S_OK);
		return;
	}

	req->nr_data = iov_slice(req->data, VQ_MAX_IOV, src, n, off, len, &got);
	req->off = sector * VBLK_SECTOR;
	req->len = len;
	req->left = len;
	req->stage = rd ? VBLK_ST_READ : VBLK_ST_WRITE;
	/* The chain holds every byte: a miss is a host bug, not the guest's. */
	if (got != len) {
		vblk_req_complete(req, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (!rd)
		vblk_epoch_join(q, req);
	vblk_req_issue(req);
}

static void vblk_rw_done(struct vblk_req *req, int res)
{
	bool rd = req->stage == VBLK_ST_READ;

	if (res < 0) {
		vblk_store_error(req, rd ? "read" : "write", res);
		return;
	}
	if (!res) {
		/* A write that makes no progress would loop forever. */
		if (!rd) {
			vblk_store_error(req, "write", -EIO);
			return;
		}
		/* EOF inside the capacity (the file shrank): zeroes. */
		iov_memset(req->data, req->nr_data, 0, 0, req->left);
		res = req->left;
	}
	if ((uint64_t)res > req->left)
		res = req->left;
	req->left -= res;
	req->off += res;
	if (req->left) {
		/* Short transfer: resubmit the remainder. */
		iov_pull(req->data, &req->nr_data, res);
		req->retries = 0;
		vblk_req_issue(req);
		return;
	}
	if (rd) {
		req->written = req->len;
	} else if (vblk_writethrough(req->q->blk)) {
		req->stage = VBLK_ST_SYNC;
		vblk_req_issue(req);
		return;
	}
	vblk_req_complete(req, VIRTIO_BLK_S_OK);
}

/* ---- flush ---- */

/*
 * A FLUSH closes the open epoch and waits until every write popped before it
 * has completed; only then is its fdatasync issued.
 */
static void vblk_flush_start(struct vblk_queue *q, struct vblk_req *req)
{
	if (READ_ONCE(q->blk->store_failed)) {
		vblk_req_complete(req, VIRTIO_BLK_S_IOERR);
		return;
	}
	req->stage = VBLK_ST_SYNC;
	req->epoch = q->ep_cur++;
	q->ep_cnt[q->ep_cur % q->nr_ep] = 0;
	vblk_list_add(&q->flush_wait, &q->flush_wait_tail, req);
	vblk_epoch_advance(q);
}

/* fdatasync of a FLUSH, or of a write-through write. */
static void vblk_sync_done(struct vblk_req *req, int res)
{
	if (res < 0) {
		vblk_store_error(req, "fdatasync", res);
		return;
	}
	if (req->type == VIRTIO_BLK_T_FLUSH &&
	    READ_ONCE(req->q->blk->store_failed)) {
		vblk_req_complete(req, VIRTIO_BLK_S_IOERR);
		return;
	}
	vblk_req_complete(req, VIRTIO_BLK_S_OK);
}

/* ---- GET_ID ---- */

/* Writes the NUL-padded serial, never more than the guest's buffer holds. */
static void vblk_get_id(struct vblk_queue *q, struct vblk_req *req)
{
	struct vq_chain *c = &req->chain;
	size_t n = c->in_len - 1;

	/* Rejects readable data after the header. */
	if (c->out_len != VBLK_HDR_LEN) {
		vblk_req_bad(req, VIRTIO_BLK_S_IOERR,
			     "GET_ID with readable data");
		return;
	}
	if (n > VIRTIO_BLK_ID_BYTES)
		n = VIRTIO_BLK_ID_BYTES;
	req->written =
		iov_from_buf(vq_chain_in(c), c->nr_in, 0, q->blk->serial, n);
	vblk_req_complete(req, VIRTIO_BLK_S_OK);
}

/* ---- discard and write-zeroes ---- */

/* Checks one segment, copied already; fills @seg. Returns a status. */
static uint8_t vblk_seg_check(const struct vblk *blk, bool discard,
			      const struct virtio_blk_discard_write_zeroes *raw,
			      struct vblk_seg *seg)
{
	uint64_t sector = le64toh(raw->sector);
	uint32_t num = le32toh(raw->num_sectors);
	uint32_t flags = le32toh(raw->flags);
	uint32_t known = discard ? 0 : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;

	/* Rejects unknown flags, and UNMAP on a discard (virtio 1.2 5.2.6). */
	if (flags & ~known)
		return VIRTIO_BLK_S_UNSUPP;
	/* Rejects segments above the advertised size or past the end. */
	if (num > VBLK_MAX_DWZ_SECTORS || sector > blk->capacity ||
	    num > blk->capacity - sector)
		return VIRTIO_BLK_S_IOERR;
	seg->off = sector * VBLK_SECTOR;
	seg->len = (uint64_t)num * VBLK_SECTOR;
	seg->unmap = flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	return VIRTIO_BLK_S_OK;
}

/* Issues the next non-empty segment, or completes the request. */
static void vblk_dwz_next(struct vblk_req *req)
{
	const struct vblk_store *st = &req->q->blk->store;
	const struct vblk_seg *s;

	while (req->seg < req->nr_seg && !req->segs[req->seg].len)
		req->seg++;
	if (req->seg == req->nr_seg) {
		vblk_req_complete(req, VIRTIO_BLK_S_OK);
		return;
	}
	s = &req->segs[req->seg];
	req->off = s->off;
	req->left = s->len;
	req->stage = VBLK_ST_FALLOC;
	req->realloc = false;
	if (req->type == VIRTIO_BLK_T_DISCARD || s->unmap) {
		req->fmode = PUNCH;
	} else if (READ_ONCE(st->no_zero_range)) {
		/* No ZERO_RANGE here: punch, then allocate again. */
		req->fmode = PUNCH;
		req->realloc = true;
	} else {
		req->fmode = ZERO_RANGE;
	}
	vblk_req_issue(req);
}

static void vblk_dwz_start(struct vblk_queue *q, struct vblk_req *req)
{
	struct virtio_blk_discard_write_zeroes raw[VBLK_MAX_SEGS];
	bool discard = req->type == VIRTIO_BLK_T_DISCARD;
	unsigned int max = discard ? VBLK_MAX_DISCARD_SEG : VBLK_MAX_WZ_SEG;
	struct vq_chain *c = &req->chain;
	uint32_t len = c->out_len - VBLK_HDR_LEN;
	unsigned int i, n = len / sizeof(raw[0]);
	uint8_t st;

	/* Rejects a command the driver did not negotiate. */
	if (!vdev_has(&q->blk->vdev, discard ? VIRTIO_BLK_F_DISCARD :
					       VIRTIO_BLK_F_WRITE_ZEROES)) {
		vblk_req_bad(req, VIRTIO_BLK_S_UNSUPP, "type %u not negotiated",
			     req->type);
		return;
	}
	/* Rejects writable data, and a segment list empty or ragged. */
	if (c->in_len != 1 || !len || len % sizeof(raw[0])) {
		vblk_req_bad(req, VIRTIO_BLK_S_IOERR,
			     "type %u with %u/%u bytes", req->type, c->out_len,
			     c->in_len);
		return;
	}
	/* Rejects more segments than max_discard_seg / max_write_zeroes_seg. */
	if (n > max) {
		vblk_req_bad(req, VIRTIO_BLK_S_UNSUPP,
			     "type %u with %u segments", req->type, n);
		return;
	}
	iov_to_buf(c->iov, c->nr_out, VBLK_HDR_LEN, raw, len); /* one copy */
	for (i = 0; i < n; i++) {
		st = vblk_seg_check(q->blk, discard, &raw[i], &req->segs[i]);
		if (st) {
			vblk_req_bad(req, st, "type %u segment %u bad",
				     req->type, i);
			return;
		}
	}
	req->nr_seg = n;
	req->seg = 0;
	vblk_epoch_join(q, req);
	vblk_dwz_next(req);
}

static void vblk_falloc_done(struct vblk_req *req, int res)
{
	struct vblk_store *st = &req->q->blk->store;

	if (res == -EOPNOTSUPP) {
		if (req->type == VIRTIO_BLK_T_DISCARD || !req->fmode) {
			/* Advisory: not deallocated, or not re-allocated. */
			res = 0;
		} else if (req->fmode == PUNCH && st->bdev) {
			/* Cannot zero by unmapping: write zeroes instead. */
			req->fmode = ZERO_RANGE;
			vblk_req_issue(req);
			return;
		} else if (req->fmode == ZERO_RANGE && !st->bdev) {
			WRITE_ONCE(st->no_zero_range, true);
			req->fmode = PUNCH;
			req->realloc = true;
			vblk_req_issue(req);
			return;
		} else {
			vblk_req_complete(req, VIRTIO_BLK_S_UNSUPP);
			return;
		}
	}
	if (res < 0) {
		vblk_store_error(req, "fallocate", res);
		return;
	}
	if (req->realloc) {
		/* Write-zeroes without UNMAP keeps the range allocated. */
		req->realloc = false;
		req->fmode = 0;
		vblk_req_issue(req);
		return;
	}
	req->seg++;
	vblk_dwz_next(req);
}

/* ---- the request's life ---- */

static void vblk_req_start(struct vblk_queue *q, struct vblk_req *req)
{
	struct vq_chain *c = &req->chain;
	struct virtio_blk_outhdr hdr;
	const struct iovec *last;

	req->gen = q->gen;
	req->active = true;
	req->busy = req->cancelled = false;
	req->is_write = req->realloc = false;
	req->stage = VBLK_ST_NONE;
	req->written = 0;
	req->retries = 0;
	q->nr_active++;

	/* Rejects a chain with no writable byte for the status. */
	if (!c->in_len) {
		vdev_fail(&q->blk->vdev, "vq%u: request without a status byte",
			  q->vq->index);
		vblk_req_abandon(req);
		return;
	}
	/* Rejects a header shorter than struct virtio_blk_outhdr. */
	if (iov_to_buf(c->iov, c->nr_out, 0, &hdr, sizeof(hdr)) !=
	    sizeof(hdr)) {
		vdev_fail(&q->blk->vdev, "vq%u: request header of %u bytes",
			  q->vq->index, c->out_len);
		vblk_req_abandon(req);
		return;
	}
	last = &c->iov[c->nr_out + c->nr_in - 1];
	req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	req->type = le32toh(hdr.type);

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		vblk_rw_start(q, req, le64toh(hdr.sector));
		return;
	case VIRTIO_BLK_T_FLUSH:
		vblk_flush_start(q, req);
		return;
	case VIRTIO_BLK_T_GET_ID:
		vblk_get_id(q, req);
		return;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		vblk_dwz_start(q, req);
		return;
	default:
		vblk_req_bad(req, VIRTIO_BLK_S_UNSUPP,
			     "unknown request type 0x%x", req->type);
		return;
	}
}

static void vblk_req_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vblk_req *req = container_of(op, struct vblk_req, op);
	struct vblk_queue *q = req->q;

	req->busy = false;
	q->nr_ops--;
	if (req->gen != q->gen) {
		vblk_req_drop(req); /* reset meanwhile: the ring is not ours */
	} else if ((res == -EAGAIN || res == -EINTR) &&
		   req->retries++ < VBLK_MAX_RETRY) {
		vblk_req_issue(req);
	} else if (req->stage == VBLK_ST_SYNC) {
		vblk_sync_done(req, res);
	} else if (req->stage == VBLK_ST_FALLOC) {
		vblk_falloc_done(req, res);
	} else {
		vblk_rw_done(req, res);
	}
	if (q->run.stopping)
		return;
	vblk_backlog_run(q);
	if (q->run.resume)
		vqrun_tick(&q->run);
}

/*
 * vqrun: pops a chain into a free request and starts it; -ENOSPC with the
 * pool dry or requests waiting for an SQE (later ones queue behind them).
 */
static int vblk_run_pop(struct vqrun *r)
{
	struct vblk_queue *q = container_of(r, struct vblk_queue, run);
	struct vblk_req *req;
	int rc;

	if (q->backlog)
		return -ENOSPC;
	req = vblk_req_get(q);
	if (!req)
		return -ENOSPC;
	rc = vq_pop(q->vq, &req->chain);
	if (rc <= 0) {
		vblk_req_put(q, req);
		return rc;
	}
	vblk_req_start(q, req);
	return 1;
}

/* Requests in flight: their completions look at the ring, kicks stay off. */
static bool vblk_run_busy(struct vqrun *r)
{
	return container_of(r, struct vblk_queue, run)->nr_active != 0;
}

void vblk_queue_kick(struct vblk_queue *q)
{
	vqrun_kick(&q->run);
}

/* ---- reset ---- */

/* vqrun: asks the kernel to cancel every request with an SQE in flight. */
static void vblk_run_cancel(struct vqrun *r)
{
	struct vblk_queue *q = container_of(r, struct vblk_queue, run);
	unsigned int i;

	for (i = 0; i < q->nr_reqs; i++) {
		struct vblk_req *req = &q->pool[i];

		if (req->busy && !req->cancelled)
			req->cancelled = !evl_cancel(q->loop, &req->op);
	}
}

static const struct vqrun_ops vblk_run_ops = {
	.pop = vblk_run_pop,
	.retry = vblk_run_retry,
	.busy = vblk_run_busy,
	.cancel = vblk_run_cancel,
};

int vblk_queue_stop(struct vblk_queue *q)
{
	unsigned int i;
	int rc = 0;

	if (!q->pool)
		return 0;
	q->run.stopping = true;
	q->gen++; /* from here on, every completion is stale */
	/* Waiting requests hold no I/O: release them now. */
	q->backlog = q->backlog_tail = NULL;
	q->flush_wait = q->flush_wait_tail = NULL;
	for (i = 0; i < q->nr_reqs; i++) {
		struct vblk_req *req = &q->pool[i];

		if (req->active && !req->busy)
			vblk_req_drop(req);
	}
	/* The rest: cancel, then reap until the kernel holds no buffer. */
	rc = vqrun_stop(&q->run, &q->nr_ops);
	q->ep_cur = q->ep_head = 0;
	memset(q->ep_cnt, 0, q->nr_ep * sizeof(*q->ep_cnt));
	vqrun_reset(&q->run);
	q->run.stopping = false;
	return rc;
}
