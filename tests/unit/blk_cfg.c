// SPDX-License-Identifier: MIT
/*
 * virtio-blk features and config space as a guest reads them through the
 * virtio-mmio window, the writeback byte (the only writable field), and
 * vblk_create's handling of bad configurations.
 */
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/virtio_ids.h>

#include "blk_rig.h"

#define CFG(field) \
	(VMMIO_CONFIG_OFF + offsetof(struct virtio_blk_config, field))
#define F(bit) (1ULL << (bit))

static uint64_t cfg_rd(struct brig *r, uint64_t off, unsigned int size)
{
	return gdrv_read(&r->drv, off, size);
}

static void config_fields(void)
{
	struct brig_opts o = { .size = (3u << 20) + 4096 };
	struct brig r BRIG_SCOPED = { 0 };
	uint64_t cap;

	T_BR_START(&r, &o);
	cap = ((3u << 20) + 4096) / 512;
	T_EQ_U64(cfg_rd(&r, CFG(capacity), 8), cap);
	T_EQ_U64(cfg_rd(&r, CFG(capacity), 4), cap);
	T_EQ_U64(cfg_rd(&r, CFG(capacity) + 4, 4), 0);
	T_EQ(cfg_rd(&r, CFG(size_max), 4), 4096);
	T_EQ(cfg_rd(&r, CFG(seg_max), 4), 126);
	T_ASSERT(cfg_rd(&r, CFG(seg_max), 4) <= VQ_MAX_IOV - 2);
	T_EQ(cfg_rd(&r, CFG(blk_size), 4), 512);
	T_EQ(cfg_rd(&r, CFG(physical_block_exp), 1), 3); /* ext4: 4 KiB */
	T_EQ(cfg_rd(&r, CFG(alignment_offset), 1), 0);
	T_EQ(cfg_rd(&r, CFG(min_io_size), 2), 8);
	T_EQ(cfg_rd(&r, CFG(opt_io_size), 4), 0);
	T_EQ(cfg_rd(&r, CFG(wce), 1), 1);
	T_EQ(cfg_rd(&r, CFG(unused), 1), 0);
	T_EQ(cfg_rd(&r, CFG(num_queues), 2), 1);
	T_EQ(cfg_rd(&r, CFG(max_discard_sectors), 4), 1u << 22);
	T_EQ(cfg_rd(&r, CFG(max_discard_seg), 4), 32);
	T_EQ(cfg_rd(&r, CFG(discard_sector_alignment), 4), 8);
	T_EQ(cfg_rd(&r, CFG(max_write_zeroes_sectors), 4), 1u << 22);
	T_EQ(cfg_rd(&r, CFG(max_write_zeroes_seg), 4), 8);
	T_EQ(cfg_rd(&r, CFG(write_zeroes_may_unmap), 1), 1);
	/* Secure erase is not offered: the config space ends before it. */
	T_EQ(cfg_rd(&r, CFG(max_secure_erase_sectors), 4), 0);
	T_EQ(cfg_rd(&r, CFG(unused1) + 2, 2), 0);
	/* Unaligned config accesses read 0. */
	T_EQ(cfg_rd(&r, CFG(capacity) + 1, 4), 0);
	T_BR_FINI(&r);
}

static void features_offered(void)
{
	const uint64_t want =
		F(VIRTIO_BLK_F_SIZE_MAX) | F(VIRTIO_BLK_F_SEG_MAX) |
		F(VIRTIO_BLK_F_BLK_SIZE) | F(VIRTIO_BLK_F_TOPOLOGY) |
		F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_CONFIG_WCE) |
		F(VIRTIO_BLK_F_DISCARD) | F(VIRTIO_BLK_F_WRITE_ZEROES) |
		F(VIRTIO_F_VERSION_1);
	struct brig_opts ro = { .readonly = true };
	struct brig r BRIG_SCOPED = { 0 };
	uint64_t f;

	T_BR_START(&r, NULL);
	f = gdrv_device_features(&r.drv);
	T_EQ_U64(f & want, want);
	T_ASSERT(!(f & F(VIRTIO_BLK_F_RO)));
	T_ASSERT(!(f & F(VIRTIO_BLK_F_MQ)));
	T_ASSERT(!(f & F(VIRTIO_BLK_F_GEOMETRY)));
	T_ASSERT(!(f & F(VIRTIO_BLK_F_SECURE_ERASE)));
	T_EQ_U64(r.drv.features & want, want);
	T_BR_FINI(&r);

	T_BR_START(&r, &ro);
	f = gdrv_device_features(&r.drv);
	T_ASSERT(f & F(VIRTIO_BLK_F_RO));
	T_ASSERT(!(f & F(VIRTIO_BLK_F_DISCARD)));
	T_ASSERT(!(f & F(VIRTIO_BLK_F_WRITE_ZEROES)));
	T_EQ(cfg_rd(&r, CFG(max_discard_seg), 4), 0);
	T_EQ(cfg_rd(&r, CFG(max_write_zeroes_seg), 4), 0);
	T_BR_FINI(&r);
}

/* Every field but writeback ignores writes, whatever their width. */
static void config_read_only_fields(void)
{
	static const struct {
		uint64_t off;
		unsigned int size;
	} w[] = {
		{ CFG(capacity), 8 },
		{ CFG(capacity), 4 },
		{ CFG(capacity) + 7, 1 },
		{ CFG(size_max), 4 },
		{ CFG(seg_max), 4 },
		{ CFG(blk_size), 4 },
		{ CFG(physical_block_exp), 1 },
		{ CFG(min_io_size), 2 },
		{ CFG(unused), 1 },
		{ CFG(num_queues), 2 },
		{ CFG(wce), 2 },
		{ CFG(wce), 4 },
		{ CFG(max_discard_seg), 4 },
		{ CFG(write_zeroes_may_unmap), 1 },
	};
	struct brig r BRIG_SCOPED = { 0 };
	uint8_t before[60], after[60];

	T_BR_START(&r, NULL);
	for (unsigned int i = 0; i < sizeof(before); i++)
		before[i] = cfg_rd(&r, VMMIO_CONFIG_OFF + i, 1);
	for (unsigned int i = 0; i < ARRAY_SIZE(w); i++)
		gdrv_write(&r.drv, w[i].off, w[i].size, 0);
	for (unsigned int i = 0; i < sizeof(after); i++)
		after[i] = cfg_rd(&r, VMMIO_CONFIG_OFF + i, 1);
	T_ASSERT(!memcmp(before, after, sizeof(before)));
	T_EQ(after[offsetof(struct virtio_blk_config, wce)], 1);
	T_BR_FINI(&r);
}

static void writeback_byte_writable(void)
{
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	gdrv_write(&r.drv, CFG(wce), 1, 0);
	T_EQ(cfg_rd(&r, CFG(wce), 1), 0);
	/* Only 0 and 1 are cache modes. */
	gdrv_write(&r.drv, CFG(wce), 1, 2);
	T_EQ(cfg_rd(&r, CFG(wce), 1), 0);
	gdrv_write(&r.drv, CFG(wce), 1, 0xff);
	T_EQ(cfg_rd(&r, CFG(wce), 1), 0);
	/* Write-through: I/O still works, flushes too. */
	fg_fill(r.fg, r.data, 8192, 5);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 2, r.data, 8192), VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_check(&r, 1024, 8192, 5));
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	gdrv_write(&r.drv, CFG(wce), 1, 1);
	T_EQ(cfg_rd(&r, CFG(wce), 1), 1);
	/* A reset restores the configured default. */
	gdrv_write(&r.drv, CFG(wce), 1, 0);
	T_BR(&r, brig_recover(&r));
	T_EQ(cfg_rd(&r, CFG(wce), 1), 1);
	T_BR_FINI(&r);
}

static void writethrough_default_from_conf(void)
{
	struct brig_opts o = { .writethrough = true };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_EQ(cfg_rd(&r, CFG(wce), 1), 0);
	gdrv_write(&r.drv, CFG(wce), 1, 1);
	T_EQ(cfg_rd(&r, CFG(wce), 1), 1);
	T_BR(&r, brig_recover(&r));
	T_EQ(cfg_rd(&r, CFG(wce), 1), 0);
	T_BR_FINI(&r);
}

/* virtio 1.2 5.2.5.2: CONFIG_WCE without FLUSH means writeback reads 0. */
static void wce_without_flush_is_writethrough(void)
{
	struct brig_opts o = { .no_features = F(VIRTIO_BLK_F_FLUSH) };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_ASSERT(r.drv.features & F(VIRTIO_BLK_F_CONFIG_WCE));
	T_EQ(cfg_rd(&r, CFG(wce), 1), 0);
	/* Write-back cannot be asked for without a way to flush. */
	gdrv_write(&r.drv, CFG(wce), 1, 1);
	T_EQ(cfg_rd(&r, CFG(wce), 1), 0);
	T_BR_FINI(&r);
}

/* Without CONFIG_WCE negotiated, writeback cannot be changed. */
static void wce_not_negotiated_read_only(void)
{
	struct brig_opts o = { .no_features = F(VIRTIO_BLK_F_CONFIG_WCE) };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	gdrv_write(&r.drv, CFG(wce), 1, 0);
	T_EQ(cfg_rd(&r, CFG(wce), 1), 1);
	T_BR_FINI(&r);
}

static void capacity_rounds_down(void)
{
	struct brig_opts o = { .size = (1u << 20) + 300 };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_EQ_U64(cfg_rd(&r, CFG(capacity), 8), 2048);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 2047, r.data, 512), VIRTIO_BLK_S_OK);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 2048, r.data, 512),
	     VIRTIO_BLK_S_IOERR);
	T_BR_FINI(&r);
}

/*
 * The store grows: vblk_resize puts the new capacity in config space, bumps
 * the generation and raises a config interrupt, and the new sectors serve
 * I/O. It shrinks: past the new end fails. Unchanged: nothing happens.
 */
static void resize_grow_and_shrink(void)
{
	struct brig_opts o = { .size = 1u << 20 };
	uint64_t irqs;
	uint32_t gen;
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_EQ(vblk_resize(r.blk), 0);
	T_EQ_U64(cfg_rd(&r, CFG(capacity), 8), 2048);
	gen = gdrv_r32(&r.drv, VIRTIO_MMIO_CONFIG_GENERATION);
	irqs = r.drv.nr_irqs;
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 4000, r.data, 512),
	     VIRTIO_BLK_S_IOERR);

	T_ASSERT(!ftruncate(r.fd, 4u << 20));
	T_EQ(vblk_resize(r.blk), 1);
	T_EQ_U64(cfg_rd(&r, CFG(capacity), 8), 8192);
	T_ASSERT(gdrv_r32(&r.drv, VIRTIO_MMIO_CONFIG_GENERATION) != gen);
	T_ASSERT(r.drv.nr_irqs > irqs);
	T_ASSERT(gdrv_r32(&r.drv, VIRTIO_MMIO_INTERRUPT_STATUS) &
		 VIRTIO_MMIO_INT_CONFIG);
	gdrv_ack_irq(&r.drv);
	fg_fill(r.fg, r.data, 4096, 99);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 8184, r.data, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_check(&r, 8184 * 512ULL, 4096, 99));
	T_EQ(vblk_resize(r.blk), 0); /* no change, no interrupt */
	T_ASSERT(!(gdrv_r32(&r.drv, VIRTIO_MMIO_INTERRUPT_STATUS) &
		   VIRTIO_MMIO_INT_CONFIG));

	T_ASSERT(!ftruncate(r.fd, 512u << 10));
	T_EQ(vblk_resize(r.blk), 1);
	T_EQ_U64(cfg_rd(&r, CFG(capacity), 8), 1024);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 1024, r.data, 512),
	     VIRTIO_BLK_S_IOERR);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 1023, r.data, 512), VIRTIO_BLK_S_OK);
	T_ASSERT(!br_needs_reset(&r));
	T_BR_FINI(&r);
}

static void empty_disk_refuses_io(void)
{
	struct brig_opts o = { .size = 100 };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	T_EQ_U64(cfg_rd(&r, CFG(capacity), 8), 0);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 0, r.data, 512), VIRTIO_BLK_S_IOERR);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data, 512), VIRTIO_BLK_S_IOERR);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	T_BR_FINI(&r);
}

static void queue_size_from_conf(void)
{
	struct brig_opts o = { .queue_size = 64, .num = 64 };
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, &o);
	gdrv_w32(&r.drv, VIRTIO_MMIO_QUEUE_SEL, 0);
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	T_ASSERT(!br_req(&r, VIRTIO_BLK_T_IN, 0, r.data, 512));
	T_BR_FINI(&r);
}

/* ---- vblk_create refusals ---------------------------------------------- */

static int try_create(const struct vblk_conf *conf)
{
	struct fakeguest *fg = fg_new(1u << 20);
	struct vblk *blk = (void *)1;
	struct evl loop;
	int rc;

	if (!fg || evl_init(&loop, 8)) {
		fg_free(fg);
		return -999;
	}
	rc = vblk_create(&blk, conf, &fg->gmem, &loop);
	if (rc && blk)
		rc = -998; /* *out must be NULL on failure */
	vblk_destroy(blk);
	evl_exit(&loop);
	fg_free(fg);
	return rc;
}

static void create_refuses_bad_conf(void)
{
	struct brig r BRIG_SCOPED = { 0 };
	struct vblk_conf c = { 0 };
	int fds, sock;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(&r, 0, sizeof(r));
	fds = t_count_fds(0);
	T_ASSERT(!br_make_store(&r, 1u << 20));
	c.path = r.path;
	c.domid = -1;
	T_EQ(try_create(&c), 0);
	c.queue_size = 3;
	T_EQ(try_create(&c), -EINVAL);
	c.queue_size = 2048;
	T_EQ(try_create(&c), -EINVAL);
	c.queue_size = 1024;
	T_EQ(try_create(&c), 0);
	c.queue_size = 0;
	c.path = NULL;
	T_EQ(try_create(&c), -EINVAL);
	T_EQ(try_create(NULL), -EINVAL);
	c.path = "/nonexistent/xvb/disk.img";
	T_EQ(try_create(&c), -ENOENT);
	c.path = r.dir; /* a directory */
	T_ASSERT(try_create(&c) < 0);
	c.readonly = true;
	T_EQ(try_create(&c), -EINVAL);
	c.path = "/dev/null"; /* a character device */
	T_EQ(try_create(&c), -EINVAL);
	/* A socket cannot even be opened. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", r.dir);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_ASSERT(sock >= 0);
	T_ASSERT(!bind(sock, (struct sockaddr *)&sa, sizeof(sa)));
	c.path = sa.sun_path;
	T_ASSERT(try_create(&c) < 0);
	close(sock);
	unlink(sa.sun_path);
	unlink(r.path);
	T_ASSERT(!rmdir(r.dir));
	T_EQ(t_count_fds(0), fds);
}

/*
 * One image is served read-write once, or read-only to any number (OFD
 * locks, as QEMU): another writer, or a writer beside readers, is refused.
 */
static void image_locked_like_qemu(void)
{
	struct brig w, r1, r2;
	struct brig_opts o = { 0 };
	struct vblk_conf c = { 0 };
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[] = "/tmp/xvb-lock-XXXXXX";
	int fd;

	/* Another process's view (QEMU's, say): opened before the rigs,
	 * which count descriptors. */
	fd = mkstemp(path);
	T_ASSERT(fd >= 0);
	T_ASSERT(!ftruncate(fd, 1u << 20));
	o.path = path;
	c.path = path;
	c.domid = -1;
	T_BR_START(&w, &o);
	T_EQ(try_create(&c), -EBUSY); /* a second writer */
	c.readonly = true;
	T_EQ(try_create(&c), -EBUSY); /* a reader beside the writer */
	T_EQ(fcntl(fd, F_OFD_GETLK, &fl), 0);
	T_EQ(fl.l_type, F_WRLCK);
	T_BR_FINI(&w);
	/* Gone with the device: readers share it, a writer is refused. */
	o.readonly = true;
	T_BR_START(&r1, &o);
	T_BR_START(&r2, &o);
	c.readonly = false;
	T_EQ(try_create(&c), -EBUSY);
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
	T_EQ(fcntl(fd, F_OFD_GETLK, &fl), 0);
	T_EQ(fl.l_type, F_RDLCK);
	T_BR_FINI(&r2);
	T_BR_FINI(&r1);
	T_EQ(try_create(&c), 0);
	close(fd);
	T_ASSERT(!unlink(path));
}

T_MAIN(T_CASE(config_fields), T_CASE(features_offered),
       T_CASE(config_read_only_fields), T_CASE(writeback_byte_writable),
       T_CASE(writethrough_default_from_conf),
       T_CASE(wce_without_flush_is_writethrough),
       T_CASE(wce_not_negotiated_read_only), T_CASE(capacity_rounds_down),
       T_CASE(image_locked_like_qemu), T_CASE(resize_grow_and_shrink),
       T_CASE(empty_disk_refuses_io), T_CASE(queue_size_from_conf),
       T_CASE(create_refuses_bad_conf))
