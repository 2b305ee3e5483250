/* SPDX-License-Identifier: MIT */
/*
 * Guest-physical memory as virtio/ sees it. backend/ implements it with
 * foreign mappings or grants; tests implement it with a memfd.
 */
#ifndef XVB_VIRTIO_GMEM_H
#define XVB_VIRTIO_GMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

/* @prot: GMEM_READ if the device reads the buffer, GMEM_WRITE if it writes. */
#define GMEM_READ PROT_READ
#define GMEM_WRITE PROT_WRITE

struct gmem_ops {
	/*
	 * Map [gpa, gpa + *len). May map less than asked: *len is then
	 * clamped to the contiguous part, and the caller maps the rest with
	 * further calls. Returns NULL if gpa is not guest RAM (or not
	 * granted), or if *len is 0. Never blocks.
	 */
	void *(*map)(void *opaque, uint64_t gpa, size_t *len, int prot);
	/* Undo one map() that returned @hva for @len bytes. May be a no-op. */
	void (*unmap)(void *opaque, void *hva, size_t len);
	/*
	 * Optional: why @gpa, refused by map(), cannot be mapped, with the
	 * fix if there is one ("is not in guest RAM"), for the log.
	 */
	const char *(*why)(void *opaque, uint64_t gpa);
};

struct gmem {
	const struct gmem_ops *ops;
	void *opaque;
};

static inline void *gmem_map(const struct gmem *gm, uint64_t gpa, size_t *len,
			     int prot)
{
	return gm->ops->map(gm->opaque, gpa, len, prot);
}

static inline void gmem_unmap(const struct gmem *gm, void *hva, size_t len)
{
	gm->ops->unmap(gm->opaque, hva, len);
}

/* Why @gpa cannot be mapped: "is not in guest RAM" unless the mapper knows. */
static inline const char *gmem_why(const struct gmem *gm, uint64_t gpa)
{
	return gm->ops->why ? gm->ops->why(gm->opaque, gpa) :
			      "is not in guest RAM";
}

/*
 * Map exactly [gpa, gpa + len) as one contiguous range (rings). Returns
 * NULL, with nothing left mapped, if any part is not guest RAM, if the
 * range wraps, or if the implementation would clamp it: a mapper that
 * clamps at chunk edges must keep neighbouring chunks contiguous (as
 * backend/fmem.c does) or rings crossing an edge cannot be enabled.
 */
void *gmem_map_whole(const struct gmem *gm, uint64_t gpa, size_t len, int prot);

/*
 * Copy [gpa, gpa + len) out of guest memory into @buf, mapping piece by
 * piece. Returns 0, or -EFAULT if any part is not guest RAM.
 */
int gmem_read(const struct gmem *gm, uint64_t gpa, void *buf, size_t len);

#endif
