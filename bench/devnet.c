// SPDX-License-Identifier: MIT
/*
 * devnet: the virtio-net device model's transmit path without a transport.
 * One process, one thread, a network namespace of its own: a fake guest's
 * driver keeps QD UDP frames in flight on a NIC opened through its registry
 * entry (its TAP made by the device), kicks by a direct call and polls the
 * used ring; a UDP socket on the TAP's address takes the frames. With --ref
 * the same frames are written straight to a TAP of our own through io_uring
 * (the reference). Prints one JSON line per run.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>

#include "devices/devtype.h"
#include "fakeguest.h"
#include "gdrv.h"
#include "hang.h"
#include "lib/evl.h"
#include "lib/log.h"

#include "devlib.h"

#define DN_RAM (16u << 20)
#define DN_NUM 256u	    /* entries of each queue */
#define DN_HDR 12u	    /* struct virtio_net_hdr_v1 */
#define DN_SLOT 2048u	    /* guest bytes per frame: header and frame */
#define DN_MAX_PAYLOAD 1472 /* a 1500-byte IP packet */
#define DN_PORT 9999
#define DN_BATCH 64 /* datagrams per recvmmsg */
#define DN_RXQ 0
#define DN_TXQ 1

static const uint8_t dn_guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

struct dn_opts {
	unsigned int payload; /* UDP payload bytes */
	unsigned int qd;      /* frames in flight */
	double seconds, ramp;
	int poll_us, coalesce_us;
	bool ref;    /* the reference: our own TAP, written through io_uring */
	bool verify; /* every datagram received must be the one sent */
};

struct dn {
	struct dn_opts o;
	int sink; /* UDP socket on the TAP's address */
	uint8_t frame[DN_HDR + 14 + 20 + 8 + DN_MAX_PAYLOAD];
	size_t len; /* header and frame */
	unsigned int inflight;
	bool draining;		 /* the window is over: no new frame */
	uint64_t sent, got, bad; /* completed writes, datagrams, wrong ones */
	uint64_t guest_ns,
		host_ns; /* wall time in the guest's and the sink's code */

	/* xvb: the device through the registry, the fake guest. */
	struct fakeguest *fg;
	struct dl_gmem gm;
	struct evl loop;
	const struct xvb_devtype *type;
	void *conf, *dev;
	struct vdev *vdev;
	struct gdrv drv;
	uint64_t slots; /* qd slots of DN_SLOT bytes, each holding frame */

	/* --ref: our own TAP. */
	int tap;
	struct io_uring ring;
	bool ring_ok;
};

struct dn_snap {
	uint64_t t_ns, sent, got, guest_ns, host_ns, kicks, irqs;
	double cpu_s;
};

/* ---- the host side --------------------------------------------------------- */

static int dn_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* @ifname up with 10.99.@net.1/24; its MAC into @mac. 0 or -errno. */
static int dn_if_setup(const char *ifname, int net, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x0a630001u | (uint32_t)net << 8);
	if (ioctl(s, SIOCSIFADDR, &ifr))
		rc = -errno;
	sin->sin_addr.s_addr = htonl(0xffffff00u);
	if (!rc && ioctl(s, SIOCSIFNETMASK, &ifr))
		rc = -errno;
	if (!rc && ioctl(s, SIOCGIFFLAGS, &ifr))
		rc = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!rc && ioctl(s, SIOCSIFFLAGS, &ifr))
		rc = -errno;
	if (!rc && ioctl(s, SIOCGIFHWADDR, &ifr))
		rc = -errno;
	if (!rc)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	return rc;
}

/* The UDP socket the frames are for, on 10.99.@net.1. */
static int dn_sink_open(int net)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(DN_PORT),
		.sin_addr.s_addr = htonl(0x0a630001u | (uint32_t)net << 8),
	};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int sz = 8 << 20;

	if (s < 0)
		return -errno;
	/* Room for a burst: the sink drains once per round. */
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	if (bind(s, (struct sockaddr *)&a, sizeof(a))) {
		int rc = -errno;

		close(s);
		return rc;
	}
	return s;
}

static uint16_t dn_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * The frame, after a zeroed virtio-net header: Ethernet to @dst from @src,
 * IPv4 10.99.@net.2 -> .1, UDP to DN_PORT (no checksum), a payload whose
 * byte i is i * 7 + 1.
 */
static void dn_frame(struct dn *d, const uint8_t dst[6], const uint8_t src[6],
		     int net)
{
	uint8_t *f = d->frame + DN_HDR, *ip = f + 14, *udp = ip + 20;
	unsigned int plen = d->o.payload;
	uint16_t tot = (uint16_t)(20 + 8 + plen), c;
	uint32_t a_src = htonl(0x0a630002u | (uint32_t)net << 8);
	uint32_t a_dst = htonl(0x0a630001u | (uint32_t)net << 8);

	memset(d->frame, 0, sizeof(d->frame));
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08; /* IPv4 */
	ip[0] = 0x45;
	ip[2] = tot >> 8;
	ip[3] = tot & 0xff;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &a_src, 4);
	memcpy(ip + 16, &a_dst, 4);
	c = dn_csum(ip, 20);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	udp[0] = 0;
	udp[1] = 9;
	udp[2] = DN_PORT >> 8;
	udp[3] = DN_PORT & 0xff;
	udp[4] = (uint8_t)((8 + plen) >> 8);
	udp[5] = (uint8_t)((8 + plen) & 0xff);
	for (unsigned int i = 0; i < plen; i++)
		udp[8 + i] = (uint8_t)(i * 7 + 1);
	d->len = DN_HDR + 14 + tot;
}

/* Takes every datagram waiting; with --verify, checks each. */
static void dn_drain(struct dn *d)
{
	static uint8_t buf[DN_BATCH][DN_MAX_PAYLOAD + 1];
	struct mmsghdr m[DN_BATCH];
	struct iovec iov[DN_BATCH];
	const uint8_t *want = d->frame + DN_HDR + 14 + 20 + 8;
	int n;

	do {
		for (int i = 0; i < DN_BATCH; i++) {
			iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
			m[i] = (struct mmsghdr){ .msg_hdr = {
							 .msg_iov = &iov[i],
							 .msg_iovlen = 1 } };
		}
		n = recvmmsg(d->sink, m, DN_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++) {
			d->got++;
			if (d->o.verify && (m[i].msg_len != d->o.payload ||
					    memcmp(buf[i], want, d->o.payload)))
				d->bad++;
		}
	} while (n == DN_BATCH);
}

/* ---- xvb: the device through the registry -------------------------------- */

/* Registry entry "net": its conf from a spec, then open, as the worker. */
static int dn_open_dev(struct dn *d)
{
	struct xvb_devenv env = {
		.gm = &d->gm.gm,
		.loop = &d->loop,
		.queues = 1,
		.poll_us = d->o.poll_us,
		.coalesce_us = d->o.coalesce_us,
		.domid = -1,
		.name = "vnet0",
	};
	char err[512] = "";

	d->type = xvb_devtype_by_name("net");
	if (!d->type)
		return -ENOENT;
	d->conf = xvb_devconf_parse(
		d->type, "ifname=dnvnet0,bridge=none,mac=52:54:00:12:34:56",
		err, sizeof(err));
	if (!d->conf) {
		fprintf(stderr, "devnet: %s\n", err);
		return -EINVAL;
	}
	return d->type->open(&d->dev, &d->vdev, d->conf, &env);
}

static int dn_xvb_setup(struct dn *d)
{
	/* No offloads, no mergeable buffers, no control queue: plain frames. */
	uint64_t want = 1ULL << VIRTIO_F_VERSION_1 |
			1ULL << VIRTIO_RING_F_EVENT_IDX |
			1ULL << VIRTIO_NET_F_MAC;
	uint8_t mac[6];
	int rc;

	d->fg = fg_new(DN_RAM);
	if (!d->fg)
		return -ENOMEM;
	rc = dl_gmem_init(&d->gm, d->fg);
	if (!rc)
		rc = evl_init(&d->loop, 256);
	if (!rc)
		rc = dn_open_dev(d);
	if (rc)
		return rc;
	gdrv_init(&d->drv, d->vdev, d->fg);
	rc = gdrv_up(&d->drv, want, 2, DN_NUM);
	if (rc)
		return rc;
	/* A polling guest: no transmit interrupt asked for (used_event 0). */
	d->drv.vqs[DN_TXQ].manual_used_event = true;
	dn_write_file("/proc/sys/net/ipv6/conf/dnvnet0/disable_ipv6", "1");
	rc = dn_if_setup("dnvnet0", 0, mac);
	if (rc)
		return rc;
	dn_frame(d, mac, dn_guest_mac, 0);
	d->slots = fg_alloc(d->fg, (size_t)DN_SLOT * d->o.qd, 4096);
	if (!d->slots)
		return -ENOMEM;
	for (unsigned int i = 0; i < d->o.qd; i++)
		fg_write(d->fg, d->slots + (uint64_t)i * DN_SLOT, d->frame,
			 d->len);
	d->sink = dn_sink_open(0);
	return d->sink < 0 ? d->sink : 0;
}

/* Frames until qd are in flight: one descriptor each, header included. */
static int dn_xvb_fill(struct dn *d)
{
	while (!d->draining && d->inflight < d->o.qd) {
		struct gdrv_buf b = { d->slots +
					      (uint64_t)d->inflight * DN_SLOT,
				      (uint32_t)d->len, false };
		int head = gdrv_add(&d->drv, DN_TXQ, &b, 1, 0);

		if (head < 0)
			return head;
		d->inflight++;
	}
	return 0;
}

static int dn_xvb_round(struct dn *d)
{
	struct gdrv_vq *v = &d->drv.vqs[DN_TXQ];
	uint64_t t0 = dl_now_ns(), t1, t2, t3;
	uint32_t len;
	uint16_t head;
	int rc;

	rc = dn_xvb_fill(d);
	t1 = dl_now_ns();
	if (rc)
		return rc;
	gdrv_kick(&d->drv, DN_TXQ);
	rc = evl_run_once(&d->loop,
			  gdrv_used_idx(&d->drv, DN_TXQ) == v->last_used);
	if (rc < 0)
		return rc;
	t2 = dl_now_ns();
	while ((rc = gdrv_get_used(&d->drv, DN_TXQ, &head, &len)) == 1) {
		d->inflight--;
		d->sent++;
	}
	t3 = dl_now_ns();
	dn_drain(d);
	d->guest_ns += (t1 - t0) + (t3 - t2);
	d->host_ns += dl_now_ns() - t3;
	return rc;
}

/* ---- the reference: our own TAP through io_uring ---------------------------- */

static int dn_ref_setup(struct dn *d)
{
	static const uint8_t src[6] = { 0x02, 0x00, 0x00, 0x99, 0x00, 0x02 };
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = DN_HDR, rc;
	uint8_t mac[6];

	d->tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (d->tap < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "dnref0");
	if (ioctl(d->tap, TUNSETIFF, &ifr) ||
	    ioctl(d->tap, TUNSETVNETHDRSZ, &hdr))
		return -errno;
	dn_write_file("/proc/sys/net/ipv6/conf/dnref0/disable_ipv6", "1");
	rc = dn_if_setup("dnref0", 1, mac);
	if (rc)
		return rc;
	dn_frame(d, mac, src, 1);
	rc = io_uring_queue_init(256, &d->ring, 0);
	if (rc)
		return rc;
	d->ring_ok = true;
	d->sink = dn_sink_open(1);
	return d->sink < 0 ? d->sink : 0;
}

static int dn_ref_round(struct dn *d)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;
	uint64_t t0;
	int rc;

	while (!d->draining && d->inflight < d->o.qd) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);

		if (!sqe)
			break;
		io_uring_prep_write(sqe, d->tap, d->frame, (unsigned int)d->len,
				    0);
		d->inflight++;
	}
	rc = io_uring_submit_and_wait(&d->ring, 1);
	if (rc < 0 && rc != -EINTR)
		return rc;
	io_uring_for_each_cqe(&d->ring, head, cqe) {
		if (cqe->res < 0 && cqe->res != -EAGAIN)
			return cqe->res;
		n++;
	}
	io_uring_cq_advance(&d->ring, n);
	d->inflight -= n;
	d->sent += n;
	t0 = dl_now_ns();
	dn_drain(d);
	d->host_ns += dl_now_ns() - t0;
	return 0;
}

/* ---- the run ----------------------------------------------------------------- */

static void dn_snap(struct dn *d, struct dn_snap *s, uint64_t now)
{
	*s = (struct dn_snap){
		.t_ns = now,
		.sent = d->sent,
		.got = d->got,
		.guest_ns = d->guest_ns,
		.host_ns = d->host_ns,
		.kicks = d->drv.nr_notifies,
		.irqs = d->drv.nr_irqs,
		.cpu_s = dl_proc_cpu_s(),
	};
}

static int dn_run(struct dn *d, struct dn_snap *s0, struct dn_snap *s1)
{
	uint64_t now = dl_now_ns(), last = now, seen = 0;
	uint64_t ramp_end = now + (uint64_t)(d->o.ramp * 1e9);
	uint64_t end = ramp_end + (uint64_t)(d->o.seconds * 1e9);
	uint64_t hang = (uint64_t)t_hang_ms() * 1000000u;
	bool measuring = false;
	int rc;

	for (;;) {
		now = dl_now_ns();
		if (!measuring && now >= ramp_end) {
			dn_snap(d, s0, now);
			measuring = true;
		}
		if (now >= end)
			break;
		rc = d->o.ref ? dn_ref_round(d) : dn_xvb_round(d);
		if (rc < 0)
			return rc;
		if (d->sent != seen) {
			seen = d->sent;
			last = now;
		} else if (now - last > hang) {
			fprintf(stderr, "devnet: no frame sent in %u ms\n",
				t_hang_ms());
			return -ETIMEDOUT;
		}
	}
	dn_snap(d, s1, dl_now_ns());
	/* What is in flight completes before the device closes. */
	d->draining = true;
	last = dl_now_ns();
	while (d->inflight) {
		rc = d->o.ref ? dn_ref_round(d) : dn_xvb_round(d);
		if (rc < 0)
			return rc;
		if (dl_now_ns() - last > hang)
			return -ETIMEDOUT;
	}
	return 0;
}

struct dn_field {
	const char *key;
	double val;
};

static void dn_print(const struct dn *d, const struct dn_snap *a,
		     const struct dn_snap *z)
{
	double secs = (z->t_ns - a->t_ns) / 1e9;
	double got = (double)(z->got - a->got), n = got ? got : 1;
	double cpu = (z->cpu_s - a->cpu_s) * 1e6 / n;
	double guest = (z->guest_ns - a->guest_ns) / 1e3 / n;
	double host = (z->host_ns - a->host_ns) / 1e3 / n;
	/* Per packet means per datagram the sink received. */
	const struct dn_field f[] = {
		{ "payload", d->o.payload },
		{ "frame", (double)(d->len - DN_HDR) },
		{ "qd", d->o.qd },
		{ "seconds", secs },
		{ "pps", got / secs },
		{ "kpps", got / secs / 1e3 },
		{ "gbit_s", got * (d->len - DN_HDR) * 8 / secs / 1e9 },
		{ "sent", (double)(z->sent - a->sent) },
		{ "received", got },
		{ "cpu_us_per_pkt", cpu },
		{ "guest_cpu_us_per_pkt", guest },
		{ "sink_cpu_us_per_pkt", host },
		{ "dev_cpu_us_per_pkt", cpu - guest },
		{ "cpu_util", (z->cpu_s - a->cpu_s) / secs },
		{ "kick_per_pkt", (z->kicks - a->kicks) / n },
		{ "irq_per_pkt", (z->irqs - a->irqs) / n },
		{ "bad", (double)d->bad },
	};

	printf("{\"side\": \"%s\"", d->o.ref ? "tap" : "xvb");
	for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
		printf(", \"%s\": %.10g", f[k].key, f[k].val);
	printf("}\n");
	fflush(stdout);
}

static void dn_teardown(struct dn *d)
{
	if (d->type && d->dev)
		d->type->close(d->dev);
	d->dev = NULL;
	gdrv_fini(&d->drv);
	if (d->loop.ready)
		evl_exit(&d->loop);
	free(d->gm.refs);
	fg_free(d->fg);
	free(d->conf);
	if (d->ring_ok)
		io_uring_queue_exit(&d->ring);
	if (d->tap >= 0)
		close(d->tap);
	if (d->sink >= 0)
		close(d->sink);
}

static int dn_bench(const struct dn_opts *o)
{
	struct dn *d = calloc(1, sizeof(*d));
	struct dn_snap s0 = { 0 }, s1 = { 0 };
	int rc;

	if (!d)
		return -ENOMEM;
	d->o = *o;
	d->tap = d->sink = -1;
	rc = o->ref ? dn_ref_setup(d) : dn_xvb_setup(d);
	if (!rc)
		rc = dn_run(d, &s0, &s1);
	if (!rc)
		dn_print(d, &s0, &s1);
	if (!rc && (d->bad || s1.got == s0.got))
		rc = -EIO;
	dn_teardown(d);
	free(d);
	return rc;
}

/* ---- main ------------------------------------------------------------------ */

static void dn_usage(FILE *f)
{
	fprintf(f,
		"usage: devnet [--ref] [--payload BYTES] [--qd N] [--seconds S]\n"
		"         [--ramp S] [--poll-us N] [--coalesce-us N] [--verify]\n"
		"Needs root (a network namespace and TAPs); exits 77 without.\n"
		"One JSON line per run (bench/README.md, make bench-dev).\n");
}

static int dn_parse(int argc, char **argv, struct dn_opts *o)
{
	static const struct option lo[] = {
		{ "ref", no_argument, NULL, 'R' },
		{ "payload", required_argument, NULL, 'p' },
		{ "qd", required_argument, NULL, 'q' },
		{ "seconds", required_argument, NULL, 's' },
		{ "ramp", required_argument, NULL, 'r' },
		{ "poll-us", required_argument, NULL, 'P' },
		{ "coalesce-us", required_argument, NULL, 'c' },
		{ "verify", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct dn_opts){ .payload = 64,
			       .qd = 128,
			       .seconds = 2,
			       .ramp = 0.5,
			       .poll_us = 0,
			       .coalesce_us = -1 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'R':
			o->ref = true;
			break;
		case 'p':
			o->payload = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'q':
			o->qd = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 's':
			o->seconds = strtod(optarg, NULL);
			break;
		case 'r':
			o->ramp = strtod(optarg, NULL);
			break;
		case 'P':
			o->poll_us = atoi(optarg);
			break;
		case 'c':
			o->coalesce_us = atoi(optarg);
			break;
		case 'v':
			o->verify = true;
			break;
		case 'h':
			dn_usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (optind != argc || !o->payload || o->payload > DN_MAX_PAYLOAD ||
	    !o->qd || o->qd > DN_NUM || !(o->seconds > 0) || o->ramp < 0)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct dn_opts o;
	int rc;

	if (dn_parse(argc, argv, &o)) {
		dn_usage(stderr);
		return 2;
	}
	log_setup("devnet", LOG_WARN);
	/* Our own namespace: the TAPs, addresses and sockets die with us. */
	if (unshare(CLONE_NEWNET)) {
		printf("skip devnet: no network namespace of its own (%s): needs root\n",
		       strerror(errno));
		return 77;
	}
	dn_write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	if (dl_watchdog(true))
		return 1;
	rc = dn_bench(&o);
	if (rc)
		fprintf(stderr, "devnet: %s\n", strerror(-rc));
	return rc ? 1 : 0;
}
