// SPDX-License-Identifier: MIT
/* Helpers on top of the gmem ops: whole-range maps for rings, and copies. */
#include <errno.h>
#include <string.h>

#include "virtio/gmem.h"

void *gmem_map_whole(const struct gmem *gm, uint64_t gpa, size_t len, int prot)
{
	size_t got = len;
	void *hva;

	/* Rejects empty and wrapping ranges before asking the mapper. */
	if (!len || gpa + (len - 1) < gpa)
		return NULL;
	hva = gmem_map(gm, gpa, &got, prot);
	if (!hva)
		return NULL;
	if (got != len) {
		/* Clamped: the range is not contiguous in this mapping. */
		gmem_unmap(gm, hva, got);
		return NULL;
	}
	return hva;
}

int gmem_read(const struct gmem *gm, uint64_t gpa, void *buf, size_t len)
{
	char *dst = buf;

	if (len && gpa + (len - 1) < gpa)
		return -EFAULT;
	while (len) {
		size_t got = len;
		void *hva = gmem_map(gm, gpa, &got, GMEM_READ);

		if (!hva)
			return -EFAULT;
		if (!got || got > len) {
			/* A mapper that breaks its contract: refuse. */
			gmem_unmap(gm, hva, got);
			return -EFAULT;
		}
		memcpy(dst, hva, got);
		gmem_unmap(gm, hva, got);
		dst += got;
		gpa += got;
		len -= got;
	}
	return 0;
}
