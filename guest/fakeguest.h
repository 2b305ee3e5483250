/* SPDX-License-Identifier: MIT */
/*
 * A fake guest for virtio/ tests: guest RAM in a memfd, seen through a
 * "guest view" that the test's driver writes, and through the host views
 * that the gmem ops hand to the device. Counts every mapping so tests can
 * assert that nothing leaked, and catches unmaps of ranges never mapped.
 */
#ifndef XVB_GUEST_FAKEGUEST_H
#define XVB_GUEST_FAKEGUEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/gmem.h"

/* Guest RAM starts where Xen on Arm puts a guest's first bank. */
#define FG_RAM_BASE 0x40000000ULL
/* Xen on Arm's virtio-mmio window: never RAM. */
#define FG_MMIO_BASE 0x02000000ULL
#define FG_PAGE_SIZE 4096ULL

/* Most live mappings before map() refuses (a leak or a spin). */
#define FG_MAX_LIVE (1u << 17)

struct fakeguest;

/* Called at the start of every map(), before anything is checked. */
typedef void fg_map_hook(struct fakeguest *fg, uint64_t gpa, size_t len,
			 void *arg);

struct fg_mapping {
	void *hva;
	size_t len;
	uint64_t gpa;
	int prot;
	void *win; /* guard mode: the reserved window, else NULL */
	size_t win_len;
};

struct fakeguest {
	int fd;
	uint64_t base; /* guest-physical address of RAM's first byte */
	size_t size;
	uint8_t *gview; /* what the test's driver writes through */
	uint8_t *hview; /* handed out for maps with GMEM_WRITE */
	uint8_t *rview; /* read-only: handed out for read-only maps */

	bool clamp; /* also end every map at the next 4 KiB edge */
	bool guard; /* each map its own window between PROT_NONE pages */
	uint64_t hole_start, hole_len; /* a range inside RAM that is not RAM */

	/* Mapping accounting: live = maps handed out minus unmaps. */
	pthread_mutex_t lock; /* map and unmap take it */
	struct fg_mapping *maps;
	size_t nr_live, cap;
	uint64_t nr_maps, nr_unmaps, nr_refused;
	unsigned int bad_unmaps; /* unmap of something never mapped */
	unsigned int limit_hit;	 /* map refused: FG_MAX_LIVE reached */
	uint64_t last_bad_hva, last_bad_len;

	fg_map_hook *hook;
	void *hook_arg;

	uint64_t alloc_next; /* bump allocator for test data */
	bool external;	     /* gview is someone else's memory (fg_wrap) */

	struct gmem gmem; /* ops + this fake guest, for vdev_init */
};

/*
 * Creates a guest with @size bytes of RAM (a multiple of 4 KiB) at
 * FG_RAM_BASE. Returns NULL (errno set) on failure. Free with fg_free().
 */
struct fakeguest *fg_new(size_t size);

/* Unmaps and frees everything; accepts NULL. Does not check for leaks. */
void fg_free(struct fakeguest *fg);
/*
 * fg_free(*@fg), then *@fg = NULL. As a cleanup attribute (FG_SCOPED) it
 * frees a test's guest on every way out of its scope, a failure included.
 */
void fg_release(struct fakeguest **fg);
#define FG_SCOPED __attribute__((cleanup(fg_release)))

/*
 * A fake guest over memory someone else owns (the simulator's guest RAM):
 * only the guest-side helpers work (fg_ptr, fg_alloc, fg_read/write/fill/
 * check); its gmem ops must not be used. fg_free leaves @gview alone.
 */
struct fakeguest *fg_wrap(void *gview, uint64_t base, size_t size);

/* Clamp every map at the next 4 KiB edge (drives the splitting paths). */
void fg_set_clamp(struct fakeguest *fg, bool clamp);

/*
 * Guard mode: every map gets a window of its own, with an inaccessible page
 * on each side, so an access past a range that ends on a page edge faults.
 */
void fg_set_guard(struct fakeguest *fg, bool guard);

/* Declare [gpa, gpa + len) inside RAM a hole: map() refuses it. */
void fg_set_hole(struct fakeguest *fg, uint64_t gpa, uint64_t len);

/* Install (or clear with NULL) a hook run at the start of every map(). */
void fg_set_hook(struct fakeguest *fg, fg_map_hook *hook, void *arg);

/* Live mappings: map() calls that returned non-NULL minus unmap() calls. */
static inline size_t fg_live(struct fakeguest *fg)
{
	size_t n;

	pthread_mutex_lock(&fg->lock);
	n = fg->nr_live;
	pthread_mutex_unlock(&fg->lock);
	return n;
}

/* True if no unmap was bogus and the live-mapping limit was never hit. */
static inline bool fg_ok(const struct fakeguest *fg)
{
	return !fg->bad_unmaps && !fg->limit_hit;
}

/* Guest-view pointer to [gpa, gpa + len), or NULL if not wholly in RAM. */
void *fg_ptr(const struct fakeguest *fg, uint64_t gpa, size_t len);

/* True if @p lies in a host view's [gpa, gpa + len) (what map() returns). */
bool fg_hva_is(const struct fakeguest *fg, const void *p, uint64_t gpa,
	       size_t len);

/* The gpa a host-view pointer stands for, or 0 if it is in no host view. */
uint64_t fg_hva_to_gpa(const struct fakeguest *fg, const void *p);

/* True if @p points into a read-only mapping. */
bool fg_hva_readonly(const struct fakeguest *fg, const void *p);

/*
 * Bump allocator over RAM for rings and buffers: @size bytes aligned to
 * @align (a power of two), zeroed, skipping the hole. Returns the gpa, or
 * 0 if RAM is exhausted.
 */
uint64_t fg_alloc(struct fakeguest *fg, size_t size, size_t align);

/* Forget all allocations (memory is not cleared). */
void fg_alloc_reset(struct fakeguest *fg);

/* Copy to/from guest memory through the guest view. Return 0 or -EFAULT. */
int fg_write(struct fakeguest *fg, uint64_t gpa, const void *buf, size_t len);
int fg_read(const struct fakeguest *fg, uint64_t gpa, void *buf, size_t len);

/* Fill [gpa, gpa + len) with a pattern derived from @seed; 0 or -EFAULT. */
int fg_fill(struct fakeguest *fg, uint64_t gpa, size_t len, uint32_t seed);

/* True if [gpa, gpa + len) holds the pattern fg_fill() wrote for @seed. */
bool fg_check(const struct fakeguest *fg, uint64_t gpa, size_t len,
	      uint32_t seed);

/* The byte fg_fill(seed) puts at offset @i of its range. */
uint8_t fg_pattern(uint32_t seed, size_t i);

#endif
