// SPDX-License-Identifier: MIT
/*
 * The device registry: every device type xvbd serves. A new device is its
 * folder under devices/ (with its module.mk) and one line here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

/* One "key=value" of @t into @conf. */
static int xvb_devconf_key(const struct xvb_devtype *t, void *conf, char *kv,
			   char *err, size_t errlen)
{
	char *val = strchr(kv, '=');
	char why[256] = "";
	unsigned int k;

	if (!val) {
		snprintf(err, errlen, "'%s' is not key=value", kv);
		return -EINVAL;
	}
	*val++ = '\0';
	for (k = 0; t->keys && t->keys[k]; k++)
		if (!strcmp(t->keys[k], kv))
			break;
	if (!t->keys || !t->keys[k]) {
		snprintf(err, errlen, "%s has no key '%s'", t->name, kv);
		return -EINVAL;
	}
	if (t->parse_key(conf, kv, val, why, sizeof(why))) {
		snprintf(err, errlen, "%s=%s: %s", kv, val, why);
		return -EINVAL;
	}
	return 0;
}

void *xvb_devconf_parse(const struct xvb_devtype *t, const char *spec,
			char *err, size_t errlen)
{
	char *buf = strdup(spec), *p = buf;
	void *conf = calloc(1, t->conf_size ? t->conf_size : 1);

	if (!buf || !conf) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (t->conf_init)
		t->conf_init(conf);
	while (p && *p) {
		char *kv = p, *end = NULL;

		/* A path may hold commas: it comes last and takes the rest. */
		if (strncmp(kv, "path=", 5))
			end = strchr(kv, ',');
		if (end)
			*end++ = '\0';
		p = end;
		if (xvb_devconf_key(t, conf, kv, err, errlen))
			goto fail;
	}
	if (t->check && t->check(conf, err, errlen))
		goto fail;
	free(buf);
	return conf;
fail:
	free(buf);
	free(conf);
	return NULL;
}
