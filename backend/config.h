/* SPDX-License-Identifier: MIT */
/*
 * xvbd's configuration file (default /etc/xen/xvbd.conf): what xl has no
 * syntax for, NIC bridges and MACs. INI-style:
 *
 *   [net]                 defaults for every NIC
 *   bridge = xenbr0       ("none": attach nothing, leave it to a script)
 *   [guest NAME]          one guest, by its xl name
 *   bridge = br1          all its NICs
 *   nic0.mac = 00:16:3e:12:34:56
 *   nic1.bridge = br2
 *
 * A NIC without a configured MAC gets a stable locally administered one
 * derived from the guest's name and the NIC's index.
 */
#ifndef XVB_BACKEND_CONFIG_H
#define XVB_BACKEND_CONFIG_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#define XB_DEFAULT_BRIDGE "xenbr0"

struct xb_cfg_entry {
	char section[72]; /* "net" or "guest NAME" */
	char key[32];
	char value[64];
};

struct xb_config {
	unsigned int n;
	struct xb_cfg_entry *e;
};

/*
 * Loads @path. A missing file is an empty configuration (returns 0); a bad
 * line is an error (-EINVAL, message in @err naming the line).
 */
int xb_config_load(struct xb_config *cfg, const char *path, char *err,
		   size_t errlen);
void xb_config_free(struct xb_config *cfg);

/* The value of @key in @section, or NULL. */
const char *xb_config_get(const struct xb_config *cfg, const char *section,
			  const char *key);

/*
 * The bridge and MAC of NIC @index of guest @name: from [guest NAME]
 * (nicN.key, then key), then [net], then the defaults. Returns 0, or
 * -EINVAL if a configured value is bad (message in @err).
 */
int xb_config_nic(const struct xb_config *cfg, const char *name,
		  unsigned int index, char bridge[IFNAMSIZ], uint8_t mac[6],
		  char *err, size_t errlen);

/* A locally administered unicast MAC from @name and @index, stable. */
void xb_derive_mac(const char *name, unsigned int index, uint8_t mac[6]);

#endif
