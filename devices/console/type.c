// SPDX-License-Identifier: MIT
/*
 * virtio-console as a device type of the registry: its spec keys (ports=,
 * console=, dir=) parsed into a struct vcon_conf, and the device opened on
 * the worker's loop with its sockets under the backend's run directory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_ids.h>

#include "console.h"
#include "devices/devtype.h"

static const char *const vcon_keys[] = { "ports", "console", "dir", NULL };
/* In [guest NAME], a plain ports= or console= is every console's. */
static const char *const vcon_guest_keys[] = { "ports", "console", NULL };

static int vcon_parse_bool(const char *val, bool *out)
{
	if (!strcmp(val, "1") || !strcmp(val, "on") || !strcmp(val, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(val, "0") || !strcmp(val, "off") || !strcmp(val, "no")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

static int vcon_type_parse_key(void *conf, const char *key, const char *val,
			       char *err, size_t errlen)
{
	struct vcon_conf *c = conf;

	if (!strcmp(key, "ports"))
		return vcon_parse_ports(c, val, err, errlen);
	if (!strcmp(key, "console")) {
		if (vcon_parse_bool(val, &c->console)) {
			snprintf(err, errlen, "console=%s is not on or off",
				 val);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "dir")) {
		snprintf(err, errlen, "%s= is not a console key", key);
		return -EINVAL;
	}
	/* dir=: absolute, and room left in sun_path for '/' and a name. */
	if (val[0] != '/' || strlen(val) + 2 > VCON_PATH_MAX) {
		snprintf(err, errlen,
			 "dir= must be an absolute path of at most %u bytes",
			 VCON_PATH_MAX - 2);
		return -EINVAL;
	}
	snprintf(c->dir, sizeof(c->dir), "%s", val);
	return 0;
}

static int vcon_type_check(const void *conf, char *err, size_t errlen)
{
	const struct vcon_conf *c = conf;

	if (!c->nr_ports) {
		snprintf(err, errlen, "ports=NAME[:NAME...] is required");
		return -EINVAL;
	}
	/* With dir= the socket paths are known now: each must fit. */
	for (unsigned int i = 0; c->dir[0] && i < c->nr_ports; i++)
		if (strlen(c->dir) + 1 + strlen(c->names[i]) >= VCON_PATH_MAX) {
			snprintf(err, errlen,
				 "%s/%s: longer than a socket path may be",
				 c->dir, c->names[i]);
			return -EINVAL;
		}
	return 0;
}

static int vcon_type_open(void **dev, struct vdev **vdev, const void *conf,
			  const struct xvb_devenv *env)
{
	const struct vcon_env venv = {
		.run_dir = env->run_dir,
		.guest = env->guest,
		.domid = env->domid,
		.name = env->name,
	};
	struct vcon *con;
	int rc;

	rc = vcon_create(&con, conf, &venv, env->gm, env->loop);
	if (rc)
		return rc;
	*dev = con;
	*vdev = vcon_vdev(con);
	return 0;
}

static void vcon_type_close(void *dev)
{
	vcon_destroy(dev);
}

static void vcon_type_log_state(void *dev)
{
	vcon_log_state(dev);
}

const struct xvb_devtype xvb_devtype_console = {
	.name = "console",
	.virtio_id = VIRTIO_ID_CONSOLE,
	.summary = "named ports, each a UNIX socket in dom0",
	.keys = vcon_keys,
	.max_queues = 0,
	.guest_keys = vcon_guest_keys,
	.conf_size = sizeof(struct vcon_conf),
	.parse_key = vcon_type_parse_key,
	.check = vcon_type_check,
	.open = vcon_type_open,
	.close = vcon_type_close,
	.log_state = vcon_type_log_state,
};
