// SPDX-License-Identifier: MIT
/*
 * Unit tests of lib/iov.c: every helper on a set with empty entries in it,
 * at its edges and past its end.
 */
#include <stdint.h>
#include <string.h>

#include "lib/iov.h"
#include "../lib/t.h"

/*
 * The set most cases use: "abc" "" "defgh" "" "ij", 10 bytes, two empty
 * entries (one with a NULL base, as guests may describe them).
 */
static char src_a[] = "abc", src_d[] = "defgh", src_i[] = "ij";

static unsigned int sample_set(struct iovec *v)
{
	v[0] = (struct iovec){ src_a, 3 };
	v[1] = (struct iovec){ NULL, 0 };
	v[2] = (struct iovec){ src_d, 5 };
	v[3] = (struct iovec){ src_d + 5, 0 };
	v[4] = (struct iovec){ src_i, 2 };
	return 5;
}

static void size_table(void)
{
	static const struct {
		size_t len[3];
		unsigned int n;
		size_t want;
	} cases[] = {
		{ { 0 }, 0, 0 },
		{ { 0, 0, 0 }, 3, 0 },
		{ { 1, 0, 2 }, 3, 3 },
		{ { SIZE_MAX - 1, 1 }, 2, SIZE_MAX },
		{ { SIZE_MAX, 1 }, 2, SIZE_MAX },
		{ { SIZE_MAX / 2 + 1, SIZE_MAX / 2 + 1, 5 }, 3, SIZE_MAX },
		{ { 1, SIZE_MAX, 0 }, 3, SIZE_MAX },
	};

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct iovec v[3];

		for (unsigned int i = 0; i < 3; i++)
			v[i] = (struct iovec){ NULL, cases[c].len[i] };
		T_EQ_U64(iov_size(v, cases[c].n), cases[c].want);
	}
}

static void size_of_no_entries_with_null(void)
{
	T_EQ(iov_size(NULL, 0), 0);
}

/* (off, len) windows over the sample set, and what they should cover. */
static const struct {
	size_t off, len;
	const char *want;
} windows[] = {
	{ 0, 10, "abcdefghij" },
	{ 0, 100, "abcdefghij" },
	{ 0, 0, "" },
	{ 2, 4, "cdef" },
	{ 3, 2, "de" }, /* starts at an entry edge, after an empty one */
	{ 8, 2, "ij" }, /* starts right after the empty entry at 8 */
	{ 9, 5, "j" },
	{ 10, 1, "" }, /* exactly at the end */
	{ 11, 1, "" },
	{ SIZE_MAX, 1, "" },
	{ 1, SIZE_MAX, "bcdefghij" },
};

static void to_buf_windows(void)
{
	struct iovec v[5];
	unsigned int n = sample_set(v);

	for (size_t c = 0; c < ARRAY_SIZE(windows); c++) {
		char buf[16];
		size_t want = strlen(windows[c].want);
		size_t len = windows[c].len < sizeof(buf) ? windows[c].len :
							    sizeof(buf);

		memset(buf, '.', sizeof(buf));
		T_EQ(iov_to_buf(v, n, windows[c].off, buf, len), want);
		T_ASSERT(!memcmp(buf, windows[c].want, want));
		T_EQ(buf[want], '.'); /* nothing past the copy */
	}
}

static void from_buf_windows(void)
{
	for (size_t c = 0; c < ARRAY_SIZE(windows); c++) {
		char a[3], d[5], i[2], flat[11];
		const char *src = "ABCDEFGHIJKLMNOP";
		struct iovec v[5] = {
			{ a, 3 }, { NULL, 0 }, { d, 5 }, { d + 5, 0 }, { i, 2 },
		};
		size_t want = strlen(windows[c].want);
		size_t len = windows[c].len < 16 ? windows[c].len : 16;
		char expect[11];

		memset(a, '.', 3);
		memset(d, '.', 5);
		memset(i, '.', 2);
		T_EQ(iov_from_buf(v, 5, windows[c].off, src, len), want);
		memcpy(flat, a, 3);
		memcpy(flat + 3, d, 5);
		memcpy(flat + 8, i, 2);
		memset(expect, '.', 10);
		if (want)
			memcpy(expect + windows[c].off, src, want);
		T_ASSERT(!memcmp(flat, expect, 10));
	}
}

static void memset_windows(void)
{
	for (size_t c = 0; c < ARRAY_SIZE(windows); c++) {
		char a[3], d[5], i[2], flat[10], expect[10];
		struct iovec v[5] = {
			{ a, 3 }, { NULL, 0 }, { d, 5 }, { d + 5, 0 }, { i, 2 },
		};
		size_t want = strlen(windows[c].want);

		memset(a, '.', 3);
		memset(d, '.', 5);
		memset(i, '.', 2);
		T_EQ(iov_memset(v, 5, windows[c].off, 'x', windows[c].len),
		     want);
		memcpy(flat, a, 3);
		memcpy(flat + 3, d, 5);
		memcpy(flat + 8, i, 2);
		memset(expect, '.', 10);
		if (want)
			memset(expect + windows[c].off, 'x', want);
		T_ASSERT(!memcmp(flat, expect, 10));
	}
}

static void copies_on_empty_set(void)
{
	char buf[4] = "xyz";

	T_EQ(iov_to_buf(NULL, 0, 0, buf, sizeof(buf)), 0);
	T_EQ(iov_from_buf(NULL, 0, 0, buf, sizeof(buf)), 0);
	T_EQ(iov_memset(NULL, 0, 0, 0, sizeof(buf)), 0);
	T_ASSERT(!strcmp(buf, "xyz"));
}

/* Flattens a set's bytes into a string, for comparing results. */
static void flatten(const struct iovec *v, unsigned int n, char *out,
		    size_t size)
{
	size_t got = iov_to_buf(v, n, 0, out, size - 1);

	out[got] = '\0';
}

static void pull_table(void)
{
	static const struct {
		size_t len, dropped;
		unsigned int n; /* entries left */
		const char *rest;
	} cases[] = {
		{ .len = 0, .dropped = 0, .n = 5, .rest = "abcdefghij" },
		{ .len = 1, .dropped = 1, .n = 5, .rest = "bcdefghij" },
		/* the empty entry after "abc" goes too */
		{ .len = 3, .dropped = 3, .n = 3, .rest = "defghij" },
		{ .len = 4, .dropped = 4, .n = 3, .rest = "efghij" },
		{ .len = 8, .dropped = 8, .n = 1, .rest = "ij" },
		{ .len = 9, .dropped = 9, .n = 1, .rest = "j" },
		{ .len = 10, .dropped = 10, .n = 0, .rest = "" },
		{ .len = 11, .dropped = 10, .n = 0, .rest = "" },
		{ .len = SIZE_MAX, .dropped = 10, .n = 0, .rest = "" },
	};

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct iovec v[5];
		unsigned int n = sample_set(v);
		char rest[16];

		T_EQ(iov_pull(v, &n, cases[c].len), cases[c].dropped);
		T_EQ(n, cases[c].n);
		flatten(v, n, rest, sizeof(rest));
		T_ASSERT(!strcmp(rest, cases[c].rest));
		T_EQ(iov_size(v, n), strlen(cases[c].rest));
	}
}

/* A partial pull moves the base of the first entry, it copies nothing. */
static void pull_partial_moves_base(void)
{
	struct iovec v[5];
	unsigned int n = sample_set(v);

	T_EQ(iov_pull(v, &n, 5), 5);
	T_EQ(n, 3);
	T_ASSERT(v[0].iov_base == src_d + 2);
	T_EQ(v[0].iov_len, 3);
	T_ASSERT(v[2].iov_base == src_i);
}

static void pull_leading_empty_entries(void)
{
	struct iovec v[3] = { { NULL, 0 }, { NULL, 0 }, { src_a, 3 } };
	unsigned int n = 3;

	T_EQ(iov_pull(v, &n, 0), 0);
	T_EQ(n, 1);
	T_ASSERT(v[0].iov_base == src_a);
}

static void pull_empty_set(void)
{
	unsigned int n = 0;

	T_EQ(iov_pull(NULL, &n, 5), 0);
	T_EQ(n, 0);
}

static void trim_tail_table(void)
{
	static const struct {
		size_t len, dropped;
		unsigned int n;
		const char *rest;
	} cases[] = {
		{ .len = 0, .dropped = 0, .n = 5, .rest = "abcdefghij" },
		{ .len = 1, .dropped = 1, .n = 5, .rest = "abcdefghi" },
		/* "ij" and the empty entry before it */
		{ .len = 2, .dropped = 2, .n = 3, .rest = "abcdefgh" },
		{ .len = 3, .dropped = 3, .n = 3, .rest = "abcdefg" },
		{ .len = 7, .dropped = 7, .n = 1, .rest = "abc" },
		{ .len = 9, .dropped = 9, .n = 1, .rest = "a" },
		{ .len = 10, .dropped = 10, .n = 0, .rest = "" },
		{ .len = 11, .dropped = 10, .n = 0, .rest = "" },
		{ .len = SIZE_MAX, .dropped = 10, .n = 0, .rest = "" },
	};

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct iovec v[5];
		unsigned int n = sample_set(v);
		char rest[16];

		T_EQ(iov_trim_tail(v, &n, cases[c].len), cases[c].dropped);
		T_EQ(n, cases[c].n);
		flatten(v, n, rest, sizeof(rest));
		T_ASSERT(!strcmp(rest, cases[c].rest));
	}
}

static void trim_tail_keeps_bases(void)
{
	struct iovec v[5];
	unsigned int n = sample_set(v);

	T_EQ(iov_trim_tail(v, &n, 4), 4);
	T_EQ(n, 3);
	T_ASSERT(v[0].iov_base == src_a);
	T_ASSERT(v[2].iov_base == src_d);
	T_EQ(v[2].iov_len, 3);
}

static void slice_table(void)
{
	static const struct {
		size_t off, len;
		unsigned int dst_max, entries;
		size_t copied;
		const char *want;
	} cases[] = {
		{ 0, 10, 8, 3, 10, "abcdefghij" }, /* empties not copied */
		{ 0, SIZE_MAX, 8, 3, 10, "abcdefghij" },
		{ 2, 4, 8, 2, 4, "cdef" },
		{ 3, 5, 8, 1, 5, "defgh" },
		{ 3, 6, 8, 2, 6, "defghi" },
		{ 0, 10, 2, 2, 8, "abcdefgh" }, /* dst too small */
		{ 0, 10, 0, 0, 0, "" },
		{ 0, 0, 8, 0, 0, "" },
		{ 10, 1, 8, 0, 0, "" },
		{ SIZE_MAX, 1, 8, 0, 0, "" },
	};

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct iovec v[5], dst[8];
		unsigned int n = sample_set(v), got;
		size_t copied = 12345;
		char out[16];

		got = iov_slice(dst, cases[c].dst_max, v, n, cases[c].off,
				cases[c].len, &copied);
		T_EQ(got, cases[c].entries);
		T_EQ(copied, cases[c].copied);
		for (unsigned int i = 0; i < got; i++)
			T_ASSERT(dst[i].iov_len > 0);
		flatten(dst, got, out, sizeof(out));
		T_ASSERT(!strcmp(out, cases[c].want));
	}
}

/* The slice points into the source buffers: no data is copied. */
static void slice_aliases_source(void)
{
	struct iovec v[5], dst[2];
	unsigned int n = sample_set(v);

	T_EQ(iov_slice(dst, 2, v, n, 4, 5, NULL), 2);
	T_ASSERT(dst[0].iov_base == src_d + 1);
	T_EQ(dst[0].iov_len, 4);
	T_ASSERT(dst[1].iov_base == src_i);
	T_EQ(dst[1].iov_len, 1);
}

static void slice_in_place(void)
{
	struct iovec v[5];
	unsigned int n = sample_set(v), got;
	size_t copied;
	char out[16];

	got = iov_slice(v, n, v, n, 1, 8, &copied);
	T_EQ(got, 3);
	T_EQ(copied, 8);
	flatten(v, got, out, sizeof(out));
	T_ASSERT(!strcmp(out, "bcdefghi"));
}

T_MAIN(T_CASE(size_table), T_CASE(size_of_no_entries_with_null),
       T_CASE(to_buf_windows), T_CASE(from_buf_windows), T_CASE(memset_windows),
       T_CASE(copies_on_empty_set), T_CASE(pull_table),
       T_CASE(pull_partial_moves_base), T_CASE(pull_leading_empty_entries),
       T_CASE(pull_empty_set), T_CASE(trim_tail_table),
       T_CASE(trim_tail_keeps_bases), T_CASE(slice_table),
       T_CASE(slice_aliases_source), T_CASE(slice_in_place))
