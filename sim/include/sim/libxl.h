/* SPDX-License-Identifier: MIT */
/*
 * What libxl does in xenstore for virtio devices on Arm, so a backend under
 * test meets the same nodes, permissions and waits as under xl create.
 */
#ifndef XVB_SIM_LIBXL_H
#define XVB_SIM_LIBXL_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/sim.h"

/* xl: disk = [ 'backendtype=standalone, specification=virtio, ...' ] */
struct xsim_libxl_disk {
	uint32_t be_domid;
	uint32_t devid;	    /* 0: from vdev (xvda = 51712) */
	const char *vdev;   /* "xvda" */
	const char *target; /* params: the image path */
	bool readonly;	    /* mode r */
	bool cdrom;	    /* device-type cdrom */
	uint64_t base;	    /* 0: allocated like libxl */
	unsigned int irq;   /* 0: allocated like libxl */
	int grant_usage;    /* -1: node absent (Xen 4.17) */
};

/* xl (4.18+): virtio = [ 'type=virtio,device1,transport=mmio' ] */
struct xsim_libxl_virtio {
	uint32_t be_domid;
	uint32_t devid;	  /* index among generic devices */
	const char *type; /* "virtio,device1" */
	uint64_t base;	  /* 0: allocated like libxl */
	unsigned int irq;
	int grant_usage;
};

/*
 * xl create: the domain is created paused and introduced (@introduceDomain),
 * the device nodes are written (disks first, then generic devices, MMIO
 * windows of 0x200 from 0x2000000 and SPIs from 33 in that order), then
 * every disk's backend must reach state 2 within the libxl timeout, and only
 * then is the guest unpaused. On timeout the domain is destroyed again and
 * -ETIMEDOUT returned ("unable to add device"). Generic devices are not
 * waited for. base/irq left 0 in the arrays are filled in.
 */
int xsim_libxl_create(struct xsim *sim, const struct xsim_domain_config *cfg,
		      struct xsim_libxl_disk *disks, unsigned int nr_disks,
		      struct xsim_libxl_virtio *devs, unsigned int nr_devs);

/* The node writers alone (no wait): 0 or -errno. */
int xsim_libxl_write_disk(struct xsim *sim, uint32_t domid,
			  const struct xsim_libxl_disk *disk);
int xsim_libxl_write_virtio(struct xsim *sim, uint32_t domid,
			    const struct xsim_libxl_virtio *dev);

/*
 * Device removal like libxl: online=0, state=5, wait for state 6 up to the
 * libxl timeout, then remove backend and frontend nodes anyway. kind is
 * "virtio_disk" or "virtio". Returns 0 or -ETIMEDOUT (nodes still removed).
 */
int xsim_libxl_remove(struct xsim *sim, const char *kind, uint32_t be_domid,
		      uint32_t domid, uint32_t devid);

/*
 * xl destroy: removes every virtio device of the guest as above, destroys
 * the domain (@releaseDomain) and its /local/domain/<domid>. Returns 0, or
 * -ETIMEDOUT if some backend did not reach 6, or -ESRCH.
 */
int xsim_libxl_destroy(struct xsim *sim, uint32_t domid);

/* Backend path of a device, e.g. /local/domain/0/backend/virtio_disk/1/51712 */
void xsim_libxl_be_path(char *buf, unsigned int len, const char *kind,
			uint32_t be_domid, uint32_t domid, uint32_t devid);

/* xvda -> 51712, xvdb -> 51728 ... (xvd[a-z] only); -1 if not parsed. */
int xsim_libxl_vdev_to_devid(const char *vdev);

#endif
