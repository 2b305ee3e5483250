/* SPDX-License-Identifier: MIT */
/*
 * xvbd's configuration file (default /etc/xen/xvbd.conf): what xl has no
 * syntax for, per device type and per guest. INI-style:
 *
 *   [NAME]                defaults for every device of type NAME (a name
 *   queues = auto         of the registry: blk, net, ...): its own keys
 *   bridge = xenbr0       and queues, poll_us, coalesce_us
 *   [guest GUEST]         one guest, by its xl name
 *   net0.mac = 00:16:3e:12:34:56   NAME<devid>.KEY: one device of it
 *   nic1.bridge = br2     a type's alias (nic for net) does as its name
 *   bridge = br1          a type's guest keys, plain: all its devices of
 *   queues = 2            that type (bridge: NICs; queues, poll_us,
 *                         coalesce_us: disks)
 *
 * "auto" leaves a number to the device. A device's key is looked up as
 * NAME<devid>.KEY (or ALIAS<devid>.KEY) in [guest GUEST], then as a plain
 * guest key there, then in [NAME]. The loader checks everything it can
 * without a guest: sections, keys, values (with the type's own parser), a
 * key set twice in a section, a type's unique key (a MAC) given twice.
 */
#ifndef XVB_BACKEND_CONFFILE_H
#define XVB_BACKEND_CONFFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/devtype.h"

struct xb_cfg_entry {
	char section[72]; /* "NAME" or "guest GUEST" */
	char key[32];
	char value[64];
	unsigned int line; /* where the file sets it */
};

struct xb_config {
	unsigned int n;
	struct xb_cfg_entry *e;
};

/*
 * Loads @path. A missing file is an empty configuration (returns 0) unless
 * @must_exist (a file the user named). Returns -EINVAL for a bad line
 * (@err: "PATH:LINE: why"), or another -errno for a file that cannot be
 * read (missing, a directory, no permission; @err says which).
 */
int xb_config_load(struct xb_config *cfg, const char *path, bool must_exist,
		   char *err, size_t errlen);
void xb_config_free(struct xb_config *cfg);

/* The value of @key in @section, or NULL. */
const char *xb_config_get(const struct xb_config *cfg, const char *section,
			  const char *key);

/*
 * The value of @key for device @devid of type @t of guest @guest (NULL:
 * none): NAME<devid>.KEY or ALIAS<devid>.KEY in [guest GUEST], then KEY
 * there if it is one of @t's guest keys, then KEY in [NAME]. NULL if none
 * sets it; "auto" is returned as such.
 */
const char *xb_config_dev(const struct xb_config *cfg,
			  const struct xvb_devtype *t, const char *guest,
			  unsigned int devid, const char *key);

#endif
