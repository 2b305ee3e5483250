/* SPDX-License-Identifier: MIT */
/*
 * Small compiler helpers used everywhere: container_of, once-only accesses
 * to shared memory, and the memory barriers that order them.
 */
#ifndef XVB_LIB_COMPILER_H
#define XVB_LIB_COMPILER_H

#include <stddef.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * One access to memory another party may change at any time (guest rings,
 * the ioreq page). The value read is private from then on: the compiler may
 * neither repeat the load nor split it.
 */
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/*
 * Barriers for memory shared with a guest on another CPU. Each use names the
 * barrier it pairs with on the other side.
 *  smp_rmb: loads before it complete before loads after it.
 *  smp_wmb: stores before it are visible before stores after it.
 *  smp_mb:  full barrier, also orders a store before a later load.
 */
#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __unused __attribute__((unused))

#endif
