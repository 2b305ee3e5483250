/* SPDX-License-Identifier: MIT */
/*
 * The wire protocol between the drop-in libxen* libraries and the simulator:
 * one SOCK_SEQPACKET connection per library handle, one fixed header per
 * message plus an optional payload, file descriptors by SCM_RIGHTS.
 */
#ifndef XVB_SIM_PROTO_H
#define XVB_SIM_PROTO_H

#include <stdint.h>

#define XSIM_MAGIC 0x4d495358u /* "XSIM" */
#define XSIM_VERSION 1
#define XSIM_PAYLOAD_MAX 16384
#define XSIM_MAX_FDS 4
#define XSIM_PAGE_SHIFT 12
#define XSIM_PAGE_SIZE (1u << XSIM_PAGE_SHIFT)

/* Environment: the socket path, and the domid the library runs in. */
#define XSIM_ENV_SOCKET "XVB_SIM_SOCKET"
#define XSIM_ENV_DOMID "XVB_SIM_DOMID"

/* What a connection is for: the library that opened it. */
enum xsim_kind {
	XSIM_KIND_EVTCHN = 1,
	XSIM_KIND_DM,
	XSIM_KIND_FMEM,
	XSIM_KIND_GNTTAB,
	XSIM_KIND_XS,
};

/*
 * Request and reply header. A request carries op, domid and args; the reply
 * repeats op and carries err (0 or a positive errno) and results in arg[].
 * len bytes of payload follow the header in the same datagram.
 */
struct xsim_msg {
	uint32_t op;
	int32_t err;
	uint32_t domid;
	uint32_t len;
	uint64_t arg[6];
};

enum xsim_op {
	/* Every connection: arg0 magic, arg1 version, arg2 kind; domid =
	   caller. */
	XSIM_OP_HELLO = 1,
	/* Every kind: restrict this handle to domid (xentoolcore semantics). */
	XSIM_OP_RESTRICT,

	/* evtchn. OPEN replies with the handle's eventfd (fd 0). */
	XSIM_OP_EVTCHN_OPEN = 0x100,
	XSIM_OP_EVTCHN_BIND_INTERDOMAIN, /* domid, arg0 remote port -> arg0 */
	XSIM_OP_EVTCHN_BIND_UNBOUND,	 /* domid = remote -> arg0 port */
	XSIM_OP_EVTCHN_UNBIND,		 /* arg0 port */
	XSIM_OP_EVTCHN_NOTIFY,		 /* arg0 port */
	XSIM_OP_EVTCHN_PENDING,		 /* -> arg0 port, or EAGAIN */
	XSIM_OP_EVTCHN_UNMASK,		 /* arg0 port */

	/* devicemodel (dm_op) */
	XSIM_OP_DM_CREATE_SERVER = 0x200, /* arg0 bufioreq -> arg0 id */
	XSIM_OP_DM_SERVER_INFO, /* arg0 id, arg1 want gfns -> arg0 port */
	XSIM_OP_DM_MAP_RANGE,	/* arg0 id, arg1 type, arg2 start, arg3 end */
	XSIM_OP_DM_UNMAP_RANGE, /* as MAP_RANGE */
	XSIM_OP_DM_SET_STATE,	/* arg0 id, arg1 enabled */
	XSIM_OP_DM_DESTROY_SERVER, /* arg0 id */
	XSIM_OP_DM_SET_IRQ_LEVEL,  /* arg0 irq, arg1 level */
	XSIM_OP_DM_NR_VCPUS,	   /* -> arg0 */

	/*
	 * foreignmemory. MAP: arg0 prot, payload struct xsim_run[]; reply
	 * payload struct xsim_run_map[] (one per run) and the bank memfds.
	 */
	XSIM_OP_FMEM_MAP = 0x300,
	XSIM_OP_FMEM_UNMAP,	   /* arg0 pages that had been mapped */
	XSIM_OP_FMEM_MAP_RESOURCE, /* arg0 type, arg1 id, arg2 frame, arg3 nr */
	XSIM_OP_FMEM_UNMAP_RESOURCE, /* arg0 type, arg1 id, arg2 nr */
	XSIM_OP_FMEM_RESOURCE_SIZE,  /* arg0 type, arg1 id -> arg0 frames */

	/* gnttab. MAP: arg0 writable, payload struct xsim_gref[] -> run maps. */
	XSIM_OP_GNT_MAP = 0x400,
	XSIM_OP_GNT_UNMAP,   /* payload struct xsim_gref[] */
	XSIM_OP_GNT_SET_MAX, /* arg0 */

	/*
	 * xenstore. arg0 is the transaction (0 = none); paths and values travel
	 * in the payload as described per op in PROTOCOL.md.
	 */
	XSIM_OP_XS_OPEN = 0x500, /* -> the watch eventfd (fd 0) */
	XSIM_OP_XS_READ,	 /* path -> value */
	XSIM_OP_XS_WRITE,	 /* arg1 path length; path NUL value */
	XSIM_OP_XS_MKDIR,	 /* path */
	XSIM_OP_XS_RM,		 /* path */
	XSIM_OP_XS_DIRECTORY,	 /* path -> arg0 count, names NUL-separated */
	XSIM_OP_XS_GET_PERMS,	 /* path -> struct xsim_perm[] */
	XSIM_OP_XS_SET_PERMS,	 /* arg1 count; struct xsim_perm[] then path */
	XSIM_OP_XS_WATCH,	 /* path NUL token NUL */
	XSIM_OP_XS_UNWATCH,	 /* path NUL token NUL */
	XSIM_OP_XS_READ_WATCH,	 /* -> path NUL token NUL, or EAGAIN */
	XSIM_OP_XS_TXN_START,	 /* -> arg0 id */
	XSIM_OP_XS_TXN_END,	 /* arg0 id, arg1 abort */
	XSIM_OP_XS_INTRODUCED,	 /* domid -> arg0 0/1 */
};

/* A run of guest frames to map. */
struct xsim_run {
	uint64_t gfn;
	uint64_t count;
};

/* Where a run (or a grant) lives: fd index in the reply, offset in it. */
struct xsim_run_map {
	int32_t err; /* 0 or a positive errno for the whole run */
	uint32_t fd_index;
	uint64_t offset;
};

struct xsim_gref {
	uint32_t domid;
	uint32_t ref;
};

struct xsim_perm {
	uint32_t id;
	uint32_t perms;
};

#endif
