/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net device model: a TAP device per NIC, frames moved between
 * the guest's virtqueues and the TAP through io_uring on the caller's loop.
 */
#ifndef XVB_DEVICES_NET_H
#define XVB_DEVICES_NET_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/evl.h"
#include "virtio/vdev.h"

struct vnet;

#define VNET_MAX_PAIRS 8u

struct vnet_conf {
	char ifname[IFNAMSIZ]; /* TAP name, e.g. "vxb5.0"; created if absent */
	char bridge[IFNAMSIZ]; /* attach to this bridge; "" to leave alone */
	uint8_t mac[6];	       /* the guest's MAC (config space) */
	uint16_t mtu;	       /* 0: keep the TAP's (1500 for a new one) */
	uint16_t queue_size;   /* QueueNumMax: a power of two <= 1024; 0: 256 */
	/*
	 * >= 0: an already open TAP (tests, hotplug), opened with IFF_TAP |
	 * IFF_NO_PI | IFF_VNET_HDR. The device owns it once vnet_create
	 * succeeds (it is made non-blocking and closed at destroy); on
	 * failure it stays the caller's.
	 */
	int tap_fd;
	/*
	 * Queue pairs: 0 or 1 for one, up to VNET_MAX_PAIRS with
	 * VIRTIO_NET_F_MQ offered (and a multiqueue TAP; not with tap_fd).
	 */
	unsigned int nr_pairs;
	/*
	 * After a burst the transmit queues look at their rings a few more
	 * times, poll_us apart (at most 1000), before asking the guest to
	 * kick (a synchronous trap); 0: kicks back on at once.
	 */
	unsigned int poll_us;
	/*
	 * Interrupt moderation (at most 1000): the interrupt for transmit
	 * completions waits up to coalesce_us, and a receive interrupt
	 * meanwhile carries it (one line serves both); 0: none held.
	 */
	unsigned int coalesce_us;
	/*
	 * Where pair i does its I/O: loops[i], or the device's loop where
	 * the array or the entry is NULL. Another thread's loop (evl_thread)
	 * is reached with evl_post / evl_call and must keep running until
	 * vnet_destroy returned.
	 */
	struct evl *const *loops;
	int domid;	  /* for log prefixes; -1 if none */
	const char *name; /* device name in logs, e.g. "vnet0" */
};

/* Counters, for tests, benchmarks and logs. Frames, bytes without header. */
struct vnet_stats {
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_dropped; /* bad frames from the guest, or link down */
	uint64_t tx_errors;  /* the TAP refused a frame */
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_dropped; /* frames read from the TAP the guest cannot take */
	uint64_t rx_errors;  /* reads that failed */
	uint64_t rx_bad_bufs; /* receive chains returned unused (tiny, readable) */
	uint64_t rx_filtered; /* frames the guest's RX mode and MAC filter refused */
	uint64_t ctrl_cmds, ctrl_errs;
	uint64_t rx_polls; /* the TAP was empty: waited for a frame */
	uint64_t rx_starved; /* the guest's buffers ran short: waited for a kick */
};

/*
 * Creates (or adopts) the TAP, brings it up, attaches it to the bridge, and
 * builds the device on @loop, which must outlive it. Returns 0 or -errno
 * (-EPERM without CAP_NET_ADMIN, -ENODEV for a missing bridge, -EINVAL for
 * a bad conf or a tap_fd that is not a TAP with a vnet header, ...).
 */
int vnet_create(struct vnet **out, const struct vnet_conf *conf,
		const struct gmem *gm, struct evl *loop);

/* The device's transport half, for vmmio_read/vmmio_write/vdev_kick. */
struct vdev *vnet_vdev(struct vnet *net);

/*
 * The TAP descriptor the device does its I/O on, for fault-injection tests
 * (which may dup2() another file over it) and diagnostics. The device keeps
 * ownership.
 */
int vnet_tap_fd(struct vnet *net);

/* The TAP interface's name (the kernel's choice if conf->ifname was ""). */
const char *vnet_ifname(const struct vnet *net);

/*
 * Adds up the counters: exact once the device is reset; while pairs on
 * other threads run, each counter is as of a moment. Device's thread.
 */
void vnet_get_stats(const struct vnet *net, struct vnet_stats *st);

/*
 * Logs the device's state for an operator (xvbd's SIGUSR1): status and
 * counters, then each pair's queues and I/O in flight (on the pair's
 * thread, waited for). Device's thread.
 */
void vnet_log_state(struct vnet *net);

/*
 * Sets the link state the guest sees (VIRTIO_NET_S_LINK_UP) and raises a
 * config interrupt if it changed; while down, frames are dropped both ways.
 * A link lost with its TAP stays down. Loop thread only.
 */
void vnet_set_link(struct vnet *net, bool up);

/*
 * Resets the device (cancelling and reaping its I/O on the loop, which it
 * runs until then), closes the TAP (removing it if the device created it)
 * and frees it. Accepts NULL. Must run on the loop's thread.
 */
void vnet_destroy(struct vnet *net);

#endif
