/* SPDX-License-Identifier: MIT */
/*
 * A minimal test harness: one function per behaviour, a table of them, and
 * one line per case ("ok name", "FAIL name: where: what", "skip name: why")
 * that tests/run-tests counts. Exit 0 all passed, 1 any failed, 77 all
 * skipped.
 */
#ifndef XVB_TESTS_T_H
#define XVB_TESTS_T_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"

struct t_case {
	const char *name;
	void (*fn)(void);
};

#define T_CASE(fn)      \
	{               \
#fn, fn \
	}

/* Runs every case (or those named on the command line). */
int t_main(const struct t_case *cases, size_t n, int argc, char **argv);

/* Record a failure of the running case; the macros then return. */
void t_fail(const char *file, int line, const char *fmt, ...) __printf(3, 4);
/* Mark the running case skipped with a reason; return after calling. */
void t_skip(const char *fmt, ...) __printf(1, 2);
/* True once the running case has failed (for helpers that cannot return). */
bool t_failed(void);

#define T_ASSERT(cond)                                           \
	do {                                                     \
		if (!(cond)) {                                   \
			t_fail(__FILE__, __LINE__, "%s", #cond); \
			return;                                  \
		}                                                \
	} while (0)

#define T_EQ(a, b)                                                            \
	do {                                                                  \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);       \
		if (t_a_ != t_b_) {                                           \
			t_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", \
			       #a, #b, t_a_, t_b_);                           \
			return;                                               \
		}                                                             \
	} while (0)

#define T_EQ_U64(a, b)                                                      \
	do {                                                                \
		uint64_t t_a_ = (uint64_t)(a), t_b_ = (uint64_t)(b);        \
		if (t_a_ != t_b_) {                                         \
			t_fail(__FILE__, __LINE__,                          \
			       "%s == %s (0x%" PRIx64 " != 0x%" PRIx64 ")", \
			       #a, #b, t_a_, t_b_);                         \
			return;                                             \
		}                                                           \
	} while (0)

/*
 * @expr (an int) must be 0; on failure reports it with the test rig @r's
 * reason (r->why, a string or NULL) and returns. The rigs' T_*_START and
 * T_*_FINI are made of it.
 */
#define T_WHY(r, expr)                                                    \
	do {                                                              \
		int t_rc_ = (expr);                                       \
		if (t_rc_) {                                              \
			t_fail(__FILE__, __LINE__, "%s = %d (%s)", #expr, \
			       t_rc_, (r)->why ? (r)->why : "?");         \
			return;                                           \
		}                                                         \
	} while (0)

/* Like T_ASSERT, for helpers returning int: returns -1 on failure. */
#define T_CHECK(cond)                                            \
	do {                                                     \
		if (!(cond)) {                                   \
			t_fail(__FILE__, __LINE__, "%s", #cond); \
			return -1;                               \
		}                                                \
	} while (0)

#define T_MAIN(...)                                                    \
	int main(int argc, char **argv)                                \
	{                                                              \
		static const struct t_case cases_[] = { __VA_ARGS__ }; \
		return t_main(cases_, ARRAY_SIZE(cases_), argc, argv); \
	}

#endif
