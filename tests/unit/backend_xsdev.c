// SPDX-License-Identifier: MIT
/*
 * The supervisor's reading of one device from xenstore (backend/xsdev.c)
 * over a fake xs_read: both xl routes to a device type of the registry,
 * hostile node values refused with their reason, xvbd.conf's values and
 * the type's defaults in the worker's line, the unique key (a MAC) checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backend/xsdev.h"
#include "t.h"

#define BE "/local/domain/0/backend/x/3/0"

static struct {
	const char *name; /* the node's name below BE, or "name" (guest's) */
	const char *val;
} nodes[16];
static char conf_path[64];
static struct xb_config cfg;

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
	      unsigned int *len)
{
	const char *tail = strrchr(path, '/') + 1;
	bool home = !strncmp(path, "/local/domain/3/", 16) &&
		    !strcmp(tail, "name");

	for (unsigned int i = 0; i < ARRAY_SIZE(nodes) && nodes[i].name; i++) {
		if (strcmp(nodes[i].name, tail) ||
		    (home != !strcmp(tail, "name")))
			continue;
		*len = strlen(nodes[i].val);
		return strdup(nodes[i].val);
	}
	errno = ENOENT;
	return NULL;
}

/* The nodes @kv ("name", "value", ..., NULL) over a window at 0x2000000. */
static void set_nodes(const char *const *kv)
{
	unsigned int n = 0;

	memset(nodes, 0, sizeof(nodes));
	nodes[n].name = "base", nodes[n++].val = "33554432";
	nodes[n].name = "irq", nodes[n++].val = "33";
	for (; *kv && n + 1 < ARRAY_SIZE(nodes); kv += 2, n++) {
		nodes[n].name = kv[0];
		nodes[n].val = kv[1];
	}
}

static int load_conf(const char *text)
{
	char err[256];
	FILE *f;

	xb_config_free(&cfg);
	snprintf(conf_path, sizeof(conf_path), "/tmp/xvb-xsdev-%d.conf",
		 getpid());
	f = fopen(conf_path, "w");
	T_CHECK(f);
	fputs(text, f);
	fclose(f);
	T_CHECK(!xb_config_load(&cfg, conf_path, true, err, sizeof(err)));
	unlink(conf_path);
	return 0;
}

static const char *taken_mac;

static const char *user(void *opaque, const struct xvb_devtype *t,
			const char *val, char *buf, size_t len)
{
	if (!taken_mac || strcasecmp(val, taken_mac))
		return NULL;
	snprintf(buf, len, "d9's elsewhere");
	return buf;
}

/* Reads the device; 0 with x->msg, or -EINVAL with x->why. */
static int read_dev(struct xb_xsdev *x, bool generic, unsigned int devid)
{
	memset(x, 0, sizeof(*x));
	x->cfg = &cfg;
	x->domid = 3;
	x->devid = devid;
	x->be = BE;
	x->generic = generic;
	x->unique_user = user;
	return xb_xsdev_read(x);
}

/* The generic route: "virtio,device<ID>", ID in hex, strictly. */
static void generic_types(void)
{
	static const struct {
		const char *type;
		const char *want; /* the type's name, or the refusal */
	} cases[] = {
		{ "virtio,device1", "net" },
		{ "virtio,device01", "net" },
		{ "virtio,device2", "no backing path" },
		{ "virtio,device3f", "serves no virtio device 63" },
		{ "virtio,device", "is not virtio,device<ID>" },
		{ "virtio,device-1", "is not virtio" },
		{ "virtio,deviceG", "is not virtio" },
		{ "virtio,device1A", "is not virtio" },
		{ "virtio,device1 ", "is not virtio" },
		{ "virtio,device123456789", "is not virtio" },
		{ "virtio,devices1", "is not virtio" },
		{ "Virtio,device1", "is not virtio" },
		{ "", "is not virtio" },
	};
	static struct xb_xsdev x;

	T_ASSERT(!load_conf(""));
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *kv[] = { "type", cases[i].type, NULL };
		int rc;

		set_nodes(kv);
		rc = read_dev(&x, true, 0);
		if (rc ? !strstr(x.why, cases[i].want) :
			 strcmp(x.type->name, cases[i].want)) {
			t_fail(__FILE__, __LINE__, "'%s': %d %s", cases[i].type,
			       rc, rc ? x.why : x.msg);
			return;
		}
	}
	/* No type node at all. */
	set_nodes((const char *[]){ NULL });
	T_EQ(read_dev(&x, true, 0), -EINVAL);
	T_ASSERT(!strcmp(x.why, "no type"));
}

/* A NIC: its defaults and xvbd.conf's values in its line, one line. */
static void nic_line(void)
{
	const char *kv[] = { "type", "virtio,device1", "name", "web", NULL };
	static struct xb_xsdev x;

	T_ASSERT(!load_conf("[net]\nqueues = 2\n[guest web]\n"
			    "nic0.poll_us = 30\nnet1.bridge = none\n"));
	set_nodes(kv);
	T_EQ(read_dev(&x, true, 0), 0);
	T_ASSERT(!strcmp(x.guest, "web"));
	T_ASSERT(!strncmp(
		x.msg,
		"add net 0 base=0x2000000,irq=33,grants=0,queues=2,poll_us=30,bridge=xenbr0,ifname=vxb3.0,mac=",
		strlen("add net 0 base=0x2000000,irq=33,grants=0,queues=2,poll_us=30,bridge=xenbr0,ifname=vxb3.0,mac=")));
	T_ASSERT(strchr(x.msg, '\n') == x.msg + strlen(x.msg) - 1);
	T_EQ(read_dev(&x, true, 1), 0);
	T_ASSERT(strstr(x.msg, ",bridge=none,ifname=vxb3.1,"));
	T_ASSERT(!strstr(x.msg, "poll_us"));
	/* Its MAC is another NIC's: refused, naming it. */
	T_EQ(read_dev(&x, true, 1), 0);
	taken_mac = strstr(x.msg, "mac=") + 4;
	{
		char mac[18];

		snprintf(mac, sizeof(mac), "%s", taken_mac);
		taken_mac = mac;
		T_EQ(read_dev(&x, true, 1), -EINVAL);
		taken_mac = NULL;
		T_ASSERT(strstr(x.why, "MAC "));
		T_ASSERT(strstr(x.why, " is already d9's elsewhere"));
	}
	/* A guest without a plain name: domainN's settings and defaults. */
	kv[3] = "we b";
	set_nodes(kv);
	T_ASSERT(!load_conf("[guest domain3]\nnic0.mac = 00:16:3e:00:00:33\n"));
	T_EQ(read_dev(&x, true, 0), 0);
	T_ASSERT(!x.guest[0]);
	T_ASSERT(strstr(x.msg, ",bridge=xenbr0,"));
	T_ASSERT(strstr(x.msg, ",mac=00:16:3e:00:00:33\n"));
}

/* Disk slots: xvb-NAME: makes a device of type NAME, else a disk. */
static void disk_slots(void)
{
	static const struct {
		const char *params;
		const char *want; /* a piece of the line, or of the refusal */
		int rc;
	} cases[] = {
		{ "/etc/xen/xvb-net:mac=00:16:3e:00:00:05,queues=3",
		  ",bridge=xenbr0,ifname=vxb3.51712,mac=00:16:3e:00:00:05,queues=3\n",
		  0 },
		{ "xvb-net:", ",mac=", 0 },
		{ "/etc/xen/xvb-net:base=0x2000200", "'base' in the target",
		  -1 },
		{ "/etc/xen/xvb-net:mac=00:16:3e:00:00:05,devid=1",
		  "'devid' in the target", -1 },
		{ "/etc/xen/xvb-net:irq=40", "'irq' in the target", -1 },
		{ "/etc/xen/xvb-net:grants=1", "'grants' in the target", -1 },
		{ "/etc/xen/xvb-net:colour=blue",
		  "unknown key 'colour' for net", -1 },
		{ "/etc/xen/xvb-net:queues=9", "queues must be 1 to 8 for net",
		  -1 },
		{ "/etc/xen/xvb-net:mac=00:16:3e:00:00:05,mac=00:16:3e:00:00:06",
		  "mac= given twice", -1 },
		/* Not a type's name: a disk, whose file is missing. */
		{ "/etc/xen/xvb-nett:x", "/etc/xen/xvb-nett:x: No such file",
		  -1 },
		{ "/etc/xen/xvb-NET:x", "No such file", -1 },
		{ "/etc/xen/xvb-net/x", "No such file", -1 },
		{ "/dev/null", "neither a regular file nor a block device",
		  -1 },
		{ "a\nb", "params holds a line break", -1 },
		{ "", "bad or missing params", -1 },
	};
	static struct xb_xsdev x;

	T_ASSERT(!load_conf(""));
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *kv[] = { "params", cases[i].params, "mode", "w",
				     NULL };
		int rc;

		set_nodes(kv);
		rc = read_dev(&x, false, 51712);
		if ((rc != 0) != (cases[i].rc != 0) ||
		    !strstr(rc ? x.why : x.msg, cases[i].want)) {
			t_fail(__FILE__, __LINE__, "'%s': %d %s",
			       cases[i].params, rc, rc ? x.why : x.msg);
			return;
		}
	}
}

/* A plain disk: mode, serial, conf's queues, path last and whole. */
static void disk_line(void)
{
	char dir[64], path[128], want[256];
	const char *kv[] = { "params", path,	      "mode",  "w", "dev",
			     "xvda",   "device-type", "cdrom", NULL };
	static struct xb_xsdev x;
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/xvb-xsdev-XXXXXX");
	T_ASSERT(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a,queues=9.img", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	T_ASSERT(fd >= 0);
	close(fd);
	T_ASSERT(!load_conf("[blk]\nqueues = 3\n[guest g]\n"
			    "blk51712.poll_us = 7\n"));
	set_nodes(kv);
	T_EQ(read_dev(&x, false, 51712), 0);
	snprintf(
		want, sizeof(want),
		"add blk 51712 base=0x2000000,irq=33,grants=0,mode=r,serial=xvda,queues=3,path=%s\n",
		path);
	if (strcmp(x.msg, want))
		t_fail(__FILE__, __LINE__, "got %s", x.msg);
	/* A serial that is not a plain name is left out; auto is no key. */
	kv[5] = "xv da";
	kv[7] = "disk";
	T_ASSERT(!load_conf("[blk]\nqueues = auto\n"));
	set_nodes(kv);
	T_EQ(read_dev(&x, false, 51712), 0);
	snprintf(
		want, sizeof(want),
		"add blk 51712 base=0x2000000,irq=33,grants=0,mode=w,path=%s\n",
		path);
	if (strcmp(x.msg, want))
		t_fail(__FILE__, __LINE__, "got %s", x.msg);
	/* Hostile windows and modes. */
	kv[3] = "rw";
	set_nodes(kv);
	T_EQ(read_dev(&x, false, 51712), -EINVAL);
	T_ASSERT(!strcmp(x.why, "mode is neither r nor w"));
	unlink(path);
	rmdir(dir);
}

/* Base, irq, grant_usage: each refused with its reason. */
static void window_nodes(void)
{
	static const struct {
		const char *node, *val, *why;
	} cases[] = {
		{ "base", "banana", "bad or missing base" },
		{ "base", "0x2000100", "not a 0x200-aligned window" },
		{ "base", "0x10000000", "not a 0x200-aligned window" },
		{ "irq", "99", "not a virtio SPI" },
		{ "irq", "-1", "bad or missing irq" },
		{ "irq", "1024", "bad or missing irq" },
		{ "grant_usage", "2", "grant_usage is neither 0 nor 1" },
	};
	static struct xb_xsdev x;

	T_ASSERT(!load_conf(""));
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *kv[] = { "type", "virtio,device1", NULL };

		set_nodes(kv);
		for (unsigned int k = 0; k < ARRAY_SIZE(nodes); k++)
			if (!nodes[k].name ||
			    !strcmp(nodes[k].name, cases[i].node)) {
				nodes[k].name = cases[i].node;
				nodes[k].val = cases[i].val;
				break;
			}
		if (read_dev(&x, true, 0) != -EINVAL ||
		    !strstr(x.why, cases[i].why)) {
			t_fail(__FILE__, __LINE__, "%s=%s: %s", cases[i].node,
			       cases[i].val, x.why);
			return;
		}
	}
}

T_MAIN(T_CASE(generic_types), T_CASE(nic_line), T_CASE(disk_slots),
       T_CASE(disk_line), T_CASE(window_nodes))
