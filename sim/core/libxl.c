// SPDX-License-Identifier: MIT
/*
 * libxl's side of virtio devices on Arm: the xenstore nodes of xl create,
 * the wait for backend state 2, and the removal protocol of xl destroy.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore_lib.h>

#include "core.h"
#include "sim/libxl.h"

#define STATE_INITWAIT "2"
#define STATE_CLOSED "6"

void xsim_libxl_be_path(char *buf, unsigned int len, const char *kind,
			uint32_t be_domid, uint32_t domid, uint32_t devid)
{
	snprintf(buf, len, "/local/domain/%u/backend/%s/%u/%u", be_domid, kind,
		 domid, devid);
}

static void fe_path(char *buf, unsigned int len, const char *kind,
		    uint32_t domid, uint32_t devid)
{
	snprintf(buf, len, "/local/domain/%u/device/%s/%u", domid, kind, devid);
}

int xsim_libxl_vdev_to_devid(const char *vdev)
{
	unsigned int disk = 0;
	const char *p;

	if (strncmp(vdev, "xvd", 3) || !vdev[3])
		return -1;
	for (p = vdev + 3; *p; p++) {
		if (*p < 'a' || *p > 'z' || disk > 100000)
			return -1;
		disk = disk * 26 + (*p - 'a' + 1);
	}
	disk--;
	/* xvd majors: 202 for the first 16 disks, then the extended scheme */
	return disk < 16 ? (202 << 8) | (disk << 4) : (1 << 28) | (disk << 8);
}

/* A batch of node writes as one domain, under the lock: all or nothing seen. */
struct nodes {
	struct xsim *sim;
	char base[256];
	int rc;
};

static void put(struct nodes *n, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void put(struct nodes *n, const char *name, const char *fmt, ...)
{
	char path[512], val[512];
	va_list ap;
	int rc;

	if (n->rc)
		return;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", n->base, name);
	rc = xst_write(n->sim, NULL, 0, 0, path, val, strlen(val));
	if (rc)
		n->rc = rc;
}

/* libxl__device_generic_add: rm, mkdir, set perms on the device dir. */
static void dir(struct nodes *n, const char *path, uint32_t owner,
		uint32_t reader)
{
	const struct xsim_perm perms[2] = {
		{ owner, XS_PERM_NONE },
		{ reader, XS_PERM_READ },
	};

	snprintf(n->base, sizeof(n->base), "%s", path);
	if (n->rc)
		return;
	xst_rm(n->sim, NULL, 0, 0, path);
	n->rc = xst_mkdir(n->sim, NULL, 0, 0, path);
	if (!n->rc)
		n->rc = xst_set_perms(n->sim, NULL, 0, 0, path, perms, 2);
}

/* libxl_disk.c device_disk_add() for specification=virtio (Xen 4.17..4.19). */
int xsim_libxl_write_disk(struct xsim *sim, uint32_t domid,
			  const struct xsim_libxl_disk *disk)
{
	struct nodes n = { .sim = sim };
	char be[256], fe[256];
	int devid = disk->devid ? (int)disk->devid :
				  xsim_libxl_vdev_to_devid(disk->vdev);

	if (devid < 0 || !disk->target)
		return -EINVAL;
	xsim_libxl_be_path(be, sizeof(be), "virtio_disk", disk->be_domid, domid,
			   devid);
	fe_path(fe, sizeof(fe), "virtio_disk", domid, devid);
	pthread_mutex_lock(&sim->lock);
	dir(&n, be, disk->be_domid, domid);
	put(&n, "frontend", "%s", fe);
	put(&n, "frontend-id", "%u", domid);
	put(&n, "online", "1");
	put(&n, "removable", "0");
	put(&n, "bootable", "1");
	put(&n, "state", "1");
	put(&n, "dev", "%s", disk->vdev);
	put(&n, "type", "standalone");
	put(&n, "mode", "%s", disk->readonly ? "r" : "w");
	put(&n, "device-type", "%s", disk->cdrom ? "cdrom" : "disk");
	put(&n, "discard-enable", "%d", !disk->readonly);
	put(&n, "specification", "virtio");
	put(&n, "transport", "mmio");
	put(&n, "base", "%llu", (unsigned long long)disk->base); /* DECIMAL */
	put(&n, "irq", "%u", disk->irq);
	put(&n, "params", "%s", disk->target);
	if (disk->grant_usage >= 0)
		put(&n, "grant_usage", "%d", disk->grant_usage);
	dir(&n, fe, domid, disk->be_domid);
	put(&n, "backend", "%s", be);
	put(&n, "backend-id", "%u", disk->be_domid);
	put(&n, "state", "1");
	put(&n, "virtual-device", "%d", devid);
	put(&n, "device-type", "%s", disk->cdrom ? "cdrom" : "disk");
	put(&n, "trusted", "1");
	pthread_mutex_unlock(&sim->lock);
	return n.rc;
}

/* libxl_virtio.c (4.18+): fewer nodes, base in hex, no wait. */
int xsim_libxl_write_virtio(struct xsim *sim, uint32_t domid,
			    const struct xsim_libxl_virtio *dev)
{
	struct nodes n = { .sim = sim };
	char be[256], fe[256];

	if (!dev->type)
		return -EINVAL;
	xsim_libxl_be_path(be, sizeof(be), "virtio", dev->be_domid, domid,
			   dev->devid);
	fe_path(fe, sizeof(fe), "virtio", domid, dev->devid);
	pthread_mutex_lock(&sim->lock);
	dir(&n, be, dev->be_domid, domid);
	put(&n, "frontend", "%s", fe);
	put(&n, "frontend-id", "%u", domid);
	put(&n, "online", "1");
	put(&n, "state", "1");
	put(&n, "irq", "%u", dev->irq);
	put(&n, "base", "%#llx", (unsigned long long)dev->base); /* HEX */
	put(&n, "type", "%s", dev->type);
	put(&n, "transport", "mmio");
	if (dev->grant_usage >= 0)
		put(&n, "grant_usage", "%d", dev->grant_usage);
	dir(&n, fe, domid, dev->be_domid);
	put(&n, "backend", "%s", be);
	put(&n, "backend-id", "%u", dev->be_domid);
	put(&n, "state", "1");
	pthread_mutex_unlock(&sim->lock);
	return n.rc;
}

/* libxl__domain_make + xs_introduce_domain: the guest's home in xenstore. */
static int introduce(struct xsim *sim, uint32_t domid)
{
	static const char *const rw[] = { "device",  "data", "drivers",
					  "feature", "attr", "error" };
	struct nodes n = { .sim = sim };
	char home[64], sub[96];
	struct xsim_dom *d;

	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	pthread_mutex_lock(&sim->lock);
	dir(&n, home, 0, domid);
	put(&n, "name", "guest%u", domid);
	put(&n, "domid", "%u", domid);
	for (unsigned int i = 0; i < sizeof(rw) / sizeof(rw[0]) && !n.rc; i++) {
		const struct xsim_perm perms[1] = { { domid, XS_PERM_NONE } };

		snprintf(sub, sizeof(sub), "%s/%s", home, rw[i]);
		n.rc = xst_mkdir(sim, NULL, 0, 0, sub);
		if (!n.rc)
			n.rc = xst_set_perms(sim, NULL, 0, 0, sub, perms, 1);
	}
	snprintf(sub, sizeof(sub), "%s/control", home);
	if (!n.rc)
		n.rc = xst_mkdir(sim, NULL, 0, 0, sub);
	d = dom_find(sim, domid);
	if (d && !n.rc) {
		d->introduced = true;
		xst_fire_special(sim, "@introduceDomain");
	}
	pthread_mutex_unlock(&sim->lock);
	return d ? n.rc : -ESRCH;
}

/* xl create -> libxl: paused domain, nodes, wait for InitWait, unpause. */
int xsim_libxl_create(struct xsim *sim, const struct xsim_domain_config *cfg,
		      struct xsim_libxl_disk *disks, unsigned int nr_disks,
		      struct xsim_libxl_virtio *devs, unsigned int nr_devs)
{
	struct xsim_domain_config c = *cfg;
	unsigned int slot = 0;
	char path[256];
	int rc;

	if (nr_disks + nr_devs >
	    XSIM_VIRTIO_SPI_LAST - XSIM_VIRTIO_SPI_FIRST + 1)
		return -ENOSPC;
	c.paused = true;
	rc = xsim_domain_create(sim, &c);
	if (rc)
		return rc;
	rc = introduce(sim, cfg->domid);
	/* disks first, then generic devices, in config order */
	for (unsigned int i = 0; i < nr_disks && !rc; i++, slot++) {
		if (!disks[i].base)
			disks[i].base = XSIM_VIRTIO_MMIO_BASE +
					slot * XSIM_VIRTIO_MMIO_SIZE;
		if (!disks[i].irq)
			disks[i].irq = XSIM_VIRTIO_SPI_FIRST + slot;
		rc = xsim_libxl_write_disk(sim, cfg->domid, &disks[i]);
	}
	for (unsigned int i = 0; i < nr_devs && !rc; i++, slot++) {
		if (!devs[i].base)
			devs[i].base = XSIM_VIRTIO_MMIO_BASE +
				       slot * XSIM_VIRTIO_MMIO_SIZE;
		if (!devs[i].irq)
			devs[i].irq = XSIM_VIRTIO_SPI_FIRST + slot;
		rc = xsim_libxl_write_virtio(sim, cfg->domid, &devs[i]);
	}
	/* libxl waits for every disk's backend to reach InitWait; a backend
	 * that removes the state node fails the wait at once (-EINVAL, as
	 * libxl's ERROR_INVAL: "but it was removed"). */
	for (unsigned int i = 0; i < nr_disks && !rc; i++) {
		int devid = disks[i].devid ?
				    (int)disks[i].devid :
				    xsim_libxl_vdev_to_devid(disks[i].vdev);

		xsim_libxl_be_path(path, sizeof(path) - 8, "virtio_disk",
				   disks[i].be_domid, cfg->domid, devid);
		strcat(path, "/state");
		rc = xsim_xs_wait_state(sim, path, STATE_INITWAIT,
					sim->libxl_timeout_ms);
	}
	if (rc) {
		xsim_libxl_destroy(sim, cfg->domid);
		return rc;
	}
	if (!cfg->paused)
		rc = xsim_domain_unpause(sim, cfg->domid);
	return rc;
}

/* libxl__initiate_device_generic_remove(), then the forced removal. */
int xsim_libxl_remove(struct xsim *sim, const char *kind, uint32_t be_domid,
		      uint32_t domid, uint32_t devid)
{
	char be[256], fe[256], path[300], online[300], *state;
	const char *const paths[] = { online, path }, *const vals[] = { "0",
									"5" };
	int rc;

	xsim_libxl_be_path(be, sizeof(be), kind, be_domid, domid, devid);
	fe_path(fe, sizeof(fe), kind, domid, devid);

	/* libxl writes both in one transaction; with no state node it takes
	 * the backend as gone and cleans up at once. */
	snprintf(online, sizeof(online), "%s/online", be);
	snprintf(path, sizeof(path), "%s/state", be);
	state = xsim_xs_read(sim, 0, path, NULL);
	if (!state) {
		rc = 0;
	} else {
		free(state);
		xsim_xs_write_atomic(sim, 0, paths, vals, 2);
		rc = xsim_xs_wait(sim, path, STATE_CLOSED,
				  sim->libxl_timeout_ms);
	}
	/* removed whether or not the backend answered */
	xsim_xs_rm(sim, 0, be);
	xsim_xs_rm(sim, 0, fe);
	return rc;
}

/* Devices of domid below /local/domain/<be>/backend/<kind>/<domid>, every be. */
static int remove_kind(struct xsim *sim, uint32_t domid, const char *kind)
{
	char *doms = NULL, *devs = NULL, *p, *q, path[256];
	unsigned int dlen, dn, vlen, vn;
	int rc = 0, r;

	pthread_mutex_lock(&sim->lock);
	r = xst_directory(sim, NULL, 0, 0, "/local/domain", &doms, &dlen, &dn);
	pthread_mutex_unlock(&sim->lock);
	if (r)
		return 0;
	for (p = doms; p < doms + dlen; p += strlen(p) + 1) {
		snprintf(path, sizeof(path), "/local/domain/%s/backend/%s/%u",
			 p, kind, domid);
		pthread_mutex_lock(&sim->lock);
		r = xst_directory(sim, NULL, 0, 0, path, &devs, &vlen, &vn);
		pthread_mutex_unlock(&sim->lock);
		if (r)
			continue;
		for (q = devs; q < devs + vlen; q += strlen(q) + 1) {
			r = xsim_libxl_remove(sim, kind, strtoul(p, NULL, 10),
					      domid, strtoul(q, NULL, 10));
			if (r && !rc)
				rc = r;
		}
		free(devs);
		xsim_xs_rm(sim, 0, path);
	}
	free(doms);
	return rc;
}

/* xl destroy: devices, then the domain, then its xenstore home. */
int xsim_libxl_destroy(struct xsim *sim, uint32_t domid)
{
	char home[64];
	int rc, r;

	rc = remove_kind(sim, domid, "virtio_disk");
	r = remove_kind(sim, domid, "virtio");
	if (!rc)
		rc = r;
	r = xsim_domain_destroy(sim, domid);
	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	xsim_xs_rm(sim, 0, home);
	return r ? r : rc;
}
