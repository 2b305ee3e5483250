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
 *   [blk]                 defaults for every disk
 *   queues = auto
 *
 * A NIC without a configured MAC gets a stable locally administered one
 * derived from the guest's name and the NIC's index. The loader checks
 * everything it can without a guest: sections, keys, values, a key set
 * twice in a section, a MAC given twice.
 */
#ifndef XVB_BACKEND_CONFIG_H
#define XVB_BACKEND_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XB_DEFAULT_BRIDGE "xenbr0"

struct xb_cfg_entry {
	char section[72]; /* "net" or "guest NAME" */
	char key[32];
	char value[64];
	unsigned int line; /* where the file sets it */
};

struct xb_config {
	unsigned int n;
	struct xb_cfg_entry *e;
};

/*
 * Loads @path. A missing file is an empty configuration (returns 0) unless
 * @must_exist (a file the user named). Returns -EINVAL for a bad line
 * (@err: "PATH:LINE: why"), or another -errno for a file that cannot be
 * read (missing, a directory, no permission; @err says which).
 */
int xb_config_load(struct xb_config *cfg, const char *path, bool must_exist,
		   char *err, size_t errlen);
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

/* Whether @br can name a bridge (not "none": callers check that). */
bool xb_bridge_ok(const char *br);

/* A locally administered unicast MAC from @name and @index, stable. */
void xb_derive_mac(const char *name, unsigned int index, uint8_t mac[6]);

#endif
