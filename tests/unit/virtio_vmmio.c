// SPDX-License-Identifier: MIT
/*
 * virtio-mmio register file tests (virtio 1.2, 4.2.2): what every register
 * reads, which writes stick, access widths and alignment, selectors, the
 * config window, interrupt status and notify decoding.
 */
#include <errno.h>
#include <string.h>

#include "../lib/vt.h"
#include "virtio/vmmio.h"

#define R(off) gdrv_r32(&r.drv, (off))
#define W(off, v) gdrv_w32(&r.drv, (off), (v))
#define CFG(o) (VMMIO_CONFIG_OFF + (o))

static const struct vrig_opts not_up = { .nr_vqs = 2 };

/* A rig with the device created but not driven yet. */
#define T_RIG_NEW(r) T_RIG(r, vrig_init(r, &not_up))

static void magic_version_ids(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	T_EQ_U64(R(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	T_EQ(R(VIRTIO_MMIO_VERSION), 2);
	T_EQ(R(VIRTIO_MMIO_DEVICE_ID), TESTDEV_ID);
	T_EQ_U64(R(VIRTIO_MMIO_VENDOR_ID), VMMIO_VENDOR_ID);
	T_RIG_FINI(&r);
}

static void device_features_by_selector(void)
{
	const uint64_t want = TESTDEV_FEATURES | VDEV_TRANSPORT_FEATURES;
	RIG(r);

	T_RIG_NEW(&r);
	W(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	T_EQ_U64(R(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)want);
	W(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	T_EQ_U64(R(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)(want >> 32));
	T_ASSERT(R(VIRTIO_MMIO_DEVICE_FEATURES) & 1); /* VERSION_1 */
	/* Selectors past the 64 defined bits read 0. */
	W(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	T_EQ(R(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	W(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	T_EQ(R(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	T_EQ_U64(gdrv_device_features(&r.drv), want);
	T_RIG_FINI(&r);
}

static void unknown_offsets_read_0(void)
{
	/* Reserved and legacy-only (v1) registers of a version 2 device. */
	static const uint32_t off[] = {
		0x018, 0x01c, 0x028, 0x02c, 0x03c, 0x040, 0x048, 0x04c,
		0x054, 0x058, 0x05c, 0x068, 0x06c, 0x074, 0x078, 0x07c,
		0x088, 0x08c, 0x098, 0x09c, 0x0a8, 0x0c0, 0x0d0, 0x0f8,
	};
	RIG(r);

	T_RIG_NEW(&r);
	for (unsigned int i = 0; i < ARRAY_SIZE(off); i++) {
		W(off[i], 0x12345678);
		if (R(off[i]) != 0) {
			t_fail(__FILE__, __LINE__, "offset 0x%x reads 0x%x",
			       off[i], R(off[i]));
			return;
		}
	}
	T_EQ(R(VIRTIO_MMIO_STATUS), 0);
	T_RIG_FINI(&r);
}

static void legacy_queue_pfn_does_not_enable(void)
{
	RIG(r);
	uint64_t ring;

	T_RIG_NEW(&r);
	T_EQ(gdrv_negotiate(&r.drv, VRIG_ALL_FEATURES), 0);
	ring = fg_alloc(r.fg, 0x4000, 0x1000);
	W(VIRTIO_MMIO_QUEUE_SEL, 0);
	W(VIRTIO_MMIO_QUEUE_NUM, 16);
	W(VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096);
	W(VIRTIO_MMIO_QUEUE_ALIGN, 4096);
	W(VIRTIO_MMIO_QUEUE_PFN, (uint32_t)(ring >> 12));
	T_EQ(R(VIRTIO_MMIO_QUEUE_READY), 0);
	T_EQ(fg_live(r.fg), 0);
	T_RIG_FINI(&r);
}

static void shm_regions_absent(void)
{
	RIG(r);

	/* 4.2.2: a non-existent shared memory region has length -1. */
	T_RIG_NEW(&r);
	W(VIRTIO_MMIO_SHM_SEL, 0);
	T_EQ_U64(R(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	T_EQ_U64(R(VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	T_RIG_FINI(&r);
}

static void readonly_registers_ignore_writes(void)
{
	static const uint32_t ro[] = {
		VIRTIO_MMIO_MAGIC_VALUE,      VIRTIO_MMIO_VERSION,
		VIRTIO_MMIO_DEVICE_ID,	      VIRTIO_MMIO_VENDOR_ID,
		VIRTIO_MMIO_DEVICE_FEATURES,  VIRTIO_MMIO_QUEUE_NUM_MAX,
		VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_CONFIG_GENERATION,
	};
	static const uint32_t vals[] = { 0, 0xffffffff, 0x40, 1 };
	RIG(r);
	uint64_t features;

	T_RIG_NEW(&r);
	features = gdrv_device_features(&r.drv);
	for (unsigned int i = 0; i < ARRAY_SIZE(ro); i++) {
		uint32_t before = R(ro[i]);

		for (unsigned int k = 0; k < ARRAY_SIZE(vals); k++) {
			W(ro[i], vals[k]);
			if (R(ro[i]) != before) {
				t_fail(__FILE__, __LINE__,
				       "0x%x changed to 0x%x by a write", ro[i],
				       R(ro[i]));
				return;
			}
		}
	}
	T_EQ_U64(gdrv_device_features(&r.drv), features);
	T_EQ(r.drv.nr_irqs, 0);
	T_RIG_FINI(&r);
}

struct access {
	uint32_t off;
	unsigned int size;
};

/* Any width but 32 bits, or any misalignment, on a register reads 0. */
static const struct access bad_reg_reads[] = {
	{ VIRTIO_MMIO_MAGIC_VALUE, 1 },
	{ VIRTIO_MMIO_MAGIC_VALUE, 2 },
	{ VIRTIO_MMIO_MAGIC_VALUE, 8 },
	{ VIRTIO_MMIO_MAGIC_VALUE + 1, 1 },
	{ VIRTIO_MMIO_MAGIC_VALUE + 2, 2 },
	{ VIRTIO_MMIO_MAGIC_VALUE + 1, 4 },
	{ VIRTIO_MMIO_MAGIC_VALUE + 2, 4 },
	{ VIRTIO_MMIO_VERSION + 3, 1 },
	{ VIRTIO_MMIO_DEVICE_ID, 2 },
	{ VIRTIO_MMIO_DEVICE_ID - 4, 8 },
	{ VIRTIO_MMIO_QUEUE_NUM_MAX, 2 },
	{ VIRTIO_MMIO_QUEUE_NUM_MAX + 1, 4 },
	{ VIRTIO_MMIO_QUEUE_NUM_MAX, 8 },
	{ VIRTIO_MMIO_DEVICE_FEATURES, 1 },
	{ VIRTIO_MMIO_CONFIG_GENERATION + 2, 2 },
};

static void narrow_or_unaligned_register_reads_0(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	W(VIRTIO_MMIO_QUEUE_SEL, 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_reg_reads); i++) {
		const struct access *a = &bad_reg_reads[i];
		uint64_t v = gdrv_read(&r.drv, a->off, a->size);

		if (v) {
			t_fail(__FILE__, __LINE__,
			       "read of %u bytes at 0x%x = 0x%llx", a->size,
			       a->off, (unsigned long long)v);
			return;
		}
	}
	T_RIG_FINI(&r);
}

/* Writes with a bad width or alignment: Status must not change. */
static const struct access bad_status_writes[] = {
	{ VIRTIO_MMIO_STATUS, 1 },     { VIRTIO_MMIO_STATUS, 2 },
	{ VIRTIO_MMIO_STATUS, 8 },     { VIRTIO_MMIO_STATUS + 1, 1 },
	{ VIRTIO_MMIO_STATUS + 1, 4 }, { VIRTIO_MMIO_STATUS + 2, 2 },
	{ VIRTIO_MMIO_STATUS - 4, 8 }, { VIRTIO_MMIO_STATUS + 3, 1 },
};

static void narrow_or_unaligned_register_writes_ignored(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_status_writes); i++) {
		const struct access *a = &bad_status_writes[i];

		gdrv_write(&r.drv, a->off, a->size,
			   VIRTIO_CONFIG_S_ACKNOWLEDGE);
		if (R(VIRTIO_MMIO_STATUS)) {
			t_fail(__FILE__, __LINE__,
			       "write of %u bytes at 0x%x changed Status",
			       a->size, a->off);
			return;
		}
	}
	T_RIG_FINI(&r);
}

static void narrow_writes_to_setup_registers_ignored(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	T_EQ(gdrv_negotiate(&r.drv, VRIG_ALL_FEATURES), 0);
	W(VIRTIO_MMIO_QUEUE_SEL, 0);
	gdrv_write(&r.drv, VIRTIO_MMIO_QUEUE_SEL, 2, 1);
	gdrv_write(&r.drv, VIRTIO_MMIO_QUEUE_NUM, 2, 16);
	gdrv_write(&r.drv, VIRTIO_MMIO_QUEUE_DESC_LOW, 8, 0x40001000);
	gdrv_write(&r.drv, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 1, 0x40);
	gdrv_write(&r.drv, VIRTIO_MMIO_QUEUE_READY, 1, 1);
	T_EQ(vrig_vdev(&r)->queue_sel, 0);
	T_EQ(vrig_vq(&r, 0)->num, 0);
	T_EQ(vrig_vq(&r, 0)->desc_gpa, 0);
	T_EQ(vrig_vq(&r, 0)->avail_gpa, 0);
	T_EQ(vrig_vq(&r, 0)->ready, false);
	T_EQ(vrig_vq(&r, 1)->num, 0);
	T_RIG_FINI(&r);
}

static void narrow_writes_to_features_ignored(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	gdrv_add_status(&r.drv,
			VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	W(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	gdrv_write(&r.drv, VIRTIO_MMIO_DRIVER_FEATURES, 2, 1);
	gdrv_write(&r.drv, VIRTIO_MMIO_DRIVER_FEATURES, 8, ~0ULL);
	gdrv_write(&r.drv, VIRTIO_MMIO_DRIVER_FEATURES + 1, 1, 0xff);
	gdrv_write(&r.drv, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1, 1);
	T_EQ(vrig_vdev(&r)->drv_feat_sel, 0);
	T_EQ_U64(vrig_vdev(&r)->guest_features, 0);
	T_RIG_FINI(&r);
}

static void access_sizes_other_than_1_2_4_8_ignored(void)
{
	static const unsigned int sizes[] = { 0, 3, 5, 6, 7, 16, 0xffffffff };
	RIG(r);

	T_RIG_NEW(&r);
	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		T_EQ(gdrv_read(&r.drv, VIRTIO_MMIO_MAGIC_VALUE, sizes[i]), 0);
		T_EQ(gdrv_read(&r.drv, CFG(0), sizes[i]), 0);
		gdrv_write(&r.drv, VIRTIO_MMIO_STATUS, sizes[i], 1);
		gdrv_write(&r.drv, CFG(TESTDEV_CFG_RW), sizes[i], 0xab);
	}
	T_EQ(R(VIRTIO_MMIO_STATUS), 0);
	T_EQ(r.td.cfg[TESTDEV_CFG_RW], 0);
	T_RIG_FINI(&r);
}

static void offsets_outside_window_ignored(void)
{
	static const uint64_t off[] = {
		VMMIO_WINDOW_SIZE,
		VMMIO_WINDOW_SIZE + VIRTIO_MMIO_STATUS,
		0x1000,
		1ULL << 32,
		(1ULL << 32) + VIRTIO_MMIO_STATUS,
		UINT64_MAX - 3,
		UINT64_MAX,
	};
	RIG(r);

	T_RIG_NEW(&r);
	for (unsigned int i = 0; i < ARRAY_SIZE(off); i++) {
		T_EQ(gdrv_read(&r.drv, off[i], 4), 0);
		T_EQ(gdrv_read(&r.drv, off[i], 1), 0);
		gdrv_write(&r.drv, off[i], 4, 0xffffffff);
		gdrv_write(&r.drv, off[i], 1, 0xff);
	}
	T_EQ(R(VIRTIO_MMIO_STATUS), 0);
	T_EQ(r.td.cfg_writes, 0);
	T_EQ(r.td.cfg_oob, 0);
	T_RIG_FINI(&r);
}

static void status_reads_back(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	T_EQ(R(VIRTIO_MMIO_STATUS), 0);
	T_EQ(gdrv_add_status(&r.drv, VIRTIO_CONFIG_S_ACKNOWLEDGE),
	     VIRTIO_CONFIG_S_ACKNOWLEDGE);
	T_EQ(gdrv_add_status(&r.drv, VIRTIO_CONFIG_S_DRIVER),
	     VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	T_RIG_FINI(&r);
}

static void queue_num_max_per_queue(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	for (uint32_t q = 0; q < TESTDEV_NR_VQS; q++) {
		W(VIRTIO_MMIO_QUEUE_SEL, q);
		T_EQ(R(VIRTIO_MMIO_QUEUE_NUM_MAX), TESTDEV_QUEUE_MAX);
		T_EQ(R(VIRTIO_MMIO_QUEUE_READY), 0);
	}
	T_RIG_FINI(&r);
}

static void queue_sel_out_of_range(void)
{
	static const uint32_t sel[] = { TESTDEV_NR_VQS, 255, 0x10000,
					0xffffffff };
	RIG(r);
	uint64_t ring;

	T_RIG_NEW(&r);
	T_EQ(gdrv_negotiate(&r.drv, VRIG_ALL_FEATURES), 0);
	ring = fg_alloc(r.fg, 0x3000, 0x1000);
	for (unsigned int i = 0; i < ARRAY_SIZE(sel); i++) {
		W(VIRTIO_MMIO_QUEUE_SEL, sel[i]);
		T_EQ(R(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
		T_EQ(R(VIRTIO_MMIO_QUEUE_READY), 0);
		/* A full, sound setup aimed at a queue that does not exist. */
		W(VIRTIO_MMIO_QUEUE_NUM, 16);
		W(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ring);
		W(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)ring + 0x1000);
		W(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)ring + 0x2000);
		W(VIRTIO_MMIO_QUEUE_READY, 1);
		T_EQ(R(VIRTIO_MMIO_QUEUE_READY), 0);
		T_EQ(R(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	}
	T_ASSERT(vdev_sel_vq(vrig_vdev(&r)) == NULL);
	T_EQ(fg_live(r.fg), 0);
	for (uint32_t q = 0; q < TESTDEV_NR_VQS; q++) {
		T_EQ(vrig_vq(&r, q)->num, 0);
		T_EQ(vrig_vq(&r, q)->desc_gpa, 0);
		T_EQ(vrig_vq(&r, q)->ready, false);
	}
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

static void queue_ready_reads_back_1(void)
{
	RIG(r);

	T_RIG_START(&r, NULL);
	for (uint32_t q = 0; q < TESTDEV_NR_VQS; q++) {
		W(VIRTIO_MMIO_QUEUE_SEL, q);
		T_EQ(R(VIRTIO_MMIO_QUEUE_READY), 1);
		T_EQ(vrig_vq(&r, q)->ready, true);
	}
	T_ASSERT(fg_live(r.fg) > 0);
	T_RIG(&r, vrig_canary(&r, 0));
	T_RIG_FINI(&r);
}

static void queue_registers_ignored_while_ready(void)
{
	const struct vrig_opts o = { .nr_vqs = 2 };
	RIG(r);
	struct vq saved;
	uint64_t other;

	T_RIG(&r, vrig_init(&r, &o));
	T_EQ(gdrv_negotiate(&r.drv, VRIG_ALL_FEATURES), 0);
	T_EQ(gdrv_setup_vq(&r.drv, 0, 16), 0);
	saved = *vrig_vq(&r, 0);
	other = fg_alloc(r.fg, 0x3000, 0x1000);
	W(VIRTIO_MMIO_QUEUE_SEL, 0);
	W(VIRTIO_MMIO_QUEUE_NUM, 8);
	W(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)other);
	W(VIRTIO_MMIO_QUEUE_DESC_HIGH, 1);
	W(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)other + 0x1000);
	W(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 1);
	W(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)other + 0x2000);
	W(VIRTIO_MMIO_QUEUE_USED_HIGH, 1);
	W(VIRTIO_MMIO_QUEUE_READY, 1);
	T_EQ(vrig_vq(&r, 0)->num, saved.num);
	T_EQ_U64(vrig_vq(&r, 0)->desc_gpa, saved.desc_gpa);
	T_EQ_U64(vrig_vq(&r, 0)->avail_gpa, saved.avail_gpa);
	T_EQ_U64(vrig_vq(&r, 0)->used_gpa, saved.used_gpa);
	T_ASSERT(vrig_vq(&r, 0)->desc == saved.desc);
	T_ASSERT(vrig_vq(&r, 0)->used == saved.used);
	/* The queue still works on its original rings. */
	T_EQ(gdrv_setup_vq(&r.drv, 1, 16), 0);
	T_EQ(gdrv_driver_ok(&r.drv), 0);
	r.baseline = fg_live(r.fg);
	r.data = fg_alloc(r.fg, VRIG_DATA_SIZE, FG_PAGE_SIZE);
	T_RIG(&r, vrig_canary(&r, 0));
	T_RIG_FINI(&r);
}

static void queue_setup_after_driver_ok_ignored(void)
{
	const struct vrig_opts o = { .nr_vqs = 1 };
	RIG(r);
	uint64_t ring;

	T_RIG_START(&r, &o);
	ring = fg_alloc(r.fg, 0x3000, 0x1000);
	T_EQ(gdrv_setup_vq_at(&r.drv, 1, 16, ring, ring + 0x1000, ring + 0x2000,
			      true),
	     0);
	T_EQ(vrig_vq(&r, 1)->num, 0);
	T_EQ(vrig_vq(&r, 1)->ready, false);
	T_EQ(fg_live(r.fg), r.baseline);
	/* Disabling a live queue after DRIVER_OK is ignored too. */
	W(VIRTIO_MMIO_QUEUE_SEL, 0);
	W(VIRTIO_MMIO_QUEUE_READY, 0);
	T_EQ(R(VIRTIO_MMIO_QUEUE_READY), 1);
	T_RIG(&r, vrig_canary(&r, 0));
	T_RIG_FINI(&r);
}

static void queue_ready_0_releases_rings(void)
{
	const struct vrig_opts o = { .nr_vqs = 1 };
	RIG(r);

	T_RIG(&r, vrig_init(&r, &o));
	T_EQ(gdrv_negotiate(&r.drv, VRIG_ALL_FEATURES), 0);
	T_EQ(gdrv_setup_vq(&r.drv, 0, 16), 0);
	T_ASSERT(fg_live(r.fg) > 0);
	W(VIRTIO_MMIO_QUEUE_SEL, 0);
	W(VIRTIO_MMIO_QUEUE_READY, 0);
	T_EQ(R(VIRTIO_MMIO_QUEUE_READY), 0);
	T_EQ(fg_live(r.fg), 0);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

static void notify_before_driver_ok_ignored(void)
{
	const struct vrig_opts o = { .nr_vqs = 1 };
	RIG(r);
	struct gdrv_buf b[2];

	T_RIG(&r, vrig_init(&r, &o));
	T_EQ(gdrv_negotiate(&r.drv, VRIG_ALL_FEATURES), 0);
	T_EQ(gdrv_setup_vq(&r.drv, 0, 16), 0);
	r.data = fg_alloc(r.fg, 0x2000, 0x1000);
	b[0] = (struct gdrv_buf){ r.data, 8, false };
	b[1] = (struct gdrv_buf){ r.data + 0x1000, 8, true };
	T_ASSERT(gdrv_add(&r.drv, 0, b, 2, 0) >= 0);
	gdrv_notify(&r.drv, 0);
	T_EQ(r.td.q[0].kicks, 0);
	T_EQ(gdrv_used_idx(&r.drv, 0), 0);
	T_EQ(r.drv.nr_irqs, 0);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

static void notify_bad_queue_index_ignored(void)
{
	static const uint32_t idx[] = {
		TESTDEV_NR_VQS, GDRV_MAX_VQS, 0xffff,
		0x10000,	0x7fffffff,   0xffffffff
	};
	RIG(r);

	T_RIG_START(&r, NULL);
	for (unsigned int i = 0; i < ARRAY_SIZE(idx); i++)
		gdrv_notify(&r.drv, idx[i]);
	T_EQ(r.td.q[0].kicks + r.td.q[1].kicks, 0);
	T_RIG(&r, vrig_canary(&r, 1));
	T_RIG_FINI(&r);
}

static void notify_unready_queue_ignored(void)
{
	const struct vrig_opts o = { .nr_vqs = 1 };
	RIG(r);

	T_RIG_START(&r, &o);
	gdrv_notify(&r.drv, 1);
	T_EQ(r.td.q[1].kicks, 0);
	T_RIG_FINI(&r);
}

static void notify_returns_the_queue(void)
{
	RIG(r);

	T_RIG_START(&r, NULL);
	T_EQ(vmmio_write(vrig_vdev(&r), VIRTIO_MMIO_QUEUE_NOTIFY, 4, 1), 1);
	T_EQ(vmmio_write(vrig_vdev(&r), VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0), 0);
	/* The transport only decodes: the kick is delivered by vdev_kick. */
	T_EQ(r.td.q[0].kicks + r.td.q[1].kicks, 0);
	vdev_kick(vrig_vdev(&r), 1);
	T_EQ(r.td.q[1].kicks, 1);
	/* Other registers never return a queue. */
	T_EQ(vmmio_write(vrig_vdev(&r), VIRTIO_MMIO_INTERRUPT_ACK, 4, 0), -1);
	T_EQ(vmmio_write(vrig_vdev(&r), VIRTIO_MMIO_QUEUE_NOTIFY, 2, 0), -1);
	T_RIG_FINI(&r);
}

static void interrupt_status_and_ack(void)
{
	RIG(r);

	T_RIG_START(&r, NULL);
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	T_EQ(gdrv_xfer(&r.drv, 0, r.data, 8, r.data + 64, 8, 0), 8);
	T_EQ(r.drv.nr_irqs, 1);
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	/* Reading does not acknowledge. */
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	W(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	T_RIG_FINI(&r);
}

static void interrupt_ack_clears_only_written_bits(void)
{
	RIG(r);

	T_RIG_START(&r, NULL);
	T_EQ(gdrv_xfer(&r.drv, 0, r.data, 8, r.data + 64, 8, 0), 8);
	vdev_config_changed(vrig_vdev(&r));
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS),
	     VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	W(VIRTIO_MMIO_INTERRUPT_ACK, 0);
	W(VIRTIO_MMIO_INTERRUPT_ACK, 0xfffffffc); /* undefined bits */
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS),
	     VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	W(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	gdrv_write(&r.drv, VIRTIO_MMIO_INTERRUPT_ACK, 1, VIRTIO_MMIO_INT_VRING);
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	W(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	T_RIG_FINI(&r);
}

static void config_reads_natural_widths(void)
{
	RIG(r);
	uint8_t want[TESTDEV_CFG_SIZE];

	T_RIG_NEW(&r);
	memcpy(want, r.td.cfg, sizeof(want));
	for (unsigned int o = 0; o < TESTDEV_CFG_SIZE; o++) {
		uint64_t v8 = gdrv_read(&r.drv, CFG(o), 1);

		T_EQ(v8, want[o]);
		if (o % 2 == 0) {
			uint64_t v16 = gdrv_read(&r.drv, CFG(o), 2);

			T_EQ(v16, want[o] | want[o + 1] << 8);
		}
		if (o % 4 == 0) {
			uint32_t v32 = want[o] | want[o + 1] << 8 |
				       want[o + 2] << 16 |
				       (uint32_t)want[o + 3] << 24;

			T_EQ_U64(gdrv_read(&r.drv, CFG(o), 4), v32);
		}
	}
	T_EQ_U64(gdrv_read(&r.drv, CFG(TESTDEV_CFG_ID), 4), TESTDEV_ID_VALUE);
	T_EQ_U64(gdrv_read(&r.drv, CFG(0), 4), (uint32_t)TESTDEV_CAP_VALUE);
	T_EQ_U64(gdrv_read(&r.drv, CFG(4), 4), TESTDEV_CAP_VALUE >> 32);
	T_EQ_U64(gdrv_read(&r.drv, CFG(TESTDEV_CFG_TAIL), 4),
		 TESTDEV_TAIL_VALUE);
	T_EQ(r.td.cfg_oob, 0);
	T_RIG_FINI(&r);
}

static const struct access bad_cfg[] = {
	/* misaligned */
	{ CFG(1), 2 },
	{ CFG(3), 2 },
	{ CFG(1), 4 },
	{ CFG(2), 4 },
	{ CFG(3), 4 },
	{ CFG(4), 8 },
	{ CFG(9), 4 },
	{ CFG(13), 2 },
	/* beyond the 20 bytes of config space, wholly or in part */
	{ CFG(20), 1 },
	{ CFG(20), 2 },
	{ CFG(20), 4 },
	{ CFG(24), 8 },
	{ CFG(16), 8 },
	{ CFG(0xfc), 4 },
	{ CFG(0xff), 1 },
	{ CFG(0xf8), 8 },
	{ CFG(19), 2 },
};

static void config_bad_reads_0(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_cfg); i++) {
		const struct access *a = &bad_cfg[i];
		uint64_t v = gdrv_read(&r.drv, a->off, a->size);

		if (v) {
			t_fail(__FILE__, __LINE__,
			       "config read of %u bytes at 0x%x = 0x%llx",
			       a->size, a->off, (unsigned long long)v);
			return;
		}
	}
	T_EQ(r.td.cfg_oob, 0);
	T_RIG_FINI(&r);
}

static void config_bad_writes_ignored(void)
{
	RIG(r);
	uint8_t before[TESTDEV_CFG_SIZE];

	T_RIG_NEW(&r);
	memcpy(before, r.td.cfg, sizeof(before));
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_cfg); i++)
		gdrv_write(&r.drv, bad_cfg[i].off, bad_cfg[i].size,
			   0x5a5a5a5a5a5a5a5aULL);
	T_ASSERT(!memcmp(before, r.td.cfg, sizeof(before)));
	T_EQ(r.td.cfg_oob, 0);
	T_RIG_FINI(&r);
}

static void config_write_writable_field(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	gdrv_write(&r.drv, CFG(TESTDEV_CFG_RW), 4, 0xa1b2c3d4);
	T_EQ_U64(gdrv_read(&r.drv, CFG(TESTDEV_CFG_RW), 4), 0xa1b2c3d4);
	gdrv_write(&r.drv, CFG(TESTDEV_CFG_RW + 1), 1, 0xee);
	T_EQ_U64(gdrv_read(&r.drv, CFG(TESTDEV_CFG_RW), 4), 0xa1b2eed4);
	gdrv_write(&r.drv, CFG(TESTDEV_CFG_RW + 2), 2, 0x1234);
	T_EQ_U64(gdrv_read(&r.drv, CFG(TESTDEV_CFG_RW), 4), 0x1234eed4);
	T_RIG_FINI(&r);
}

static void config_write_readonly_field_ignored(void)
{
	RIG(r);
	uint8_t before[TESTDEV_CFG_SIZE];

	T_RIG_NEW(&r);
	memcpy(before, r.td.cfg, sizeof(before));
	gdrv_write(&r.drv, CFG(TESTDEV_CFG_CAP), 4, 0);
	gdrv_write(&r.drv, CFG(TESTDEV_CFG_CAP + 6), 2, 0);
	gdrv_write(&r.drv, CFG(TESTDEV_CFG_ID), 4, 0);
	gdrv_write(&r.drv, CFG(TESTDEV_CFG_ID + 3), 1, 0);
	gdrv_write(&r.drv, CFG(TESTDEV_CFG_TAIL), 4, 0);
	T_ASSERT(!memcmp(before, r.td.cfg, sizeof(before)));
	T_EQ_U64(gdrv_read(&r.drv, CFG(TESTDEV_CFG_ID), 4), TESTDEV_ID_VALUE);
	T_RIG_FINI(&r);
}

static void config_generation_changes_with_config(void)
{
	RIG(r);
	uint32_t gen;

	T_RIG_START(&r, NULL);
	gen = R(VIRTIO_MMIO_CONFIG_GENERATION);
	T_EQ(R(VIRTIO_MMIO_CONFIG_GENERATION), gen);
	vdev_config_changed(vrig_vdev(&r));
	T_ASSERT(R(VIRTIO_MMIO_CONFIG_GENERATION) != gen);
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	T_EQ(r.drv.nr_irqs, 1);
	T_RIG_FINI(&r);
}

T_MAIN(T_CASE(magic_version_ids), T_CASE(device_features_by_selector),
       T_CASE(unknown_offsets_read_0), T_CASE(legacy_queue_pfn_does_not_enable),
       T_CASE(shm_regions_absent), T_CASE(readonly_registers_ignore_writes),
       T_CASE(narrow_or_unaligned_register_reads_0),
       T_CASE(narrow_or_unaligned_register_writes_ignored),
       T_CASE(narrow_writes_to_setup_registers_ignored),
       T_CASE(narrow_writes_to_features_ignored),
       T_CASE(access_sizes_other_than_1_2_4_8_ignored),
       T_CASE(offsets_outside_window_ignored), T_CASE(status_reads_back),
       T_CASE(queue_num_max_per_queue), T_CASE(queue_sel_out_of_range),
       T_CASE(queue_ready_reads_back_1),
       T_CASE(queue_registers_ignored_while_ready),
       T_CASE(queue_setup_after_driver_ok_ignored),
       T_CASE(queue_ready_0_releases_rings),
       T_CASE(notify_before_driver_ok_ignored),
       T_CASE(notify_bad_queue_index_ignored),
       T_CASE(notify_unready_queue_ignored), T_CASE(notify_returns_the_queue),
       T_CASE(interrupt_status_and_ack),
       T_CASE(interrupt_ack_clears_only_written_bits),
       T_CASE(config_reads_natural_widths), T_CASE(config_bad_reads_0),
       T_CASE(config_bad_writes_ignored), T_CASE(config_write_writable_field),
       T_CASE(config_write_readonly_field_ignored),
       T_CASE(config_generation_changes_with_config))
