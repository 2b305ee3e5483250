// SPDX-License-Identifier: MIT
/*
 * The test device model behind testdev.h: an echo device that honours the
 * vdev_ops contract (reset releases every popped chain) and counts every
 * call the transport makes, and every contract breach it notices.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_config.h>

#include "testdev.h"

static struct testdev *to_td(struct vdev *vdev)
{
	return container_of(vdev, struct testdev, vdev);
}

static bool cfg_range_ok(struct testdev *td, unsigned int off, unsigned int len)
{
	if (off > TESTDEV_CFG_SIZE || len > TESTDEV_CFG_SIZE - off) {
		td->cfg_oob++;
		return false;
	}
	return true;
}

static void td_cfg_read(struct vdev *vdev, unsigned int off, void *buf,
			unsigned int len)
{
	struct testdev *td = to_td(vdev);

	td->cfg_reads++;
	if (!cfg_range_ok(td, off, len)) {
		memset(buf, 0, len);
		return;
	}
	memcpy(buf, td->cfg + off, len);
}

static int td_cfg_write(struct vdev *vdev, unsigned int off, const void *buf,
			unsigned int len)
{
	struct testdev *td = to_td(vdev);

	td->cfg_writes++;
	if (!cfg_range_ok(td, off, len))
		return -EPERM;
	/* Only [TESTDEV_CFG_RW, TESTDEV_CFG_ID) is writable. */
	if (off < TESTDEV_CFG_RW || off + len > TESTDEV_CFG_ID) {
		td->cfg_eperm++;
		return -EPERM;
	}
	memcpy(td->cfg + off, buf, len);
	return 0;
}

static int td_features_ok(struct vdev *vdev, uint64_t features)
{
	struct testdev *td = to_td(vdev);

	td->nr_features_ok++;
	td->last_features = features;
	if ((features & (1ULL << TESTDEV_F_B)) &&
	    !(features & (1ULL << TESTDEV_F_A)))
		return -EINVAL;
	return 0;
}

static int td_start(struct vdev *vdev)
{
	struct testdev *td = to_td(vdev);

	td->nr_start++;
	return td->start_rc;
}

const char *testdev_chain_check(const struct fakeguest *fg,
				const struct vq_chain *c, uint16_t num)
{
	uint64_t sum[2] = { 0, 0 };
	unsigned int n = (unsigned int)c->nr_out + c->nr_in;

	if (c->head >= num)
		return "head >= queue size";
	if (n > VQ_MAX_IOV)
		return "more than VQ_MAX_IOV iovecs";
	for (unsigned int i = 0; i < n; i++) {
		const struct iovec *v = &c->iov[i];
		uint64_t gpa = fg_hva_to_gpa(fg, v->iov_base);

		if (!v->iov_len)
			return "empty iovec";
		if (!gpa)
			return "iovec outside the guest's host views";
		if (v->iov_len > fg->base + fg->size - gpa)
			return "iovec runs past the end of RAM";
		if (fg->hole_len && gpa < fg->hole_start + fg->hole_len &&
		    fg->hole_start < gpa + v->iov_len)
			return "iovec overlaps the hole";
		if (fg->clamp &&
		    (gpa & (FG_PAGE_SIZE - 1)) + v->iov_len > FG_PAGE_SIZE)
			return "iovec crosses a clamped map edge";
		if (i < c->nr_out && !fg_hva_readonly(fg, v->iov_base))
			return "readable buffer mapped writable";
		if (i >= c->nr_out && fg_hva_readonly(fg, v->iov_base))
			return "writable buffer mapped read-only";
		sum[i >= c->nr_out] += v->iov_len;
	}
	if (sum[0] != c->out_len || sum[1] != c->in_len)
		return "out_len/in_len do not match the iovecs";
	return NULL;
}

uint32_t testdev_echo(struct vq_chain *c)
{
	const struct iovec *src = c->iov, *dst = vq_chain_in(c);
	unsigned int si = 0, di = 0;
	size_t so = 0, dof = 0;
	uint32_t done = 0;

	while (si < c->nr_out && di < c->nr_in) {
		size_t n = src[si].iov_len - so;

		if (dst[di].iov_len - dof < n)
			n = dst[di].iov_len - dof;
		memcpy((char *)dst[di].iov_base + dof,
		       (const char *)src[si].iov_base + so, n);
		done += n;
		so += n;
		dof += n;
		if (so == src[si].iov_len) {
			si++;
			so = 0;
		}
		if (dof == dst[di].iov_len) {
			di++;
			dof = 0;
		}
	}
	return done;
}

/* Validates a freshly popped chain; false if it must not be touched. */
static bool td_chain_ok(struct testdev *td, struct vq *vq,
			const struct vq_chain *c)
{
	struct testdev_queue *tq = &td->q[vq->index];
	const char *why = testdev_chain_check(td->fg, c, vq->num);

	if (!why)
		return true;
	tq->bad_chains++;
	tq->bad_chain_why = why;
	return false;
}

static int td_pop_hold(struct testdev *td, struct vq *vq)
{
	struct testdev_queue *tq = &td->q[vq->index];
	struct vq_chain *c;
	uint16_t slot = 0;
	int rc;

	/* Slots (1 MiB a queue) only for models that hold chains. */
	if (!tq->slots)
		tq->slots = calloc(TESTDEV_QUEUE_MAX, sizeof(*tq->slots));
	if (tq->nr_free && tq->slots) {
		slot = tq->free_slots[tq->nr_free - 1];
		c = &tq->slots[slot];
	} else {
		c = td->scratch; /* no room: more heads than entries */
	}
	rc = vq_pop(vq, c);
	if (rc != 1)
		return rc;
	tq->popped++;
	if (c == td->scratch) {
		tq->overflow++;
		vq_chain_release(vq, c);
		tq->released++;
		return rc;
	}
	td_chain_ok(td, vq, c);
	tq->nr_free--;
	tq->order[tq->nr_held++] = slot;
	return rc;
}

static int td_pop_echo(struct testdev *td, struct vq *vq)
{
	struct testdev_queue *tq = &td->q[vq->index];
	struct vq_chain *c = td->scratch;
	int rc;

	rc = vq_pop(vq, c);
	if (rc != 1)
		return rc;
	tq->popped++;
	if (!td_chain_ok(td, vq, c)) {
		vq_push(vq, c, 0); /* never write a suspect buffer */
		tq->pushed++;
		return rc;
	}
	vq_push(vq, c, testdev_echo(c));
	tq->pushed++;
	return rc;
}

static void td_count_rc(struct testdev_queue *tq, int rc)
{
	if (rc == -EPROTO)
		tq->eproto++;
	else if (rc == -EIO)
		tq->eio++;
}

static void td_kick(struct vdev *vdev, struct vq *vq)
{
	struct testdev *td = to_td(vdev);
	struct testdev_queue *tq = &td->q[vq->index];
	unsigned int budget = td->budget;
	int rc = 0;

	tq->kicks++;
	if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) || !vq->ready)
		tq->bad_kicks++;
	if (td->mode == TESTDEV_MANUAL)
		return;
	for (;;) {
		vq_kick_disable(vq);
		while (budget) {
			rc = td->mode == TESTDEV_ECHO ? td_pop_echo(td, vq) :
							td_pop_hold(td, vq);
			if (rc != 1)
				break;
			budget--;
		}
		if (rc < 0 || !budget)
			break;
		if (!vq_kick_enable(vq))
			break;
	}
	td_count_rc(tq, rc);
	if (!budget)
		tq->budget_hit++;
	if (td->mode == TESTDEV_ECHO)
		vq_flush(vq);
}

static void td_release_all(struct testdev *td, unsigned int q)
{
	struct testdev_queue *tq = &td->q[q];

	while (tq->nr_held) {
		uint16_t slot = tq->order[--tq->nr_held];

		vq_chain_release(&td->vdev.vqs[q], &tq->slots[slot]);
		tq->released++;
		tq->free_slots[tq->nr_free++] = slot;
	}
}

static void td_reset(struct vdev *vdev)
{
	struct testdev *td = to_td(vdev);

	td->nr_reset++;
	for (unsigned int q = 0; q < TESTDEV_NR_VQS; q++)
		td_release_all(td, q);
}

static const struct vdev_ops testdev_ops = {
	.name = "testdev",
	.device_id = TESTDEV_ID,
	.cfg_read = td_cfg_read,
	.cfg_write = td_cfg_write,
	.features_ok = td_features_ok,
	.start = td_start,
	.kick = td_kick,
	.reset = td_reset,
};

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int testdev_init(struct testdev *td, struct fakeguest *fg,
		 enum testdev_mode mode)
{
	int rc;

	memset(td, 0, sizeof(*td));
	td->fg = fg;
	td->mode = mode;
	td->budget = 4 * TESTDEV_QUEUE_MAX + 8;
	put_le(td->cfg + TESTDEV_CFG_CAP, TESTDEV_CAP_VALUE, 8);
	put_le(td->cfg + TESTDEV_CFG_ID, TESTDEV_ID_VALUE, 4);
	put_le(td->cfg + TESTDEV_CFG_TAIL, TESTDEV_TAIL_VALUE, 4);
	td->scratch = malloc(sizeof(*td->scratch));
	if (!td->scratch)
		return -ENOMEM;
	for (unsigned int q = 0; q < TESTDEV_NR_VQS; q++) {
		struct testdev_queue *tq = &td->q[q];

		for (unsigned int i = 0; i < TESTDEV_QUEUE_MAX; i++)
			tq->free_slots[i] = TESTDEV_QUEUE_MAX - 1 - i;
		tq->nr_free = TESTDEV_QUEUE_MAX;
	}
	rc = vdev_init(&td->vdev, &testdev_ops, &fg->gmem, TESTDEV_NR_VQS,
		       TESTDEV_QUEUE_MAX, TESTDEV_CFG_SIZE, TESTDEV_FEATURES);
	if (rc)
		goto err_free;
	return 0;

err_free:
	free(td->scratch);
	memset(td, 0, sizeof(*td));
	return rc;
}

void testdev_destroy(struct testdev *td)
{
	if (td->vdev.ops)
		vdev_destroy(&td->vdev);
	for (unsigned int q = 0; q < TESTDEV_NR_VQS; q++) {
		free(td->q[q].slots);
		td->q[q].slots = NULL;
	}
	free(td->scratch);
	td->scratch = NULL;
}

struct vq_chain *testdev_held(struct testdev *td, unsigned int q,
			      unsigned int k)
{
	struct testdev_queue *tq = &td->q[q];

	if (k >= tq->nr_held)
		return NULL;
	return &tq->slots[tq->order[k]];
}

int testdev_complete(struct testdev *td, unsigned int q, unsigned int k)
{
	struct testdev_queue *tq = &td->q[q];
	struct vq *vq = &td->vdev.vqs[q];
	struct vq_chain *c;
	uint16_t slot;
	int head;

	if (k >= tq->nr_held)
		return -ENOENT;
	slot = tq->order[k];
	c = &tq->slots[slot];
	head = c->head;
	/* A chain that failed its check is completed without writing. */
	vq_push(vq, c,
		testdev_chain_check(td->fg, c, vq->num) ? 0 : testdev_echo(c));
	tq->pushed++;
	memmove(&tq->order[k], &tq->order[k + 1],
		(tq->nr_held - k - 1) * sizeof(tq->order[0]));
	tq->nr_held--;
	tq->free_slots[tq->nr_free++] = slot;
	return head;
}

void testdev_complete_all(struct testdev *td, unsigned int q)
{
	while (td->q[q].nr_held)
		testdev_complete(td, q, 0);
	vq_flush(&td->vdev.vqs[q]);
}

int testdev_pop(struct testdev *td, unsigned int q)
{
	int rc = td_pop_hold(td, &td->vdev.vqs[q]);

	td_count_rc(&td->q[q], rc);
	return rc;
}

uint64_t testdev_violations(const struct testdev *td)
{
	uint64_t n = td->cfg_oob;

	for (unsigned int q = 0; q < TESTDEV_NR_VQS; q++)
		n += td->q[q].bad_kicks + td->q[q].overflow +
		     td->q[q].bad_chains;
	return n;
}
