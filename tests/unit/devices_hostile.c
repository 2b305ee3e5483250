// SPDX-License-Identifier: MIT
/*
 * The hostile-guest cases every device type gets: transport- and
 * ring-level attacks run against each entry of xvb_devtypes, opened through
 * its registry entry (conf_init, parse_key, check, open) behind the
 * virtio-mmio register file, on a fake guest. A type added to the registry
 * joins by adding its line to hall_types[] below, and must pass.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_console.h>
#include <linux/virtio_net.h>

#include "devices/devtype.h"
#include "fakeguest.h"
#include "gdrv.h"
#include "hang.h"
#include "procfs.h"
#include "t.h"
#include "virtio/vmmio.h"

#define HALL_RAM (64u << 20)
#define HALL_DATA (8u << 20) /* buffers of sound chains and attacks */
#define HALL_NUM 16u	     /* entries of every queue the battery sets up */
#define HALL_DISK (1u << 20) /* blk's image */
#define HALL_SEED 0x4a11u    /* the image's pattern */
#define HALL_STORM 5000u     /* QueueNotify writes per storming queue */

struct hall;

/*
 * One device type's line: how the battery opens it and talks to it. Every
 * entry of xvb_devtypes needs one.
 */
struct hall_type {
	const char *name;
	/* The type's own keys, "key=value,...": "@DIR" is the case's temp dir. */
	const char *spec;
	/* Host set-up the spec relies on; 0, or 77 with h->why: skip. */
	int (*prepare)(struct hall *h);
	/* Adds one well-formed chain to queue @q (not kicked): its head. */
	int (*sound)(struct hall *h, unsigned int q);
	/*
	 * True if queue @q's device walks the ring only once it has
	 * something for the chain (a frame, bytes, a message): a kick alone
	 * need not pop it, so a malformed chain there may stay unread.
	 */
	bool (*waits)(const struct hall *h, unsigned int q);
	/*
	 * Gives queue @q's device something for a chain (a frame at the
	 * TAP, a client and an open port), so that a queue that waits walks
	 * its ring: 0 if fed, 1 if @q cannot be fed here (a chain there may
	 * stay unread), -1 on an error (h->why). NULL: no queue can.
	 */
	int (*feed)(struct hall *h, unsigned int q);
	/* One request whose result the test checks: 0 or -1 with h->why. */
	int (*canary)(struct hall *h);
};

/* The rig of one type: temp dir, guest, loop, device, driver. */
struct hall {
	const struct xvb_devtype *type;
	const struct hall_type *ht;
	char dir[64];
	char devname[32];
	void *conf;
	struct fakeguest *fg;
	struct evl loop;
	void *dev;
	struct vdev *vdev;
	struct gdrv drv;
	unsigned int nr_vqs;
	uint64_t data, data_next;
	unsigned int idle_ops; /* loop.inflight with nothing of the device's */
	unsigned int open_ops; /* loop.inflight once open (listening sockets) */
	int fds;	       /* descriptors before the rig */
	uint64_t first[GDRV_MAX_VQS][HALL_NUM]; /* by queue, head: 1st buffer */
	int clients[4];				/* feeds' dom0 ends (sockets) */
	unsigned int nr_clients;
	const char *why;
	char whybuf[256];
};

static int hall_fail(struct hall *h, const char *fmt, ...) __printf(2, 3);
static int hall_fail(struct hall *h, const char *fmt, ...)
{
	char buf[sizeof(h->whybuf)];
	va_list ap;

	/* Through a copy: the arguments may include the last h->why. */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memcpy(h->whybuf, buf, sizeof(buf));
	h->why = h->whybuf;
	return -1;
}

/* ---- the loop ------------------------------------------------------------ */

/* One short turn of the device's loop. */
static void hall_turn(struct hall *h)
{
	if (evl_run_once(&h->loop, false) <= 0)
		usleep(200);
}

/* Turns until @cond holds or the hang bound passes; the value is @cond. */
#define HALL_WAIT(h, cond)                                             \
	({                                                             \
		uint64_t hall_end_ = t_now_ms() + t_hang_ms();         \
		bool hall_ok_;                                         \
		while (!(hall_ok_ = (cond)) && t_now_ms() < hall_end_) \
			hall_turn(h);                                  \
		hall_ok_;                                              \
	})

/* Turns the loop for @ms: lets a device do what it would on its own. */
static void hall_settle(struct hall *h, unsigned int ms)
{
	uint64_t end = t_now_ms() + ms;

	while (t_now_ms() < end)
		hall_turn(h);
}

static uint32_t hall_status(struct hall *h)
{
	return gdrv_r32(&h->drv, VIRTIO_MMIO_STATUS);
}

static bool hall_needs_reset(struct hall *h)
{
	return hall_status(h) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* ---- guest memory -------------------------------------------------------- */

/* @len bytes of the data area, 64-byte aligned; wraps. */
static uint64_t hall_mem(struct hall *h, size_t len)
{
	len = (len + 63) & ~(size_t)63;
	if (h->data_next + len > h->data + HALL_DATA)
		h->data_next = h->data;
	h->data_next += len;
	return h->data_next - len;
}

/* Writes @len bytes of @src at a fresh place; its gpa. */
static uint64_t hall_put(struct hall *h, const void *src, size_t len)
{
	uint64_t gpa = hall_mem(h, len);

	fg_write(h->fg, gpa, src, len);
	return gpa;
}

/* gdrv_add, remembering where the chain's first buffer is. */
static int hall_add(struct hall *h, unsigned int q, const struct gdrv_buf *b,
		    unsigned int n)
{
	int head = gdrv_add(&h->drv, q, b, n, 0);

	if (head >= 0 && head < (int)HALL_NUM)
		h->first[q][head] = b[0].gpa;
	return head;
}

/* Collects queue @q's used elements until @head comes back. */
static int hall_wait_head(struct hall *h, unsigned int q, int head,
			  uint32_t *len)
{
	uint16_t got;
	uint32_t l;
	int rc = 0;

	if (head < 0)
		return hall_fail(h, "no room in queue %u", q);
	gdrv_notify(&h->drv, q);
	if (!HALL_WAIT(h, (rc = gdrv_get_used(&h->drv, q, &got, &l)) != 0))
		return hall_fail(h, "queue %u: request not completed", q);
	if (rc < 0)
		return hall_fail(h, "queue %u: %s", q, h->drv.why);
	if (got != head)
		return hall_fail(h, "queue %u: head %u completed, not %d", q,
				 got, head);
	if (len)
		*len = l;
	return 0;
}

/* ---- blk ------------------------------------------------------------------ */

static int blk_prepare(struct hall *h)
{
	char path[96];
	uint8_t *img = malloc(HALL_DISK);
	int fd, rc = 0;

	if (!img)
		return hall_fail(h, "out of memory");
	for (size_t i = 0; i < HALL_DISK; i++)
		img[i] = fg_pattern(HALL_SEED, i);
	snprintf(path, sizeof(path), "%s/disk.img", h->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, img, HALL_DISK) != HALL_DISK)
		rc = hall_fail(h, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(img);
	return rc;
}

/* A read of sector @sector into 512 guest bytes at *@data. */
static int blk_add_read(struct hall *h, unsigned int q, uint64_t sector,
			uint64_t *data, uint64_t *status)
{
	struct virtio_blk_outhdr hdr = {
		.type = htole32(VIRTIO_BLK_T_IN),
		.sector = htole64(sector),
	};
	struct gdrv_buf b[3];

	*data = hall_mem(h, 512);
	*status = hall_mem(h, 1);
	fg_fill(h->fg, *data, 512, 0xee);
	fg_fill(h->fg, *status, 1, 0xee);
	b[0] = (struct gdrv_buf){ hall_put(h, &hdr, sizeof(hdr)), sizeof(hdr),
				  false };
	b[1] = (struct gdrv_buf){ *data, 512, true };
	b[2] = (struct gdrv_buf){ *status, 1, true };
	return hall_add(h, q, b, 3);
}

static int blk_sound(struct hall *h, unsigned int q)
{
	uint64_t data, status;

	return blk_add_read(h, q, q, &data, &status);
}

static bool blk_waits(const struct hall *h, unsigned int q)
{
	return false; /* a disk pops every chain at a kick */
}

/* Sector 3 reads back as the image holds it, with status OK. */
static int blk_canary(struct hall *h)
{
	uint8_t buf[512], st = 0xff;
	uint64_t data, status;
	uint32_t len;

	if (hall_wait_head(h, 0, blk_add_read(h, 0, 3, &data, &status), &len))
		return -1;
	fg_read(h->fg, status, &st, 1);
	fg_read(h->fg, data, buf, sizeof(buf));
	if (st != VIRTIO_BLK_S_OK)
		return hall_fail(h, "read status %u", st);
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != fg_pattern(HALL_SEED, 3 * 512 + i))
			return hall_fail(h, "sector 3 byte %zu differs", i);
	return 0;
}

/* ---- rng ------------------------------------------------------------------ */

static int rng_sound(struct hall *h, unsigned int q)
{
	struct gdrv_buf b = { hall_mem(h, 64), 64, true };

	return hall_add(h, q, &b, 1);
}

static bool rng_waits(const struct hall *h, unsigned int q)
{
	return false;
}

/* 64 bytes asked: between 1 and 64 written, and not left as they were. */
static int rng_canary(struct hall *h)
{
	uint64_t gpa = hall_mem(h, 64);
	struct gdrv_buf b = { gpa, 64, true };
	uint8_t buf[64], zero[64] = { 0 };
	uint32_t len;

	fg_write(h->fg, gpa, zero, sizeof(zero));
	if (hall_wait_head(h, 0, hall_add(h, 0, &b, 1), &len))
		return -1;
	if (!len || len > 64)
		return hall_fail(h, "used length %u of 64", len);
	fg_read(h->fg, gpa, buf, sizeof(buf));
	if (len >= 8 && !memcmp(buf, zero, len))
		return hall_fail(h, "%u bytes of zeroes", len);
	return 0;
}

/* ---- net ------------------------------------------------------------------ */

/* Best effort: IPv6 may be absent. */
static void hall_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	n = write(fd, val, strlen(val));
	(void)n; /* the TAP works without it */
	close(fd);
}

/* Creates and drops a TAP: this process may make the device's. */
static int net_prepare(struct hall *h)
{
	static bool unshared;
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd;

	/*
	 * A namespace of our own, where we may: the TAP's name is free, and
	 * with IPv6 off no router solicitation reaches it once it is up.
	 */
	if (!unshared && !unshare(CLONE_NEWNET)) {
		unshared = true;
		hall_write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6",
				"1");
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(h->whybuf, sizeof(h->whybuf), "/dev/net/tun: %s",
			 strerror(errno));
		h->why = h->whybuf;
		return 77;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "xvbhp%%d");
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		close(fd);
		h->why = "cannot make a TAP (no CAP_NET_ADMIN)";
		return 77;
	}
	close(fd);
	return 0;
}

/* Queues: receive 2i, transmit 2i + 1, then the control queue. */
static bool net_is_ctrl(const struct hall *h, unsigned int q)
{
	return q == h->nr_vqs - 1;
}

static int net_add_frame(struct hall *h, unsigned int q)
{
	uint8_t frame[12 + 60] = { 0 };
	struct gdrv_buf b;

	memset(frame + 12, 0xff, 6); /* broadcast */
	frame[12 + 6] = 0x02;	     /* a local source */
	frame[12 + 12] = 0x88;	     /* IEEE local experimental ethertype */
	frame[12 + 13] = 0xb5;
	b = (struct gdrv_buf){ hall_put(h, frame, sizeof(frame)), sizeof(frame),
			       false };
	return hall_add(h, q, &b, 1);
}

static int net_sound(struct hall *h, unsigned int q)
{
	struct virtio_net_ctrl_hdr ctl = { .class = VIRTIO_NET_CTRL_RX,
					   .cmd = VIRTIO_NET_CTRL_RX_PROMISC };
	uint8_t on = 1;
	struct gdrv_buf b[3];

	if (net_is_ctrl(h, q)) {
		b[0] = (struct gdrv_buf){ hall_put(h, &ctl, sizeof(ctl)),
					  sizeof(ctl), false };
		b[1] = (struct gdrv_buf){ hall_put(h, &on, 1), 1, false };
		b[2] = (struct gdrv_buf){ hall_mem(h, 1), 1, true };
		return hall_add(h, q, b, 3);
	}
	if (q & 1)
		return net_add_frame(h, q);
	b[0] = (struct gdrv_buf){ hall_mem(h, 2048), 2048, true };
	return hall_add(h, q, b, 1);
}

static bool net_waits(const struct hall *h, unsigned int q)
{
	return !net_is_ctrl(h, q) && !(q & 1); /* receive: waits for frames */
}

/*
 * A frame for the guest's MAC sent on the device's TAP (up): the device
 * reads it and needs a receive chain. Only the first pair: the second
 * serves once the driver enables it (VIRTIO_NET_CTRL_MQ).
 */
static int net_feed(struct hall *h, unsigned int q)
{
	struct ifreq ifr = { .ifr_name = "xvbh0" };
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
	};
	uint8_t frame[60] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x02,
			      0,    0,	  0,	0,    1,    0x88, 0xb5 };
	int s, rc = 0;

	if (q)
		return 1;
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s < 0)
		return hall_fail(h, "packet socket: %s", strerror(errno));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr))
			rc = hall_fail(h, "xvbh0 up: %s", strerror(errno));
	} else {
		rc = hall_fail(h, "xvbh0: %s", strerror(errno));
	}
	if (!rc && ioctl(s, SIOCGIFINDEX, &ifr))
		rc = hall_fail(h, "xvbh0's index: %s", strerror(errno));
	sll.sll_ifindex = ifr.ifr_ifindex;
	if (!rc && (sendto(s, frame, sizeof(frame), 0, (struct sockaddr *)&sll,
			   sizeof(sll)) < 0))
		rc = hall_fail(h, "send on xvbh0: %s", strerror(errno));
	close(s);
	return rc;
}

/* A frame sent: its transmit chain completes. */
static int net_canary(struct hall *h)
{
	return hall_wait_head(h, 1, net_add_frame(h, 1), NULL);
}

/* ---- console --------------------------------------------------------------- */

/* Queues: port 0's 0 and 1, control 2 and 3, port i's 2i + 2 and 2i + 3. */
static bool con_is_tx(unsigned int q)
{
	return q & 1;
}

static int con_sound(struct hall *h, unsigned int q)
{
	struct virtio_console_control m = {
		.event = htole16(VIRTIO_CONSOLE_DEVICE_READY),
		.value = htole16(1),
	};
	struct gdrv_buf b;

	if (q == 3)
		b = (struct gdrv_buf){ hall_put(h, &m, sizeof(m)), sizeof(m),
				       false };
	else if (con_is_tx(q))
		b = (struct gdrv_buf){ hall_put(h, "x", 1), 1, false };
	else
		b = (struct gdrv_buf){ hall_mem(h, 128), 128, true };
	return hall_add(h, q, &b, 1);
}

static bool con_waits(const struct hall *h, unsigned int q)
{
	return !con_is_tx(q); /* receive: waits for bytes or messages */
}

/* Sends one control message from the guest, kicked. */
static int con_send(struct hall *h, uint32_t id, uint16_t event, uint16_t value)
{
	struct virtio_console_control m = {
		.id = htole32(id),
		.event = htole16(event),
		.value = htole16(value),
	};
	struct gdrv_buf b = { hall_put(h, &m, sizeof(m)), sizeof(m), false };
	uint16_t head;
	uint32_t len;

	/* Messages sent before: their descriptors are free again. */
	while (gdrv_get_used(&h->drv, 3, &head, &len) == 1)
		;
	if (hall_add(h, 3, &b, 1) < 0)
		return hall_fail(h, "control transmitq full");
	gdrv_notify(&h->drv, 3);
	return 0;
}

/*
 * The device walks the control receiveq when it has a message
 * (DEVICE_READY makes PORT_ADDs), and a port's receiveq once a client is
 * connected and the guest opened the port: the guest's control driver
 * does what Linux's does up to that, and a client connects.
 */
static int con_feed(struct hall *h, unsigned int q)
{
	unsigned int port = q ? q / 2 - 1 : 0;
	struct virtio_console_control m;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	bool added = false;
	uint32_t len;
	uint16_t head;
	int fd;

	if (q == 2)
		return con_send(h, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	for (unsigned int i = 0; i < 4; i++) {
		struct gdrv_buf b = { hall_mem(h, 128), 128, true };

		if (hall_add(h, 2, &b, 1) < 0)
			return hall_fail(h, "control receiveq full");
	}
	gdrv_notify(&h->drv, 2);
	if (con_send(h, 0, VIRTIO_CONSOLE_DEVICE_READY, 1))
		return -1;
	/* Each message read, its buffer posted again. */
	while (!added &&
	       HALL_WAIT(h, gdrv_get_used(&h->drv, 2, &head, &len) == 1)) {
		struct gdrv_buf b = { h->first[2][head % HALL_NUM], 128, true };

		if (fg_read(h->fg, b.gpa, &m, sizeof(m)))
			return hall_fail(h, "control buffer %u unknown", head);
		added = le16toh(m.event) == VIRTIO_CONSOLE_PORT_ADD &&
			le32toh(m.id) == port;
		hall_add(h, 2, &b, 1);
		gdrv_notify(&h->drv, 2);
	}
	if (!added)
		return hall_fail(h, "no PORT_ADD for port %u", port);
	if (con_send(h, port, VIRTIO_CONSOLE_PORT_READY, 1) ||
	    con_send(h, port, VIRTIO_CONSOLE_PORT_OPEN, 1))
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/p%u", h->dir, port);
	if (h->nr_clients == ARRAY_SIZE(h->clients))
		return hall_fail(h, "more clients than the rig keeps");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hall_fail(h, "socket: %s", strerror(errno));
	h->clients[h->nr_clients++] = fd;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return hall_fail(h, "%s: %s", sa.sun_path, strerror(errno));
	return 0;
}

/* Port 0 writes with no client: the chain completes (bytes dropped). */
static int con_canary(struct hall *h)
{
	struct gdrv_buf b = { hall_put(h, "canary", 6), 6, false };

	return hall_wait_head(h, 1, hall_add(h, 1, &b, 1), NULL);
}

/*
 * Every registered type, by name. A new type adds its line here: a spec it
 * can be opened with in a test, a well-formed chain for each of its
 * queues, which of them wait for host-side data, and one checked request.
 */
static const struct hall_type hall_types[] = {
	{
		.name = "blk",
		.spec = "serial=hall,path=@DIR/disk.img",
		.prepare = blk_prepare,
		.sound = blk_sound,
		.waits = blk_waits,
		.canary = blk_canary,
	},
	{
		.name = "net",
		.spec = "ifname=xvbh0,mac=52:54:00:12:34:56,bridge=none",
		.prepare = net_prepare,
		.sound = net_sound,
		.waits = net_waits,
		.feed = net_feed,
		.canary = net_canary,
	},
	{
		.name = "rng",
		.spec = "rate=0",
		.sound = rng_sound,
		.waits = rng_waits,
		.canary = rng_canary,
	},
	{
		.name = "console",
		.spec = "ports=p0:p1,dir=@DIR",
		.sound = con_sound,
		.waits = con_waits,
		.feed = con_feed,
		.canary = con_canary,
	},
};

static const struct hall_type *hall_type_line(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(hall_types); i++)
		if (!strcmp(hall_types[i].name, name))
			return &hall_types[i];
	return NULL;
}

/* ---- opening a type through its registry entry ----------------------------- */

/* The type's conf from @spec, "@DIR" standing for the test's directory. */
static int hall_parse(struct hall *h, const char *spec)
{
	char buf[512], err[512] = "";
	const char *at = strstr(spec, "@DIR");

	if (at)
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - spec), spec,
			 h->dir, at + 4);
	else
		snprintf(buf, sizeof(buf), "%s", spec);
	h->conf = xvb_devconf_parse(h->type, buf, err, sizeof(err));
	if (!h->conf)
		return hall_fail(h, "spec '%s': %s", buf, err);
	return 0;
}

/* Brings the driver up on every queue, each of HALL_NUM entries. */
static int hall_up(struct hall *h)
{
	uint16_t num = HALL_NUM;

	gdrv_fini(&h->drv); /* the queues a case set up by hand */
	gdrv_init(&h->drv, h->vdev, h->fg);
	fg_alloc_reset(h->fg);
	h->data = h->data_next = fg_alloc(h->fg, HALL_DATA, FG_PAGE_SIZE);
	if (!h->data)
		return hall_fail(h, "guest RAM exhausted");
	if (h->vdev->queue_max < num)
		num = h->vdev->queue_max;
	if (gdrv_up(&h->drv, ~0ULL, h->nr_vqs, num))
		return hall_fail(h, "bring-up: %s", h->drv.why);
	return 0;
}

/*
 * Opens @type and brings the driver up. 0; 77 if it cannot run here
 * (h->why says why); -1 on a failure.
 */
static int hall_open(struct hall *h, const struct xvb_devtype *type)
{
	struct xvb_devenv env = {
		.loop = &h->loop,
		.poll_us = -1,
		.coalesce_us = -1,
		.domid = 9,
		.devid = 0,
	};
	int rc;

	memset(h, 0, sizeof(*h));
	h->type = type;
	h->ht = hall_type_line(type->name);
	if (!h->ht)
		return hall_fail(
			h,
			"device type '%s' has no line in hall_types[] (tests/unit/devices_hostile.c): add one so the shared hostile-guest cases run against it",
			type->name);
	h->fds = t_count_fds(0);
	snprintf(h->dir, sizeof(h->dir), "/tmp/xvbhall.XXXXXX");
	if (!mkdtemp(h->dir)) {
		h->dir[0] = '\0';
		return hall_fail(h, "mkdtemp: %s", strerror(errno));
	}
	if (h->ht->prepare) {
		rc = h->ht->prepare(h);
		if (rc)
			return rc;
	}
	if (hall_parse(h, h->ht->spec))
		return -1;
	h->fg = fg_new(HALL_RAM);
	if (!h->fg)
		return hall_fail(h, "fg_new");
	if (evl_init(&h->loop, 256))
		return hall_fail(h, "evl_init");
	h->idle_ops = h->loop.inflight;
	snprintf(h->devname, sizeof(h->devname), "v%s0", type->name);
	env.gm = &h->fg->gmem;
	env.name = h->devname;
	/* Two queues (pairs) where the type has several: queue 1 is tested. */
	env.queues = type->max_queues >= 2 ? 2 : type->max_queues;
	rc = type->open(&h->dev, &h->vdev, h->conf, &env);
	if (rc)
		return hall_fail(h, "open: %s", strerror(-rc));
	h->nr_vqs = h->vdev->nr_vqs;
	h->open_ops = h->loop.inflight;
	if (h->nr_vqs > GDRV_MAX_VQS)
		return hall_fail(h, "%u queues: the driver takes %u", h->nr_vqs,
				 GDRV_MAX_VQS);
	return hall_up(h);
}

/* Empties and removes the temp dir; -1 if something was left in it. */
static int hall_rmdir(struct hall *h)
{
	char path[128];
	int rc = 0;

	if (!h->dir[0])
		return 0;
	snprintf(path, sizeof(path), "%s/disk.img", h->dir);
	unlink(path);
	if (rmdir(h->dir)) {
		rc = hall_fail(h, "%s: files left in it (sockets?)", h->dir);
		/* Best effort for a failed case: the port sockets. */
		for (unsigned int i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "%s/p%u", h->dir, i);
			unlink(path);
		}
		rmdir(h->dir);
	}
	h->dir[0] = '\0';
	return rc;
}

static void hall_drop_clients(struct hall *h)
{
	while (h->nr_clients)
		close(h->clients[--h->nr_clients]);
}

/* Closes; 0 if nothing was left (mappings, operations, files, fds). */
static int hall_close(struct hall *h)
{
	int rc = 0;

	hall_drop_clients(h);
	if (h->dev)
		h->type->close(h->dev);
	h->dev = NULL;
	h->vdev = NULL;
	gdrv_fini(&h->drv);
	if (h->fg && (fg_live(h->fg) || !fg_ok(h->fg)))
		rc = hall_fail(h, "%zu guest mappings left, %u bogus unmaps",
			       fg_live(h->fg), h->fg->bad_unmaps);
	if (h->loop.ready && h->loop.inflight != h->idle_ops && !rc)
		rc = hall_fail(h, "%u operations left on the loop",
			       h->loop.inflight - h->idle_ops);
	evl_exit(&h->loop);
	fg_free(h->fg);
	h->fg = NULL;
	free(h->conf);
	h->conf = NULL;
	if (hall_rmdir(h) && !rc)
		rc = -1;
	if (h->fds && t_count_fds(0) != h->fds && !rc)
		rc = hall_fail(h, "%d file descriptors leaked",
			       t_count_fds(0) - h->fds);
	return rc;
}

/*
 * Status=0: reads back 0, nothing of the device's is left mapped or in
 * flight, then up again and the type's canary.
 */
static int hall_recover(struct hall *h)
{
	uint32_t st;

	hall_drop_clients(h);
	st = gdrv_reset(&h->drv);

	if (st)
		return hall_fail(h, "status 0x%x after reset", st);
	if (fg_live(h->fg))
		return hall_fail(h, "%zu guest mappings left after reset",
				 fg_live(h->fg));
	/*
	 * Host-side operations may outlive a reset (a dom0 client's socket):
	 * once the loop turned they must be back to what the device had
	 * open.
	 */
	if (!HALL_WAIT(h, h->loop.inflight == h->open_ops))
		return hall_fail(h, "%d operations in flight after reset",
				 (int)(h->loop.inflight - h->open_ops));
	if (hall_up(h))
		return -1;
	return h->ht->canary(h);
}

/*
 * Runs @fn on every registered type. A type that cannot run here is
 * reported and left out; the case skips if none could run.
 */
static void hall_each(const char *what, int (*fn)(struct hall *h))
{
	unsigned int ran = 0, skipped = 0;
	char skips[256] = "";

	for (unsigned int i = 0; xvb_devtypes[i]; i++) {
		const struct xvb_devtype *type = xvb_devtypes[i];
		struct hall h;
		int rc = hall_open(&h, type);

		if (rc == 77) {
			printf("# %s: %s skipped: %s\n", what, type->name,
			       h.why);
			snprintf(skips + strlen(skips),
				 sizeof(skips) - strlen(skips), "%s%s: %s",
				 skipped ? "; " : "", type->name, h.why);
			skipped++;
			hall_close(&h);
			continue;
		}
		if (!rc)
			rc = fn(&h);
		if (rc) {
			t_fail(__FILE__, __LINE__, "%s: %s", type->name,
			       h.why ? h.why : "?");
			hall_close(&h);
			return;
		}
		if (hall_close(&h)) {
			t_fail(__FILE__, __LINE__, "%s: at close: %s",
			       type->name, h.why);
			return;
		}
		ran++;
	}
	if (!ran)
		t_skip("no device type could run here: %s", skips);
}

/* ---- the cases ----------------------------------------------------------- */

/* Every registered type has a line, opens, serves its canary and closes. */
static int do_open_close(struct hall *h)
{
	return h->ht->canary(h);
}

static void every_type_has_a_line(void)
{
	for (unsigned int i = 0; xvb_devtypes[i]; i++)
		if (!hall_type_line(xvb_devtypes[i]->name)) {
			t_fail(__FILE__, __LINE__,
			       "device type '%s' has no line in hall_types[] (tests/unit/devices_hostile.c): add one so the shared hostile-guest cases run against it",
			       xvb_devtypes[i]->name);
			return;
		}
	for (size_t i = 0; i < ARRAY_SIZE(hall_types); i++)
		if (!xvb_devtype_by_name(hall_types[i].name)) {
			t_fail(__FILE__, __LINE__,
			       "hall_types[] names '%s', which is not registered",
			       hall_types[i].name);
			return;
		}
	hall_each("open_serve_close", do_open_close);
}

/* ---- register file --------------------------------------------------------- */

/* The registers no write may change, and what they read. */
static const uint32_t hall_ro_regs[] = {
	VIRTIO_MMIO_MAGIC_VALUE,
	VIRTIO_MMIO_VERSION,
	VIRTIO_MMIO_DEVICE_ID,
	VIRTIO_MMIO_VENDOR_ID,
};

/* True if a read of @size bytes at @off must read 0 (not a valid access). */
static bool hall_bad_access(struct hall *h, uint64_t off, unsigned int size)
{
	if (off < VMMIO_CONFIG_OFF)
		return size != 4 || (off & 3);
	if (off >= VMMIO_WINDOW_SIZE)
		return true;
	off -= VMMIO_CONFIG_OFF;
	return (off & (size - 1)) || off + size > h->vdev->cfg_size;
}

/*
 * Every offset of the window (and past it) at every width: reads of bad
 * accesses give 0; then writes of several values everywhere, with the
 * loop turning; the identity registers read as before, and a reset
 * restores the device.
 */
static int do_register_abuse(struct hall *h)
{
	static const uint64_t vals[] = { ~0ULL, 0, 0x80000001ULL,
					 0x5a5a5a5a5a5a5a5aULL };
	static const unsigned int sizes[] = { 1, 2, 4, 8 };
	uint32_t before[ARRAY_SIZE(hall_ro_regs)];

	for (size_t i = 0; i < ARRAY_SIZE(hall_ro_regs); i++)
		before[i] = gdrv_r32(&h->drv, hall_ro_regs[i]);
	for (uint64_t off = 0; off < VMMIO_WINDOW_SIZE + 16; off++)
		for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
			uint64_t v = gdrv_read(&h->drv, off, sizes[k]);

			if (v && hall_bad_access(h, off, sizes[k]))
				return hall_fail(
					h,
					"read of %u bytes at 0x%llx gave 0x%llx",
					sizes[k], (unsigned long long)off,
					(unsigned long long)v);
		}
	for (size_t n = 0; n < ARRAY_SIZE(vals); n++)
		for (uint64_t off = 0; off < VMMIO_WINDOW_SIZE + 16; off++) {
			for (size_t k = 0; k < ARRAY_SIZE(sizes); k++)
				gdrv_write(&h->drv, off, sizes[k], vals[n]);
			hall_turn(h);
		}
	for (size_t i = 0; i < ARRAY_SIZE(hall_ro_regs); i++)
		if (gdrv_r32(&h->drv, hall_ro_regs[i]) != before[i])
			return hall_fail(h, "register 0x%x changed by writes",
					 hall_ro_regs[i]);
	return hall_recover(h);
}

static void register_abuse(void)
{
	hall_each("register_abuse", do_register_abuse);
}

/* Writes ~0 to a register the driver may not change; -1 if it did. */
static int hall_ro_write(struct hall *h, uint32_t off)
{
	uint32_t was = gdrv_r32(&h->drv, off);

	gdrv_w32(&h->drv, off, ~0u);
	if (gdrv_r32(&h->drv, off) != was)
		return hall_fail(h, "write to read-only 0x%x took", off);
	return 0;
}

/*
 * QueueSel past the last queue, read-only registers written, queue
 * registers written after DRIVER_OK.
 */
static int do_queue_registers(struct hall *h)
{
	static const uint32_t ro[] = {
		VIRTIO_MMIO_MAGIC_VALUE,       VIRTIO_MMIO_VERSION,
		VIRTIO_MMIO_DEVICE_ID,	       VIRTIO_MMIO_VENDOR_ID,
		VIRTIO_MMIO_DEVICE_FEATURES,   VIRTIO_MMIO_QUEUE_NUM_MAX,
		VIRTIO_MMIO_CONFIG_GENERATION,
	};
	const uint32_t sels[] = { h->nr_vqs, h->nr_vqs + 1, 0xffff,
				  0xffffffff };

	for (size_t i = 0; i < ARRAY_SIZE(ro); i++)
		if (hall_ro_write(h, ro[i]))
			return -1;
	/* A live queue's registers are locked after DRIVER_OK. */
	for (unsigned int q = 0; q < h->nr_vqs; q++) {
		uint64_t desc = h->drv.vqs[q].desc_gpa;

		gdrv_w32(&h->drv, VIRTIO_MMIO_QUEUE_SEL, q);
		gdrv_w32(&h->drv, VIRTIO_MMIO_QUEUE_NUM, 2);
		gdrv_w32(&h->drv, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
		gdrv_w32(&h->drv, VIRTIO_MMIO_QUEUE_READY, 0);
		if (gdrv_r32(&h->drv, VIRTIO_MMIO_QUEUE_NUM) !=
			    h->drv.vqs[q].num ||
		    gdrv_r32(&h->drv, VIRTIO_MMIO_QUEUE_DESC_LOW) !=
			    (uint32_t)desc ||
		    gdrv_r32(&h->drv, VIRTIO_MMIO_QUEUE_READY) != 1)
			return hall_fail(h, "queue %u changed after DRIVER_OK",
					 q);
	}
	/* Queues that do not exist: read 0, writes ignored. */
	for (size_t i = 0; i < ARRAY_SIZE(sels); i++) {
		gdrv_w32(&h->drv, VIRTIO_MMIO_QUEUE_SEL, sels[i]);
		gdrv_w32(&h->drv, VIRTIO_MMIO_QUEUE_NUM, 8);
		gdrv_w32(&h->drv, VIRTIO_MMIO_QUEUE_READY, 1);
		if (gdrv_r32(&h->drv, VIRTIO_MMIO_QUEUE_NUM_MAX) ||
		    gdrv_r32(&h->drv, VIRTIO_MMIO_QUEUE_NUM) ||
		    gdrv_r32(&h->drv, VIRTIO_MMIO_QUEUE_READY))
			return hall_fail(h, "queue 0x%x, past the last, reads",
					 sels[i]);
	}
	if (hall_needs_reset(h))
		return hall_fail(h, "NEEDS_RESET after ignored writes");
	if (h->ht->canary(h))
		return -1;
	return hall_recover(h);
}

static void queue_registers(void)
{
	hall_each("queue_registers", do_queue_registers);
}

/* A queue layout the driver might write. */
struct hall_layout {
	const char *what;
	uint32_t num; /* QueueNum; 0xffffffff: a sound size */
	uint64_t desc, avail, used;
};

#define HALL_SOUND 0xffffffffu

/*
 * Writes @l on queue @q of a freshly negotiated device and sets
 * QueueReady: 0 if the device took it as @sound says (QueueReady reads 1
 * either way; NEEDS_RESET only for a bad one), then resets it and checks
 * that nothing stays mapped.
 */
static int hall_try_layout(struct hall *h, unsigned int q,
			   const struct hall_layout *l, uint32_t good,
			   bool sound)
{
	uint32_t num = l->num == HALL_SOUND ? good : l->num;

	if (gdrv_negotiate(&h->drv, ~0ULL))
		return hall_fail(h, "negotiate: %s", h->drv.why);
	/* gdrv_setup_vq_at writes 16 bits: larger sizes are clamped. */
	if (gdrv_setup_vq_at(&h->drv, q, num > 0xffff ? 0xffff : num, l->desc,
			     l->avail, l->used, true) != 1)
		return hall_fail(h, "queue %u, %s: QueueReady reads 0", q,
				 l->what);
	if (hall_needs_reset(h) == sound)
		return hall_fail(h, "queue %u, %s: %s", q, l->what,
				 sound ? "NEEDS_RESET" : "no NEEDS_RESET");
	gdrv_w32(&h->drv, VIRTIO_MMIO_STATUS, 0);
	if (hall_status(h) || fg_live(h->fg))
		return hall_fail(
			h,
			"queue %u, %s: status 0x%x, %zu mappings after reset",
			q, l->what, hall_status(h), fg_live(h->fg));
	return 0;
}

/*
 * Each bad layout on each queue: QueueReady reads back 1, the queue is
 * refused and the device needs a reset; nothing stays mapped. The same
 * rings with a sound layout are accepted (the bad ones fail for their
 * own reason).
 */
static int do_bad_layouts(struct hall *h)
{
	const uint64_t end = FG_RAM_BASE + HALL_RAM, pg = FG_PAGE_SIZE;

	for (unsigned int q = 0; q < h->nr_vqs; q++) {
		uint64_t r = (hall_mem(h, 4 * pg) + pg - 1) & ~(pg - 1);
		uint32_t max, good;

		gdrv_w32(&h->drv, VIRTIO_MMIO_QUEUE_SEL, q);
		max = gdrv_r32(&h->drv, VIRTIO_MMIO_QUEUE_NUM_MAX);
		good = max < HALL_NUM ? max : HALL_NUM;
		const struct hall_layout sound = { "a sound layout", HALL_SOUND,
						   r, r + pg, r + 2 * pg };
		const struct hall_layout bad[] = {
			{ "QueueNum 0", 0, r, r + pg, r + 2 * pg },
			{ "QueueNum above max", max + 1, r, r + pg,
			  r + 2 * pg },
			{ "QueueNum twice max", 2 * max, r, r + pg,
			  r + 2 * pg },
			{ "QueueNum 3", 3, r, r + pg, r + 2 * pg },
			{ "QueueNum 0x8001", 0x8001, r, r + pg, r + 2 * pg },
			{ "desc misaligned", HALL_SOUND, r + 8, r + pg,
			  r + 2 * pg },
			{ "avail odd", HALL_SOUND, r, r + pg + 1, r + 2 * pg },
			{ "used misaligned", HALL_SOUND, r, r + pg,
			  r + 2 * pg + 2 },
			{ "avail on desc", HALL_SOUND, r, r, r + 2 * pg },
			{ "used on avail", HALL_SOUND, r, r + pg, r + pg },
			{ "desc in the MMIO window", HALL_SOUND, FG_MMIO_BASE,
			  r + pg, r + 2 * pg },
			{ "avail at 0", HALL_SOUND, r, 0, r + 2 * pg },
			{ "used wrapping 2^64", HALL_SOUND, r, r + pg,
			  ~0ULL - 15 },
			{ "used across the end of RAM", HALL_SOUND, r, r + pg,
			  end - 64 },
			{ "used far above RAM", HALL_SOUND, r, r + pg,
			  1ULL << 40 },
		};

		if (hall_try_layout(h, q, &sound, good, true))
			return -1;
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
			if (hall_try_layout(h, q, &bad[i], good, false))
				return -1;
	}
	return hall_recover(h);
}

static void bad_layouts(void)
{
	hall_each("bad_layouts", do_bad_layouts);
}

/* ---- status and features --------------------------------------------------- */

/* Status after reset, ACKNOWLEDGE|DRIVER and features @f written. */
static uint32_t hall_try_features(struct hall *h, uint64_t f, uint32_t sel)
{
	gdrv_reset(&h->drv);
	gdrv_add_status(&h->drv, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	gdrv_add_status(&h->drv, VIRTIO_CONFIG_S_DRIVER);
	gdrv_write_features(&h->drv, f);
	if (sel) {
		gdrv_w32(&h->drv, VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
		gdrv_w32(&h->drv, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	}
	return gdrv_add_status(&h->drv, VIRTIO_CONFIG_S_FEATURES_OK);
}

/*
 * Status bits out of order and feature sets the device must refuse; a
 * sound chain published on a device whose DRIVER_OK did not latch is
 * never served.
 */
static int do_status_abuse(struct hall *h)
{
	uint64_t offered = gdrv_device_features(&h->drv);
	uint32_t st;
	int head;

	if (hall_try_features(h, ~0ULL, 0) & VIRTIO_CONFIG_S_FEATURES_OK)
		return hall_fail(h, "FEATURES_OK with every bit set");
	if (hall_try_features(h, offered, 2) & VIRTIO_CONFIG_S_FEATURES_OK)
		return hall_fail(h, "FEATURES_OK with a bit in word 2");
	if (hall_try_features(h, offered & ~(1ULL << VIRTIO_F_VERSION_1), 0) &
	    VIRTIO_CONFIG_S_FEATURES_OK)
		return hall_fail(h, "FEATURES_OK without VERSION_1");
	if (!(hall_try_features(h, offered, 0) & VIRTIO_CONFIG_S_FEATURES_OK))
		return hall_fail(h, "every offered bit refused");

	gdrv_reset(&h->drv);
	gdrv_w32(&h->drv, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_DRIVER_OK);
	gdrv_w32(&h->drv, VIRTIO_MMIO_STATUS,
		 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_FEATURES_OK);
	gdrv_w32(&h->drv, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_NEEDS_RESET);
	st = hall_status(h);
	if (st & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FEATURES_OK |
		  VIRTIO_CONFIG_S_NEEDS_RESET))
		return hall_fail(h, "status 0x%x out of order latched", st);

	/* Queues set up, features never accepted: DRIVER_OK refused. */
	hall_try_features(h, ~0ULL, 0);
	for (unsigned int q = 0; q < h->nr_vqs; q++)
		if (gdrv_setup_vq(&h->drv, q,
				  HALL_NUM < h->vdev->queue_max ?
					  HALL_NUM :
					  h->vdev->queue_max))
			return hall_fail(h, "setup: %s", h->drv.why);
	st = gdrv_add_status(&h->drv, VIRTIO_CONFIG_S_DRIVER_OK);
	if (st & VIRTIO_CONFIG_S_DRIVER_OK)
		return hall_fail(h, "DRIVER_OK without FEATURES_OK latched");
	for (unsigned int q = 0; q < h->nr_vqs; q++) {
		head = h->ht->sound(h, q);
		if (head < 0)
			return hall_fail(h, "no room in queue %u", q);
		gdrv_notify(&h->drv, q);
	}
	hall_settle(h, 20);
	for (unsigned int q = 0; q < h->nr_vqs; q++)
		if (gdrv_used_idx(&h->drv, q))
			return hall_fail(h, "queue %u served before DRIVER_OK",
					 q);
	/* Clearing a bit other than by a reset is refused. */
	if (hall_up(h))
		return -1;
	gdrv_w32(&h->drv, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	if (!(hall_status(h) & VIRTIO_CONFIG_S_DRIVER_OK))
		return hall_fail(h, "DRIVER_OK cleared without a reset");
	if (h->ht->canary(h))
		return -1;
	return hall_recover(h);
}

static void status_abuse(void)
{
	hall_each("status_abuse", do_status_abuse);
}

/* ---- ring abuse -------------------------------------------------------------- */

#define HALL_IND VRING_DESC_F_INDIRECT
#define HALL_NEXT VRING_DESC_F_NEXT
#define HALL_W VRING_DESC_F_WRITE

/* Writes one attack into queue @q's ring (@b: 4 KiB of RAM for buffers). */
typedef void hall_attack_fn(struct hall *h, unsigned int q, uint64_t b);

static void att_avail_ahead(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_desc(&h->drv, q, 0, b, 64, 0, 0);
	gdrv_raw_avail_idx(&h->drv, q,
			   h->drv.vqs[q].avail_idx + h->drv.vqs[q].num + 1);
}

static void att_avail_far(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_desc(&h->drv, q, 0, b, 64, 0, 0);
	gdrv_raw_avail_idx(&h->drv, q, h->drv.vqs[q].avail_idx + 0x8000);
}

static void att_head_range(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_publish(&h->drv, q, h->drv.vqs[q].num);
}

static void att_self_loop(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_desc(&h->drv, q, 0, b, 64, HALL_NEXT, 0);
	gdrv_raw_publish(&h->drv, q, 0);
}

static void att_long_cycle(struct hall *h, unsigned int q, uint64_t b)
{
	uint16_t num = h->drv.vqs[q].num;

	for (uint16_t i = 0; i < num; i++)
		gdrv_raw_desc(&h->drv, q, i, b + 64 * (i % 32), 64, HALL_NEXT,
			      (uint16_t)((i + 1) % num));
	gdrv_raw_publish(&h->drv, q, 0);
}

static void att_len_zero(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_desc(&h->drv, q, 0, b, 0, 0, 0);
	gdrv_raw_publish(&h->drv, q, 0);
}

static void att_len_4g(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_desc(&h->drv, q, 0, FG_RAM_BASE, 0xffffffffu, HALL_W, 0);
	gdrv_raw_publish(&h->drv, q, 0);
}

static void att_addr_mmio(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_desc(&h->drv, q, 0, FG_MMIO_BASE, 64, HALL_W, 0);
	gdrv_raw_publish(&h->drv, q, 0);
}

static void att_addr_zero(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_desc(&h->drv, q, 0, 0, 64, 0, 0);
	gdrv_raw_publish(&h->drv, q, 0);
}

static void att_addr_wraps(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_desc(&h->drv, q, 0, ~0ULL - 15, 64, 0, 0);
	gdrv_raw_publish(&h->drv, q, 0);
}

static void att_past_ram(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_desc(&h->drv, q, 0, FG_RAM_BASE + HALL_RAM - 32, 64, HALL_W,
		      0);
	gdrv_raw_publish(&h->drv, q, 0);
}

static void att_next_range(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_desc(&h->drv, q, 0, b, 64, HALL_NEXT, h->drv.vqs[q].num);
	gdrv_raw_publish(&h->drv, q, 0);
}

static void att_write_then_read(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_desc(&h->drv, q, 0, b, 64, HALL_W | HALL_NEXT, 1);
	gdrv_raw_desc(&h->drv, q, 1, b + 64, 64, 0, 0);
	gdrv_raw_publish(&h->drv, q, 0);
}

/* An indirect table at @b + 1024 (entries written by the caller). */
static void att_ind(struct hall *h, unsigned int q, uint64_t addr, uint32_t len,
		    uint16_t flags)
{
	gdrv_raw_desc(&h->drv, q, 0, addr, len, HALL_IND | flags, 1);
	gdrv_raw_desc(&h->drv, q, 1, 0, 0, 0, 0);
	gdrv_raw_publish(&h->drv, q, 0);
}

static void att_ind_nested(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_table(&h->drv, b + 1024, 0, b + 2048, 32, HALL_IND, 0);
	gdrv_raw_table(&h->drv, b + 2048, 0, b, 64, 0, 0);
	gdrv_raw_table(&h->drv, b + 2048, 1, b, 64, 0, 0);
	att_ind(h, q, b + 1024, 16, 0);
}

static void att_ind_next(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_table(&h->drv, b + 1024, 0, b, 64, 0, 0);
	att_ind(h, q, b + 1024, 16, HALL_NEXT);
}

static void att_ind_len24(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_table(&h->drv, b + 1024, 0, b, 64, 0, 0);
	att_ind(h, q, b + 1024, 24, 0);
}

static void att_ind_len0(struct hall *h, unsigned int q, uint64_t b)
{
	att_ind(h, q, b + 1024, 0, 0);
}

static void att_ind_huge(struct hall *h, unsigned int q, uint64_t b)
{
	att_ind(h, q, b + 1024, 16u * (h->drv.vqs[q].num + 1u), 0);
}

static void att_ind_outside(struct hall *h, unsigned int q, uint64_t b)
{
	att_ind(h, q, FG_MMIO_BASE, 32, 0);
}

static void att_ind_loop(struct hall *h, unsigned int q, uint64_t b)
{
	gdrv_raw_table(&h->drv, b + 1024, 0, b, 64, HALL_NEXT, 1);
	gdrv_raw_table(&h->drv, b + 1024, 1, b + 64, 64, HALL_NEXT, 0);
	att_ind(h, q, b + 1024, 32, 0);
}

/* One direct descriptor, then a full indirect table: num + 1 in all. */
static void att_too_long(struct hall *h, unsigned int q, uint64_t b)
{
	uint16_t num = h->drv.vqs[q].num;

	for (uint16_t i = 0; i < num; i++)
		gdrv_raw_table(&h->drv, b + 1024, i, b + 16 * (i % 32), 16,
			       i + 1 < num ? HALL_NEXT : 0, i + 1);
	gdrv_raw_desc(&h->drv, q, 0, b + 512, 16, HALL_NEXT, 1);
	gdrv_raw_desc(&h->drv, q, 1, b + 1024, 16u * num, HALL_IND, 0);
	gdrv_raw_publish(&h->drv, q, 0);
}

static const struct {
	const char *name;
	hall_attack_fn *fn;
	bool indirect; /* needs INDIRECT_DESC negotiated to mean anything */
} hall_attacks[] = {
	{ "avail idx num + 1 ahead", att_avail_ahead, false },
	{ "avail idx 0x8000 ahead", att_avail_far, false },
	{ "head >= queue size", att_head_range, false },
	{ "descriptor loop 0 -> 0", att_self_loop, false },
	{ "descriptor cycle through the whole table", att_long_cycle, false },
	{ "length 0", att_len_zero, false },
	{ "length 4 GiB - 1", att_len_4g, false },
	{ "buffer in the MMIO window", att_addr_mmio, false },
	{ "buffer at 0", att_addr_zero, false },
	{ "buffer wrapping 2^64", att_addr_wraps, false },
	{ "buffer across the end of RAM", att_past_ram, false },
	{ "next >= queue size", att_next_range, false },
	{ "readable after writable", att_write_then_read, false },
	{ "indirect in indirect", att_ind_nested, true },
	{ "indirect with NEXT", att_ind_next, true },
	{ "indirect table of 24 bytes", att_ind_len24, true },
	{ "indirect table of 0 bytes", att_ind_len0, true },
	{ "indirect table larger than the queue", att_ind_huge, true },
	{ "indirect table outside RAM", att_ind_outside, true },
	{ "loop inside an indirect table", att_ind_loop, true },
	{ "chain longer than the queue", att_too_long, true },
};

/*
 * Each attack on each queue of a freshly set-up device, then a kick: the
 * device needs a reset (or, on a queue that waits for host data, may
 * leave the chain unread), no used element comes back for it, and a
 * reset restores the device (hall_recover: nothing mapped, canary).
 */
static int do_ring_abuse(struct hall *h)
{
	bool ind = h->drv.features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

	for (unsigned int q = 0; q < h->nr_vqs; q++) {
		bool waits = h->ht->waits(h, q);
		unsigned int found = 0, unfed = 0;

		for (size_t a = 0; a < ARRAY_SIZE(hall_attacks); a++) {
			uint64_t b = hall_mem(h, 4096);
			uint16_t used = gdrv_used_idx(&h->drv, q);
			bool nr;
			int fed;

			if (hall_attacks[a].indirect && !ind)
				continue;
			hall_attacks[a].fn(h, q, b);
			gdrv_notify(&h->drv, q);
			fed = waits && h->ht->feed ? h->ht->feed(h, q) : 1;
			if (fed < 0)
				return hall_fail(h, "queue %u, %s: feed: %s", q,
						 hall_attacks[a].name, h->why);
			if (waits && fed) {
				hall_settle(h, 10);
				nr = hall_needs_reset(h);
				found += nr;
				unfed++;
			} else {
				nr = HALL_WAIT(h, hall_needs_reset(h));
			}
			if (!nr && (!waits || !fed))
				return hall_fail(h,
						 "queue %u, %s: no NEEDS_RESET",
						 q, hall_attacks[a].name);
			if (gdrv_used_idx(&h->drv, q) != used)
				return hall_fail(
					h,
					"queue %u, %s: a used element came back",
					q, hall_attacks[a].name);
			if (gdrv_r32(&h->drv, VIRTIO_MMIO_MAGIC_VALUE) !=
			    VMMIO_MAGIC)
				return hall_fail(h, "queue %u, %s: registers",
						 q, hall_attacks[a].name);
			if (hall_recover(h))
				return hall_fail(h, "queue %u, %s: %s", q,
						 hall_attacks[a].name, h->why);
		}
		/* What a queue that could not be fed let through unread. */
		if (unfed)
			printf("# ring_abuse: %s queue %u waits and was not fed: %u of %u attacks found at the kick, the others left unread\n",
			       h->type->name, q, found, unfed);
	}
	return 0;
}

static void ring_abuse(void)
{
	hall_each("ring_abuse", do_ring_abuse);
}

/* ---- kick storms ----------------------------------------------------------- */

/* @n QueueNotify writes of @idx, turning the loop now and then. */
static void hall_storm(struct hall *h, uint32_t idx, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		gdrv_w32(&h->drv, VIRTIO_MMIO_QUEUE_NOTIFY, idx);
		if (!(i % 64))
			hall_turn(h);
	}
}

/*
 * Kick storms on every queue and on queues that do not exist, before
 * DRIVER_OK and after, with a sound chain in each ring: each chain is
 * served once (or held, on a queue that waits), the device stays sound.
 */
static int do_kick_storm(struct hall *h)
{
	const uint32_t bogus[] = { h->nr_vqs, h->nr_vqs + 7, 0xffff,
				   0xffffffff };
	int heads[GDRV_MAX_VQS];
	unsigned int q0 = 0;

	for (unsigned int q = 0; q < h->nr_vqs + ARRAY_SIZE(bogus); q++)
		hall_storm(h, q < h->nr_vqs ? q : bogus[q - h->nr_vqs],
			   HALL_STORM / 10);
	if (hall_needs_reset(h))
		return hall_fail(h,
				 "NEEDS_RESET after a storm on an idle ring");
	for (unsigned int q = 0; q < h->nr_vqs; q++) {
		heads[q] = h->ht->sound(h, q);
		if (heads[q] < 0)
			return hall_fail(h, "no room in queue %u", q);
		hall_storm(h, q, HALL_STORM);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bogus); i++)
		hall_storm(h, bogus[i], HALL_STORM);
	for (unsigned int q = 0; q < h->nr_vqs; q++) {
		uint16_t got;
		uint32_t len;
		int rc = 0;

		if (h->ht->waits(h, q))
			continue;
		if (!HALL_WAIT(h, (rc = gdrv_get_used(&h->drv, q, &got,
						      &len)) != 0))
			return hall_fail(h, "queue %u: chain not served", q);
		if (rc < 0 || got != heads[q])
			return hall_fail(h, "queue %u: bad used element (%s)",
					 q, h->drv.why ? h->drv.why : "head");
	}
	hall_settle(h, 10);
	for (unsigned int q = 0; q < h->nr_vqs; q++) {
		uint16_t got;
		uint32_t len;
		int rc;

		/* A queue that waits may have used its chain meanwhile. */
		rc = gdrv_get_used(&h->drv, q, &got, &len);
		if (rc == 1 && h->ht->waits(h, q) && got == heads[q])
			rc = gdrv_get_used(&h->drv, q, &got, &len);
		if (rc)
			return hall_fail(h, "queue %u: more used than posted",
					 q);
	}
	if (hall_needs_reset(h))
		return hall_fail(h, "NEEDS_RESET after storms");
	if (h->ht->canary(h))
		return -1;
	/* A storm on a device that needs a reset costs nothing either. */
	while (q0 < h->nr_vqs && h->ht->waits(h, q0))
		q0++;
	if (q0 == h->nr_vqs)
		return hall_fail(h, "every queue waits: hall_types[] is wrong");
	att_self_loop(h, q0, hall_mem(h, 4096));
	gdrv_notify(&h->drv, q0);
	if (!HALL_WAIT(h, hall_needs_reset(h)))
		return hall_fail(h, "a loop on queue %u: no NEEDS_RESET", q0);
	for (unsigned int q = 0; q < h->nr_vqs; q++)
		hall_storm(h, q, HALL_STORM / 10);
	return hall_recover(h);
}

static void kick_storm(void)
{
	hall_each("kick_storm", do_kick_storm);
}

/* ---- reset with chains in flight ------------------------------------------- */

/*
 * Feeds every queue that waits and can be fed, and turns the loop until
 * the device popped a chain from each (a receive chain held, a message
 * sent in one), or had popped them all already.
 */
static int hall_feed_all(struct hall *h)
{
	uint16_t popped[GDRV_MAX_VQS];
	bool fed[GDRV_MAX_VQS] = { false };
	int rc;

	for (unsigned int q = 0; h->ht->feed && q < h->nr_vqs; q++) {
		popped[q] = h->vdev->vqs[q].last_avail;
		if (!h->ht->waits(h, q))
			continue;
		rc = h->ht->feed(h, q);
		if (rc < 0)
			return hall_fail(h, "queue %u: feed: %s", q, h->why);
		fed[q] = !rc;
	}
	/* A queue that popped every chain at its kick (net's) is done. */
	for (unsigned int q = 0; q < h->nr_vqs; q++)
		if (fed[q] &&
		    !HALL_WAIT(h, h->vdev->vqs[q].last_avail != popped[q] ||
					  h->vdev->vqs[q].last_avail ==
						  h->drv.vqs[q].avail_idx))
			return hall_fail(h, "queue %u fed: no chain popped", q);
	return 0;
}

/*
 * Sound chains on every queue (half of each ring), kicked, then Status=0
 * before the loop ran their completions: status reads 0, nothing is left
 * mapped or in flight, nothing is written to the old rings afterwards,
 * and the device comes up again and serves. Twice: the second time with
 * the queues that wait fed first, so that the device holds their chains
 * (a read posted on a port's socket, a TAP read) when the reset comes.
 */
static int do_reset_in_flight(struct hall *h)
{
	uint16_t used[GDRV_MAX_VQS];
	uint64_t ugpa[GDRV_MAX_VQS];

	for (int round = 0; round < 2; round++) {
		for (unsigned int q = 0; q < h->nr_vqs; q++) {
			for (unsigned int k = 0; k < h->drv.vqs[q].num / 2; k++)
				if (h->ht->sound(h, q) < 0 && !k)
					return hall_fail(h, "no room in %u", q);
			gdrv_notify(&h->drv, q);
			ugpa[q] = h->drv.vqs[q].used_gpa;
		}
		/* The second time the device holds receive chains too. */
		if (round && hall_feed_all(h))
			return -1;
		if (gdrv_reset(&h->drv))
			return hall_fail(h, "status not 0 after reset");
		for (unsigned int q = 0; q < h->nr_vqs; q++)
			fg_read(h->fg, ugpa[q] + 2, &used[q], 2);
		if (fg_live(h->fg))
			return hall_fail(h, "%zu mappings after reset",
					 fg_live(h->fg));
		hall_settle(h, 20);
		for (unsigned int q = 0; q < h->nr_vqs; q++) {
			uint16_t now;

			fg_read(h->fg, ugpa[q] + 2, &now, 2);
			if (now != used[q])
				return hall_fail(
					h,
					"queue %u: used idx %u -> %u after reset",
					q, used[q], now);
		}
		if (hall_up(h) || h->ht->canary(h))
			return -1;
	}
	return hall_recover(h);
}

static void reset_in_flight(void)
{
	hall_each("reset_in_flight", do_reset_in_flight);
}

T_MAIN(T_CASE(every_type_has_a_line), T_CASE(register_abuse),
       T_CASE(queue_registers), T_CASE(bad_layouts), T_CASE(status_abuse),
       T_CASE(ring_abuse), T_CASE(kick_storm), T_CASE(reset_in_flight))
