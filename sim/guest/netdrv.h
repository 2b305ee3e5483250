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

struct netdrv {
	struct xsim *sim;
	uint32_t domid;
	unsigned int vcpu, spi;
	uint64_t base;
	struct simbus sb;
	struct gdrv drv;
	struct fakeguest *fg;
	uint8_t mac[6];
	uint64_t rx_buf[NETDRV_SLOTS]; /* indexed by descriptor head ... */
	uint16_t rx_head_slot[256];    /* ... through this map */
	uint64_t tx_buf[NETDRV_SLOTS];
	uint16_t tx_free; /* TX slots not in flight */
	uint16_t tx_head_slot[256];
	uint16_t tx_slot_free[NETDRV_SLOTS];
	uint64_t nr_irqs;
};

/* Probes, negotiates, sets up RX/TX, posts RX buffers. 0 or -errno. */
int netdrv_up(struct netdrv *n, struct xsim *sim, uint32_t domid,
	      unsigned int vcpu, uint64_t base, unsigned int spi,
	      struct fakeguest *fg);
void netdrv_down(struct netdrv *n);

/* Queues one frame for transmission and kicks. 0 or -ENOSPC. */
int netdrv_send(struct netdrv *n, const void *frame, unsigned int len);

/*
 * Waits up to @timeout_ms for one received frame, copies it to @buf (at
 * most @size bytes) and reposts its buffer; also reaps completed TX.
 * Returns the frame length, 0 on timeout, or -errno.
 */
int netdrv_recv(struct netdrv *n, void *buf, unsigned int size, int timeout_ms);

#endif
