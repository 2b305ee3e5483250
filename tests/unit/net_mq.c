// SPDX-License-Identifier: MIT
/*
 * virtio-net with several queue pairs on a multiqueue TAP, each pair's I/O
 * on a thread of its own: MQ and max_virtqueue_pairs offered, one pair
 * until VQ_PAIRS_SET, then flows spread over every pair and frames sent
 * from each, back to one pair, bad pair counts refused, reset and teardown
 * with traffic on every thread. Skipped without TAPs.
 */
#include <netinet/in.h>

#include "net_rig.h"

#define NP 4u
#define CTRLQ (2 * NP)
#define RXQ(i) (2 * (i))
#define TXQ(i) (2 * (i) + 1)
#define BUFS 64u /* receive buffers posted per pair */
#define BUF_LEN 2048u
#define FLOWS 64u

static uint64_t rx_buf(const struct nrig *r, unsigned int pair, unsigned int i)
{
	return r->rx + ((uint64_t)pair * BUFS + i) * BUF_LEN;
}

/* Each receive queue's posted buffer by descriptor head. */
static uint64_t head_gpa[NP][256];

static int post(struct nrig *r, unsigned int q, uint64_t gpa)
{
	struct gdrv_buf b = { gpa, BUF_LEN, true };
	int head = gdrv_add(&r->drv, RXQ(q), &b, 1, 0);

	if (head < 0)
		return head;
	head_gpa[q][head] = gpa;
	return 0;
}

/* One control command with @dlen bytes of @data; returns the ack or -errno. */
static int ctrl(struct nrig *r, uint8_t cls, uint8_t cmd, const void *data,
		uint32_t dlen)
{
	uint8_t *p = fg_ptr(r->fg, r->ctl, 4096);
	struct gdrv_buf b[2] = {
		{ r->ctl, 2 + dlen, false },
		{ r->ctl + 2048, 1, true },
	};
	uint32_t len;
	uint16_t head;

	p[0] = cls;
	p[1] = cmd;
	memcpy(p + 2, data, dlen);
	p[2048] = 0xee;
	if (gdrv_add(&r->drv, CTRLQ, b, 2, 0) < 0)
		return -ENOSPC;
	gdrv_kick(&r->drv, CTRLQ);
	if (nr_collect(r, CTRLQ, &head, &len, 1) != 1 || len != 1)
		return -ETIMEDOUT;
	return p[2048];
}

static int pairs_set(struct nrig *r, uint16_t n)
{
	uint16_t v = htole16(n);

	return ctrl(r, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v,
		    sizeof(v));
}

/* Posts BUFS receive buffers on every pair's receive queue, and kicks. */
static int post_all(struct nrig *r)
{
	for (unsigned int q = 0; q < NP; q++) {
		for (unsigned int i = 0; i < BUFS; i++)
			T_CHECK(!post(r, q, rx_buf(r, q, i)));
		gdrv_kick(&r->drv, RXQ(q));
	}
	return 0;
}

/* A UDP/IPv4 frame to the guest; @flow picks the source port. */
static size_t udp_frame(uint8_t *f, unsigned int flow, uint32_t seed)
{
	size_t len = 14 + 20 + 8 + 100;
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t sport = htons(10000 + flow), dport = htons(7),
		 ulen = htons(108);
	uint32_t sum;

	nr_frame(f, len, seed, nr_guest_mac);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 28);
	ip[0] = 0x45;
	ip[2] = (len - 14) >> 8;
	ip[3] = (len - 14) & 0xff;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){ 10, 9, 0, 1 }, 4);
	memcpy(ip + 16, (uint8_t[]){ 10, 9, 0, 2 }, 4);
	sum = nr_csum_add(0, ip, 20);
	sum = htons(nr_csum_fold(sum));
	memcpy(ip + 10, &sum, 2);
	memcpy(udp, &sport, 2);
	memcpy(udp + 2, &dport, 2);
	memcpy(udp + 4, &ulen, 2);
	return len;
}

/*
 * Sends FLOWS frames of distinct flows towards the guest and collects
 * them from every receive queue; @per[q] gets each queue's count. Checks
 * every frame arrived once, intact. Returns 0 or -1.
 */
static int spread(struct nrig *r, uint32_t seed, unsigned int *per)
{
	static uint8_t f[256], g[256];
	bool seen[FLOWS] = { false };
	unsigned int got = 0, q;
	uint64_t end = nr_now_ms() + NR_WAIT_MS;
	uint32_t len;
	uint16_t head;
	size_t flen = 0;

	for (unsigned int i = 0; i < FLOWS; i++) {
		flen = udp_frame(f, i, seed + i);
		T_CHECK(!nr_host_send(r, NULL, f, flen));
	}
	memset(per, 0, NP * sizeof(*per));
	while (got < FLOWS && nr_now_ms() < end) {
		bool any = false;

		for (q = 0; q < NP; q++) {
			while (gdrv_get_used(&r->drv, RXQ(q), &head, &len) ==
			       1) {
				uint64_t gpa = head_gpa[q][head];
				unsigned int flow;

				T_CHECK(len == NR_HDR + flen);
				fg_read(r->fg, gpa + NR_HDR, g, flen);
				flow = ((g[34] << 8) | g[35]) - 10000;
				T_CHECK(flow < FLOWS && !seen[flow]);
				udp_frame(f, flow, seed + flow);
				T_CHECK(!memcmp(f, g, flen));
				seen[flow] = true;
				per[q]++;
				got++;
				any = true;
				/* Give the buffer back for the next round. */
				T_CHECK(!post(r, q, gpa));
				gdrv_kick(&r->drv, RXQ(q));
			}
		}
		if (!any)
			nr_turn(r);
	}
	T_CHECK(got == FLOWS);
	return 0;
}

/* A frame from the guest on pair @q's transmit queue reaches the host. */
static int send_on(struct nrig *r, unsigned int q, uint32_t seed)
{
	static uint8_t f[600], g[700];
	struct virtio_net_hdr_v1 zero = { 0 };
	uint64_t gpa = nr_tx_mem(r, NR_HDR + sizeof(f));
	struct gdrv_buf b = { gpa, NR_HDR + sizeof(f), false };
	uint16_t head;
	uint32_t len;
	long n;

	nr_frame(f, sizeof(f), seed, nr_host_mac);
	fg_write(r->fg, gpa, &zero, NR_HDR);
	fg_write(r->fg, gpa + NR_HDR, f, sizeof(f));
	T_CHECK(gdrv_add(&r->drv, TXQ(q), &b, 1, 0) >= 0);
	gdrv_kick(&r->drv, TXQ(q));
	T_CHECK(nr_collect(r, TXQ(q), &head, &len, 1) == 1);
	n = nr_host_recv(r, NULL, g, sizeof(g), NR_WAIT_MS);
	T_CHECK(n == (long)sizeof(f) && !memcmp(f, g, sizeof(f)));
	return 0;
}

/*
 * Reset, set up again, and a frame each way on the first pair; frames
 * queued in the TAP before the reset may come first.
 */
static int mq_recover(struct nrig *r)
{
	static uint8_t f[300], g[400];
	uint32_t len;
	uint16_t head;
	bool seen = false;

	gdrv_reset(&r->drv);
	T_CHECK(fg_live(r->fg) == 0);
	T_CHECK(!nrig_up(r));
	while (nr_host_recv(r, NULL, g, sizeof(g), 0) >= 0)
		; /* what the old driver sent */
	T_CHECK(!send_on(r, 0, 0xca7a));
	for (unsigned int i = 0; i < BUFS; i++)
		T_CHECK(!post(r, 0, rx_buf(r, 0, i)));
	gdrv_kick(&r->drv, RXQ(0));
	nr_frame(f, sizeof(f), 0xca7b, nr_guest_mac);
	T_CHECK(!nr_host_send(r, NULL, f, sizeof(f)));
	for (unsigned int i = 0; i < 2 * FLOWS && !seen; i++) {
		if (nr_collect(r, RXQ(0), &head, &len, 1) != 1)
			break;
		fg_read(r->fg, head_gpa[0][head] + NR_HDR, g, sizeof(f));
		seen = len == NR_HDR + sizeof(f) && !memcmp(f, g, sizeof(f));
		T_CHECK(!post(r, 0, head_gpa[0][head]));
		gdrv_kick(&r->drv, RXQ(0));
	}
	T_CHECK(seen);
	return 0;
}

static const struct nrig_opts mq_opts = {
	.pairs = NP,
	.threads = true,
	.num = 256,
};

/* ---- cases ------------------------------------------------------------ */

/* MQ offered with max_virtqueue_pairs; VQ_PAIRS_SET checked. */
static void mq_offered_and_checked(void)
{
	struct nrig r NRIG_SCOPED = { 0 };

	NR_NEED_TAP();
	T_NR_START(&r, &mq_opts);
	T_ASSERT(vdev_has(r.vdev, VIRTIO_NET_F_MQ));
	T_EQ(gdrv_read(&r.drv,
		       VIRTIO_MMIO_CONFIG + offsetof(struct virtio_net_config,
						     max_virtqueue_pairs),
		       2),
	     NP);
	T_EQ(r.vdev->nr_vqs, 2 * NP + 1);
	T_EQ(pairs_set(&r, 0), VIRTIO_NET_ERR);
	T_EQ(pairs_set(&r, NP + 1), VIRTIO_NET_ERR);
	T_EQ(pairs_set(&r, NP), VIRTIO_NET_OK);
	T_EQ(pairs_set(&r, 1), VIRTIO_NET_OK);
	T_ASSERT(!nr_needs_reset(&r));
	T_NR_FINI(&r);
}

/*
 * One pair until VQ_PAIRS_SET: every flow lands on the first; then flows
 * spread over several pairs; back to one, all on the first again. Each
 * pair's transmit queue sends while it is on.
 */
static void mq_flows_spread_over_pairs(void)
{
	unsigned int per[NP], used = 0;
	struct nrig r NRIG_SCOPED = { 0 };

	NR_NEED_TAP();
	T_NR_START(&r, &mq_opts);
	T_ASSERT(!post_all(&r));
	T_ASSERT(!spread(&r, 100, per));
	T_EQ(per[0], FLOWS);

	T_EQ(pairs_set(&r, NP), VIRTIO_NET_OK);
	T_ASSERT(!spread(&r, 200, per));
	for (unsigned int q = 0; q < NP; q++)
		used += per[q] > 0;
	T_ASSERT(used >= 2);
	for (unsigned int q = 0; q < NP; q++)
		T_ASSERT(!send_on(&r, q, 300 + q));

	T_EQ(pairs_set(&r, 1), VIRTIO_NET_OK);
	T_ASSERT(!spread(&r, 400, per));
	T_EQ(per[0], FLOWS);
	T_ASSERT(!send_on(&r, 0, 500));
	T_ASSERT(!nr_needs_reset(&r));
	T_ASSERT(nr_stats(&r).rx_packets >= 3 * FLOWS);
	T_NR_FINI(&r);
}

/*
 * Resets with every pair on and frames in flight both ways on every
 * thread, then the first pair works again; teardown the same way.
 */
static void mq_reset_and_teardown_busy(void)
{
	unsigned int per[NP];
	struct nrig r NRIG_SCOPED = { 0 };

	NR_NEED_TAP();
	for (unsigned int round = 0; round < 6; round++) {
		T_NR_START(&r, &mq_opts);
		T_ASSERT(!post_all(&r));
		T_EQ(pairs_set(&r, NP), VIRTIO_NET_OK);
		T_ASSERT(!spread(&r, 600 + round, per));
		for (unsigned int q = 0; q < NP; q++) {
			static uint8_t f[1000];
			struct virtio_net_hdr_v1 zero = { 0 };

			for (unsigned int i = 0; i < 16; i++) {
				uint64_t gpa = nr_tx_mem(&r, NR_HDR + 1000);
				struct gdrv_buf b = { gpa, NR_HDR + 1000,
						      false };

				nr_frame(f, sizeof(f), i, nr_host_mac);
				fg_write(r.fg, gpa, &zero, NR_HDR);
				fg_write(r.fg, gpa + NR_HDR, f, sizeof(f));
				T_ASSERT(gdrv_add(&r.drv, TXQ(q), &b, 1, 0) >=
					 0);
			}
			gdrv_kick(&r.drv, TXQ(q));
		}
		for (unsigned int i = 0; i < FLOWS; i++) {
			static uint8_t f[256];

			nr_host_send(&r, NULL, f, udp_frame(f, i, i));
		}
		if (round & 1) {
			/* A reset, then the device works on one pair. */
			T_ASSERT(!mq_recover(&r));
		}
		T_NR_FINI(&r); /* teardown with whatever is still moving */
	}
}

T_MAIN(T_CASE(mq_offered_and_checked), T_CASE(mq_flows_spread_over_pairs),
       T_CASE(mq_reset_and_teardown_busy))
