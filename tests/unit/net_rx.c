// SPDX-License-Identifier: MIT
/*
 * virtio-net receive: frames the host sends through the TAP land in the
 * guest's buffers byte for byte, one buffer per frame or merged across
 * several (num_buffers right), with 64 KiB TSO frames and checksum offload
 * when negotiated and segmented by the host when not; frames that do not
 * fit are dropped and counted; without (usable) buffers the TAP is left
 * alone and nothing spins, and a kick resumes it.
 */
#include "net_rig.h"

#define NF(bit) NR_F(VIRTIO_NET_F_##bit)
#define GUEST_GSO (NF(GUEST_TSO4) | NF(GUEST_TSO6))

static uint8_t frame[72 << 10], got[72 << 10];
static uint64_t buf_gpa[1024]; /* by head: where its buffer is */
static uint32_t buf_len[1024];
static uint64_t rx_next;

/* Posts @n receive buffers of @size bytes (not kicked). */
static int rx_post(struct nrig *r, unsigned int n, uint32_t size,
		   unsigned int flags)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa;
		int head;

		if (rx_next < r->rx || rx_next + size > r->rx + NR_RX_AREA)
			rx_next = r->rx;
		gpa = rx_next;
		rx_next += (size + 63) & ~63u;
		head = nr_rx_post(r, gpa, size, flags);
		T_CHECK(head >= 0);
		buf_gpa[head] = gpa;
		buf_len[head] = size;
		/* The device must write all it claims: poison first. */
		memset(fg_ptr(r->fg, gpa, size), 0xee, size);
	}
	return 0;
}

static int rx_post_kick(struct nrig *r, unsigned int n, uint32_t size)
{
	T_CHECK(!rx_post(r, n, size, 0));
	gdrv_kick(&r->drv, NRXQ);
	return 0;
}

/*
 * Collects one frame: its first buffer's header says how many buffers it
 * spans. Returns the frame length (header excluded) with the frame in
 * @out and the header in @h, or -1.
 */
static long rx_get(struct nrig *r, struct virtio_net_hdr_v1 *h, uint8_t *out,
		   size_t cap)
{
	uint16_t head;
	uint32_t len;
	size_t at = 0;
	unsigned int n;

	T_CHECK(nr_collect(r, NRXQ, &head, &len, 1) == 1);
	T_CHECK(len >= NR_HDR && len <= buf_len[head]);
	fg_read(r->fg, buf_gpa[head], h, NR_HDR);
	n = le16toh(h->num_buffers);
	T_CHECK(n >= 1);
	T_CHECK(at + len - NR_HDR <= cap);
	fg_read(r->fg, buf_gpa[head] + NR_HDR, out, len - NR_HDR);
	at = len - NR_HDR;
	for (unsigned int i = 1; i < n; i++) {
		T_CHECK(nr_collect(r, NRXQ, &head, &len, 1) == 1);
		T_CHECK(len > 0 && len <= buf_len[head] && at + len <= cap);
		fg_read(r->fg, buf_gpa[head], out + at, len);
		at += len;
	}
	return at;
}

/* Sends @f from the host, checks the guest got exactly it in @nbufs. */
static int rx_check(struct nrig *r, const struct virtio_net_hdr_v1 *hs,
		    const uint8_t *f, size_t len, unsigned int nbufs)
{
	struct virtio_net_hdr_v1 h;

	T_CHECK(!nr_host_send(r, hs, f, len));
	T_CHECK(rx_get(r, &h, got, sizeof(got)) == (long)len);
	T_CHECK(!memcmp(got, f, len));
	if (nbufs)
		T_CHECK(le16toh(h.num_buffers) == nbufs);
	if (hs && hs->gso_type) {
		T_CHECK(h.gso_type == hs->gso_type);
		T_CHECK(h.gso_size == hs->gso_size);
		T_CHECK(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
		T_CHECK(h.csum_start == hs->csum_start);
		T_CHECK(h.csum_offset == hs->csum_offset);
	} else {
		T_CHECK(h.gso_type == 0);
	}
	return 0;
}

static const size_t sizes[] = { 14, 60, 64, 100, 1000, 1513, 1514 };

/* One buffer per frame, of the spec's 1526 bytes (no MRG_RXBUF). */
static void rx_frames_small_buffers(void)
{
	struct nrig_opts o = { .no_features = NF(MRG_RXBUF) | GUEST_GSO };
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, &o);
	T_NR(&r, rx_post_kick(&r, 32, 1526));
	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		nr_frame(frame, sizes[i], 200 + i, nr_guest_mac);
		T_NR(&r, rx_check(&r, NULL, frame, sizes[i], 1));
	}
	T_EQ(nr_stats(&r).rx_packets, ARRAY_SIZE(sizes));
	T_EQ(nr_stats(&r).rx_dropped, 0);
	T_ASSERT(!nr_needs_reset(&r));
	T_NR_FINI(&r);
}

/* Mergeable buffers: a 1514-byte frame spans 64-byte buffers. */
static void rx_mergeable_small_buffers(void)
{
	struct nrig_opts o = { .no_features = GUEST_GSO };
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, &o);
	T_NR(&r, rx_post_kick(&r, 200, 64));
	nr_frame(frame, 1514, 300, nr_guest_mac);
	T_NR(&r, rx_check(&r, NULL, frame, 1514, (1514 + 12 + 63) / 64));
	nr_frame(frame, 52, 301, nr_guest_mac);
	T_NR(&r, rx_check(&r, NULL, frame, 52, 1));
	nr_frame(frame, 53, 302, nr_guest_mac);
	T_NR(&r, rx_check(&r, NULL, frame, 53, 2));
	T_NR_FINI(&r);
}

/*
 * 64 KiB TSO frames over 1536-byte mergeable buffers, IPv4 and IPv6. The
 * host segments GSO frames of the TAP's gso_max_size (65536 bytes) or more.
 */
static void rx_mergeable_gso(void)
{
	struct nrig_opts o = { 0 };
	struct virtio_net_hdr_v1 h;
	struct nrig r NRIG_SCOPED = { 0 };
	size_t len;

	T_NR_START(&r, &o);
	T_NR(&r, rx_post_kick(&r, 250, 1536));
	for (unsigned int i = 0; i < 4; i++) {
		bool v6 = i & 1;

		len = nr_tcp_frame(frame,
				   (i < 2 ? 65481 : 30000) - (v6 ? 20 : 0),
				   400 + i, v6, nr_guest_mac, 1448, &h);
		T_NR(&r, rx_check(&r, &h, frame, len,
				  (len + NR_HDR + 1535) / 1536));
		T_NR(&r, rx_post_kick(&r, (len + NR_HDR + 1535) / 1536, 1536));
	}
	/* A small frame after them takes one buffer. */
	nr_frame(frame, 1514, 410, nr_guest_mac);
	T_NR(&r, rx_check(&r, NULL, frame, 1514, 1));
	T_EQ(nr_stats(&r).rx_dropped, 0);
	T_NR_FINI(&r);
}

/* Without MRG_RXBUF, GSO frames take one big buffer each (65562 bytes). */
static void rx_big_buffers_gso(void)
{
	struct nrig_opts o = { .no_features = NF(MRG_RXBUF) };
	struct virtio_net_hdr_v1 h;
	struct nrig r NRIG_SCOPED = { 0 };
	size_t len;

	T_NR_START(&r, &o);
	T_NR(&r, rx_post_kick(&r, 8, 65562));
	for (unsigned int i = 0; i < 4; i++) {
		len = nr_tcp_frame(frame, 65000 - i * 9999, 500 + i, i & 1,
				   nr_guest_mac, 1448, &h);
		T_NR(&r, rx_check(&r, &h, frame, len, 1));
	}
	T_NR_FINI(&r);
}

/*
 * The same buffers and clamped mappings: every 64 KiB buffer is 17 iovecs,
 * and mergeable buffers straddle pages.
 */
static void rx_clamped(void)
{
	struct nrig_opts o = { .clamp = true };
	struct virtio_net_hdr_v1 h;
	struct nrig r NRIG_SCOPED = { 0 };
	size_t len;

	T_NR_START(&r, &o);
	rx_next = r.rx + 4000;
	T_NR(&r, rx_post_kick(&r, 120, 3000));
	for (unsigned int i = 0; i < 3; i++) {
		len = nr_tcp_frame(frame, 60000, 600 + i, i & 1, nr_guest_mac,
				   1448, &h);
		T_NR(&r,
		     rx_check(&r, &h, frame, len, (len + 12 + 2999) / 3000));
	}
	nr_frame(frame, 1514, 610, nr_guest_mac);
	T_NR(&r, rx_check(&r, NULL, frame, 1514, 1));
	T_NR_FINI(&r);
}

/* Checksum offload: a partial checksum reaches the guest as NEEDS_CSUM. */
static void rx_csum_offload(void)
{
	struct virtio_net_hdr_v1 h;
	struct nrig r NRIG_SCOPED = { 0 };
	size_t len;

	T_NR_START(&r, NULL);
	T_NR(&r, rx_post_kick(&r, 48, 1536));
	len = nr_tcp_frame(frame, 1000, 700, false, nr_guest_mac, 0, &h);
	T_NR(&r, rx_check(&r, &h, frame, len, 1));
	T_NR_FINI(&r);
}

/*
 * Neither GUEST_CSUM nor GUEST_TSO: the host segments a 64 KiB TSO frame
 * and completes its checksums; the guest sees plain frames, flags 0.
 */
static void rx_segmented_without_offloads(void)
{
	struct nrig_opts o = {
		.no_features = NF(GUEST_CSUM) | GUEST_GSO,
	};
	struct virtio_net_hdr_v1 hs, h;
	size_t len, payload = 0, segs = 0;
	struct nrig r NRIG_SCOPED = { 0 };
	long n;

	T_NR_START(&r, &o);
	T_NR(&r, rx_post_kick(&r, 128, 1536));
	len = nr_tcp_frame(frame, 60000, 800, false, nr_guest_mac, 1448, &hs);
	T_ASSERT(!nr_host_send(&r, &hs, frame, len));
	while (payload < 60000) {
		n = rx_get(&r, &h, got, sizeof(got));
		T_ASSERT(n > 54 && n <= 1514);
		T_EQ(h.flags, 0);
		T_EQ(h.gso_type, 0);
		T_ASSERT(!memcmp(got + 54, frame + 54 + payload, n - 54));
		payload += n - 54;
		segs++;
	}
	T_EQ(payload, 60000);
	T_EQ(segs, (60000 + 1447) / 1448);
	T_NR_FINI(&r);
}

/* A frame too long for the guest's one buffer is dropped and counted. */
static void rx_frame_too_long_dropped(void)
{
	struct nrig_opts o = { .no_features = NF(MRG_RXBUF) };
	struct virtio_net_hdr_v1 h;
	struct nrig r NRIG_SCOPED = { 0 };
	size_t len;

	T_NR_START(&r, &o);
	T_NR(&r, rx_post_kick(&r, 1, 1526));
	len = nr_tcp_frame(frame, 20000, 900, false, nr_guest_mac, 1448, &h);
	T_ASSERT(!nr_host_send(&r, &h, frame, len));
	nr_settle(&r, 20);
	T_EQ(nr_stats(&r).rx_dropped, 1);
	T_EQ(gdrv_used_idx(&r.drv, NRXQ), 0);
	/* The buffer takes the next frame that fits. */
	nr_frame(frame, 1514, 901, nr_guest_mac);
	T_NR(&r, rx_check(&r, NULL, frame, 1514, 1));
	T_NR_FINI(&r);
}

/*
 * A ring of 16 mergeable buffers cannot hold 64 KiB: the device reads with
 * what the guest can give, frames that fit arrive, a longer one is dropped.
 */
static void rx_small_ring_mergeable(void)
{
	struct nrig_opts o = { .num = 16 };
	struct virtio_net_hdr_v1 h;
	struct nrig r NRIG_SCOPED = { 0 };
	size_t len;

	T_NR_START(&r, &o);
	T_NR(&r, rx_post_kick(&r, 16, 1536));
	nr_frame(frame, 1514, 950, nr_guest_mac);
	T_NR(&r, rx_check(&r, NULL, frame, 1514, 1));
	T_NR(&r, rx_post_kick(&r, 1, 1536));
	len = nr_tcp_frame(frame, 40000, 951, false, nr_guest_mac, 1448, &h);
	T_ASSERT(!nr_host_send(&r, &h, frame, len));
	nr_settle(&r, 20);
	T_EQ(nr_stats(&r).rx_dropped, 1);
	len = nr_tcp_frame(frame, 20000, 952, false, nr_guest_mac, 1448, &h);
	T_NR(&r, rx_check(&r, &h, frame, len, (len + 12 + 1535) / 1536));
	T_NR_FINI(&r);
}

/*
 * Receive chains of several descriptors, the header split across the first
 * ones: it lands in pieces, the frame after it. Direct and indirect.
 */
static void rx_split_header(void)
{
	/* 1530 bytes: an MTU-sized frame with a VLAN tag and the header. */
	static const uint32_t cuts[][3] = {
		{ 5, 7, 1518 },
		{ 1, 11, 1518 },
		{ 12, 1000, 518 },
		{ 4, 1526, 0 },
	};
	struct virtio_net_hdr_v1 h;
	struct nrig_opts o = { .no_features = GUEST_GSO };
	struct gdrv_buf b[3];
	uint16_t head;
	uint32_t len;
	struct nrig r NRIG_SCOPED = { 0 };
	uint8_t *p;

	for (unsigned int mrg = 0; mrg < 2; mrg++) {
		o.no_features = GUEST_GSO | (mrg ? 0 : NF(MRG_RXBUF));
		T_NR_START(&r, &o);
		for (unsigned int i = 0; i < ARRAY_SIZE(cuts); i++) {
			uint64_t gpa = r.rx + i * 8192;
			unsigned int n = 0;
			uint32_t at = 0;

			for (unsigned int k = 0; k < 3 && cuts[i][k]; k++) {
				b[n++] = (struct gdrv_buf){ gpa + at + 64 * k,
							    cuts[i][k], true };
				at += cuts[i][k];
			}
			T_ASSERT(gdrv_add(&r.drv, NRXQ, b, n,
					  i & 1 ? GDRV_INDIRECT : 0) >= 0);
			gdrv_kick(&r.drv, NRXQ);
			nr_frame(frame, 1514, 1300 + i, nr_guest_mac);
			T_ASSERT(!nr_host_send(&r, NULL, frame, 1514));
			T_EQ(nr_collect(&r, NRXQ, &head, &len, 1), 1);
			T_EQ(len, NR_HDR + 1514);
			/* Gather what the descriptors hold, in order. */
			at = 0;
			for (unsigned int k = 0; k < n; k++) {
				p = fg_ptr(r.fg, b[k].gpa, b[k].len);
				memcpy(got + at, p, b[k].len);
				at += b[k].len;
			}
			memcpy(&h, got, NR_HDR);
			T_EQ(le16toh(h.num_buffers), 1);
			T_ASSERT(!memcmp(got + NR_HDR, frame, 1514));
		}
		T_NR_FINI(&r);
	}
}

/* ---- backpressure ------------------------------------------------------- */

/* The loop makes no progress: no CQE in @turns turns, nothing in flight. */
static int rx_idle(struct nrig *r, unsigned int turns)
{
	int n = 0;

	for (unsigned int i = 0; i < turns; i++) {
		n += evl_run_once(&r->loop, false);
		usleep(200);
	}
	T_CHECK(n == 0);
	T_CHECK(r->loop.inflight == r->idle_ops);
	return 0;
}

/*
 * No buffers: frames wait in the TAP, the device neither reads nor polls
 * it, and the loop is idle. Buffers and a kick bring them all, in order.
 * (Without GUEST_TSO one 1536-byte buffer has room for any frame.)
 */
static void rx_backpressure_no_buffers(void)
{
	struct nrig_opts o = { .no_features = GUEST_GSO };
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, &o);
	for (unsigned int i = 0; i < 10; i++) {
		nr_frame(frame, 100 + i, 1000 + i, nr_guest_mac);
		T_ASSERT(!nr_host_send(&r, NULL, frame, 100 + i));
	}
	T_NR(&r, rx_idle(&r, 100));
	T_ASSERT(nr_tap_pending(&r));
	T_EQ(nr_stats(&r).rx_packets, 0);

	/* Three buffers: three frames, then idle again. */
	T_NR(&r, rx_post(&r, 3, 1536, 0));
	T_ASSERT(gdrv_kick(&r.drv, NRXQ));
	for (unsigned int i = 0; i < 3; i++) {
		nr_frame(frame, 100 + i, 1000 + i, nr_guest_mac);
		T_ASSERT(rx_get(&r, (void *)got, got + 64, 2048) == 100 + i);
		T_ASSERT(!memcmp(got + 64, frame, 100 + i));
	}
	T_NR(&r, rx_idle(&r, 50));
	T_ASSERT(nr_tap_pending(&r));

	/* The guest posts more and kicks: the rest arrive. */
	T_NR(&r, rx_post(&r, 16, 1536, 0));
	T_ASSERT(gdrv_kick(&r.drv, NRXQ));
	for (unsigned int i = 3; i < 10; i++) {
		nr_frame(frame, 100 + i, 1000 + i, nr_guest_mac);
		T_ASSERT(rx_get(&r, (void *)got, got + 64, 2048) == 100 + i);
		T_ASSERT(!memcmp(got + 64, frame, 100 + i));
	}
	T_ASSERT(!nr_tap_pending(&r));
	T_NR_FINI(&r);
}

/* The same without EVENT_IDX (kicks suppressed by NO_NOTIFY instead). */
static void rx_backpressure_no_event_idx(void)
{
	struct nrig_opts o = {
		.no_features = NR_F(VIRTIO_RING_F_EVENT_IDX) | GUEST_GSO,
	};
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, &o);
	for (unsigned int i = 0; i < 4; i++) {
		nr_frame(frame, 200, 1100 + i, nr_guest_mac);
		T_ASSERT(!nr_host_send(&r, NULL, frame, 200));
	}
	T_NR(&r, rx_idle(&r, 20));
	for (unsigned int i = 0; i < 4; i++) {
		T_NR(&r, rx_post(&r, 1, 1536, 0));
		T_ASSERT(gdrv_kick(&r.drv, NRXQ));
		nr_frame(frame, 200, 1100 + i, nr_guest_mac);
		T_ASSERT(rx_get(&r, (void *)got, got + 64, 2048) == 200);
		T_ASSERT(!memcmp(got + 64, frame, 200));
		T_NR(&r, rx_idle(&r, 10));
	}
	T_NR_FINI(&r);
}

/*
 * Tiny buffers (too small for a frame, or for the header when merging)
 * come back unused and counted; the TAP is not read, nothing spins.
 */
static void rx_backpressure_tiny_buffers(void)
{
	static const struct {
		uint64_t no;
		uint32_t size;
	} c[] = {
		{ NF(MRG_RXBUF) | GUEST_GSO, 64 },
		{ NF(MRG_RXBUF) | GUEST_GSO, 1525 },
		{ NF(MRG_RXBUF), 1 },
		{ 0, 11 },
		{ 0, 1 },
	};
	uint32_t lens[16];
	struct nrig r NRIG_SCOPED = { 0 };

	for (unsigned int k = 0; k < ARRAY_SIZE(c); k++) {
		struct nrig_opts o = { .no_features = c[k].no };

		T_NR_START(&r, &o);
		nr_frame(frame, 1514, 1200 + k, nr_guest_mac);
		T_ASSERT(!nr_host_send(&r, NULL, frame, 1514));
		T_NR(&r, rx_post_kick(&r, 8, c[k].size));
		T_EQ(nr_collect(&r, NRXQ, NULL, lens, 8), 8);
		for (unsigned int i = 0; i < 8; i++)
			T_EQ(lens[i], 0);
		T_EQ(nr_stats(&r).rx_bad_bufs, 8);
		T_NR(&r, rx_idle(&r, 30));
		T_ASSERT(nr_tap_pending(&r));
		T_ASSERT(!nr_needs_reset(&r));
		/* Proper buffers take the frame that waited. */
		T_NR(&r, rx_post_kick(&r, 48, 1536));
		T_ASSERT(rx_get(&r, (void *)got, got + 64, 2048) == 1514);
		T_ASSERT(!memcmp(got + 64, frame, 1514));
		T_NR_FINI(&r);
	}
}

/* A receive chain with a readable descriptor comes back unused. */
static void rx_readable_descriptor(void)
{
	struct gdrv_buf b[2];
	struct nrig r NRIG_SCOPED = { 0 };
	uint32_t len;

	T_NR_START(&r, NULL);
	b[0] = (struct gdrv_buf){ r.rx, 64, false };
	b[1] = (struct gdrv_buf){ r.rx + 4096, 2048, true };
	T_ASSERT(gdrv_add(&r.drv, NRXQ, b, 2, 0) >= 0);
	gdrv_kick(&r.drv, NRXQ);
	T_EQ(nr_collect(&r, NRXQ, NULL, &len, 1), 1);
	T_EQ(len, 0);
	T_EQ(nr_stats(&r).rx_bad_bufs, 1);
	T_ASSERT(!nr_needs_reset(&r));
	T_NR_FINI(&r);
}

/* A burst of 300 frames through 64 buffers the guest keeps reposting. */
static void rx_burst_with_refill(void)
{
	struct virtio_net_hdr_v1 h;
	unsigned int sent = 0, seen = 0;
	struct nrig r NRIG_SCOPED = { 0 };
	long n;

	T_NR_START(&r, NULL);
	T_NR(&r, rx_post_kick(&r, 64, 1536));
	while (seen < 300) {
		while (sent < 300 && sent < seen + 200) {
			nr_frame(frame, 60 + sent % 1400, 2000 + sent,
				 nr_guest_mac);
			T_ASSERT(!nr_host_send(&r, NULL, frame,
					       60 + sent % 1400));
			sent++;
		}
		n = rx_get(&r, &h, got, sizeof(got));
		nr_frame(frame, 60 + seen % 1400, 2000 + seen, nr_guest_mac);
		T_EQ(n, 60 + seen % 1400);
		T_ASSERT(!memcmp(got, frame, n));
		seen++;
		T_NR(&r, rx_post_kick(&r, 1, 1536));
	}
	T_EQ(nr_stats(&r).rx_packets, 300);
	T_EQ(nr_stats(&r).rx_dropped, 0);
	T_NR_FINI(&r);
}

T_MAIN(T_CASE(rx_frames_small_buffers), T_CASE(rx_mergeable_small_buffers),
       T_CASE(rx_mergeable_gso), T_CASE(rx_big_buffers_gso), T_CASE(rx_clamped),
       T_CASE(rx_split_header), T_CASE(rx_csum_offload),
       T_CASE(rx_segmented_without_offloads), T_CASE(rx_frame_too_long_dropped),
       T_CASE(rx_small_ring_mergeable), T_CASE(rx_backpressure_no_buffers),
       T_CASE(rx_backpressure_no_event_idx),
       T_CASE(rx_backpressure_tiny_buffers), T_CASE(rx_readable_descriptor),
       T_CASE(rx_burst_with_refill))
