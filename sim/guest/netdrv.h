/* SPDX-License-Identifier: MIT */
/*
 * The simulated guest's virtio-net driver: RX buffers posted and TX frames
 * queued in guest RAM with the 12-byte virtio-net header of a modern
 * device, MMIO through the simulated hypervisor, completions by interrupt.
 */
#ifndef XVB_SIM_NETDRV_H
#define XVB_SIM_NETDRV_H

#include <stdbool.h>
#include <stdint.h>

#include "fakeguest.h"
#include "gdrv.h"
#include "sim/sim.h"
#include "simbus.h"

#define NETDRV_BUF 2048 /* one RX/TX buffer: header + a full frame */
#define NETDRV_SLOTS 64 /* buffers per queue */

#define NETDRV_MAX_PAIRS 8

struct netdrv {
	struct xsim *sim;
	uint32_t domid;
	unsigned int vcpu, spi;
	uint64_t base;
	struct simbus sb;
	struct gdrv drv;
	struct fakeguest *fg;
	uint8_t mac[6];
	unsigned int pairs;   /* in use (VQ_PAIRS_SET with more than one) */
	unsigned int ctrlq;   /* the control queue's index, with MQ */
	unsigned int last_rx; /* the pair netdrv_recv's frame came on */
	/* Per pair: RX buffers by descriptor head through a map, TX slots. */
	uint64_t rx_buf[NETDRV_MAX_PAIRS][NETDRV_SLOTS];
	uint16_t rx_head_slot[NETDRV_MAX_PAIRS][256];
	uint64_t tx_buf[NETDRV_MAX_PAIRS][NETDRV_SLOTS];
	uint16_t tx_free[NETDRV_MAX_PAIRS]; /* TX slots not in flight */
	uint16_t tx_head_slot[NETDRV_MAX_PAIRS][256];
	uint16_t tx_slot_free[NETDRV_MAX_PAIRS][NETDRV_SLOTS];
	uint64_t rx_frames[NETDRV_MAX_PAIRS];
	uint64_t ctl; /* a page for control commands */
	uint64_t nr_irqs;
};

/* Probes, negotiates, sets up RX/TX, posts RX buffers. 0 or -errno. */
int netdrv_up(struct netdrv *n, struct xsim *sim, uint32_t domid,
	      unsigned int vcpu, uint64_t base, unsigned int spi,
	      struct fakeguest *fg);
void netdrv_down(struct netdrv *n);

/*
 * netdrv_up with up to @pairs queue pairs: with more than one it takes
 * VIRTIO_NET_F_MQ and the control queue and sends VQ_PAIRS_SET; n->pairs
 * says how many the device gave (1 without MQ).
 */
int netdrv_up_mq(struct netdrv *n, struct xsim *sim, uint32_t domid,
		 unsigned int vcpu, uint64_t base, unsigned int spi,
		 struct fakeguest *fg, unsigned int pairs);

/* netdrv_send on pair @pair's transmit queue. */
int netdrv_send_on(struct netdrv *n, unsigned int pair, const void *frame,
		   unsigned int len);

/* Queues one frame for transmission and kicks. 0 or -ENOSPC. */
int netdrv_send(struct netdrv *n, const void *frame, unsigned int len);

/*
 * Waits up to @timeout_ms for one received frame, copies it to @buf (at
 * most @size bytes) and reposts its buffer; also reaps completed TX.
 * Returns the frame length, 0 on timeout, or -errno.
 */
int netdrv_recv(struct netdrv *n, void *buf, unsigned int size, int timeout_ms);

#endif
