// SPDX-License-Identifier: MIT
/*
 * Fuzz the grant mapper (backend/gnt.c): the addresses a grant_usage=1
 * guest puts in its descriptors and ring registers become grant references
 * here. The two libgnttab calls it makes are stubbed: they check what they
 * are asked for (consecutive references, a sane count) and hand out
 * private pages, so every pointer and length the mapper returns can be
 * checked against what was really mapped.
 *
 * Input: flags u8 (bit n: references = n mod 8 are revoked), then records
 * of op u8, address u64, length u64.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz_common.h"
#include "../../backend/gnt.h"

#define FG_PAGE 4096u
#define FG_MAX_MAPS 64	  /* live stub mappings */
#define FG_MAX_HELD 16	  /* maps the input keeps before unmapping */
#define FG_MAX_READ 65536 /* gmem_read's buffer */
#define FG_MAX_OPS 128

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the stubbed grant device ---- */

struct fg_map {
	void *addr;
	uint32_t count, first;
	int prot;
};

static struct {
	struct fg_map maps[FG_MAX_MAPS];
	unsigned int nr;
	uint8_t revoked; /* bit r: refs with ref % 8 == r fail to map */
	uint32_t last_first, last_count;
	unsigned int calls;
} gt;

void *xengnttab_map_domain_grant_refs(xengnttab_handle *xgt, uint32_t count,
				      uint32_t domid, uint32_t *refs, int prot)
{
	struct fg_map *m;
	void *p;

	gt.calls++;
	/* A buffer's pages are consecutive references, at most 32 of them. */
	FZ_CHECK(count >= 1 && count <= XB_GRANT_MAX_PAGES);
	for (uint32_t i = 1; i < count; i++)
		FZ_CHECK(refs[i] == refs[0] + i && refs[i] > refs[0]);
	FZ_CHECK(prot == PROT_READ || prot == (PROT_READ | PROT_WRITE));
	FZ_CHECK(domid == 5);
	gt.last_first = refs[0];
	gt.last_count = count;
	for (uint32_t i = 0; i < count; i++) {
		if (gt.revoked & (1u << (refs[i] % 8))) {
			errno = EINVAL;
			return NULL;
		}
	}
	if (gt.nr == FG_MAX_MAPS) {
		errno = ENOMEM;
		return NULL;
	}
	p = mmap(NULL, (size_t)count * FG_PAGE, prot,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FZ_CHECK(p != MAP_FAILED);
	m = &gt.maps[gt.nr++];
	*m = (struct fg_map){ p, count, refs[0], prot };
	return p;
}

int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
	/* Only exactly what was mapped is ever unmapped. */
	for (unsigned int i = 0; i < gt.nr; i++) {
		struct fg_map *m = &gt.maps[i];

		if (m->addr != start_address)
			continue;
		FZ_CHECK(m->count == count);
		munmap(m->addr, (size_t)count * FG_PAGE);
		*m = gt.maps[--gt.nr];
		return 0;
	}
	FZ_CHECK(!"unmap of something never mapped");
	return -1;
}

/* The stub mapping holding [p, p + len), or NULL. */
static struct fg_map *find_map(const void *p, size_t len)
{
	for (unsigned int i = 0; i < gt.nr; i++) {
		struct fg_map *m = &gt.maps[i];
		uintptr_t a = (uintptr_t)m->addr, q = (uintptr_t)p;

		if (q >= a && q - a < (size_t)m->count * FG_PAGE &&
		    len <= (size_t)m->count * FG_PAGE - (q - a))
			return m;
	}
	return NULL;
}

static unsigned long pages_mapped(void)
{
	unsigned long n = 0;

	for (unsigned int i = 0; i < gt.nr; i++)
		n += gt.maps[i].count;
	return n;
}

/* ---- one input ---- */

struct held {
	void *p;
	size_t len;
};

/* A direct map(): whatever comes back must be exactly what was granted. */
static void op_map(const struct gmem *gm, struct held *h, unsigned int *nh,
		   uint64_t addr, uint64_t want, int prot)
{
	unsigned int calls = gt.calls;
	size_t len = want;
	struct fg_map *m;
	void *p;

	p = gmem_map(gm, addr, &len, prot);
	if (!(addr & XB_GRANT_BIT) || !want) {
		/* Plain guest-physical addresses never reach the grant device. */
		FZ_CHECK(!p && gt.calls == calls);
		return;
	}
	if (!p)
		return;
	FZ_CHECK(len >= 1 && len <= want);
	m = find_map(p, len);
	FZ_CHECK(m);
	FZ_CHECK(((uintptr_t)p & (FG_PAGE - 1)) == (addr & (FG_PAGE - 1)));
	/* The first page mapped is the reference the address names. */
	FZ_CHECK(m->first == ((addr & ~XB_GRANT_BIT) >> 12));
	FZ_CHECK((uintptr_t)p - (uintptr_t)m->addr < FG_PAGE);
	FZ_CHECK((m->prot & PROT_WRITE) == (prot & GMEM_WRITE));
	if (*nh < FG_MAX_HELD) {
		h[(*nh)++] = (struct held){ p, len };
		return;
	}
	gmem_unmap(gm, p, len);
}

static void op_whole(const struct gmem *gm, uint64_t addr, uint64_t len)
{
	void *p;

	len %= (XB_GRANT_MAX_PAGES + 2) * FG_PAGE;
	p = gmem_map_whole(gm, addr, len, GMEM_READ);
	if (!p)
		return;
	/* All of it, in one range, or nothing. */
	FZ_CHECK(find_map(p, len));
	gmem_unmap(gm, p, len);
}

static void op_read(const struct gmem *gm, uint64_t addr, uint64_t len)
{
	static uint8_t buf[FG_MAX_READ];
	unsigned int nr = gt.nr;

	len %= FG_MAX_READ + 1;
	if (!gmem_read(gm, addr, buf, len)) {
		/* Anonymous pages read back as zeroes. */
		for (uint64_t i = 0; i < len; i++)
			FZ_CHECK(!buf[i]);
	}
	FZ_CHECK(gt.nr == nr); /* a copy holds nothing mapped */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct log_ctx log;
	struct xb_gnt g = { .xgt = NULL, .domid = 5, .log = &log };
	const struct gmem gm = { &xb_gnt_ops, &g };
	struct held h[FG_MAX_HELD];
	unsigned int nh = 0;

	fz_quiet();
	log_ctx_init(&log, 5, "gnt");
	memset(&gt, 0, sizeof(gt));
	gt.revoked = fz_u8(&in);
	for (unsigned int i = 0; i < FG_MAX_OPS && in.left; i++) {
		uint8_t op = fz_u8(&in);
		uint64_t addr = fz_u64(&in), len = fz_u64(&in);

		/* Most addresses name grants; some are plain or huge. */
		if (op & 0x10)
			addr |= XB_GRANT_BIT;
		if (!(op & 0x20))
			len &= 0x3ffff;
		switch ((op & 7) % 5) {
		case 0:
		case 1:
			op_map(&gm, h, &nh, addr, len,
			       op & 0x40 ? GMEM_WRITE : GMEM_READ);
			break;
		case 2:
			op_whole(&gm, addr, len);
			break;
		case 3:
			op_read(&gm, addr, len);
			break;
		case 4:
			if (nh) { /* unmap one held map, any of them */
				unsigned int k = len % nh;

				gmem_unmap(&gm, h[k].p, h[k].len);
				h[k] = h[--nh];
			}
			break;
		}
		FZ_CHECK(g.live == pages_mapped());
	}
	while (nh) {
		nh--;
		gmem_unmap(&gm, h[nh].p, h[nh].len);
	}
	/* Nothing stays mapped once every map was undone. */
	FZ_CHECK(gt.nr == 0 && g.live == 0);
	return 0;
}
