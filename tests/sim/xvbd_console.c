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
	T_ASSERT(queued < total);
	cr_settle(&r, 50);
	T_EQ(cr_tx_done(&r, 1), 0);
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

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T_CASE(console_ports),
		T_CASE(console_backpressure),
	};
	int rc;

	if (rig_init())
		return 1;
	rc = t_main(cases, ARRAY_SIZE(cases), argc, argv);
	rig_cleanup();
	return rc;
}
