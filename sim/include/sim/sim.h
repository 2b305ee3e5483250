/* SPDX-License-Identifier: MIT */
/*
 * The simulated Xen as a library: a guest program creates one struct xsim,
 * which serves the drop-in libxen* libraries on its own thread, and drives
 * the simulated guest (MMIO, RAM, grants, interrupts, xenstore) from its own.
 */
#ifndef XVB_SIM_SIM_H
#define XVB_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xsim;

/* Arm guest layout (xen/include/public/arch-arm.h). */
#define XSIM_RAM0_BASE 0x40000000ull
#define XSIM_RAM0_MAX 0xc0000000ull /* 3 GiB */
#define XSIM_RAM1_BASE 0x200000000ull
#define XSIM_VIRTIO_MMIO_BASE 0x02000000ull
#define XSIM_VIRTIO_MMIO_SIZE 0x200ull
#define XSIM_VIRTIO_SPI_FIRST 33
#define XSIM_VIRTIO_SPI_LAST 43

#define XSIM_MAX_VCPUS 128 /* ioreq_t slots in one page */
#define XSIM_NR_PORTS 1024 /* event channels per domain */
#define XSIM_MAX_SERVERS 8 /* MAX_NR_IOREQ_SERVERS */

struct xsim_config {
	const char *socket_path;       /* NULL: no socket server (core only) */
	unsigned int libxl_timeout_ms; /* 0: libxl's 10 s */
	bool quiet;		       /* do not print reported errors */
};

/*
 * Create the simulator; with a socket path, also start the server thread
 * listening there (an existing socket file is replaced). Dom0 exists from
 * the start. Returns 0 or -errno; *out is owned by the caller.
 */
int xsim_create(const struct xsim_config *cfg, struct xsim **out);
/* Stop the server, drop every domain and connection. Accepts NULL. */
void xsim_destroy(struct xsim *sim);
/* How long the simulated libxl waits for backend states from now on
 * (0: libxl's 10 s). */
void xsim_set_libxl_timeout(struct xsim *sim, unsigned int ms);

struct xsim_domain_config {
	uint32_t domid;
	unsigned int nr_vcpus;	/* 1..XSIM_MAX_VCPUS */
	uint64_t ram_bytes;	/* page multiple; above 3 GiB spills to RAM1 */
	unsigned int nr_spis;	/* 0: 32 (SPIs 32..63) */
	unsigned int nr_grants; /* 0: 4096 grant entries */
	bool paused;		/* created paused, like xl create -p */
};

/* Returns 0, -EEXIST (domid in use), -EINVAL, -ENOMEM. */
int xsim_domain_create(struct xsim *sim, const struct xsim_domain_config *cfg);
/*
 * Kill the domain: wakes blocked vCPUs (they return -ESRCH), destroys its
 * ioreq servers and ports, fires @releaseDomain. -ESRCH if missing.
 */
int xsim_domain_destroy(struct xsim *sim, uint32_t domid);
int xsim_domain_unpause(struct xsim *sim, uint32_t domid);
/* 1 if crashed (reason copied to buf), 0 if alive, -ESRCH if missing. */
int xsim_domain_crashed(struct xsim *sim, uint32_t domid, char *buf,
			size_t len);

/*
 * One guest MMIO access of 1, 2, 4 or 8 bytes (naturally aligned) from a
 * vCPU. Blocks until the ioreq server answers or timeout_ms passes
 * (negative: no limit). Returns 0; -EFAULT: data abort (no enabled server
 * maps the address); -ETIMEDOUT (the ioreq stays outstanding and the vCPU
 * answers -EBUSY until it completes); -EIO: the domain crashed;
 * -ESRCH: no such domain; -EINVAL: bad vcpu, size or alignment.
 * Reads return the value zero-extended from size bytes.
 */
int xsim_mmio_read(struct xsim *sim, uint32_t domid, unsigned int vcpu,
		   uint64_t addr, unsigned int size, uint64_t *val,
		   int timeout_ms);
int xsim_mmio_write(struct xsim *sim, uint32_t domid, unsigned int vcpu,
		    uint64_t addr, unsigned int size, uint64_t val,
		    int timeout_ms);
/*
 * Model a guest that gave memory back (XENMEM_decrease_reservation): every
 * vCPU sends IOREQ_TYPE_INVALIDATE before its next access. A new domain
 * starts with this pending on vCPU 0 (Xen on Arm sends one at boot).
 */
int xsim_request_invalidate(struct xsim *sim, uint32_t domid);

/* Guest RAM. ptr: NULL unless [gpa, gpa + len) lies in one RAM bank. */
void *xsim_ram_ptr(struct xsim *sim, uint32_t domid, uint64_t gpa, size_t len);
int xsim_ram_read(struct xsim *sim, uint32_t domid, uint64_t gpa, void *buf,
		  size_t len);
int xsim_ram_write(struct xsim *sim, uint32_t domid, uint64_t gpa,
		   const void *buf, size_t len);

/*
 * Grant table of the guest: entry gref lets to_domid map frame gfn.
 * Returns 0, -EINVAL (gref out of range, gfn not RAM), -EBUSY (entry in use
 * and mapped), -ESRCH. End fails with -EBUSY while the grant is mapped.
 */
int xsim_grant(struct xsim *sim, uint32_t domid, uint32_t gref,
	       uint32_t to_domid, uint64_t gfn, bool readonly);
int xsim_grant_end(struct xsim *sim, uint32_t domid, uint32_t gref);

/*
 * Wait until SPI spi of the guest is pending, then acknowledge it. Returns
 * 0, -ETIMEDOUT, -EINVAL (not an SPI of this guest), -ESRCH.
 */
int xsim_irq_wait(struct xsim *sim, uint32_t domid, unsigned int spi,
		  int timeout_ms);
/* Rising edges delivered so far on spi (0 on bad arguments). */
uint64_t xsim_irq_count(struct xsim *sim, uint32_t domid, unsigned int spi);

/* Guest-side event channels (for xenevtchn_bind_unbound_port peers). */
int xsim_evtchn_bind(struct xsim *sim, uint32_t domid, uint32_t remote_dom,
		     uint32_t remote_port);
int xsim_evtchn_notify(struct xsim *sim, uint32_t domid, uint32_t port);
/* Waits for a notification on the guest's port; 0, -ETIMEDOUT, -EINVAL. */
int xsim_evtchn_wait(struct xsim *sim, uint32_t domid, uint32_t port,
		     int timeout_ms);

/*
 * Xenstore as domain as_domid (0: the toolstack). Paths are absolute.
 * read returns a malloc'd NUL-terminated value (caller frees) or NULL with
 * *err = -errno. The others return 0 or -errno like xenstored.
 */
char *xsim_xs_read(struct xsim *sim, uint32_t as_domid, const char *path,
		   int *err);
int xsim_xs_write(struct xsim *sim, uint32_t as_domid, const char *path,
		  const char *val);
int xsim_xs_printf(struct xsim *sim, uint32_t as_domid, const char *path,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Writes n nodes as one change (libxl's transactions): watches fire after. */
int xsim_xs_write_atomic(struct xsim *sim, uint32_t as_domid,
			 const char *const *paths, const char *const *vals,
			 unsigned int n);
int xsim_xs_mkdir(struct xsim *sim, uint32_t as_domid, const char *path);
int xsim_xs_rm(struct xsim *sim, uint32_t as_domid, const char *path);
/* perms[0] is the owner and the default for others, like xs_set_permissions. */
int xsim_xs_set_perms(struct xsim *sim, uint32_t as_domid, const char *path,
		      const uint32_t *ids, const uint32_t *perms,
		      unsigned int n);
/*
 * Wait until path reads want (timeout_ms < 0: no limit). 0 or -ETIMEDOUT.
 */
int xsim_xs_wait(struct xsim *sim, const char *path, const char *want,
		 int timeout_ms);

/* What the simulator holds for the libraries: all 0 once they cleaned up. */
struct xsim_stats {
	unsigned int conns;	   /* open library handles */
	unsigned int ports;	   /* event channels bound by library handles */
	unsigned int servers;	   /* ioreq servers alive */
	uint64_t fmem_pages;	   /* foreign-mapped guest pages not unmapped */
	unsigned int resources;	   /* map_resource mappings not unmapped */
	unsigned int grant_maps;   /* grant references mapped */
	unsigned int watches;	   /* xenstore watches */
	unsigned int transactions; /* open xenstore transactions */
	unsigned int errors;	   /* protocol errors reported (see below) */
};
void xsim_get_stats(struct xsim *sim, struct xsim_stats *st);
/*
 * Protocol violations the simulator reported (a backwards ioreq state, a
 * bad vp_eport, ...): the last message, copied into buf. Returns the count.
 */
unsigned int xsim_last_error(struct xsim *sim, char *buf, size_t len);

#endif
