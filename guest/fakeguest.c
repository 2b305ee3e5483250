// SPDX-License-Identifier: MIT
/*
 * The memfd-backed fake guest: three mappings of one memfd (guest view,
 * host read-write view, host read-only view) and gmem ops that hand out
 * host-view pointers while keeping a ledger of every live mapping.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fakeguest.h"

static bool fg_track(struct fakeguest *fg, const struct fg_mapping *map)
{
	struct fg_mapping *m;

	if (fg->nr_live == fg->cap) {
		size_t cap = fg->cap ? fg->cap * 2 : 64;

		m = realloc(fg->maps, cap * sizeof(*m));
		if (!m)
			return false;
		fg->maps = m;
		fg->cap = cap;
	}
	fg->maps[fg->nr_live++] = *map;
	return true;
}

/* Remove the exact (hva, len) pair from the ledger; false if absent. */
static bool fg_untrack(struct fakeguest *fg, void *hva, size_t len)
{
	/* Search from the newest: unmaps are mostly LIFO. */
	for (size_t i = fg->nr_live; i-- > 0;) {
		struct fg_mapping *m = &fg->maps[i];

		if (m->hva != hva || m->len != len)
			continue;
		if (m->win)
			munmap(m->win, m->win_len);
		*m = fg->maps[fg->nr_live - 1];
		fg->nr_live--;
		return true;
	}
	return false;
}

/*
 * Guard mode: map the pages of [gpa, gpa + len) alone, between two
 * PROT_NONE pages. Returns false if the kernel refuses.
 */
static bool fg_map_window(struct fakeguest *fg, struct fg_mapping *m)
{
	uint64_t first = m->gpa & ~(FG_PAGE_SIZE - 1);
	uint64_t end = (m->gpa + m->len + FG_PAGE_SIZE - 1) &
		       ~(FG_PAGE_SIZE - 1);
	size_t span = end - first;
	uint8_t *win, *p;

	win = mmap(NULL, span + 2 * FG_PAGE_SIZE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (win == MAP_FAILED)
		return false;
	p = mmap(win + FG_PAGE_SIZE, span,
		 (m->prot & PROT_WRITE) ? PROT_READ | PROT_WRITE : PROT_READ,
		 MAP_SHARED | MAP_FIXED, fg->fd, first - fg->base);
	if (p == MAP_FAILED) {
		munmap(win, span + 2 * FG_PAGE_SIZE);
		return false;
	}
	m->win = win;
	m->win_len = span + 2 * FG_PAGE_SIZE;
	m->hva = p + (m->gpa - first);
	return true;
}

static void *fg_map_locked(struct fakeguest *fg, uint64_t gpa, size_t *len,
			   int prot)
{
	struct fg_mapping m = { 0 };
	uint64_t off, room;
	size_t n = *len;

	if (fg->hook)
		fg->hook(fg, gpa, n, fg->hook_arg);
	/* Refuse empty ranges, and anything not starting inside RAM. */
	if (!n || gpa < fg->base || gpa - fg->base >= fg->size)
		goto refuse;
	if (fg->hole_len && gpa >= fg->hole_start &&
	    gpa - fg->hole_start < fg->hole_len)
		goto refuse;

	off = gpa - fg->base;
	room = fg->size - off;
	if (fg->hole_len && gpa < fg->hole_start && fg->hole_start - gpa < room)
		room = fg->hole_start - gpa;
	if (fg->clamp && FG_PAGE_SIZE - (gpa & (FG_PAGE_SIZE - 1)) < room)
		room = FG_PAGE_SIZE - (gpa & (FG_PAGE_SIZE - 1));
	if (n > room)
		n = room;

	if (fg->nr_live >= FG_MAX_LIVE) {
		fg->limit_hit++;
		goto refuse;
	}
	m.gpa = gpa;
	m.len = n;
	m.prot = prot;
	m.hva = ((prot & PROT_WRITE) ? fg->hview : fg->rview) + off;
	if (fg->guard && !fg_map_window(fg, &m))
		goto refuse;
	if (!fg_track(fg, &m)) {
		if (m.win)
			munmap(m.win, m.win_len);
		fg->limit_hit++;
		goto refuse;
	}
	fg->nr_maps++;
	*len = n;
	return m.hva;

refuse:
	fg->nr_refused++;
	return NULL;
}

/* Queue threads of a multiqueue device map concurrently: one lock. */
static void *fg_map(void *opaque, uint64_t gpa, size_t *len, int prot)
{
	struct fakeguest *fg = opaque;
	void *p;

	pthread_mutex_lock(&fg->lock);
	p = fg_map_locked(fg, gpa, len, prot);
	pthread_mutex_unlock(&fg->lock);
	return p;
}

static void fg_unmap(void *opaque, void *hva, size_t len)
{
	struct fakeguest *fg = opaque;

	pthread_mutex_lock(&fg->lock);
	fg->nr_unmaps++;
	if (!fg_untrack(fg, hva, len)) {
		fg->bad_unmaps++;
		fg->last_bad_hva = (uintptr_t)hva;
		fg->last_bad_len = len;
	}
	pthread_mutex_unlock(&fg->lock);
}

static const struct gmem_ops fg_gmem_ops = {
	.map = fg_map,
	.unmap = fg_unmap,
};

static uint8_t *fg_mmap(int fd, size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

struct fakeguest *fg_new(size_t size)
{
	struct fakeguest *fg;

	if (!size || size % FG_PAGE_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	fg = calloc(1, sizeof(*fg));
	if (!fg)
		return NULL;
	pthread_mutex_init(&fg->lock, NULL);
	fg->base = FG_RAM_BASE;
	fg->size = size;
	fg->fd = memfd_create("xvb-fakeguest", MFD_CLOEXEC);
	if (fg->fd < 0)
		goto err_free;
	if (ftruncate(fg->fd, size))
		goto err_free;
	fg->gview = fg_mmap(fg->fd, size, PROT_READ | PROT_WRITE);
	fg->hview = fg_mmap(fg->fd, size, PROT_READ | PROT_WRITE);
	fg->rview = fg_mmap(fg->fd, size, PROT_READ);
	if (!fg->gview || !fg->hview || !fg->rview)
		goto err_free;
	fg->alloc_next = fg->base;
	fg->gmem.ops = &fg_gmem_ops;
	fg->gmem.opaque = fg;
	return fg;

err_free:
	fg_free(fg);
	return NULL;
}

struct fakeguest *fg_wrap(void *gview, uint64_t base, size_t size)
{
	struct fakeguest *fg = calloc(1, sizeof(*fg));

	if (!fg)
		return NULL;
	pthread_mutex_init(&fg->lock, NULL);
	fg->fd = -1;
	fg->base = base;
	fg->size = size;
	fg->gview = gview;
	fg->external = true;
	fg->alloc_next = base;
	return fg;
}

void fg_release(struct fakeguest **fg)
{
	fg_free(*fg);
	*fg = NULL;
}

void fg_free(struct fakeguest *fg)
{
	int err = errno;

	if (!fg)
		return;
	if (fg->gview && !fg->external)
		munmap(fg->gview, fg->size);
	if (fg->hview)
		munmap(fg->hview, fg->size);
	if (fg->rview)
		munmap(fg->rview, fg->size);
	if (fg->fd >= 0)
		close(fg->fd);
	for (size_t i = 0; i < fg->nr_live; i++)
		if (fg->maps[i].win)
			munmap(fg->maps[i].win, fg->maps[i].win_len);
	free(fg->maps);
	free(fg);
	errno = err;
}

void fg_set_clamp(struct fakeguest *fg, bool clamp)
{
	fg->clamp = clamp;
}

void fg_set_guard(struct fakeguest *fg, bool guard)
{
	fg->guard = guard;
}

void fg_set_hole(struct fakeguest *fg, uint64_t gpa, uint64_t len)
{
	fg->hole_start = gpa;
	fg->hole_len = len;
}

void fg_set_hook(struct fakeguest *fg, fg_map_hook *hook, void *arg)
{
	fg->hook = hook;
	fg->hook_arg = arg;
}

void *fg_ptr(const struct fakeguest *fg, uint64_t gpa, size_t len)
{
	if (gpa < fg->base || gpa - fg->base > fg->size ||
	    len > fg->size - (gpa - fg->base))
		return NULL;
	return fg->gview + (gpa - fg->base);
}

static bool fg_in_view(const struct fakeguest *fg, const uint8_t *view,
		       const void *p, uint64_t *off)
{
	uintptr_t a = (uintptr_t)p, v = (uintptr_t)view;

	if (a < v || a - v >= fg->size)
		return false;
	*off = a - v;
	return true;
}

/* The live guard-mode mapping that contains @p, or NULL. */
static const struct fg_mapping *fg_window_of(const struct fakeguest *fg,
					     const void *p)
{
	uintptr_t a = (uintptr_t)p;

	for (size_t i = 0; i < fg->nr_live; i++) {
		const struct fg_mapping *m = &fg->maps[i];

		if (m->win && a >= (uintptr_t)m->hva &&
		    a - (uintptr_t)m->hva < m->len)
			return m;
	}
	return NULL;
}

uint64_t fg_hva_to_gpa(const struct fakeguest *fg, const void *p)
{
	const struct fg_mapping *m;
	uint64_t off;

	if (fg_in_view(fg, fg->hview, p, &off) ||
	    fg_in_view(fg, fg->rview, p, &off))
		return fg->base + off;
	m = fg_window_of(fg, p);
	if (m)
		return m->gpa + ((uintptr_t)p - (uintptr_t)m->hva);
	return 0;
}

bool fg_hva_is(const struct fakeguest *fg, const void *p, uint64_t gpa,
	       size_t len)
{
	uint64_t g = fg_hva_to_gpa(fg, p);

	return g && g >= gpa && g - gpa < len;
}

bool fg_hva_readonly(const struct fakeguest *fg, const void *p)
{
	const struct fg_mapping *m;
	uint64_t off;

	if (fg_in_view(fg, fg->rview, p, &off))
		return true;
	m = fg_window_of(fg, p);
	return m && !(m->prot & PROT_WRITE);
}

uint64_t fg_alloc(struct fakeguest *fg, size_t size, size_t align)
{
	uint64_t end = fg->base + fg->size, gpa;

	if (!align)
		align = 1;
	for (;;) {
		gpa = (fg->alloc_next + align - 1) & ~((uint64_t)align - 1);
		if (gpa < fg->alloc_next || gpa > end || size > end - gpa)
			return 0;
		/* Skip the hole if [gpa, gpa + size) touches it. */
		if (fg->hole_len && gpa < fg->hole_start + fg->hole_len &&
		    fg->hole_start < gpa + size) {
			fg->alloc_next = fg->hole_start + fg->hole_len;
			continue;
		}
		break;
	}
	fg->alloc_next = gpa + size;
	memset(fg->gview + (gpa - fg->base), 0, size);
	return gpa;
}

void fg_alloc_reset(struct fakeguest *fg)
{
	fg->alloc_next = fg->base;
}

int fg_write(struct fakeguest *fg, uint64_t gpa, const void *buf, size_t len)
{
	void *p = fg_ptr(fg, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

int fg_read(const struct fakeguest *fg, uint64_t gpa, void *buf, size_t len)
{
	const void *p = fg_ptr(fg, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

uint8_t fg_pattern(uint32_t seed, size_t i)
{
	uint32_t x = seed * 2654435761u ^ (uint32_t)i * 40503u;

	x ^= x >> 13;
	x *= 0x5bd1e995u;
	x ^= x >> 15;
	return (uint8_t)x;
}

int fg_fill(struct fakeguest *fg, uint64_t gpa, size_t len, uint32_t seed)
{
	uint8_t *p = fg_ptr(fg, gpa, len);

	if (!p)
		return -EFAULT;
	for (size_t i = 0; i < len; i++)
		p[i] = fg_pattern(seed, i);
	return 0;
}

bool fg_check(const struct fakeguest *fg, uint64_t gpa, size_t len,
	      uint32_t seed)
{
	const uint8_t *p = fg_ptr(fg, gpa, len);

	if (!p)
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] != fg_pattern(seed, i))
			return false;
	return true;
}
