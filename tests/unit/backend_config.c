// SPDX-License-Identifier: MIT
/* xvbd.conf: INI parsing, NIC settings by guest, derived MACs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backend/config.h"
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

	T_EQ(xb_config_load(&cfg, "/nonexistent/xvbd.conf", err, sizeof(err)),
	     0);
	T_EQ(cfg.n, 0);
	xb_config_free(&cfg);
}

static void nic_settings_by_guest(void)
{
	struct xb_config cfg;
	char err[128], br[IFNAMSIZ];
	uint8_t mac[6], mac2[6];

	T_ASSERT(!write_conf("# defaults\n"
			     "[net]\n"
			     "bridge = br-def   # comment\n"
			     "[guest web]\n"
			     "nic0.mac = 00:16:3e:01:02:03\n"
			     "nic1.bridge = br-one\n"
			     "[guest lone]\n"
			     "bridge = none\n"));
	T_EQ(xb_config_load(&cfg, path, err, sizeof(err)), 0);
	T_EQ(xb_config_nic(&cfg, "web", 0, br, mac, err, sizeof(err)), 0);
	T_ASSERT(!strcmp(br, "br-def"));
	T_EQ(mac[0], 0x00);
	T_EQ(mac[5], 0x03);
	T_EQ(xb_config_nic(&cfg, "web", 1, br, mac, err, sizeof(err)), 0);
	T_ASSERT(!strcmp(br, "br-one"));
	T_EQ(mac[0] & 3, 2); /* derived: local, unicast */
	T_EQ(xb_config_nic(&cfg, "lone", 0, br, mac, err, sizeof(err)), 0);
	T_ASSERT(!br[0]);
	/* Another guest: [net] only; its derived MAC differs and is stable. */
	T_EQ(xb_config_nic(&cfg, "other", 0, br, mac, err, sizeof(err)), 0);
	T_ASSERT(!strcmp(br, "br-def"));
	xb_derive_mac("other", 0, mac2);
	T_ASSERT(!memcmp(mac, mac2, 6));
	xb_derive_mac("other", 1, mac2);
	T_ASSERT(memcmp(mac, mac2, 6));
	xb_config_free(&cfg);
	unlink(path);
}

static void defaults_without_file(void)
{
	struct xb_config cfg = { 0 };
	char err[128], br[IFNAMSIZ];
	uint8_t mac[6];

	T_EQ(xb_config_nic(&cfg, "g", 0, br, mac, err, sizeof(err)), 0);
	T_ASSERT(!strcmp(br, XB_DEFAULT_BRIDGE));
	T_EQ(mac[0] & 3, 2);
}

static void bad_lines_and_values(void)
{
	static const char *const bad[] = {
		"key = value\n",      /* before any section */
		"[net\nbridge = x\n", /* unclosed section */
		"[net]\nno equals sign\n",
		"[net]\nbridge = 0123456789abcdefXYZ\n", /* long value ok, */
	};
	struct xb_config cfg;
	char err[128], br[IFNAMSIZ];
	uint8_t mac[6];

	for (unsigned int i = 0; i < 3; i++) {
		T_ASSERT(!write_conf(bad[i]));
		err[0] = '\0';
		T_EQ(xb_config_load(&cfg, path, err, sizeof(err)), -EINVAL);
		T_ASSERT(strstr(err, ":")); /* names the line */
	}
	/* ... but a bridge name longer than IFNAMSIZ is refused at use. */
	T_ASSERT(!write_conf(bad[3]));
	T_EQ(xb_config_load(&cfg, path, err, sizeof(err)), 0);
	T_EQ(xb_config_nic(&cfg, "g", 0, br, mac, err, sizeof(err)), -EINVAL);
	xb_config_free(&cfg);
	T_ASSERT(!write_conf("[net]\nmac = 01:00:5e:00:00:01\n"));
	T_EQ(xb_config_load(&cfg, path, err, sizeof(err)), 0);
	T_EQ(xb_config_nic(&cfg, "g", 0, br, mac, err, sizeof(err)), -EINVAL);
	xb_config_free(&cfg);
	unlink(path);
}

T_MAIN(T_CASE(missing_file_is_empty), T_CASE(nic_settings_by_guest),
       T_CASE(defaults_without_file), T_CASE(bad_lines_and_values))
