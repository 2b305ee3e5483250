// SPDX-License-Identifier: MIT
/*
 * virtio-console through the real xvbd on the simulated Xen (static mode,
 * --dev console:...): the guest's driver reaches the device through
 * ioreqs, the dom0 client through the port's socket. Named ports found,
 * open and close seen both ways, bytes both ways byte for byte, and a
 * client that stops reading stalls the guest's transmitq (nothing lost,
 * everything there once it reads). At the end the sockets are gone.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/console_rig.h"
#include "simbus.h"
#include "xvbd_rig.h"

#define DOMID 6
#define RAM (96ULL << 20)
#define BIG (256u << 10)

static uint8_t src[4u << 20], dst[4u << 20];

/* A static-mode xvbd serving console ports "org.qemu.guest_agent.0:ser1"
 * in @dir to guest DOMID, and the guest's driver up through @sb. */
static int start(struct crig *r, struct simbus *sb, const char *dir)
{
	static const char ports[] = "org.qemu.guest_agent.0:ser1";
	struct xsim_domain_config dc = { .domid = DOMID,
					 .nr_vcpus = 1,
					 .ram_bytes = RAM };
	static char spec[256];
	const char *argv[] = { "xvbd", "--domain", "6", "--dev", spec, NULL };
	const struct rig_opts o = {
		.tag = "con",
		.libxl_ms = (unsigned int)t_hang_ms(),
		.precreate = &dc,
		.argv = argv,
		.guest_ram = RAM,
	};
	struct vcon_conf conf = { 0 };
	char err[128];
	uint64_t magic = 0;

	snprintf(spec, sizeof(spec),
		 "console:base=0x%llx,irq=33,ports=%s,dir=%s",
		 XSIM_VIRTIO_MMIO_BASE, ports, dir);
	T_CHECK(!rig_start(&o));
	T_CHECK(T_WAIT(!xsim_mmio_read(sim, DOMID, 0, XSIM_VIRTIO_MMIO_BASE, 4,
				       &magic, (int)t_hang_ms()) &&
		       magic == 0x74726976));
	memset(r, 0, sizeof(*r));
	T_CHECK(!vcon_parse_ports(&conf, ports, err, sizeof(err)));
	r->nports = conf.nr_ports;
	memcpy(r->names, conf.names, sizeof(r->names));
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	r->fg = fg_wrap(xsim_ram_ptr(sim, DOMID, XSIM_RAM0_BASE, RAM),
			XSIM_RAM0_BASE, RAM);
	T_CHECK(r->fg);
	r->area = fg_alloc(r->fg, (size_t)GDRV_MAX_VQS * CR_AREA, 4096);
	T_CHECK(r->area);
	simbus_init(sb, sim, DOMID, 0, XSIM_VIRTIO_MMIO_BASE);
	r->bus = &sb->bus;
	if (crig_up(r)) {
		t_fail(__FILE__, __LINE__, "driver: %s", r->why);
		return -1;
	}
	return 0;
}

static void stop(struct crig *r)
{
	gdrv_fini(&r->drv);
	fg_release(&r->fg);
}

/* Opens port @i from both sides: a client, and the guest's PORT_OPEN. */
static int open_both(struct crig *r, unsigned int i, int *c)
{
	*c = cr_connect(r, i);
	T_CHECK(*c >= 0);
	T_CHECK(CR_WAIT(r, r->gp[i].host_open == 1));
	T_CHECK(!cr_send(r, i, VIRTIO_CONSOLE_PORT_OPEN, 1));
	return 0;
}

static void console_ports(void)
{
	char dir[] = "/tmp/xvbd-con-ports.XXXXXX", path[128];
	struct simbus sb;
	struct crig r = { 0 };
	size_t queued = 0, sent = 0, at_host = 0, at_guest = 0;
	unsigned int posted = 0;
	struct stat st;
	int c;

	T_ASSERT(mkdtemp(dir));
	if (start(&r, &sb, dir)) {
		stop(&r);
		rmdir(dir);
		return;
	}
	/* Both ports announced by name; their sockets 0600. */
	T_ASSERT(!strcmp(r.gp[0].name, "org.qemu.guest_agent.0"));
	T_ASSERT(!strcmp(r.gp[1].name, "ser1"));
	snprintf(path, sizeof(path), "%s/ser1", dir);
	T_ASSERT(!lstat(path, &st) && S_ISSOCK(st.st_mode));
	T_EQ(st.st_mode & 0777, 0600);

	/* Bytes both ways at once, byte for byte. */
	T_ASSERT(!open_both(&r, 0, &c));
	cr_pattern(src, BIG, 81);
	cr_pattern(dst + BIG, BIG, 82); /* what dom0 sends */
	T_ASSERT(CR_WAIT(&r, ({
		ssize_t n;

		if (queued < BIG)
			queued += cr_guest_write(&r, 0, src + queued,
						 BIG - queued, 3000, 2);
		cr_tx_done(&r, 0);
		cr_read_some(c, dst, &at_host, BIG);
		if (sent < BIG && (n = send(c, dst + BIG + sent, BIG - sent,
					    MSG_DONTWAIT)) > 0)
			sent += n;
		posted -= cr_guest_read(&r, 0, dst + 2 * BIG, &at_guest, BIG);
		while (posted < 32 && !cr_guest_post(&r, 0, 1, 2048))
			posted++;
		at_host == BIG &&at_guest == BIG;
	})));
	T_ASSERT(!memcmp(dst, src, BIG));
	T_ASSERT(!memcmp(dst + 2 * BIG, dst + BIG, BIG));

	/* The client's close reaches the guest. */
	close(c);
	T_ASSERT(CR_WAIT(&r, r.gp[0].host_open == 0));
	T_ASSERT(!cr_needs_reset(&r));
	stop(&r);
	T_ASSERT(!rig_stop());
	/* xvbd took its sockets with it. */
	T_ASSERT(access(path, F_OK) && errno == ENOENT);
	T_EQ(rmdir(dir), 0);
}

/*
 * A client that stops reading: the guest's transmitq fills and stays full
 * (no chain completes over several turns); once the client reads, every
 * byte arrives in order. The guest's close then ends the client's stream.
 */
static void console_backpressure(void)
{
	char dir[] = "/tmp/xvbd-con-slow.XXXXXX";
	const size_t total = sizeof(src);
	struct simbus sb;
	struct crig r = { 0 };
	size_t queued = 0, at = 0;
	int c;

	T_ASSERT(mkdtemp(dir));
	if (start(&r, &sb, dir)) {
		stop(&r);
		rmdir(dir);
		return;
	}
	T_ASSERT(!open_both(&r, 1, &c));
	cr_pattern(src, total, 83);
	T_ASSERT(CR_WAIT(&r, ({
		unsigned int quiet = 0;

		queued += cr_guest_write(&r, 1, src + queued, total - queued,
					 8192, 2);
		while (quiet < 3) {
			cr_settle(&r, 30);
			if (cr_tx_done(&r, 1))
				break;
			quiet++;
		}
		quiet == 3 && r.drv.vqs[cr_txq(1)].num_free < 2;
	})));
	T_ASSERT(queued < total); /* the socket did not take it all */
	T_ASSERT(CR_WAIT(&r, ({
		if (queued < total)
			queued += cr_guest_write(&r, 1, src + queued,
						 total - queued, 8192, 2);
		cr_tx_done(&r, 1);
		cr_read_some(c, dst, &at, total);
		at == total;
	})));
	T_ASSERT(!memcmp(dst, src, total));
	/* The guest closes its end: the client sees its stream end. */
	T_ASSERT(!cr_send(&r, 1, VIRTIO_CONSOLE_PORT_OPEN, 0));
	T_ASSERT(CR_WAIT(&r, cr_eof(c)));
	T_ASSERT(CR_WAIT(&r, r.gp[1].host_open == 0));
	close(c);
	T_ASSERT(!cr_needs_reset(&r));
	stop(&r);
	T_ASSERT(!rig_stop());
	T_EQ(rmdir(dir), 0);
}

/* Whether the backend of @kind/@devid of guest 5 reached state 2. */
static int backend_up(const char *kind, uint32_t devid)
{
	char path[160];

	xsim_libxl_be_path(path, sizeof(path) - 8, kind, 0, 5, devid);
	strcat(path, "/state");
	return xsim_xs_wait(sim, path, "2", (int)t_hang_ms());
}

/*
 * Both xl routes through the supervisor: a Xen 4.17 disk slot whose target
 * is "xvb-console:ports=...", and a 4.18+ generic "virtio,device3" whose
 * ports come from xvbd.conf by the guest's name. Sockets in
 * <run dir>/<guest>/ (the rig's run dir is <rig dir>/run), gone with the
 * guest; bytes through the generic one.
 */
static void console_xl_routes(void)
{
	const struct rig_opts o = {
		.tag = "conxl",
		.conf = "[guest con]\nports = agent\n",
		.libxl_ms = (unsigned int)t_hang_ms(),
		.guest_ram = RAM,
	};
	struct xsim_domain_config dc = { .domid = 5,
					 .nr_vcpus = 1,
					 .ram_bytes = RAM };
	struct xsim_libxl_virtio gen = { .type = "virtio,device3",
					 .grant_usage = -1,
					 .base = XSIM_VIRTIO_MMIO_BASE + 0x200,
					 .irq = 34 };
	static const char *const socks[] = { "slot0", "slot1", "agent" };
	struct xsim_libxl_disk slot;
	struct simbus sb;
	struct crig r = { 0 };
	char path[160], got[16];
	size_t at = 0;
	uint64_t v = 0;
	int c;

	T_ASSERT(!rig_start(&o));
	T_EQ(xsim_libxl_create(sim, &dc, NULL, 0, NULL, 0), 0);
	T_EQ(xsim_xs_write(sim, 0, "/local/domain/5/name", "con"), 0);
	rig_disk(&slot, "xvda", "/etc/xen/xvb-console:ports=slot0:slot1");
	slot.base = XSIM_VIRTIO_MMIO_BASE;
	slot.irq = 33;
	T_EQ(xsim_libxl_write_disk(sim, 5, &slot), 0);
	T_EQ(xsim_libxl_write_virtio(sim, 5, &gen), 0);
	T_EQ(backend_up("virtio_disk", 51712), 0);
	T_EQ(backend_up("virtio", 0), 0);
	T_EQ(xsim_domain_unpause(sim, 5), 0);
	for (unsigned int i = 0; i < 2; i++) {
		uint64_t base = XSIM_VIRTIO_MMIO_BASE + 0x200 * i;

		T_EQ(xsim_mmio_read(sim, 5, 0, base + 0x8, 4, &v,
				    (int)t_hang_ms()),
		     0);
		T_EQ(v, 3); /* VIRTIO_ID_CONSOLE */
		/* max_nr_ports: the slot's two, the file's one. */
		T_EQ(xsim_mmio_read(sim, 5, 0, base + 0x100 + 4, 4, &v,
				    (int)t_hang_ms()),
		     0);
		T_EQ(v, i ? 1 : 2);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(socks); i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/run/con/%s", rig_dir,
			 socks[i]);
		T_ASSERT(!lstat(path, &st) && S_ISSOCK(st.st_mode));
	}
	/* The generic one's port, end to end. */
	r.nports = 1;
	snprintf(r.names[0], sizeof(r.names[0]), "agent");
	T_ASSERT(strlen(rig_dir) + 9 <= sizeof(r.dir));
	memcpy(r.dir, rig_dir, strlen(rig_dir));
	memcpy(r.dir + strlen(rig_dir), "/run/con", 9);
	r.fg = fg_wrap(xsim_ram_ptr(sim, 5, XSIM_RAM0_BASE, RAM),
		       XSIM_RAM0_BASE, RAM);
	T_ASSERT(r.fg);
	r.area = fg_alloc(r.fg, (size_t)GDRV_MAX_VQS * CR_AREA, 4096);
	T_ASSERT(r.area);
	simbus_init(&sb, sim, 5, 0, gen.base);
	r.bus = &sb.bus;
	if (crig_up(&r)) {
		t_fail(__FILE__, __LINE__, "driver: %s", r.why);
		stop(&r);
		return;
	}
	T_ASSERT(!strcmp(r.gp[0].name, "agent"));
	T_ASSERT(!open_both(&r, 0, &c));
	T_ASSERT(!cr_guest_post(&r, 0, 2, 64));
	T_EQ(send(c, "ping", 4, 0), 4);
	T_ASSERT(CR_WAIT(
		&r, (cr_guest_read(&r, 0, (uint8_t *)got, &at, sizeof(got)),
		     at == 4)));
	T_ASSERT(!memcmp(got, "ping", 4));
	cr_guest_write(&r, 0, (const uint8_t *)"pong", 4, 4, 1);
	at = 0;
	T_ASSERT(CR_WAIT(&r, (cr_read_some(c, (uint8_t *)got, &at, sizeof(got)),
			      at == 4)));
	T_ASSERT(!memcmp(got, "pong", 4));
	stop(&r);
	/* The guest goes: its client sees the end, its sockets go. */
	T_EQ(xsim_libxl_destroy(sim, 5), 0);
	T_ASSERT(T_WAIT(cr_eof(c)));
	close(c);
	snprintf(path, sizeof(path), "%s/run/con", rig_dir);
	T_ASSERT(T_WAIT(access(path, F_OK) && errno == ENOENT));
	T_ASSERT(!rig_stop());
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T_CASE(console_ports),
		T_CASE(console_backpressure),
		T_CASE(console_xl_routes),
	};
	int rc;

	if (rig_init())
		return 1;
	rc = t_main(cases, ARRAY_SIZE(cases), argc, argv);
	rig_cleanup();
	return rc;
}
