// SPDX-License-Identifier: MIT
/*
 * Fuzz the virtio-blk request path (devices/blk) through its public API,
 * as xvbd drives it: a memfd store, a fake guest, one event loop, and a
 * guest driver that builds requests of any shape (headers short or split,
 * status bytes missing, read-only or long, data in the wrong direction or
 * outside RAM, any type and sector, discard segments of any content),
 * kicks, runs the loop, resets. Checks: every request completes once with
 * a valid status (or the device needs a reset), no I/O leaves the disk or
 * touches a read-only one, nothing stays mapped after a reset.
 *
 * Input: flags u8, log2(queue size) - 1 u8 (mod 7), then 16-byte records of op
 * u8, a u8, b u16, c u32, d u64.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>

#include "devices/blk/blk.h"
#include "fakeguest.h"
#include "fuzz_common.h"
#include "gdrv.h"

#define FB_RAM (4u << 20)
#define FB_STORE (512u << 10) /* 1024 sectors */
#define FB_SECTORS (FB_STORE / 512)
#define FB_DATA (256u << 10) /* data area in guest RAM */
#define FB_MAX_OPS 96
#define FB_F(bit) (1ULL << (bit))

enum {
	FB_RO = 1 << 0,
	FB_WT = 1 << 1,	      /* conf->writethrough */
	FB_CLAMP = 1 << 2,    /* 4 KiB map clamping */
	FB_NO_IND = 1 << 3,   /* indirect descriptors not negotiated */
	FB_NO_EVT = 1 << 4,   /* EVENT_IDX not negotiated */
	FB_NO_FLUSH = 1 << 5, /* FLUSH not negotiated */
	FB_NO_DWZ = 1 << 6,   /* DISCARD / WRITE_ZEROES not negotiated */
	FB_MQ = 1 << 7,	      /* two request queues */
};

enum {
	OP_REQ,	  /* add a request */
	OP_SEG,	  /* write a discard / write-zeroes segment */
	OP_KICK,  /* notify a queue */
	OP_RUN,	  /* run the loop a little */
	OP_RESET, /* reset and set up again */
	OP_WCE,	  /* write the writeback byte */
	OP_COLLECT,
	OP_NR,
};

/* Shape bits of OP_REQ (b). */
enum {
	S_NSEG = 7,	    /* data descriptors */
	S_IND = 1 << 3,	    /* through an indirect table */
	S_FLIP = 1 << 4,    /* data in the wrong direction */
	S_NO_ST = 1 << 5,   /* no status descriptor */
	S_RO_ST = 1 << 6,   /* status read-only */
	S_ZERO_ST = 1 << 7, /* status of length 0 */
	S_LONG_ST = 1 << 8, /* status of 16 bytes */
	S_SHORT_HDR = 1 << 9,
	S_SPLIT_HDR = 1 << 10,
	S_RAW_SECTOR = 1 << 11,
	S_OUTSIDE = 1 << 12, /* data past the end of RAM */
	S_Q1 = 1 << 13,
	S_RAW_LEN = 1 << 14, /* data length not rounded to sectors */
};

static const uint32_t types[] = {
	VIRTIO_BLK_T_IN,      VIRTIO_BLK_T_OUT,
	VIRTIO_BLK_T_FLUSH,   VIRTIO_BLK_T_GET_ID,
	VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES,
	VIRTIO_BLK_T_IN,      0x20 /* not a request type */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	struct fakeguest *fg;
	struct evl loop;
	int store;     /* the memfd */
	char path[64]; /* /proc/self/fd/N: what vblk opens */
	bool ready;
} fb;

/* Per request added: what a completion must look like. */
struct fb_req {
	bool live;
	uint32_t type;
	uint32_t writable; /* device-writable bytes of the chain */
	uint64_t status_gpa;
	bool sane; /* a well-formed IN/OUT/GET_ID chain */
	uint32_t data_len;
};

struct fb_run {
	struct vblk *blk;
	struct vdev *vdev;
	struct gdrv drv;
	unsigned int nq, flags;
	uint16_t num;
	uint64_t hdr, st, dat; /* guest areas */
	struct fb_req reqs[2][256];
	unsigned int next_hdr;
};

static uint64_t store_sum(void)
{
	static uint64_t buf[FB_STORE / 8];
	uint64_t s = 0;

	FZ_CHECK(pread(fb.store, buf, FB_STORE, 0) == FB_STORE);
	for (size_t i = 0; i < FB_STORE / 8; i++)
		s = s * 31 + buf[i];
	return s;
}

static void fb_init(void)
{
	uint8_t pattern[4096];

	fb.fg = fg_new(FB_RAM);
	FZ_CHECK(fb.fg);
	FZ_CHECK(!evl_init(&fb.loop, 64));
	fb.store = memfd_create("fuzz-blk", MFD_CLOEXEC);
	FZ_CHECK(fb.store >= 0 && !ftruncate(fb.store, FB_STORE));
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = i * 7;
	for (size_t off = 0; off < FB_STORE; off += sizeof(pattern))
		FZ_CHECK(pwrite(fb.store, pattern, sizeof(pattern), off) ==
			 sizeof(pattern));
	snprintf(fb.path, sizeof(fb.path), "/proc/self/fd/%d", fb.store);
	fb.ready = true;
}

static uint64_t features(unsigned int flags)
{
	uint64_t f = ~0ULL;

	if (flags & FB_NO_IND)
		f &= ~FB_F(VIRTIO_RING_F_INDIRECT_DESC);
	if (flags & FB_NO_EVT)
		f &= ~FB_F(VIRTIO_RING_F_EVENT_IDX);
	if (flags & FB_NO_FLUSH)
		f &= ~FB_F(VIRTIO_BLK_F_FLUSH);
	if (flags & FB_NO_DWZ)
		f &= ~(FB_F(VIRTIO_BLK_F_DISCARD) |
		       FB_F(VIRTIO_BLK_F_WRITE_ZEROES));
	return f;
}

static bool needs_reset(struct fb_run *r)
{
	return gdrv_r32(&r->drv, VIRTIO_MMIO_STATUS) &
	       VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* Collects every used element and checks it against what was added. */
static void collect(struct fb_run *r)
{
	for (unsigned int q = 0; q < r->nq; q++) {
		uint16_t head;
		uint32_t len;
		int rc;

		while ((rc = gdrv_get_used(&r->drv, q, &head, &len)) == 1) {
			struct fb_req *f = &r->reqs[q][head];
			uint8_t st = 0xff;

			FZ_CHECK(f->live);
			f->live = false;
			/* Never more than the chain's writable bytes. */
			FZ_CHECK(len <= f->writable);
			if (!len)
				continue; /* abandoned: the device is broken */
			fg_read(fb.fg, f->status_gpa, &st, 1);
			FZ_CHECK(st == VIRTIO_BLK_S_OK ||
				 st == VIRTIO_BLK_S_IOERR ||
				 st == VIRTIO_BLK_S_UNSUPP);
			if (f->sane && st == VIRTIO_BLK_S_OK &&
			    f->type == VIRTIO_BLK_T_IN)
				FZ_CHECK(len == f->data_len + 1);
			if (f->type == 0x20 && f->sane)
				FZ_CHECK(st == VIRTIO_BLK_S_UNSUPP);
		}
		/* The device never writes a bogus used element. */
		FZ_CHECK(rc == 0);
	}
}

static void forget(struct fb_run *r)
{
	memset(r->reqs, 0, sizeof(r->reqs));
}

static int up(struct fb_run *r)
{
	int rc = gdrv_up(&r->drv, features(r->flags), r->nq, r->num);

	if (!rc)
		r->hdr = r->st = r->dat = 0;
	return rc;
}

/* Areas for headers, status bytes and data, allocated once per run. */
static void areas(struct fb_run *r)
{
	if (r->dat)
		return;
	r->hdr = fg_alloc(fb.fg, 4096, 4096);
	r->st = fg_alloc(fb.fg, 4096, 4096);
	r->dat = fg_alloc(fb.fg, FB_DATA, 4096);
	FZ_CHECK(r->hdr && r->st && r->dat);
}

static void add_req(struct fb_run *r, uint8_t a, uint16_t b, uint32_t c,
		    uint64_t d)
{
	struct virtio_blk_outhdr h;
	struct gdrv_buf bufs[12];
	unsigned int n = 0, nseg = b & S_NSEG, q = (b & S_Q1) && r->nq > 1;
	uint32_t type = a & 0x80 ? (uint32_t)(d >> 32) : types[a & 7];
	bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	uint32_t len = b & S_RAW_LEN ? c % FB_DATA : (c % 129) * 512;
	uint64_t sector = b & S_RAW_SECTOR ? d : d % (FB_SECTORS + 8);
	uint64_t hdr, st, data;
	struct fb_req f = { .live = true, .type = type };
	uint8_t none = 0xff;
	int head;

	areas(r);
	hdr = r->hdr + 16 * (r->next_hdr % 256);
	st = r->st + 16 * (r->next_hdr % 256);
	data = r->dat;
	f.status_gpa = st;
	r->next_hdr++;
	h.type = htole32(type);
	h.ioprio = htole32(c >> 16);
	h.sector = htole64(sector);
	fg_write(fb.fg, hdr, &h, sizeof(h));
	fg_write(fb.fg, st, &none, 1);
	if (b & S_SPLIT_HDR) {
		bufs[n++] = (struct gdrv_buf){ hdr, 8, false };
		bufs[n++] = (struct gdrv_buf){ hdr + 8, 8, false };
	} else {
		bufs[n++] = (struct gdrv_buf){ hdr,
					       b & S_SHORT_HDR ? c % 16 : 16,
					       false };
	}
	/* Discard / write-zeroes segments live at the start of the area. */
	if (type != VIRTIO_BLK_T_DISCARD && type != VIRTIO_BLK_T_WRITE_ZEROES)
		data += 4096 + (d >> 48) % 16 * 512;
	if (b & S_OUTSIDE)
		data = FG_RAM_BASE + FB_RAM - 512;
	if (!nseg)
		len = 0;
	for (unsigned int k = 0; k < nseg; k++) {
		uint32_t piece = len / nseg + (k + 1 == nseg ? len % nseg : 0);
		bool w = in != !!(b & S_FLIP);

		bufs[n++] = (struct gdrv_buf){ data, piece, w };
		data += piece;
		f.writable += w ? piece : 0;
	}
	if (!(b & S_NO_ST)) {
		uint32_t sl = b & S_ZERO_ST ? 0 : b & S_LONG_ST ? 16 : 1;

		bufs[n++] = (struct gdrv_buf){ st, sl, !(b & S_RO_ST) };
		f.writable += b & S_RO_ST ? 0 : sl;
	}
	/* The status is the last byte of the last writable buffer. */
	for (unsigned int k = n; k-- > 0;) {
		if (bufs[k].write && bufs[k].len) {
			f.status_gpa = bufs[k].gpa + bufs[k].len - 1;
			break;
		}
	}
	f.data_len = len;
	f.sane = !(b & (S_NO_ST | S_RO_ST | S_ZERO_ST | S_LONG_ST |
			S_SHORT_HDR | S_FLIP | S_OUTSIDE | S_RAW_LEN)) &&
		 len && (!(b & S_IND) || !(r->flags & FB_NO_IND));
	head = gdrv_add(&r->drv, q, bufs, n, b & S_IND ? GDRV_INDIRECT : 0);
	if (head < 0)
		return; /* the ring is full */
	FZ_CHECK(!r->reqs[q][head].live);
	r->reqs[q][head] = f;
}

static void add_seg(struct fb_run *r, uint8_t a, uint16_t b, uint32_t c,
		    uint64_t d)
{
	struct virtio_blk_discard_write_zeroes s = {
		.sector = htole64(b & 1 ? d : d % (FB_SECTORS + 8)),
		.num_sectors = htole32(b & 2 ? c : c % 64),
		.flags = htole32(b >> 2),
	};

	areas(r);
	fg_write(fb.fg, r->dat + 16 * (a % 32), &s, sizeof(s));
}

/* Reset: nothing of the old rings stays mapped, no chain survives. */
static void reset(struct fb_run *r)
{
	gdrv_reset(&r->drv);
	FZ_CHECK(fg_live(fb.fg) == 0 && fg_ok(fb.fg));
	forget(r);
}

static void step(struct fb_run *r, struct fz_in *in, bool *up_ok)
{
	uint8_t op = fz_u8(in), a = fz_u8(in);
	uint16_t b = fz_u16(in);
	uint32_t c = fz_u32(in);
	uint64_t d = fz_u64(in);

	if (!*up_ok && op % OP_NR != OP_RESET)
		return;
	switch (op % OP_NR) {
	case OP_REQ:
		add_req(r, a, b, c, d);
		if (!(a & 0x40))
			gdrv_notify(&r->drv, (b & S_Q1) && r->nq > 1);
		break;
	case OP_SEG:
		add_seg(r, a, b, c, d);
		break;
	case OP_KICK:
		gdrv_notify(&r->drv, a % 4); /* queues 2, 3 do not exist */
		break;
	case OP_RUN:
		for (unsigned int i = 0; i < a % 4u + 1; i++)
			evl_run_once(&fb.loop, false);
		break;
	case OP_RESET:
		reset(r);
		fg_alloc_reset(fb.fg); /* rings and areas anew */
		*up_ok = !up(r);
		break;
	case OP_WCE:
		gdrv_write(&r->drv,
			   VIRTIO_MMIO_CONFIG +
				   offsetof(struct virtio_blk_config, wce),
			   1, a);
		break;
	case OP_COLLECT:
		collect(r);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fb_run r;
	struct fz_in in = { data, size };
	struct vblk_conf conf;
	uint64_t ro_sum = 0;
	struct stat st;
	bool up_ok;

	fz_quiet();
	if (!fb.ready)
		fb_init();
	memset(&r, 0, sizeof(r));
	r.flags = fz_u8(&in);
	r.num = 1u << (1 + fz_u8(&in) % 7);
	r.nq = r.flags & FB_MQ ? 2 : 1;
	if (r.flags & FB_RO)
		ro_sum = store_sum();
	fg_alloc_reset(fb.fg);
	fg_set_clamp(fb.fg, r.flags & FB_CLAMP);
	conf = (struct vblk_conf){
		.path = fb.path,
		.readonly = r.flags & FB_RO,
		.writethrough = r.flags & FB_WT,
		.serial = "fuzz",
		.nr_queues = r.nq,
		.domid = 1,
		.name = "vblk-fuzz",
	};
	FZ_CHECK(!vblk_create(&r.blk, &conf, &fb.fg->gmem, &fb.loop));
	r.vdev = vblk_vdev(r.blk);
	gdrv_init(&r.drv, r.vdev, fb.fg);
	up_ok = !up(&r);
	FZ_CHECK(up_ok);

	for (unsigned int i = 0; i < FB_MAX_OPS && in.left; i++)
		step(&r, &in, &up_ok);
	/* SIGUSR1's state dump reads the rings as the guest left them. */
	vblk_log_state(r.blk);

	/* Everything kicked and run: each chain comes back, or the device
	 * is broken and a reset releases it. */
	if (up_ok) {
		for (unsigned int q = 0; q < r.nq; q++)
			gdrv_notify(&r.drv, q);
		FZ_CHECK(!evl_drain(&fb.loop, 5000));
		collect(&r);
		if (!needs_reset(&r))
			for (unsigned int q = 0; q < r.nq; q++)
				for (unsigned int h = 0; h < 256; h++)
					FZ_CHECK(!r.reqs[q][h].live);
	}
	reset(&r);
	gdrv_fini(&r.drv);
	vblk_destroy(r.blk);
	FZ_CHECK(!evl_drain(&fb.loop, 1000));

	/* No I/O past the end of the disk, none on a read-only one. */
	FZ_CHECK(!fstat(fb.store, &st) && st.st_size == FB_STORE);
	if (r.flags & FB_RO)
		FZ_CHECK(store_sum() == ro_sum);
	return 0;
}
