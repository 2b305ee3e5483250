// SPDX-License-Identifier: MIT
/*
 * A device's xenstore nodes, xvbd.conf and the type's defaults, into the
 * spec a worker parses (see xsdev.h). Nothing here names a device type:
 * the routes find it in the registry.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devspec.h"
#include "lib/compiler.h"
#include "xsdev.h"

int xb_xs_get(struct xs_handle *xs, const char *dir, const char *node,
	      char *buf, size_t size)
{
	char path[256];
	unsigned int len;
	char *v;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	v = xs_read(xs, XBT_NULL, path, &len);
	if (!v)
		return -ENOENT;
	if (len >= size || strlen(v) != len) { /* too long, or embedded NUL */
		free(v);
		return -ERANGE;
	}
	memcpy(buf, v, len + 1);
	free(v);
	return 0;
}

int xb_xs_get_u64(struct xs_handle *xs, const char *dir, const char *node,
		  uint64_t max, uint64_t *out)
{
	char buf[32];
	int rc = xb_xs_get(xs, dir, node, buf, sizeof(buf));

	return rc ? rc : xb_parse_u64(buf, 0, max, out);
}

/* Only plain names reach a spec, a serial and the control line. */
static bool xb_xsdev_plain(const char *v)
{
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && *v != '-' && *v != '_')
			return false;
	return true;
}

void xb_xs_guest_name(struct xs_handle *xs, uint32_t domid, char *buf,
		      size_t len)
{
	char home[64];

	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	if (xb_xs_get(xs, home, "name", buf, len) || !xb_xsdev_plain(buf))
		buf[0] = '\0';
}

static int xb_xsdev_fail(struct xb_xsdev *x, const char *fmt, ...)
	__printf(2, 3);
static int xb_xsdev_fail(struct xb_xsdev *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->why, sizeof(x->why), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * The value of @key among the "k=v,k=v" @items, into @buf (up to the next
 * comma); false if no item has it.
 */
static bool xb_items_get(const char *items, const char *key, char *buf,
			 size_t len)
{
	size_t n = strlen(key);

	for (const char *p = items; p && *p;) {
		size_t vlen;

		if (!strncmp(p, key, n) && p[n] == '=') {
			vlen = strcspn(p + n + 1, ",\n");
			snprintf(buf, len, "%.*s", (int)vlen, p + n + 1);
			return true;
		}
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return false;
}

static bool xb_items_have(const char *items, const char *key)
{
	char v[2];

	return xb_items_get(items, key, v, sizeof(v));
}

/* Appends ",@key=@val" to @spec (of @size bytes). */
static void xb_spec_add(char *spec, size_t size, const char *key,
			const char *val)
{
	size_t n = strlen(spec);

	snprintf(spec + n, size - n, "%s%s=%s", n ? "," : "", key, val);
}

/*
 * The value a key neither route gives takes: xvbd.conf's ("auto" for a
 * tunable: the device's choice), else the type's default. NULL if none.
 */
static const char *xb_xsdev_conf_value(const struct xb_xsdev *x,
				       const char *key, char *buf, size_t len)
{
	const struct xvb_devtype *t = x->type;
	char name[72];
	struct xvb_devenv env = { .domid = (int)x->domid,
				  .devid = x->devid,
				  .guest = name };
	const char *v;

	/*
	 * A guest without a plain name is "domainN": [guest domainN] serves
	 * it, and its NICs' MACs derive from that (a guest xl made has a
	 * guest's defaults either way).
	 */
	if (x->guest[0])
		snprintf(name, sizeof(name), "%s", x->guest);
	else
		snprintf(name, sizeof(name), "domain%u", x->domid);
	v = xb_config_dev(x->cfg, t, name, x->devid, key);
	if (v && !strcmp(v, "auto") && xb_key_in(xb_tunable_keys, key))
		return NULL;
	if (v)
		return v;
	if (t->default_key && !t->default_key(key, &env, buf, len))
		return buf;
	return NULL;
}

/*
 * Adds to @spec the tunables and the type's keys that neither @spec, the
 * slot's @opts nor @skip (keys the route owns) set.
 */
static void xb_xsdev_fill(const struct xb_xsdev *x, char *spec, size_t size,
			  const char *opts, const char *const *skip)
{
	const char *const *lists[] = { xb_tunable_keys, x->type->keys };
	char buf[64];

	for (unsigned int l = 0; l < ARRAY_SIZE(lists); l++) {
		for (const char *const *k = lists[l]; k && *k; k++) {
			const char *v;

			if (xb_items_have(spec, *k) ||
			    xb_items_have(opts, *k) || xb_key_in(skip, *k) ||
			    (!strcmp(*k, "queues") && !x->type->max_queues))
				continue;
			v = xb_xsdev_conf_value(x, *k, buf, sizeof(buf));
			if (v)
				xb_spec_add(spec, size, *k, v);
		}
	}
}

/* A key of a slot's options that libxl owns (window, interrupt, ...). */
static const char *xb_xsdev_owned(const char *opts)
{
	static const char *const owned[] = { "base", "irq", "grants", "devid",
					     NULL };

	for (const char *const *k = owned; *k; k++)
		if (xb_items_have(opts, *k))
			return *k;
	return NULL;
}

/* The spec parses, the type's check passes, the unique value is free. */
static int xb_xsdev_check(struct xb_xsdev *x, const char *spec)
{
	const struct xvb_devtype *t = x->type;
	struct xb_devconf *c = malloc(sizeof(*c));
	char err[200], val[64], user[256];
	int rc;

	if (!c)
		return xb_xsdev_fail(x, "out of memory");
	rc = xb_parse_devspec(spec, t, c, err, sizeof(err));
	free(c);
	if (rc)
		return xb_xsdev_fail(x, "%s", err);
	if (!t->unique_key ||
	    !xb_items_get(spec, t->unique_key, val, sizeof(val)) ||
	    !x->unique_user ||
	    !x->unique_user(x->opaque, t, val, user, sizeof(user)))
		return 0;
	/* Two NICs with one MAC break both (bridges and ARP lose one). */
	for (size_t i = 0; t->unique_key[i] && i < 16; i++)
		err[i] = toupper((unsigned char)t->unique_key[i]),
		err[i + 1] = '\0';
	return xb_xsdev_fail(x, "%s %s is already %s", err, val, user);
}

/*
 * The spec of a device of x->type at @base/@irq: @route's keys (mode,
 * serial), xvbd.conf's and the defaults, a slot's @opts, then @path
 * ("path=...", or ""), which takes the rest. Into x->msg, checked.
 */
static int xb_xsdev_build(struct xb_xsdev *x, const uint64_t win[3],
			  const char *route, const char *opts, const char *path,
			  const char *const *skip)
{
	char *spec = malloc(sizeof(x->msg));
	int rc;

	if (!spec)
		return xb_xsdev_fail(x, "out of memory");
	snprintf(spec, sizeof(x->msg), "base=0x%llx,irq=%llu,grants=%d%s%s",
		 (unsigned long long)win[0], (unsigned long long)win[1],
		 (int)win[2], route[0] ? "," : "", route);
	xb_xsdev_fill(x, spec, sizeof(x->msg), opts, skip);
	snprintf(spec + strlen(spec), sizeof(x->msg) - strlen(spec), "%s%s%s%s",
		 opts[0] ? "," : "", opts, path[0] ? "," : "", path);
	rc = xb_xsdev_check(x, spec);
	if (!rc &&
	    snprintf(x->msg, sizeof(x->msg), "add %s %u %s\n", x->type->name,
		     x->devid, spec) >= (int)sizeof(x->msg))
		rc = xb_xsdev_fail(x, "the device's spec is too long");
	free(spec);
	return rc;
}

/* The nodes every device has: base, irq, grant_usage (in that order). */
static int xb_xsdev_window(struct xb_xsdev *x, uint64_t win[3])
{
	int rc;

	win[2] = 0;
	if (xb_xs_get_u64(x->xs, x->be, "base", UINT64_MAX, &win[0]))
		return xb_xsdev_fail(x, "bad or missing base");
	if (xb_xs_get_u64(x->xs, x->be, "irq", 1023, &win[1]))
		return xb_xsdev_fail(x, "bad or missing irq");
	rc = xb_xs_get_u64(x->xs, x->be, "grant_usage", 1, &win[2]);
	if (rc && rc != -ENOENT)
		return xb_xsdev_fail(x, "grant_usage is neither 0 nor 1");
	return 0;
}

/*
 * Xen 4.17 has no xl syntax for devices other than disks: a disk slot
 * whose target's file name is "xvb-NAME:OPTS" is a device of type NAME.
 * libxl stat()s every standalone target, so the (empty) file must exist;
 * its name, chosen by the administrator, carries the options. Returns the
 * options (and x->type), or NULL for a plain disk.
 */
static const char *xb_xsdev_slot_type(struct xb_xsdev *x, const char *params)
{
	const char *file = strrchr(params, '/'), *colon;
	char name[32];

	file = file ? file + 1 : params;
	if (strncmp(file, XB_SLOT_PREFIX, strlen(XB_SLOT_PREFIX)))
		return NULL;
	file += strlen(XB_SLOT_PREFIX);
	colon = strchr(file, ':');
	if (!colon || (size_t)(colon - file) >= sizeof(name))
		return NULL;
	snprintf(name, sizeof(name), "%.*s", (int)(colon - file), file);
	x->type = xvb_devtype_by_name(name);
	return x->type ? colon + 1 : NULL;
}

/* A disk slot (backend/virtio_disk). */
static int xb_xsdev_disk(struct xb_xsdev *x)
{
	static const char *const route_keys[] = { "mode", "serial", "path",
						  NULL };
	char params[PATH_MAX], mode[4], dev[32] = "", dtype[16] = "disk";
	char route[64], path[PATH_MAX + 8];
	uint64_t win[3];
	const char *opts;

	if (xb_xsdev_window(x, win))
		return -EINVAL;
	if (xb_xs_get(x->xs, x->be, "params", params, sizeof(params)) ||
	    !params[0])
		return xb_xsdev_fail(x, "bad or missing params");
	if (strpbrk(params, "\n\r"))
		return xb_xsdev_fail(x, "params holds a line break");
	opts = xb_xsdev_slot_type(x, params);
	if (opts) {
		const char *owned = xb_xsdev_owned(opts);

		if (owned)
			return xb_xsdev_fail(
				x, "'%s' in the target: libxl sets it", owned);
		return xb_xsdev_build(x, win, "", opts, "", NULL);
	}
	if (xb_xs_get(x->xs, x->be, "mode", mode, sizeof(mode)) ||
	    (strcmp(mode, "r") && strcmp(mode, "w")))
		return xb_xsdev_fail(x, "mode is neither r nor w");
	/* A plain disk slot is a virtio block device. */
	x->type = xvb_devtype_by_id(2); /* VIRTIO_ID_BLOCK */
	if (!x->type)
		return xb_xsdev_fail(x, "no device type serves disks");
	xb_xs_get(x->xs, x->be, "dev", dev, sizeof(dev));
	xb_xs_get(x->xs, x->be, "device-type", dtype, sizeof(dtype));
	if (!strcmp(dtype, "cdrom"))
		strcpy(mode, "r");
	snprintf(route, sizeof(route), "mode=%s%s%s", mode,
		 dev[0] && xb_xsdev_plain(dev) ? ",serial=" : "",
		 dev[0] && xb_xsdev_plain(dev) ? dev : "");
	snprintf(path, sizeof(path), "path=%s", params);
	return xb_xsdev_build(x, win, route, "", path, route_keys);
}

/* "virtio,device<ID>", ID the virtio device ID in hex (Linux's binding). */
static int xb_xsdev_type_id(const char *type, uint32_t *id)
{
	static const char pfx[] = "virtio,device";
	size_t n = strlen(type + sizeof(pfx) - 1);

	if (strncmp(type, pfx, sizeof(pfx) - 1) || !n || n > 8 ||
	    strspn(type + sizeof(pfx) - 1, "0123456789abcdef") != n)
		return -EINVAL;
	*id = strtoul(type + sizeof(pfx) - 1, NULL, 16);
	return 0;
}

/* A generic virtio device (Xen 4.18+, backend/virtio). */
static int xb_xsdev_generic(struct xb_xsdev *x)
{
	uint64_t win[3];
	char type[64];
	uint32_t id;

	if (xb_xs_get(x->xs, x->be, "type", type, sizeof(type)))
		return xb_xsdev_fail(x, "no type");
	if (xb_xsdev_type_id(type, &id))
		return xb_xsdev_fail(x, "type '%s' is not virtio,device<ID>",
				     type);
	x->type = xvb_devtype_by_id(id);
	if (!x->type)
		return xb_xsdev_fail(x, "xvbd serves no virtio device %u (%s)",
				     id, type);
	if (xb_xsdev_window(x, win))
		return -EINVAL;
	return xb_xsdev_build(x, win, "", "", "", NULL);
}

int xb_xsdev_read(struct xb_xsdev *x)
{
	x->type = NULL;
	x->msg[0] = '\0';
	snprintf(x->why, sizeof(x->why), "refused: xvbd's log says why");
	xb_xs_guest_name(x->xs, x->domid, x->guest, sizeof(x->guest));
	return x->generic ? xb_xsdev_generic(x) : xb_xsdev_disk(x);
}
