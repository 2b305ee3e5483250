// SPDX-License-Identifier: MIT
/*
 * The device registry (devices/registry.c) against the contract of
 * include/devices/devtype.h: every entry complete and consistent, names
 * and IDs unique, the lookups finding each entry and nothing else.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backend/devspec.h"
#include "t.h"

/* The keys the backend parses itself: a type may not take them over. */
static const char *const common[] = { "base",	     "irq",    "grants",
				      "devid",	     "queues", "poll_us",
				      "coalesce_us", NULL };

static bool lower_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s))
			return false;
	return true;
}

static void entries_complete(void)
{
	unsigned int n = 0;

	for (const struct xvb_devtype *const *t = xvb_devtypes; *t; t++, n++) {
		T_ASSERT(lower_name((*t)->name));
		T_ASSERT((*t)->virtio_id > 0);
		T_ASSERT((*t)->summary && (*t)->summary[0]);
		T_ASSERT((*t)->conf_size <= XVB_DEVCONF_MAX);
		T_ASSERT((*t)->parse_key && (*t)->open && (*t)->close);
		for (const char *const *k = (*t)->keys; k && *k; k++)
			T_ASSERT(!xb_key_in(common, *k));
		T_ASSERT(!(*t)->unique_key ||
			 xb_type_has_key(*t, (*t)->unique_key));
		T_ASSERT(!(*t)->alias || lower_name((*t)->alias));
		for (const char *const *k = (*t)->guest_keys; k && *k; k++) {
			T_ASSERT(xb_type_has_key(*t, *k) ||
				 xb_key_in(xb_tunable_keys, *k));
			T_ASSERT(!(*t)->unique_key ||
				 strcmp(*k, (*t)->unique_key));
		}
	}
	T_ASSERT(n >= 2);
}

/* Names, aliases, IDs and guest keys: no two entries share one. */
static void entries_distinct(void)
{
	for (const struct xvb_devtype *const *a = xvb_devtypes; *a; a++) {
		for (const struct xvb_devtype *const *b = xvb_devtypes; b < a;
		     b++) {
			T_ASSERT(strcmp((*a)->name, (*b)->name));
			T_ASSERT((*a)->virtio_id != (*b)->virtio_id);
			T_ASSERT(!(*a)->alias ||
				 strcmp((*a)->alias, (*b)->name));
			T_ASSERT(!(*b)->alias ||
				 strcmp((*b)->alias, (*a)->name));
			T_ASSERT(!(*a)->alias || !(*b)->alias ||
				 strcmp((*a)->alias, (*b)->alias));
			for (const char *const *k = (*a)->guest_keys; k && *k;
			     k++)
				T_ASSERT(!xb_key_in((*b)->guest_keys, *k));
		}
	}
}

static void lookups(void)
{
	for (const struct xvb_devtype *const *t = xvb_devtypes; *t; t++) {
		T_ASSERT(xvb_devtype_by_name((*t)->name) == *t);
		T_ASSERT(xvb_devtype_by_id((*t)->virtio_id) == *t);
	}
	T_ASSERT(!xvb_devtype_by_name(NULL));
	T_ASSERT(!xvb_devtype_by_name(""));
	T_ASSERT(!xvb_devtype_by_name("bl"));
	T_ASSERT(!xvb_devtype_by_name("blk "));
	T_ASSERT(!xvb_devtype_by_id(0));
	T_ASSERT(!xvb_devtype_by_id(0xffffffffu));
	T_ASSERT(xvb_devtype_by_id(2) == xvb_devtype_by_name("blk"));
	T_ASSERT(xvb_devtype_by_id(1) == xvb_devtype_by_name("net"));
}

/* A type's default_key answers its own keys only, and a NIC's MAC is its
 * guest's and devid's. */
static void defaults(void)
{
	const struct xvb_devtype *net = xvb_devtype_by_name("net");
	struct xvb_devenv a = { .domid = 3, .devid = 0, .guest = "g" };
	struct xvb_devenv b = { .domid = 3, .devid = 1, .guest = "g" };
	struct xvb_devenv none = { .domid = 3, .devid = 0 };
	char m1[32], m2[32], br[32];

	T_EQ(net->default_key("mac", &a, m1, sizeof(m1)), 0);
	T_EQ(net->default_key("mac", &b, m2, sizeof(m2)), 0);
	T_ASSERT(strcmp(m1, m2));
	T_EQ(strlen(m1), 17);
	T_EQ(net->default_key("mac", &a, m2, sizeof(m2)), 0);
	T_ASSERT(!strcmp(m1, m2)); /* stable */
	T_EQ(net->default_key("ifname", &b, br, sizeof(br)), 0);
	T_ASSERT(!strcmp(br, "vxb3.1"));
	/* A guest xl made gets xenbr0; static mode no bridge. */
	T_EQ(net->default_key("bridge", &a, br, sizeof(br)), 0);
	T_ASSERT(!strcmp(br, "xenbr0"));
	T_EQ(net->default_key("bridge", &none, br, sizeof(br)), -ENOENT);
	T_EQ(net->default_key("queues", &a, br, sizeof(br)), -ENOENT);
}

/* @spec parsed for type @name: true if a conf came back (freed here). */
static bool parses(const char *name, const char *spec, char *err, size_t len)
{
	void *conf =
		xvb_devconf_parse(xvb_devtype_by_name(name), spec, err, len);

	free(conf);
	return conf != NULL;
}

/* xvb_devconf_parse: the spec a tool or a test opens a device with. */
static void devconf_parse(void)
{
	char dir[] = "/tmp/xvb-registry-XXXXXX", img[128], spec[256];
	char err[256];
	int fd;

	T_ASSERT(parses("rng", "", err, sizeof(err)));
	T_ASSERT(parses("rng", "rate=1K,burst=2K", err, sizeof(err)));
	/* Each key through the type's parser, its reason passed on. */
	T_ASSERT(!parses("rng", "rate=lots", err, sizeof(err)));
	T_ASSERT(strstr(err, "rate=lots: "));
	T_ASSERT(!parses("rng", "burst=0", err, sizeof(err)));
	/* Only the type's own keys; a key=value each. */
	T_ASSERT(!parses("rng", "rate=1K,bogus=1", err, sizeof(err)));
	T_ASSERT(strstr(err, "'bogus'"));
	T_ASSERT(!parses("rng", "queues=1", err, sizeof(err)));
	T_ASSERT(!parses("rng", "rate", err, sizeof(err)));
	T_ASSERT(strstr(err, "key=value"));
	/* The type's check runs: a console without ports is refused. */
	T_ASSERT(!parses("console", "console=on", err, sizeof(err)));
	/* path= comes last and takes the rest, commas included. */
	T_ASSERT(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/a,b.img", dir);
	fd = open(img, O_CREAT | O_WRONLY, 0600);
	T_ASSERT(fd >= 0);
	T_EQ(ftruncate(fd, 1 << 20), 0);
	close(fd);
	snprintf(spec, sizeof(spec), "mode=r,path=%s", img);
	T_ASSERT(parses("blk", spec, err, sizeof(err)));
	snprintf(spec, sizeof(spec), "path=%s/a,mode=r", dir);
	T_ASSERT(!parses("blk", spec, err, sizeof(err)));
	unlink(img);
	rmdir(dir);
}

T_MAIN(T_CASE(entries_complete), T_CASE(entries_distinct), T_CASE(lookups),
       T_CASE(defaults), T_CASE(devconf_parse))
