/* SPDX-License-Identifier: MIT */
/*
 * What the in-process device benchmarks share (bench/devbench.c,
 * bench/devnet.c): clocks and CPU time, a tick that interrupts the loop's
 * wait for the hang check, and the device side's view of guest memory.
 */
#ifndef XVB_BENCH_DEVLIB_H
#define XVB_BENCH_DEVLIB_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

#include "fakeguest.h"
#include "virtio/gmem.h"

/*
 * Guest memory as the device sees it here: the fake guest's RAM mapped
 * once, map() an offset and a reference on each 2 MiB bucket it spans,
 * unmap() the references dropped: the steady state of xvbd's
 * foreign-mapping cache (backend/fmem.c) once its buckets are mapped. The
 * fake guest's own gmem keeps a list of every mapping for the tests' leak
 * checks: at 1 MiB I/Os (256 mappings each) searching it took a quarter of
 * the process's time, a cost xvbd does not have.
 */
#define DL_BUCKET_SHIFT 21

struct dl_gmem {
	struct gmem gm;
	const struct fakeguest *fg;
	unsigned int *refs; /* per bucket */
	uint64_t maps, unmaps, bad;
};

static volatile sig_atomic_t dl_ticks; /* SIGALRMs: they only interrupt */

static inline uint64_t dl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double dl_clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* User + system CPU of the whole process: io_uring's io-wq threads too. */
static inline double dl_proc_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * A tick every second interrupts the loop's wait (io_uring_enter returns
 * -EINTR, which evl treats as nothing), so a request the device lost is
 * seen by the hang check instead of blocking forever.
 */
static inline void dl_tick(int sig)
{
	dl_ticks++;
}

static inline int dl_watchdog(bool on)
{
	struct sigaction sa = { .sa_handler = on ? dl_tick : SIG_DFL };
	struct itimerval it = { { on, 0 }, { on, 0 } };

	if (sigaction(SIGALRM, &sa, NULL))
		return -errno;
	return setitimer(ITIMER_REAL, &it, NULL) ? -errno : 0;
}

/* ---- guest memory, device side -------------------------------------------- */

static inline void *dl_gmem_map(void *opaque, uint64_t gpa, size_t *len,
				int prot)
{
	struct dl_gmem *g = opaque;
	const struct fakeguest *fg = g->fg;
	uint64_t off = gpa - fg->base;
	size_t n = *len;

	/* Nothing outside RAM, nothing empty; a range past its end clamps. */
	if (!n || gpa < fg->base || off >= fg->size)
		return NULL;
	if (n > fg->size - off)
		n = fg->size - off;
	*len = n;
	for (uint64_t b = off >> DL_BUCKET_SHIFT;
	     b <= (off + n - 1) >> DL_BUCKET_SHIFT; b++)
		g->refs[b]++;
	g->maps++;
	return ((prot & GMEM_WRITE) ? fg->hview : fg->rview) + off;
}

static inline void dl_gmem_unmap(void *opaque, void *hva, size_t len)
{
	struct dl_gmem *g = opaque;
	const struct fakeguest *fg = g->fg;
	const uint8_t *p = hva;
	uint64_t off;

	if (p >= fg->hview && p < fg->hview + fg->size)
		off = (uint64_t)(p - fg->hview);
	else if (p >= fg->rview && p < fg->rview + fg->size)
		off = (uint64_t)(p - fg->rview);
	else
		off = UINT64_MAX;
	g->unmaps++;
	if (!len || off == UINT64_MAX || len > fg->size - off) {
		g->bad++;
		return;
	}
	for (uint64_t b = off >> DL_BUCKET_SHIFT;
	     b <= (off + len - 1) >> DL_BUCKET_SHIFT; b++) {
		if (!g->refs[b]) {
			g->bad++;
			return;
		}
		g->refs[b]--;
	}
}

static const struct gmem_ops dl_gmem_ops = {
	.map = dl_gmem_map,
	.unmap = dl_gmem_unmap,
};

static inline int dl_gmem_init(struct dl_gmem *g, const struct fakeguest *fg)
{
	g->fg = fg;
	g->refs = calloc((fg->size >> DL_BUCKET_SHIFT) + 1, sizeof(*g->refs));
	g->gm = (struct gmem){ .ops = &dl_gmem_ops, .opaque = g };
	return g->refs ? 0 : -ENOMEM;
}

/* True if every map() was undone once and no unmap() was bogus. */
static inline bool dl_gmem_clean(const struct dl_gmem *g)
{
	for (size_t b = 0; g->refs && b <= g->fg->size >> DL_BUCKET_SHIFT; b++)
		if (g->refs[b])
			return false;
	return g->maps == g->unmaps && !g->bad;
}

#endif
