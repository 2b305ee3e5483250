/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net tests' rig: a private network namespace, a TAP the test
 * makes (the device gets a duplicate of its descriptor), a packet socket
 * with vnet headers on it as the host side, a fake guest, an event loop,
 * the device and a guest driver. Helpers move frames both ways, run the
 * loop until used elements arrive, and check leaks.
 */
#ifndef XVB_TESTS_NET_RIG_H
#define XVB_TESTS_NET_RIG_H

#include <arpa/inet.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "devices/net/net.h"
#include "fakeguest.h"
#include "gdrv.h"
#include "hang.h"
#include "procfs.h"
#include "t.h"
#include "virtio/vmmio.h"

#define NRXQ 0
#define NTXQ 1
#define NCTRLQ 2
#define NR_HDR 12u	/* struct virtio_net_hdr_v1 */
#define NR_PS_HDR 10u	/* struct virtio_net_hdr, as packet sockets use */
#define NR_ETYPE 0x88b5 /* IEEE local experimental: no host stack reads it */
#define NR_WAIT_MS ((int)t_hang_ms()) /* hang detection, tests/lib/hang.h */
#define NR_TX_AREA (8u << 20)
#define NR_RX_AREA (20u << 20)
#define NR_MAX_FRAME (65535u + 18u)
#define NR_F(bit) (1ULL << (bit))

static const uint8_t nr_guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t nr_host_mac[6] = { 0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc };

struct nrig_opts {
	uint64_t features;    /* the driver's wanted set; 0: all offered */
	uint64_t no_features; /* removed from it */
	uint16_t num;	      /* entries of each queue; 0: 256 */
	uint16_t queue_size;  /* conf->queue_size */
	uint16_t mtu;	      /* conf->mtu */
	bool clamp;	      /* 4 KiB map clamping */
	bool no_up;	      /* stop before the driver: the test drives it */
	unsigned int pairs; /* conf->nr_pairs: > 1, the device makes the TAP */
	bool threads;	    /* pairs past the first on threads of their own */
	unsigned int poll_us;	  /* conf->poll_us */
	unsigned int coalesce_us; /* conf->coalesce_us */
};

struct nrig {
	struct nrig_opts o;
	char ifname[IFNAMSIZ];
	int tap; /* the test's descriptor of the TAP */
	int ps;	 /* packet socket on it: the host side */
	int ifindex;
	struct fakeguest *fg;
	struct evl loop;
	struct evl_thread thr[VNET_MAX_PAIRS];
	struct evl *loops[VNET_MAX_PAIRS];
	struct vnet *net;
	struct vdev *vdev;
	struct gdrv drv;
	uint64_t tx, tx_next;  /* NR_TX_AREA bytes for frames to send */
	uint64_t rx;	       /* NR_RX_AREA bytes for receive buffers */
	uint64_t ctl;	       /* a page for control commands */
	size_t baseline;       /* live mappings once up: the rings */
	int fds;	       /* open descriptors before the rig */
	unsigned int idle_ops; /* loop.inflight with no device I/O */
	const char *why;
	bool skip;
};

static inline int nr_fail(struct nrig *r, const char *why)
{
	r->why = why;
	return -1;
}

static inline int nr_skip(struct nrig *r, const char *why)
{
	r->why = why;
	r->skip = true;
	return -1;
}

static inline void nr_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	ssize_t n;

	if (fd < 0)
		return; /* best effort: IPv6 may be absent */
	n = write(fd, val, strlen(val));
	(void)n;
	close(fd);
}

/*
 * Moves the process into a network namespace of its own, once, with IPv6
 * off so no router solicitation or MLD report reaches a test's TAP. Without
 * CAP_SYS_ADMIN the tests run in the current namespace.
 */
static inline void nr_netns(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	if (unshare(CLONE_NEWNET))
		return;
	nr_write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	nr_write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
}

static inline void nr_no_ipv6(const char *ifname)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 ifname);
	nr_write_file(path, "1");
}

/*
 * Opens a new TAP "xvbtN" with IFF_VNET_HDR, as a host's tooling would.
 * Returns the descriptor, or -errno (-EPERM, -ENOENT: no TUN here).
 */
static inline int nr_open_tap(char *name, short flags)
{
	struct ifreq ifr;
	int fd, rc;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "xvbt%%d");
	ifr.ifr_flags = flags;
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	nr_no_ipv6(name);
	return fd;
}

/* True if this process may make TAPs (else tests skip with a reason). */
static inline bool nr_tap_ok(void)
{
	char name[IFNAMSIZ];
	int fd;

	nr_netns();
	fd = nr_open_tap(name, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

#define NR_NEED_TAP()                                                  \
	do {                                                           \
		if (!nr_tap_ok()) {                                    \
			t_skip("no /dev/net/tun or no CAP_NET_ADMIN"); \
			return;                                        \
		}                                                      \
	} while (0)

/* A raw packet socket on @ifindex with vnet headers both ways. */
static inline int nr_open_ps(int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	int one = 1, buf = 8 << 20;
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (s < 0)
		return -errno;
	if (setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
	    setsockopt(s, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
		       sizeof(one)) ||
	    bind(s, (struct sockaddr *)&sll, sizeof(sll))) {
		close(s);
		return -1;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
	return s;
}

static inline uint64_t nr_want(const struct nrig *r)
{
	return (r->o.features ? r->o.features : ~0ULL) & ~r->o.no_features;
}

/* The driver, up to DRIVER_OK, with a control queue if it wants one. */
static inline int nrig_up(struct nrig *r)
{
	uint64_t want = nr_want(r);
	unsigned int pairs = r->o.pairs > 1 ? r->o.pairs : 1;
	unsigned int nvq =
		2 * pairs + (want & NR_F(VIRTIO_NET_F_CTRL_VQ) ? 1 : 0);

	gdrv_init(&r->drv, r->vdev, r->fg);
	if (gdrv_up(&r->drv, want, nvq, r->o.num ? r->o.num : 256))
		return nr_fail(r, r->drv.why ? r->drv.why : "gdrv_up");
	r->baseline = fg_live(r->fg);
	return 0;
}

static inline int nrig_start(struct nrig *r, const struct nrig_opts *o)
{
	struct vnet_conf conf = {
		.tap_fd = -1,
		.domid = 7,
		.name = "vnet-test",
	};
	int rc;

	memset(r, 0, sizeof(*r));
	r->tap = r->ps = -1;
	if (o)
		r->o = *o;
	nr_netns();
	r->fds = t_count_fds(0);
	if (r->o.pairs > 1) {
		/* A multiqueue TAP the device makes: the test has no fd of it. */
		if (!nr_tap_ok())
			return nr_skip(r,
				       "no /dev/net/tun or no CAP_NET_ADMIN");
		snprintf(conf.ifname, sizeof(conf.ifname), "xvbq%%d");
		conf.nr_pairs = r->o.pairs;
		for (unsigned int i = 1; r->o.threads && i < r->o.pairs; i++) {
			if (evl_thread_start(&r->thr[i], "net-test-q", 256))
				return nr_fail(r, "evl_thread_start");
			r->loops[i] = &r->thr[i].loop;
		}
		conf.loops = r->loops;
	} else {
		r->tap = nr_open_tap(r->ifname,
				     IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
		if (r->tap == -EPERM || r->tap == -EACCES ||
		    r->tap == -ENOENT || r->tap == -ENODEV)
			return nr_skip(r,
				       "no /dev/net/tun or no CAP_NET_ADMIN");
		if (r->tap < 0)
			return nr_fail(r, "TUNSETIFF");
	}
	r->fg = fg_new(256u << 20);
	if (!r->fg)
		return nr_fail(r, "fg_new");
	fg_set_clamp(r->fg, r->o.clamp);
	if (evl_init(&r->loop, 256))
		return nr_fail(r, "evl_init");
	r->idle_ops = r->loop.inflight;

	memcpy(conf.mac, nr_guest_mac, 6);
	conf.mtu = r->o.mtu;
	conf.queue_size = r->o.queue_size;
	conf.poll_us = r->o.poll_us;
	conf.coalesce_us = r->o.coalesce_us;
	if (r->tap >= 0)
		conf.tap_fd = fcntl(r->tap, F_DUPFD_CLOEXEC, 0);
	rc = vnet_create(&r->net, &conf, &r->fg->gmem, &r->loop);
	if (rc) {
		if (conf.tap_fd >= 0)
			close(conf.tap_fd);
		return nr_fail(r, "vnet_create");
	}
	r->vdev = vnet_vdev(r->net);
	if (r->tap < 0) {
		snprintf(r->ifname, sizeof(r->ifname), "%s",
			 vnet_ifname(r->net));
		nr_no_ipv6(r->ifname);
	}
	r->ifindex = if_nametoindex(r->ifname);
	/* Bound once the device brought the TAP up (else: -ENETDOWN once). */
	r->ps = nr_open_ps(r->ifindex);
	if (r->ps < 0)
		return nr_skip(r, "no AF_PACKET socket (CAP_NET_RAW)");
	r->tx = r->tx_next = fg_alloc(r->fg, NR_TX_AREA, 4096);
	r->rx = fg_alloc(r->fg, NR_RX_AREA, 4096);
	r->ctl = fg_alloc(r->fg, 4096, 4096);
	if (!r->tx || !r->rx || !r->ctl)
		return nr_fail(r, "guest RAM exhausted");
	if (r->o.no_up) {
		gdrv_init(&r->drv, r->vdev, r->fg);
		return 0;
	}
	return nrig_up(r);
}

/* Tears down; 0 if no mapping or descriptor was left behind. */
static inline int nrig_fini(struct nrig *r)
{
	int rc = 0;

	vnet_destroy(r->net);
	r->net = NULL;
	for (unsigned int i = 0; i < VNET_MAX_PAIRS; i++) {
		if (evl_thread_stop(&r->thr[i]))
			rc = nr_fail(r, "pair thread's loop failed");
		r->loops[i] = NULL;
	}
	gdrv_fini(&r->drv);
	if (r->fg && (fg_live(r->fg) || !fg_ok(r->fg)))
		rc = nr_fail(r, "guest mappings leaked or bogus unmaps");
	if (r->loop.ready && r->loop.inflight != r->idle_ops)
		rc = nr_fail(r, "operations left on the loop");
	evl_exit(&r->loop);
	fg_free(r->fg);
	r->fg = NULL;
	if (r->ps >= 0)
		close(r->ps);
	if (r->tap >= 0)
		close(r->tap);
	r->ps = r->tap = -1;
	if (t_count_fds(0) != r->fds)
		rc = nr_fail(r, "file descriptors leaked");
	return rc;
}

/*
 * nrig_fini() if still set up, its verdict ignored: a failed case's way
 * out. As a cleanup attribute (NRIG_SCOPED, on a zeroed struct) it tears
 * the rig down however the case returns.
 */
static inline void nrig_cleanup(struct nrig *r)
{
	if (r->fg || r->net)
		nrig_fini(r);
}
#define NRIG_SCOPED __attribute__((cleanup(nrig_cleanup)))

#define T_NR(r, expr)                                                      \
	do {                                                               \
		int t_rc_ = (expr);                                        \
		if (t_rc_) {                                               \
			if ((r)->skip)                                     \
				t_skip("%s", (r)->why);                    \
			else                                               \
				t_fail(__FILE__, __LINE__, "%s = %d (%s)", \
				       #expr, t_rc_,                       \
				       (r)->why ? (r)->why : "?");         \
			nrig_fini(r);                                      \
			return;                                            \
		}                                                          \
	} while (0)
#define T_NR_START(r, o) T_NR(r, nrig_start(r, o))
#define T_NR_FINI(r) T_NR(r, nrig_fini(r))

/* ---- running the loop ---------------------------------------------------- */

static inline uint64_t nr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One short turn of the loop; returns the CQEs handled. */
static inline int nr_turn(struct nrig *r)
{
	int n = evl_run_once(&r->loop, false);

	if (n > 0)
		return n;
	if (r->loop.inflight > r->idle_ops)
		evl_drain(&r->loop, 2);
	else
		usleep(500);
	return 0;
}

/*
 * Runs the loop until @want used elements of queue @q arrived (or
 * NR_WAIT_MS passed), storing heads and lengths. Returns how many.
 */
static inline int nr_collect(struct nrig *r, unsigned int q, uint16_t *heads,
			     uint32_t *lens, unsigned int want)
{
	uint64_t end = nr_now_ms() + NR_WAIT_MS;
	unsigned int n = 0;
	uint32_t l;
	uint16_t h;
	int rc;

	for (;;) {
		while (n < want &&
		       (rc = gdrv_get_used(&r->drv, q, &h, &l)) == 1) {
			if (heads)
				heads[n] = h;
			if (lens)
				lens[n] = l;
			n++;
		}
		if (n >= want || rc < 0 || nr_now_ms() > end)
			return n;
		nr_turn(r);
	}
}

/* Runs the loop for @ms. Returns the CQEs handled meanwhile. */
static inline int nr_settle(struct nrig *r, unsigned int ms)
{
	uint64_t end = nr_now_ms() + ms;
	int n = 0;

	while (nr_now_ms() < end)
		n += nr_turn(r);
	return n;
}

/* Reads and drops what waits in the TAP (no device read may be pending). */
static inline void nr_tap_drain(struct nrig *r)
{
	static uint8_t buf[NR_MAX_FRAME + NR_HDR];

	if (r->tap < 0)
		return;
	while (read(r->tap, buf, sizeof(buf)) > 0)
		;
}

static inline bool nr_needs_reset(struct nrig *r)
{
	return gdrv_r32(&r->drv, VIRTIO_MMIO_STATUS) &
	       VIRTIO_CONFIG_S_NEEDS_RESET;
}

static inline struct vnet_stats nr_stats(struct nrig *r)
{
	struct vnet_stats st;

	vnet_get_stats(r->net, &st);
	return st;
}

/* ---- frames -------------------------------------------------------------- */

/* An Ethernet frame of @len bytes of our test type, payload from @seed. */
static inline void nr_frame(uint8_t *f, size_t len, uint32_t seed,
			    const uint8_t *dst)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, dst == nr_guest_mac ? nr_host_mac : nr_guest_mac, 6);
	f[12] = NR_ETYPE >> 8;
	f[13] = NR_ETYPE & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = fg_pattern(seed, i);
}

static inline uint16_t nr_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static inline uint32_t nr_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

/*
 * A TCP segment of @payload bytes in IPv4 (@v6 false) or IPv6, as a stack
 * hands it to a device with checksum offload: TCP checksum holding the
 * pseudo-header sum. Returns the frame length; fills a GSO header if @mss.
 */
static inline size_t nr_tcp_frame(uint8_t *f, size_t payload, uint32_t seed,
				  bool v6, const uint8_t *dst, uint16_t mss,
				  struct virtio_net_hdr_v1 *h)
{
	size_t l3 = v6 ? 40 : 20, l4 = 20, off = 14 + l3;
	size_t len = off + l4 + payload;
	uint8_t *ip = f + 14, *tcp = f + off;
	uint32_t sum;

	nr_frame(f, len, seed, dst);
	memset(ip, 0, l3 + l4);
	if (v6) {
		f[12] = 0x86;
		f[13] = 0xdd;
		ip[0] = 0x60;
		ip[4] = (l4 + payload) >> 8;
		ip[5] = (l4 + payload) & 0xff;
		ip[6] = 6;
		ip[7] = 64;
		ip[8] = 0xfd;
		ip[23] = 1;
		ip[24] = 0xfd;
		ip[39] = 2;
		sum = nr_csum_add(0, ip + 8, 32) + l4 + payload + 6;
	} else {
		f[12] = 0x08;
		f[13] = 0x00;
		ip[0] = 0x45;
		ip[2] = (l3 + l4 + payload) >> 8;
		ip[3] = (l3 + l4 + payload) & 0xff;
		ip[8] = 64;
		ip[9] = 6;
		ip[12] = 10;
		ip[15] = 1;
		ip[16] = 10;
		ip[19] = 2;
		sum = ~nr_csum_fold(nr_csum_add(0, ip, 20)) & 0xffff;
		ip[10] = sum >> 8;
		ip[11] = sum & 0xff;
		sum = nr_csum_add(0, ip + 12, 8) + l4 + payload + 6;
	}
	tcp[0] = 0x30;
	tcp[1] = 0x39; /* 12345 */
	tcp[2] = 0x00;
	tcp[3] = 0x50; /* 80 */
	tcp[4] = seed >> 24;
	tcp[7] = 1;
	tcp[12] = 5 << 4;
	tcp[13] = 0x18; /* PSH ACK */
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	sum = nr_csum_fold(sum);
	tcp[16] = sum >> 8;
	tcp[17] = sum & 0xff;
	if (h) {
		memset(h, 0, sizeof(*h));
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = htole16(off);
		h->csum_offset = htole16(16);
		if (mss) {
			h->gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 :
					   VIRTIO_NET_HDR_GSO_TCPV4;
			h->gso_size = htole16(mss);
			h->hdr_len = htole16(off + l4);
		}
	}
	return len;
}

/* ---- the host side ------------------------------------------------------- */

/* Sends one frame into the TAP (towards the guest) with header @h. */
static inline int nr_host_send(struct nrig *r,
			       const struct virtio_net_hdr_v1 *h,
			       const void *frame, size_t len)
{
	struct iovec iov[2] = {
		{ (void *)h, NR_PS_HDR },
		{ (void *)frame, len },
	};
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	struct virtio_net_hdr_v1 zero = { 0 };

	if (!h)
		iov[0].iov_base = &zero;
	return sendmsg(r->ps, &m, 0) == (ssize_t)(NR_PS_HDR + len) ? 0 : -errno;
}

/*
 * Receives the next frame the guest sent (waiting up to @ms) into @buf,
 * its header into @h. Returns the frame length, or -ETIMEDOUT.
 */
static inline long nr_host_recv(struct nrig *r, struct virtio_net_hdr_v1 *h,
				void *buf, size_t cap, int ms)
{
	struct virtio_net_hdr_v1 tmp;
	struct iovec iov[2] = {
		{ h ? (void *)h : &tmp, NR_PS_HDR },
		{ buf, cap },
	};
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	struct pollfd p = { .fd = r->ps, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return -ETIMEDOUT;
	n = recvmsg(r->ps, &m, MSG_DONTWAIT | MSG_TRUNC);
	if (n < (ssize_t)NR_PS_HDR)
		return n < 0 ? -errno : -EPROTO;
	return n - NR_PS_HDR;
}

/* True if nothing arrives on the host side within @ms. */
static inline bool nr_host_quiet(struct nrig *r, int ms)
{
	struct pollfd p = { .fd = r->ps, .events = POLLIN };

	return poll(&p, 1, ms) == 0;
}

/* True if the TAP holds frames nobody has read (the test's descriptor). */
static inline bool nr_tap_pending(struct nrig *r)
{
	struct pollfd p = { .fd = r->tap, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* ---- the guest side ------------------------------------------------------ */

/* Guest memory for @len bytes of a frame to send; the area wraps. */
static inline uint64_t nr_tx_mem(struct nrig *r, size_t len)
{
	uint64_t gpa;

	len = (len + 63) & ~(size_t)63;
	if (r->tx_next + len > r->tx + NR_TX_AREA)
		r->tx_next = r->tx;
	gpa = r->tx_next;
	r->tx_next += len;
	return gpa;
}

/*
 * Adds a transmit chain: header @h and @len frame bytes, laid out together
 * in guest memory and cut into descriptors at the @ncut offsets in @cuts
 * (ascending, inside the image). Not kicked. Returns the head or -errno.
 */
static inline int nr_tx_add(struct nrig *r, const struct virtio_net_hdr_v1 *h,
			    const void *frame, size_t len, const uint32_t *cuts,
			    unsigned int ncut, unsigned int flags)
{
	struct virtio_net_hdr_v1 zero = { 0 };
	size_t total = NR_HDR + len;
	uint64_t gpa = nr_tx_mem(r, total);
	struct gdrv_buf b[64];
	uint32_t at = 0;
	unsigned int n = 0;

	fg_write(r->fg, gpa, h ? h : &zero, NR_HDR);
	if (len)
		fg_write(r->fg, gpa + NR_HDR, frame, len);
	for (unsigned int i = 0; i <= ncut && n < 64; i++) {
		uint32_t end = i < ncut ? cuts[i] : total;

		if (end <= at)
			continue;
		b[n++] = (struct gdrv_buf){ gpa + at, end - at, false };
		at = end;
	}
	return gdrv_add(&r->drv, NTXQ, b, n, flags);
}

/*
 * Sends one frame from the guest and waits for its used element. Returns
 * the used length (0), or -errno.
 */
static inline long nr_tx_one(struct nrig *r, const struct virtio_net_hdr_v1 *h,
			     const void *frame, size_t len,
			     const uint32_t *cuts, unsigned int ncut,
			     unsigned int flags)
{
	uint32_t l;
	uint16_t hd;
	int head = nr_tx_add(r, h, frame, len, cuts, ncut, flags);

	if (head < 0)
		return head;
	gdrv_kick(&r->drv, NTXQ);
	if (nr_collect(r, NTXQ, &hd, &l, 1) != 1)
		return -ETIMEDOUT;
	if (hd != head)
		return -EPROTO;
	return l;
}

/* Posts a receive buffer of @len bytes at @gpa (one writable descriptor). */
static inline int nr_rx_post(struct nrig *r, uint64_t gpa, uint32_t len,
			     unsigned int flags)
{
	struct gdrv_buf b = { gpa, len, true };

	return gdrv_add(&r->drv, NRXQ, &b, 1, flags);
}

/* Reset, set up again with the same features, and move one frame each way. */
static inline int nrig_recover(struct nrig *r)
{
	static uint8_t f[1514], g[1600];
	struct virtio_net_hdr_v1 h;
	uint32_t len;
	uint16_t head;
	long n;
	int rc;

	gdrv_reset(&r->drv);
	if (fg_live(r->fg))
		return nr_fail(r, "mappings left after reset");
	nr_tap_drain(r);
	rc = nrig_up(r);
	if (rc)
		return rc;
	nr_frame(f, sizeof(f), 0xca7a, nr_host_mac);
	while (nr_host_recv(r, NULL, g, sizeof(g), 0) >= 0)
		; /* what the old driver sent */
	if (nr_tx_one(r, NULL, f, sizeof(f), NULL, 0, 0) != 0)
		return nr_fail(r, "canary transmit not completed");
	n = nr_host_recv(r, NULL, g, sizeof(g), NR_WAIT_MS);
	if (n != (long)sizeof(f) || memcmp(f, g, sizeof(f)))
		return nr_fail(r, "canary frame not on the TAP");
	/* Room for 64 KiB, as a guest with MRG_RXBUF and GUEST_TSO posts. */
	for (unsigned int i = 0; i < 48; i++)
		if (nr_rx_post(r, r->rx + i * 2048, 1536, 0) < 0)
			return nr_fail(r, "no room for receive buffers");
	gdrv_kick(&r->drv, NRXQ);
	nr_frame(f, sizeof(f), 0xca7b, nr_guest_mac);
	if (nr_host_send(r, NULL, f, sizeof(f)))
		return nr_fail(r, "host send");
	if (nr_collect(r, NRXQ, &head, &len, 1) != 1 ||
	    len != NR_HDR + sizeof(f))
		return nr_fail(r, "canary frame not received");
	fg_read(r->fg, r->rx, &h, NR_HDR);
	fg_read(r->fg, r->rx + NR_HDR, g, sizeof(f));
	if (memcmp(f, g, sizeof(f)) || le16toh(h.num_buffers) != 1)
		return nr_fail(r, "canary frame corrupted");
	return 0;
}

#endif
