/* SPDX-License-Identifier: MIT */
/*
 * Device configuration as xvbd takes it, from the command line (static mode)
 * or from xenstore: strict parsing, range and alignment checks.
 */
#ifndef XVB_BACKEND_CONF_H
#define XVB_BACKEND_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

enum xb_devtype {
	XB_DEV_BLK,
	XB_DEV_NET,
};

/* Most request queues a virtio-blk device takes (VBLK_MAX_QUEUES). */
#define XB_MAX_QUEUES 16u
/* Most queue pairs a virtio-net device takes (VNET_MAX_PAIRS). */
#define XB_MAX_PAIRS 8u
/* A busy disk's queues look at the ring without kicks this often (us). */
#define XB_DEFAULT_POLL_US 50
/* Interrupt moderation while requests are in flight (us): disks, NICs. */
#define XB_MAX_COALESCE_US 1000u
#define XB_DEFAULT_COALESCE_US 50
#define XB_DEFAULT_NIC_COALESCE_US 200
#define XB_MAX_POLL_US 1000u

struct xb_devconf {
	enum xb_devtype type;
	uint64_t base;	       /* guest-physical base of the 0x200 window */
	unsigned int irq;      /* SPI, 33..43 */
	unsigned int devid;    /* xenstore device id (vdev number), or index */
	bool readonly;	       /* blk: mode=r */
	bool grants;	       /* grant_usage=1: addresses are grants */
	char path[PATH_MAX];   /* blk: backing file or block device */
	char serial[21];       /* blk: GET_ID, at most 20 bytes */
	unsigned int queues;   /* blk: queues, net: queue pairs; 0: auto */
	int poll_us;	       /* kick-free polling (us); -1: the default */
	int coalesce_us;       /* interrupt moderation (us); -1: the default */
	char bridge[IFNAMSIZ]; /* net */
	char ifname[IFNAMSIZ]; /* net: the TAP's name */
	uint8_t mac[6];	       /* net */
	bool has_mac;
};

/*
 * Parses an unsigned integer in decimal or 0x-hex, the whole string, no
 * sign, no spaces, within [min, max]. Returns 0 or -EINVAL / -ERANGE.
 */
int xb_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * Parses "key=value,key=value" for a device of @type into @c (keys: base,
 * irq, grants=0|1, devid, queues (blk: 1..16 request queues, net: 1..8
 * queue pairs), poll_us=0..1000, coalesce_us=0..1000; blk: mode=r|w, serial,
 * path (last: it takes the rest); net: bridge, mac). Checks ranges and
 * alignment and, for blk, that path names a regular file or block device.
 * On error writes a message for the user into @err and returns -EINVAL.
 */
int xb_parse_devspec(const char *spec, enum xb_devtype type,
		     struct xb_devconf *c, char *err, size_t errlen);

/*
 * Checks a device's values (also those from xenstore): window inside the
 * virtio-mmio area and 0x200-aligned, SPI in range, backing path usable.
 * Returns 0 or -EINVAL with a message in @err.
 */
int xb_check_devconf(const struct xb_devconf *c, char *err, size_t errlen);

/* Parses "aa:bb:cc:dd:ee:ff". Returns 0 or -EINVAL. */
int xb_parse_mac(const char *s, uint8_t mac[6]);

#endif
