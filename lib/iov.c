// SPDX-License-Identifier: MIT
/*
 * iovec helpers for scattered guest buffers. Zero-length entries are legal
 * anywhere and offsets past the end are not errors: they copy nothing.
 */
#include <stdint.h>
#include <string.h>

#include "lib/iov.h"

static size_t iov_min(size_t a, size_t b)
{
	return a < b ? a : b;
}

static uint8_t *iov_at(const struct iovec *v, size_t off)
{
	return (uint8_t *)v->iov_base + off;
}

/*
 * Finds the entry holding byte @*off of the set. Returns its index (n if the
 * set is shorter) and leaves in @*off the offset inside that entry, which is
 * then always less than its length.
 */
static unsigned int iov_seek(const struct iovec *iov, unsigned int n,
			     size_t *off)
{
	unsigned int i;

	for (i = 0; i < n && *off >= iov[i].iov_len; i++)
		*off -= iov[i].iov_len;
	return i;
}

size_t iov_size(const struct iovec *iov, unsigned int n)
{
	size_t total = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (iov[i].iov_len > SIZE_MAX - total)
			return SIZE_MAX;
		total += iov[i].iov_len;
	}
	return total;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t off,
		  void *buf, size_t len)
{
	unsigned int i = iov_seek(iov, n, &off);
	size_t done = 0, chunk;

	for (; i < n && done < len; i++, off = 0) {
		chunk = iov_min(iov[i].iov_len - off, len - done);
		if (chunk) /* an empty entry may have a NULL base */
			memcpy((uint8_t *)buf + done, iov_at(&iov[i], off),
			       chunk);
		done += chunk;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t off,
		    const void *buf, size_t len)
{
	unsigned int i = iov_seek(iov, n, &off);
	size_t done = 0, chunk;

	for (; i < n && done < len; i++, off = 0) {
		chunk = iov_min(iov[i].iov_len - off, len - done);
		if (chunk)
			memcpy(iov_at(&iov[i], off),
			       (const uint8_t *)buf + done, chunk);
		done += chunk;
	}
	return done;
}

size_t iov_memset(const struct iovec *iov, unsigned int n, size_t off, int c,
		  size_t len)
{
	unsigned int i = iov_seek(iov, n, &off);
	size_t done = 0, chunk;

	for (; i < n && done < len; i++, off = 0) {
		chunk = iov_min(iov[i].iov_len - off, len - done);
		if (chunk)
			memset(iov_at(&iov[i], off), c, chunk);
		done += chunk;
	}
	return done;
}

/*
 * Entries that the pull covers whole are removed, empty ones included, so
 * afterwards iov[0] is the first entry with bytes left (if any).
 */
size_t iov_pull(struct iovec *iov, unsigned int *n, size_t len)
{
	size_t left = len;
	unsigned int i;

	for (i = 0; i < *n && iov[i].iov_len <= left; i++)
		left -= iov[i].iov_len;
	if (i < *n && left) {
		iov[i].iov_base = iov_at(&iov[i], left);
		iov[i].iov_len -= left;
		left = 0;
	}
	if (i)
		memmove(iov, iov + i, (*n - i) * sizeof(*iov));
	*n -= i;
	return len - left;
}

/* Mirror of iov_pull: trailing entries covered whole go, empty ones too. */
size_t iov_trim_tail(struct iovec *iov, unsigned int *n, size_t len)
{
	size_t left = len;

	while (*n && iov[*n - 1].iov_len <= left) {
		left -= iov[*n - 1].iov_len;
		(*n)--;
	}
	if (*n && left) {
		iov[*n - 1].iov_len -= left;
		left = 0;
	}
	return len - left;
}

/*
 * Empty entries of @src are not copied to @dst. @dst may be @src itself:
 * entry i of the output never comes from an input entry before i.
 */
unsigned int iov_slice(struct iovec *dst, unsigned int dst_max,
		       const struct iovec *src, unsigned int n, size_t off,
		       size_t len, size_t *copied)
{
	unsigned int i = iov_seek(src, n, &off), j = 0;
	size_t done = 0, chunk;

	for (; i < n && j < dst_max && done < len; i++, off = 0) {
		chunk = iov_min(src[i].iov_len - off, len - done);
		if (!chunk)
			continue;
		dst[j].iov_base = iov_at(&src[i], off);
		dst[j].iov_len = chunk;
		j++;
		done += chunk;
	}
	if (copied)
		*copied = done;
	return j;
}
