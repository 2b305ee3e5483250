// SPDX-License-Identifier: MIT
/*
 * Fuzz the split-ring walker: the input is the guest's descriptor table,
 * avail ring, indirect tables and later avail idx moves, plus the
 * negotiated features and map clamping. The device pops (bounded), pushes
 * every chain, and checks that results, chains and mappings stay sane.
 *
 * Input: flags u8, log2(num) u8, rounds u8, desc[num], avail ring,
 * 4 KiB of indirect tables, then one u16 avail idx per further round.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "../lib/vrig.h"

#define FV_RAM (1u << 20)
#define FV_DESC 0x0000u
#define FV_AVAIL 0x1000u
#define FV_USED 0x2000u
#define FV_IND 0x3000u
#define FV_IND_SIZE 0x1000u
#define FV_HOLE 0x80000u

enum {
	FV_INDIRECT = 1 << 0,
	FV_EVENT_IDX = 1 << 1,
	FV_CLAMP = 1 << 2,
	FV_RELATIVE = 1 << 3, /* rewrite addresses to land in RAM */
	FV_HOLD = 1 << 4,     /* pop everything, then push in reverse */
	FV_HOLE_ON = 1 << 5,
	FV_RELEASE = 1 << 6, /* release some chains instead of pushing */
	FV_GUARD = 1 << 7,   /* guard pages around every mapping */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Chains popped but not yet pushed (HOLD mode), one per ring entry. */
static struct vq_chain held[TESTDEV_QUEUE_MAX + 1];

/* Steer raw addresses into RAM, its indirect area or just past its end. */
static uint64_t fv_addr(uint64_t a)
{
	if (a >> 62 == 3)
		return a; /* raw: outside RAM, wrapping */
	if (a >> 62 == 2)
		return FG_RAM_BASE + FV_IND + (a & (FV_IND_SIZE - 16));
	return FG_RAM_BASE + a % (FV_RAM + 0x2000);
}

static void fv_relocate(struct vring_desc *t, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint32_t len = le32toh(t[i].len);

		t[i].addr = htole64(fv_addr(le64toh(t[i].addr)));
		if (!(len >> 31))
			t[i].len = htole32(len & 0x3ffff);
	}
}

/* Checks one vq_pop() result and the chain it produced. */
static void fv_check_pop(struct vrig *r, struct vq *vq, int rc,
			 const struct vq_chain *c, uint16_t before)
{
	const char *why;

	FZ_CHECK(rc == 1 || rc == 0 || rc == -EPROTO || rc == -EIO);
	if (rc == -EPROTO || rc == -EIO)
		FZ_CHECK(vrig_vdev(r)->broken);
	if (rc != 1) {
		FZ_CHECK(vq->last_avail == before);
		return;
	}
	/* One avail entry consumed per chain. */
	FZ_CHECK(vq->last_avail == (uint16_t)(before + 1));
	why = testdev_chain_check(r->fg, c, vq->num);
	if (why)
		fprintf(stderr, "bad chain: %s\n", why);
	FZ_CHECK(!why);
}

/* One round: pop until empty or broken, completing every chain. */
static void fv_round(struct vrig *r, unsigned int flags, uint32_t seed)
{
	struct vq *vq = vrig_vq(r, 0);
	unsigned int nr_held = 0, bound = 2u * vq->num + 4;
	int rc = 0;

	for (unsigned int i = 0; i < bound; i++) {
		struct vq_chain *c = &held[(flags & FV_HOLD) ? nr_held : 0];
		uint16_t before = vq->last_avail;

		rc = vq_pop(vq, c);
		fv_check_pop(r, vq, rc, c, before);
		if (rc != 1)
			break;
		if (flags & FV_HOLD) {
			/* Never more heads in flight than ring entries. */
			FZ_CHECK(nr_held < vq->num);
			nr_held++;
		} else if ((flags & FV_RELEASE) && (seed >> (i % 32)) & 1) {
			vq_chain_release(vq, c);
		} else {
			vq_push(vq, c, testdev_echo(c));
		}
	}
	/* Not a spin: the walk ended inside its bound. */
	FZ_CHECK(rc != 1);
	if (rc < 0)
		FZ_CHECK(vq_pop(vq, &held[TESTDEV_QUEUE_MAX]) == -EIO);
	while (nr_held--)
		vq_push(vq, &held[nr_held], testdev_echo(&held[nr_held]));
	vq_flush(vq);
	vq_kick_enable(vq);
	FZ_CHECK(fg_live(r->fg) == r->baseline);
}

static void fv_setup(struct vrig *r, unsigned int flags, uint16_t num)
{
	uint64_t f = VRIG_F(VIRTIO_F_VERSION_1);
	const struct vrig_opts o = {
		.ram = FV_RAM,
		.clamp = flags & FV_CLAMP,
		.mode = TESTDEV_MANUAL,
		.nr_vqs = 1,
		.num = num,
	};

	if (flags & FV_INDIRECT)
		f |= VRIG_F(VIRTIO_RING_F_INDIRECT_DESC);
	if (flags & FV_EVENT_IDX)
		f |= VRIG_F(VIRTIO_RING_F_EVENT_IDX);
	FZ_CHECK(!vrig_init(r, &o));
	FZ_CHECK(!gdrv_negotiate(&r->drv, f));
	FZ_CHECK(gdrv_setup_vq_at(&r->drv, 0, num, FG_RAM_BASE + FV_DESC,
				  FG_RAM_BASE + FV_AVAIL, FG_RAM_BASE + FV_USED,
				  true) == 1);
	FZ_CHECK(!gdrv_driver_ok(&r->drv));
	if (flags & FV_HOLE_ON)
		fg_set_hole(r->fg, FG_RAM_BASE + FV_HOLE, 0x10000);
	r->baseline = fg_live(r->fg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	unsigned int flags, rounds;
	struct vring_desc *desc, *ind;
	struct vrig r;
	uint16_t num;
	uint32_t seed;

	fz_quiet();
	flags = fz_u8(&in);
	num = 1u << (fz_u8(&in) % 9);
	rounds = 1 + fz_u8(&in) % 4;
	fv_setup(&r, flags, num);

	desc = fg_ptr(r.fg, FG_RAM_BASE + FV_DESC, 16u * num);
	ind = fg_ptr(r.fg, FG_RAM_BASE + FV_IND, FV_IND_SIZE);
	fz_take(&in, desc, 16u * num);
	fz_take(&in, fg_ptr(r.fg, FG_RAM_BASE + FV_AVAIL, 6u + 2 * num),
		6u + 2 * num);
	fz_take(&in, ind, FV_IND_SIZE);
	if (flags & FV_RELATIVE) {
		fv_relocate(desc, num);
		fv_relocate(ind, FV_IND_SIZE / 16);
	}
	seed = fz_u32(&in);

	for (unsigned int k = 0; k < rounds; k++) {
		if (k) {
			struct vring_avail *a =
				fg_ptr(r.fg, FG_RAM_BASE + FV_AVAIL, 4);

			smp_wmb(); /* ring entries, then idx */
			WRITE_ONCE(a->idx, htole16(fz_u16(&in)));
		}
		fv_round(&r, flags, seed);
	}

	/* Reset: every mapping goes, and the device is usable again. */
	FZ_CHECK(gdrv_reset(&r.drv) == 0);
	FZ_CHECK(fg_live(r.fg) == 0);
	FZ_CHECK(!vrig_vdev(&r)->broken);
	FZ_CHECK(!vrig_fini(&r));
	return 0;
}
