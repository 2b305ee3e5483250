/* SPDX-License-Identifier: MIT */
/*
 * Private state of the simulated hypervisor. One mutex (sim->lock) guards
 * all of it; one condition variable wakes every waiter, who rechecks.
 */
#ifndef XVB_SIM_CORE_H
#define XVB_SIM_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/hvm/ioreq.h>

#include "sim/proto.h"
#include "sim/sim.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ull << PAGE_SHIFT)

struct xsim_conn;
struct xs_node;
struct xs_watch;
struct xs_event;
struct xs_txn;

enum port_state { PORT_FREE, PORT_RESERVED, PORT_UNBOUND, PORT_INTERDOMAIN };
/* Who consumes notifications arriving on a port. */
enum port_user { USER_NONE, USER_XEN, USER_CONN, USER_GUEST };

struct xsim_port {
	uint8_t state;
	uint8_t user;
	bool masked;	     /* USER_CONN: delivered, not yet unmasked */
	bool pending;	     /* USER_CONN: arrived while masked */
	uint16_t remote_dom; /* PORT_UNBOUND: the domain that may bind */
	uint16_t peer_dom;   /* PORT_INTERDOMAIN */
	uint32_t peer_port;
	struct xsim_conn *conn;	 /* USER_CONN */
	struct xsim_ioserv *srv; /* USER_XEN: ioreq port of srv */
	unsigned int vcpu;	 /*            for this vCPU */
	uint64_t events;	 /* USER_GUEST: notifications seen */
	uint64_t acked;		 /* USER_GUEST: consumed by waits */
};

struct xsim_bank {
	uint64_t base;
	uint64_t size;
	int fd;
	uint8_t *hva;
};

struct xsim_range {
	uint64_t s, e; /* inclusive */
};

struct xsim_rangeset {
	struct xsim_range *r;
	unsigned int n, cap;
};

#define NR_RANGE_TYPES 3 /* XEN_DMOP_IO_RANGE_PORT, MEMORY, PCI */

struct xsim_ioserv {
	struct xsim_dom *d;
	unsigned int id;
	uint16_t emulator; /* the domain that created it */
	bool enabled;
	bool page_alloc; /* the ioreq frame was handed out once */
	int fd;
	shared_iopage_t *page;
	uint32_t port[XSIM_MAX_VCPUS]; /* guest-side ioreq port per vCPU */
	struct xsim_rangeset range[NR_RANGE_TYPES];
};

struct xsim_vcpu {
	bool busy;	 /* a guest call runs on this vCPU */
	bool pending;	 /* an ioreq waits for its server */
	bool invalidate; /* send IOREQ_TYPE_INVALIDATE before the next access */
	struct xsim_ioserv *srv;
	uint8_t prev_state;
	int result;
	uint64_t data;
};

struct xsim_grant {
	bool in_use;
	bool readonly;
	uint16_t to_dom;
	uint64_t gfn;
	unsigned int maps;
};

struct xsim_irq {
	uint64_t count;
	bool pending;
	bool level;
};

struct xsim_dom {
	struct xsim_dom *next;
	uint16_t domid;
	unsigned int nr_vcpus, nr_spis, nr_grants;
	bool paused, dying, crashed, introduced;
	char crash_reason[160];
	unsigned int users; /* guest calls inside, holding a pointer */
	struct xsim_bank bank[2];
	unsigned int nr_banks;
	struct xsim_port port[XSIM_NR_PORTS];
	struct xsim_ioserv *srv[XSIM_MAX_SERVERS];
	struct xsim_vcpu *vcpu;
	struct xsim_grant *grant;
	struct xsim_irq *irq;
};

/* One library handle, seen from the simulator. */
struct xsim_conn {
	struct xsim_conn *next;
	int fd;
	unsigned int kind;
	uint16_t domid;	  /* the domain the library runs in */
	int restrict_dom; /* -1: unrestricted */
	/* evtchn: ports delivered and not yet read; efd readable iff count */
	int efd;
	uint32_t *ring;
	unsigned int head, count;
	/* xenstore: efd readable iff events queued */
	struct xs_watch *watches;
	struct xs_event *evq, **evq_tail;
	struct xs_txn *txns;
	uint32_t next_txn;
	/* gnttab */
	unsigned int max_grants, grants;
	/* privcmd: what this handle has mapped (its process's exit unmaps it) */
	uint64_t fmem_pages;
	unsigned int resources;
};

struct xsim {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	struct xsim_dom *doms;
	struct xsim_conn *conns;
	struct xs_node *xs_root;
	uint64_t xs_gen;
	struct xsim_stats stats;
	char last_error[256];
	unsigned int libxl_timeout_ms;
	bool quiet;
	/* server thread */
	char *sock_path;
	int lfd, epfd, wake_fd;
	pthread_t thread;
	bool running;
};

/* sim.c */
struct xsim_dom *dom_find(struct xsim *sim, uint32_t domid);
void sim_report(struct xsim *sim, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void dom_crash(struct xsim *sim, struct xsim_dom *d, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Absolute deadline from a relative timeout; wait returns false on expiry. */
void deadline_set(struct timespec *ts, int timeout_ms);
bool sim_wait(struct xsim *sim, const struct timespec *deadline,
	      int timeout_ms);

/* evtchn.c */
int evtchn_alloc_unbound(struct xsim_dom *d, uint16_t remote_dom);
int evtchn_bind_interdomain(struct xsim *sim, struct xsim_dom *ld,
			    uint16_t rdom, uint32_t rport);
void evtchn_close(struct xsim *sim, struct xsim_dom *d, uint32_t port);
void evtchn_send(struct xsim *sim, struct xsim_dom *d, uint32_t port);
void evtchn_conn_unmask(struct xsim_conn *c, struct xsim_dom *d, uint32_t port);
int evtchn_conn_pop(struct xsim_conn *c);
void evtchn_conn_close(struct xsim *sim, struct xsim_conn *c);
bool evtchn_port_valid(const struct xsim_dom *d, uint32_t port);

/* ioreq.c */
int ioreq_server_create(struct xsim *sim, struct xsim_dom *d, uint16_t emulator,
			int bufioreq, unsigned int *id);
int ioreq_server_destroy(struct xsim *sim, struct xsim_dom *d, uint16_t caller,
			 unsigned int id);
int ioreq_server_info(struct xsim_dom *d, uint16_t caller, unsigned int id,
		      bool gfns);
int ioreq_server_range(struct xsim_dom *d, uint16_t caller, unsigned int id,
		       unsigned int type, uint64_t s, uint64_t e, bool map);
int ioreq_server_set_state(struct xsim *sim, struct xsim_dom *d,
			   uint16_t caller, unsigned int id, bool enabled);
int ioreq_server_frame(struct xsim_dom *d, uint16_t caller, unsigned int id,
		       uint64_t frame, uint64_t nr, int *fd);
void ioreq_port_notified(struct xsim *sim, struct xsim_ioserv *s,
			 unsigned int vcpu);
void ioreq_dom_teardown(struct xsim *sim, struct xsim_dom *d);
int irq_set_level(struct xsim *sim, struct xsim_dom *d, unsigned int irq,
		  unsigned int level);

/* mem.c */
int mem_dom_init(struct xsim_dom *d, uint64_t ram_bytes);
void mem_dom_free(struct xsim_dom *d);
/* The bank holding [gfn, gfn + count) or -1; *off is the byte offset in it. */
int mem_find(const struct xsim_dom *d, uint64_t gfn, uint64_t count,
	     uint64_t *off);
int grant_map(struct xsim *sim, struct xsim_conn *c,
	      const struct xsim_gref *refs, unsigned int n, bool writable,
	      struct xsim_run_map *out, int *fds, unsigned int *nfds);
void grant_unmap(struct xsim *sim, struct xsim_conn *c,
		 const struct xsim_gref *refs, unsigned int n);

/* xs.c: the xst_ prefix keeps clear of libxenstore's exported xs_ names. */
int xst_init(struct xsim *sim);
void xst_fini(struct xsim *sim);
void xst_conn_close(struct xsim *sim, struct xsim_conn *c);
/* Every call below takes the caller's domid; c may be NULL (no txn). */
int xst_read(struct xsim *sim, struct xsim_conn *c, uint16_t dom, uint32_t t,
	     const char *path, char **val, unsigned int *len);
int xst_write(struct xsim *sim, struct xsim_conn *c, uint16_t dom, uint32_t t,
	      const char *path, const void *val, unsigned int len);
int xst_mkdir(struct xsim *sim, struct xsim_conn *c, uint16_t dom, uint32_t t,
	      const char *path);
int xst_rm(struct xsim *sim, struct xsim_conn *c, uint16_t dom, uint32_t t,
	   const char *path);
/* names: malloc'd, NUL-separated; *n entries, *len bytes. */
int xst_directory(struct xsim *sim, struct xsim_conn *c, uint16_t dom,
		  uint32_t t, const char *path, char **names, unsigned int *len,
		  unsigned int *n);
int xst_get_perms(struct xsim *sim, struct xsim_conn *c, uint16_t dom,
		  uint32_t t, const char *path, struct xsim_perm **perms,
		  unsigned int *n);
int xst_set_perms(struct xsim *sim, struct xsim_conn *c, uint16_t dom,
		  uint32_t t, const char *path, const struct xsim_perm *perms,
		  unsigned int n);
int xst_watch(struct xsim *sim, struct xsim_conn *c, const char *path,
	      const char *token);
int xst_unwatch(struct xsim *sim, struct xsim_conn *c, const char *path,
		const char *token);
/* Pops one event into buf as path NUL token NUL; -EAGAIN if none. */
int xst_pop_event(struct xsim *sim, struct xsim_conn *c, char *buf,
		  unsigned int max, unsigned int *len);
int xst_txn_start(struct xsim *sim, struct xsim_conn *c, uint32_t *id);
int xst_txn_end(struct xsim *sim, struct xsim_conn *c, uint32_t id, bool abort);
/* Fire a special watch (@introduceDomain, @releaseDomain). */
void xst_fire_special(struct xsim *sim, const char *name);

/* server.c */
int server_start(struct xsim *sim, const char *path);
void server_stop(struct xsim *sim);

#endif
