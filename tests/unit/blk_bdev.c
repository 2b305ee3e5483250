// SPDX-License-Identifier: MIT
/*
 * virtio-blk over a block device: a loop device on a temporary file (skipped
 * where loop devices cannot be set up), for the ioctl-probed capacity and
 * block sizes, I/O, FLUSH, and write-zeroes / discard through fallocate.
 */
#include <sys/ioctl.h>
#include <linux/loop.h>

#include "blk_rig.h"

#define CFG(field) \
	(VMMIO_CONFIG_OFF + offsetof(struct virtio_blk_config, field))

struct loopdev {
	struct brig file; /* only its temporary store is used */
	char dev[32];
	int fd; /* held open: the device detaches when the last user closes */
};

/* Attaches a loop device with @block_size byte blocks to a new file. */
static int loop_up_flags(struct loopdev *l, uint64_t size,
			 unsigned int block_size, unsigned int flags)
{
	struct loop_config cfg = { 0 };
	int ctl, nr, bfd, rc = 0;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	if (br_make_store(&l->file, size))
		return -EIO;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	bfd = open(l->file.path, O_RDWR | O_CLOEXEC);
	for (int tries = 0; tries < 8 && bfd >= 0; tries++) {
		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0) {
			rc = -errno;
			break;
		}
		snprintf(l->dev, sizeof(l->dev), "/dev/loop%d", nr);
		l->fd = open(l->dev, O_RDWR | O_CLOEXEC);
		if (l->fd < 0) {
			rc = -errno;
			break;
		}
		cfg.fd = bfd;
		cfg.block_size = block_size;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | flags;
		if (!ioctl(l->fd, LOOP_CONFIGURE, &cfg)) {
			rc = 0;
			break;
		}
		rc = -errno;
		close(l->fd);
		l->fd = -1;
		if (rc != -EBUSY)
			break;
	}
	if (bfd >= 0)
		close(bfd);
	close(ctl);
	return l->fd >= 0 ? 0 : (rc ? rc : -EIO);
}

static int loop_up(struct loopdev *l, uint64_t size, unsigned int block_size)
{
	return loop_up_flags(l, size, block_size, 0);
}

static void loop_down(struct loopdev *l)
{
	if (l->fd >= 0)
		close(l->fd);
	unlink(l->file.path);
	rmdir(l->file.dir);
}

#define T_LOOP(l, size, bs)                                        \
	do {                                                       \
		int t_rc_ = loop_up(l, size, bs);                  \
		if (t_rc_) {                                       \
			loop_down(l);                              \
			t_skip("no loop device here (%d)", t_rc_); \
			return;                                    \
		}                                                  \
	} while (0)

static void bdev_io_and_config_on(struct loopdev *l)
{
	struct brig_opts o = { 0 };
	struct brig r BRIG_SCOPED = { 0 };

	o.path = l->dev;
	T_BR_START(&r, &o);
	T_EQ_U64(gdrv_read(&r.drv, CFG(capacity), 8), (8u << 20) / 512);
	T_EQ(gdrv_read(&r.drv, CFG(blk_size), 4), 512);
	T_ASSERT(r.drv.features & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	fg_fill(r.fg, r.data, 1u << 20, 9);
	T_EQ(br_req_ex(&r, VIRTIO_BLK_T_OUT, 3, r.data, 1u << 20, 0,
		       GDRV_INDIRECT, NULL),
	     VIRTIO_BLK_S_OK);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_check(&r, 3 * 512, 1u << 20, 9));
	br_guest_set(&r, r.data2, 1u << 20, 0);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 3, r.data2, 1u << 20),
	     VIRTIO_BLK_S_OK);
	T_ASSERT(fg_check(r.fg, r.data2, 1u << 20, 9));
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 16384, r.data2, 512),
	     VIRTIO_BLK_S_IOERR);
	T_BR_FINI(&r);
}

static void bdev_io_and_config(void)
{
	struct loopdev l;

	T_LOOP(&l, 8u << 20, 512);
	bdev_io_and_config_on(&l);
	loop_down(&l);
}

static void bdev_write_zeroes_and_discard_on(struct loopdev *l)
{
	struct virtio_blk_discard_write_zeroes *seg;
	struct brig_opts o = { 0 };
	struct brig r BRIG_SCOPED = { 0 };

	o.path = l->dev;
	T_BR_START(&r, &o);
	T_ASSERT(!br_file_fill(&r, 0, 1u << 20, 4));
	T_ASSERT(!fsync(r.fd));
	seg = fg_ptr(r.fg, r.data, sizeof(*seg));
	seg->sector = htole64(64);
	seg->num_sectors = htole32(64);
	seg->flags = 0;
	T_EQ(br_req(&r, VIRTIO_BLK_T_WRITE_ZEROES, 0, r.data, 16),
	     VIRTIO_BLK_S_OK);
	seg->sector = htole64(256);
	seg->flags = htole32(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	T_EQ(br_req(&r, VIRTIO_BLK_T_WRITE_ZEROES, 0, r.data, 16),
	     VIRTIO_BLK_S_OK);
	br_guest_set(&r, r.data2, 32768, 0xee);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 64, r.data2, 32768), VIRTIO_BLK_S_OK);
	T_ASSERT(br_guest_is(&r, r.data2, 32768, 0));
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 256, r.data2, 32768), VIRTIO_BLK_S_OK);
	T_ASSERT(br_guest_is(&r, r.data2, 32768, 0));
	T_ASSERT(br_file_check(&r, 0, 64 * 512, 4));
	if (r.drv.features & (1ULL << VIRTIO_BLK_F_DISCARD)) {
		seg->sector = htole64(512);
		seg->flags = 0;
		T_EQ(br_req(&r, VIRTIO_BLK_T_DISCARD, 0, r.data, 16),
		     VIRTIO_BLK_S_OK);
	}
	T_BR_FINI(&r);
}

static void bdev_write_zeroes_and_discard(void)
{
	struct loopdev l;

	T_LOOP(&l, 8u << 20, 512);
	bdev_write_zeroes_and_discard_on(&l);
	loop_down(&l);
}

/* A 4 KiB-sector device: blk_size says so; 512-byte I/O still works. */
static void bdev_4k_logical_blocks_on(struct loopdev *l)
{
	struct brig_opts o = { 0 };
	struct brig r BRIG_SCOPED = { 0 };

	o.path = l->dev;
	T_BR_START(&r, &o);
	T_EQ(gdrv_read(&r.drv, CFG(blk_size), 4), 4096);
	T_EQ(gdrv_read(&r.drv, CFG(physical_block_exp), 1), 0);
	fg_fill(r.fg, r.data, 512, 5);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 7, r.data, 512), VIRTIO_BLK_S_OK);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 7, r.data2, 512), VIRTIO_BLK_S_OK);
	T_ASSERT(fg_check(r.fg, r.data2, 512, 5));
	T_BR_FINI(&r);
}

static void bdev_4k_logical_blocks(void)
{
	struct loopdev l;

	T_LOOP(&l, 8u << 20, 4096);
	bdev_4k_logical_blocks_on(&l);
	loop_down(&l);
}

/* A read-only block device: opened O_RDONLY, writes refused. */
static void bdev_readonly_on(struct loopdev *l)
{
	struct brig_opts o = { .readonly = true };
	struct brig r BRIG_SCOPED = { 0 };

	o.path = l->dev;
	T_BR_START(&r, &o);
	T_ASSERT(r.drv.features & (1ULL << VIRTIO_BLK_F_RO));
	T_ASSERT(!(r.drv.features & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES)));
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data, 512), VIRTIO_BLK_S_IOERR);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 0, r.data, 512), VIRTIO_BLK_S_OK);
	T_BR_FINI(&r);
}

static void bdev_readonly(void)
{
	struct loopdev l;

	T_LOOP(&l, 1u << 20, 512);
	bdev_readonly_on(&l);
	loop_down(&l);
}

/*
 * A device the kernel holds read-only (losetup -r, blockdev --setro), its
 * disk configured read-write: served read-only, never a device whose
 * every write fails.
 */
static void bdev_readonly_device_served_readonly(void)
{
	struct brig_opts o = { 0 };
	struct loopdev l;
	struct brig r;
	int t_rc;

	t_rc = loop_up_flags(&l, 1u << 20, 512, LO_FLAGS_READ_ONLY);
	if (t_rc) {
		loop_down(&l);
		t_skip("no loop device here (%d)", t_rc);
		return;
	}
	o.path = l.dev;
	if (brig_start(&r, &o)) {
		t_fail(__FILE__, __LINE__, "brig_start: %s", r.why);
		if (r.fg || r.blk)
			brig_fini(&r);
		loop_down(&l);
		return;
	}
	if (!(r.drv.features & (1ULL << VIRTIO_BLK_F_RO)) ||
	    br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data, 512) !=
		    VIRTIO_BLK_S_IOERR ||
	    br_req(&r, VIRTIO_BLK_T_IN, 0, r.data, 512) != VIRTIO_BLK_S_OK)
		t_fail(__FILE__, __LINE__, "not served read-only");
	brig_fini(&r);
	loop_down(&l);
}

T_MAIN(T_CASE(bdev_io_and_config), T_CASE(bdev_write_zeroes_and_discard),
       T_CASE(bdev_4k_logical_blocks), T_CASE(bdev_readonly),
       T_CASE(bdev_readonly_device_served_readonly))
