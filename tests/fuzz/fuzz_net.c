// SPDX-License-Identifier: MIT
/*
 * Fuzz the virtio-net device (devices/net) through its public API: the
 * guest transmits frames with any virtio-net header and any descriptor
 * layout, posts receive buffers of any shape, sends control commands, and
 * the host side injects frames. The device gets a real TAP (in a private
 * network namespace) for its setup ioctls; once the driver is up, its
 * descriptor is swapped for one end of a SOCK_SEQPACKET pair, so what it
 * writes is read back here and nothing reaches the host's network stack.
 *
 * Checks: the frames that leave are exactly the transmitted frames whose
 * headers a model of virtio 1.2 5.1.6.2 accepts, in order, byte for byte,
 * with a header the TAP may trust; every received frame the guest sees is
 * one the host sent; used lengths stay within the chains; every chain
 * completes; nothing stays mapped after a reset.
 *
 * Input: flags u8, log2(queue size) - 1 u8 (mod 6), then 16-byte records
 * of op u8, a u8, b u16, c u32, d u64.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <net/if.h>

#include "devices/net/net.h"
#include "fakeguest.h"
#include "fuzz_common.h"
#include "gdrv.h"

#define FN_RAM (8u << 20)
#define FN_TX_AREA (512u << 10)
#define FN_RX_AREA (1u << 20)
#define FN_HDR 12u
#define FN_MAX_FRAME (65535u + 18u)
#define FN_MAX_TX 64 /* frames remembered per input */
#define FN_MAX_INJ 64
#define FN_MAX_OPS 64
#define FN_F(bit) (1ULL << (bit))
#define RXQ 0
#define TXQ 1
#define CTRLQ 2

enum {
	FN_NO_CSUM = 1 << 0,
	FN_NO_TSO = 1 << 1,
	FN_NO_MRG = 1 << 2,
	FN_NO_CTRL = 1 << 3,
	FN_CLAMP = 1 << 4,
	FN_NO_GCSUM = 1 << 5,
	FN_NO_IND = 1 << 6,
};

enum { OP_TX, OP_RXBUF, OP_INJECT, OP_CTRL, OP_KICK, OP_RUN, OP_RESET, OP_NR };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static struct {
	int tap;     /* ours; the device gets duplicates */
	int sock[2]; /* [0] swapped in for the TAP, [1] the host side */
	struct fakeguest *fg;
	struct evl loop;
	unsigned int idle_ops;
} fn;

/* A frame the guest queued, and what the model says of it. */
struct fn_tx {
	uint64_t gpa; /* frame bytes (after the header) in guest RAM */
	uint32_t len;
	bool valid;
};

struct fn_rxbuf {
	uint64_t gpa[4];
	uint32_t len[4];
	unsigned int n;
	uint32_t writable;
	bool live;
};

struct fn_run {
	struct vnet *net;
	struct gdrv drv;
	unsigned int flags, nvq;
	uint16_t num;
	uint64_t want;
	uint64_t tx_area, rx_area, ctl;
	uint32_t tx_off, rx_off;
	struct fn_tx tx[FN_MAX_TX];
	unsigned int nr_tx, tx_seen;
	bool tx_live[256];
	struct fn_rxbuf rx[256];
	uint8_t *inj[FN_MAX_INJ]; /* frames the host sent, in order */
	uint32_t inj_len[FN_MAX_INJ];
	unsigned int nr_inj, inj_next;
	bool ctl_live[256];
	uint32_t ctl_writable[256];
	uint64_t ctl_ack[256]; /* gpa of the command's writable part */
	uint8_t ctl_slot[256]; /* its slot in the control area */
	bool slot_busy[32];    /* a command there not collected yet */
	unsigned int ctl_next;
	bool up;
};

/* ---- setup: a namespace of our own, one TAP ---- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ifreq ifr;
	int big = 8 << 20;

	fz_quiet();
	/* Best effort: without it the TAP lives in the current namespace. */
	if (unshare(CLONE_NEWNET))
		fprintf(stderr, "fuzz_net: no namespace of its own\n");
	fn.tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "xvbfz%%d");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (fn.tap < 0 || ioctl(fn.tap, TUNSETIFF, &ifr)) {
		printf("skip fuzz_net: no TAP here (root and /dev/net/tun)\n");
		exit(77);
	}
	FZ_CHECK(!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			     fn.sock));
	for (int i = 0; i < 2; i++) {
		setsockopt(fn.sock[i], SOL_SOCKET, SO_SNDBUFFORCE, &big,
			   sizeof(big));
		setsockopt(fn.sock[i], SOL_SOCKET, SO_RCVBUFFORCE, &big,
			   sizeof(big));
	}
	FZ_CHECK(!fcntl(fn.sock[1], F_SETFL, O_NONBLOCK));
	fn.fg = fg_new(FN_RAM);
	FZ_CHECK(fn.fg);
	FZ_CHECK(!evl_init(&fn.loop, 128));
	fn.idle_ops = fn.loop.inflight;
	return 0;
}

/* ---- the model of a transmit header (virtio 1.2 5.1.6.2) ---- */

static bool has(const struct fn_run *r, unsigned int bit)
{
	return r->drv.features & FN_F(bit);
}

static bool tx_hdr_valid(const struct fn_run *r,
			 const struct virtio_net_hdr_v1 *h, uint32_t len)
{
	uint16_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);
	bool csum = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;

	if (h->flags &
	    ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return false;
	if (csum &&
	    (!has(r, VIRTIO_NET_F_CSUM) || (uint32_t)start + off + 2 > len))
		return false;
	if (le16toh(h->hdr_len) > len)
		return false;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return true;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_TCPV4 &&
	    !has(r, VIRTIO_NET_F_HOST_TSO4))
		return false;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_TCPV6 &&
	    !has(r, VIRTIO_NET_F_HOST_TSO6))
		return false;
	if (h->gso_type != VIRTIO_NET_HDR_GSO_TCPV4 &&
	    h->gso_type != VIRTIO_NET_HDR_GSO_TCPV6)
		return false;
	return h->gso_size && csum;
}

/* ---- guest side ---- */

static uint64_t features(unsigned int flags)
{
	uint64_t f = ~0ULL;

	if (flags & FN_NO_CSUM)
		f &= ~(FN_F(VIRTIO_NET_F_CSUM) | FN_F(VIRTIO_NET_F_HOST_TSO4) |
		       FN_F(VIRTIO_NET_F_HOST_TSO6));
	if (flags & FN_NO_TSO)
		f &= ~(FN_F(VIRTIO_NET_F_HOST_TSO4) |
		       FN_F(VIRTIO_NET_F_HOST_TSO6) |
		       FN_F(VIRTIO_NET_F_GUEST_TSO4) |
		       FN_F(VIRTIO_NET_F_GUEST_TSO6));
	if (flags & FN_NO_GCSUM)
		f &= ~(FN_F(VIRTIO_NET_F_GUEST_CSUM) |
		       FN_F(VIRTIO_NET_F_GUEST_TSO4) |
		       FN_F(VIRTIO_NET_F_GUEST_TSO6));
	if (flags & FN_NO_MRG)
		f &= ~FN_F(VIRTIO_NET_F_MRG_RXBUF);
	if (flags & FN_NO_CTRL)
		f &= ~(FN_F(VIRTIO_NET_F_CTRL_VQ) | FN_F(VIRTIO_NET_F_CTRL_RX) |
		       FN_F(VIRTIO_NET_F_CTRL_MAC_ADDR));
	if (flags & FN_NO_IND)
		f &= ~FN_F(VIRTIO_RING_F_INDIRECT_DESC);
	return f;
}

/* Swaps the device's TAP descriptor for @fd (a duplicate is installed). */
static void swap_in(struct fn_run *r, int fd)
{
	FZ_CHECK(dup3(fd, vnet_tap_fd(r->net), O_CLOEXEC) >= 0);
}

/* Driver up on the TAP (the offload ioctls need it), then the socket. */
static void up(struct fn_run *r)
{
	fg_alloc_reset(fn.fg);
	swap_in(r, fn.tap);
	r->up = !gdrv_up(&r->drv, r->want, r->nvq, r->num);
	swap_in(r, fn.sock[0]);
	if (!r->up)
		return;
	r->tx_area = fg_alloc(fn.fg, FN_TX_AREA, 4096);
	r->rx_area = fg_alloc(fn.fg, FN_RX_AREA, 4096);
	r->ctl = fg_alloc(fn.fg, 4096, 4096);
	FZ_CHECK(r->tx_area && r->rx_area && r->ctl);
	r->tx_off = r->rx_off = 0;
}

static bool any_live(const bool *live)
{
	for (unsigned int h = 0; h < 256; h++)
		if (live[h])
			return true;
	return false;
}

/* A frame: header from the record, frame bytes from a seeded pattern. */
static void op_tx(struct fn_run *r, uint8_t a, uint16_t b, uint32_t c,
		  uint64_t d)
{
	static const uint8_t gso[] = {
		VIRTIO_NET_HDR_GSO_NONE,
		VIRTIO_NET_HDR_GSO_TCPV4,
		VIRTIO_NET_HDR_GSO_NONE,
		VIRTIO_NET_HDR_GSO_TCPV6,
		VIRTIO_NET_HDR_GSO_UDP,
		VIRTIO_NET_HDR_GSO_ECN | VIRTIO_NET_HDR_GSO_TCPV4,
		VIRTIO_NET_HDR_GSO_NONE,
		0x33
	};
	struct virtio_net_hdr_v1 h = {
		.flags = a & 0x80 ? (uint8_t)(d >> 56) : (a & 3),
		.gso_type = gso[(a >> 2) & 7],
		.hdr_len = htole16(b),
		.gso_size = htole16(c & 0xffff),
		.csum_start = htole16(c >> 16),
		.csum_offset = htole16(d & 0xffff),
	};
	uint32_t len = (d >> 16) & 0x1ffff, pieces = ((d >> 40) & 3) + 1;
	bool together = d >> 42 & 1, writable = d >> 43 & 1;
	struct gdrv_buf bufs[6];
	unsigned int n = 0;
	uint64_t gpa;
	int head;

	if (a & 0x20)
		len %= 1600;
	/* Buffers in flight are never reused: the model compares them. */
	if (len + FN_HDR + 64 > FN_TX_AREA - r->tx_off) {
		if (any_live(r->tx_live))
			return;
		r->tx_off = 0;
	}
	gpa = r->tx_area + r->tx_off;
	r->tx_off += (len + FN_HDR + 63) & ~63u;
	fg_write(fn.fg, gpa, &h, sizeof(h));
	fg_fill(fn.fg, gpa + FN_HDR, len, (uint32_t)d ^ c);
	if (together) {
		bufs[n++] = (struct gdrv_buf){ gpa, FN_HDR + len, writable };
	} else {
		bufs[n++] = (struct gdrv_buf){ gpa, FN_HDR, false };
		for (uint32_t k = 0, off = 0; k < pieces && off < len; k++) {
			uint32_t p = k + 1 == pieces ? len - off : len / pieces;

			bufs[n++] = (struct gdrv_buf){ gpa + FN_HDR + off, p,
						       writable && k == 0 };
			off += p;
		}
	}
	head = gdrv_add(&r->drv, TXQ, bufs, n,
			(b & 1) && !(r->flags & FN_NO_IND) ? GDRV_INDIRECT : 0);
	if (head < 0)
		return;
	FZ_CHECK(!r->tx_live[head]);
	r->tx_live[head] = true;
	if (r->nr_tx < FN_MAX_TX) {
		/* Frames the device may send: those the model accepts. */
		bool ok = !writable && len >= 14 && len <= FN_MAX_FRAME &&
			  tx_hdr_valid(r, &h, len);

		r->tx[r->nr_tx++] = (struct fn_tx){ gpa + FN_HDR, len, ok };
	}
	if (!(a & 0x40))
		gdrv_notify(&r->drv, TXQ);
}

/* A receive buffer of up to 4 descriptors, maybe readable, maybe tiny. */
static void op_rxbuf(struct fn_run *r, uint8_t a, uint16_t b, uint32_t c)
{
	struct fn_rxbuf rb = { .live = true };
	struct gdrv_buf bufs[4];
	uint32_t len = c % (FN_MAX_FRAME + FN_HDR + 64);
	int head;

	rb.n = a % 4 + 1;
	if (b & 4)
		len %= 128;
	if (len + 64 > FN_RX_AREA - r->rx_off) {
		for (unsigned int h = 0; h < 256; h++)
			if (r->rx[h].live)
				return;
		r->rx_off = 0;
	}
	for (unsigned int k = 0; k < rb.n; k++) {
		uint32_t p = k + 1 == rb.n ? len - len / rb.n * k : len / rb.n;
		bool w = !(b & 1) || k;

		rb.gpa[k] = r->rx_area + r->rx_off;
		rb.len[k] = p;
		r->rx_off += p;
		bufs[k] = (struct gdrv_buf){ rb.gpa[k], p, w };
		rb.writable += w ? p : 0;
	}
	r->rx_off = (r->rx_off + 63) & ~63u;
	fg_write(fn.fg, rb.gpa[0], "\xee\xee", rb.len[0] < 2 ? rb.len[0] : 2);
	head = gdrv_add(&r->drv, RXQ, bufs, rb.n,
			(b & 2) && !(r->flags & FN_NO_IND) ? GDRV_INDIRECT : 0);
	if (head < 0)
		return;
	FZ_CHECK(!r->rx[head].live);
	r->rx[head] = rb;
	if (!(a & 0x40))
		gdrv_notify(&r->drv, RXQ);
}

/* The host sends a frame towards the guest. */
static void op_inject(struct fn_run *r, uint8_t a, uint16_t b, uint32_t c,
		      uint64_t d)
{
	struct virtio_net_hdr_v1 h = {
		.flags = a & 3,
		.gso_type = a & 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : 0,
		.csum_start = htole16(b),
		.csum_offset = htole16(c >> 16),
		.gso_size = htole16(1400),
	};
	uint32_t len = c % (FN_MAX_FRAME + 8);
	struct iovec iov[2];
	uint8_t *f;

	if (r->nr_inj == FN_MAX_INJ)
		return;
	if (a & 0x20)
		len %= 1600;
	f = malloc(len + 1);
	FZ_CHECK(f);
	for (uint32_t i = 0; i < len; i++)
		f[i] = fg_pattern((uint32_t)d, i);
	if (len >= 6)
		memcpy(f,
		       a & 0x10 ? (const uint8_t *)"\xff\xff\xff\xff\xff\xff" :
				  guest_mac,
		       6);
	iov[0] = (struct iovec){ &h, sizeof(h) };
	iov[1] = (struct iovec){ f, len };
	if (writev(fn.sock[1], iov, 2) != (ssize_t)(sizeof(h) + len)) {
		free(f);
		return; /* the socket is full: not sent */
	}
	r->inj[r->nr_inj] = f;
	r->inj_len[r->nr_inj++] = len;
}

static void op_ctrl(struct fn_run *r, uint8_t a, uint16_t b, uint64_t d)
{
	uint8_t cmd[2 + 64] = { a, (uint8_t)b }, ack = 0xaa;
	uint32_t dlen = (b >> 8) % 64;
	unsigned int k = r->ctl_next % 32;
	uint64_t slot = r->ctl + 128 * k;
	struct gdrv_buf bufs[3];
	unsigned int n = 0;
	int head;

	/* A slot is reused only once its command came back. */
	if (r->nvq < 3 || r->slot_busy[k])
		return;
	r->ctl_next++;
	for (uint32_t i = 0; i < dlen; i++)
		cmd[2 + i] = d >> (8 * (i % 8));
	fg_write(fn.fg, slot, cmd, 2 + dlen);
	fg_write(fn.fg, slot + 96, &ack, 1);
	if (d >> 63) { /* header and data apart */
		bufs[n++] = (struct gdrv_buf){ slot, 2, false };
		if (dlen)
			bufs[n++] = (struct gdrv_buf){ slot + 2, dlen, false };
	} else {
		bufs[n++] = (struct gdrv_buf){ slot, 2 + dlen, false };
	}
	if (!(d >> 62 & 1))
		bufs[n++] = (struct gdrv_buf){ slot + 96, (d >> 61 & 1) ? 8 : 1,
					       true };
	head = gdrv_add(&r->drv, CTRLQ, bufs, n, 0);
	if (head < 0)
		return;
	r->ctl_live[head] = true;
	r->ctl_writable[head] = bufs[n - 1].write ? bufs[n - 1].len : 0;
	r->ctl_ack[head] = slot + 96;
	r->ctl_slot[head] = k;
	r->slot_busy[k] = true;
	gdrv_notify(&r->drv, CTRLQ);
}

/* ---- checking what came out ---- */

/* Reads what the device wrote to the "TAP" and checks it against the
 * model: the next valid frame, its header one the TAP may trust. */
static void drain_host(struct fn_run *r)
{
	static uint8_t buf[FN_HDR + FN_MAX_FRAME + 64];
	const struct virtio_net_hdr_v1 *h = (const void *)buf;
	ssize_t n;

	while ((n = read(fn.sock[1], buf, sizeof(buf))) > 0) {
		const struct fn_tx *t;

		FZ_CHECK(n >= (ssize_t)FN_HDR);
		while (r->tx_seen < r->nr_tx && !r->tx[r->tx_seen].valid)
			r->tx_seen++;
		if (r->tx_seen == r->nr_tx)
			continue; /* past what this input remembers */
		t = &r->tx[r->tx_seen++];
		FZ_CHECK((size_t)n == FN_HDR + t->len);
		FZ_CHECK(tx_hdr_valid(r, h, t->len) && !h->num_buffers);
		FZ_CHECK(!memcmp(buf + FN_HDR, fg_ptr(fn.fg, t->gpa, t->len),
				 t->len));
	}
}

/* The next injected frame equal to the @len bytes at @p, or false. */
static bool match_injected(struct fn_run *r, const uint8_t *p, uint32_t len)
{
	while (r->inj_next < r->nr_inj) {
		unsigned int i = r->inj_next++;

		if (r->inj_len[i] == len && !memcmp(r->inj[i], p, len))
			return true;
	}
	return false;
}

/* Received frames: one chain each, or several with mergeable buffers. */
static void collect_rx(struct fn_run *r)
{
	static uint8_t frame[FN_HDR + FN_MAX_FRAME + 4096];
	uint32_t got = 0, left = 0;
	uint16_t head;
	uint32_t len;
	int rc;

	while ((rc = gdrv_get_used(&r->drv, RXQ, &head, &len)) == 1) {
		struct fn_rxbuf *rb = &r->rx[head];
		uint32_t take = len;

		FZ_CHECK(rb->live);
		rb->live = false;
		FZ_CHECK(len <= rb->writable);
		if (!len && !left)
			continue; /* returned unused */
		for (unsigned int k = 0; k < rb->n && take; k++) {
			uint32_t p = take < rb->len[k] ? take : rb->len[k];

			FZ_CHECK(got + p <= sizeof(frame));
			fg_read(fn.fg, rb->gpa[k], frame + got, p);
			got += p;
			take -= p;
		}
		if (!left) {
			const struct virtio_net_hdr_v1 *h = (const void *)frame;

			FZ_CHECK(got >= FN_HDR);
			left = has(r, VIRTIO_NET_F_MRG_RXBUF) ?
				       le16toh(h->num_buffers) :
				       1;
			FZ_CHECK(left >= 1);
		}
		if (--left)
			continue;
		FZ_CHECK(match_injected(r, frame + FN_HDR, got - FN_HDR));
		got = 0;
	}
	FZ_CHECK(rc == 0 && !left);
}

static void collect(struct fn_run *r)
{
	uint16_t head;
	uint32_t len;
	int rc;

	while ((rc = gdrv_get_used(&r->drv, TXQ, &head, &len)) == 1) {
		FZ_CHECK(r->tx_live[head] && !len);
		r->tx_live[head] = false;
	}
	FZ_CHECK(rc == 0);
	collect_rx(r);
	while (r->nvq > 2 &&
	       (rc = gdrv_get_used(&r->drv, CTRLQ, &head, &len)) == 1) {
		uint8_t ack = 0;

		FZ_CHECK(r->ctl_live[head] && len <= r->ctl_writable[head]);
		r->ctl_live[head] = false;
		r->slot_busy[r->ctl_slot[head]] = false;
		if (!len)
			continue; /* no room for an ack: returned as it was */
		/* The ack is the last writable byte. */
		fg_read(fn.fg, r->ctl_ack[head] + len - 1, &ack, 1);
		FZ_CHECK(ack == VIRTIO_NET_OK || ack == VIRTIO_NET_ERR);
	}
	FZ_CHECK(rc == 0);
}

static bool needs_reset(struct fn_run *r)
{
	return gdrv_r32(&r->drv, VIRTIO_MMIO_STATUS) &
	       VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* Runs the loop and the host side until every frame left, or 2 s. */
static void settle(struct fn_run *r)
{
	for (unsigned int i = 0; i < 2000; i++) {
		evl_run_once(&fn.loop, false);
		drain_host(r);
		collect(r);
		if (!any_live(r->tx_live) || needs_reset(r))
			return;
		usleep(1000);
	}
	FZ_CHECK(!"transmitted frames never completed");
}

static void reset(struct fn_run *r)
{
	gdrv_reset(&r->drv);
	FZ_CHECK(fg_live(fn.fg) == 0 && fg_ok(fn.fg));
	memset(r->tx_live, 0, sizeof(r->tx_live));
	memset(r->rx, 0, sizeof(r->rx));
	memset(r->ctl_live, 0, sizeof(r->ctl_live));
	memset(r->slot_busy, 0, sizeof(r->slot_busy));
	r->tx_seen = r->nr_tx; /* frames of the old rings: not checked */
	drain_host(r);
}

static void step(struct fn_run *r, struct fz_in *in)
{
	uint8_t op = fz_u8(in), a = fz_u8(in);
	uint16_t b = fz_u16(in);
	uint32_t c = fz_u32(in);
	uint64_t d = fz_u64(in);

	if (!r->up && op % OP_NR != OP_RESET)
		return;
	switch (op % OP_NR) {
	case OP_TX:
		op_tx(r, a, b, c, d);
		break;
	case OP_RXBUF:
		op_rxbuf(r, a, b, c);
		break;
	case OP_INJECT:
		op_inject(r, a, b, c, d);
		break;
	case OP_CTRL:
		op_ctrl(r, a, b, d);
		break;
	case OP_KICK:
		gdrv_notify(&r->drv, a % 4);
		break;
	case OP_RUN:
		for (unsigned int i = 0; i < a % 4u + 1; i++)
			evl_run_once(&fn.loop, false);
		drain_host(r);
		collect(r);
		break;
	case OP_RESET:
		reset(r);
		up(r);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fn_run r;
	struct fz_in in = { data, size };
	struct vnet_conf conf = { .domid = 1, .name = "vnet-fuzz" };
	static uint8_t junk[FN_HDR + FN_MAX_FRAME];

	if (!fn.fg)
		LLVMFuzzerInitialize(NULL, NULL);
	memset(&r, 0, sizeof(r));
	while (read(fn.sock[1], junk, sizeof(junk)) > 0)
		;
	r.flags = fz_u8(&in);
	r.num = 1u << (1 + fz_u8(&in) % 6);
	r.want = features(r.flags);
	r.nvq = r.want & FN_F(VIRTIO_NET_F_CTRL_VQ) ? 3 : 2;
	fg_set_clamp(fn.fg, r.flags & FN_CLAMP);
	memcpy(conf.mac, guest_mac, 6);
	conf.tap_fd = fcntl(fn.tap, F_DUPFD_CLOEXEC, 0);
	FZ_CHECK(!vnet_create(&r.net, &conf, &fn.fg->gmem, &fn.loop));
	gdrv_init(&r.drv, vnet_vdev(r.net), fn.fg);
	up(&r);
	FZ_CHECK(r.up);

	for (unsigned int i = 0; i < FN_MAX_OPS && in.left; i++)
		step(&r, &in);
	/* SIGUSR1's state dump reads the rings as the guest left them. */
	vnet_log_state(r.net);

	if (r.up) {
		for (unsigned int q = 0; q < r.nvq; q++)
			gdrv_notify(&r.drv, q);
		settle(&r);
		/* Every valid frame came out, unless the ring broke. */
		if (!needs_reset(&r)) {
			while (r.tx_seen < r.nr_tx && !r.tx[r.tx_seen].valid)
				r.tx_seen++;
			FZ_CHECK(r.tx_seen == r.nr_tx);
		}
	}
	reset(&r);
	gdrv_fini(&r.drv);
	swap_in(&r, fn.tap);
	vnet_destroy(r.net);
	FZ_CHECK(!evl_drain(&fn.loop, 1000));
	FZ_CHECK(fn.loop.inflight == fn.idle_ops);
	/* Frames the device never read must not reach the next input. */
	while (recv(fn.sock[0], junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	for (unsigned int i = 0; i < r.nr_inj; i++)
		free(r.inj[i]);
	return 0;
}
