// SPDX-License-Identifier: MIT
/* The test rig behind vrig.h. */
#include <errno.h>
#include <string.h>

#include "vrig.h"

int vrig_init(struct vrig *r, const struct vrig_opts *o)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if (o)
		r->o = *o;
	if (!r->o.ram)
		r->o.ram = 16u << 20;
	if (!r->o.features)
		r->o.features = VRIG_ALL_FEATURES;
	if (!r->o.nr_vqs)
		r->o.nr_vqs = TESTDEV_NR_VQS;
	if (!r->o.num)
		r->o.num = 16;
	if (!r->o.data_size)
		r->o.data_size = VRIG_DATA_SIZE;
	r->fg = fg_new(r->o.ram);
	if (!r->fg) {
		r->why = "fg_new failed";
		return -ENOMEM;
	}
	fg_set_clamp(r->fg, r->o.clamp);
	fg_set_guard(r->fg, r->o.guard);
	rc = testdev_init(&r->td, r->fg, r->o.mode);
	if (rc) {
		r->why = "testdev_init failed";
		fg_free(r->fg);
		r->fg = NULL;
		return rc;
	}
	gdrv_init(&r->drv, &r->td.vdev, r->fg);
	return 0;
}

int vrig_up(struct vrig *r)
{
	int rc;

	if (!r->fresh)
		fg_alloc_reset(r->fg);
	rc = gdrv_up(&r->drv, r->o.features, r->o.nr_vqs, r->o.num);
	if (rc) {
		r->why = r->drv.why;
		return rc;
	}
	r->data = fg_alloc(r->fg, r->o.data_size, FG_PAGE_SIZE);
	if (!r->data) {
		r->why = "no guest RAM for the data area";
		return -ENOMEM;
	}
	r->baseline = fg_live(r->fg);
	return 0;
}

int vrig_start(struct vrig *r, const struct vrig_opts *o)
{
	int rc = vrig_init(r, o);

	return rc ? rc : vrig_up(r);
}

bool vrig_needs_reset(struct vrig *r)
{
	return gdrv_r32(&r->drv, VIRTIO_MMIO_STATUS) &
	       VIRTIO_CONFIG_S_NEEDS_RESET;
}

static int vrig_canary_one(struct vrig *r, unsigned int q, unsigned int flags,
			   uint32_t seed)
{
	/* Both buffers straddle a page edge: a 4 KiB clamp splits them. */
	const uint64_t out = r->data + FG_PAGE_SIZE - 100;
	const uint64_t in = r->data + 3 * FG_PAGE_SIZE - 50;
	const uint32_t len = 600;
	long got;

	fg_fill(r->fg, out, len, seed);
	memset(fg_ptr(r->fg, in, len), 0, len);
	got = gdrv_xfer(&r->drv, q, out, len, in, len, flags);
	if (got < 0) {
		r->why = r->drv.why;
		return (int)got;
	}
	if (got != len) {
		r->why = "canary: wrong used length";
		return -EIO;
	}
	if (!fg_check(r->fg, in, len, seed)) {
		r->why = "canary: data not echoed";
		return -EIO;
	}
	gdrv_ack_irq(&r->drv);
	return 0;
}

int vrig_canary(struct vrig *r, unsigned int q)
{
	enum testdev_mode mode = r->td.mode;
	size_t live = fg_live(r->fg);
	int rc;

	/* The canary needs a device that answers by itself. */
	r->td.mode = TESTDEV_ECHO;
	rc = vrig_canary_one(r, q, 0, 0xca7a + q);
	if (!rc && (r->drv.features & VRIG_F(VIRTIO_RING_F_INDIRECT_DESC)))
		rc = vrig_canary_one(r, q, GDRV_INDIRECT, 0x1d1 + q);
	r->td.mode = mode;
	if (!rc && fg_live(r->fg) != live) {
		r->why = "canary: mappings left behind";
		rc = -EBUSY;
	}
	return rc;
}

int vrig_recover(struct vrig *r)
{
	int rc;

	if (gdrv_reset(&r->drv)) {
		r->why = "Status does not read 0 after reset";
		return -EIO;
	}
	if (fg_live(r->fg)) {
		r->why = "mappings left after reset";
		return -EBUSY;
	}
	rc = vrig_up(r);
	if (rc)
		return rc;
	for (unsigned int q = 0; q < r->o.nr_vqs; q++) {
		rc = vrig_canary(r, q);
		if (rc)
			return rc;
	}
	return 0;
}

int vrig_fini(struct vrig *r)
{
	int rc = 0;

	if (!r->fg)
		return 0;
	gdrv_fini(&r->drv);
	testdev_destroy(&r->td);
	if (fg_live(r->fg)) {
		r->why = "mappings left after vdev_destroy";
		rc = -1;
	} else if (!fg_ok(r->fg)) {
		r->why = "unmap of a range never mapped, or map limit hit";
		rc = -1;
	} else if (testdev_violations(&r->td)) {
		r->why = "the transport breached the device contract";
		rc = -1;
	} else if (r->drv.errors) {
		r->why = "the device wrote bogus used elements";
		rc = -1;
	}
	fg_free(r->fg);
	r->fg = NULL;
	return rc;
}

void vrig_cleanup(struct vrig *r)
{
	vrig_fini(r);
}
