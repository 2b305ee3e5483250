/* SPDX-License-Identifier: MIT */
/*
 * Device specs, "key=value,key=value", as xvbd takes them from the command
 * line (static mode), from the supervisor's control line, and as the
 * supervisor builds them from xenstore: strict parsing, range and alignment
 * checks. The keys every device has are parsed here; the others go to the
 * device type's parse_key (include/devices/devtype.h).
 */
#ifndef XVB_BACKEND_DEVSPEC_H
#define XVB_BACKEND_DEVSPEC_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/devtype.h"

/* Interrupt moderation and kick-free polling: at most this many us. */
#define XB_MAX_COALESCE_US 1000u
#define XB_MAX_POLL_US 1000u

struct xb_devconf {
	const struct xvb_devtype *type;
	uint64_t base;	     /* guest-physical base of the 0x200 window */
	unsigned int irq;    /* SPI, 33..43 */
	unsigned int devid;  /* xenstore device id (vdev number), or index */
	bool has_devid;	     /* devid= was given */
	bool grants;	     /* grant_usage=1: addresses are grants */
	unsigned int queues; /* 1..type->max_queues; 0: automatic */
	int poll_us;	 /* kick-free polling (us); -1: the type's default */
	int coalesce_us; /* interrupt moderation (us); -1: the default */
	/* The type's own parsed keys (type->conf_size bytes). */
	alignas(16) unsigned char priv[XVB_DEVCONF_MAX];
};

/*
 * The keys a device's spec may have besides its type's, which xvbd.conf
 * may also set: queues, poll_us, coalesce_us (NULL-terminated).
 */
extern const char *const xb_tunable_keys[];

/*
 * Parses an unsigned integer in decimal or 0x-hex, the whole string, no
 * sign, no spaces, within [min, max]. Returns 0 or -EINVAL / -ERANGE.
 */
int xb_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Whether @key is one of @t's own keys. */
bool xb_type_has_key(const struct xvb_devtype *t, const char *key);

/* Whether @key is in the NULL-terminated @list (which may be NULL). */
bool xb_key_in(const char *const *list, const char *key);

/* Zeroes @c and sets the defaults of a device of type @t. */
void xb_devconf_init(struct xb_devconf *c, const struct xvb_devtype *t);

/*
 * Sets one key of @c: a common one (base, irq, grants=0|1, devid,
 * queues=1..max_queues, poll_us=0..1000, coalesce_us=0..1000) or one of
 * the type's. Returns 0, or -EINVAL with a message in @err.
 */
int xb_devconf_set(struct xb_devconf *c, const char *key, const char *val,
		   char *err, size_t errlen);

/*
 * Parses "key=value,key=value" for a device of type @t into @c. A key given
 * twice is refused; "path", if the type has it, comes last and takes the
 * rest. base= and irq= are required. Then checks as xb_check_devconf.
 * Returns 0, or -EINVAL with a message for the user in @err.
 */
int xb_parse_devspec(const char *spec, const struct xvb_devtype *t,
		     struct xb_devconf *c, char *err, size_t errlen);

/*
 * Checks a device's values (also those from xenstore): window inside the
 * virtio-mmio area and 0x200-aligned, SPI in range, then the type's check.
 * Returns 0 or -EINVAL with a message in @err.
 */
int xb_check_devconf(const struct xb_devconf *c, char *err, size_t errlen);

/*
 * "NAME:SPEC" (`--dev`): the type called NAME in *@t, SPEC in *@spec.
 * Returns 0, or -EINVAL with a message in @err (the known names).
 */
int xb_split_devarg(const char *arg, const struct xvb_devtype **t,
		    const char **spec, char *err, size_t errlen);

#endif
