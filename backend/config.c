// SPDX-License-Identifier: MIT
/* xvbd.conf: a small INI reader and the NIC settings drawn from it. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "config.h"

#define MAX_ENTRIES 4096

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int add(struct xb_config *cfg, const char *section, const char *key,
	       const char *value)
{
	struct xb_cfg_entry *e;

	if (cfg->n == MAX_ENTRIES || strlen(key) >= sizeof(e->key) ||
	    strlen(value) >= sizeof(e->value))
		return -EINVAL;
	e = realloc(cfg->e, (cfg->n + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	cfg->e = e;
	e = &cfg->e[cfg->n++];
	snprintf(e->section, sizeof(e->section), "%s", section);
	snprintf(e->key, sizeof(e->key), "%s", key);
	snprintf(e->value, sizeof(e->value), "%s", value);
	return 0;
}

int xb_config_load(struct xb_config *cfg, const char *path, char *err,
		   size_t errlen)
{
	char line[256], section[72] = "";
	unsigned int no = 0;
	FILE *f;
	int rc = 0;

	cfg->n = 0;
	cfg->e = NULL;
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (!rc && fgets(line, sizeof(line), f)) {
		char *s, *eq, *hash = strchr(line, '#');

		no++;
		if (hash)
			*hash = '\0';
		s = trim(line);
		if (!*s)
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (!close || close[1] ||
			    (size_t)(close - s - 1) >= sizeof(section)) {
				rc = -EINVAL;
				break;
			}
			*close = '\0';
			snprintf(section, sizeof(section), "%s", trim(s + 1));
			continue;
		}
		eq = strchr(s, '=');
		if (!eq || !section[0]) {
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		rc = add(cfg, section, trim(s), trim(eq + 1));
	}
	fclose(f);
	if (rc) {
		snprintf(err, errlen, "%s:%u: bad line", path, no);
		xb_config_free(cfg);
	}
	return rc;
}

void xb_config_free(struct xb_config *cfg)
{
	free(cfg->e);
	cfg->e = NULL;
	cfg->n = 0;
}

const char *xb_config_get(const struct xb_config *cfg, const char *section,
			  const char *key)
{
	const char *v = NULL;

	/* The last setting wins, as in most configuration files. */
	for (unsigned int i = 0; i < cfg->n; i++)
		if (!strcmp(cfg->e[i].section, section) &&
		    !strcmp(cfg->e[i].key, key))
			v = cfg->e[i].value;
	return v;
}

void xb_derive_mac(const char *name, unsigned int index, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	char buf[96];
	int i;

	snprintf(buf, sizeof(buf), "xvb/%s/%u", name, index);
	for (const char *p = buf; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ULL;
	}
	for (i = 0; i < 6; i++)
		mac[i] = h >> (8 * i);
	mac[0] = (mac[0] & 0xfc) | 0x02; /* local, unicast */
}

/* @key of NIC @index: nicN.key, then key, in [guest NAME], then [net]. */
static const char *nic_get(const struct xb_config *cfg, const char *name,
			   unsigned int index, const char *key)
{
	char section[72], nkey[32];
	const char *v;

	snprintf(section, sizeof(section), "guest %s", name);
	snprintf(nkey, sizeof(nkey), "nic%u.%s", index, key);
	v = xb_config_get(cfg, section, nkey);
	if (!v)
		v = xb_config_get(cfg, section, key);
	if (!v)
		v = xb_config_get(cfg, "net", key);
	return v;
}

int xb_config_nic(const struct xb_config *cfg, const char *name,
		  unsigned int index, char bridge[IFNAMSIZ], uint8_t mac[6],
		  char *err, size_t errlen)
{
	const char *br = nic_get(cfg, name, index, "bridge");
	const char *m = nic_get(cfg, name, index, "mac");

	if (!br)
		br = XB_DEFAULT_BRIDGE;
	if (strlen(br) >= IFNAMSIZ || strpbrk(br, ",/ \t")) {
		snprintf(err, errlen, "bad bridge name '%s'", br);
		return -EINVAL;
	}
	/* "none": leave the TAP alone, for a hotplug script to attach. */
	snprintf(bridge, IFNAMSIZ, "%s", strcmp(br, "none") ? br : "");
	if (!m) {
		xb_derive_mac(name, index, mac);
		return 0;
	}
	if (xb_parse_mac(m, mac)) {
		snprintf(err, errlen, "bad unicast mac '%s'", m);
		return -EINVAL;
	}
	return 0;
}
