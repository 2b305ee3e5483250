/* SPDX-License-Identifier: MIT */
/* Shared by the virtio fuzz targets: input cursor, invariant check, quiet logs. */
#ifndef XVB_TESTS_FUZZ_COMMON_H
#define XVB_TESTS_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

/* Consume input front to back; reads past the end give zeros. */
struct fz_in {
	const uint8_t *p;
	size_t left;
};

static inline void fz_take(struct fz_in *in, void *dst, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, n - k);
	in->p += k;
	in->left -= k;
}

static inline uint8_t fz_u8(struct fz_in *in)
{
	uint8_t v;

	fz_take(in, &v, 1);
	return v;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	uint8_t b[2];

	fz_take(in, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	uint8_t b[4];

	fz_take(in, b, 4);
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t fz_u64(struct fz_in *in)
{
	uint64_t lo = fz_u32(in);

	return lo | (uint64_t)fz_u32(in) << 32;
}

/* An invariant broke: report and abort, so libFuzzer keeps the input. */
#define FZ_CHECK(cond)                                                   \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
				__FILE__, __LINE__, #cond);              \
			abort();                                         \
		}                                                        \
	} while (0)

static __unused void fz_log_sink(enum log_level level, const char *line)
{
}

/* Guest-triggered complaints are expected by the thousand: drop them. */
static inline void fz_quiet(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	if (!getenv("XVB_FUZZ_LOG"))
		log_set_sink(fz_log_sink);
}

#endif
