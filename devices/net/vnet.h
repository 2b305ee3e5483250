/* SPDX-License-Identifier: MIT */
/*
 * virtio-net internals shared by the files of devices/net: the device, its
 * TAP, the receive and transmit queues (one pair until VIRTIO_NET_F_MQ, so
 * multiqueue is more of the same) and the control queue.
 */
#ifndef XVB_DEVICES_NET_VNET_H
#define XVB_DEVICES_NET_VNET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_net.h>

#include "net.h"
#include "lib/evl.h"
#include "virtio/vdev.h"
#include "virtio/vq.h"
#include "virtio/vqrun.h"

/* A modern driver always uses the 12-byte header (virtio 1.2, 5.1.6). */
#define VNET_HDR_LEN 12u
#define VNET_ETH_HLEN 14u
#define VNET_VLAN_HLEN 4u
/* The largest IP datagram in a VLAN-tagged Ethernet frame. */
#define VNET_MAX_FRAME (65535u + VNET_ETH_HLEN + VNET_VLAN_HLEN)
#define VNET_MIN_MTU 68u
#define VNET_MAX_MTU (VNET_MAX_FRAME - VNET_ETH_HLEN - VNET_VLAN_HLEN)
#define VNET_DEFAULT_MTU 1500u

/*
 * Queue pair i: receiveq 2i, transmitq 2i + 1; the control queue after the
 * last pair, which is the first unless the driver took MQ (virtio 1.2,
 * 5.1.2): index 2 without MQ, 2 * max_virtqueue_pairs with it.
 */
#define VNET_RXQ 0u
#define VNET_TXQ 1u
#define VNET_CTRLQ(pairs) (2u * (pairs))

/* MAC filter entries, unicast and multicast together (as QEMU's). */
#define VNET_MAC_TABLE 64u

#define VNET_QUEUE_MAX 1024u /* largest conf->queue_size accepted */
#define VNET_DEFAULT_QUEUE 256u
#define VNET_TX_BUDGET 256u   /* chains popped per run before yielding */
#define VNET_CTRL_BUDGET 64u  /* control commands per run */
#define VNET_TX_MAX_RETRY 16u /* -EAGAIN rounds before a frame is dropped */
#define VNET_IDLE_LOOKS 4u    /* transmit: timer looks after a burst */
#define VNET_MAX_POLL_US 1000u
#define VNET_MAX_COALESCE_US 1000u
#define VNET_RX_MAX_CHAINS 256u
#define VNET_RX_BUDGET 256u /* chains popped per run before yielding */
/* iovecs of one TAP read: UIO_MAXIOV, the header and the spill byte included */
#define VNET_RX_MAX_IOV 1024u

struct vnet;

/*
 * The TAP: one descriptor per queue pair (IFF_MULTI_QUEUE with more than
 * one), and what we did to the interface.
 */
struct vnet_tap {
	int fd; /* qfd[0] */
	int qfd[VNET_MAX_PAIRS];
	unsigned int nr_q;
	bool multi; /* IFF_MULTI_QUEUE */
	char ifname[IFNAMSIZ];
	bool own_fd;  /* close fd at vnet_tap_close */
	bool created; /* we made the interface: closing fd removes it */
	bool bridged; /* we added it to bridge[] */
	char bridge[IFNAMSIZ];
	unsigned int mtu; /* the interface's MTU after setup */
};

/*
 * Receive queue. Popped chains wait in a FIFO until there is room for the
 * largest frame the TAP may hand over; one readv at a time then lands the
 * header in private memory and the frame straight in the guest's buffers.
 */
struct vnet_rx {
	struct vnet *net;
	struct vq *vq;
	struct evl *loop;
	int fd;			  /* its pair's TAP queue */
	struct vnet_stats *stats; /* its pair's counters */

	struct vq_chain *chains; /* FIFO of popped chains, cap slots */
	unsigned int cap;
	unsigned int max; /* chains the FIFO takes: cap, or the ring's size */
	unsigned int head, count;
	unsigned int limit;  /* chains one frame may span: 1 without MRG */
	unsigned int fit;    /* leading chains the next read covers */
	unsigned int nr_iov; /* their iovecs */
	uint64_t room;	     /* their writable bytes */
	bool full;	     /* no further chain fits in one read */
	uint32_t need;	     /* bytes (header included) of the largest frame */
	uint32_t need_min;   /* reads with less room are never started */

	struct virtio_net_hdr_v1
		hdr;   /* the TAP writes it here, not to the guest */
	uint8_t spill; /* a frame reaching it did not fit */
	struct iovec iov[VNET_RX_MAX_IOV];
	unsigned int read_iov; /* iov entries of the read in flight */

	struct evl_op read_op, poll_op;
	struct vqrun_defer tick; /* budget spent: fill again from the loop */
	unsigned int nr_ops;	 /* read, poll and tick in flight */
	unsigned int budget;	 /* chains popped in this run */
	bool reading;
	bool polling;
	bool cancelled; /* reset asked the kernel to cancel read and poll */
	bool readable;	/* no -EAGAIN since the last POLLIN */
	bool paused;	/* a read failed oddly: wait for the guest's kick */
	bool disabled;	/* its pair is off (VQ_PAIRS_SET): no reads */
	bool running;
	bool stopping;
	bool pushed;
};

/* One transmitted frame, from pop to push. Lives in the queue's ring. */
struct vnet_txreq {
	struct evl_op op;
	struct vnet_tx *tx;
	struct vnet_txreq *next; /* on the queue's wait list */
	bool busy;		 /* the writev is in flight */
	bool cancelled;		 /* reset asked the kernel to cancel it */
	bool done;		 /* finished; pushed once older ones are */
	unsigned int retries;
	uint32_t len; /* frame bytes, header excluded */
	unsigned int nr_iov;
	struct virtio_net_hdr_v1 hdr; /* private copy, checked */
	struct iovec iov[VQ_MAX_IOV + 1];
	struct vq_chain chain;
};

/*
 * Transmit queue: chains are popped into a ring of requests in order and
 * pushed back in the same order, so used elements follow the avail ring.
 */
struct vnet_tx {
	struct vnet *net;
	struct vq *vq;
	struct evl *loop;
	int fd;			  /* its pair's TAP queue */
	struct vnet_stats *stats; /* its pair's counters */
	bool disabled;		  /* its pair is off: frames are dropped */

	struct vnet_txreq *reqs;
	unsigned int nr;
	unsigned int head, count;	     /* oldest popped, and how many */
	struct vnet_txreq *wait, *wait_tail; /* -EAGAIN or no SQE: retry */

	struct evl_op poll_op; /* POLLOUT while frames wait */
	unsigned int nr_ops; /* writes and poll in flight (run.nr_ops: timers) */
	bool polling;
	bool poll_cancelled;
	/*
	 * Popping, the look-again timer after a burst (net->poll_ns), the
	 * interrupt hold (net->coalesce_ns), the tick (virtio/vqrun.h).
	 */
	struct vqrun run;
};

/*
 * What the guest asked to receive (VIRTIO_NET_CTRL_RX, MAC_TABLE_SET):
 * frames to other destinations are dropped before they reach its buffers.
 * Until a driver says otherwise everything passes (promiscuous), as a
 * driver without CTRL_RX expects.
 */
struct vnet_filter {
	bool promisc, allmulti;
	bool uni_all, multi_all; /* a table too long for ours: pass the class */
	unsigned int nr_uni, nr_multi;
	uint8_t mac[VNET_MAC_TABLE][6]; /* unicast entries, then multicast */
};

/*
 * Control queue, on the device's loop: commands are handled at once as
 * they are popped, nothing goes to the loop but the tick of a run that
 * spent its budget.
 */
struct vnet_ctrl {
	struct vnet *net;
	struct vq *vq;	  /* where MQ puts it: set again at DRIVER_OK */
	struct vqrun run; /* run.vq follows vq */
	struct vq_chain chain;
};

/*
 * A queue pair and the loop its I/O runs on. A pair on another thread's
 * loop (remote) is reached with messages: everything in it but the
 * messages is touched by that thread only.
 */
struct vnet_pair {
	struct vnet_rx rx;
	struct vnet_tx tx;
	struct evl *loop;
	bool remote;
	bool enabled; /* the device's thread's view (VQ_PAIRS_SET) */
	struct evl_msg rx_msg, tx_msg, link_msg;
	struct vnet_stats stats;
};

struct vnet {
	struct vdev vdev;
	struct vnet_tap tap;
	struct evl *loop; /* the device's thread: transport, control queue */
	uint8_t mac_default[6];
	uint16_t mtu;  /* config space */
	bool link_up;  /* VIRTIO_NET_S_LINK_UP; atomic: pairs read it */
	bool tap_lost; /* atomic; the TAP went away: the link stays down */
	/* Written by the control queue, read by every pair's receive path. */
	pthread_mutex_t filter_lock;
	uint8_t mac[6]; /* config space; CTRL_MAC_ADDR_SET changes it */
	struct vnet_filter filter;
	bool resetting;	       /* inside ops->reset */
	unsigned int offloads; /* TUN_F_* in force */
	uint32_t poll_ns;      /* conf->poll_us: transmit looks without kicks */
	uint32_t coalesce_ns;  /* conf->coalesce_us: transmit interrupts held */
	struct vnet_stats stats; /* the control queue's; pairs keep theirs */
	unsigned int nr_pairs;	 /* > 1: VIRTIO_NET_F_MQ offered */
	unsigned int cur_pairs;	 /* in use: 1 until VQ_PAIRS_SET */
	struct vnet_pair *pairs;
	struct vnet_ctrl ctrl;
};

static inline struct vnet *vnet_from_vdev(struct vdev *vdev)
{
	return container_of(vdev, struct vnet, vdev);
}

/*
 * tap.c: opens (or adopts conf->tap_fd), sets the vnet header size, brings
 * the interface up with the MTU of @conf and adds it to the bridge.
 * Returns 0 or -errno; on failure nothing is left open or changed.
 */
int vnet_tap_open(struct vnet_tap *tap, const struct vnet_conf *conf,
		  struct log_ctx *log);
/* Undoes vnet_tap_open; accepts a tap that never opened (fd < 0). */
void vnet_tap_close(struct vnet_tap *tap, struct log_ctx *log);
/* TUNSETOFFLOAD with TUN_F_* @flags. Returns 0 or -errno. */
int vnet_tap_offload(struct vnet_tap *tap, unsigned int flags);
/* Attaches or detaches TAP queue @q (multiqueue). Returns 0 or -errno. */
int vnet_tap_queue(struct vnet_tap *tap, unsigned int q, bool attach);

/* net.c: the TAP is gone (-EBADFD, POLLERR): link down for good. Any thread. */
void vnet_tap_lost(struct vnet *net, int err);
/* Sets the pairs in use (VQ_PAIRS_SET, checked). Device's thread. */
int vnet_set_pairs(struct vnet *net, unsigned int n);
/*
 * A pair's counter, written by its thread only, read by others (stats):
 * relaxed atomics, no lock prefix.
 */
static inline void vnet_count(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

static inline bool vnet_link_up(const struct vnet *net)
{
	return __atomic_load_n(&net->link_up, __ATOMIC_ACQUIRE);
}

/* rx.c */
int vnet_rx_init(struct vnet_rx *rx, struct vnet *net, struct vq *vq,
		 struct evl *loop, unsigned int cap);
void vnet_rx_fini(struct vnet_rx *rx);
/* DRIVER_OK: sizes reads for the negotiated features. */
void vnet_rx_setup(struct vnet_rx *rx);
/* Fills the FIFO and reads from the TAP, or waits for buffers. */
void vnet_rx_run(struct vnet_rx *rx);
/*
 * Its pair goes off: the read or poll in flight is cancelled and reaped
 * (running the loop), the chains it holds stay for when it comes back on.
 */
void vnet_rx_disable(struct vnet_rx *rx);
/* The guest kicked the queue: new buffers, maybe. */
void vnet_rx_kick(struct vnet_rx *rx);
/*
 * Queue resets: each sets ->stopping (which the caller clears once every
 * queue has stopped), cancels its operations and runs the loop until they
 * are reaped, then releases every chain it held. Return 0, or -errno if
 * the loop failed (chains then stay mapped: the kernel may still use them).
 */
int vnet_rx_stop(struct vnet_rx *rx);

/* tx.c */
int vnet_tx_init(struct vnet_tx *tx, struct vnet *net, struct vq *vq,
		 struct evl *loop, unsigned int nr);
void vnet_tx_fini(struct vnet_tx *tx);
void vnet_tx_run(struct vnet_tx *tx);
/* The link went down: frames waiting to be retried are dropped. */
void vnet_tx_link_down(struct vnet_tx *tx);
int vnet_tx_stop(struct vnet_tx *tx); /* as vnet_rx_stop */

/* ctrl.c */
/* Forgets the driver's filter: everything passes again. */
void vnet_filter_reset(struct vnet_filter *f);
/* True if a frame to @dst passes the filter. */
bool vnet_filter_pass(struct vnet *net, const uint8_t dst[6]);
void vnet_ctrl_init(struct vnet_ctrl *ctrl, struct vnet *net, struct vq *vq);
/* DRIVER_OK: the control queue is @vq now (its index depends on MQ). */
void vnet_ctrl_start(struct vnet_ctrl *ctrl, struct vq *vq);
void vnet_ctrl_run(struct vnet_ctrl *ctrl);
int vnet_ctrl_stop(struct vnet_ctrl *ctrl); /* as vnet_rx_stop */

#endif
