/* SPDX-License-Identifier: MIT */
/*
 * A device type as the backend sees it: one table entry per virtio device
 * xvbd can serve. backend/ knows devices only through this table
 * (xvb_devtypes, devices/registry.c); a device folder provides its entry
 * and builds from its own devices/<name>/module.mk. Nothing here is Xen's:
 * a device type is tested without Xen, and a new device touches no file in
 * backend/.
 *
 * A device's configuration travels as text, "key=value,key=value", the
 * same whether it came from the command line (--dev NAME:SPEC), from
 * xvbd.conf or from xenstore. The backend parses the keys every device has
 * (base, irq, devid, grants, queues, poll_us, coalesce_us) and hands every
 * other key to the type's parse_key. The worker parses the spec again in
 * its own process, so a conf never holds pointers into the supervisor. A
 * key called "path" comes last in a spec and takes the rest of it, commas
 * included (a file name may hold commas).
 */
#ifndef XVB_DEVICES_DEVTYPE_H
#define XVB_DEVICES_DEVTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/evl.h"
#include "virtio/gmem.h"
#include "virtio/vdev.h"

/* Most bytes a type's parsed configuration takes (a path of PATH_MAX). */
#define XVB_DEVCONF_MAX 8192

/* What the backend gives a device when it opens it (the worker's thread). */
struct xvb_devenv {
	const struct gmem *gm; /* guest memory: foreign maps or grants */
	struct evl *loop;      /* the worker's loop: the transport's thread */
	/*
	 * Where queue i may run: loops[i] (another thread's loop: reach it
	 * with evl_post/evl_call), or @loop where the array, or an entry, is
	 * NULL. nr_loops entries.
	 */
	struct evl *const *loops;
	unsigned int nr_loops;
	/*
	 * Queues to run, at most max_queues: "queues" if given, else the
	 * backend's choice from the guest's vCPUs and the host's CPUs; 0 for
	 * a type with max_queues 0 (its own count).
	 */
	unsigned int queues;
	int poll_us;	    /* "poll_us": -1 means the type's own default */
	int coalesce_us;    /* "coalesce_us": -1 means the type's default */
	int domid;	    /* for log prefixes and names; -1 if none */
	unsigned int devid; /* the device's index or xenstore id */
	const char *name;   /* the device's name in logs, e.g. "vrng0" */
	const char *guest;  /* the guest's name (xenstore), or NULL */
	/*
	 * A directory the device may create its own files in (sockets),
	 * for example /run/xvbd; NULL when the backend has none (tests).
	 */
	const char *run_dir;
};

struct xvb_devtype {
	/*
	 * Short name: `--dev NAME:SPEC`, the [NAME] section of xvbd.conf, the
	 * Xen 4.17 disk-slot target prefix "xvb-NAME:" and the log prefix
	 * "vNAME<devid>". Lower case letters and digits.
	 */
	const char *name;
	uint32_t virtio_id;  /* VIRTIO_ID_*: Xen 4.18+ `type=virtio,deviceN` */
	const char *summary; /* one line for --help, e.g. "entropy source" */
	/*
	 * The device's own spec keys, NULL-terminated: what parse_key takes,
	 * what xvbd.conf may set in [NAME], and the documentation's list.
	 */
	const char *const *keys;
	/* Most queues "queues" may ask for; 0: the key is refused. */
	unsigned int max_queues;
	/*
	 * xvbd.conf, [guest NAME]: besides "NAME<devid>.KEY" for one device,
	 * @alias<devid>.KEY (NULL: none; "nic" for net, as xvbd.conf first
	 * had it), and a plain KEY for each of @guest_keys (NULL-terminated,
	 * or NULL) sets it for every device of this type of the guest. No
	 * two types share a guest key (tests/unit/backend_registry).
	 */
	const char *alias;
	const char *const *guest_keys;
	/*
	 * One of @keys whose value no two devices of this type on the host may
	 * share (a NIC's MAC), or NULL: the supervisor refuses the second,
	 * naming the first; xvbd.conf may set it per device only.
	 */
	const char *unique_key;

	/* Size of the type's parsed configuration (XVB_DEVCONF_MAX at most). */
	size_t conf_size;
	/* Defaults into a zeroed conf of conf_size bytes. May be NULL. */
	void (*conf_init)(void *conf);
	/*
	 * One of the type's own keys (one in @keys; the backend has checked
	 * that). Returns 0, or -EINVAL/-ERANGE with a message for the
	 * administrator in @err.
	 */
	int (*parse_key)(void *conf, const char *key, const char *val,
			 char *err, size_t errlen);
	/*
	 * The whole conf once every key is in (required keys present, files
	 * usable). Runs in the supervisor before a device is offered and in
	 * the worker before open. Returns 0 or -EINVAL with @err. May be NULL.
	 */
	int (*check)(const void *conf, char *err, size_t errlen);
	/*
	 * The value @key (one of @keys) takes where neither the spec nor
	 * xvbd.conf sets it, when it depends on where the device is (a NIC's
	 * MAC from its guest's name and devid): written into @val, returns 0;
	 * -ENOENT if the key has no such default. The supervisor adds these
	 * to the spec it sends a worker (so that it can check @unique_key);
	 * @env has domid, devid and guest only. May be NULL.
	 */
	int (*default_key)(const char *key, const struct xvb_devenv *env,
			   char *val, size_t len);

	/*
	 * Creates the device: *@dev is the type's handle, *@vdev its
	 * transport half. On failure returns -errno, logs why, leaves nothing
	 * open. Runs on the worker's thread.
	 */
	int (*open)(void **dev, struct vdev **vdev, const void *conf,
		    const struct xvb_devenv *env);
	/* Resets and frees the device: no I/O left. Accepts NULL. */
	void (*close)(void *dev);
	/* SIGUSR1: one log line per device and per queue. May be NULL. */
	void (*log_state)(void *dev);
	/*
	 * SIGHUP: re-read what may change under a running device (a disk's
	 * size). Returns 1 if something changed, 0 if not, -errno. May be
	 * NULL.
	 */
	int (*reload)(void *dev);
};

/* Every device type xvbd serves, NULL-terminated (devices/registry.c). */
extern const struct xvb_devtype *const xvb_devtypes[];

/* The type called @name, or NULL. */
const struct xvb_devtype *xvb_devtype_by_name(const char *name);

/* The type of virtio device ID @id, or NULL. */
const struct xvb_devtype *xvb_devtype_by_id(uint32_t id);

/*
 * A configuration of @t from @spec, "key=value,..." of the type's own keys
 * only ("path", if given, last and taking the rest): zeroed, conf_init,
 * parse_key for each key, check. Returns it (free() it when the device is
 * closed) or NULL with the reason in @err. For tools and tests that open a
 * device as the worker does; the backend's own keys (base, irq, queues,
 * ...) are not parsed here: they reach a device through struct xvb_devenv.
 */
void *xvb_devconf_parse(const struct xvb_devtype *t, const char *spec,
			char *err, size_t errlen);

#endif
