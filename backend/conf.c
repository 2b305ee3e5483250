// SPDX-License-Identifier: MIT
/*
 * Device configuration parsing. Everything here is input from a user or from
 * xenstore: every number is checked for syntax, overflow and range.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "lib/compiler.h"
#include "layout.h"

int xb_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* Rejects empty strings, signs and leading spaces strtoull would take.
	 */
	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int xb_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6 ||
	    strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = b[i];
	/* Rejects multicast addresses: a NIC needs a unicast one. */
	if (mac[0] & 1)
		return -EINVAL;
	return 0;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __printf(3, 4);
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int xb_check_devconf(const struct xb_devconf *c, char *err, size_t errlen)
{
	struct stat st;

	if (c->base < XB_MMIO_BASE ||
	    c->base + XB_MMIO_DEV_SIZE > XB_MMIO_BASE + XB_MMIO_SIZE ||
	    c->base % XB_MMIO_DEV_SIZE)
		return fail(err, errlen,
			    "base 0x%llx is not a 0x200-aligned window in "
			    "0x%llx..0x%llx",
			    (unsigned long long)c->base, XB_MMIO_BASE,
			    XB_MMIO_BASE + XB_MMIO_SIZE - 1);
	if (c->irq < XB_SPI_FIRST || c->irq > XB_SPI_LAST)
		return fail(err, errlen, "irq %u is not a virtio SPI (%d..%d)",
			    c->irq, XB_SPI_FIRST, XB_SPI_LAST);
	if (c->type == XB_DEV_NET && c->queues > XB_MAX_PAIRS)
		return fail(err, errlen, "a NIC takes 1 to %u queue pairs",
			    XB_MAX_PAIRS);
	if (c->type != XB_DEV_BLK)
		return 0;
	if (!c->path[0])
		return fail(err, errlen, "no backing path");
	if (stat(c->path, &st))
		return fail(err, errlen, "%s: %s", c->path, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return fail(err, errlen,
			    "%s is neither a regular file nor a block device",
			    c->path);
	return 0;
}

/* Copies @val into @dst of @size bytes; refuses what does not fit. */
static int copy_str(char *dst, size_t size, const char *val)
{
	size_t n = strlen(val);

	if (n >= size)
		return -ERANGE;
	memcpy(dst, val, n + 1);
	return 0;
}

static int set_key(struct xb_devconf *c, const char *key, const char *val,
		   char *err, size_t errlen)
{
	uint64_t v;

	if (!strcmp(key, "base")) {
		if (xb_parse_u64(val, 0, UINT64_MAX, &c->base))
			return fail(err, errlen, "bad base '%s'", val);
	} else if (!strcmp(key, "irq")) {
		if (xb_parse_u64(val, 0, 1023, &v))
			return fail(err, errlen, "bad irq '%s'", val);
		c->irq = v;
	} else if (!strcmp(key, "grants")) {
		if (xb_parse_u64(val, 0, 1, &v))
			return fail(err, errlen, "grants must be 0 or 1");
		c->grants = v;
	} else if (!strcmp(key, "devid")) {
		if (xb_parse_u64(val, 0, INT32_MAX, &v))
			return fail(err, errlen, "bad devid '%s'", val);
		c->devid = v;
	} else if (c->type == XB_DEV_BLK && !strcmp(key, "path")) {
		if (copy_str(c->path, sizeof(c->path), val))
			return fail(err, errlen, "path too long");
	} else if (c->type == XB_DEV_BLK && !strcmp(key, "mode")) {
		if (strcmp(val, "r") && strcmp(val, "w"))
			return fail(err, errlen, "mode must be r or w");
		c->readonly = !strcmp(val, "r");
	} else if (!strcmp(key, "queues")) {
		if (xb_parse_u64(val, 1, XB_MAX_QUEUES, &v))
			return fail(err, errlen, "queues must be 1 to %u",
				    c->type == XB_DEV_NET ? XB_MAX_PAIRS :
							    XB_MAX_QUEUES);
		c->queues = v;
	} else if (!strcmp(key, "poll_us")) {
		if (xb_parse_u64(val, 0, XB_MAX_POLL_US, &v))
			return fail(err, errlen, "poll_us must be 0 to %u",
				    XB_MAX_POLL_US);
		c->poll_us = v;
	} else if (c->type == XB_DEV_BLK && !strcmp(key, "serial")) {
		if (copy_str(c->serial, sizeof(c->serial), val))
			return fail(err, errlen, "serial longer than 20 bytes");
	} else if (c->type == XB_DEV_NET && !strcmp(key, "bridge")) {
		if (copy_str(c->bridge, sizeof(c->bridge), val))
			return fail(err, errlen, "bridge name too long");
	} else if (c->type == XB_DEV_NET && !strcmp(key, "ifname")) {
		if (copy_str(c->ifname, sizeof(c->ifname), val) || !val[0] ||
		    strchr(val, '/'))
			return fail(err, errlen, "bad interface name");
	} else if (c->type == XB_DEV_NET && !strcmp(key, "mac")) {
		if (xb_parse_mac(val, c->mac))
			return fail(err, errlen, "bad unicast mac '%s'", val);
		c->has_mac = true;
	} else {
		return fail(err, errlen, "unknown key '%s'", key);
	}
	return 0;
}

int xb_parse_devspec(const char *spec, enum xb_devtype type,
		     struct xb_devconf *c, char *err, size_t errlen)
{
	char *copy, *item, *path, *save = NULL;
	bool have_base = false, have_irq = false;
	const char *keys[32];
	unsigned int nr_keys = 0;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->type = type;
	c->poll_us = -1;
	copy = strdup(spec);
	if (!copy)
		return fail(err, errlen, "out of memory");
	/* path= comes last and takes the rest, commas included (like xl's
	 * target=). */
	path = !strncmp(copy, "path=", 5) ? copy : strstr(copy, ",path=");
	if (path) {
		*path = '\0';
		path += *path ? 0 : 1; /* skip the comma we cut */
		rc = set_key(c, "path", strchr(path, '=') + 1, err, errlen);
	}
	for (item = strtok_r(copy, ",", &save); item && !rc;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');

		if (!eq) {
			rc = fail(err, errlen, "'%s' is not key=value", item);
			break;
		}
		*eq = '\0';
		/* A key given twice is a mistake, not "the last one wins". */
		for (unsigned int i = 0; i < nr_keys; i++)
			if (!strcmp(keys[i], item))
				rc = fail(err, errlen, "%s= given twice", item);
		if (rc)
			break;
		if (nr_keys < ARRAY_SIZE(keys))
			keys[nr_keys++] = item;
		rc = set_key(c, item, eq + 1, err, errlen);
		have_base |= !strcmp(item, "base");
		have_irq |= !strcmp(item, "irq");
	}
	free(copy);
	if (rc)
		return rc;
	if (!have_base || !have_irq)
		return fail(err, errlen, "base= and irq= are required");
	return xb_check_devconf(c, err, errlen);
}
