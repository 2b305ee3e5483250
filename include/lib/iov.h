/* SPDX-License-Identifier: MIT */
/*
 * iovec helpers: sizes, copies to and from scattered buffers, and trimming
 * for headers at the front, status bytes at the back and short transfers.
 * None of them allocates.
 */
#ifndef XVB_LIB_IOV_H
#define XVB_LIB_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Total bytes in iov[0..n). Saturates at SIZE_MAX instead of wrapping. */
size_t iov_size(const struct iovec *iov, unsigned int n);

/*
 * Copy up to @len bytes starting @off bytes into the iovec set, to @buf.
 * Returns the number of bytes copied (less than @len if the set is short).
 */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t off,
		  void *buf, size_t len);

/* Copy @len bytes from @buf into the set at @off. Returns bytes copied. */
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t off,
		    const void *buf, size_t len);

/* Fill @len bytes at @off with @c. Returns bytes filled. */
size_t iov_memset(const struct iovec *iov, unsigned int n, size_t off, int c,
		  size_t len);

/*
 * Drop @len bytes from the front of the set in place: iov and *n are
 * updated (emptied entries are removed, a partial one is shortened).
 * Returns the bytes dropped (less than @len if the set was shorter).
 */
size_t iov_pull(struct iovec *iov, unsigned int *n, size_t len);

/*
 * Drop @len bytes from the back of the set in place. Returns bytes dropped.
 */
size_t iov_trim_tail(struct iovec *iov, unsigned int *n, size_t len);

/*
 * Copy the description of the sub-range [off, off + len) of @src into @dst
 * (at most @dst_max entries), without touching the data. Returns the number
 * of entries written; 0 if the range is empty or out of the set. Sets
 * *copied to the bytes described (less than @len if @dst_max is too small
 * or the set too short).
 */
unsigned int iov_slice(struct iovec *dst, unsigned int dst_max,
		       const struct iovec *src, unsigned int n, size_t off,
		       size_t len, size_t *copied);

#endif
