// SPDX-License-Identifier: MIT
/*
 * virtio-net transmit: frames from the guest reach the TAP byte for byte
 * (small, full-sized, 64 KiB TSO with checksum offload), with headers split
 * across descriptors, through indirect tables and clamped mappings, in
 * order; every malformed frame of the hostile-guest table is dropped,
 * counted and completed, and the device stays usable.
 */
#include "net_rig.h"

static uint8_t frame[72 << 10], got[72 << 10];

/* Sends @len bytes of @f with header @h; checks what the host saw. */
static int tx_check(struct nrig *r, const struct virtio_net_hdr_v1 *h,
		    const uint8_t *f, size_t len, const uint32_t *cuts,
		    unsigned int ncut, unsigned int flags)
{
	struct virtio_net_hdr_v1 hh;
	long n;

	T_CHECK(nr_tx_one(r, h, f, len, cuts, ncut, flags) == 0);
	n = nr_host_recv(r, &hh, got, sizeof(got), NR_WAIT_MS);
	T_CHECK(n == (long)len);
	T_CHECK(!memcmp(got, f, len));
	if (h && h->gso_type) {
		T_CHECK(hh.gso_type == h->gso_type);
		T_CHECK(hh.gso_size == h->gso_size);
	}
	if (h && (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		T_CHECK(hh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
		T_CHECK(hh.csum_start == h->csum_start);
		T_CHECK(hh.csum_offset == h->csum_offset);
	}
	T_CHECK(fg_live(r->fg) == r->baseline);
	return 0;
}

static const size_t sizes[] = { 14, 60, 64, 65, 1000, 1514, 1518, 9014 };

static void tx_sizes(const struct nrig_opts *o, unsigned int flags)
{
	struct vnet_stats st;
	uint64_t bytes = 0;
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, o);
	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		nr_frame(frame, sizes[i], i + 1, nr_host_mac);
		T_NR(&r, tx_check(&r, NULL, frame, sizes[i], NULL, 0, flags));
		bytes += sizes[i];
	}
	st = nr_stats(&r);
	T_EQ(st.tx_packets, ARRAY_SIZE(sizes));
	T_EQ(st.tx_bytes, bytes);
	T_EQ(st.tx_dropped + st.tx_errors, 0);
	T_ASSERT(!nr_needs_reset(&r));
	T_NR_FINI(&r);
}

static void tx_frames(void)
{
	tx_sizes(NULL, 0);
}

static void tx_frames_indirect(void)
{
	tx_sizes(NULL, GDRV_INDIRECT);
}

/* Every map ends at a page edge: frames straddle pages in pieces. */
static void tx_frames_clamped(void)
{
	struct nrig_opts o = { .clamp = true };
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, &o);
	for (unsigned int i = 0; i < 8; i++) {
		size_t len = 1514 + i * 1111;

		/* Start the image anywhere in a page. */
		nr_tx_mem(&r, 4096 - 64 * i - 12);
		nr_frame(frame, len, 50 + i, nr_host_mac);
		T_NR(&r, tx_check(&r, NULL, frame, len, NULL, 0,
				  i & 1 ? GDRV_INDIRECT : 0));
	}
	T_NR_FINI(&r);
}

/* The header cut anywhere, alone or sharing a descriptor with the frame. */
static void tx_split_header(void)
{
	static const uint32_t cut_sets[][3] = {
		{ 1, 0, 0 },	  { 4, 0, 0 },	     { 10, 0, 0 },
		{ 11, 0, 0 },	  { 6, 12, 0 },	     { 1, 2, 3 },
		{ 5, 300, 0 },	  { 12 + 14, 0, 0 }, { 100, 700, 1300 },
		{ 12, 13, 1000 },
	};
	static const unsigned int ncut[] = { 1, 1, 1, 1, 2, 3, 2, 1, 3, 3 };
	struct virtio_net_hdr_v1 h;
	struct nrig r NRIG_SCOPED = { 0 };
	size_t len;

	T_NR_START(&r, NULL);
	for (unsigned int i = 0; i < ARRAY_SIZE(ncut); i++) {
		nr_frame(frame, 1514, 70 + i, nr_host_mac);
		T_NR(&r, tx_check(&r, NULL, frame, 1514, cut_sets[i], ncut[i],
				  i & 1 ? GDRV_INDIRECT : 0));
	}
	/* Header and all: one descriptor. */
	T_NR(&r, tx_check(&r, NULL, frame, 1514, NULL, 0, 0));
	/* A checksummed frame whose offload fields straddle descriptors. */
	len = nr_tcp_frame(frame, 1000, 90, false, nr_host_mac, 0, &h);
	T_NR(&r, tx_check(&r, &h, frame, len, cut_sets[5], 3, 0));
	T_NR(&r, tx_check(&r, &h, frame, len, cut_sets[2], 1, GDRV_INDIRECT));
	T_ASSERT(!nr_needs_reset(&r));
	T_NR_FINI(&r);
}

/* 64 KiB TSO frames, IPv4 and IPv6, and plain checksum offload. */
static void tx_gso_and_csum(void)
{
	static const size_t payloads[] = { 65535 - 40, 65000, 30000, 1460 };
	static const uint32_t cuts[] = { 12, 12 + 54, 4096 + 12, 40000 };
	struct virtio_net_hdr_v1 h;
	struct nrig r NRIG_SCOPED = { 0 };
	size_t len;

	T_NR_START(&r, NULL);
	for (unsigned int v6 = 0; v6 < 2; v6++) {
		for (unsigned int i = 0; i < ARRAY_SIZE(payloads); i++) {
			/* IPv6 has no header in its payload length. */
			size_t p = payloads[i] - (v6 && i == 0 ? 20 : 0);

			len = nr_tcp_frame(frame, p, 100 + i, v6, nr_host_mac,
					   1448, &h);
			T_NR(&r, tx_check(&r, &h, frame, len, cuts,
					  len > 40000 ? 4 : 2,
					  i & 1 ? GDRV_INDIRECT : 0));
		}
		/* Checksum offload alone, on a full-sized segment. */
		len = nr_tcp_frame(frame, 1460 - (v6 ? 20 : 0), 110, v6,
				   nr_host_mac, 0, &h);
		T_NR(&r, tx_check(&r, &h, frame, len, NULL, 0, 0));
	}
	T_EQ(nr_stats(&r).tx_dropped, 0);
	T_NR_FINI(&r);
}

/* 200 frames behind one kick: completed in order, on the wire in order. */
static void tx_batch_in_order(void)
{
	uint16_t heads[256], used[256];
	uint32_t lens[256];
	struct nrig r NRIG_SCOPED = { 0 };
	int n;

	T_NR_START(&r, NULL);
	for (unsigned int i = 0; i < 200; i++) {
		nr_frame(frame, 60 + i * 7, 1000 + i, nr_host_mac);
		n = nr_tx_add(&r, NULL, frame, 60 + i * 7, NULL, 0,
			      i % 3 ? 0 : GDRV_INDIRECT);
		T_ASSERT(n >= 0);
		heads[i] = n;
	}
	T_ASSERT(gdrv_kick(&r.drv, NTXQ));
	T_EQ(nr_collect(&r, NTXQ, used, lens, 200), 200);
	for (unsigned int i = 0; i < 200; i++) {
		T_EQ(used[i], heads[i]);
		T_EQ(lens[i], 0);
		T_EQ(nr_host_recv(&r, NULL, got, sizeof(got), NR_WAIT_MS),
		     60 + i * 7);
		nr_frame(frame, 60 + i * 7, 1000 + i, nr_host_mac);
		T_ASSERT(!memcmp(got, frame, 60 + i * 7));
	}
	/* One batch, few interrupts. */
	T_ASSERT(r.drv.nr_irqs < 20);
	T_EQ(fg_live(r.fg), r.baseline);
	T_NR_FINI(&r);
}

/* ---- the hostile-guest table -------------------------------------------- */

struct bad_tx {
	const char *what;
	size_t len; /* frame bytes after the header */
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
	uint64_t no_features; /* negotiated without these */
};

#define NF(bit) NR_F(VIRTIO_NET_F_##bit)

static const struct bad_tx bad_tx[] = {
	{ "header only", 0 },
	{ "13-byte frame", 13 },
	{ "frame one byte over the largest", NR_MAX_FRAME + 1 },
	{ "70000-byte frame", 70000 },
	{ "csum_start+csum_offset beyond the frame", 1514, 1, 0, 0, 0, 1500,
	  13 },
	{ "csum field ending one byte past", 1514, 1, 0, 0, 0, 1496, 17 },
	{ "csum_start past the frame", 100, 1, 0, 0, 0, 0xffff, 0xffff },
	{ "unknown flag 4", 1514, 4 },
	{ "flag 0x80", 1514, 0x80 },
	{ "NEEDS_CSUM without CSUM", 1514, 1, 0, 0, 0, 34, 16,
	  NF(CSUM) | NF(HOST_TSO4) | NF(HOST_TSO6) },
	{ "TSO4 without HOST_TSO4", 9000, 1, 1, 54, 1448, 34, 16,
	  NF(HOST_TSO4) },
	{ "TSO6 without HOST_TSO6", 9000, 1, 4, 74, 1448, 54, 16,
	  NF(HOST_TSO6) },
	{ "UFO (never offered)", 9000, 1, 3, 42, 1448, 34, 6 },
	{ "TSO with ECN (never offered)", 9000, 1, 0x81, 54, 1448, 34, 16 },
	{ "GSO type 2", 9000, 1, 2, 54, 1448, 34, 16 },
	{ "GSO type 0xff", 9000, 1, 0xff, 54, 1448, 34, 16 },
	{ "gso_size 0", 9000, 1, 1, 54, 0, 34, 16 },
	{ "GSO without NEEDS_CSUM", 9000, 0, 1, 54, 1448 },
	{ "hdr_len beyond the frame", 1514, 0, 0, 1515 },
	{ "hdr_len 0xffff", 9000, 1, 1, 0xffff, 1448, 34, 16 },
};

/* Sends one bad frame: completed with 0, counted, nothing on the wire. */
static int tx_bad_one(struct nrig *r, const struct bad_tx *b)
{
	struct virtio_net_hdr_v1 h = {
		.flags = b->flags,
		.gso_type = b->gso_type,
		.hdr_len = htole16(b->hdr_len),
		.gso_size = htole16(b->gso_size),
		.csum_start = htole16(b->csum_start),
		.csum_offset = htole16(b->csum_offset),
	};
	uint64_t dropped = nr_stats(r).tx_dropped;
	static const uint32_t cut[] = { 12 };

	nr_frame(frame, b->len, 7, nr_host_mac);
	T_CHECK(nr_tx_one(r, &h, frame, b->len, cut, 1, 0) == 0);
	T_CHECK(nr_stats(r).tx_dropped == dropped + 1);
	T_CHECK(nr_host_quiet(r, 20));
	T_CHECK(!nr_needs_reset(r));
	T_CHECK(fg_live(r->fg) == r->baseline);
	return 0;
}

static void tx_hostile_frames(void)
{
	struct nrig r NRIG_SCOPED = { 0 };

	for (unsigned int i = 0; i < ARRAY_SIZE(bad_tx); i++) {
		struct nrig_opts o = { .no_features = bad_tx[i].no_features };

		T_NR_START(&r, &o);
		if (tx_bad_one(&r, &bad_tx[i])) {
			t_fail(__FILE__, __LINE__, "case \"%s\"",
			       bad_tx[i].what);
			nrig_fini(&r);
			return;
		}
		/* The device carries on. */
		nr_frame(frame, 1514, 8, nr_host_mac);
		T_NR(&r, tx_check(&r, NULL, frame, 1514, NULL, 0, 0));
		T_EQ(nr_stats(&r).tx_packets, 1);
		T_NR_FINI(&r);
	}
}

/* Bad frames between good ones in one batch: completed in order. */
static void tx_hostile_in_batch(void)
{
	struct virtio_net_hdr_v1 bad = { .flags = 1, .csum_start = 2000 };
	uint16_t heads[64], used[64];
	uint32_t lens[64];
	struct nrig r NRIG_SCOPED = { 0 };
	int n;

	T_NR_START(&r, NULL);
	for (unsigned int i = 0; i < 64; i++) {
		nr_frame(frame, 200 + i, 300 + i, nr_host_mac);
		n = nr_tx_add(&r, i % 4 == 1 ? &bad : NULL, frame,
			      i % 8 == 5 ? 0 : 200 + i, NULL, 0, 0);
		T_ASSERT(n >= 0);
		heads[i] = n;
	}
	gdrv_kick(&r.drv, NTXQ);
	T_EQ(nr_collect(&r, NTXQ, used, lens, 64), 64);
	for (unsigned int i = 0; i < 64; i++)
		T_EQ(used[i], heads[i]);
	T_EQ(nr_stats(&r).tx_dropped, 16);
	T_EQ(nr_stats(&r).tx_packets, 48);
	for (unsigned int i = 0; i < 64; i++) {
		if (i % 4 == 1)
			continue;
		T_EQ(nr_host_recv(&r, NULL, got, sizeof(got), NR_WAIT_MS),
		     200 + i);
	}
	T_ASSERT(nr_host_quiet(&r, 20));
	T_ASSERT(!nr_needs_reset(&r));
	T_NR_FINI(&r);
}

/* A transmit chain with a writable descriptor: dropped, not NEEDS_RESET. */
static void tx_writable_descriptor(void)
{
	struct gdrv_buf b[3];
	struct nrig r NRIG_SCOPED = { 0 };
	uint16_t head;
	uint32_t len;
	uint64_t gpa;

	T_NR_START(&r, NULL);
	gpa = nr_tx_mem(&r, 2048);
	nr_frame(frame, 1000, 9, nr_host_mac);
	fg_write(r.fg, gpa + NR_HDR, frame, 1000);
	b[0] = (struct gdrv_buf){ gpa, NR_HDR + 1000, false };
	b[1] = (struct gdrv_buf){ gpa + 1500, 64, true };
	T_ASSERT(gdrv_add(&r.drv, NTXQ, b, 2, 0) >= 0);
	gdrv_kick(&r.drv, NTXQ);
	T_EQ(nr_collect(&r, NTXQ, &head, &len, 1), 1);
	T_EQ(len, 0);
	T_EQ(nr_stats(&r).tx_dropped, 1);
	T_ASSERT(nr_host_quiet(&r, 20));
	T_ASSERT(!nr_needs_reset(&r));
	T_NR_FINI(&r);
}

/* With the link down frames are dropped and completed; up, they flow. */
static void tx_link_down(void)
{
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, NULL);
	vnet_set_link(r.net, false);
	nr_frame(frame, 600, 11, nr_host_mac);
	T_EQ(nr_tx_one(&r, NULL, frame, 600, NULL, 0, 0), 0);
	T_EQ(nr_stats(&r).tx_dropped, 1);
	T_ASSERT(nr_host_quiet(&r, 20));
	vnet_set_link(r.net, true);
	T_NR(&r, tx_check(&r, NULL, frame, 600, NULL, 0, 0));
	T_NR_FINI(&r);
}

/*
 * With poll_us, a frame added right after a burst went out needs no kick:
 * the transmit queue looks again; once idle for a while, kicks are back.
 */
static void tx_poll_spares_kicks(void)
{
	struct nrig_opts o = { .poll_us = 200 };
	static uint8_t f[500], g[600];
	uint16_t head;
	uint32_t len;
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, &o);
	nr_frame(f, sizeof(f), 1, nr_host_mac);
	T_ASSERT(nr_tx_add(&r, NULL, f, sizeof(f), NULL, 0, 0) >= 0);
	T_ASSERT(gdrv_kick(&r.drv, NTXQ));
	T_EQ(nr_collect(&r, NTXQ, &head, &len, 1), 1);
	T_EQ(nr_host_recv(&r, NULL, g, sizeof(g), NR_WAIT_MS), (long)sizeof(f));
	/* Right after: no kick asked for, the look finds it. */
	nr_frame(f, sizeof(f), 2, nr_host_mac);
	T_ASSERT(nr_tx_add(&r, NULL, f, sizeof(f), NULL, 0, 0) >= 0);
	T_ASSERT(!gdrv_kick(&r.drv, NTXQ));
	T_EQ(nr_collect(&r, NTXQ, &head, &len, 1), 1);
	T_EQ(nr_host_recv(&r, NULL, g, sizeof(g), NR_WAIT_MS), (long)sizeof(f));
	T_ASSERT(!memcmp(f, g, sizeof(f)));
	/* Idle long enough: kicks are asked for again. */
	nr_settle(&r, 20);
	T_ASSERT(nr_tx_add(&r, NULL, f, sizeof(f), NULL, 0, 0) >= 0);
	T_ASSERT(gdrv_kick(&r.drv, NTXQ));
	T_EQ(nr_collect(&r, NTXQ, &head, &len, 1), 1);
	T_NR_FINI(&r);
}

T_MAIN(T_CASE(tx_poll_spares_kicks), T_CASE(tx_frames),
       T_CASE(tx_frames_indirect), T_CASE(tx_frames_clamped),
       T_CASE(tx_split_header), T_CASE(tx_gso_and_csum),
       T_CASE(tx_batch_in_order), T_CASE(tx_hostile_frames),
       T_CASE(tx_hostile_in_batch), T_CASE(tx_writable_descriptor),
       T_CASE(tx_link_down))
