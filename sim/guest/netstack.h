/* SPDX-License-Identifier: MIT */
/*
 * The simulated guest's network stack: its virtio-net driver forwards
 * frames between the virtio rings and a TAP in a "guest" network namespace
 * (with vnet headers, so offloads pass), so the kernel's TCP/IP there
 * drives xvbd with real traffic. See docs/testing.md.
 */
#ifndef XVB_SIM_NETSTACK_H
#define XVB_SIM_NETSTACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fakeguest.h"
#include "sim/sim.h"

/* Guest RAM the stack needs (rings, 68 KiB TX and RX buffers), in MiB. */
#define NSTACK_RAM_MIB 64

struct nstack_conf {
	const char *netns;   /* the guest namespace: a name or a path */
	const char *ifname;  /* the TAP in it; default "eth0" */
	uint64_t feat_off;   /* virtio-net feature bits not to negotiate */
	uint32_t rxbuf;	     /* mergeable RX buffer bytes; 0: 4096 */
	bool rx_off;	     /* post no RX buffers until SIGUSR2 */
	char *const *argv;   /* command to run once up (NULL: until SIGTERM) */
	const char *tap;     /* xvbd's TAP name, for the command */
	pid_t worker;	     /* xvbd's worker, for the command */
	const char *workdir; /* for the statistics file */
	/* The caller's verdict printer ("ok"/"FAIL" lines). */
	void (*check)(bool cond, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));
};

/* Moves the calling thread into namespace @name. 0, or -1 with errno. */
int nstack_enter(const char *name);

/*
 * Parses a --net-off list ("mrg,tso,csum,ctrl,mac,mtu,status"; each name
 * also drops the features resting on it) into feature bits. 0 or -EINVAL.
 */
int nstack_parse_off(const char *list, uint64_t *bits);

/*
 * Brings the NIC at @base/@spi up from vCPUs 0 (receive, control,
 * interrupts) and 1 (transmit), creates the TAP in the guest namespace,
 * forwards until the command exits (or SIGTERM/SIGINT without one), then
 * resets the device and removes the TAP. SIGUSR1 writes the counters to
 * $XVB_NET_STATS; SIGUSR2 starts RX posting after rx_off. Reports through
 * conf->check. Returns 0, or -errno if the stack did not come up or the
 * command failed.
 */
int nstack_run(const struct nstack_conf *conf, struct xsim *sim, uint32_t domid,
	       uint64_t base, unsigned int spi, struct fakeguest *fg);

#endif
