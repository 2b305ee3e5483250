/* SPDX-License-Identifier: MIT */
/*
 * virtio-console internals shared by the files of devices/console: the
 * device, its control queues and its ports (a socket, a client and a queue
 * pair each). Everything runs on the device's loop; every queue runs on
 * the shared machinery (virtio/vqrun.h).
 */
#ifndef XVB_DEVICES_CONSOLE_VCON_H
#define XVB_DEVICES_CONSOLE_VCON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "console.h"
#include "lib/evl.h"
#include "virtio/vdev.h"
#include "virtio/vq.h"
#include "virtio/vqrun.h"

#define VCON_DEFAULT_QUEUE 128u
#define VCON_QUEUE_MAX 1024u
#define VCON_CTRL_BUDGET 64u /* control messages taken (or sent) per run */
#define VCON_PORT_BUDGET 64u /* transmit chains dropped per run, no client */
#define VCON_CTRL_LEN 8u     /* struct virtio_console_control */

/*
 * Queues (virtio 1.2, 5.3.2): receiveq0, transmitq0, control receiveq,
 * control transmitq, then port 1's pair, port 2's...
 */
#define VCON_CIVQ 2u
#define VCON_COVQ 3u
static inline unsigned int vcon_rxq(unsigned int port)
{
	return port ? 2 * port + 2 : 0;
}

/* Control messages a port owes the guest, sent in this order. */
#define VCON_P_ADD 1u
#define VCON_P_CONSOLE 2u
#define VCON_P_NAME 4u
#define VCON_P_OPEN 8u

struct vcon;

/*
 * One direction of a port: its queue (on vqrun), the one chain it holds
 * and the one recvmsg or sendmsg on the client in flight, whose
 * completion resumes the queue.
 */
struct vcon_pq {
	struct vcon_port *port;
	struct vqrun run;
	struct evl_op op;
	struct vq_chain chain;
	struct msghdr msg;
	bool held;	   /* chain popped, not completed */
	unsigned int busy; /* the I/O in flight: 0 or 1 (for vqrun_stop) */
	bool cancelled;	   /* the kernel was asked to cancel it */
};

struct vcon_port {
	struct vcon *con;
	unsigned int id;
	const char *name;
	char path[VCON_PATH_MAX];
	dev_t sock_dev; /* the socket file we bound: removed only if still it */
	ino_t sock_ino;
	int lfd; /* listening socket */
	int cfd; /* the client, blocking (io_uring waits for it), or -1 */
	struct evl_watch accept_w;

	/* The guest's side, forgotten at reset. */
	bool added;	   /* PORT_ADD sent */
	bool ready;	   /* the guest said PORT_READY 1 */
	bool guest_open;   /* the guest's last PORT_OPEN */
	unsigned int pend; /* VCON_P_*: messages owed */
	bool open_sent;	   /* the host state the guest last heard */

	/* The client's side. */
	bool closing; /* hung up: waiting for its I/O before close() */
	bool hup;     /* the client hung up while a read was in flight */
	bool shut;    /* the guest closed: close the client once tx drained */
	struct evl_op hup_op;
	bool hup_busy;

	/*
	 * dom0 -> guest: one receive chain, one recvmsg. The queue holds
	 * off while the read is in flight, without a client and while the
	 * guest's end is closed; each of those ends resumes it.
	 */
	struct vcon_pq rx;

	/*
	 * guest -> dom0: one transmit chain, sendmsg until all is out. The
	 * queue holds off while a send is in flight or the client closes.
	 */
	struct vcon_pq tx;
	struct iovec tx_iov[VQ_MAX_IOV];
	unsigned int tx_nr; /* tx_iov entries left to send */

	uint64_t rx_bytes, tx_bytes, tx_dropped, clients, gone, refused;
};

struct vcon {
	struct vdev vdev;
	struct evl *loop;
	struct vcon_conf conf;
	unsigned int nr_ports;
	struct vcon_port *ports;
	char dir[VCON_PATH_MAX];
	bool own_dir;	   /* the default dir: removed at destroy if empty */
	struct vcon *next; /* on the process's list of devices */
	bool resetting;
	bool started; /* DRIVER_OK, until reset */

	/*
	 * The control queues (with MULTIPORT). The receiveq holds off while
	 * no port owes the guest a message (vcon_ctrl_send resumes it).
	 */
	struct vqrun civ_run, cov_run;
	struct vq_chain civ_chain, cov_chain; /* one popped at a time each */
	uint64_t ctrl_in, ctrl_out, ctrl_bad;
};

static inline struct vcon *vcon_from_vdev(struct vdev *vdev)
{
	return container_of(vdev, struct vcon, vdev);
}

static inline bool vcon_multiport(const struct vcon *con)
{
	return vdev_has(&con->vdev, VIRTIO_CONSOLE_F_MULTIPORT);
}

/* ---- port.c ---- */

/* Sets up the port's queue machinery (after vdev_init). */
void vcon_port_init(struct vcon_port *p);
/* Binds and listens; starts accepting. Returns 0 or -errno (logged). */
int vcon_port_open(struct vcon_port *p);
/* Closes the client and the socket, removes the file. Waits for I/O. */
void vcon_port_close(struct vcon_port *p);
/*
 * Something the port's queue waited for came (resumes it): a read for the
 * guest, a write to the client may start.
 */
void vcon_port_rx(struct vcon_port *p);
void vcon_port_tx(struct vcon_port *p);
/* The guest kicked one of the port's queues (a no-op while held off). */
void vcon_port_kick(struct vcon_port *p, bool tx);
/* The guest opened or closed its end (PORT_OPEN). */
void vcon_port_guest_open(struct vcon_port *p, bool open);
/*
 * Reset: stops the port's queues (its guest I/O cancelled and reaped),
 * gives held chains back and forgets the guest's state. The client stays
 * connected. The queues stay stopping: the device lets them run again.
 */
int vcon_port_reset(struct vcon_port *p);
/* The host state the guest should hear: a client is connected. */
static inline bool vcon_port_host_open(const struct vcon_port *p)
{
	return p->cfd >= 0 && !p->closing;
}
void vcon_port_log_state(struct vcon_port *p);

/* ---- console.c ---- */

/* Sends what the ports owe the guest on the control receiveq. */
void vcon_ctrl_send(struct vcon *con);
/* A port's host state changed: the guest is told (once it is ready). */
void vcon_host_changed(struct vcon_port *p);

#endif
