/* SPDX-License-Identifier: MIT */
/*
 * The virtio-console device model with multiport: named ports, each a UNIX
 * stream socket in dom0 that one client at a time may connect to; bytes
 * moved between the guest's port queues and the client through io_uring.
 */
#ifndef XVB_DEVICES_CONSOLE_H
#define XVB_DEVICES_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/evl.h"
#include "virtio/vdev.h"

struct vcon;

/* Ports of one device: 2 * 16 + 2 queues. */
#define VCON_MAX_PORTS 16u
/* A port name's bytes (it is a file name and the guest's port name). */
#define VCON_NAME_MAX 63u
/*
 * A socket's path: the directory, '/', the name and a NUL must fit in
 * sun_path (108 bytes).
 */
#define VCON_PATH_MAX 108u
/* Separates port names in "ports=": safe in xl, xenstore and shells. */
#define VCON_PORT_SEP ':'

/* What vcon_create needs. Plain data: the registry's parsed spec too. */
struct vcon_conf {
	char names[VCON_MAX_PORTS][VCON_NAME_MAX + 1];
	unsigned int nr_ports;
	/* Port 0 is a console (the guest's hvc) rather than a plain port. */
	bool console;
	/*
	 * The directory the sockets go in, absolute. It must exist, be a
	 * directory of ours and writable by nobody else. "" with @run_dir
	 * in vcon_create: <run_dir>/<guest> is made (0700) and removed.
	 */
	char dir[VCON_PATH_MAX];
	uint16_t queue_size; /* QueueNumMax: a power of two <= 1024; 0: 128 */
};

/* Where a device without conf->dir puts its sockets, and its log name. */
struct vcon_env {
	const char *run_dir; /* NULL: conf->dir is required */
	const char *guest;   /* the guest's name; NULL or unsafe: d<domid> */
	int domid;	     /* for log prefixes and names; -1 if none */
	const char *name;    /* device name in logs, e.g. "vconsole0" */
};

/* Counters, for tests and logs. Bytes are payload bytes. */
struct vcon_stats {
	uint64_t rx_bytes;   /* dom0 -> guest */
	uint64_t tx_bytes;   /* guest -> dom0 */
	uint64_t tx_dropped; /* guest bytes with no client to take them */
	uint64_t clients;    /* connections taken */
	uint64_t gone;	     /* of those, closed (either end) */
	uint64_t refused;    /* connections closed: the port had a client */
	uint64_t ctrl_in;    /* control messages sent to the guest */
	uint64_t ctrl_out;   /* control messages from the guest */
	uint64_t ctrl_bad;   /* of those, ignored as malformed */
};

/*
 * Checks a port name: 1 to VCON_NAME_MAX bytes of [A-Za-z0-9._-], not "."
 * or "..". Returns 0 or -EINVAL.
 */
int vcon_name_check(const char *name);

/*
 * Parses "name:name:..." into @conf (names and nr_ports). Returns 0, or
 * -EINVAL (empty, bad or repeated name) / -ERANGE (too many) with a message
 * in @err.
 */
int vcon_parse_ports(struct vcon_conf *conf, const char *val, char *err,
		     size_t errlen);

/*
 * Makes the socket directory (if conf->dir is ""), binds and listens on a
 * socket per port (0600), and builds the device on @loop, which must
 * outlive it. Returns 0 or -errno, logged (-EINVAL for a bad conf or an
 * unsafe directory, -ENAMETOOLONG for a path that does not fit, -EEXIST
 * for a path that is something other than a socket).
 */
int vcon_create(struct vcon **out, const struct vcon_conf *conf,
		const struct vcon_env *env, const struct gmem *gm,
		struct evl *loop);

/* The device's transport half, for vmmio_read/vmmio_write/vdev_kick. */
struct vdev *vcon_vdev(struct vcon *con);

/* Port @i's socket path, or NULL if there is no such port. */
const char *vcon_port_path(const struct vcon *con, unsigned int i);

/* Counters over all ports. Device's thread. */
void vcon_get_stats(const struct vcon *con, struct vcon_stats *st);

/* Logs the device's state, a line per port and per queue (SIGUSR1). */
void vcon_log_state(struct vcon *con);

/*
 * Resets the device, closes every client and socket, removes the socket
 * files (and the directory it made) and frees it. Accepts NULL. The loop's
 * thread only; it runs the loop until its own I/O is reaped.
 */
void vcon_destroy(struct vcon *con);

#endif
