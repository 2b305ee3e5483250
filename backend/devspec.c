// SPDX-License-Identifier: MIT
/*
 * Device spec parsing. Everything here is input from a user or from
 * xenstore: every number is checked for syntax, overflow and range, every
 * key against the device type's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devspec.h"
#include "layout.h"
#include "lib/compiler.h"

const char *const xb_tunable_keys[] = { "queues", "poll_us", "coalesce_us",
					NULL };

int xb_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* Rejects empty strings, signs and leading spaces strtoull takes. */
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

bool xb_key_in(const char *const *list, const char *key)
{
	for (; list && *list; list++)
		if (!strcmp(*list, key))
			return true;
	return false;
}

bool xb_type_has_key(const struct xvb_devtype *t, const char *key)
{
	return xb_key_in(t->keys, key);
}

static int xb_spec_fail(char *err, size_t errlen, const char *fmt, ...)
	__printf(3, 4);
static int xb_spec_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void xb_devconf_init(struct xb_devconf *c, const struct xvb_devtype *t)
{
	memset(c, 0, sizeof(*c));
	c->type = t;
	c->poll_us = -1;
	c->coalesce_us = -1;
	if (t->conf_init && t->conf_size <= sizeof(c->priv))
		t->conf_init(c->priv);
}

int xb_check_devconf(const struct xb_devconf *c, char *err, size_t errlen)
{
	if (c->base < XB_MMIO_BASE ||
	    c->base + XB_MMIO_DEV_SIZE > XB_MMIO_BASE + XB_MMIO_SIZE ||
	    c->base % XB_MMIO_DEV_SIZE)
		return xb_spec_fail(
			err, errlen,
			"base 0x%llx is not a 0x200-aligned window in 0x%llx..0x%llx",
			(unsigned long long)c->base, XB_MMIO_BASE,
			XB_MMIO_BASE + XB_MMIO_SIZE - 1);
	if (c->irq < XB_SPI_FIRST || c->irq > XB_SPI_LAST)
		return xb_spec_fail(err, errlen,
				    "irq %u is not a virtio SPI (%d..%d)",
				    c->irq, XB_SPI_FIRST, XB_SPI_LAST);
	if (c->queues > c->type->max_queues)
		return xb_spec_fail(err, errlen,
				    "queues must be 1 to %u for %s",
				    c->type->max_queues, c->type->name);
	return c->type->check ? c->type->check(c->priv, err, errlen) : 0;
}

/* A number key of every device: "name", its range, where it goes. */
static int xb_set_number(struct xb_devconf *c, const char *key, const char *val,
			 char *err, size_t errlen)
{
	uint64_t v;

	if (!strcmp(key, "base")) {
		if (xb_parse_u64(val, 0, UINT64_MAX, &c->base))
			return xb_spec_fail(err, errlen, "bad base '%s'", val);
	} else if (!strcmp(key, "irq")) {
		if (xb_parse_u64(val, 0, 1023, &v))
			return xb_spec_fail(err, errlen, "bad irq '%s'", val);
		c->irq = v;
	} else if (!strcmp(key, "grants")) {
		if (xb_parse_u64(val, 0, 1, &v))
			return xb_spec_fail(err, errlen,
					    "grants must be 0 or 1");
		c->grants = v;
	} else if (!strcmp(key, "devid")) {
		if (xb_parse_u64(val, 0, INT32_MAX, &v))
			return xb_spec_fail(err, errlen, "bad devid '%s'", val);
		c->devid = v;
		c->has_devid = true;
	} else {
		return 1;
	}
	return 0;
}

/* queues, poll_us, coalesce_us: 1 if @key is none of them. */
static int xb_set_tunable(struct xb_devconf *c, const char *key,
			  const char *val, char *err, size_t errlen)
{
	const struct xvb_devtype *t = c->type;
	uint64_t v;

	if (!strcmp(key, "queues")) {
		if (!t->max_queues)
			return xb_spec_fail(err, errlen,
					    "%s takes no queues=", t->name);
		if (xb_parse_u64(val, 1, t->max_queues, &v))
			return xb_spec_fail(err, errlen,
					    "queues must be 1 to %u for %s",
					    t->max_queues, t->name);
		c->queues = v;
	} else if (!strcmp(key, "poll_us")) {
		if (xb_parse_u64(val, 0, XB_MAX_POLL_US, &v))
			return xb_spec_fail(err, errlen,
					    "poll_us must be 0 to %u",
					    XB_MAX_POLL_US);
		c->poll_us = v;
	} else if (!strcmp(key, "coalesce_us")) {
		if (xb_parse_u64(val, 0, XB_MAX_COALESCE_US, &v))
			return xb_spec_fail(err, errlen,
					    "coalesce_us must be 0 to %u",
					    XB_MAX_COALESCE_US);
		c->coalesce_us = v;
	} else {
		return 1;
	}
	return 0;
}

int xb_devconf_set(struct xb_devconf *c, const char *key, const char *val,
		   char *err, size_t errlen)
{
	const struct xvb_devtype *t = c->type;
	int rc = xb_set_number(c, key, val, err, errlen);

	if (rc <= 0)
		return rc;
	rc = xb_set_tunable(c, key, val, err, errlen);
	if (rc <= 0)
		return rc;
	if (!xb_type_has_key(t, key))
		return xb_spec_fail(err, errlen, "unknown key '%s' for %s", key,
				    t->name);
	if (t->conf_size > sizeof(c->priv))
		return xb_spec_fail(err, errlen, "%s: configuration too large",
				    t->name);
	return t->parse_key(c->priv, key, val, err, errlen) ? -EINVAL : 0;
}

/*
 * Cuts "path=..." off the end of @copy if the type has a path: it takes
 * the rest, commas included (like xl's target=). Returns the value or NULL.
 */
static char *xb_cut_path(const struct xvb_devtype *t, char *copy)
{
	char *path;

	if (!xb_type_has_key(t, "path"))
		return NULL;
	path = !strncmp(copy, "path=", 5) ? copy : strstr(copy, ",path=");
	if (!path)
		return NULL;
	*path = '\0';
	path += *path ? 0 : 1; /* skip the comma we cut */
	return strchr(path, '=') + 1;
}

/* Whether @key is among the first @n of @keys. */
static bool xb_seen(const char *const *keys, unsigned int n, const char *key)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(keys[i], key))
			return true;
	return false;
}

/* The key=value items of @copy, into @c. */
static int xb_spec_items(struct xb_devconf *c, char *copy, bool *base_irq,
			 char *err, size_t errlen)
{
	const char *keys[32];
	unsigned int nr_keys = 0, have = 0;
	char *item, *save = NULL;
	int rc = 0;

	for (item = strtok_r(copy, ",", &save); item && !rc;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');

		if (!eq)
			return xb_spec_fail(err, errlen,
					    "'%s' is not key=value", item);
		*eq = '\0';
		/* A key given twice is a mistake, not "the last one wins". */
		if (xb_seen(keys, nr_keys, item))
			return xb_spec_fail(err, errlen, "%s= given twice",
					    item);
		if (nr_keys < ARRAY_SIZE(keys))
			keys[nr_keys++] = item;
		rc = xb_devconf_set(c, item, eq + 1, err, errlen);
		if (!strcmp(item, "base"))
			have |= 1;
		if (!strcmp(item, "irq"))
			have |= 2;
	}
	*base_irq = have == 3;
	return rc;
}

int xb_parse_devspec(const char *spec, const struct xvb_devtype *t,
		     struct xb_devconf *c, char *err, size_t errlen)
{
	char *copy, *path;
	bool base_irq = false;
	int rc = 0;

	xb_devconf_init(c, t);
	copy = strdup(spec);
	if (!copy)
		return xb_spec_fail(err, errlen, "out of memory");
	path = xb_cut_path(t, copy);
	if (path)
		rc = xb_devconf_set(c, "path", path, err, errlen);
	if (!rc)
		rc = xb_spec_items(c, copy, &base_irq, err, errlen);
	free(copy);
	if (rc)
		return rc;
	if (!base_irq)
		return xb_spec_fail(err, errlen, "base= and irq= are required");
	return xb_check_devconf(c, err, errlen);
}

int xb_split_devarg(const char *arg, const struct xvb_devtype **t,
		    const char **spec, char *err, size_t errlen)
{
	const char *colon = strchr(arg, ':');
	char name[32], known[160] = "";

	if (colon && (size_t)(colon - arg) < sizeof(name)) {
		memcpy(name, arg, colon - arg);
		name[colon - arg] = '\0';
		*t = xvb_devtype_by_name(name);
		*spec = colon + 1;
		if (*t)
			return 0;
	}
	for (unsigned int i = 0; xvb_devtypes[i]; i++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known),
			 "%s%s", i ? ", " : "", xvb_devtypes[i]->name);
	return xb_spec_fail(err, errlen, "expected NAME:SPEC, NAME one of %s",
			    known);
}
