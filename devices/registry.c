// SPDX-License-Identifier: MIT
/*
 * The device registry: every device type xvbd serves. A new device is its
 * folder under devices/ (with its module.mk) and one line here.
 */
#include <string.h>

#include "devices/devtype.h"

extern const struct xvb_devtype xvb_devtype_blk;
extern const struct xvb_devtype xvb_devtype_net;
extern const struct xvb_devtype xvb_devtype_rng;
extern const struct xvb_devtype xvb_devtype_console;

const struct xvb_devtype *const xvb_devtypes[] = {
	&xvb_devtype_blk,
	&xvb_devtype_net,
	&xvb_devtype_rng,
	&xvb_devtype_console,
	NULL,
};

const struct xvb_devtype *xvb_devtype_by_name(const char *name)
{
	for (unsigned int i = 0; name && xvb_devtypes[i]; i++)
		if (!strcmp(xvb_devtypes[i]->name, name))
			return xvb_devtypes[i];
	return NULL;
}

const struct xvb_devtype *xvb_devtype_by_id(uint32_t id)
{
	for (unsigned int i = 0; xvb_devtypes[i]; i++)
		if (xvb_devtypes[i]->virtio_id == id)
			return xvb_devtypes[i];
	return NULL;
}
