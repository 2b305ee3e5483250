// SPDX-License-Identifier: MIT
/*
 * virtio-blk requests beyond reads and writes (GET_ID, DISCARD, WRITE_ZEROES,
 * unknown types) and every blk row of SECURITY.md's hostile-guest table:
 * each checked for its verdict, for no I/O where none is due, no leak, and
 * a working device afterwards.
 */
#include "blk_rig.h"

#define SERIAL "xvb-0123456789abcdefXYZ" /* longer than 20: truncated */
#define CAP_SECTORS ((8u << 20) / 512)

static const struct brig_opts with_serial = { .serial = SERIAL };

/* The store is patterned; checks that nothing changed it. */
#define FILE_SEED 0x5eed
static int seed_file(struct brig *r)
{
	return br_file_fill(r, 0, 8u << 20, FILE_SEED);
}

static bool file_intact(struct brig *r)
{
	return br_file_check(r, 0, 8u << 20, FILE_SEED);
}

/* ---- GET_ID ------------------------------------------------------------- */

static int get_id(struct brig *r, uint32_t len, uint32_t *used)
{
	br_guest_set(r, r->data, 4096, 0xee);
	return br_req_ex(r, VIRTIO_BLK_T_GET_ID, 0, r->data, len, 0, 0, used);
}

static void get_id_exact(void)
{
	struct brig r BRIG_SCOPED = { 0 };
	uint32_t used = 0;

	T_BR_START(&r, &with_serial);
	T_EQ(get_id(&r, 20, &used), VIRTIO_BLK_S_OK);
	T_EQ(used, 21);
	T_ASSERT(!memcmp(fg_ptr(r.fg, r.data, 20), SERIAL, 20));
	T_BR_FINI(&r);
}

static void get_id_short_buffer(void)
{
	struct brig r BRIG_SCOPED = { 0 };
	uint32_t used = 0;

	T_BR_START(&r, &with_serial);
	T_EQ(get_id(&r, 8, &used), VIRTIO_BLK_S_OK);
	T_EQ(used, 9);
	T_ASSERT(!memcmp(fg_ptr(r.fg, r.data, 8), SERIAL, 8));
	/* Nothing beyond the guest's buffer; the status byte is elsewhere. */
	T_ASSERT(br_guest_is(&r, r.data + 8, 4096 - 8, 0xee));
	/* Only a status byte: nothing to write, still OK. */
	T_EQ(get_id(&r, 0, &used), VIRTIO_BLK_S_OK);
	T_EQ(used, 1);
	T_ASSERT(br_guest_is(&r, r.data, 4096, 0xee));
	T_BR_FINI(&r);
}

static void get_id_long_buffer_nul_padded(void)
{
	struct brig_opts o = { .serial = "abc" };
	struct brig r BRIG_SCOPED = { 0 };
	uint32_t used = 0;

	T_BR_START(&r, &o);
	T_EQ(get_id(&r, 64, &used), VIRTIO_BLK_S_OK);
	T_EQ(used, 21);
	T_ASSERT(!memcmp(fg_ptr(r.fg, r.data, 3), "abc", 3));
	T_ASSERT(br_guest_is(&r, r.data + 3, 17, 0));
	T_ASSERT(br_guest_is(&r, r.data + 20, 64 - 20, 0xee));
	T_BR_FINI(&r);
}

static void get_id_with_readable_data_fails(void)
{
	struct brig r BRIG_SCOPED = { 0 };
	struct gdrv_buf b[4];

	T_BR_START(&r, &with_serial);
	br_put_hdr(&r, br_hdr(&r, 0), VIRTIO_BLK_T_GET_ID, 0);
	br_set_status(&r, br_st(&r, 0));
	br_guest_set(&r, r.data2, 20, 0xee);
	b[0] = (struct gdrv_buf){ br_hdr(&r, 0), 16, false };
	b[1] = (struct gdrv_buf){ r.data, 20, false };
	b[2] = (struct gdrv_buf){ r.data2, 20, true };
	b[3] = (struct gdrv_buf){ br_st(&r, 0), 1, true };
	T_EQ(br_xfer(&r, b, 4, 0), 1);
	T_EQ(br_status(&r, br_st(&r, 0)), VIRTIO_BLK_S_IOERR);
	T_ASSERT(br_guest_is(&r, r.data2, 20, 0xee));
	T_BR_FINI(&r);
}

/* ---- unknown types ------------------------------------------------------ */

static void unknown_types_unsupported(void)
{
	static const uint32_t types[] = {
		2, 3, 5, 10, 14, 15, 16, 0x80000000u, 0x80000001u, 0xffffffffu,
	};
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	T_ASSERT(!seed_file(&r));
	for (unsigned int i = 0; i < ARRAY_SIZE(types); i++) {
		fg_fill(r.fg, r.data, 4096, 9);
		T_EQ(br_req(&r, types[i], 0, r.data, 4096),
		     VIRTIO_BLK_S_UNSUPP);
		T_ASSERT(fg_check(r.fg, r.data, 4096, 9));
	}
	T_ASSERT(file_intact(&r));
	T_ASSERT(!br_needs_reset(&r));
	T_EQ(fg_live(r.fg), r.baseline);
	T_BR_FINI(&r);
}

/* ---- hostile: NEEDS_RESET ------------------------------------------------ */

/*
 * A malformed chain: the device must end up NEEDS_RESET, complete the head
 * without a status, leak nothing, and work again after a reset.
 */
static void expect_needs_reset(const struct gdrv_buf *b, unsigned int n,
			       unsigned int flags)
{
	struct brig r BRIG_SCOPED = { 0 };
	uint32_t len;
	uint16_t h;

	T_BR_START(&r, NULL);
	T_ASSERT(!seed_file(&r));
	T_ASSERT(!br_needs_reset(&r));
	r.why = NULL;
	{
		struct gdrv_buf bb[8];

		/* Relocate the template onto this rig's memory. */
		for (unsigned int i = 0; i < n; i++) {
			bb[i] = b[i];
			bb[i].gpa += r.data - FG_RAM_BASE;
		}
		br_put_hdr(&r, r.data, VIRTIO_BLK_T_OUT, 0);
		fg_fill(r.fg, r.data + 64, 4096, 3);
		T_ASSERT(gdrv_add(&r.drv, BQ, bb, n, flags) >= 0);
	}
	gdrv_kick(&r.drv, BQ);
	T_EQ(br_run(&r), 0);
	T_ASSERT(br_needs_reset(&r));
	/* Completed or not, nothing stays mapped and nothing was written. */
	br_collect(&r, &h, &len, 1);
	T_EQ(fg_live(r.fg), r.baseline);
	T_ASSERT(file_intact(&r));
	/* No more requests are taken until the reset. */
	fg_fill(r.fg, r.data2, 512, 4);
	T_ASSERT(br_add(&r, 3, VIRTIO_BLK_T_OUT, 0, r.data2, 512, 0, 0) >= 0);
	gdrv_notify(&r.drv, BQ);
	T_EQ(br_run(&r), 0);
	T_EQ(br_status(&r, br_st(&r, 3)), BR_STATUS_NONE);
	T_ASSERT(file_intact(&r));
	T_BR(&r, brig_recover(&r));
	T_BR_FINI(&r);
}

/* Templates are relative to the rig's data area (header at +0). */
#define G(off) (FG_RAM_BASE + (off))

/* The readable part is the header: 8 bytes of it are too few. */
static void hostile_header_too_short(void)
{
	const struct gdrv_buf b[] = {
		{ G(0), 8, false },
		{ G(8192), 513, true },
	};

	expect_needs_reset(b, ARRAY_SIZE(b), 0);
}

static void hostile_header_15_bytes_split(void)
{
	const struct gdrv_buf b[] = {
		{ G(0), 7, false },
		{ G(7), 8, false },
		{ G(8192), 1, true },
	};

	expect_needs_reset(b, ARRAY_SIZE(b), GDRV_INDIRECT);
}

static void hostile_header_missing(void)
{
	const struct gdrv_buf b[] = {
		{ G(8192), 513, true },
	};

	expect_needs_reset(b, ARRAY_SIZE(b), 0);
}

static void hostile_status_missing(void)
{
	const struct gdrv_buf b[] = {
		{ G(0), 16, false },
		{ G(64), 512, false },
	};

	expect_needs_reset(b, ARRAY_SIZE(b), 0);
}

static void hostile_status_read_only(void)
{
	const struct gdrv_buf b[] = {
		{ G(0), 16, false },
		{ G(64), 512, false },
		{ G(8192), 1, false },
	};

	expect_needs_reset(b, ARRAY_SIZE(b), GDRV_INDIRECT);
}

static void hostile_status_zero_length(void)
{
	const struct gdrv_buf b[] = {
		{ G(0), 16, false },
		{ G(64), 512, false },
		{ G(8192), 0, true },
	};

	expect_needs_reset(b, ARRAY_SIZE(b), 0);
}

/* ---- hostile: IOERR without I/O ------------------------------------------ */

struct bad_range {
	uint64_t sector;
	uint32_t len;
};

static const struct bad_range bad_ranges[] = {
	{ CAP_SECTORS, 512 },
	{ CAP_SECTORS, 0 },
	{ CAP_SECTORS + 1, 512 },
	{ CAP_SECTORS - 1, 1024 },
	{ CAP_SECTORS - 8, 8192 },
	{ UINT64_MAX, 512 },
	{ UINT64_MAX - 1, 4096 },
	{ UINT64_MAX / 512, 512 },
	{ (UINT64_MAX / 512) + 1, 512 },
	{ 0, 1 },
	{ 0, 511 },
	{ 0, 513 },
	{ 8, 4095 },
	{ 8, 4097 },
};

static void bad_ranges_fail_without_io(const struct brig_opts *o)
{
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, o);
	T_ASSERT(!seed_file(&r));
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_ranges); i++) {
		const struct bad_range *b = &bad_ranges[i];

		fg_fill(r.fg, r.data, 8192, 1);
		T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, b->sector, r.data, b->len),
		     VIRTIO_BLK_S_IOERR);
		br_guest_set(&r, r.data2, 8192, 0xee);
		T_EQ(br_req_ex(&r, VIRTIO_BLK_T_IN, b->sector, r.data2, b->len,
			       0, GDRV_INDIRECT, NULL),
		     VIRTIO_BLK_S_IOERR);
		T_ASSERT(br_guest_is(&r, r.data2, 8192, 0xee));
	}
	T_ASSERT(file_intact(&r));
	T_ASSERT(!br_needs_reset(&r));
	T_EQ(fg_live(r.fg), r.baseline);
	T_BR_FINI(&r);
}

static void hostile_bad_ranges(void)
{
	bad_ranges_fail_without_io(NULL);
}

static void hostile_bad_ranges_clamped(void)
{
	struct brig_opts o = { .clamp = true };

	bad_ranges_fail_without_io(&o);
}

/* Data in the wrong direction: a read with readable data, and vice versa. */
static void hostile_wrong_direction(void)
{
	struct brig r BRIG_SCOPED = { 0 };
	struct gdrv_buf b[4];

	T_BR_START(&r, NULL);
	T_ASSERT(!seed_file(&r));
	br_guest_set(&r, r.data2, 512, 0xee);
	fg_fill(r.fg, r.data, 512, 2);

	br_put_hdr(&r, br_hdr(&r, 0), VIRTIO_BLK_T_IN, 0);
	br_set_status(&r, br_st(&r, 0));
	b[0] = (struct gdrv_buf){ br_hdr(&r, 0), 16, false };
	b[1] = (struct gdrv_buf){ r.data, 512, false };
	b[2] = (struct gdrv_buf){ r.data2, 512, true };
	b[3] = (struct gdrv_buf){ br_st(&r, 0), 1, true };
	T_EQ(br_xfer(&r, b, 4, 0), 1);
	T_EQ(br_status(&r, br_st(&r, 0)), VIRTIO_BLK_S_IOERR);
	T_ASSERT(br_guest_is(&r, r.data2, 512, 0xee));

	br_put_hdr(&r, br_hdr(&r, 0), VIRTIO_BLK_T_OUT, 0);
	br_set_status(&r, br_st(&r, 0));
	T_EQ(br_xfer(&r, b, 4, GDRV_INDIRECT), 1);
	T_EQ(br_status(&r, br_st(&r, 0)), VIRTIO_BLK_S_IOERR);
	T_ASSERT(br_guest_is(&r, r.data2, 512, 0xee));

	/* A write whose only data is writable. */
	b[1] = b[2];
	b[2] = b[3];
	T_EQ(br_xfer(&r, b, 3, 0), 1);
	T_EQ(br_status(&r, br_st(&r, 0)), VIRTIO_BLK_S_IOERR);
	T_ASSERT(file_intact(&r));
	T_ASSERT(!br_needs_reset(&r));
	T_BR_FINI(&r);
}

static void readonly_disk_refuses_writes(void)
{
	struct brig_opts o = { .readonly = true };
	struct stat before, after;
	struct brig r BRIG_SCOPED = { 0 };
	int fl;

	T_BR_START(&r, &o);
	T_ASSERT(!seed_file(&r));
	T_ASSERT(!fstat(r.fd, &before));
	T_ASSERT(r.drv.features & (1ULL << VIRTIO_BLK_F_RO));
	T_ASSERT(!(r.drv.features & (1ULL << VIRTIO_BLK_F_DISCARD)));
	T_ASSERT(!(r.drv.features & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES)));
	/* The store is open read-only: no path can write to it. */
	fl = fcntl(vblk_store_fd(r.blk), F_GETFL);
	T_EQ(fl & O_ACCMODE, O_RDONLY);

	fg_fill(r.fg, r.data, 65536, 1);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data, 65536),
	     VIRTIO_BLK_S_IOERR);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 100, r.data, 0), VIRTIO_BLK_S_IOERR);
	T_EQ(br_req(&r, VIRTIO_BLK_T_WRITE_ZEROES, 0, r.data, 16),
	     VIRTIO_BLK_S_UNSUPP);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 0, r.data2, 65536), VIRTIO_BLK_S_OK);
	T_ASSERT(fg_check(r.fg, r.data2, 65536, FILE_SEED));
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	T_ASSERT(file_intact(&r));
	T_ASSERT(!fstat(r.fd, &after));
	T_EQ(after.st_size, before.st_size);
	T_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	T_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	T_BR_FINI(&r);
}

/* ---- discard and write-zeroes -------------------------------------------- */

struct seg {
	uint64_t sector;
	uint32_t num;
	uint32_t flags;
};

/* One DISCARD / WRITE_ZEROES request with @n segments; returns its status. */
static int dwz(struct brig *r, uint32_t type, const struct seg *s,
	       unsigned int n)
{
	struct virtio_blk_discard_write_zeroes *w;

	w = fg_ptr(r->fg, r->data + (2u << 20), n * sizeof(*w));
	for (unsigned int i = 0; i < n; i++) {
		w[i].sector = htole64(s[i].sector);
		w[i].num_sectors = htole32(s[i].num);
		w[i].flags = htole32(s[i].flags);
	}
	return br_req(r, type, 0, r->data + (2u << 20), n * sizeof(*w));
}

static void discard_reads_back_zeroes(void)
{
	const struct seg one = { 16, 8, 0 };
	const struct seg three[] = { { 64, 16, 0 },
				     { 200, 0, 0 },
				     { 1024, 8, 0 } };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	T_ASSERT(r.drv.features & (1ULL << VIRTIO_BLK_F_DISCARD));
	T_ASSERT(!seed_file(&r));
	T_EQ(dwz(&r, VIRTIO_BLK_T_DISCARD, &one, 1), VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_is(&r, 16 * 512, 4096, 0));
	T_ASSERT(br_file_check(&r, 0, 16 * 512, FILE_SEED));
	T_EQ(dwz(&r, VIRTIO_BLK_T_DISCARD, three, 3), VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_is(&r, 64 * 512, 16 * 512, 0));
	T_ASSERT(br_file_is(&r, 1024 * 512, 8 * 512, 0));
	/* Reads through the device see the zeroes too. */
	br_guest_set(&r, r.data2, 4096, 0xee);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 1024, r.data2, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(br_guest_is(&r, r.data2, 4096, 0));
	T_BR_FINI(&r);
}

static void write_zeroes_reads_back_zeroes(void)
{
	const struct seg segs[] = {
		{ 8, 8, 0 },
		{ 100, 3, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP },
		{ CAP_SECTORS - 8, 8, 0 },
	};
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	T_ASSERT(r.drv.features & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	T_ASSERT(!seed_file(&r));
	T_EQ(dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, segs, 1), VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_is(&r, 8 * 512, 8 * 512, 0));
	T_ASSERT(br_file_check(&r, 0, 8 * 512, FILE_SEED));
	T_EQ(dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, segs, 3), VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_is(&r, 100 * 512, 3 * 512, 0));
	T_ASSERT(br_file_is(&r, (CAP_SECTORS - 8) * 512, 8 * 512, 0));
	/* Sectors next to the ranges are untouched. */
	{
		uint8_t b[512], want[512];

		T_EQ(pread(r.fd, b, 512, 103 * 512), 512);
		for (unsigned int i = 0; i < 512; i++)
			want[i] = fg_pattern(FILE_SEED, 103 * 512 + i);
		T_ASSERT(!memcmp(b, want, 512));
	}
	T_BR_FINI(&r);
}

static void dwz_bad_flags_unsupported(void)
{
	const struct seg d_unmap = { 8, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP };
	const struct seg d_other = { 8, 8, 2 };
	const struct seg z_other = { 8, 8,
				     2 | VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP };
	const struct seg z_high = { 8, 8, 0x80000000u };
	const struct seg mixed[] = { { 8, 8, 0 }, { 32, 8, 4 } };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	T_ASSERT(!seed_file(&r));
	T_EQ(dwz(&r, VIRTIO_BLK_T_DISCARD, &d_unmap, 1), VIRTIO_BLK_S_UNSUPP);
	T_EQ(dwz(&r, VIRTIO_BLK_T_DISCARD, &d_other, 1), VIRTIO_BLK_S_UNSUPP);
	T_EQ(dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, &z_other, 1),
	     VIRTIO_BLK_S_UNSUPP);
	T_EQ(dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, &z_high, 1),
	     VIRTIO_BLK_S_UNSUPP);
	/* A bad segment anywhere: nothing of the request is done. */
	T_EQ(dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, mixed, 2), VIRTIO_BLK_S_UNSUPP);
	T_ASSERT(file_intact(&r));
	T_BR_FINI(&r);
}

static void dwz_too_many_segments_unsupported(void)
{
	struct seg s[64];
	struct brig r BRIG_SCOPED = { 0 };

	for (unsigned int i = 0; i < ARRAY_SIZE(s); i++)
		s[i] = (struct seg){ i * 16, 8, 0 };
	T_BR_START(&r, NULL);
	T_ASSERT(!seed_file(&r));
	T_EQ(dwz(&r, VIRTIO_BLK_T_DISCARD, s, 33), VIRTIO_BLK_S_UNSUPP);
	T_EQ(dwz(&r, VIRTIO_BLK_T_DISCARD, s, 64), VIRTIO_BLK_S_UNSUPP);
	T_EQ(dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, s, 9), VIRTIO_BLK_S_UNSUPP);
	T_ASSERT(file_intact(&r));
	/* At the limits they are fine. */
	T_EQ(dwz(&r, VIRTIO_BLK_T_DISCARD, s, 32), VIRTIO_BLK_S_OK);
	T_EQ(dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, s + 32, 8), VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_is(&r, 31 * 16 * 512, 4096, 0));
	T_ASSERT(br_file_is(&r, 39 * 16 * 512, 4096, 0));
	T_BR_FINI(&r);
}

static void dwz_out_of_range_ioerr(void)
{
	static const struct seg bad[] = {
		{ CAP_SECTORS, 1, 0 },	   { CAP_SECTORS - 1, 2, 0 },
		{ CAP_SECTORS + 1, 0, 0 }, { UINT64_MAX, 1, 0 },
		{ UINT64_MAX - 7, 16, 0 }, { 0, (1u << 22) + 1, 0 },
		{ 0, UINT32_MAX, 0 },
	};
	struct brig r BRIG_SCOPED = { 0 };
	struct gdrv_buf b[3];

	T_BR_START(&r, NULL);
	T_ASSERT(!seed_file(&r));
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		T_EQ(dwz(&r, VIRTIO_BLK_T_DISCARD, &bad[i], 1),
		     VIRTIO_BLK_S_IOERR);
		T_EQ(dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, &bad[i], 1),
		     VIRTIO_BLK_S_IOERR);
	}
	/* Segment lists that are empty or not whole segments. */
	T_EQ(br_req(&r, VIRTIO_BLK_T_DISCARD, 0, r.data, 0),
	     VIRTIO_BLK_S_IOERR);
	T_EQ(br_req(&r, VIRTIO_BLK_T_WRITE_ZEROES, 0, r.data, 20),
	     VIRTIO_BLK_S_IOERR);
	/* Writable data. */
	br_put_hdr(&r, br_hdr(&r, 0), VIRTIO_BLK_T_DISCARD, 0);
	br_set_status(&r, br_st(&r, 0));
	b[0] = (struct gdrv_buf){ br_hdr(&r, 0), 16, false };
	b[1] = (struct gdrv_buf){ r.data, 16, true };
	b[2] = (struct gdrv_buf){ br_st(&r, 0), 1, true };
	T_EQ(br_xfer(&r, b, 3, 0), 1);
	T_EQ(br_status(&r, br_st(&r, 0)), VIRTIO_BLK_S_IOERR);
	T_ASSERT(file_intact(&r));
	T_ASSERT(!br_needs_reset(&r));
	T_BR_FINI(&r);
}

static void dwz_not_negotiated_unsupported(void)
{
	struct brig_opts o = {
		.no_features = (1ULL << VIRTIO_BLK_F_DISCARD) |
			       (1ULL << VIRTIO_BLK_F_WRITE_ZEROES),
	};
	const struct seg s = { 8, 8, 0 };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_ASSERT(!seed_file(&r));
	T_EQ(dwz(&r, VIRTIO_BLK_T_DISCARD, &s, 1), VIRTIO_BLK_S_UNSUPP);
	T_EQ(dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1), VIRTIO_BLK_S_UNSUPP);
	T_ASSERT(file_intact(&r));
	T_BR_FINI(&r);
}

T_MAIN(T_CASE(get_id_exact), T_CASE(get_id_short_buffer),
       T_CASE(get_id_long_buffer_nul_padded),
       T_CASE(get_id_with_readable_data_fails),
       T_CASE(unknown_types_unsupported), T_CASE(hostile_header_too_short),
       T_CASE(hostile_header_15_bytes_split), T_CASE(hostile_header_missing),
       T_CASE(hostile_status_missing), T_CASE(hostile_status_read_only),
       T_CASE(hostile_status_zero_length), T_CASE(hostile_bad_ranges),
       T_CASE(hostile_bad_ranges_clamped), T_CASE(hostile_wrong_direction),
       T_CASE(readonly_disk_refuses_writes), T_CASE(discard_reads_back_zeroes),
       T_CASE(write_zeroes_reads_back_zeroes),
       T_CASE(dwz_bad_flags_unsupported),
       T_CASE(dwz_too_many_segments_unsupported),
       T_CASE(dwz_out_of_range_ioerr), T_CASE(dwz_not_negotiated_unsupported))
