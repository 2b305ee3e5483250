// SPDX-License-Identifier: MIT
/*
 * The simulated guest's network stack. A guest kernel would run TCP/IP on
 * its virtio-net device; here the kernel of a "guest" network namespace
 * does, on a TAP this file creates there, and the guest's driver moves
 * frames between that TAP and the virtio rings, headers included, so TSO,
 * checksum offload and mergeable buffers carry real traffic. Two vCPUs:
 * vCPU 1 reads the TAP into TX buffers; vCPU 0 takes interrupts, writes
 * received frames to the TAP, and plays the driver's rx-mode handler
 * (promiscuous, all-multicast, MAC filter, MAC address) on the control
 * queue from the TAP's own settings.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "gdrv.h"
#include "netstack.h"
#include "simbus.h"

#define RXQ 0
#define TXQ 1
#define CTRLQ 2
#define QSIZE 256
#define HDR_LEN 12u /* struct virtio_net_hdr_v1 */

/* A TX buffer, or an RX buffer without MRG_RXBUF: the largest frame. */
#define BIGBUF (68u << 10)
#define TX_BATCH 32	 /* frames queued between kick decisions */
#define HK_NS 100000000u /* housekeeping every 100 ms */
#define MC_MAX 32	 /* multicast addresses in the filter we send */
#define PROBE_ETHERTYPE 0x88b5

#define F(b) (1ULL << (b))

static const uint64_t nstack_want =
	F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_ACCESS_PLATFORM) |
	F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_NET_F_MAC) |
	F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MTU) | F(VIRTIO_NET_F_CSUM) |
	F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) |
	F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_GUEST_TSO4) |
	F(VIRTIO_NET_F_GUEST_TSO6) | F(VIRTIO_NET_F_MRG_RXBUF) |
	F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) |
	F(VIRTIO_NET_F_CTRL_MAC_ADDR);

static const uint8_t nstack_mac[6] = { 0x02, 0x58, 0x56, 0x42, 0, 1 };

/* Counters, each written by one thread, read by the main one. */
struct nstack_stats {
	uint64_t tx_frames, tx_bytes, tx_gso, tx_csum, tx_max, tx_done;
	uint64_t tx_kicks, tx_full, tx_bad;
	uint64_t rx_frames, rx_bytes, rx_gso, rx_csum, rx_valid, rx_mrg;
	uint64_t rx_max, rx_bufs, rx_probe, rx_kicks, rx_bad, rx_tap_err;
	uint64_t irqs, config_irqs, link_changes;
	uint64_t ctrl_ok, ctrl_err;
};

/* The rx-mode state last sent on the control queue. */
struct nstack_rxmode {
	bool promisc, allmulti;
	uint8_t mac[6];
	unsigned int nr_mc;
	uint8_t mc[MC_MAX][6];
};

struct nstack {
	const struct nstack_conf *conf;
	struct xsim *sim;
	uint32_t domid;
	unsigned int spi;
	struct fakeguest *fg;
	struct simbus bus0, bus1; /* vCPU 0: setup, RX, control; 1: TX */
	struct gdrv drv;
	uint64_t features;
	uint16_t mtu;
	bool link;

	int tap, sk, ns_fd, home_fd, ifindex;
	char ifname[IFNAMSIZ];

	/* TX: a free list of slots, each one BIGBUF; head -> slot. */
	uint64_t tx_gpa[QSIZE];
	uint16_t tx_free[QSIZE], tx_nfree;
	uint16_t tx_slot[QSIZE];

	/* RX: one buffer per descriptor head; a frame spans num_buffers. */
	uint32_t rxbuf;
	uint64_t rx_gpa[QSIZE]; /* the buffers */
	uint64_t rx_buf[QSIZE]; /* head -> the buffer posted with it */
	bool rx_posted;
	unsigned int rx_nr;	  /* buffers of the frame being put together */
	unsigned int rx_want;	  /* num_buffers of that frame */
	uint64_t rx_parts[QSIZE]; /* its buffers */
	struct iovec rx_iov[QSIZE]; /* and its bytes */
	uint64_t rx_repost[QSIZE];  /* buffers to post again */
	unsigned int rx_nrepost;

	uint64_t ctrl_gpa;
	struct nstack_rxmode mode;
	bool mode_valid;

	/* Shared between the threads: __atomic accesses only. */
	bool stop;
	bool rx_on;
	int err; /* the first thread failure, -errno */
	struct nstack_stats st;
};

static void cnt(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static void cnt_max(uint64_t *c, uint64_t v)
{
	if (v > __atomic_load_n(c, __ATOMIC_RELAXED))
		__atomic_store_n(c, v, __ATOMIC_RELAXED);
}

static uint64_t rd(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static bool get_flag(const bool *f)
{
	return __atomic_load_n(f, __ATOMIC_ACQUIRE);
}

static void set_flag(bool *f, bool v)
{
	__atomic_store_n(f, v, __ATOMIC_RELEASE);
}

/* The first failure of a thread stops them all. */
static void fail(struct nstack *s, int err)
{
	int none = 0;

	__atomic_compare_exchange_n(&s->err, &none, err, false,
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	set_flag(&s->stop, true);
}

static bool has(const struct nstack *s, unsigned int bit)
{
	return s->features & F(bit);
}

int nstack_parse_off(const char *list, uint64_t *bits)
{
	static const struct {
		const char *name;
		uint64_t bits;
	} names[] = {
		{ "mrg", F(VIRTIO_NET_F_MRG_RXBUF) },
		{ "tso", F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |
				 F(VIRTIO_NET_F_GUEST_TSO4) |
				 F(VIRTIO_NET_F_GUEST_TSO6) },
		{ "csum", F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
				  F(VIRTIO_NET_F_HOST_TSO4) |
				  F(VIRTIO_NET_F_HOST_TSO6) |
				  F(VIRTIO_NET_F_GUEST_TSO4) |
				  F(VIRTIO_NET_F_GUEST_TSO6) },
		{ "ctrl", F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) |
				  F(VIRTIO_NET_F_CTRL_MAC_ADDR) },
		{ "mac", F(VIRTIO_NET_F_MAC) },
		{ "mtu", F(VIRTIO_NET_F_MTU) },
		{ "status", F(VIRTIO_NET_F_STATUS) },
		{ "event-idx", F(VIRTIO_RING_F_EVENT_IDX) },
	};
	char buf[256], *tok, *save = NULL;

	*bits = 0;
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -EINVAL;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(tok, names[i].name))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -EINVAL;
		*bits |= names[i].bits;
	}
	return 0;
}

/* ---- the guest namespace and its TAP ---------------------------------- */

static int ns_open(const char *name)
{
	char path[300];

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int nstack_enter(const char *name)
{
	int fd = ns_open(name), rc;

	if (fd < 0)
		return -1;
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}

static int ifreq_ioctl(struct nstack *s, unsigned long req, struct ifreq *ifr)
{
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", s->ifname);
	return ioctl(s->sk, req, ifr) ? -errno : 0;
}

/*
 * Creates the TAP in the guest namespace (this thread enters it and comes
 * back): vnet header of 12 bytes, the offloads the device takes on TX,
 * the device's MAC and MTU, up, carrier as the device reports.
 */
static int tap_setup(struct nstack *s)
{
	unsigned int off = 0;
	struct ifreq ifr;
	int rc, sz = HDR_LEN;

	if (setns(s->ns_fd, CLONE_NEWNET))
		return -errno;
	rc = -errno;
	s->sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	s->tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (s->sk < 0 || s->tap < 0) {
		rc = -errno;
		goto out;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", s->ifname);
	if (ioctl(s->tap, TUNSETIFF, &ifr) ||
	    ioctl(s->tap, TUNSETVNETHDRSZ, &sz)) {
		rc = -errno;
		goto out;
	}
	/* What the kernel may hand us is what the device takes on TX. */
	if (has(s, VIRTIO_NET_F_CSUM))
		off |= TUN_F_CSUM;
	if (has(s, VIRTIO_NET_F_HOST_TSO4))
		off |= TUN_F_TSO4;
	if (has(s, VIRTIO_NET_F_HOST_TSO6))
		off |= TUN_F_TSO6;
	if (ioctl(s->tap, TUNSETOFFLOAD, (unsigned long)off)) {
		rc = -errno;
		goto out;
	}
	s->ifindex = if_nametoindex(s->ifname);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
	memcpy(ifr.ifr_hwaddr.sa_data, s->mode.mac, 6);
	rc = ifreq_ioctl(s, SIOCSIFHWADDR, &ifr);
	if (!rc) {
		ifr.ifr_mtu = s->mtu;
		rc = ifreq_ioctl(s, SIOCSIFMTU, &ifr);
	}
	if (!rc)
		rc = ifreq_ioctl(s, SIOCGIFFLAGS, &ifr);
	if (!rc) {
		ifr.ifr_flags |= IFF_UP;
		rc = ifreq_ioctl(s, SIOCSIFFLAGS, &ifr);
	}
out:
	if (setns(s->home_fd, CLONE_NEWNET) && !rc)
		rc = -errno;
	return rc;
}

static void set_carrier(struct nstack *s, bool up)
{
	int on = up;

	if (ioctl(s->tap, TUNSETCARRIER, &on))
		fprintf(stderr, "xvb-sim: TUNSETCARRIER: %s\n",
			strerror(errno));
}

/* ---- the driver ------------------------------------------------------- */

static void kick(struct nstack *s, struct simbus *sb, unsigned int q,
		 uint64_t *count)
{
	if (!gdrv_kick_prepare(&s->drv, q))
		return;
	sb->bus.write(sb, VIRTIO_MMIO_QUEUE_NOTIFY, 4, q);
	cnt(count, 1);
}

static uint32_t cfg_read(struct nstack *s, size_t off, unsigned int size)
{
	return (uint32_t)gdrv_read(&s->drv, VIRTIO_MMIO_CONFIG + off, size);
}

/* Link status from config space; the TAP's carrier follows it. */
static void link_sync(struct nstack *s)
{
	bool up = true;

	if (has(s, VIRTIO_NET_F_STATUS))
		up = cfg_read(s, offsetof(struct virtio_net_config, status),
			      2) &
		     VIRTIO_NET_S_LINK_UP;
	if (up != get_flag(&s->link))
		cnt(&s->st.link_changes, 1);
	set_flag(&s->link, up);
	set_carrier(s, up);
}

/* Posts the RX buffer at @gpa; its head maps back to it. */
static int rx_post(struct nstack *s, uint64_t gpa)
{
	struct gdrv_buf b = { gpa, s->rxbuf, true };
	int head = gdrv_add(&s->drv, RXQ, &b, 1, 0);

	if (head < 0)
		return head;
	s->rx_buf[head] = gpa;
	return 0;
}

/* Posts every RX buffer (the first time SIGUSR2 or start allows). */
static int rx_post_all(struct nstack *s)
{
	int rc;

	for (unsigned int i = 0; i < QSIZE; i++) {
		rc = rx_post(s, s->rx_gpa[i]);
		if (rc < 0)
			return rc;
	}
	s->rx_posted = true;
	kick(s, &s->bus0, RXQ, &s->st.rx_kicks);
	return 0;
}

static int setup(struct nstack *s)
{
	uint64_t want = nstack_want & ~s->conf->feat_off;
	int rc;

	gdrv_init_bus(&s->drv, &s->bus0.bus, s->fg);
	rc = gdrv_probe(&s->drv);
	if (!rc)
		rc = gdrv_negotiate(&s->drv, want);
	if (rc)
		return rc;
	s->features = s->drv.features;
	/* Without a MAC from the device, a locally administered one. */
	memcpy(s->mode.mac, nstack_mac, 6);
	for (unsigned int i = 0; i < 6 && has(s, VIRTIO_NET_F_MAC); i++)
		s->mode.mac[i] = cfg_read(
			s, offsetof(struct virtio_net_config, mac) + i, 1);
	s->mtu = has(s, VIRTIO_NET_F_MTU) ?
			 cfg_read(s, offsetof(struct virtio_net_config, mtu),
				  2) :
			 1500;
	s->rxbuf = has(s, VIRTIO_NET_F_MRG_RXBUF) ?
			   (s->conf->rxbuf ? s->conf->rxbuf : 4096) :
			   BIGBUF;
	for (unsigned int i = 0; i < QSIZE; i++) {
		s->tx_gpa[i] = fg_alloc(s->fg, BIGBUF, 4096);
		s->rx_gpa[i] = fg_alloc(s->fg, s->rxbuf, 64);
		if (!s->tx_gpa[i] || !s->rx_gpa[i])
			return -ENOMEM;
		s->tx_free[i] = QSIZE - 1 - i;
	}
	s->tx_nfree = QSIZE;
	s->ctrl_gpa = fg_alloc(s->fg, 4096, 4096);
	if (!s->ctrl_gpa)
		return -ENOMEM;
	for (unsigned int q = 0; q < 3; q++) {
		if (q == CTRLQ && !has(s, VIRTIO_NET_F_CTRL_VQ))
			break;
		rc = gdrv_setup_vq(&s->drv, q, QSIZE);
		if (rc)
			return rc;
	}
	/* TX completions are reaped by polling: no interrupts asked for. */
	s->drv.vqs[TXQ].manual_used_event = true;
	s->drv.vqs[CTRLQ].manual_used_event = true;
	rc = gdrv_driver_ok(&s->drv);
	if (rc)
		return rc;
	return s->bus0.err;
}

/* ---- transmit (vCPU 1) -------------------------------------------------- */

static void tx_reap(struct nstack *s)
{
	uint16_t head;
	uint32_t len;
	int rc;

	while ((rc = gdrv_get_used(&s->drv, TXQ, &head, &len)) == 1) {
		s->tx_free[s->tx_nfree++] = s->tx_slot[head];
		cnt(&s->st.tx_done, 1);
	}
	if (rc < 0)
		fail(s, rc);
}

static void tx_account(struct nstack *s, const void *p, uint32_t len)
{
	struct virtio_net_hdr_v1 h;

	memcpy(&h, p, sizeof(h));
	cnt(&s->st.tx_frames, 1);
	cnt(&s->st.tx_bytes, len - HDR_LEN);
	cnt_max(&s->st.tx_max, len - HDR_LEN);
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		cnt(&s->st.tx_gso, 1);
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		cnt(&s->st.tx_csum, 1);
}

/*
 * Reads frames from the TAP straight into free TX buffers and queues them,
 * kicking per batch as EVENT_IDX asks. Returns true if the TAP is drained,
 * false if the ring is full.
 */
static bool tx_fill(struct nstack *s)
{
	unsigned int batch = 0;
	bool drained = false;

	while (s->tx_nfree) {
		uint16_t slot = s->tx_free[s->tx_nfree - 1];
		void *p = fg_ptr(s->fg, s->tx_gpa[slot], BIGBUF);
		struct gdrv_buf b = { s->tx_gpa[slot], 0, false };
		ssize_t n = read(s->tap, p, BIGBUF);
		int head;

		if (n < 0) {
			if (errno == EAGAIN)
				drained = true;
			else if (errno != EINTR)
				fail(s, -errno);
			break;
		}
		if (n < (ssize_t)(HDR_LEN + ETH_HLEN) || n >= (ssize_t)BIGBUF) {
			cnt(&s->st.tx_bad, 1);
			continue;
		}
		tx_account(s, p, n);
		b.len = n;
		head = gdrv_add(&s->drv, TXQ, &b, 1, 0);
		if (head < 0) {
			fail(s, head);
			break;
		}
		s->tx_nfree--;
		s->tx_slot[head] = slot;
		if (++batch == TX_BATCH) {
			kick(s, &s->bus1, TXQ, &s->st.tx_kicks);
			batch = 0;
		}
	}
	kick(s, &s->bus1, TXQ, &s->st.tx_kicks);
	return drained;
}

static void *tx_main(void *arg)
{
	struct nstack *s = arg;
	struct pollfd pfd = { .fd = s->tap, .events = POLLIN };

	while (!get_flag(&s->stop)) {
		tx_reap(s);
		if (tx_fill(s)) {
			poll(&pfd, 1, 100);
			continue;
		}
		/* The ring is full: xvbd completes frames at its own pace. */
		cnt(&s->st.tx_full, 1);
		tx_reap(s);
		if (!s->tx_nfree)
			usleep(20);
	}
	return NULL;
}

/* ---- receive and control (vCPU 0) --------------------------------------- */

static void rx_account(struct nstack *s, const struct virtio_net_hdr_v1 *h,
		       uint32_t len, unsigned int nb, const uint8_t *eth)
{
	cnt(&s->st.rx_frames, 1);
	cnt(&s->st.rx_bytes, len - HDR_LEN);
	cnt(&s->st.rx_bufs, nb);
	cnt_max(&s->st.rx_max, len - HDR_LEN);
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		cnt(&s->st.rx_gso, 1);
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		cnt(&s->st.rx_csum, 1);
	if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID)
		cnt(&s->st.rx_valid, 1);
	if (nb > 1)
		cnt(&s->st.rx_mrg, 1);
	if (eth && eth[12] == PROBE_ETHERTYPE >> 8 &&
	    eth[13] == (PROBE_ETHERTYPE & 0xff))
		cnt(&s->st.rx_probe, 1);
}

/* The frame put together in rx_iov is complete: to the TAP, and repost. */
static void rx_deliver(struct nstack *s)
{
	struct virtio_net_hdr_v1 h;
	const uint8_t *eth = NULL;
	uint32_t len = 0;

	memcpy(&h, s->rx_iov[0].iov_base, sizeof(h));
	for (unsigned int i = 0; i < s->rx_nr; i++)
		len += s->rx_iov[i].iov_len;
	if (s->rx_iov[0].iov_len >= HDR_LEN + ETH_HLEN)
		eth = (const uint8_t *)s->rx_iov[0].iov_base + HDR_LEN;
	if (len < HDR_LEN + ETH_HLEN) {
		cnt(&s->st.rx_bad, 1);
	} else {
		rx_account(s, &h, len, s->rx_nr, eth);
		if (writev(s->tap, s->rx_iov, s->rx_nr) < 0)
			cnt(&s->st.rx_tap_err, 1);
	}
	for (unsigned int i = 0; i < s->rx_nr; i++)
		s->rx_repost[s->rx_nrepost++] = s->rx_parts[i];
	s->rx_nr = s->rx_want = 0;
}

/* Posts the buffers of delivered frames again. */
static void rx_repost(struct nstack *s)
{
	for (unsigned int i = 0; i < s->rx_nrepost; i++) {
		int rc = rx_post(s, s->rx_repost[i]);

		if (rc < 0) {
			fail(s, rc);
			break;
		}
	}
	if (s->rx_nrepost)
		kick(s, &s->bus0, RXQ, &s->st.rx_kicks);
	s->rx_nrepost = 0;
}

/*
 * Collects used RX buffers, puts frames together (num_buffers of them with
 * MRG_RXBUF), writes them to the TAP. Returns the number of used elements.
 */
static unsigned int rx_drain(struct nstack *s)
{
	unsigned int n = 0;
	uint16_t head;
	uint32_t len;
	int rc;

	while ((rc = gdrv_get_used(&s->drv, RXQ, &head, &len)) == 1) {
		uint64_t gpa = s->rx_buf[head];
		void *p = fg_ptr(s->fg, gpa, s->rxbuf);

		n++;
		if (len > s->rxbuf || !p) {
			fail(s, -EPROTO);
			return n;
		}
		s->rx_parts[s->rx_nr] = gpa;
		s->rx_iov[s->rx_nr++] = (struct iovec){ p, len };
		if (s->rx_nr == 1) {
			uint16_t nb = 1;

			if (has(s, VIRTIO_NET_F_MRG_RXBUF) && len >= HDR_LEN)
				nb = le16toh(((struct virtio_net_hdr_v1 *)p)
						     ->num_buffers);
			if (!nb || nb > QSIZE) {
				cnt(&s->st.rx_bad, 1);
				nb = 1;
			}
			s->rx_want = nb;
		}
		if (s->rx_nr == s->rx_want)
			rx_deliver(s);
		if (s->rx_nrepost >= 64)
			rx_repost(s);
	}
	if (rc < 0)
		fail(s, rc);
	rx_repost(s);
	return n;
}

/* One control command: class, command, @len bytes of data, the ack. */
static int ctrl_cmd(struct nstack *s, uint8_t class, uint8_t cmd,
		    const void *data, uint32_t len)
{
	uint8_t *p = fg_ptr(s->fg, s->ctrl_gpa, 4096);
	struct gdrv_buf b[2] = {
		{ s->ctrl_gpa, 2 + len, false },
		{ s->ctrl_gpa + 4000, 1, true },
	};
	uint64_t end = now_ns() + 2000000000ull;
	uint16_t head;
	uint32_t used;
	int rc;

	if (!p || len > 3000)
		return -EINVAL;
	p[0] = class;
	p[1] = cmd;
	memcpy(p + 2, data, len);
	p[4000] = 0xff;
	if (gdrv_add(&s->drv, CTRLQ, b, 2, 0) < 0)
		return -ENOSPC;
	kick(s, &s->bus0, CTRLQ, &s->st.rx_kicks);
	/* Linux spins for the answer too. */
	while (!(rc = gdrv_get_used(&s->drv, CTRLQ, &head, &used))) {
		if (now_ns() > end)
			return -ETIMEDOUT;
		usleep(50);
	}
	if (rc < 0)
		return rc;
	if (p[4000] != VIRTIO_NET_OK) {
		cnt(&s->st.ctrl_err, 1);
		return -EIO;
	}
	cnt(&s->st.ctrl_ok, 1);
	return 0;
}

/* The TAP's multicast list, from /proc/net/dev_mcast of its namespace. */
static void read_mc(struct nstack *s, struct nstack_rxmode *m)
{
	char line[256], addr[64];
	int idx;
	FILE *f;

	m->nr_mc = 0;
	f = fopen("/proc/thread-self/net/dev_mcast", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && m->nr_mc < MC_MAX) {
		unsigned int b[6];

		if (sscanf(line, "%d %*s %*d %*d %63s", &idx, addr) != 2 ||
		    idx != s->ifindex ||
		    sscanf(addr, "%2x%2x%2x%2x%2x%2x", &b[0], &b[1], &b[2],
			   &b[3], &b[4], &b[5]) != 6)
			continue;
		for (int i = 0; i < 6; i++)
			m->mc[m->nr_mc][i] = b[i];
		m->nr_mc++;
	}
	fclose(f);
}

/* MAC_TABLE_SET: no unicast entries, then the multicast list. */
static int ctrl_mac_table(struct nstack *s, const struct nstack_rxmode *m)
{
	uint8_t buf[8 + 6 * MC_MAX];
	uint32_t n = htole32(0);

	memcpy(buf, &n, 4);
	n = htole32(m->nr_mc);
	memcpy(buf + 4, &n, 4);
	memcpy(buf + 8, m->mc, 6 * m->nr_mc);
	return ctrl_cmd(s, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
			buf, 8 + 6 * m->nr_mc);
}

/*
 * Linux's ndo_set_rx_mode and ndo_set_mac_address, polled: the TAP's
 * promiscuous and all-multicast flags, MAC and multicast list go to the
 * device whenever they change.
 */
static void rxmode_sync(struct nstack *s)
{
	struct nstack_rxmode m, *o = &s->mode;
	struct ifreq ifr;
	uint8_t on;

	if (!has(s, VIRTIO_NET_F_CTRL_RX) || ifreq_ioctl(s, SIOCGIFFLAGS, &ifr))
		return;
	memset(&m, 0, sizeof(m));
	m.promisc = ifr.ifr_flags & IFF_PROMISC;
	m.allmulti = ifr.ifr_flags & IFF_ALLMULTI;
	memcpy(m.mac, o->mac, 6);
	if (!ifreq_ioctl(s, SIOCGIFHWADDR, &ifr))
		memcpy(m.mac, ifr.ifr_hwaddr.sa_data, 6);
	read_mc(s, &m);
	if (!s->mode_valid || m.promisc != o->promisc) {
		on = m.promisc;
		ctrl_cmd(s, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on,
			 1);
	}
	if (!s->mode_valid || m.allmulti != o->allmulti) {
		on = m.allmulti;
		ctrl_cmd(s, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI,
			 &on, 1);
	}
	if (!s->mode_valid || m.nr_mc != o->nr_mc ||
	    memcmp(m.mc, o->mc, 6 * m.nr_mc))
		ctrl_mac_table(s, &m);
	if (memcmp(m.mac, o->mac, 6) && has(s, VIRTIO_NET_F_CTRL_MAC_ADDR))
		ctrl_cmd(s, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
			 m.mac, 6);
	*o = m;
	s->mode_valid = true;
}

static void irq_handle(struct nstack *s)
{
	uint32_t isr = gdrv_ack_irq(&s->drv);

	cnt(&s->st.irqs, 1);
	if (isr & VIRTIO_MMIO_INT_CONFIG) {
		cnt(&s->st.config_irqs, 1);
		link_sync(s);
	}
}

static void *rx_main(void *arg)
{
	struct nstack *s = arg;
	uint64_t hk = 0;
	int rc;

	/* /proc/thread-self/net is this thread's namespace: the guest's. */
	if (setns(s->ns_fd, CLONE_NEWNET)) {
		fail(s, -errno);
		return NULL;
	}
	while (!get_flag(&s->stop)) {
		if (!s->rx_posted && get_flag(&s->rx_on) && rx_post_all(s) < 0)
			fail(s, -EPROTO);
		if (now_ns() >= hk) {
			rxmode_sync(s);
			hk = now_ns() + HK_NS;
		}
		if (rx_drain(s))
			continue;
		/* used_event asks for the next one: look once more, sleep. */
		if (gdrv_used_idx(&s->drv, RXQ) != s->drv.vqs[RXQ].last_used)
			continue;
		rc = xsim_irq_wait(s->sim, s->domid, s->spi, 100);
		/*
		 * Frames first, then the acknowledgement (two trapped
		 * accesses): TCP's ACKs and data wait less. Whatever the
		 * device pushes meanwhile is drained on the next turn.
		 */
		if (!rc) {
			rx_drain(s);
			irq_handle(s);
		} else if (rc != -ETIMEDOUT)
			fail(s, rc);
		if (s->bus0.err)
			fail(s, s->bus0.err);
	}
	return NULL;
}

/* ---- the main thread: statistics, signals, the command ------------------ */

static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	uint8_t b = sig;
	int e = errno;

	if (write(sig_pipe[1], &b, 1) < 0) {
		/* full: the main thread is behind anyway */
	}
	errno = e;
}

static void write_stats(struct nstack *s, const char *path)
{
	const struct nstack_stats *t = &s->st;
	char tmp[300];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "features=0x%" PRIx64 "\nlink=%d\nmtu=%u\n", s->features,
		get_flag(&s->link), s->mtu);
#define P(x) fprintf(f, #x "=%" PRIu64 "\n", rd(&t->x))
	P(tx_frames), P(tx_bytes), P(tx_gso), P(tx_csum), P(tx_max);
	P(tx_done), P(tx_kicks), P(tx_full), P(tx_bad);
	P(rx_frames), P(rx_bytes), P(rx_gso), P(rx_csum), P(rx_valid);
	P(rx_mrg), P(rx_max), P(rx_bufs), P(rx_probe), P(rx_kicks);
	P(rx_bad), P(rx_tap_err), P(irqs), P(config_irqs), P(link_changes);
	P(ctrl_ok), P(ctrl_err);
#undef P
	fprintf(f, "mmio=%" PRIu64 "\nrx_posted=%d\n", s->bus0.nr + s->bus1.nr,
		s->rx_posted);
	fclose(f);
	rename(tmp, path);
}

static pid_t spawn(struct nstack *s, const char *stats)
{
	const struct nstack_conf *c = s->conf;
	char buf[64];
	sigset_t none;
	pid_t pid = fork();

	if (pid)
		return pid;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	snprintf(buf, sizeof(buf), "%d", (int)getppid());
	setenv("XVB_SIM_PID", buf, 1);
	snprintf(buf, sizeof(buf), "%d", (int)c->worker);
	setenv("XVB_WORKER_PID", buf, 1);
	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x",
		 s->mode.mac[0], s->mode.mac[1], s->mode.mac[2], s->mode.mac[3],
		 s->mode.mac[4], s->mode.mac[5]);
	setenv("XVB_GUEST_MAC", buf, 1);
	setenv("XVB_GUEST_NETNS", c->netns, 1);
	setenv("XVB_GUEST_IF", s->ifname, 1);
	setenv("XVB_TAP", c->tap ? c->tap : "", 1);
	setenv("XVB_NET_STATS", stats, 1);
	execvp(c->argv[0], c->argv);
	fprintf(stderr, "xvb-sim: %s: %s\n", c->argv[0], strerror(errno));
	_exit(127);
}

/* Until the command exits, or SIGTERM/SIGINT. Returns its status or -1. */
static int main_loop(struct nstack *s, const char *stats)
{
	struct pollfd pfd = { .fd = sig_pipe[0], .events = POLLIN };
	pid_t cmd = s->conf->argv ? spawn(s, stats) : 0;
	int status = 0;
	uint8_t sig;

	if (cmd < 0)
		return -1;
	while (!get_flag(&s->stop)) {
		if (poll(&pfd, 1, 100) > 0 && read(sig_pipe[0], &sig, 1) == 1) {
			if (sig == SIGUSR1)
				write_stats(s, stats);
			else if (sig == SIGUSR2)
				set_flag(&s->rx_on, true);
			else if (sig == SIGTERM || sig == SIGINT)
				break;
		}
		if (cmd && waitpid(cmd, &status, WNOHANG) == cmd) {
			cmd = 0;
			break;
		}
	}
	if (cmd) {
		kill(cmd, SIGTERM);
		waitpid(cmd, &status, 0);
		status = -1;
	}
	write_stats(s, stats);
	return status;
}

static void signals(bool on)
{
	static const int sigs[] = { SIGUSR1, SIGUSR2, SIGTERM, SIGINT,
				    SIGCHLD };
	struct sigaction sa = { .sa_handler = on ? on_signal : SIG_DFL };

	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static void report(struct nstack *s, int status)
{
	const struct nstack_stats *t = &s->st;

	s->conf->check(status == 0,
		       "net stack: %s in namespace %s (%s), features 0x%" PRIx64
		       ": the command %s",
		       s->ifname, s->conf->netns,
		       s->link ? "link up" : "link down", s->features,
		       !s->conf->argv ? "(none) ran until SIGTERM" :
		       status == 0    ? "passed" :
					"FAILED");
	s->conf->check(
		!s->err,
		"net stack: the guest's driver saw no protocol error (%s)",
		s->err ? strerror(-s->err) : "none");
	printf("  guest TX %" PRIu64 " frames (%" PRIu64 " GSO, %" PRIu64
	       " NEEDS_CSUM, largest %" PRIu64 "), RX %" PRIu64
	       " frames (%" PRIu64 " GSO, %" PRIu64
	       " in several buffers, largest %" PRIu64 "), %" PRIu64
	       " interrupts, %" PRIu64 " kicks, %" PRIu64 " ioreqs\n",
	       rd(&t->tx_frames), rd(&t->tx_gso), rd(&t->tx_csum),
	       rd(&t->tx_max), rd(&t->rx_frames), rd(&t->rx_gso),
	       rd(&t->rx_mrg), rd(&t->rx_max), rd(&t->irqs),
	       rd(&t->tx_kicks) + rd(&t->rx_kicks), s->bus0.nr + s->bus1.nr);
}

int nstack_run(const struct nstack_conf *conf, struct xsim *sim, uint32_t domid,
	       uint64_t base, unsigned int spi, struct fakeguest *fg)
{
	struct nstack *s = calloc(1, sizeof(*s));
	pthread_t rx_th, tx_th;
	char stats[300];
	int rc, status = -1;

	if (!s)
		return -ENOMEM;
	s->conf = conf;
	s->sim = sim;
	s->domid = domid;
	s->spi = spi;
	s->fg = fg;
	s->tap = s->sk = -1;
	s->rx_on = !conf->rx_off;
	snprintf(s->ifname, sizeof(s->ifname), "%s",
		 conf->ifname ? conf->ifname : "eth0");
	snprintf(stats, sizeof(stats), "%s/net-stats", conf->workdir);
	if (getenv("XVB_NET_STATS"))
		snprintf(stats, sizeof(stats), "%s", getenv("XVB_NET_STATS"));
	simbus_init(&s->bus0, sim, domid, 0, base);
	simbus_init(&s->bus1, sim, domid, 1, base);
	s->ns_fd = ns_open(conf->netns);
	s->home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s->ns_fd < 0 || s->home_fd < 0) {
		rc = -errno;
		conf->check(false, "net stack: namespace %s: %s", conf->netns,
			    strerror(-rc));
		goto out;
	}
	rc = setup(s);
	if (!rc)
		rc = tap_setup(s);
	conf->check(!rc,
		    "net stack: virtio-net up (features 0x%" PRIx64
		    ", MTU %u, %u-byte RX buffers), TAP %s in %s%s%s",
		    s->features, s->mtu, s->rxbuf, s->ifname, conf->netns,
		    rc ? ": " : "",
		    rc ? (s->drv.why ? s->drv.why : strerror(-rc)) : "");
	if (rc)
		goto out_reset;
	link_sync(s);
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK)) {
		rc = -errno;
		goto out_reset;
	}
	signals(true);
	pthread_create(&rx_th, NULL, rx_main, s);
	pthread_create(&tx_th, NULL, tx_main, s);
	/* Named, so that benchmarks tell the guest's CPU from the rest. */
	pthread_setname_np(rx_th, "xvb-guest-rx");
	pthread_setname_np(tx_th, "xvb-guest-tx");
	status = main_loop(s, stats);
	set_flag(&s->stop, true);
	pthread_join(tx_th, NULL);
	pthread_join(rx_th, NULL);
	signals(false);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	sig_pipe[0] = sig_pipe[1] = -1;
	report(s, status);
	rc = status ? -EIO : s->err;
out_reset:
	if (!s->bus0.err)
		gdrv_reset(&s->drv);
	gdrv_fini(&s->drv);
out:
	if (s->tap >= 0)
		close(s->tap);
	if (s->sk >= 0)
		close(s->sk);
	if (s->ns_fd >= 0)
		close(s->ns_fd);
	if (s->home_fd >= 0)
		close(s->home_fd);
	free(s);
	return rc;
}
