// SPDX-License-Identifier: MIT
/*
 * Fuzz the register file and status machine: the input is a sequence of
 * guest accesses (offset, size, read or write, value) to the test device's
 * window, mixed with guest memory writes into its rings, completions,
 * interrupt acks and config changes. Kicks reach the ring walker. After the
 * sequence, a reset must release everything.
 *
 * Input: flags u8, then 8-byte records: op u8, offset u16, value u32,
 * extra u8.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "../lib/vrig.h"
#include "virtio/vmmio.h"

#define FM_RAM (1u << 20)
#define FM_POKE_SIZE 0x10000u /* rings and tables of a set-up rig */
#define FM_MAX_OPS 512

enum {
	FM_SETUP = 1 << 0, /* negotiate and set up both queues first */
	FM_INDIRECT = 1 << 1,
	FM_EVENT_IDX = 1 << 2,
	FM_FEATURE_B = 1 << 3,
	FM_CLAMP = 1 << 4,
	FM_HOLD = 1 << 5,
	FM_COMPLETE = 1 << 6, /* complete held chains before the reset */
};

enum {
	FM_OP_ACCESS,	/* 0..3: register access */
	FM_OP_POKE = 4, /* write guest memory in the ring area */
	FM_OP_COMPLETE, /* the device completes what it holds */
	FM_OP_ACK,	/* the guest acknowledges InterruptStatus */
	FM_OP_CONFIG,	/* the device changes its config space */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What vmmio_read must answer without consulting any state. */
static void fm_check_read(uint64_t off, unsigned int size, uint64_t v)
{
	bool ok_size = size == 1 || size == 2 || size == 4 || size == 8;

	if (!ok_size || off >= VMMIO_WINDOW_SIZE)
		FZ_CHECK(v == 0);
	else if (off < VMMIO_CONFIG_OFF && (size != 4 || off % 4))
		FZ_CHECK(v == 0);
	else if (off >= VMMIO_CONFIG_OFF && off % size)
		FZ_CHECK(v == 0);
	else if (off + size > VMMIO_CONFIG_OFF + TESTDEV_CFG_SIZE)
		FZ_CHECK(v == 0);
	if (ok_size && size < 8)
		FZ_CHECK(!(v >> (8 * size)));
}

static void fm_access(struct vrig *r, uint8_t op, uint16_t off16, uint32_t val,
		      uint8_t extra)
{
	unsigned int size = 1u << (op & 3);
	uint64_t off = off16 & 0x3ff;
	uint64_t v;

	if (extra & 0x80)
		size = extra & 0xf; /* also odd sizes */
	if ((extra & 0x70) == 0x70)
		off |= (uint64_t)val << 32; /* far outside the window */
	if (op & 4) {
		gdrv_write(&r->drv, off, size,
			   (uint64_t)val | (uint64_t)extra << 32);
		return;
	}
	v = gdrv_read(&r->drv, off, size);
	fm_check_read(off, size, v);
}

static void fm_step(struct vrig *r, uint8_t op, uint16_t off, uint32_t val,
		    uint8_t extra)
{
	switch ((op >> 3) % 8) {
	case FM_OP_POKE: {
		uint64_t gpa = FG_RAM_BASE + ((off | (uint32_t)extra << 16) *
					      4u) % FM_POKE_SIZE;

		*(uint32_t *)fg_ptr(r->fg, gpa, 4) = val;
		break;
	}
	case FM_OP_COMPLETE:
		testdev_complete_all(&r->td, extra % TESTDEV_NR_VQS);
		break;
	case FM_OP_ACK:
		gdrv_ack_irq(&r->drv);
		break;
	case FM_OP_CONFIG:
		vdev_config_changed(vrig_vdev(r));
		break;
	default:
		fm_access(r, op, off, val, extra);
		break;
	}
}

static void fm_setup(struct vrig *r, unsigned int flags)
{
	uint64_t f = VRIG_F(VIRTIO_F_VERSION_1) | VRIG_F(TESTDEV_F_A);
	const struct vrig_opts o = {
		.ram = FM_RAM,
		.clamp = flags & FM_CLAMP,
		.mode = (flags & FM_HOLD) ? TESTDEV_HOLD : TESTDEV_ECHO,
		.num = 8,
		.data_size = 0x10000,
	};

	FZ_CHECK(!vrig_init(r, &o));
	if (!(flags & FM_SETUP))
		return;
	if (flags & FM_INDIRECT)
		f |= VRIG_F(VIRTIO_RING_F_INDIRECT_DESC);
	if (flags & FM_EVENT_IDX)
		f |= VRIG_F(VIRTIO_RING_F_EVENT_IDX);
	if (flags & FM_FEATURE_B)
		f |= VRIG_F(TESTDEV_F_B);
	r->o.features = f;
	/* Rings of both queues land in the first FM_POKE_SIZE bytes. */
	FZ_CHECK(!vrig_up(r));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	unsigned int flags;
	struct vrig r;

	fz_quiet();
	flags = fz_u8(&in);
	fm_setup(&r, flags);
	for (unsigned int i = 0; i < FM_MAX_OPS && in.left; i++) {
		uint8_t op = fz_u8(&in);
		uint16_t off = fz_u16(&in);
		uint32_t val = fz_u32(&in);

		fm_step(&r, op, off, val, fz_u8(&in));
		/* The transport never breaks the device model's contract. */
		FZ_CHECK(!testdev_violations(&r.td));
		FZ_CHECK(r.td.q[0].budget_hit + r.td.q[1].budget_hit == 0);
	}
	if (flags & FM_COMPLETE)
		for (unsigned int q = 0; q < TESTDEV_NR_VQS; q++)
			testdev_complete_all(&r.td, q);

	/* Status=0 releases every mapping and chain, whatever happened. */
	gdrv_w32(&r.drv, VIRTIO_MMIO_STATUS, 0);
	FZ_CHECK(gdrv_r32(&r.drv, VIRTIO_MMIO_STATUS) == 0);
	FZ_CHECK(fg_live(r.fg) == 0);
	FZ_CHECK(testdev_nr_held(&r.td, 0) + testdev_nr_held(&r.td, 1) == 0);
	for (unsigned int q = 0; q < TESTDEV_NR_VQS; q++)
		FZ_CHECK(!vrig_vq(&r, q)->ready);
	FZ_CHECK(!vrig_fini(&r));
	return 0;
}
