/* SPDX-License-Identifier: MIT */
/*
 * The virtio-console tests' rig: a private socket directory, a fake guest,
 * an event loop, the device and a guest driver with a small control-queue
 * driver of its own (it answers PORT_ADD with PORT_READY as Linux does and
 * records what the device says of each port). Helpers move bytes between
 * the guest's port queues and dom0 clients, and check leaks.
 */
#ifndef XVB_TESTS_CONSOLE_RIG_H
#define XVB_TESTS_CONSOLE_RIG_H

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/virtio_console.h>

#include "devices/console/console.h"
#include "fakeguest.h"
#include "gdrv.h"
#include "hang.h"
#include "procfs.h"
#include "t.h"
#include "virtio/vmmio.h"

#define CR_CIVQ 2u
#define CR_COVQ 3u
#define CR_MAX_PORTS 7u /* GDRV_MAX_VQS: 2 * 7 + 2 queues */
#define CR_CBUF 128u	/* a control receive buffer */
#define CR_AREA (4u << 20)
#define CR_F(bit) (1ULL << (bit))

static inline unsigned int cr_rxq(unsigned int port)
{
	return port ? 2 * port + 2 : 0;
}

static inline unsigned int cr_txq(unsigned int port)
{
	return cr_rxq(port) + 1;
}

struct crig_opts {
	const char *ports; /* "a:b:c"; NULL: "p0" */
	bool console;
	bool no_multiport;     /* the driver does not take MULTIPORT */
	bool no_up;	       /* stop before the driver: the test drives it */
	bool manual_ready;     /* PORT_ADD is not answered with PORT_READY */
	uint16_t num;	       /* entries of each queue; 0: 64 */
	unsigned int civ_bufs; /* control receive buffers at first; 0: 32 */
};

/* What the guest's control driver learnt of one port. */
struct cr_gport {
	bool added, console;
	int host_open; /* -1: never said */
	unsigned int opens, closes;
	char name[VCON_NAME_MAX + 2];
};

struct crig {
	struct crig_opts o;
	char dir[64];
	unsigned int nports;
	char names[CR_MAX_PORTS][VCON_NAME_MAX + 1];
	/*
	 * The device elsewhere (xvbd, under the simulator): reached through
	 * @bus, no device or loop here; set by the test before crig_up.
	 */
	const struct gdrv_bus *bus;
	struct fakeguest *fg;
	struct evl loop;
	struct vcon *con;
	struct vdev *vdev;
	struct gdrv drv;
	uint64_t ctl;  /* control buffers: CR_CBUF per head, both queues */
	uint64_t area; /* guest data: CR_AREA per queue */
	uint64_t gpa[GDRV_MAX_VQS][1024]; /* by queue and head: its buffer */
	uint64_t next[GDRV_MAX_VQS];	  /* bump pointer in its area */
	struct cr_gport gp[CR_MAX_PORTS];
	unsigned int ctrl_msgs, ctrl_unknown;
	bool hold_civ; /* collected control buffers are not posted again */
	size_t baseline;
	int fds;
	unsigned int idle_ops;
	const char *why;
};

static inline int cr_fail(struct crig *r, const char *why)
{
	r->why = why;
	return -1;
}

/* ---- running the loop ---------------------------------------------------- */

static void cr_ctrl_poll(struct crig *r);

/* One short turn of the loop and of the guest's control driver. */
static inline void cr_turn(struct crig *r)
{
	if (!r->loop.ready || evl_run_once(&r->loop, false) <= 0)
		usleep(200);
	cr_ctrl_poll(r);
}

/* Turns until @cond holds or the hang bound passes; the value is @cond. */
#define CR_WAIT(r, cond)                                           \
	({                                                         \
		uint64_t cr_end_ = t_now_ms() + t_hang_ms();       \
		bool cr_ok_;                                       \
		while (!(cr_ok_ = (cond)) && t_now_ms() < cr_end_) \
			cr_turn(r);                                \
		cr_ok_;                                            \
	})

/* Turns the loop for @ms: for "nothing happens" checks. */
static inline void cr_settle(struct crig *r, unsigned int ms)
{
	uint64_t end = t_now_ms() + ms;

	while (t_now_ms() < end)
		cr_turn(r);
}

static inline bool cr_needs_reset(struct crig *r)
{
	return gdrv_r32(&r->drv, VIRTIO_MMIO_STATUS) &
	       VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* Only where the device is in this process. */
static inline struct vcon_stats cr_stats(struct crig *r)
{
	struct vcon_stats st;

	vcon_get_stats(r->con, &st);
	return st;
}

/* ---- guest buffers ------------------------------------------------------- */

/* Guest memory for @len bytes on queue @q's area; it wraps. */
static inline uint64_t cr_mem(struct crig *r, unsigned int q, size_t len)
{
	uint64_t base = r->area + (uint64_t)q * CR_AREA;

	len = (len + 63) & ~(size_t)63;
	if (r->next[q] < base || r->next[q] + len > base + CR_AREA)
		r->next[q] = base;
	r->next[q] += len;
	return r->next[q] - len;
}

/* Adds a chain of @nb buffers of @len bytes each; not kicked. */
static inline int cr_add(struct crig *r, unsigned int q, uint64_t gpa,
			 uint32_t len, unsigned int nb, bool write)
{
	struct gdrv_buf b[16];
	int head;

	if (nb > 16)
		return -EINVAL;
	for (unsigned int i = 0; i < nb; i++)
		b[i] = (struct gdrv_buf){ gpa + (uint64_t)i * len, len, write };
	head = gdrv_add(&r->drv, q, b, nb, 0);
	if (head >= 0)
		r->gpa[q][head] = gpa;
	return head;
}

/* Sends @len bytes of a raw control message from the guest, kicked. */
static inline int cr_send_raw(struct crig *r, const void *m, uint32_t len)
{
	uint64_t gpa = cr_mem(r, CR_COVQ, len ? len : 1);
	int head;

	fg_write(r->fg, gpa, m, len ? len : 1);
	head = cr_add(r, CR_COVQ, gpa, len ? len : 1, 1, false);
	if (head < 0)
		return head;
	gdrv_kick(&r->drv, CR_COVQ);
	return 0;
}

static inline int cr_send(struct crig *r, uint32_t id, uint16_t event,
			  uint16_t value)
{
	struct virtio_console_control m = {
		.id = htole32(id),
		.event = htole16(event),
		.value = htole16(value),
	};

	return cr_send_raw(r, &m, sizeof(m));
}

/* Posts a control receive buffer of CR_CBUF bytes for head-sized slots. */
static inline int cr_civ_add(struct crig *r)
{
	uint64_t gpa = cr_mem(r, CR_CIVQ, CR_CBUF);

	return cr_add(r, CR_CIVQ, gpa, CR_CBUF, 1, true) < 0 ? -1 : 0;
}

/* One message from the device: record it, answer as Linux would. */
static inline void cr_ctrl_msg(struct crig *r, const uint8_t *buf, uint32_t len)
{
	struct virtio_console_control m;
	struct cr_gport *g;
	uint32_t id;

	r->ctrl_msgs++;
	if (len < sizeof(m)) {
		r->ctrl_unknown++;
		return;
	}
	memcpy(&m, buf, sizeof(m));
	id = le32toh(m.id);
	if (id >= CR_MAX_PORTS) {
		r->ctrl_unknown++;
		return;
	}
	g = &r->gp[id];
	switch (le16toh(m.event)) {
	case VIRTIO_CONSOLE_PORT_ADD:
		g->added = true;
		if (!r->o.manual_ready)
			cr_send(r, id, VIRTIO_CONSOLE_PORT_READY, 1);
		break;
	case VIRTIO_CONSOLE_CONSOLE_PORT:
		g->console = true;
		break;
	case VIRTIO_CONSOLE_PORT_NAME:
		len -= sizeof(m);
		if (len > VCON_NAME_MAX + 1)
			len = VCON_NAME_MAX + 1;
		memcpy(g->name, buf + sizeof(m), len);
		g->name[len] = '\0';
		break;
	case VIRTIO_CONSOLE_PORT_OPEN:
		g->host_open = le16toh(m.value);
		g->opens += g->host_open == 1;
		g->closes += g->host_open == 0;
		break;
	default:
		r->ctrl_unknown++;
	}
}

/* Collects what the device sent and what it took; re-posts buffers. */
static void cr_ctrl_poll(struct crig *r)
{
	uint8_t buf[CR_CBUF];
	uint16_t head;
	uint32_t len;

	if (!r->drv.vqs[CR_CIVQ].num)
		return;
	while (gdrv_get_used(&r->drv, CR_CIVQ, &head, &len) == 1) {
		if (len > CR_CBUF)
			len = CR_CBUF;
		fg_read(r->fg, r->gpa[CR_CIVQ][head], buf, len);
		cr_ctrl_msg(r, buf, len);
		if (r->hold_civ)
			continue;
		cr_civ_add(r);
		gdrv_kick(&r->drv, CR_CIVQ);
	}
	while (gdrv_get_used(&r->drv, CR_COVQ, &head, &len) == 1)
		;
}

/* ---- set-up and teardown ------------------------------------------------- */

/* The driver up to DRIVER_OK, then (with MULTIPORT) DEVICE_READY. */
static inline int crig_up(struct crig *r)
{
	uint64_t want = r->o.no_multiport ? 0 :
					    CR_F(VIRTIO_CONSOLE_F_MULTIPORT);
	unsigned int nvq = r->o.no_multiport ? 2 : 2 * r->nports + 2;

	memset(r->gp, 0, sizeof(r->gp));
	for (unsigned int i = 0; i < CR_MAX_PORTS; i++)
		r->gp[i].host_open = -1;
	if (r->bus)
		gdrv_init_bus(&r->drv, r->bus, r->fg);
	else
		gdrv_init(&r->drv, r->vdev, r->fg);
	if (gdrv_up(&r->drv,
		    want | CR_F(VIRTIO_F_VERSION_1) |
			    CR_F(VIRTIO_RING_F_EVENT_IDX),
		    nvq, r->o.num ? r->o.num : 64))
		return cr_fail(r, r->drv.why ? r->drv.why : "gdrv_up");
	r->baseline = r->bus ? 0 : fg_live(r->fg);
	if (r->o.no_multiport)
		return 0;
	for (unsigned int i = 0; i < (r->o.civ_bufs ? r->o.civ_bufs : 32); i++)
		if (cr_civ_add(r))
			return cr_fail(r, "control buffers");
	gdrv_kick(&r->drv, CR_CIVQ);
	if (cr_send(r, 0, VIRTIO_CONSOLE_DEVICE_READY, 1))
		return cr_fail(r, "DEVICE_READY");
	if (r->o.manual_ready)
		return 0;
	/* Every port added and named (PORT_READY went back at once). */
	if (!CR_WAIT(r, ({
			     bool all = true;
			     for (unsigned int i = 0; i < r->nports; i++)
				     all &= r->gp[i].added && r->gp[i].name[0];
			     all;
		     })))
		return cr_fail(r, "ports not added and named");
	return 0;
}

static inline int crig_start(struct crig *r, const struct crig_opts *o)
{
	struct vcon_conf conf = { 0 };
	char err[256];
	int rc;

	memset(r, 0, sizeof(*r));
	if (o)
		r->o = *o;
	r->fds = t_count_fds(0);
	snprintf(r->dir, sizeof(r->dir), "/tmp/xvbcon.XXXXXX");
	if (!mkdtemp(r->dir))
		return cr_fail(r, "mkdtemp");
	if (vcon_parse_ports(&conf, r->o.ports ? r->o.ports : "p0", err,
			     sizeof(err)))
		return cr_fail(r, "ports");
	if (conf.nr_ports > CR_MAX_PORTS)
		return cr_fail(r, "more ports than the rig's driver takes");
	r->nports = conf.nr_ports;
	memcpy(r->names, conf.names, sizeof(r->names));
	conf.console = r->o.console;
	snprintf(conf.dir, sizeof(conf.dir), "%s", r->dir);
	r->fg = fg_new(128u << 20);
	if (!r->fg)
		return cr_fail(r, "fg_new");
	if (evl_init(&r->loop, 256))
		return cr_fail(r, "evl_init");
	r->idle_ops = r->loop.inflight;
	rc = vcon_create(&r->con, &conf,
			 &(struct vcon_env){ .domid = 7, .name = "vcon-test" },
			 &r->fg->gmem, &r->loop);
	if (rc)
		return cr_fail(r, "vcon_create");
	r->vdev = vcon_vdev(r->con);
	r->area = fg_alloc(r->fg, (size_t)GDRV_MAX_VQS * CR_AREA, 4096);
	if (!r->area)
		return cr_fail(r, "guest RAM exhausted");
	if (r->o.no_up) {
		gdrv_init(&r->drv, r->vdev, r->fg);
		return 0;
	}
	return crig_up(r);
}

/* Tears down; 0 if no mapping, descriptor, file or operation was left. */
static inline int crig_fini(struct crig *r)
{
	int rc = 0;

	vcon_destroy(r->con);
	r->con = NULL;
	gdrv_fini(&r->drv);
	if (r->fg && (fg_live(r->fg) || !fg_ok(r->fg)))
		rc = cr_fail(r, "guest mappings leaked or bogus unmaps");
	if (r->loop.ready && r->loop.inflight != r->idle_ops)
		rc = cr_fail(r, "operations left on the loop");
	evl_exit(&r->loop);
	fg_free(r->fg);
	r->fg = NULL;
	if (r->dir[0] && rmdir(r->dir))
		rc = cr_fail(r, "socket files left in the directory");
	r->dir[0] = '\0';
	if (t_count_fds(0) != r->fds)
		rc = cr_fail(r, "file descriptors leaked");
	return rc;
}

static inline void crig_cleanup(struct crig *r)
{
	char path[VCON_PATH_MAX + 8];

	if (r->fg || r->con)
		crig_fini(r);
	if (r->dir[0]) {
		/* A failed case's leftovers: best effort. */
		for (unsigned int i = 0; i < CR_MAX_PORTS; i++) {
			snprintf(path, sizeof(path), "%s/p%u", r->dir, i);
			unlink(path);
		}
		rmdir(r->dir);
	}
}
#define CRIG_SCOPED __attribute__((cleanup(crig_cleanup)))

#define T_CR(r, expr) T_WHY(r, expr)
#define T_CR_START(r, o) T_CR(r, crig_start(r, o))
#define T_CR_FINI(r) T_CR(r, crig_fini(r))

/* ---- dom0 clients -------------------------------------------------------- */

/* Connects to port @i's socket; non-blocking. Returns the fd or -errno. */
static inline int cr_connect(struct crig *r, unsigned int i)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (i >= r->nports ||
	    strlen(r->dir) + 1 + strlen(r->names[i]) >= sizeof(sa.sun_path))
		return -ENOENT;
	memcpy(sa.sun_path, r->dir, strlen(r->dir));
	sa.sun_path[strlen(r->dir)] = '/';
	memcpy(sa.sun_path + strlen(r->dir) + 1, r->names[i],
	       strlen(r->names[i]));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/* True once the peer closed @fd (read sees the end, nothing pending). */
static inline bool cr_eof(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* Reads what @fd has into @buf at *@at (up to @cap). */
static inline void cr_read_some(int fd, uint8_t *buf, size_t *at, size_t cap)
{
	ssize_t n;

	while (*at < cap &&
	       (n = recv(fd, buf + *at, cap - *at, MSG_DONTWAIT)) > 0)
		*at += n;
}

/* ---- guest data ---------------------------------------------------------- */

/*
 * The guest writes @len bytes of @data to port @i, cut into chains of at
 * most @chunk bytes of @nb buffers each, as many as the ring takes; kicks.
 * Returns the bytes queued.
 */
static inline size_t cr_guest_write(struct crig *r, unsigned int i,
				    const uint8_t *data, size_t len,
				    size_t chunk, unsigned int nb)
{
	unsigned int q = cr_txq(i);
	struct gdrv_buf b[16];
	size_t at = 0;

	while (at < len && nb <= 16 && r->drv.vqs[q].num_free >= nb) {
		size_t n = len - at < chunk ? len - at : chunk;
		size_t per = (n + nb - 1) / nb, off = 0;
		uint64_t gpa = cr_mem(r, q, n);
		unsigned int k = 0;
		int head;

		fg_write(r->fg, gpa, data + at, n);
		for (; off < n; k++, off += per)
			b[k] = (struct gdrv_buf){ gpa + off,
						  n - off < per ? n - off : per,
						  false };
		head = gdrv_add(&r->drv, q, b, k, 0);
		if (head < 0)
			break;
		r->gpa[q][head] = gpa;
		at += n;
	}
	gdrv_kick(&r->drv, q);
	return at;
}

/* Posts @n receive buffers of @size bytes on port @i, kicked. */
static inline int cr_guest_post(struct crig *r, unsigned int i, unsigned int n,
				uint32_t size)
{
	unsigned int q = cr_rxq(i);

	for (unsigned int k = 0; k < n; k++) {
		uint64_t gpa = cr_mem(r, q, size);

		fg_fill(r->fg, gpa, size, 0xee);
		if (cr_add(r, q, gpa, size, 1, true) < 0)
			return -1;
	}
	gdrv_kick(&r->drv, q);
	return 0;
}

/* Collects what the guest received on port @i into @buf at *@at. */
static inline int cr_guest_read(struct crig *r, unsigned int i, uint8_t *buf,
				size_t *at, size_t cap)
{
	unsigned int q = cr_rxq(i);
	uint16_t head;
	uint32_t len;
	int n = 0;

	while (gdrv_get_used(&r->drv, q, &head, &len) == 1) {
		if (*at + len > cap)
			return -1;
		fg_read(r->fg, r->gpa[q][head], buf + *at, len);
		*at += len;
		n++;
	}
	return n;
}

/* Collects completed transmit chains of port @i; returns how many. */
static inline unsigned int cr_tx_done(struct crig *r, unsigned int i)
{
	uint16_t head;
	uint32_t len;
	unsigned int n = 0;

	while (gdrv_get_used(&r->drv, cr_txq(i), &head, &len) == 1)
		n++;
	return n;
}

static inline void cr_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = fg_pattern(seed, i);
}

#endif
