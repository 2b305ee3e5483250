// SPDX-License-Identifier: MIT
/*
 * The simulator core through its C API alone (no socket, no libraries):
 * domains, guest RAM, the grant table, xenstore permissions and the exact
 * nodes libxl writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/libxl.h"
#include "sim/sim.h"
#include "t.h"

static struct xsim *new_sim(void)
{
	struct xsim_config cfg = { .quiet = true, .libxl_timeout_ms = 50 };
	struct xsim *sim = NULL;

	xsim_create(&cfg, &sim);
	return sim;
}

static void domains(void)
{
	struct xsim_domain_config dc = { .domid = 4,
					 .nr_vcpus = 2,
					 .ram_bytes = 1 << 20 };
	struct xsim *sim = new_sim();

	T_ASSERT(sim);
	T_EQ(xsim_domain_create(sim, &dc), 0);
	T_EQ(xsim_domain_create(sim, &dc), -EEXIST);
	dc.domid = 5;
	dc.nr_vcpus = 0;
	T_EQ(xsim_domain_create(sim, &dc), -EINVAL);
	dc.nr_vcpus = 129;
	T_EQ(xsim_domain_create(sim, &dc), -EINVAL);
	dc.nr_vcpus = 1;
	dc.ram_bytes = 4097;
	T_EQ(xsim_domain_create(sim, &dc), -EINVAL);
	dc.domid = 0x7ff0;
	dc.ram_bytes = 4096;
	T_EQ(xsim_domain_create(sim, &dc), -EINVAL);
	T_EQ(xsim_domain_crashed(sim, 4, NULL, 0), 0);
	T_EQ(xsim_domain_destroy(sim, 0), -EPERM);
	T_EQ(xsim_domain_destroy(sim, 4), 0);
	T_EQ(xsim_domain_destroy(sim, 4), -ESRCH);
	/* domain ids are reused */
	dc.domid = 4;
	T_EQ(xsim_domain_create(sim, &dc), 0);
	xsim_destroy(sim);
}

static void guest_ram(void)
{
	struct xsim_domain_config dc = { .domid = 1,
					 .nr_vcpus = 1,
					 .ram_bytes = 2 << 20 };
	struct xsim *sim = new_sim();
	char buf[8];

	T_ASSERT(sim);
	T_EQ(xsim_domain_create(sim, &dc), 0);
	T_EQ(xsim_ram_write(sim, 1, XSIM_RAM0_BASE + (2 << 20) - 4, "abc", 4),
	     0);
	T_EQ(xsim_ram_read(sim, 1, XSIM_RAM0_BASE + (2 << 20) - 4, buf, 4), 0);
	T_ASSERT(!strcmp(buf, "abc"));
	T_EQ(xsim_ram_write(sim, 1, XSIM_RAM0_BASE + (2 << 20) - 2, "abc", 4),
	     -EFAULT);
	T_EQ(xsim_ram_read(sim, 1, XSIM_RAM0_BASE - 1, buf, 1), -EFAULT);
	T_ASSERT(!xsim_ram_ptr(sim, 1, XSIM_RAM1_BASE, 1));
	T_ASSERT(!xsim_ram_ptr(sim, 2, XSIM_RAM0_BASE, 1));
	xsim_destroy(sim);
}

static void grant_table(void)
{
	struct xsim_domain_config dc = {
		.domid = 1, .nr_vcpus = 1, .ram_bytes = 1 << 20, .nr_grants = 16
	};
	struct xsim *sim = new_sim();

	T_ASSERT(sim);
	T_EQ(xsim_domain_create(sim, &dc), 0);
	T_EQ(xsim_grant(sim, 1, 3, 0, XSIM_RAM0_BASE >> 12, true), 0);
	T_EQ(xsim_grant(sim, 1, 16, 0, XSIM_RAM0_BASE >> 12, true), -EINVAL);
	T_EQ(xsim_grant(sim, 1, 4, 0, (XSIM_RAM0_BASE >> 12) + 256, false),
	     -EINVAL);
	T_EQ(xsim_grant(sim, 9, 3, 0, XSIM_RAM0_BASE >> 12, false), -ESRCH);
	T_EQ(xsim_grant_end(sim, 1, 3), 0);
	T_EQ(xsim_grant_end(sim, 1, 3), -EINVAL);
	xsim_destroy(sim);
}

static void xenstore_permissions(void)
{
	const uint32_t ids[2] = { 0, 6 },
		       perms[2] = { 0, 1 /* XS_PERM_READ */ };
	struct xsim *sim = new_sim();
	char *v;
	int err;

	T_ASSERT(sim);
	T_EQ(xsim_xs_write(sim, 0, "/p/q", "x"), 0);
	T_EQ(xsim_xs_set_perms(sim, 0, "/p", ids, perms, 2), 0);
	T_EQ(xsim_xs_write(sim, 6, "/p/r", "y"), -EACCES); /* read-only for 6 */
	T_EQ(xsim_xs_mkdir(sim, 6, "/p/r"), -EACCES);
	/* not the owner */
	T_EQ(xsim_xs_set_perms(sim, 6, "/p", ids, perms, 2), -EACCES);
	/* the owner may hand a subtree over; what 6 creates there, 6 owns */
	{
		const uint32_t own[1] = { 6 }, none[1] = { 0 };

		T_EQ(xsim_xs_set_perms(sim, 0, "/p/q", own, none, 1), 0);
	}
	T_EQ(xsim_xs_write(sim, 6, "/p/q/mine", "z"), 0);
	T_EQ(xsim_xs_write(sim, 7, "/p/q/mine", "w"), -EACCES);
	v = xsim_xs_read(sim, 7, "/p/q/mine", &err);
	T_ASSERT(!v && err == -EACCES);
	v = xsim_xs_read(sim, 0, "/p/q/mine", &err);
	T_ASSERT(v && !strcmp(v, "z"));
	free(v);
	T_EQ(xsim_xs_rm(sim, 6, "/p"), -EACCES);
	T_EQ(xsim_xs_rm(sim, 0, "/"), -EINVAL);
	T_EQ(xsim_xs_wait(sim, "/p/q/mine", "never", 20), -ETIMEDOUT);
	xsim_destroy(sim);
}

static int expect(struct xsim *sim, const char *dir, const char *node,
		  const char *want)
{
	char path[256];
	char *v;
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	v = xsim_xs_read(sim, 0, path, &err);
	if (!v || strcmp(v, want)) {
		t_fail(__FILE__, __LINE__, "%s = \"%s\", want \"%s\"", path,
		       v ? v : "(none)", want);
		free(v);
		return -1;
	}
	free(v);
	return 0;
}

static void libxl_disk_nodes(void)
{
	static const char *const be_nodes[][2] = {
		{ "frontend", "/local/domain/2/device/virtio_disk/51728" },
		{ "frontend-id", "2" },
		{ "online", "1" },
		{ "state", "1" },
		{ "removable", "0" },
		{ "bootable", "1" },
		{ "dev", "xvdb" },
		{ "type", "standalone" },
		{ "mode", "r" },
		{ "device-type", "disk" },
		{ "discard-enable", "0" },
		{ "specification", "virtio" },
		{ "transport", "mmio" },
		{ "base", "33554944" },
		{ "irq", "34" },
		{ "params", "/srv/b.img" },
		{ "grant_usage", "1" },
	};
	static const char *const fe_nodes[][2] = {
		{ "backend", "/local/domain/0/backend/virtio_disk/2/51728" },
		{ "backend-id", "0" },
		{ "state", "1" },
		{ "virtual-device", "51728" },
		{ "device-type", "disk" },
		{ "trusted", "1" },
	};
	struct xsim_libxl_disk disk = { .vdev = "xvdb",
					.target = "/srv/b.img",
					.readonly = true,
					.base = 0x2000200,
					.irq = 34,
					.grant_usage = 1 };
	struct xsim *sim = new_sim();
	char *v;
	int err;

	T_ASSERT(sim);
	T_EQ(xsim_libxl_vdev_to_devid("xvda"), 51712);
	T_EQ(xsim_libxl_vdev_to_devid("xvdb"), 51728);
	T_EQ(xsim_libxl_vdev_to_devid("sda"), -1);
	T_EQ(xsim_libxl_write_disk(sim, 2, &disk), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(be_nodes); i++)
		if (expect(sim, "/local/domain/0/backend/virtio_disk/2/51728",
			   be_nodes[i][0], be_nodes[i][1]))
			return;
	for (unsigned int i = 0; i < ARRAY_SIZE(fe_nodes); i++)
		if (expect(sim, "/local/domain/2/device/virtio_disk/51728",
			   fe_nodes[i][0], fe_nodes[i][1]))
			return;
	/* the frontend reads the backend, may not write it; others see nothing */
	v = xsim_xs_read(sim, 2,
			 "/local/domain/0/backend/virtio_disk/2/51728/base",
			 &err);
	T_ASSERT(v);
	free(v);
	T_EQ(xsim_xs_write(sim, 2,
			   "/local/domain/0/backend/virtio_disk/2/51728/state",
			   "3"),
	     -EACCES);
	T_ASSERT(!xsim_xs_read(
		sim, 9, "/local/domain/0/backend/virtio_disk/2/51728/base",
		&err));
	/* removal: nobody answers 5, so it times out and removes anyway */
	T_EQ(xsim_libxl_remove(sim, "virtio_disk", 0, 2, 51728), -ETIMEDOUT);
	T_ASSERT(!xsim_xs_read(
		sim, 0, "/local/domain/0/backend/virtio_disk/2/51728", &err));
	T_ASSERT(!xsim_xs_read(
		sim, 0, "/local/domain/2/device/virtio_disk/51728", &err));
	xsim_destroy(sim);
}

T_MAIN(T_CASE(domains), T_CASE(guest_ram), T_CASE(grant_table),
       T_CASE(xenstore_permissions), T_CASE(libxl_disk_nodes))
