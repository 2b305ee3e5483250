/* SPDX-License-Identifier: MIT */
/*
 * The hang bound: how long a test waits for something that must happen (a
 * register access answered, an interrupt, a completion, a process gone)
 * before it calls it a hang and fails. It detects hangs; it never measures
 * speed: on a busy 2-core machine the scheduler can add 100 ms to
 * anything, and nothing correct comes near this. Latencies a test wants to
 * show are printed as measurements, never compared with a constant.
 * XVB_TEST_HANG_MS overrides the bound (tests/sim/negated shortens it, to
 * prove that a stalled worker fails the check).
 */
#ifndef XVB_TESTS_HANG_H
#define XVB_TESTS_HANG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define T_HANG_MS_DEFAULT 20000u

static inline unsigned int t_hang_ms(void)
{
	const char *s = getenv("XVB_TEST_HANG_MS");
	char *end;
	unsigned long v;

	if (!s || !*s)
		return T_HANG_MS_DEFAULT;
	v = strtoul(s, &end, 10);
	return *end || !v || v > 3600000 ? T_HANG_MS_DEFAULT : (unsigned int)v;
}

static inline uint64_t t_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Evaluates @cond every @poll_us until it holds or the hang bound passes;
 * the value is whether it held. For conditions a correct program reaches
 * on its own (a worker respawned, a frame delivered, a process gone).
 */
#define T_WAIT_US(cond, poll_us)                                 \
	({                                                       \
		uint64_t t_end_ = t_now_ms() + t_hang_ms();      \
		bool t_ok_;                                      \
		while (!(t_ok_ = (cond)) && t_now_ms() < t_end_) \
			usleep(poll_us);                         \
		t_ok_;                                           \
	})
#define T_WAIT(cond) T_WAIT_US(cond, 20000)

#endif
