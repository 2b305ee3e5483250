// SPDX-License-Identifier: MIT
/* Strict parsing of device specs and integers (static mode and xenstore). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backend/conf.h"
#include "t.h"

static char img[64];

static void make_img(void)
{
	int fd;

	if (img[0])
		return;
	snprintf(img, sizeof(img), "/tmp/xvb-conf-XXXXXX");
	fd = mkstemp(img);
	if (fd >= 0)
		close(fd);
}

static void test_u64_accepts(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 },
		{ "33", 33 },
		{ "33554432", 0x2000000 },
		{ "0x2000000", 0x2000000 },
		{ "0X1f", 31 },
		{ "18446744073709551615", UINT64_MAX },
	};
	uint64_t v;

	for (unsigned int i = 0; i < ARRAY_SIZE(ok); i++) {
		T_EQ(xb_parse_u64(ok[i].s, 0, UINT64_MAX, &v), 0);
		T_EQ_U64(v, ok[i].v);
	}
}

static void test_u64_rejects(void)
{
	static const char *const bad[] = {
		"",
		" 1",
		"-1",
		"+1",
		"1 ",
		"1x",
		"0x",
		"abc",
		"12a",
		"18446744073709551616",
		"0x10000000000000000",
		"1\n",
	};
	uint64_t v = 7;

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		T_ASSERT(xb_parse_u64(bad[i], 0, UINT64_MAX, &v) < 0);
		T_EQ(v, 7);
	}
	T_EQ(xb_parse_u64(NULL, 0, 1, &v), -EINVAL);
	T_EQ(xb_parse_u64("5", 6, 10, &v), -ERANGE);
	T_EQ(xb_parse_u64("11", 6, 10, &v), -ERANGE);
}

static void test_blk_spec(void)
{
	struct xb_devconf c;
	char err[256], spec[256];

	make_img();
	snprintf(spec, sizeof(spec),
		 "base=0x2000200,irq=34,mode=r,serial=xvda,devid=51712,path=%s",
		 img);
	T_EQ(xb_parse_devspec(spec, XB_DEV_BLK, &c, err, sizeof(err)), 0);
	T_EQ_U64(c.base, 0x2000200);
	T_EQ(c.irq, 34);
	T_ASSERT(c.readonly);
	T_ASSERT(!strcmp(c.serial, "xvda"));
	T_EQ(c.devid, 51712);
	T_EQ(c.queues, 0); /* automatic unless given */
	T_ASSERT(!strcmp(c.path, img));
}

/* path= takes the rest of the spec, commas included. */
static void test_blk_queues(void)
{
	struct xb_devconf c;
	char err[256], spec[256];

	make_img();
	snprintf(spec, sizeof(spec), "base=0x2000200,irq=34,queues=%u,path=%s",
		 XB_MAX_QUEUES, img);
	T_EQ(xb_parse_devspec(spec, XB_DEV_BLK, &c, err, sizeof(err)), 0);
	T_EQ(c.queues, XB_MAX_QUEUES);
	snprintf(spec, sizeof(spec), "base=0x2000200,irq=34,queues=1,path=%s",
		 img);
	T_EQ(xb_parse_devspec(spec, XB_DEV_BLK, &c, err, sizeof(err)), 0);
	T_EQ(c.queues, 1);
	/* A NIC's: queue pairs, at most 8. */
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,queues=8", XB_DEV_NET, &c,
			      err, sizeof(err)),
	     0);
	T_EQ(c.queues, 8);
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,queues=9", XB_DEV_NET, &c,
			      err, sizeof(err)),
	     -EINVAL);
}

static void test_blk_path_with_comma(void)
{
	struct xb_devconf c;
	char err[256], dir[64], path[128], spec[256];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/xvb-conf-d-XXXXXX");
	T_ASSERT(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a,b=c.img", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	T_ASSERT(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "base=33554432,irq=33,path=%s", path);
	T_EQ(xb_parse_devspec(spec, XB_DEV_BLK, &c, err, sizeof(err)), 0);
	T_ASSERT(!strcmp(c.path, path));
	unlink(path);
	rmdir(dir);
}

static void test_blk_spec_rejects(void)
{
	static const char *const bad[] = {
		"irq=33,path=%s",		  /* no base */
		"base=0x2000000,path=%s",	  /* no irq */
		"base=0x2000100,irq=33,path=%s",  /* misaligned window */
		"base=0x1ffffe00,irq=33,path=%s", /* below the window */
		"base=0x2100000,irq=33,path=%s",  /* past the window */
		"base=0x20ffe00,irq=32,path=%s",  /* not a virtio SPI */
		"base=0x20ffe00,irq=44,path=%s",
		"base=0x2000000,irq=33,mode=x,path=%s",
		"base=0x2000000,irq=33,bogus=1,path=%s",
		"base=0x2000000,irq=33,serial=123456789012345678901,path=%s",
		"base=0x2000000,irq=33,bridge=br0,path=%s", /* a net key */
		"base=0x2000000,irq=33,noequals,path=%s",
		"base=0x2000000,irq=33,path=/nonexistent/xvb%s",
		"base=0x2000000,irq=33,path=/dev/null%.0s", /* char device */
		"base=0x2000000,irq=33,path=/tmp%.0s",	    /* directory */
		"base=0x2000000,irq=33,queues=0,path=%s",
		"base=0x2000000,irq=33,queues=17,path=%s",
		"base=0x2000000,irq=33,queues=-1,path=%s",
		"base=0x2000000,irq=33,queues=2x,path=%s",
	};
	struct xb_devconf c;
	char err[256], spec[256];

	make_img();
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(spec, sizeof(spec), bad[i], img);
#pragma GCC diagnostic pop
		err[0] = '\0';
		if (xb_parse_devspec(spec, XB_DEV_BLK, &c, err, sizeof(err)) !=
		    -EINVAL) {
			t_fail(__FILE__, __LINE__, "accepted '%s'", spec);
			return;
		}
		T_ASSERT(err[0]); /* says why */
	}
}

static void test_net_spec(void)
{
	struct xb_devconf c;
	char err[256];

	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,bridge=xenbr0,"
			      "mac=00:16:3e:01:02:03",
			      XB_DEV_NET, &c, err, sizeof(err)),
	     0);
	T_ASSERT(c.has_mac);
	T_EQ(c.mac[5], 3);
	T_ASSERT(!strcmp(c.bridge, "xenbr0"));
	/* A multicast MAC, a short one, a path key. */
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,mac=01:16:3e:01:02:03",
			      XB_DEV_NET, &c, err, sizeof(err)),
	     -EINVAL);
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,mac=00:16:3e:01:02",
			      XB_DEV_NET, &c, err, sizeof(err)),
	     -EINVAL);
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,mac=00:16:3e:01:02:03:04",
			      XB_DEV_NET, &c, err, sizeof(err)),
	     -EINVAL);
}

/* A key given twice is refused, naming it; a comma in the path is not. */
static void test_duplicate_keys(void)
{
	static const char *const dup[] = {
		"base=0x2000000,irq=33,base=0x2000200,path=%s",
		"base=0x2000000,irq=33,irq=34,path=%s",
		"base=0x2000000,irq=33,mode=r,mode=w,path=%s",
		"base=0x2000000,irq=33,queues=2,queues=2,path=%s",
		"base=0x2000000,irq=33,serial=a,serial=b,path=%s",
	};
	static const char *const key[] = { "base", "irq", "mode", "queues",
					   "serial" };
	struct xb_devconf c;
	char err[256], spec[256], want[32];

	make_img();
	for (unsigned int i = 0; i < ARRAY_SIZE(dup); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(spec, sizeof(spec), dup[i], img);
#pragma GCC diagnostic pop
		snprintf(want, sizeof(want), "%s= given twice", key[i]);
		err[0] = '\0';
		T_EQ(xb_parse_devspec(spec, XB_DEV_BLK, &c, err, sizeof(err)),
		     -EINVAL);
		if (strcmp(err, want)) {
			t_fail(__FILE__, __LINE__, "'%s': \"%s\"", spec, err);
			return;
		}
	}
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,mac=00:16:3e:01:02:03,"
			      "bridge=a,mac=00:16:3e:01:02:04",
			      XB_DEV_NET, &c, err, sizeof(err)),
	     -EINVAL);
	T_ASSERT(!strcmp(err, "mac= given twice"));
}

static void cleanup(void)
{
	if (img[0])
		unlink(img);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T_CASE(test_u64_accepts),
		T_CASE(test_u64_rejects),
		T_CASE(test_blk_spec),
		T_CASE(test_blk_queues),
		T_CASE(test_blk_path_with_comma),
		T_CASE(test_blk_spec_rejects),
		T_CASE(test_net_spec),
		T_CASE(test_duplicate_keys),
	};
	int rc = t_main(cases, ARRAY_SIZE(cases), argc, argv);

	cleanup();
	return rc;
}
