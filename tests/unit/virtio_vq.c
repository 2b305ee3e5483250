// SPDX-License-Identifier: MIT
/*
 * Split virtqueue tests: well-formed chains (direct, indirect, split at
 * map edges, EVENT_IDX on and off, index wrap-around), then every
 * malformed ring from SECURITY.md's hostile-guest table, each checked for
 * its verdict, for no spin, for no leaked mapping, and for a working
 * device after reset.
 */
#include <errno.h>
#include <string.h>

#include "../lib/vt.h"
#include "virtio/vmmio.h"
#include "virtio/vq.h"

#define Q0 0
#define RAM_END(r) ((r)->fg->base + (r)->fg->size)

static struct vq_chain chain; /* big (VQ_MAX_IOV iovecs): not on the stack */

static const struct vrig_opts manual = { .mode = TESTDEV_MANUAL };
static const struct vrig_opts hold = { .mode = TESTDEV_HOLD };

static uint64_t without(uint64_t bit)
{
	return VRIG_ALL_FEATURES & ~VRIG_F(bit);
}

/* ---- well-formed chains ------------------------------------------------ */

static void pop_empty_ring_returns_0(void)
{
	RIG(r);

	T_RIG_START(&r, &manual);
	T_EQ(vq_pop(vrig_vq(&r, Q0), &chain), 0);
	T_EQ(vq_has_avail(vrig_vq(&r, Q0)), false);
	T_EQ(fg_live(r.fg), r.baseline);
	T_ASSERT(!vrig_needs_reset(&r));
	T_RIG_FINI(&r);
}

/* In flight = popped minus pushed or released; a failed pop counts nothing. */
static void inflight_counts_each_chain_once(void)
{
	static struct vq_chain c2[3];
	struct gdrv_buf b = { 0, 64, true };
	struct vq *vq;
	RIG(r);

	T_RIG_START(&r, &manual);
	vq = vrig_vq(&r, Q0);
	for (unsigned int i = 0; i < 3; i++) {
		b.gpa = r.data + 0x1000 * i;
		T_ASSERT(gdrv_add(&r.drv, Q0, &b, 1, 0) >= 0);
		T_EQ(vq_pop(vq, &c2[i]), 1);
		T_EQ(vq->inflight, i + 1);
	}
	vq_push(vq, &c2[0], 0);
	T_EQ(vq->inflight, 2);
	vq_chain_release(vq, &c2[1]);
	T_EQ(vq->inflight, 1);
	/* A chain that fails to pop (buffer in the MMIO window) adds nothing. */
	b.gpa = 0x2000000;
	T_ASSERT(gdrv_add(&r.drv, Q0, &b, 1, 0) >= 0);
	T_EQ(vq_pop(vq, &chain), -EPROTO);
	T_EQ(vq->inflight, 1);
	vq_push(vq, &c2[2], 0);
	T_EQ(vq->inflight, 0);
	T_EQ(fg_live(r.fg), r.baseline);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

static void pop_direct_chain_maps_each_buffer(void)
{
	RIG(r);
	struct gdrv_buf b[4];
	int head;

	T_RIG_START(&r, &manual);
	b[0] = (struct gdrv_buf){ r.data, 100, false };
	b[1] = (struct gdrv_buf){ r.data + 0x1000, 200, false };
	b[2] = (struct gdrv_buf){ r.data + 0x2000, 300, true };
	b[3] = (struct gdrv_buf){ r.data + 0x3000, 400, true };
	head = gdrv_add(&r.drv, Q0, b, 4, 0);
	T_ASSERT(head >= 0);
	T_EQ(vq_has_avail(vrig_vq(&r, Q0)), true);
	T_EQ(vq_pop(vrig_vq(&r, Q0), &chain), 1);
	T_EQ(chain.head, head);
	T_EQ(chain.nr_out, 2);
	T_EQ(chain.nr_in, 2);
	T_EQ(chain.out_len, 300);
	T_EQ(chain.in_len, 700);
	for (int i = 0; i < 4; i++) {
		T_ASSERT(fg_hva_is(r.fg, chain.iov[i].iov_base, b[i].gpa, 1));
		T_EQ(fg_hva_to_gpa(r.fg, chain.iov[i].iov_base), b[i].gpa);
		T_EQ(chain.iov[i].iov_len, b[i].len);
	}
	T_ASSERT(!testdev_chain_check(r.fg, &chain, r.o.num));
	T_EQ(fg_live(r.fg), r.baseline + 4);
	T_EQ(vq_has_avail(vrig_vq(&r, Q0)), false);
	T_EQ(vq_pop(vrig_vq(&r, Q0), &chain), 0);
	T_EQ(fg_live(r.fg), r.baseline + 4);
	vq_push(vrig_vq(&r, Q0), &chain, 0);
	T_RIG_FINI(&r);
}

static void push_unmaps_and_completes(void)
{
	RIG(r);
	struct gdrv_buf b[2];
	uint16_t head;
	uint32_t len;

	T_RIG_START(&r, &manual);
	b[0] = (struct gdrv_buf){ r.data, 64, false };
	b[1] = (struct gdrv_buf){ r.data + 0x1000, 64, true };
	T_ASSERT(gdrv_add(&r.drv, Q0, b, 2, 0) >= 0);
	T_EQ(vq_pop(vrig_vq(&r, Q0), &chain), 1);
	vq_push(vrig_vq(&r, Q0), &chain, 17);
	T_EQ(fg_live(r.fg), r.baseline);
	/* Pushed but not flushed: the driver must not see it yet. */
	T_EQ(gdrv_used_idx(&r.drv, Q0), 0);
	T_EQ(vq_flush(vrig_vq(&r, Q0)), true);
	T_EQ(r.drv.nr_irqs, 1);
	T_EQ(gdrv_get_used(&r.drv, Q0, &head, &len), 1);
	T_EQ(head, chain.head);
	T_EQ(len, 17);
	T_EQ(gdrv_ack_irq(&r.drv), VIRTIO_MMIO_INT_VRING);
	T_RIG_FINI(&r);
}

static void chain_release_unmaps_without_completing(void)
{
	RIG(r);
	struct gdrv_buf b = { 0, 4096, true };

	T_RIG_START(&r, &manual);
	b.gpa = r.data;
	T_ASSERT(gdrv_add(&r.drv, Q0, &b, 1, 0) >= 0);
	T_EQ(vq_pop(vrig_vq(&r, Q0), &chain), 1);
	T_EQ(fg_live(r.fg), r.baseline + 1);
	vq_chain_release(vrig_vq(&r, Q0), &chain);
	T_EQ(fg_live(r.fg), r.baseline);
	vq_flush(vrig_vq(&r, Q0));
	T_EQ(gdrv_used_idx(&r.drv, Q0), 0);
	T_RIG_FINI(&r);
}

static void pop_indirect_chain(void)
{
	RIG(r);
	struct gdrv_buf b[3];

	T_RIG_START(&r, &manual);
	b[0] = (struct gdrv_buf){ r.data, 10, false };
	b[1] = (struct gdrv_buf){ r.data + 0x1000, 20, true };
	b[2] = (struct gdrv_buf){ r.data + 0x2000, 30, true };
	T_ASSERT(gdrv_add(&r.drv, Q0, b, 3, GDRV_INDIRECT) >= 0);
	T_EQ(vq_pop(vrig_vq(&r, Q0), &chain), 1);
	T_EQ(chain.nr_out, 1);
	T_EQ(chain.nr_in, 2);
	T_EQ(chain.out_len, 10);
	T_EQ(chain.in_len, 50);
	T_EQ(fg_hva_to_gpa(r.fg, chain.iov[2].iov_base), r.data + 0x2000);
	T_ASSERT(!testdev_chain_check(r.fg, &chain, r.o.num));
	/* The indirect table is not held once the chain is popped. */
	T_EQ(fg_live(r.fg), r.baseline + 3);
	vq_push(vrig_vq(&r, Q0), &chain, 0);
	T_EQ(fg_live(r.fg), r.baseline);
	T_RIG_FINI(&r);
}

/* Echo @n_out readable and @n_in writable buffers of @len bytes each. */
static int echo_chain(struct vrig *r, unsigned int n_out, unsigned int n_in,
		      uint32_t len, unsigned int flags, uint32_t seed)
{
	struct gdrv_buf b[256];
	uint64_t out = r->data, in = r->data + VRIG_DATA_SIZE / 2;
	uint32_t total = n_out * len < n_in * len ? n_out * len : n_in * len;
	uint16_t head;
	uint32_t got;

	T_CHECK(n_out + n_in <= 256 &&
		(n_out + n_in) * len <= VRIG_DATA_SIZE / 2);
	for (unsigned int i = 0; i < n_out; i++)
		b[i] = (struct gdrv_buf){ out + i * len, len, false };
	for (unsigned int i = 0; i < n_in; i++)
		b[n_out + i] = (struct gdrv_buf){ in + i * len, len, true };
	fg_fill(r->fg, out, n_out * len, seed);
	memset(fg_ptr(r->fg, in, n_in * len), 0, n_in * len);
	T_CHECK(gdrv_add(&r->drv, Q0, b, n_out + n_in, flags) >= 0);
	T_CHECK(gdrv_kick(&r->drv, Q0));
	T_CHECK(gdrv_get_used(&r->drv, Q0, &head, &got) == 1);
	T_CHECK(got == total);
	T_CHECK(fg_check(r->fg, in, total, seed));
	return 0;
}

static void echo_direct_chains(void)
{
	static const struct {
		unsigned int n_out, n_in;
		uint32_t len;
	} t[] = {
		{ 1, 1, 1 },  { 1, 1, 4096 },  { 3, 2, 1000 },	{ 8, 8, 64 },
		{ 1, 15, 7 }, { 15, 1, 4097 }, { 1, 1, 65536 },
	};
	RIG(r);

	T_RIG_START(&r, NULL);
	for (unsigned int i = 0; i < ARRAY_SIZE(t); i++)
		if (echo_chain(&r, t[i].n_out, t[i].n_in, t[i].len, 0, i))
			return;
	T_EQ(fg_live(r.fg), r.baseline);
	T_RIG_FINI(&r);
}

static void echo_indirect_chains(void)
{
	static const struct {
		unsigned int n_out, n_in;
		uint32_t len;
	} t[] = {
		{ 1, 1, 1 },
		{ 8, 8, 100 },
		{ 2, 1, 70000 },
		{ 1, 15, 3 },
	};
	RIG(r);

	T_RIG_START(&r, NULL);
	for (unsigned int i = 0; i < ARRAY_SIZE(t); i++)
		if (echo_chain(&r, t[i].n_out, t[i].n_in, t[i].len,
			       GDRV_INDIRECT, i))
			return;
	T_EQ(fg_live(r.fg), r.baseline);
	T_RIG_FINI(&r);
}

static void echo_chains_split_at_map_edges(void)
{
	const struct vrig_opts o = { .clamp = true };
	RIG(r);

	T_RIG_START(&r, &o);
	/* 3 x 5000 bytes from a page start, then mid-page, both ways. */
	if (echo_chain(&r, 3, 3, 5000, 0, 1) ||
	    echo_chain(&r, 2, 5, 12345, GDRV_INDIRECT, 2))
		return;
	T_EQ(fg_live(r.fg), r.baseline);
	T_RIG_FINI(&r);
}

static void split_buffer_iovecs_follow_pages(void)
{
	const struct vrig_opts o = { .clamp = true, .mode = TESTDEV_MANUAL };
	RIG(r);
	struct gdrv_buf b;
	uint64_t gpa;

	T_RIG_START(&r, &o);
	/* 3 * 4096 bytes from 100 bytes before a page edge: 4 pieces. */
	b = (struct gdrv_buf){ r.data + 0x1000 - 100, 3 * 4096, true };
	T_ASSERT(gdrv_add(&r.drv, Q0, &b, 1, 0) >= 0);
	T_EQ(vq_pop(vrig_vq(&r, Q0), &chain), 1);
	T_EQ(chain.nr_out, 0);
	T_EQ(chain.nr_in, 4);
	T_EQ(chain.in_len, 3 * 4096);
	T_EQ(chain.iov[0].iov_len, 100);
	T_EQ(chain.iov[1].iov_len, 4096);
	T_EQ(chain.iov[3].iov_len, 4096 - 100);
	gpa = b.gpa;
	for (int i = 0; i < 4; i++) {
		T_EQ_U64(fg_hva_to_gpa(r.fg, chain.iov[i].iov_base), gpa);
		gpa += chain.iov[i].iov_len;
	}
	T_ASSERT(!testdev_chain_check(r.fg, &chain, r.o.num));
	T_EQ(fg_live(r.fg), r.baseline + 4);
	vq_push(vrig_vq(&r, Q0), &chain, 0);
	T_EQ(fg_live(r.fg), r.baseline);
	T_RIG_FINI(&r);
}

static void indirect_table_across_map_edge(void)
{
	const struct vrig_opts o = { .clamp = true };
	RIG(r);
	uint64_t table, in;
	uint16_t head;
	uint32_t len;

	T_RIG_START(&r, &o);
	/* 8 entries, the page edge after the 3rd: a 4 KiB clamp splits it. */
	table = r.data + 0x10000 - 3 * 16;
	in = r.data + 0x20000;
	for (uint16_t i = 0; i < 8; i++) {
		bool w = i >= 4;

		fg_fill(r.fg, r.data + i * 0x100, 0x100, i);
		gdrv_raw_table(&r.drv, table, i,
			       w ? in + (i - 4) * 0x100 : r.data + i * 0x100,
			       0x100,
			       (w ? VRING_DESC_F_WRITE : 0) |
				       (i < 7 ? VRING_DESC_F_NEXT : 0),
			       i + 1);
	}
	gdrv_raw_desc(&r.drv, Q0, 0, table, 8 * 16, VRING_DESC_F_INDIRECT, 0);
	gdrv_raw_publish(&r.drv, Q0, 0);
	T_EQ(gdrv_raw_claim(&r.drv, Q0, 0), 0);
	gdrv_notify(&r.drv, Q0);
	T_ASSERT(!vrig_needs_reset(&r));
	T_EQ(gdrv_get_used(&r.drv, Q0, &head, &len), 1);
	T_EQ(len, 4 * 0x100);
	for (int i = 0; i < 4; i++)
		T_ASSERT(fg_check(r.fg, in + i * 0x100, 0x100, i));
	T_EQ(fg_live(r.fg), r.baseline);
	T_RIG_FINI(&r);
}

static void direct_descriptors_then_indirect_table(void)
{
	RIG(r);
	uint64_t table;
	uint16_t head;
	uint32_t len;

	/* Spec 2.7.5.3.2: zero or more direct descriptors, then one indirect. */
	T_RIG_START(&r, NULL);
	table = r.data + 0x40000;
	fg_fill(r.fg, r.data, 300, 7);
	gdrv_raw_desc(&r.drv, Q0, 5, r.data, 100, VRING_DESC_F_NEXT, 9);
	gdrv_raw_desc(&r.drv, Q0, 9, table, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	gdrv_raw_table(&r.drv, table, 0, r.data + 100, 200, VRING_DESC_F_NEXT,
		       1);
	gdrv_raw_table(&r.drv, table, 1, r.data + 0x1000, 300,
		       VRING_DESC_F_WRITE, 0);
	gdrv_raw_publish(&r.drv, Q0, 5);
	T_EQ(gdrv_raw_claim(&r.drv, Q0, 5), 0);
	gdrv_notify(&r.drv, Q0);
	T_ASSERT(!vrig_needs_reset(&r));
	T_EQ(gdrv_get_used(&r.drv, Q0, &head, &len), 1);
	T_EQ(head, 5);
	T_EQ(len, 300);
	T_ASSERT(!memcmp(fg_ptr(r.fg, r.data, 300),
			 fg_ptr(r.fg, r.data + 0x1000, 300), 300));
	T_RIG_FINI(&r);
}

static void indirect_descriptor_write_flag_ignored(void)
{
	RIG(r);
	uint64_t table;
	uint16_t head;
	uint32_t len;

	/* Spec 2.7.5.3.2: the device ignores WRITE on the indirect descriptor. */
	T_RIG_START(&r, NULL);
	table = r.data + 0x40000;
	fg_fill(r.fg, r.data, 64, 3);
	gdrv_raw_table(&r.drv, table, 0, r.data, 64, VRING_DESC_F_NEXT, 1);
	gdrv_raw_table(&r.drv, table, 1, r.data + 0x1000, 64,
		       VRING_DESC_F_WRITE, 0);
	gdrv_raw_desc(&r.drv, Q0, 0, table, 32,
		      VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	gdrv_raw_publish(&r.drv, Q0, 0);
	T_EQ(gdrv_raw_claim(&r.drv, Q0, 0), 0);
	gdrv_notify(&r.drv, Q0);
	T_ASSERT(!vrig_needs_reset(&r));
	T_EQ(gdrv_get_used(&r.drv, Q0, &head, &len), 1);
	T_EQ(len, 64);
	T_ASSERT(fg_check(r.fg, r.data + 0x1000, 64, 3));
	T_RIG_FINI(&r);
}

static void full_size_indirect_table(void)
{
	const struct vrig_opts o = { .num = 16 };
	RIG(r);

	/* A table of exactly queue-size entries is legal. */
	T_RIG_START(&r, &o);
	T_EQ(echo_chain(&r, 8, 8, 512, GDRV_INDIRECT, 5), 0);
	T_RIG_FINI(&r);
}

static void full_size_direct_chain(void)
{
	const struct vrig_opts o = { .num = 32 };
	RIG(r);

	/* A chain using every descriptor of the table. */
	T_RIG_START(&r, &o);
	T_EQ(echo_chain(&r, 16, 16, 333, 0, 9), 0);
	T_RIG_FINI(&r);
}

static void buffer_ending_at_last_byte_of_ram(void)
{
	RIG(r);
	uint64_t last;

	T_RIG_START(&r, NULL);
	last = RAM_END(&r) - 512;
	fg_fill(r.fg, last, 512, 11);
	T_EQ(gdrv_xfer(&r.drv, Q0, last, 512, r.data, 512, 0), 512);
	T_ASSERT(fg_check(r.fg, r.data, 512, 11));
	T_RIG_FINI(&r);
}

static void used_len_is_bytes_written(void)
{
	RIG(r);

	T_RIG_START(&r, NULL);
	T_EQ(gdrv_xfer(&r.drv, Q0, r.data, 100, r.data + 0x1000, 300, 0), 100);
	T_EQ(gdrv_xfer(&r.drv, Q0, r.data, 300, r.data + 0x1000, 100, 0), 100);
	/* Only-readable and only-writable chains: nothing written. */
	T_EQ(gdrv_xfer(&r.drv, Q0, r.data, 300, 0, 0, 0), 0);
	T_EQ(gdrv_xfer(&r.drv, Q0, 0, 0, r.data, 300, 0), 0);
	T_RIG_FINI(&r);
}

static void device_writes_only_inside_buffers(void)
{
	RIG(r);
	const uint64_t in = 0x2000 - 10; /* offset in the data area */

	T_RIG_START(&r, NULL);
	fg_fill(r.fg, r.data, VRIG_DATA_SIZE, 99);
	T_EQ(gdrv_xfer(&r.drv, Q0, r.data, 1000, r.data + in, 20, 0), 20);
	/* Readable buffer intact, writable one echoed, the rest untouched. */
	T_ASSERT(fg_check(r.fg, r.data, in, 99));
	T_ASSERT(!memcmp(fg_ptr(r.fg, r.data + in, 20),
			 fg_ptr(r.fg, r.data, 20), 20));
	for (uint64_t i = in + 20; i < in + 4096; i++)
		T_EQ(*(uint8_t *)fg_ptr(r.fg, r.data + i, 1),
		     fg_pattern(99, i));
	T_RIG_FINI(&r);
}

static void rings_not_written_by_device(void)
{
	RIG(r);
	static uint8_t desc[16 * 16], avail[6 + 2 * 16];
	struct gdrv_vq *v;

	T_RIG_START(&r, &hold);
	v = &r.drv.vqs[Q0];
	for (int i = 0; i < 5; i++)
		T_ASSERT(gdrv_xfer(&r.drv, Q0, r.data, 8, r.data + 64, 8, 0) ==
			 -ETIMEDOUT);
	memcpy(desc, v->desc, sizeof(desc));
	memcpy(avail, v->avail, sizeof(avail));
	testdev_complete_all(&r.td, Q0);
	T_ASSERT(!memcmp(desc, v->desc, sizeof(desc)));
	T_ASSERT(!memcmp(avail, v->avail, sizeof(avail)));
	T_EQ(gdrv_used_idx(&r.drv, Q0), 5);
	T_RIG_FINI(&r);
}

static void out_of_order_completion(void)
{
	RIG(r);
	int heads[3];
	uint16_t head;
	uint32_t len;
	struct gdrv_buf b[2];

	T_RIG_START(&r, &hold);
	for (int i = 0; i < 3; i++) {
		b[0] = (struct gdrv_buf){ r.data + i * 0x1000, 10 + i, false };
		b[1] = (struct gdrv_buf){ r.data + 0x10000 + i * 0x1000, 100,
					  true };
		heads[i] = gdrv_add(&r.drv, Q0, b, 2, 0);
		T_ASSERT(heads[i] >= 0);
	}
	gdrv_kick(&r.drv, Q0);
	T_EQ(testdev_nr_held(&r.td, Q0), 3);
	T_EQ(testdev_complete(&r.td, Q0, 2), heads[2]);
	T_EQ(testdev_complete(&r.td, Q0, 0), heads[0]);
	T_EQ(testdev_complete(&r.td, Q0, 0), heads[1]);
	vq_flush(vrig_vq(&r, Q0));
	T_EQ(gdrv_get_used(&r.drv, Q0, &head, &len), 1);
	T_EQ(head, heads[2]);
	T_EQ(len, 12);
	T_EQ(gdrv_get_used(&r.drv, Q0, &head, &len), 1);
	T_EQ(head, heads[0]);
	T_EQ(len, 10);
	T_EQ(gdrv_get_used(&r.drv, Q0, &head, &len), 1);
	T_EQ(head, heads[1]);
	T_EQ(gdrv_get_used(&r.drv, Q0, &head, &len), 0);
	T_RIG_FINI(&r);
}

static void queues_are_independent(void)
{
	RIG(r);
	uint16_t head;
	uint32_t len;

	T_RIG_START(&r, &hold);
	T_EQ(gdrv_xfer(&r.drv, 0, r.data, 8, r.data + 64, 8, 0), -ETIMEDOUT);
	T_EQ(testdev_nr_held(&r.td, 0), 1);
	T_EQ(vrig_canary(&r, 1), 0); /* queue 1 echoes meanwhile */
	T_EQ(gdrv_used_idx(&r.drv, 0), 0);
	testdev_complete_all(&r.td, 0);
	T_EQ(gdrv_get_used(&r.drv, 0, &head, &len), 1);
	T_EQ(len, 8);
	T_RIG_FINI(&r);
}

/*
 * @rounds batches of requests (1 up to what the ring holds), so the 16-bit
 * avail and used indices wrap around more than once; every request is
 * checked. A one-entry ring gets one-descriptor (writable) requests.
 */
static int run_rounds(struct vrig *r, unsigned int rounds)
{
	struct gdrv_vq *v = &r->drv.vqs[Q0];
	unsigned int ndesc = v->num > 1 ? 2 : 1, done = 0;
	unsigned int max = v->num / ndesc;
	struct gdrv_buf b[2];
	uint16_t head;
	uint32_t len;

	for (unsigned int k = 0; k < rounds; k++) {
		unsigned int batch = 1 + k % max;

		for (unsigned int i = 0; i < batch; i++) {
			uint64_t out = r->data + i * 64;
			uint64_t in = r->data + 0x10000 + i * 64;

			*(uint32_t *)fg_ptr(r->fg, out, 4) = done + i;
			*(uint32_t *)fg_ptr(r->fg, in, 4) = 0;
			b[0] = (struct gdrv_buf){ out, 4, false };
			b[1] = (struct gdrv_buf){ in, 4 + i % 3, true };
			T_CHECK(gdrv_add(&r->drv, Q0, b + 2 - ndesc, ndesc,
					 0) >= 0);
		}
		T_CHECK(gdrv_kick(&r->drv, Q0));
		for (unsigned int i = 0; i < batch; i++) {
			uint64_t in = r->data + 0x10000 + i * 64;
			uint32_t want = ndesc == 2 ? done + i : 0;

			T_CHECK(gdrv_get_used(&r->drv, Q0, &head, &len) == 1);
			T_CHECK(len == (ndesc == 2 ? 4 : 0));
			T_CHECK(*(uint32_t *)fg_ptr(r->fg, in, 4) == want);
		}
		T_CHECK(gdrv_get_used(&r->drv, Q0, &head, &len) == 0);
		gdrv_ack_irq(&r->drv);
		done += batch;
	}
	T_CHECK(done > 2 * 65536); /* the indices wrapped twice */
	T_CHECK(v->avail_idx == (uint16_t)done);
	T_CHECK(gdrv_used_idx(&r->drv, Q0) == (uint16_t)done);
	return 0;
}

static void indices_wrap_around_with_event_idx(void)
{
	const struct vrig_opts o = { .num = 8 };
	RIG(r);

	T_RIG_START(&r, &o);
	T_ASSERT(vdev_has(vrig_vdev(&r), VIRTIO_RING_F_EVENT_IDX));
	T_EQ(run_rounds(&r, 60000), 0);
	T_EQ(fg_live(r.fg), r.baseline);
	T_RIG_FINI(&r);
}

static void indices_wrap_around_without_event_idx(void)
{
	const struct vrig_opts o = {
		.num = 4,
		.features = without(VIRTIO_RING_F_EVENT_IDX),
	};
	RIG(r);

	T_RIG_START(&r, &o);
	T_ASSERT(!vdev_has(vrig_vdev(&r), VIRTIO_RING_F_EVENT_IDX));
	T_EQ(run_rounds(&r, 100000), 0);
	T_EQ(fg_live(r.fg), r.baseline);
	T_RIG_FINI(&r);
}

static void guarded_full_rings_echo(void)
{
	const struct vrig_opts o = { .num = 256, .guard = true };
	RIG(r);

	/*
	 * Every map in its own window between inaccessible pages; the
	 * descriptor table and a 256-entry indirect table end on page edges.
	 */
	T_RIG_START(&r, &o);
	for (uint32_t k = 0; k < 600; k++) {
		unsigned int n = 1 + k % 128;

		if (echo_chain(&r, n, n, 16 + k % 50,
			       (k & 1) ? GDRV_INDIRECT : 0, k))
			return;
	}
	T_EQ(echo_chain(&r, 128, 128, 16, GDRV_INDIRECT, 1), 0);
	T_EQ(fg_live(r.fg), r.baseline);
	T_RIG_FINI(&r);
}

/* ---- notification suppression -------------------------------------- */

/* Queue @n one-descriptor requests and let the HOLD device pop them. */
static int hold_n(struct vrig *r, unsigned int n)
{
	unsigned int held = testdev_nr_held(&r->td, Q0);
	struct gdrv_buf b;

	for (unsigned int i = 0; i < n; i++) {
		b = (struct gdrv_buf){ r->data + 0x8000 + i * 64, 8, true };
		T_CHECK(gdrv_add(&r->drv, Q0, &b, 1, 0) >= 0);
	}
	gdrv_notify(&r->drv, Q0);
	T_CHECK(testdev_nr_held(&r->td, Q0) == held + n);
	return 0;
}

static void used_event_delays_interrupt(void)
{
	RIG(r);
	struct gdrv_vq *v;

	T_RIG_START(&r, &hold);
	v = &r.drv.vqs[Q0];
	v->manual_used_event = true;
	/* One round trip first: the first interrupt may be unconditional. */
	T_EQ(hold_n(&r, 1), 0);
	testdev_complete_all(&r.td, Q0);
	T_EQ(r.drv.nr_irqs, 1);
	/* Acknowledged: the next VRING interrupt is a new edge. */
	T_EQ(gdrv_ack_irq(&r.drv), VIRTIO_MMIO_INT_VRING);
	T_EQ(hold_n(&r, 4), 0);
	/* Interrupt me once used idx moves past 3 (the 4th element). */
	*v->used_event = htole16(3);
	for (int i = 0; i < 2; i++) {
		testdev_complete(&r.td, Q0, 0);
		T_EQ(vq_flush(vrig_vq(&r, Q0)), false);
		T_EQ(r.drv.nr_irqs, 1);
		T_EQ(gdrv_used_idx(&r.drv, Q0), i + 2);
	}
	testdev_complete(&r.td, Q0, 0);
	T_EQ(vq_flush(vrig_vq(&r, Q0)), true);
	T_EQ(r.drv.nr_irqs, 2);
	T_EQ(gdrv_ack_irq(&r.drv), VIRTIO_MMIO_INT_VRING);
	/* used_event now behind: no interrupt for the next one. */
	testdev_complete(&r.td, Q0, 0);
	T_EQ(vq_flush(vrig_vq(&r, Q0)), false);
	T_EQ(r.drv.nr_irqs, 2);
	T_EQ(gdrv_used_idx(&r.drv, Q0), 5);
	/* The queue's counters: 5 published, 2 interrupts, 2 kicks. */
	T_EQ(vrig_vq(&r, Q0)->nr_used, 5);
	T_EQ(vrig_vq(&r, Q0)->nr_irqs, 2);
	T_EQ(vrig_vq(&r, Q0)->nr_kicks, 2);
	T_RIG_FINI(&r);
}

static void used_event_batch_crossing_interrupts(void)
{
	RIG(r);
	struct gdrv_vq *v;

	T_RIG_START(&r, &hold);
	v = &r.drv.vqs[Q0];
	v->manual_used_event = true;
	T_EQ(hold_n(&r, 1), 0);
	testdev_complete_all(&r.td, Q0);
	T_EQ(r.drv.nr_irqs, 1);
	/* Acknowledged: the next VRING interrupt is a new edge. */
	T_EQ(gdrv_ack_irq(&r.drv), VIRTIO_MMIO_INT_VRING);
	T_EQ(hold_n(&r, 4), 0);
	*v->used_event = htole16(2);
	/* Elements 1..4 in one flush cross used_event: one interrupt. */
	testdev_complete_all(&r.td, Q0);
	T_EQ(r.drv.nr_irqs, 2);
	T_EQ(gdrv_used_idx(&r.drv, Q0), 5);
	T_EQ(gdrv_ack_irq(&r.drv), VIRTIO_MMIO_INT_VRING);
	/* And a batch that stays short of it: none. */
	*v->used_event = htole16(10);
	T_EQ(hold_n(&r, 3), 0);
	testdev_complete_all(&r.td, Q0);
	T_EQ(r.drv.nr_irqs, 2);
	T_EQ(gdrv_used_idx(&r.drv, Q0), 8);
	T_RIG_FINI(&r);
}

/* ---- interrupt moderation (vq_flush_hold / vq_irq_release) ---- */

/* Queues @n chains of 8 writable bytes on queue @q, kicks: all held. */
static int hold_q(struct vrig *r, unsigned int q, unsigned int n)
{
	unsigned int held = testdev_nr_held(&r->td, q);
	struct gdrv_buf b;

	for (unsigned int i = 0; i < n; i++) {
		b = (struct gdrv_buf){ r->data + 0x8000 + q * 0x1000 + i * 64,
				       8, true };
		T_CHECK(gdrv_add(&r->drv, q, &b, 1, 0) >= 0);
	}
	gdrv_notify(&r->drv, q);
	T_CHECK(testdev_nr_held(&r->td, q) == held + n);
	return 0;
}

/* Held completions are published at once; one interrupt covers them all. */
static void held_interrupt_covers_a_batch(void)
{
	struct vq *vq;
	RIG(r);

	T_RIG_START(&r, &hold);
	vq = vrig_vq(&r, Q0);
	r.drv.vqs[Q0].manual_used_event = true;
	T_EQ(hold_q(&r, Q0, 4), 0);
	for (int i = 0; i < 3; i++) {
		testdev_complete(&r.td, Q0, 0);
		T_EQ(vq_flush_hold(vq), true);
		/* The driver can see them (NAPI, polling) but got no interrupt. */
		T_EQ(gdrv_used_idx(&r.drv, Q0), i + 1);
		T_EQ(r.drv.nr_irqs, 0);
	}
	T_EQ(vq_irq_release(vq), true);
	T_EQ(r.drv.nr_irqs, 1);
	/* Owed once, raised once. */
	T_EQ(vq_irq_release(vq), false);
	T_EQ(r.drv.nr_irqs, 1);
	T_EQ(gdrv_ack_irq(&r.drv), VIRTIO_MMIO_INT_VRING);
	/* An owed interrupt goes out with the next plain flush: no loss. */
	*r.drv.vqs[Q0].used_event = htole16(gdrv_used_idx(&r.drv, Q0));
	testdev_complete(&r.td, Q0, 0);
	T_EQ(vq_flush_hold(vq), true);
	T_EQ(r.drv.nr_irqs, 1);
	T_EQ(vq_flush(vq), true);
	T_EQ(r.drv.nr_irqs, 2);
	T_EQ(vq->irq_held, false);
	T_EQ(vq->nr_irqs, 2);
	T_EQ(vq->nr_used, 4);
	T_RIG_FINI(&r);
}

/* An interrupt nobody asked for (used_event ahead) is not owed either. */
static void hold_respects_used_event(void)
{
	struct gdrv_vq *v;
	struct vq *vq;
	RIG(r);

	T_RIG_START(&r, &hold);
	vq = vrig_vq(&r, Q0);
	v = &r.drv.vqs[Q0];
	v->manual_used_event = true;
	T_EQ(hold_q(&r, Q0, 1), 0);
	testdev_complete_all(&r.td, Q0);
	T_EQ(r.drv.nr_irqs, 1);
	T_EQ(gdrv_ack_irq(&r.drv), VIRTIO_MMIO_INT_VRING);
	*v->used_event = htole16(10);
	T_EQ(hold_q(&r, Q0, 2), 0);
	testdev_complete(&r.td, Q0, 0);
	T_EQ(vq_flush_hold(vq), false);
	T_EQ(vq_irq_release(vq), false);
	T_EQ(r.drv.nr_irqs, 1);
	T_RIG_FINI(&r);
}

/*
 * One line for all queues: a raise by another queue after the held
 * publish covers it (the driver's handler reads every used ring); one
 * before it does not.
 */
static void held_interrupt_shared_with_another_queue(void)
{
	struct vq *q0, *q1;
	RIG(r);

	T_RIG_START(&r, &hold);
	q0 = vrig_vq(&r, Q0);
	q1 = vrig_vq(&r, 1);
	r.drv.vqs[Q0].manual_used_event = true;
	r.drv.vqs[1].manual_used_event = true;
	T_EQ(hold_q(&r, Q0, 2), 0);
	T_EQ(hold_q(&r, 1, 2), 0);
	/* Queue 1 raises first, then queue 0 holds: not covered. */
	testdev_complete(&r.td, 1, 0);
	T_EQ(vq_flush(q1), true);
	T_EQ(r.drv.nr_irqs, 1);
	T_EQ(gdrv_ack_irq(&r.drv), VIRTIO_MMIO_INT_VRING);
	testdev_complete(&r.td, Q0, 0);
	T_EQ(vq_flush_hold(q0), true);
	T_EQ(vq_irq_release(q0), true);
	T_EQ(r.drv.nr_irqs, 2);
	T_EQ(gdrv_ack_irq(&r.drv), VIRTIO_MMIO_INT_VRING);
	/* Queue 0 holds, then queue 1 raises: covered, nothing more. */
	*r.drv.vqs[Q0].used_event = htole16(gdrv_used_idx(&r.drv, Q0));
	*r.drv.vqs[1].used_event = htole16(gdrv_used_idx(&r.drv, 1));
	testdev_complete(&r.td, Q0, 0);
	T_EQ(vq_flush_hold(q0), true);
	testdev_complete(&r.td, 1, 0);
	T_EQ(vq_flush(q1), true);
	T_EQ(r.drv.nr_irqs, 3);
	T_EQ(vq_irq_release(q0), false);
	T_EQ(r.drv.nr_irqs, 3);
	T_EQ(q0->nr_shared, 1);
	T_EQ(gdrv_used_idx(&r.drv, Q0), 2);
	/* A plain flush with nothing new pays a covered hold with nothing. */
	T_EQ(gdrv_ack_irq(&r.drv), VIRTIO_MMIO_INT_VRING);
	*r.drv.vqs[Q0].used_event = htole16(gdrv_used_idx(&r.drv, Q0));
	*r.drv.vqs[1].used_event = htole16(gdrv_used_idx(&r.drv, 1));
	T_EQ(hold_q(&r, Q0, 1), 0);
	T_EQ(hold_q(&r, 1, 1), 0);
	testdev_complete(&r.td, Q0, 0);
	T_EQ(vq_flush_hold(q0), true);
	testdev_complete(&r.td, 1, 0);
	T_EQ(vq_flush(q1), true);
	T_EQ(vq_flush(q0), false);
	T_EQ(q0->irq_held, false);
	T_EQ(q0->nr_shared, 2);
	T_EQ(r.drv.nr_irqs, 4);
	T_RIG_FINI(&r);
}

/* A reset forgets an owed interrupt: the rings it was for are gone. */
static void reset_forgets_held_interrupt(void)
{
	struct vq *vq;
	RIG(r);

	T_RIG_START(&r, &hold);
	vq = vrig_vq(&r, Q0);
	T_EQ(hold_q(&r, Q0, 1), 0);
	testdev_complete(&r.td, Q0, 0);
	T_EQ(vq_flush_hold(vq), true);
	vdev_set_status(vrig_vdev(&r), 0);
	T_EQ(vq->irq_held, false);
	T_EQ(vq_irq_release(vq), false);
	T_EQ(r.drv.nr_irqs, 0);
	T_RIG_FINI(&r);
}

static void event_idx_ignores_no_interrupt_flag(void)
{
	RIG(r);

	/* Spec 2.7.7.2: with EVENT_IDX the device ignores avail->flags. */
	T_RIG_START(&r, &hold);
	r.drv.vqs[Q0].avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	T_EQ(hold_n(&r, 1), 0);
	testdev_complete(&r.td, Q0, 0);
	T_EQ(vq_flush(vrig_vq(&r, Q0)), true);
	T_EQ(r.drv.nr_irqs, 1);
	T_RIG_FINI(&r);
}

static void no_interrupt_flag_suppresses_without_event_idx(void)
{
	const struct vrig_opts o = {
		.mode = TESTDEV_HOLD,
		.features = without(VIRTIO_RING_F_EVENT_IDX),
	};
	RIG(r);
	struct gdrv_vq *v;

	T_RIG_START(&r, &o);
	v = &r.drv.vqs[Q0];
	*v->used_event = htole16(0x7777); /* must be ignored */
	v->avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	T_EQ(hold_n(&r, 2), 0);
	testdev_complete(&r.td, Q0, 0);
	T_EQ(vq_flush(vrig_vq(&r, Q0)), false);
	T_EQ(r.drv.nr_irqs, 0);
	T_EQ(gdrv_used_idx(&r.drv, Q0), 1);
	v->avail->flags = 0;
	testdev_complete(&r.td, Q0, 0);
	T_EQ(vq_flush(vrig_vq(&r, Q0)), true);
	T_EQ(r.drv.nr_irqs, 1);
	T_RIG_FINI(&r);
}

static void avail_event_asks_for_next_kick(void)
{
	RIG(r);
	struct gdrv_vq *v;

	T_RIG_START(&r, NULL);
	v = &r.drv.vqs[Q0];
	for (int i = 0; i < 3; i++)
		T_EQ(gdrv_xfer(&r.drv, Q0, r.data, 8, r.data + 64, 8, 0), 8);
	/* Idle after 3 chains: kick me at the 4th. */
	T_EQ(le16toh(*v->avail_event), 3);
	T_EQ(r.drv.nr_notifies, 3);
	T_RIG_FINI(&r);
}

static void kick_enable_reports_late_chains(void)
{
	const struct vrig_opts o = { .mode = TESTDEV_MANUAL };
	RIG(r);
	struct gdrv_buf b = { 0, 8, false };
	struct vq *vq;

	T_RIG_START(&r, &o);
	vq = vrig_vq(&r, Q0);
	b.gpa = r.data;
	T_ASSERT(gdrv_add(&r.drv, Q0, &b, 1, 0) >= 0);
	vq_kick_disable(vq);
	T_EQ(vq_pop(vq, &chain), 1);
	vq_push(vq, &chain, 0);
	T_EQ(vq_kick_enable(vq), false);
	T_EQ(le16toh(*r.drv.vqs[Q0].avail_event), 1);
	/* A chain that arrives before the re-check must be reported. */
	T_ASSERT(gdrv_add(&r.drv, Q0, &b, 1, 0) >= 0);
	T_EQ(vq_kick_enable(vq), true);
	T_EQ(vq_pop(vq, &chain), 1);
	vq_push(vq, &chain, 0);
	vq_flush(vq);
	T_RIG_FINI(&r);
}

static void no_notify_flag_without_event_idx(void)
{
	const struct vrig_opts o = {
		.mode = TESTDEV_MANUAL,
		.features = without(VIRTIO_RING_F_EVENT_IDX),
	};
	RIG(r);
	struct gdrv_buf b = { 0, 8, false };
	struct vq *vq;

	T_RIG_START(&r, &o);
	vq = vrig_vq(&r, Q0);
	b.gpa = r.data;
	vq_kick_disable(vq);
	T_ASSERT(le16toh(r.drv.vqs[Q0].used->flags) & VRING_USED_F_NO_NOTIFY);
	T_ASSERT(gdrv_add(&r.drv, Q0, &b, 1, 0) >= 0);
	T_EQ(gdrv_kick_prepare(&r.drv, Q0), false);
	T_EQ(vq_kick_enable(vq), true); /* the chain above is pending */
	T_EQ(le16toh(r.drv.vqs[Q0].used->flags) & VRING_USED_F_NO_NOTIFY, 0);
	T_EQ(vq_pop(vq, &chain), 1);
	vq_push(vq, &chain, 0);
	vq_flush(vq);
	T_EQ(vq_kick_enable(vq), false);
	T_ASSERT(gdrv_add(&r.drv, Q0, &b, 1, 0) >= 0);
	T_EQ(gdrv_kick_prepare(&r.drv, Q0), true);
	T_EQ(vq_pop(vq, &chain), 1);
	vq_push(vq, &chain, 0);
	T_RIG_FINI(&r);
}

/* ---- copy, then validate, then use ----------------------------------- */

struct refetch {
	struct vrig *r;
	uint64_t trigger;
	unsigned int fired;
};

/* While the device maps the buffer, the guest rewrites its descriptor. */
static void rewrite_desc0(struct fakeguest *fg, uint64_t gpa, size_t len,
			  void *arg)
{
	struct refetch *rf = arg;

	if (gpa != rf->trigger || rf->fired++)
		return;
	gdrv_raw_desc(&rf->r->drv, Q0, 0, rf->r->data, 0x100000,
		      VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0);
}

static void descriptor_read_once(void)
{
	RIG(r);
	struct refetch rf;

	T_RIG_START(&r, &manual);
	rf = (struct refetch){ &r, r.data, 0 };
	gdrv_raw_desc(&r.drv, Q0, 0, r.data, 0x100, 0, 0);
	gdrv_raw_publish(&r.drv, Q0, 0);
	fg_set_hook(r.fg, rewrite_desc0, &rf);
	T_EQ(vq_pop(vrig_vq(&r, Q0), &chain), 1);
	fg_set_hook(r.fg, NULL, NULL);
	T_EQ(rf.fired, 1);
	/* The chain is what the descriptor said when it was read. */
	T_EQ(chain.nr_out, 1);
	T_EQ(chain.nr_in, 0);
	T_EQ(chain.out_len, 0x100);
	T_ASSERT(!testdev_chain_check(r.fg, &chain, r.o.num));
	vq_push(vrig_vq(&r, Q0), &chain, 0);
	T_EQ(fg_live(r.fg), r.baseline);
	T_RIG_FINI(&r);
}

/* ---- reset with chains in flight ------------------------------------ */

static void reset_with_full_ring_in_flight(void)
{
	const struct vrig_opts o = { .mode = TESTDEV_HOLD, .num = 256 };
	static uint8_t used_before[6 + 8 * 256], data_before[0x10000];
	struct gdrv_buf b[2];
	uint64_t used_gpa;
	RIG(r);

	T_RIG_START(&r, &o);
	used_gpa = r.drv.vqs[Q0].used_gpa;
	fg_fill(r.fg, r.data, 0x10000, 4);
	for (unsigned int i = 0; i < 256; i++) {
		b[0] = (struct gdrv_buf){ r.data + i * 64, 64, false };
		b[1] = (struct gdrv_buf){ r.data + 0x8000 + i * 32, 32, true };
		T_ASSERT(gdrv_add(&r.drv, Q0, b, 2, GDRV_INDIRECT) >= 0);
	}
	gdrv_notify(&r.drv, Q0);
	T_EQ(testdev_nr_held(&r.td, Q0), 256);
	T_EQ(fg_live(r.fg), r.baseline + 512);
	T_EQ(fg_read(r.fg, used_gpa, used_before, sizeof(used_before)), 0);
	T_EQ(fg_read(r.fg, r.data, data_before, sizeof(data_before)), 0);

	T_EQ(gdrv_reset(&r.drv), 0);
	T_EQ(testdev_nr_held(&r.td, Q0), 0);
	T_EQ(r.td.q[Q0].released, 256);
	T_EQ(fg_live(r.fg), 0);
	/* Nothing written to the old used ring or buffers by the reset. */
	T_ASSERT(!memcmp(used_before, fg_ptr(r.fg, used_gpa, 1),
			 sizeof(used_before)));
	T_ASSERT(!memcmp(data_before, fg_ptr(r.fg, r.data, 1),
			 sizeof(data_before)));
	/* New rings elsewhere; then I/O works on both queues. */
	r.fresh = true;
	T_RIG(&r, vrig_up(&r));
	T_ASSERT(r.drv.vqs[Q0].used_gpa != used_gpa);
	T_RIG(&r, vrig_canary(&r, Q0));
	T_RIG(&r, vrig_canary(&r, 1));
	T_ASSERT(!memcmp(used_before, fg_ptr(r.fg, used_gpa, 1),
			 sizeof(used_before)));
	T_RIG_FINI(&r);
}

static void in_flight_never_exceeds_queue_size(void)
{
	const struct vrig_opts o = { .mode = TESTDEV_HOLD, .num = 4 };
	RIG(r);

	T_RIG_START(&r, &o);
	T_EQ(hold_n(&r, 4), 0);
	/* Publish the 4 heads again while all 4 are still in flight. */
	for (uint16_t h = 0; h < 4; h++)
		gdrv_raw_publish(&r.drv, Q0, h);
	gdrv_notify(&r.drv, Q0);
	/* Either refused (NEEDS_RESET) or left pending: never over-popped. */
	T_EQ(r.td.q[Q0].overflow, 0);
	T_EQ(r.td.q[Q0].budget_hit, 0);
	T_EQ(testdev_nr_held(&r.td, Q0), 4);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

/* ---- malformed rings: NEEDS_RESET ------------------------------------- */

struct bad_case {
	const char *name;
	void (*build)(struct vrig *r);
	struct vrig_opts o;
};

/* Publish head 0 after the builder wrote descriptor(s). */
static void publish0(struct vrig *r)
{
	gdrv_raw_publish(&r->drv, Q0, 0);
}

static void build_loop_self(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, r->data, 64, VRING_DESC_F_NEXT, 0);
	publish0(r);
}

static void build_loop_two(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, r->data, 64, VRING_DESC_F_NEXT, 1);
	gdrv_raw_desc(&r->drv, Q0, 1, r->data + 64, 64, VRING_DESC_F_NEXT, 0);
	publish0(r);
}

static void build_loop_whole_table(struct vrig *r)
{
	for (uint16_t i = 0; i < r->o.num; i++)
		gdrv_raw_desc(&r->drv, Q0, i, r->data + 0x1000 * i, 16,
			      VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
			      (i + 1) % r->o.num);
	publish0(r);
}

static void build_loop_back_to_middle(struct vrig *r)
{
	/* 0 -> 1 -> 2 -> 3 -> 2: zero-length-free, all writable. */
	for (uint16_t i = 0; i < 4; i++)
		gdrv_raw_desc(&r->drv, Q0, i, r->data + 64 * i, 64,
			      VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
			      i == 3 ? 2 : i + 1);
	publish0(r);
}

static void build_next_eq_size(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, r->data, 64, VRING_DESC_F_NEXT, r->o.num);
	publish0(r);
}

static void build_next_ffff(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, r->data, 64, VRING_DESC_F_NEXT, 0xffff);
	publish0(r);
}

static void build_head_eq_size(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, r->data, 64, 0, 0);
	gdrv_raw_publish(&r->drv, Q0, r->o.num);
}

static void build_head_ffff(struct vrig *r)
{
	gdrv_raw_publish(&r->drv, Q0, 0xffff);
}

static void build_avail_jump(struct vrig *r)
{
	for (uint16_t i = 0; i < r->o.num; i++) {
		gdrv_raw_desc(&r->drv, Q0, i, r->data, 64, 0, 0);
		gdrv_raw_avail(&r->drv, Q0, i, i);
	}
	gdrv_raw_avail_idx(&r->drv, Q0, r->o.num + 1);
}

static void build_avail_jump_far(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, r->data, 64, 0, 0);
	gdrv_raw_avail_idx(&r->drv, Q0, 0x8000);
}

static void build_avail_back(struct vrig *r)
{
	/* Two requests complete normally, then avail idx moves back by one. */
	if (vrig_canary(r, Q0))
		return;
	gdrv_raw_avail_idx(&r->drv, Q0, r->drv.vqs[Q0].avail_idx - 1);
}

static void build_len_zero(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, r->data, 0, 0, 0);
	publish0(r);
}

static void build_len_zero_writable_in_chain(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, r->data, 64, VRING_DESC_F_NEXT, 1);
	gdrv_raw_desc(&r->drv, Q0, 1, r->data + 64, 0, VRING_DESC_F_WRITE, 0);
	publish0(r);
}

static void build_len_max(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, r->data, 0xffffffff, 0, 0);
	publish0(r);
}

/* 129 buffers of 32 MiB: 4 GiB + 32 MiB, every one inside 64 MiB of RAM. */
static void build_total_over_4g(struct vrig *r, uint16_t flags)
{
	const uint64_t big = FG_RAM_BASE + (16u << 20);

	for (uint16_t i = 0; i < 129; i++)
		gdrv_raw_desc(&r->drv, Q0, i, big, 32u << 20,
			      flags | (i < 128 ? VRING_DESC_F_NEXT : 0), i + 1);
	publish0(r);
}

static void build_total_over_4g_readable(struct vrig *r)
{
	build_total_over_4g(r, 0);
}

static void build_total_over_4g_writable(struct vrig *r)
{
	build_total_over_4g(r, VRING_DESC_F_WRITE);
}

static void build_addr_wraps(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, 0xfffffffffffff000ULL, 0x2000, 0, 0);
	publish0(r);
}

static void build_addr_wraps_after_ram(struct vrig *r)
{
	/* A valid first buffer, then one whose end wraps past 2^64. */
	gdrv_raw_desc(&r->drv, Q0, 0, r->data, 64, VRING_DESC_F_NEXT, 1);
	gdrv_raw_desc(&r->drv, Q0, 1, UINT64_MAX, 2, VRING_DESC_F_WRITE, 0);
	publish0(r);
}

static void build_below_ram(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, 0x1000, 64, 0, 0);
	publish0(r);
}

static void build_mmio_window(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, FG_MMIO_BASE, 64, VRING_DESC_F_WRITE, 0);
	publish0(r);
}

static void build_straddles_ram_end(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, RAM_END(r) - 32, 64, 0, 0);
	publish0(r);
}

static void build_after_ram(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, RAM_END(r), 64, VRING_DESC_F_WRITE, 0);
	publish0(r);
}

static void build_in_hole(struct vrig *r)
{
	const uint64_t hole = r->data + VRIG_DATA_SIZE / 2;

	fg_set_hole(r->fg, hole, 0x10000);
	gdrv_raw_desc(&r->drv, Q0, 0, hole + 0x100, 64, 0, 0);
	publish0(r);
}

static void build_into_hole(struct vrig *r)
{
	const uint64_t hole = r->data + VRIG_DATA_SIZE / 2;

	fg_set_hole(r->fg, hole, 0x10000);
	gdrv_raw_desc(&r->drv, Q0, 0, hole - 32, 64, VRING_DESC_F_WRITE, 0);
	publish0(r);
}

#define TABLE(r) ((r)->data + 0x80000)

static void build_indirect_in_indirect(struct vrig *r)
{
	gdrv_raw_table(&r->drv, TABLE(r), 0, TABLE(r) + 0x1000, 16,
		       VRING_DESC_F_INDIRECT, 0);
	gdrv_raw_table(&r->drv, TABLE(r) + 0x1000, 0, r->data, 64, 0, 0);
	gdrv_raw_desc(&r->drv, Q0, 0, TABLE(r), 16, VRING_DESC_F_INDIRECT, 0);
	publish0(r);
}

static void build_indirect_with_next(struct vrig *r)
{
	gdrv_raw_table(&r->drv, TABLE(r), 0, r->data, 64, 0, 0);
	gdrv_raw_desc(&r->drv, Q0, 0, TABLE(r), 16,
		      VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	gdrv_raw_desc(&r->drv, Q0, 1, r->data + 64, 64, VRING_DESC_F_WRITE, 0);
	publish0(r);
}

static void build_indirect_len(struct vrig *r, uint32_t len)
{
	for (uint16_t i = 0; i < 64; i++)
		gdrv_raw_table(&r->drv, TABLE(r), i, r->data + 16 * i, 16,
			       i < 63 ? VRING_DESC_F_NEXT : 0, i + 1);
	gdrv_raw_desc(&r->drv, Q0, 0, TABLE(r), len, VRING_DESC_F_INDIRECT, 0);
	publish0(r);
}

static void build_indirect_len_24(struct vrig *r)
{
	build_indirect_len(r, 24);
}

static void build_indirect_len_zero(struct vrig *r)
{
	build_indirect_len(r, 0);
}

static void build_indirect_len_over_size(struct vrig *r)
{
	/* Queue size 16: a table of 17 well-formed entries is too long. */
	for (uint16_t i = 0; i < 17; i++)
		gdrv_raw_table(&r->drv, TABLE(r), i, r->data + 16 * i, 16,
			       i < 16 ? VRING_DESC_F_NEXT : 0, i + 1);
	gdrv_raw_desc(&r->drv, Q0, 0, TABLE(r), 17 * 16, VRING_DESC_F_INDIRECT,
		      0);
	publish0(r);
}

static void build_indirect_len_huge(struct vrig *r)
{
	build_indirect_len(r, 0xfffffff0);
}

static void build_indirect_not_negotiated(struct vrig *r)
{
	gdrv_raw_table(&r->drv, TABLE(r), 0, r->data, 64, 0, 0);
	gdrv_raw_desc(&r->drv, Q0, 0, TABLE(r), 16, VRING_DESC_F_INDIRECT, 0);
	publish0(r);
}

static void build_indirect_outside_ram(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	publish0(r);
}

static void build_indirect_wraps(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, 0xfffffffffffffff0ULL, 32,
		      VRING_DESC_F_INDIRECT, 0);
	publish0(r);
}

static void build_indirect_past_ram_end(struct vrig *r)
{
	gdrv_raw_table(&r->drv, RAM_END(r) - 16, 0, r->data, 64, 0, 0);
	gdrv_raw_desc(&r->drv, Q0, 0, RAM_END(r) - 16, 32,
		      VRING_DESC_F_INDIRECT, 0);
	publish0(r);
}

static void build_indirect_loop(struct vrig *r)
{
	gdrv_raw_table(&r->drv, TABLE(r), 0, r->data, 64, VRING_DESC_F_NEXT, 1);
	gdrv_raw_table(&r->drv, TABLE(r), 1, r->data, 64, VRING_DESC_F_NEXT, 0);
	gdrv_raw_desc(&r->drv, Q0, 0, TABLE(r), 32, VRING_DESC_F_INDIRECT, 0);
	publish0(r);
}

static void build_indirect_next_out_of_table(struct vrig *r)
{
	/* Next 2 in a table of 2 (but inside the queue size). */
	gdrv_raw_table(&r->drv, TABLE(r), 0, r->data, 64, VRING_DESC_F_NEXT, 2);
	gdrv_raw_table(&r->drv, TABLE(r), 1, r->data, 64, 0, 0);
	gdrv_raw_table(&r->drv, TABLE(r), 2, r->data, 64, 0, 0);
	gdrv_raw_desc(&r->drv, Q0, 0, TABLE(r), 32, VRING_DESC_F_INDIRECT, 0);
	publish0(r);
}

static void build_indirect_entry_len_zero(struct vrig *r)
{
	gdrv_raw_table(&r->drv, TABLE(r), 0, r->data, 64, VRING_DESC_F_NEXT, 1);
	gdrv_raw_table(&r->drv, TABLE(r), 1, r->data, 0, VRING_DESC_F_WRITE, 0);
	gdrv_raw_desc(&r->drv, Q0, 0, TABLE(r), 32, VRING_DESC_F_INDIRECT, 0);
	publish0(r);
}

static void build_indirect_entry_outside_ram(struct vrig *r)
{
	gdrv_raw_table(&r->drv, TABLE(r), 0, FG_MMIO_BASE, 64, 0, 0);
	gdrv_raw_desc(&r->drv, Q0, 0, TABLE(r), 16, VRING_DESC_F_INDIRECT, 0);
	publish0(r);
}

static void build_indirect_readable_after_writable(struct vrig *r)
{
	gdrv_raw_table(&r->drv, TABLE(r), 0, r->data, 64,
		       VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	gdrv_raw_table(&r->drv, TABLE(r), 1, r->data + 64, 64, 0, 0);
	gdrv_raw_desc(&r->drv, Q0, 0, TABLE(r), 32, VRING_DESC_F_INDIRECT, 0);
	publish0(r);
}

static void build_direct_plus_indirect_over_size(struct vrig *r)
{
	/* 1 direct + a full 16-entry table: 17 descriptors, queue size 16. */
	for (uint16_t i = 0; i < 16; i++)
		gdrv_raw_table(&r->drv, TABLE(r), i, r->data + 16 * i, 16,
			       VRING_DESC_F_WRITE |
				       (i < 15 ? VRING_DESC_F_NEXT : 0),
			       i + 1);
	gdrv_raw_desc(&r->drv, Q0, 0, r->data, 16, VRING_DESC_F_NEXT, 1);
	gdrv_raw_desc(&r->drv, Q0, 1, TABLE(r), 16 * 16, VRING_DESC_F_INDIRECT,
		      0);
	publish0(r);
}

static void build_readable_after_writable(struct vrig *r)
{
	gdrv_raw_desc(&r->drv, Q0, 0, r->data, 64,
		      VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	gdrv_raw_desc(&r->drv, Q0, 1, r->data + 64, 64, 0, 0);
	publish0(r);
}

static void build_too_many_pieces(struct vrig *r)
{
	/* 2 MiB in 4 KiB pieces: 512 iovecs, more than VQ_MAX_IOV. */
	gdrv_raw_desc(&r->drv, Q0, 0, FG_RAM_BASE + (8u << 20), 2u << 20,
		      VRING_DESC_F_WRITE, 0);
	publish0(r);
}

static void build_good_then_bad(struct vrig *r)
{
	/* A sound chain first: it is released, not leaked, by the failure. */
	gdrv_raw_desc(&r->drv, Q0, 0, r->data, 64, VRING_DESC_F_NEXT, 1);
	gdrv_raw_desc(&r->drv, Q0, 1, r->data + 0x1000, 64,
		      VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	gdrv_raw_desc(&r->drv, Q0, 2, r->data + 0x2000, 64,
		      VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	gdrv_raw_desc(&r->drv, Q0, 3, 0, 64, VRING_DESC_F_WRITE, 0);
	publish0(r);
}

/*
 * Common end of every malformed case: NEEDS_RESET with a config
 * interrupt, nothing completed, nothing left mapped, the queues stay
 * stopped, and a reset brings the device back.
 */
static int check_needs_reset(struct vrig *r, uint16_t used_before,
			     uint64_t irqs_before)
{
	struct gdrv_buf b[2];

	T_CHECK(vrig_needs_reset(r));
	T_CHECK(gdrv_r32(&r->drv, VIRTIO_MMIO_INTERRUPT_STATUS) &
		VIRTIO_MMIO_INT_CONFIG);
	T_CHECK(r->drv.nr_irqs > irqs_before);
	T_CHECK(gdrv_used_idx(&r->drv, Q0) == used_before);
	T_CHECK(fg_live(r->fg) == r->baseline);
	T_CHECK(fg_ok(r->fg));
	/* Stopped: a sound request now is neither popped nor completed. */
	b[0] = (struct gdrv_buf){ r->data, 8, false };
	b[1] = (struct gdrv_buf){ r->data + 64, 8, true };
	r->td.mode = TESTDEV_ECHO;
	T_CHECK(gdrv_add(&r->drv, 1, b, 2, 0) >= 0);
	gdrv_notify(&r->drv, 1);
	gdrv_notify(&r->drv, Q0);
	T_CHECK(gdrv_used_idx(&r->drv, 1) == 0);
	T_CHECK(gdrv_used_idx(&r->drv, Q0) == used_before);
	T_CHECK(vq_pop(vrig_vq(r, 1), &chain) == -EIO);
	T_CHECK(fg_live(r->fg) == r->baseline);
	return 0;
}

static void bad_opts(const struct bad_case *bc, struct vrig_opts *o,
		     enum testdev_mode mode)
{
	*o = bc->o;
	o->mode = mode;
}

/* The device model pops: the first pop fails -EPROTO, then -EIO. */
static void run_bad_pop(const struct bad_case *bc)
{
	struct vrig_opts o;
	RIG(r);
	uint16_t used;
	uint64_t irqs;

	bad_opts(bc, &o, TESTDEV_MANUAL);
	T_RIG_START(&r, &o);
	bc->build(&r);
	T_ASSERT(!vrig_needs_reset(&r));
	used = gdrv_used_idx(&r.drv, Q0);
	irqs = r.drv.nr_irqs;
	T_EQ(vq_pop(vrig_vq(&r, Q0), &chain), -EPROTO);
	T_EQ(fg_live(r.fg), r.baseline);
	T_EQ(vq_pop(vrig_vq(&r, Q0), &chain), -EIO);
	T_EQ(vq_pop(vrig_vq(&r, Q0), &chain), -EIO);
	T_EQ(check_needs_reset(&r, used, irqs), 0);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

/* The guest kicks: the kick ends (no spin), having seen -EPROTO once. */
static void run_bad_kick(const struct bad_case *bc)
{
	struct vrig_opts o;
	RIG(r);
	uint16_t used;
	uint64_t irqs;

	bad_opts(bc, &o, TESTDEV_ECHO);
	T_RIG_START(&r, &o);
	bc->build(&r);
	used = gdrv_used_idx(&r.drv, Q0);
	irqs = r.drv.nr_irqs;
	gdrv_notify(&r.drv, Q0);
	T_EQ(r.td.q[Q0].eproto, 1);
	T_EQ(r.td.q[Q0].budget_hit, 0);
	T_EQ(r.td.q[Q0].pushed, r.td.q[Q0].popped);
	T_EQ(check_needs_reset(&r, used, irqs), 0);
	/* Kicking a broken device again is harmless. */
	gdrv_notify(&r.drv, Q0);
	T_EQ(gdrv_used_idx(&r.drv, Q0), used);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

#define BAD(nm, ...)                                                 \
	static const struct bad_case bad_##nm = { #nm,               \
						  build_##nm,        \
						  { __VA_ARGS__ } }; \
	static void bad_##nm##_pop(void)                             \
	{                                                            \
		run_bad_pop(&bad_##nm);                              \
	}                                                            \
	static void bad_##nm##_kick(void)                            \
	{                                                            \
		run_bad_kick(&bad_##nm);                             \
	}
#define BAD_CASES(nm) T_CASE(bad_##nm##_pop), T_CASE(bad_##nm##_kick)

/* The same builder under other options (guard pages, a full-page table). */
#define BAD_AS(nm, bld, ...)                                         \
	static const struct bad_case bad_##nm = { #nm,               \
						  build_##bld,       \
						  { __VA_ARGS__ } }; \
	static void bad_##nm##_pop(void)                             \
	{                                                            \
		run_bad_pop(&bad_##nm);                              \
	}                                                            \
	static void bad_##nm##_kick(void)                            \
	{                                                            \
		run_bad_kick(&bad_##nm);                             \
	}

BAD(loop_self, .num = 16)
BAD(loop_two, .num = 16)
BAD(loop_whole_table, .num = 16)
BAD(loop_back_to_middle, .num = 16)
BAD(next_eq_size, .num = 16)
BAD(next_ffff, .num = 16)
BAD(head_eq_size, .num = 16)
BAD(head_ffff, .num = 16)
BAD(avail_jump, .num = 16)
BAD(avail_jump_far, .num = 16)
BAD(avail_back, .num = 16)
BAD(len_zero, .num = 16)
BAD(len_zero_writable_in_chain, .num = 16)
BAD(len_max, .num = 16)
BAD(total_over_4g_readable, .num = 256, .ram = 64u << 20)
BAD(total_over_4g_writable, .num = 256, .ram = 64u << 20)
BAD(addr_wraps, .num = 16)
BAD(addr_wraps_after_ram, .num = 16)
BAD(below_ram, .num = 16)
BAD(mmio_window, .num = 16)
BAD(straddles_ram_end, .num = 16)
BAD(after_ram, .num = 16)
BAD(in_hole, .num = 16)
BAD(into_hole, .num = 16)
BAD(indirect_in_indirect, .num = 16)
BAD(indirect_with_next, .num = 16)
BAD(indirect_len_24, .num = 16)
BAD(indirect_len_zero, .num = 16)
BAD(indirect_len_over_size, .num = 16)
BAD(indirect_len_huge, .num = 16)
BAD(indirect_not_negotiated, .num = 16,
    .features = (VRIG_ALL_FEATURES & ~VRIG_F(VIRTIO_RING_F_INDIRECT_DESC)))
BAD(indirect_outside_ram, .num = 16)
BAD(indirect_wraps, .num = 16)
BAD(indirect_past_ram_end, .num = 16)
BAD(indirect_loop, .num = 16)
BAD(indirect_next_out_of_table, .num = 16)
BAD(indirect_entry_len_zero, .num = 16)
BAD(indirect_entry_outside_ram, .num = 16)
BAD(indirect_readable_after_writable, .num = 16)
BAD(direct_plus_indirect_over_size, .num = 16)
BAD(readable_after_writable, .num = 16)
BAD(too_many_pieces, .num = 16, .clamp = true)
BAD(good_then_bad, .num = 16)

/*
 * With 256 entries the descriptor table (and a full indirect table) ends on
 * a page edge, and guard pages make a read one entry past it fault.
 */
static void build_indirect_next_past_full_table(struct vrig *r)
{
	for (uint16_t i = 0; i < 256; i++)
		gdrv_raw_table(&r->drv, TABLE(r), i, r->data + 16 * i, 16,
			       VRING_DESC_F_NEXT, i + 1);
	gdrv_raw_desc(&r->drv, Q0, 0, TABLE(r), 256 * 16, VRING_DESC_F_INDIRECT,
		      0);
	publish0(r);
}

BAD_AS(head_eq_size_guarded, head_eq_size, .num = 256, .guard = true)
BAD_AS(next_eq_size_guarded, next_eq_size, .num = 256, .guard = true)
BAD_AS(loop_whole_table_guarded, loop_whole_table, .num = 256, .guard = true)
BAD(indirect_next_past_full_table, .num = 256, .guard = true)

/* ---- ring setup: invalid layouts leave the queue disabled ------------ */

struct setup_case {
	const char *name;
	uint16_t num; /* 0: use 16 */
	bool num_zero;
	/* Ring addresses relative to a sound layout, or absolute. */
	void (*mod)(struct vrig *r, uint64_t *d, uint64_t *a, uint64_t *u);
};

static void setup_desc_unaligned(struct vrig *r, uint64_t *d, uint64_t *a,
				 uint64_t *u)
{
	*d += 8;
}

static void setup_avail_unaligned(struct vrig *r, uint64_t *d, uint64_t *a,
				  uint64_t *u)
{
	*a += 1;
}

static void setup_used_unaligned(struct vrig *r, uint64_t *d, uint64_t *a,
				 uint64_t *u)
{
	*u += 2;
}

static void setup_desc_overlaps_avail(struct vrig *r, uint64_t *d, uint64_t *a,
				      uint64_t *u)
{
	*a = *d + 16 * 16 - 16;
}

static void setup_avail_overlaps_used(struct vrig *r, uint64_t *d, uint64_t *a,
				      uint64_t *u)
{
	*u = *a + 4;
}

static void setup_used_overlaps_desc(struct vrig *r, uint64_t *d, uint64_t *a,
				     uint64_t *u)
{
	*d = *u + 16 * 4;
}

static void setup_all_same(struct vrig *r, uint64_t *d, uint64_t *a,
			   uint64_t *u)
{
	*a = *u = *d;
}

static void setup_desc_below_ram(struct vrig *r, uint64_t *d, uint64_t *a,
				 uint64_t *u)
{
	*d = 0x10000;
}

static void setup_avail_in_mmio_window(struct vrig *r, uint64_t *d, uint64_t *a,
				       uint64_t *u)
{
	*a = FG_MMIO_BASE;
}

static void setup_used_past_ram_end(struct vrig *r, uint64_t *d, uint64_t *a,
				    uint64_t *u)
{
	*u = RAM_END(r) - 64;
}

static void setup_desc_high_bits(struct vrig *r, uint64_t *d, uint64_t *a,
				 uint64_t *u)
{
	*d |= 1ULL << 32;
}

static void setup_avail_wraps(struct vrig *r, uint64_t *d, uint64_t *a,
			      uint64_t *u)
{
	*a = 0xfffffffffffffffeULL;
}

static void setup_used_in_hole(struct vrig *r, uint64_t *d, uint64_t *a,
			       uint64_t *u)
{
	fg_set_hole(r->fg, *u, 0x1000);
}

static void setup_unset(struct vrig *r, uint64_t *d, uint64_t *a, uint64_t *u)
{
	*d = *a = *u = 0;
}

static void setup_none(struct vrig *r, uint64_t *d, uint64_t *a, uint64_t *u)
{
}

/* A refused queue: NEEDS_RESET and a configuration interrupt. */
static void expect_refused(struct vrig *r)
{
	T_ASSERT(gdrv_r32(&r->drv, VIRTIO_MMIO_STATUS) &
		 VIRTIO_CONFIG_S_NEEDS_RESET);
	T_ASSERT(gdrv_r32(&r->drv, VIRTIO_MMIO_INTERRUPT_STATUS) &
		 VIRTIO_MMIO_INT_CONFIG);
	T_ASSERT(vrig_vdev(r)->nr_irqs > 0);
	/* Broken: DRIVER_OK does not start it. */
	T_ASSERT(gdrv_driver_ok(&r->drv) != 0);
}

static void run_bad_setup(const struct setup_case *sc)
{
	const struct vrig_opts o = { .nr_vqs = 1 };
	uint16_t num = sc->num_zero ? 0 : sc->num ? sc->num : 16;
	uint64_t d, a, u;
	RIG(r);

	T_RIG(&r, vrig_init(&r, &o));
	T_EQ(gdrv_probe(&r.drv), 0);
	T_EQ(gdrv_negotiate(&r.drv, VRIG_ALL_FEATURES), 0);
	d = fg_alloc(r.fg, 0x1000, 0x1000);
	a = fg_alloc(r.fg, 0x1000, 0x1000);
	u = fg_alloc(r.fg, 0x1000, 0x1000);
	sc->mod(&r, &d, &a, &u);
	/*
	 * Refused the spec's way: QueueReady reads back the 1 written, the
	 * device is NEEDS_RESET, and a configuration interrupt tells the
	 * driver (Linux never reads QueueReady back).
	 */
	T_EQ(gdrv_setup_vq_at(&r.drv, Q0, num, d, a, u, true), 1);
	T_EQ(vrig_vq(&r, Q0)->ready, false);
	expect_refused(&r);
	T_EQ(fg_live(r.fg), 0);
	T_ASSERT(fg_ok(r.fg));
	/* The same queue, set up soundly, works. */
	fg_set_hole(r.fg, 0, 0);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

#define BAD_SETUP(nm, ...)                                                  \
	static const struct setup_case setup_##nm##_case = { #nm,           \
							     __VA_ARGS__ }; \
	static void bad_setup_##nm(void)                                    \
	{                                                                   \
		run_bad_setup(&setup_##nm##_case);                          \
	}

BAD_SETUP(num_zero, .num_zero = true, .mod = setup_none)
BAD_SETUP(num_3, .num = 3, .mod = setup_none)
BAD_SETUP(num_255, .num = 255, .mod = setup_none)
BAD_SETUP(num_over_max, .num = 512, .mod = setup_none)
BAD_SETUP(num_0x8000, .num = 0x8000, .mod = setup_none)
BAD_SETUP(desc_unaligned, .mod = setup_desc_unaligned)
BAD_SETUP(avail_unaligned, .mod = setup_avail_unaligned)
BAD_SETUP(used_unaligned, .mod = setup_used_unaligned)
BAD_SETUP(desc_overlaps_avail, .mod = setup_desc_overlaps_avail)
BAD_SETUP(avail_overlaps_used, .mod = setup_avail_overlaps_used)
BAD_SETUP(used_overlaps_desc, .mod = setup_used_overlaps_desc)
BAD_SETUP(all_same, .mod = setup_all_same)
BAD_SETUP(desc_below_ram, .mod = setup_desc_below_ram)
BAD_SETUP(avail_in_mmio_window, .mod = setup_avail_in_mmio_window)
BAD_SETUP(used_past_ram_end, .mod = setup_used_past_ram_end)
BAD_SETUP(desc_high_bits, .mod = setup_desc_high_bits)
BAD_SETUP(avail_wraps, .mod = setup_avail_wraps)
BAD_SETUP(used_in_hole, .mod = setup_used_in_hole)
BAD_SETUP(unset, .mod = setup_unset)

static void ready_without_addresses_written(void)
{
	const struct vrig_opts o = { .nr_vqs = 1 };
	RIG(r);

	/* QueueNum only, then QueueReady: the addresses were never set. */
	T_RIG(&r, vrig_init(&r, &o));
	T_EQ(gdrv_negotiate(&r.drv, VRIG_ALL_FEATURES), 0);
	gdrv_w32(&r.drv, VIRTIO_MMIO_QUEUE_SEL, 0);
	gdrv_w32(&r.drv, VIRTIO_MMIO_QUEUE_NUM, 16);
	gdrv_w32(&r.drv, VIRTIO_MMIO_QUEUE_READY, 1);
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_QUEUE_READY), 1);
	expect_refused(&r);
	T_EQ(fg_live(r.fg), 0);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

static void smallest_rings_accepted(void)
{
	const struct vrig_opts o = { .num = 1 };
	RIG(r);

	/* One entry per queue: legal, and indices still wrap correctly. */
	T_RIG_START(&r, &o);
	T_EQ(run_rounds(&r, 140000), 0);
	T_RIG_FINI(&r);
}

static void rings_packed_back_to_back(void)
{
	const struct vrig_opts o = { .nr_vqs = 1 };
	const uint16_t num = 16;
	uint64_t d;
	RIG(r);

	/* Legacy-style layout: desc, avail, used adjacent (aligned 16/2/4). */
	T_RIG(&r, vrig_init(&r, &o));
	T_EQ(gdrv_negotiate(&r.drv, VRIG_ALL_FEATURES), 0);
	d = fg_alloc(r.fg, 0x1000, 0x1000);
	T_EQ(gdrv_setup_vq_at(&r.drv, Q0, num, d, d + 16 * num,
			      d + 16 * num + 6 + 2 * num + 2, true),
	     1);
	T_EQ(gdrv_reset(&r.drv), 0);
	T_EQ(fg_live(r.fg), 0);
	T_RIG_FINI(&r);
}

T_MAIN(T_CASE(pop_empty_ring_returns_0),
       T_CASE(inflight_counts_each_chain_once),
       T_CASE(pop_direct_chain_maps_each_buffer),
       T_CASE(push_unmaps_and_completes),
       T_CASE(chain_release_unmaps_without_completing),
       T_CASE(pop_indirect_chain), T_CASE(echo_direct_chains),
       T_CASE(echo_indirect_chains), T_CASE(echo_chains_split_at_map_edges),
       T_CASE(split_buffer_iovecs_follow_pages),
       T_CASE(indirect_table_across_map_edge),
       T_CASE(direct_descriptors_then_indirect_table),
       T_CASE(indirect_descriptor_write_flag_ignored),
       T_CASE(full_size_indirect_table), T_CASE(full_size_direct_chain),
       T_CASE(buffer_ending_at_last_byte_of_ram),
       T_CASE(used_len_is_bytes_written),
       T_CASE(device_writes_only_inside_buffers),
       T_CASE(rings_not_written_by_device), T_CASE(out_of_order_completion),
       T_CASE(queues_are_independent),
       T_CASE(indices_wrap_around_with_event_idx),
       T_CASE(indices_wrap_around_without_event_idx),
       T_CASE(smallest_rings_accepted), T_CASE(used_event_delays_interrupt),
       T_CASE(used_event_batch_crossing_interrupts),
       T_CASE(held_interrupt_covers_a_batch), T_CASE(hold_respects_used_event),
       T_CASE(held_interrupt_shared_with_another_queue),
       T_CASE(reset_forgets_held_interrupt),
       T_CASE(event_idx_ignores_no_interrupt_flag),
       T_CASE(no_interrupt_flag_suppresses_without_event_idx),
       T_CASE(avail_event_asks_for_next_kick),
       T_CASE(kick_enable_reports_late_chains),
       T_CASE(no_notify_flag_without_event_idx), T_CASE(descriptor_read_once),
       T_CASE(reset_with_full_ring_in_flight),
       T_CASE(in_flight_never_exceeds_queue_size), BAD_CASES(loop_self),
       BAD_CASES(loop_two), BAD_CASES(loop_whole_table),
       BAD_CASES(loop_back_to_middle), BAD_CASES(next_eq_size),
       BAD_CASES(next_ffff), BAD_CASES(head_eq_size), BAD_CASES(head_ffff),
       BAD_CASES(avail_jump), BAD_CASES(avail_jump_far), BAD_CASES(avail_back),
       BAD_CASES(len_zero), BAD_CASES(len_zero_writable_in_chain),
       BAD_CASES(len_max), BAD_CASES(total_over_4g_readable),
       BAD_CASES(total_over_4g_writable), BAD_CASES(addr_wraps),
       BAD_CASES(addr_wraps_after_ram), BAD_CASES(below_ram),
       BAD_CASES(mmio_window), BAD_CASES(straddles_ram_end),
       BAD_CASES(after_ram), BAD_CASES(in_hole), BAD_CASES(into_hole),
       BAD_CASES(indirect_in_indirect), BAD_CASES(indirect_with_next),
       BAD_CASES(indirect_len_24), BAD_CASES(indirect_len_zero),
       BAD_CASES(indirect_len_over_size), BAD_CASES(indirect_len_huge),
       BAD_CASES(indirect_not_negotiated), BAD_CASES(indirect_outside_ram),
       BAD_CASES(indirect_wraps), BAD_CASES(indirect_past_ram_end),
       BAD_CASES(indirect_loop), BAD_CASES(indirect_next_out_of_table),
       BAD_CASES(indirect_entry_len_zero),
       BAD_CASES(indirect_entry_outside_ram),
       BAD_CASES(indirect_readable_after_writable),
       BAD_CASES(direct_plus_indirect_over_size),
       BAD_CASES(readable_after_writable), BAD_CASES(too_many_pieces),
       BAD_CASES(good_then_bad), BAD_CASES(head_eq_size_guarded),
       BAD_CASES(next_eq_size_guarded), BAD_CASES(loop_whole_table_guarded),
       BAD_CASES(indirect_next_past_full_table),
       T_CASE(guarded_full_rings_echo), T_CASE(bad_setup_num_zero),
       T_CASE(bad_setup_num_3), T_CASE(bad_setup_num_255),
       T_CASE(bad_setup_num_over_max), T_CASE(bad_setup_num_0x8000),
       T_CASE(bad_setup_desc_unaligned), T_CASE(bad_setup_avail_unaligned),
       T_CASE(bad_setup_used_unaligned), T_CASE(bad_setup_desc_overlaps_avail),
       T_CASE(bad_setup_avail_overlaps_used),
       T_CASE(bad_setup_used_overlaps_desc), T_CASE(bad_setup_all_same),
       T_CASE(bad_setup_desc_below_ram), T_CASE(bad_setup_avail_in_mmio_window),
       T_CASE(bad_setup_used_past_ram_end), T_CASE(bad_setup_desc_high_bits),
       T_CASE(bad_setup_avail_wraps), T_CASE(bad_setup_used_in_hole),
       T_CASE(bad_setup_unset), T_CASE(ready_without_addresses_written),
       T_CASE(rings_packed_back_to_back))
