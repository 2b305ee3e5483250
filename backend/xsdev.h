/* SPDX-License-Identifier: MIT */
/*
 * One device as libxl describes it in xenstore, turned into the line the
 * supervisor sends a worker ("add NAME DEVID SPEC"). xenstore is input:
 * every node is read from the backend's own directory, parsed strictly,
 * and a device that does not add up is refused with the reason. Two xl
 * routes reach a device type of the registry:
 *   - a generic virtio device (Xen 4.18+, backend/virtio): its "type" node,
 *     "virtio,device<ID>" (ID in hex), names the type by its virtio ID;
 *   - a disk slot (Xen 4.17, backend/virtio_disk): a disk, unless its
 *     target's file name is "xvb-NAME:OPTS", which makes it a device of
 *     type NAME with the spec keys OPTS.
 * Keys neither route sets come from xvbd.conf (xb_config_dev), then from
 * the type's default_key.
 */
#ifndef XVB_BACKEND_XSDEV_H
#define XVB_BACKEND_XSDEV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenstore.h>

#include "conffile.h"
#include "devices/devtype.h"

/* The prefix of a disk slot's target file name that names a device type. */
#define XB_SLOT_PREFIX "xvb-"

struct xb_xsdev {
	/* In. */
	struct xs_handle *xs;
	const struct xb_config *cfg;
	uint32_t domid;
	unsigned int devid;
	const char *be; /* the backend directory */
	bool generic;	/* backend/virtio, not backend/virtio_disk */
	/*
	 * Who else serves a device of type @t with unique value @val (a MAC):
	 * a description ("d61's /local/...") into @buf, or NULL for nobody.
	 */
	const char *(*unique_user)(void *opaque, const struct xvb_devtype *t,
				   const char *val, char *buf, size_t len);
	void *opaque;
	/* Out. */
	const struct xvb_devtype *type;
	char guest[64]; /* the guest's name, or "" if it has no plain one */
	char msg[PATH_MAX + 400]; /* "add NAME DEVID SPEC\n" */
	char why[256];		  /* why it was refused */
};

/*
 * Reads the device of @x->be and builds @x->msg. Returns 0, or -EINVAL
 * with the reason in @x->why.
 */
int xb_xsdev_read(struct xb_xsdev *x);

/* Reads @dir/@node into @buf (NUL-terminated). Returns 0, -ENOENT, -ERANGE. */
int xb_xs_get(struct xs_handle *xs, const char *dir, const char *node,
	      char *buf, size_t size);

/* A number node, 0..@max. Returns 0 or -errno. */
int xb_xs_get_u64(struct xs_handle *xs, const char *dir, const char *node,
		  uint64_t max, uint64_t *out);

/* The guest's name if plain (letters, digits, '-', '_'), else "". */
void xb_xs_guest_name(struct xs_handle *xs, uint32_t domid, char *buf,
		      size_t len);

#endif
