// SPDX-License-Identifier: MIT
/*
 * Strict parsing of device specs and integers (static mode and xenstore):
 * the common keys, the rules every type's spec follows (through a test
 * type that records what it is handed), and blk's and net's keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backend/devspec.h"
#include "devices/blk/blk.h"
#include "t.h"

#define BLK xvb_devtype_by_name("blk")
#define NET xvb_devtype_by_name("net")

/* A device type that keeps what parse_key is handed; "bad" is refused. */
struct tt_conf {
	char path[256];
	char word[16];
	unsigned int calls;
	bool inited;
};

static const char *const tt_keys[] = { "path", "word", NULL };

static void tt_init(void *conf)
{
	((struct tt_conf *)conf)->inited = true;
}

static int tt_parse_key(void *conf, const char *key, const char *val, char *err,
			size_t errlen)
{
	struct tt_conf *c = conf;

	c->calls++;
	if (!strcmp(val, "bad")) {
		snprintf(err, errlen, "%s is bad", key);
		return -EINVAL;
	}
	snprintf(!strcmp(key, "path") ? c->path : c->word,
		 !strcmp(key, "path") ? sizeof(c->path) : sizeof(c->word), "%s",
		 val);
	return 0;
}

static int tt_check(const void *conf, char *err, size_t errlen)
{
	const struct tt_conf *c = conf;

	if (!strcmp(c->word, "unchecked")) {
		snprintf(err, errlen, "word unchecked");
		return -EINVAL;
	}
	return 0;
}

static const struct xvb_devtype tt = {
	.name = "tt",
	.keys = tt_keys,
	.max_queues = 4,
	.conf_size = sizeof(struct tt_conf),
	.conf_init = tt_init,
	.parse_key = tt_parse_key,
	.check = tt_check,
};

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
	T_EQ(xb_parse_devspec(spec, BLK, &c, err, sizeof(err)), 0);
	T_EQ_U64(c.base, 0x2000200);
	T_EQ(c.irq, 34);
	T_EQ(c.devid, 51712);
	T_ASSERT(c.has_devid);
	T_EQ(c.queues, 0); /* automatic unless given */
	T_EQ(c.poll_us, -1);
	T_ASSERT(c.type == BLK);
}

/* The type's keys reach its parse_key, the others do not; check runs. */
static void test_type_keys(void)
{
	static struct xb_devconf c;
	const struct tt_conf *tc = (const struct tt_conf *)c.priv;
	char err[256];

	T_EQ(xb_parse_devspec("base=0x2000000,irq=33,word=hi,queues=4,poll_us=7",
			      &tt, &c, err, sizeof(err)),
	     0);
	T_ASSERT(tc->inited);
	T_EQ(tc->calls, 1);
	T_ASSERT(!strcmp(tc->word, "hi"));
	T_EQ(c.queues, 4);
	T_EQ(c.poll_us, 7);
	T_ASSERT(!c.has_devid);
	/* The type's refusal, with its reason; a key it does not have. */
	T_EQ(xb_parse_devspec("base=0x2000000,irq=33,word=bad", &tt, &c, err,
			      sizeof(err)),
	     -EINVAL);
	T_ASSERT(!strcmp(err, "word is bad"));
	T_EQ(xb_parse_devspec("base=0x2000000,irq=33,mac=1", &tt, &c, err,
			      sizeof(err)),
	     -EINVAL);
	T_ASSERT(strstr(err, "unknown key 'mac' for tt"));
	T_EQ(tc->calls, 0);
	/* check, once every key is in; queues within max_queues. */
	T_EQ(xb_parse_devspec("base=0x2000000,irq=33,word=unchecked", &tt, &c,
			      err, sizeof(err)),
	     -EINVAL);
	T_ASSERT(!strcmp(err, "word unchecked"));
	T_EQ(xb_parse_devspec("base=0x2000000,irq=33,queues=5", &tt, &c, err,
			      sizeof(err)),
	     -EINVAL);
	T_ASSERT(strstr(err, "queues must be 1 to 4 for tt"));
}

/* --dev NAME:SPEC: a registry name, else the names it knows. */
static void test_devarg(void)
{
	const struct xvb_devtype *t = NULL;
	const char *spec = NULL;
	char err[256];

	T_EQ(xb_split_devarg("net:base=1", &t, &spec, err, sizeof(err)), 0);
	T_ASSERT(t == NET && !strcmp(spec, "base=1"));
	T_EQ(xb_split_devarg("blk:", &t, &spec, err, sizeof(err)), 0);
	T_ASSERT(t == BLK && !*spec);
	T_EQ(xb_split_devarg("disk:base=1", &t, &spec, err, sizeof(err)),
	     -EINVAL);
	T_ASSERT(strstr(err, "blk, net"));
	T_EQ(xb_split_devarg("base=1", &t, &spec, err, sizeof(err)), -EINVAL);
	T_EQ(xb_split_devarg(":base=1", &t, &spec, err, sizeof(err)), -EINVAL);
}

/* path= takes the rest of the spec, commas included. */
static void test_blk_queues(void)
{
	struct xb_devconf c;
	char err[256], spec[256];

	make_img();
	snprintf(spec, sizeof(spec), "base=0x2000200,irq=34,queues=%u,path=%s",
		 VBLK_MAX_QUEUES, img);
	T_EQ(xb_parse_devspec(spec, BLK, &c, err, sizeof(err)), 0);
	T_EQ(c.queues, VBLK_MAX_QUEUES);
	snprintf(spec, sizeof(spec), "base=0x2000200,irq=34,queues=1,path=%s",
		 img);
	T_EQ(xb_parse_devspec(spec, BLK, &c, err, sizeof(err)), 0);
	T_EQ(c.queues, 1);
	/* A NIC's: queue pairs, at most 8. */
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,queues=8", NET, &c, err,
			      sizeof(err)),
	     0);
	T_EQ(c.queues, 8);
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,queues=9", NET, &c, err,
			      sizeof(err)),
	     -EINVAL);
}

static void test_blk_path_with_comma(void)
{
	static struct xb_devconf c;
	const struct tt_conf *tc = (const struct tt_conf *)c.priv;
	char err[256], dir[64], path[128], spec[256];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/xvb-conf-d-XXXXXX");
	T_ASSERT(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a,b=c.img", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	T_ASSERT(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "base=33554432,irq=33,path=%s", path);
	T_EQ(xb_parse_devspec(spec, BLK, &c, err, sizeof(err)), 0);
	/* What the type is handed: the whole rest, the path first. */
	T_EQ(xb_parse_devspec("path=a,word=b,c", &tt, &c, err, sizeof(err)),
	     -EINVAL);
	T_EQ(xb_parse_devspec("base=0x2000000,irq=33,path=a,word=b,c", &tt, &c,
			      err, sizeof(err)),
	     0);
	T_ASSERT(!strcmp(tc->path, "a,word=b,c"));
	T_ASSERT(!tc->word[0]);
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
		if (xb_parse_devspec(spec, BLK, &c, err, sizeof(err)) !=
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

	T_EQ(xb_parse_devspec(
		     "base=0x2000400,irq=35,bridge=xenbr0,mac=00:16:3e:01:02:03",
		     NET, &c, err, sizeof(err)),
	     0);
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,bridge=none,ifname=tap0",
			      NET, &c, err, sizeof(err)),
	     0);
	/* A multicast MAC, a short one, a long one, a path key, bad names. */
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,mac=01:16:3e:01:02:03",
			      NET, &c, err, sizeof(err)),
	     -EINVAL);
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,mac=00:16:3e:01:02", NET,
			      &c, err, sizeof(err)),
	     -EINVAL);
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,mac=00:16:3e:01:02:03:04",
			      NET, &c, err, sizeof(err)),
	     -EINVAL);
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,mac=00:16:3e:01:02: 3",
			      NET, &c, err, sizeof(err)),
	     -EINVAL);
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,path=/tmp", NET, &c, err,
			      sizeof(err)),
	     -EINVAL);
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,bridge=a/b", NET, &c, err,
			      sizeof(err)),
	     -EINVAL);
	T_EQ(xb_parse_devspec("base=0x2000400,irq=35,ifname=0123456789abcdef",
			      NET, &c, err, sizeof(err)),
	     -EINVAL);
}

/*
 * coalesce_us= for disks and NICs: 0 to 1000 taken, absent left to the
 * worker's default (-1), anything else refused with the range.
 */
static void test_coalesce_us(void)
{
	static const char *const bad[] = { "1001", "-1",      "fast",	    "",
					   "50us", "0x10000", "99999999999" };
	static const char *const base[] = { "base=0x2000000,irq=33",
					    "base=0x2000400,irq=35" };
	const struct xvb_devtype *type[] = { BLK, NET };
	struct xb_devconf c;
	char err[256], spec[256];

	make_img();
	for (unsigned int t = 0; t < 2; t++) {
		snprintf(spec, sizeof(spec), "%s%s%s", base[t],
			 t ? "" : ",path=", t ? "" : img);
		T_EQ(xb_parse_devspec(spec, type[t], &c, err, sizeof(err)), 0);
		T_EQ(c.coalesce_us, -1);
		for (unsigned int v = 0; v <= 1000; v += 1000) {
			snprintf(spec, sizeof(spec), "%s,coalesce_us=%u%s%s",
				 base[t], v, t ? "" : ",path=", t ? "" : img);
			T_EQ(xb_parse_devspec(spec, type[t], &c, err,
					      sizeof(err)),
			     0);
			T_EQ(c.coalesce_us, (int)v);
		}
		for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
			snprintf(spec, sizeof(spec), "%s,coalesce_us=%s%s%s",
				 base[t], bad[i],
				 t ? "" : ",path=", t ? "" : img);
			err[0] = '\0';
			if (xb_parse_devspec(spec, type[t], &c, err,
					     sizeof(err)) != -EINVAL ||
			    !strstr(err, "coalesce_us must be 0 to 1000")) {
				t_fail(__FILE__, __LINE__, "'%s': \"%s\"", spec,
				       err);
				return;
			}
		}
	}
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
		T_EQ(xb_parse_devspec(spec, BLK, &c, err, sizeof(err)),
		     -EINVAL);
		if (strcmp(err, want)) {
			t_fail(__FILE__, __LINE__, "'%s': \"%s\"", spec, err);
			return;
		}
	}
	T_EQ(xb_parse_devspec(
		     "base=0x2000400,irq=35,mac=00:16:3e:01:02:03,bridge=a,mac=00:16:3e:01:02:04",
		     NET, &c, err, sizeof(err)),
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
		T_CASE(test_type_keys),
		T_CASE(test_devarg),
		T_CASE(test_blk_queues),
		T_CASE(test_blk_path_with_comma),
		T_CASE(test_blk_spec_rejects),
		T_CASE(test_net_spec),
		T_CASE(test_duplicate_keys),
		T_CASE(test_coalesce_us),
	};
	int rc = t_main(cases, ARRAY_SIZE(cases), argc, argv);

	cleanup();
	return rc;
}
