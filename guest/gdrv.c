// SPDX-License-Identifier: MIT
/*
 * The guest's driver: a guest's view of a virtio-mmio device, written the way
 * a Linux guest drives one, so tests exercise the device like a real guest.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "gdrv.h"
#include "virtio/vmmio.h"

static void gdrv_irq(struct vdev *vdev, void *opaque)
{
	struct gdrv *d = opaque;

	__atomic_fetch_add(&d->nr_irqs, 1, __ATOMIC_RELAXED);
}

void gdrv_init(struct gdrv *d, struct vdev *vdev, struct fakeguest *fg)
{
	memset(d, 0, sizeof(*d));
	d->vdev = vdev;
	d->fg = fg;
	vdev_set_irq(vdev, gdrv_irq, d);
}

/* The address the device sees for @gpa (rings, tables, buffers). */
static uint64_t gdrv_dma(const struct gdrv *d, uint64_t gpa)
{
	return d->bus && d->bus->dma ? d->bus->dma(d->bus->opaque, gpa) : gpa;
}

void gdrv_init_bus(struct gdrv *d, const struct gdrv_bus *bus,
		   struct fakeguest *fg)
{
	memset(d, 0, sizeof(*d));
	d->bus = bus;
	d->fg = fg;
}

static void gdrv_vq_forget(struct gdrv_vq *v)
{
	free(v->free_stack);
	free(v->link);
	free(v->ndesc);
	memset(v, 0, sizeof(*v));
}

void gdrv_fini(struct gdrv *d)
{
	for (unsigned int q = 0; q < GDRV_MAX_VQS; q++)
		gdrv_vq_forget(&d->vqs[q]);
}

uint64_t gdrv_read(struct gdrv *d, uint64_t off, unsigned int size)
{
	if (d->bus)
		return d->bus->read(d->bus->opaque, off, size);
	return vmmio_read(d->vdev, off, size);
}

void gdrv_write(struct gdrv *d, uint64_t off, unsigned int size, uint64_t val)
{
	int q;

	if (off == VIRTIO_MMIO_QUEUE_NOTIFY)
		d->nr_notifies++;
	if (d->bus) {
		d->bus->write(d->bus->opaque, off, size, val);
		return;
	}
	q = vmmio_write(d->vdev, off, size, val);
	/* As the backend does: answer the vCPU, then deliver the kick. */
	if (q >= 0)
		vdev_kick(d->vdev, q);
}

uint32_t gdrv_r32(struct gdrv *d, uint32_t off)
{
	return (uint32_t)gdrv_read(d, off, 4);
}

void gdrv_w32(struct gdrv *d, uint32_t off, uint32_t val)
{
	gdrv_write(d, off, 4, val);
}

int gdrv_probe(struct gdrv *d)
{
	if (gdrv_r32(d, VIRTIO_MMIO_MAGIC_VALUE) != VMMIO_MAGIC) {
		d->why = "bad magic";
		return -ENODEV;
	}
	if (gdrv_r32(d, VIRTIO_MMIO_VERSION) != 2) {
		d->why = "not version 2";
		return -ENODEV;
	}
	if (!gdrv_r32(d, VIRTIO_MMIO_DEVICE_ID)) {
		d->why = "device id 0";
		return -ENODEV;
	}
	return 0;
}

uint32_t gdrv_reset(struct gdrv *d)
{
	gdrv_w32(d, VIRTIO_MMIO_STATUS, 0);
	gdrv_fini(d);
	d->features = 0;
	return gdrv_r32(d, VIRTIO_MMIO_STATUS);
}

uint32_t gdrv_add_status(struct gdrv *d, uint32_t bits)
{
	uint32_t s = gdrv_r32(d, VIRTIO_MMIO_STATUS);

	gdrv_w32(d, VIRTIO_MMIO_STATUS, s | bits);
	return gdrv_r32(d, VIRTIO_MMIO_STATUS);
}

uint64_t gdrv_device_features(struct gdrv *d)
{
	uint64_t f;

	gdrv_w32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)gdrv_r32(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	gdrv_w32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f |= gdrv_r32(d, VIRTIO_MMIO_DEVICE_FEATURES);
	return f;
}

void gdrv_write_features(struct gdrv *d, uint64_t features)
{
	gdrv_w32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	gdrv_w32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	gdrv_w32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	gdrv_w32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
}

int gdrv_negotiate(struct gdrv *d, uint64_t want)
{
	uint64_t f;

	if (gdrv_reset(d)) {
		d->why = "status does not read 0 after reset";
		return -EIO;
	}
	gdrv_add_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	gdrv_add_status(d, VIRTIO_CONFIG_S_DRIVER);
	f = gdrv_device_features(d) & want;
	gdrv_write_features(d, f);
	if (!(gdrv_add_status(d, VIRTIO_CONFIG_S_FEATURES_OK) &
	      VIRTIO_CONFIG_S_FEATURES_OK)) {
		d->why = "FEATURES_OK not latched";
		return -EIO;
	}
	d->features = f;
	return 0;
}

static bool gdrv_has(const struct gdrv *d, unsigned int bit)
{
	return d->features & (1ULL << bit);
}

static void gdrv_w64(struct gdrv *d, uint32_t lo_off, uint64_t val)
{
	gdrv_w32(d, lo_off, (uint32_t)val);
	gdrv_w32(d, lo_off + 4, (uint32_t)(val >> 32));
}

uint32_t gdrv_setup_vq_at(struct gdrv *d, unsigned int q, uint16_t num,
			  uint64_t desc, uint64_t avail, uint64_t used,
			  bool ready)
{
	gdrv_w32(d, VIRTIO_MMIO_QUEUE_SEL, q);
	gdrv_w32(d, VIRTIO_MMIO_QUEUE_NUM, num);
	gdrv_w64(d, VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	gdrv_w64(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, avail);
	gdrv_w64(d, VIRTIO_MMIO_QUEUE_USED_LOW, used);
	if (ready)
		gdrv_w32(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return gdrv_r32(d, VIRTIO_MMIO_QUEUE_READY);
}

static size_t page_round(size_t n)
{
	return (n + FG_PAGE_SIZE - 1) & ~(size_t)(FG_PAGE_SIZE - 1);
}

int gdrv_setup_vq(struct gdrv *d, unsigned int q, uint16_t num)
{
	struct gdrv_vq *v = &d->vqs[q];
	struct fakeguest *fg = d->fg;

	if (q >= GDRV_MAX_VQS || !num || (num & (num - 1))) {
		d->why = "bad queue index or size";
		return -EINVAL;
	}
	gdrv_w32(d, VIRTIO_MMIO_QUEUE_SEL, q);
	if (gdrv_r32(d, VIRTIO_MMIO_QUEUE_READY)) {
		d->why = "queue already ready";
		return -EBUSY;
	}
	if (gdrv_r32(d, VIRTIO_MMIO_QUEUE_NUM_MAX) < num) {
		d->why = "QueueNumMax too small";
		return -EINVAL;
	}
	gdrv_vq_forget(v);
	/* Each ring on pages of its own: a 4 KiB clamp never splits one. */
	v->desc_gpa = fg_alloc(fg, page_round(16u * num), FG_PAGE_SIZE);
	v->avail_gpa = fg_alloc(fg, page_round(6u + 2u * num), FG_PAGE_SIZE);
	v->used_gpa = fg_alloc(fg, page_round(6u + 8u * num), FG_PAGE_SIZE);
	v->ind_gpa = fg_alloc(fg, (size_t)num * num * 16u, FG_PAGE_SIZE);
	v->free_stack = calloc(num, sizeof(uint16_t));
	v->link = calloc(num, sizeof(uint16_t));
	v->ndesc = calloc(num, sizeof(uint16_t));
	if (!v->desc_gpa || !v->avail_gpa || !v->used_gpa || !v->ind_gpa ||
	    !v->free_stack || !v->link || !v->ndesc) {
		gdrv_vq_forget(v);
		d->why = "out of guest RAM or memory";
		return -ENOMEM;
	}
	v->desc = fg_ptr(fg, v->desc_gpa, 16u * num);
	v->avail = fg_ptr(fg, v->avail_gpa, 6u + 2u * num);
	v->used = fg_ptr(fg, v->used_gpa, 6u + 8u * num);
	v->used_event = &v->avail->ring[num];
	v->avail_event = (uint16_t *)&v->used->ring[num];
	v->num = num;
	for (unsigned int i = 0; i < num; i++)
		v->free_stack[i] = num - 1 - i; /* hand out 0 first */
	v->num_free = num;

	if (gdrv_setup_vq_at(d, q, num, gdrv_dma(d, v->desc_gpa),
			     gdrv_dma(d, v->avail_gpa),
			     gdrv_dma(d, v->used_gpa), true) != 1) {
		gdrv_vq_forget(v);
		d->why = "QueueReady does not read back 1";
		return -EINVAL;
	}
	return 0;
}

int gdrv_driver_ok(struct gdrv *d)
{
	uint32_t s = gdrv_add_status(d, VIRTIO_CONFIG_S_DRIVER_OK);

	if ((s & VIRTIO_CONFIG_S_NEEDS_RESET) ||
	    !(s & VIRTIO_CONFIG_S_DRIVER_OK)) {
		d->why = "DRIVER_OK did not stick";
		return -EIO;
	}
	return 0;
}

int gdrv_up(struct gdrv *d, uint64_t want, unsigned int nr_vqs, uint16_t num)
{
	int rc;

	rc = gdrv_probe(d);
	if (rc)
		return rc;
	rc = gdrv_negotiate(d, want);
	if (rc)
		return rc;
	for (unsigned int q = 0; q < nr_vqs; q++) {
		rc = gdrv_setup_vq(d, q, num);
		if (rc)
			return rc;
	}
	return gdrv_driver_ok(d);
}

static void gdrv_put_desc(struct vring_desc *t, uint16_t i, uint64_t addr,
			  uint32_t len, uint16_t flags, uint16_t next)
{
	t[i].addr = htole64(addr);
	t[i].len = htole32(len);
	t[i].flags = htole16(flags);
	t[i].next = htole16(next);
}

/* Fills @t[0..n) as one chain; direct chains use the indices in @idx. */
static void gdrv_fill_chain(const struct gdrv *d, struct vring_desc *t,
			    const uint16_t *idx, const struct gdrv_buf *bufs,
			    unsigned int n)
{
	for (unsigned int k = 0; k < n; k++) {
		uint16_t flags = bufs[k].write ? VRING_DESC_F_WRITE : 0;
		uint16_t next = 0;

		if (k + 1 < n) {
			flags |= VRING_DESC_F_NEXT;
			next = idx ? idx[k + 1] : k + 1;
		}
		gdrv_put_desc(t, idx ? idx[k] : k, gdrv_dma(d, bufs[k].gpa),
			      bufs[k].len, flags, next);
	}
}

int gdrv_add(struct gdrv *d, unsigned int q, const struct gdrv_buf *bufs,
	     unsigned int n, unsigned int flags)
{
	struct gdrv_vq *v = &d->vqs[q];
	uint16_t idx[256], head;
	unsigned int ndesc = (flags & GDRV_INDIRECT) ? 1 : n;

	if (!v->num || !n || ndesc > v->num_free || n > v->num)
		return -ENOSPC;
	for (unsigned int k = 0; k < ndesc; k++)
		idx[k] = v->free_stack[--v->num_free];
	for (unsigned int k = 0; k + 1 < ndesc; k++)
		v->link[idx[k]] = idx[k + 1];
	head = idx[0];
	v->ndesc[head] = ndesc;

	if (flags & GDRV_INDIRECT) {
		uint64_t table = v->ind_gpa + (uint64_t)head * v->num * 16u;

		gdrv_fill_chain(d, fg_ptr(d->fg, table, 16u * n), NULL, bufs,
				n);
		gdrv_put_desc(v->desc, head, gdrv_dma(d, table), 16u * n,
			      VRING_DESC_F_INDIRECT, 0);
	} else {
		gdrv_fill_chain(d, v->desc, idx, bufs, n);
	}
	v->avail->ring[v->avail_idx & (v->num - 1)] = htole16(head);
	smp_wmb(); /* descriptors and ring entry, then idx; pairs with vq_pop */
	v->avail_idx++;
	WRITE_ONCE(v->avail->idx, htole16(v->avail_idx));
	return head;
}

bool gdrv_kick_prepare(struct gdrv *d, unsigned int q)
{
	struct gdrv_vq *v = &d->vqs[q];
	uint16_t old = v->kicked_idx, new = v->avail_idx;

	smp_mb(); /* avail idx, then avail_event / flags; pairs with vq_kick_enable */
	v->kicked_idx = new;
	if (gdrv_has(d, VIRTIO_RING_F_EVENT_IDX))
		return vring_need_event(le16toh(READ_ONCE(*v->avail_event)),
					new, old);
	return !(le16toh(READ_ONCE(v->used->flags)) & VRING_USED_F_NO_NOTIFY);
}

void gdrv_notify(struct gdrv *d, unsigned int q)
{
	gdrv_w32(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

bool gdrv_kick(struct gdrv *d, unsigned int q)
{
	if (!gdrv_kick_prepare(d, q))
		return false;
	gdrv_notify(d, q);
	return true;
}

static void gdrv_free_chain(struct gdrv_vq *v, uint16_t head)
{
	uint16_t i = head;

	for (unsigned int k = v->ndesc[head]; k > 0; k--) {
		v->free_stack[v->num_free++] = i;
		i = v->link[i];
	}
	v->ndesc[head] = 0;
}

int gdrv_get_used(struct gdrv *d, unsigned int q, uint16_t *head, uint32_t *len)
{
	struct gdrv_vq *v = &d->vqs[q];
	uint16_t idx;
	uint32_t id;

	if (!v->num)
		return 0;
	idx = le16toh(READ_ONCE(v->used->idx));
	if (idx == v->last_used)
		return 0;
	if ((uint16_t)(idx - v->last_used) > v->num) {
		d->errors++;
		d->why = "used idx ran ahead of what was made available";
		return -EPROTO;
	}
	smp_rmb(); /* used idx, then the element; pairs with vq_flush */
	id = le32toh(v->used->ring[v->last_used & (v->num - 1)].id);
	*len = le32toh(v->used->ring[v->last_used & (v->num - 1)].len);
	if (id >= v->num || !v->ndesc[id]) {
		d->errors++;
		d->why = "used element for a head not in flight";
		return -EPROTO;
	}
	*head = id;
	gdrv_free_chain(v, id);
	v->last_used++;
	if (gdrv_has(d, VIRTIO_RING_F_EVENT_IDX) && !v->manual_used_event) {
		WRITE_ONCE(*v->used_event, htole16(v->last_used));
		smp_mb(); /* used_event, then re-read used idx */
	}
	return 1;
}

uint32_t gdrv_ack_irq(struct gdrv *d)
{
	uint32_t isr = gdrv_r32(d, VIRTIO_MMIO_INTERRUPT_STATUS);

	if (isr)
		gdrv_w32(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	return isr;
}

long gdrv_xfer(struct gdrv *d, unsigned int q, uint64_t out, uint32_t out_len,
	       uint64_t in, uint32_t in_len, unsigned int flags)
{
	struct gdrv_buf b[2];
	unsigned int n = 0;
	uint16_t head;
	uint32_t len;
	int rc, added;

	if (out_len)
		b[n++] = (struct gdrv_buf){ out, out_len, false };
	if (in_len)
		b[n++] = (struct gdrv_buf){ in, in_len, true };
	added = gdrv_add(d, q, b, n, flags);
	if (added < 0) {
		d->why = "no room in the ring";
		return added;
	}
	if (!gdrv_kick(d, q)) {
		d->why = "device suppressed the kick of an idle queue";
		return -EAGAIN;
	}
	rc = gdrv_get_used(d, q, &head, &len);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		d->why = "request not completed by the kick";
		return -ETIMEDOUT;
	}
	if (head != added) {
		d->why = "completed a different head";
		return -EPROTO;
	}
	return len;
}

void gdrv_raw_desc(struct gdrv *d, unsigned int q, uint16_t i, uint64_t addr,
		   uint32_t len, uint16_t flags, uint16_t next)
{
	gdrv_put_desc(d->vqs[q].desc, i, addr, len, flags, next);
}

void gdrv_raw_table(struct gdrv *d, uint64_t table_gpa, uint16_t i,
		    uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *t = fg_ptr(d->fg, table_gpa, 16u * (i + 1u));

	if (t)
		gdrv_put_desc(t, i, addr, len, flags, next);
}

void gdrv_raw_avail(struct gdrv *d, unsigned int q, uint16_t slot,
		    uint16_t head)
{
	struct gdrv_vq *v = &d->vqs[q];

	v->avail->ring[slot & (v->num - 1)] = htole16(head);
}

void gdrv_raw_avail_idx(struct gdrv *d, unsigned int q, uint16_t idx)
{
	struct gdrv_vq *v = &d->vqs[q];

	smp_wmb(); /* ring entries, then idx */
	v->avail_idx = idx;
	WRITE_ONCE(v->avail->idx, htole16(idx));
}

void gdrv_raw_publish(struct gdrv *d, unsigned int q, uint16_t head)
{
	struct gdrv_vq *v = &d->vqs[q];

	gdrv_raw_avail(d, q, v->avail_idx, head);
	gdrv_raw_avail_idx(d, q, v->avail_idx + 1);
}

int gdrv_raw_claim(struct gdrv *d, unsigned int q, uint16_t head)
{
	struct gdrv_vq *v = &d->vqs[q];

	if (head >= v->num || v->ndesc[head])
		return -EBUSY;
	for (unsigned int k = 0; k < v->num_free; k++) {
		if (v->free_stack[k] != head)
			continue;
		v->free_stack[k] = v->free_stack[--v->num_free];
		break;
	}
	v->ndesc[head] = 1;
	return 0;
}

uint16_t gdrv_used_idx(struct gdrv *d, unsigned int q)
{
	return le16toh(READ_ONCE(d->vqs[q].used->idx));
}
