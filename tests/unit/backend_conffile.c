// SPDX-License-Identifier: MIT
/* xvbd.conf: INI parsing, values checked by their device type, lookups. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backend/conffile.h"
#include "t.h"

static char path[64];

static int write_conf(const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/xvbd-conf-%d", getpid());
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	return 0;
}

static void missing_file_is_empty(void)
{
	struct xb_config cfg;
	char err[128];

	T_EQ(xb_config_load(&cfg, "/nonexistent/xvbd.conf", false, err,
			    sizeof(err)),
	     0);
	T_EQ(cfg.n, 0);
	xb_config_free(&cfg);
}

#define NET xvb_devtype_by_name("net")
#define BLK xvb_devtype_by_name("blk")

/* @want is what xb_config_dev finds (NULL: nothing). */
static bool dev_is(const struct xb_config *cfg, const struct xvb_devtype *t,
		   const char *guest, unsigned int devid, const char *key,
		   const char *want)
{
	const char *v = xb_config_dev(cfg, t, guest, devid, key);

	if (!v || !want)
		return v == want;
	return !strcmp(v, want);
}

static void settings_by_guest(void)
{
	struct xb_config cfg;
	char err[128];

	T_ASSERT(!write_conf("# defaults\n"
			     "[net]\n"
			     "bridge = br-def   # comment\n"
			     "queues = 2\n"
			     "[blk]\n"
			     "queues = 3\n"
			     "[guest web]\n"
			     "nic0.mac = 00:16:3e:01:02:03\n"
			     "net1.bridge = br-one\n"
			     "blk51712.queues = 4\n"
			     "queues = auto\n"
			     "[guest lone]\n"
			     "bridge = none\n"));
	T_EQ(xb_config_load(&cfg, path, false, err, sizeof(err)), 0);
	/* NAME<devid>.KEY or its alias, then the guest key, then [NAME]. */
	T_ASSERT(dev_is(&cfg, NET, "web", 0, "bridge", "br-def"));
	T_ASSERT(dev_is(&cfg, NET, "web", 0, "mac", "00:16:3e:01:02:03"));
	T_ASSERT(dev_is(&cfg, NET, "web", 1, "bridge", "br-one"));
	T_ASSERT(dev_is(&cfg, NET, "web", 1, "mac", NULL));
	T_ASSERT(dev_is(&cfg, NET, "lone", 0, "bridge", "none"));
	T_ASSERT(dev_is(&cfg, NET, "other", 0, "bridge", "br-def"));
	T_ASSERT(dev_is(&cfg, NET, NULL, 0, "bridge", "br-def"));
	/* queues in [guest web] is the disks' (a guest key of blk's). */
	T_ASSERT(dev_is(&cfg, NET, "web", 0, "queues", "2"));
	T_ASSERT(dev_is(&cfg, BLK, "web", 51712, "queues", "4"));
	T_ASSERT(dev_is(&cfg, BLK, "web", 51728, "queues", "auto"));
	T_ASSERT(dev_is(&cfg, BLK, "lone", 51712, "queues", "3"));
	/* A key of another type's is not this one's. */
	T_ASSERT(dev_is(&cfg, BLK, "lone", 51712, "bridge", NULL));
	xb_config_free(&cfg);
	unlink(path);
}

static void defaults_without_file(void)
{
	struct xb_config cfg = { 0 };

	T_ASSERT(dev_is(&cfg, NET, "g", 0, "bridge", NULL));
	T_ASSERT(dev_is(&cfg, BLK, "g", 0, "queues", NULL));
}

/* Loads @text; returns what xb_config_load did, its message in @err. */
static int load(const char *text, char *err, size_t errlen)
{
	struct xb_config cfg;
	int rc;

	if (write_conf(text))
		return -EIO;
	err[0] = '\0';
	rc = xb_config_load(&cfg, path, false, err, errlen);
	/* A refused file leaves nothing behind. */
	if (rc && (cfg.n || cfg.e))
		return -EFAULT;
	xb_config_free(&cfg);
	return rc;
}

/* Each bad file is refused at load with its line and the reason. */
static void bad_lines_and_values(void)
{
	static const struct {
		const char *text;
		unsigned int line;
		const char *why;
	} bad[] = {
		{ "key = value\n", 1, "before any [section]" },
		{ "[net\nbridge = x\n", 1, "without ']'" },
		{ "[net] x\n", 1, "text after the section header" },
		{ "[net]\nno equals sign\n", 2, "neither [section] nor" },
		{ "[net]\n= x\n", 2, "no key before '='" },
		{ "[net]\nbridge =\n", 2, "bridge has no value" },
		{ "[nett]\n", 1,
		  "unknown section [nett] (known: [guest NAME] and a device type's: [blk], [net]" },
		{ "[guest]\n", 1, "unknown section [guest]" },
		{ "[guest a.b]\n", 1, "guest name 'a.b'" },
		{ "[net]\nbrigde = x\n", 2, "unknown key 'brigde' in [net]" },
		{ "[net]\nblk0.queues = 1\n", 2,
		  "belongs in a [guest NAME] section" },
		{ "[blk]\npath = /x\nqueues = 0\n", 3,
		  "blk: queues must be 1 to 16 for blk" },
		{ "[guest g]\nblk5.mode = rw\n", 2,
		  "blk: mode must be r or w" },
		{ "[guest g]\nnet0.mac = 00:16:3e:00:00:01\n"
		  "nic1.mac = 00:16:3E:00:00:01\n",
		  3, "MAC 00:16:3E:00:00:01 is also given on line 2" },
		{ "[guest g]\nifname = x\n", 2,
		  "unknown key 'ifname' in a guest's section" },
		{ "[blk]\nbridge = x\n", 2, "unknown key 'bridge' in [blk]" },
		{ "[net]\nbridge = 0123456789abcdefXYZ\n", 2,
		  "bridge must be an interface name" },
		{ "[net]\nbridge = a b\n", 2, "bridge must be" },
		{ "[net]\nmac = 00:16:3e:00:00:01\n", 2,
		  "set nic<devid>.mac in [guest NAME]" },
		{ "[guest g]\nmac = 00:16:3e:00:00:01\n", 2,
		  "shared by several devices" },
		{ "[guest g]\nnic0.mac = 01:00:5e:00:00:01\n", 2,
		  "mac must be a unicast" },
		{ "[guest g]\nnic0.mac = 00:16:3e:00:00:0\n", 2,
		  "mac must be a unicast" },
		{ "[net]\nnic0.bridge = x\n", 2, "belongs in a [guest NAME]" },
		{ "[guest g]\nnicX.bridge = x\n", 2,
		  "unknown key 'nicX.bridge'" },
		{ "[guest g]\nnic0bridge = x\n", 2,
		  "unknown key 'nic0bridge'" },
		{ "[guest g]\nnic99999999999.bridge = x\n", 2,
		  "bad device number in 'nic99999999999.bridge'" },
		{ "[guest g]\nnic0.colour = x\n", 2,
		  "unknown key 'nic0.colour' (net takes bridge, ifname, queues, poll_us, coalesce_us, mac)" },
		{ "[net]\nqueues = 9\n", 2,
		  "net: queues must be 1 to 8 for net" },
		{ "[guest g]\nnic1.queues = 0\n", 2, "net: queues must be" },
		{ "[blk]\nqueues = 17\n", 2,
		  "blk: queues must be 1 to 16 for blk" },
		{ "[guest g]\nqueues = -1\n", 2, "blk: queues must be" },
		{ "[blk]\npoll_us = 1001\n", 2,
		  "blk: poll_us must be 0 to 1000" },
		{ "[guest g]\nnic0.coalesce_us = 1001\n", 2,
		  "net: coalesce_us must be 0 to 1000" },
		{ "[guest g]\nnic0.coalesce_us = -5\n", 2,
		  "net: coalesce_us must be" },
		{ "[blk]\ncoalesce_us = 1001\n", 2,
		  "blk: coalesce_us must be 0 to 1000" },
		{ "[guest g]\ncoalesce_us = fast\n", 2,
		  "blk: coalesce_us must be 0 to 1000" },
		{ "[blk]\ncoalesce_us = 50us\n", 2, "blk: coalesce_us" },
		{ "[blk]\ncoalesce = 50\n", 2,
		  "unknown key 'coalesce' in [blk] (known: path, mode, serial, queues, poll_us, coalesce_us)" },
		{ "[net]\nbridge = a\nbridge = b\n", 3,
		  "bridge set twice in [net] (first on line 2)" },
		/* A second header for the same section is no way round it. */
		{ "[guest g]\nqueues = 2\n[net]\n[guest g]\nqueues = 3\n", 5,
		  "set twice in [guest g] (first on line 2)" },
		{ "[guest a]\nnic0.mac = 00:16:3e:00:00:01\n[guest b]\n"
		  "nic2.mac = 00:16:3E:00:00:01\n",
		  4, "MAC 00:16:3E:00:00:01 is also given on line 2" },
		{ "[net]\nbridge = x\x01y\n", 2, "control character 0x01" },
		{ "[net]\nkey_of_more_than_thirty_one_chars = 1\n", 2,
		  "key longer than 31 characters" },
		/* Line numbers count lines, however long. */
		{ "[net]\n# 300 characters of comment: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
		  "bad\n",
		  3, "neither [section] nor" },
		{ "[net]\nbridge = 01234567890123456789012345678901234567890123456789012345678901234567890\n",
		  2, "value of bridge longer than 63 characters" },
	};
	char err[256], want[320];

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(want, sizeof(want), "%s:%u: ", path, bad[i].line);
		if (load(bad[i].text, err, sizeof(err)) != -EINVAL ||
		    strncmp(err, want, strlen(want)) ||
		    !strstr(err, bad[i].why)) {
			t_fail(__FILE__, __LINE__,
			       "case %u: wanted \"%s%s\", got \"%s\"", i, want,
			       bad[i].why, err);
			break;
		}
	}
	unlink(path);
}

/* Every key where it belongs, with its full range, loads. */
static void good_file_loads(void)
{
	struct xb_config cfg;
	char err[256];

	T_ASSERT(!write_conf("[net]\n"
			     "bridge = none\n"
			     "queues = auto\n"
			     "poll_us = 0\n"
			     "coalesce_us = 1000\n"
			     "[blk]\n"
			     "queues = 16\n"
			     "poll_us = auto\n"
			     "coalesce_us = auto\n"
			     "[guest web-1_a]\n"
			     "bridge = br0\n"
			     "queues = auto\n"
			     "poll_us = 1000\n"
			     "coalesce_us = 0\n"
			     "nic0.mac = 00:16:3e:00:00:01\n"
			     "nic51712.bridge = br1\n"
			     "nic1.queues = 8\n"
			     "nic1.poll_us = 20\n"
			     "nic1.coalesce_us = 0\n"
			     "\t[ guest other ]  # spaces and a comment\n"
			     "nic0.mac = 00:16:3e:00:00:02\n"));
	T_EQ(xb_config_load(&cfg, path, true, err, sizeof(err)), 0);
	T_EQ(cfg.n, 17);
	T_ASSERT(!strcmp(xb_config_get(&cfg, "guest other", "nic0.mac"),
			 "00:16:3e:00:00:02"));
	T_ASSERT(!strcmp(
		xb_config_get(&cfg, "guest web-1_a", "nic1.coalesce_us"), "0"));
	T_EQ(cfg.e[16].line, 21);
	xb_config_free(&cfg);
	unlink(path);
}

/* What is not a readable regular file is refused when it was named. */
static void unreadable_files(void)
{
	struct xb_config cfg;
	char err[256];

	T_EQ(xb_config_load(&cfg, "/nonexistent/xvbd.conf", true, err,
			    sizeof(err)),
	     -ENOENT);
	T_ASSERT(strstr(err, "cannot read /nonexistent/xvbd.conf: No such"));
	T_EQ(xb_config_load(&cfg, "/tmp", true, err, sizeof(err)), -EISDIR);
	T_ASSERT(strstr(err, "/tmp: it is a directory"));
	/* Even where a missing file would do. */
	T_EQ(xb_config_load(&cfg, "/tmp", false, err, sizeof(err)), -EISDIR);
	T_EQ(xb_config_load(&cfg, "/dev/null", false, err, sizeof(err)),
	     -ENODEV);
	T_ASSERT(strstr(err, "not a regular file"));
	T_EQ(cfg.n, 0);
	T_ASSERT(!cfg.e);
}

/* A NUL byte: binary, not a configuration. */
static void nul_byte_refused(void)
{
	static const char text[] = "[net]\nbridge = a\0b\n";
	struct xb_config cfg;
	char err[256];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/xvbd-conf-%d", getpid());
	f = fopen(path, "w");
	T_ASSERT(f);
	T_EQ(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
	fclose(f);
	T_EQ(xb_config_load(&cfg, path, false, err, sizeof(err)), -EINVAL);
	T_ASSERT(strstr(err, ":2: NUL byte"));
	unlink(path);
}

T_MAIN(T_CASE(missing_file_is_empty), T_CASE(settings_by_guest),
       T_CASE(defaults_without_file), T_CASE(bad_lines_and_values),
       T_CASE(good_file_loads), T_CASE(unreadable_files),
       T_CASE(nul_byte_refused))
