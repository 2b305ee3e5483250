// SPDX-License-Identifier: MIT
/*
 * The backing store: a regular file or a block device, opened once and
 * probed for its size, block sizes and discard / write-zeroes support.
 */
#define LOG_MOD "vblk"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#include "vblk.h"

#define VBLK_BLOCK_MAX 65536u /* larger block sizes are not believed */

static bool vblk_block_size_ok(uint64_t v, uint32_t min)
{
	return v >= min && v <= VBLK_BLOCK_MAX && !(v & (v - 1));
}

/*
 * Files: 512-byte logical blocks, the file system's block as the physical
 * one. Discard and write-zeroes are offered if a punch-hole works; the
 * probe punches past EOF, where there is no data to lose.
 */
static void vblk_probe_file(struct vblk_store *st, const struct stat *sb)
{
	off_t eof = (sb->st_size + 4095) & ~(off_t)4095;

	st->size = sb->st_size;
	st->lbs = VBLK_SECTOR;
	st->pbs = VBLK_SECTOR;
	if (vblk_block_size_ok(sb->st_blksize, VBLK_SECTOR))
		st->pbs = sb->st_blksize;
	st->io_min = st->pbs;
	if (st->readonly)
		return;
	if (!fallocate(st->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, eof,
		       4096))
		st->can_discard = st->can_zero = true;
}

/* Reads an unsigned number from a sysfs attribute; 0 if absent. */
static uint64_t vblk_sysfs_u64(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* A device (or, for a partition, its parent) that takes discards. */
static bool vblk_bdev_discards(dev_t rdev)
{
	static const char *const rel[] = { "", "/.." };
	char path[96];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rel); i++) {
		snprintf(path, sizeof(path),
			 "/sys/dev/block/%u:%u%s/queue/discard_max_bytes",
			 major(rdev), minor(rdev), rel[i]);
		if (vblk_sysfs_u64(path))
			return true;
	}
	return false;
}

int vblk_store_size(const struct vblk_store *st, uint64_t *size)
{
	struct stat sb;

	if (st->bdev)
		return ioctl(st->fd, BLKGETSIZE64, size) ? -errno : 0;
	if (fstat(st->fd, &sb))
		return -errno;
	*size = sb.st_size;
	return 0;
}

/* Block devices: sizes and topology from the block layer's ioctls. */
static int vblk_probe_bdev(struct vblk_store *st, const struct stat *sb)
{
	unsigned int pbs = 0, io_min = 0, io_opt = 0;
	int lbs = 0, align = 0;
	uint64_t size;

	if (ioctl(st->fd, BLKGETSIZE64, &size) ||
	    ioctl(st->fd, BLKSSZGET, &lbs))
		return -errno;
	if (!vblk_block_size_ok(lbs, VBLK_SECTOR))
		return -EINVAL;
	st->size = size;
	st->lbs = lbs;
	if (ioctl(st->fd, BLKPBSZGET, &pbs) || !vblk_block_size_ok(pbs, lbs))
		pbs = lbs;
	st->pbs = pbs;
	if (!ioctl(st->fd, BLKIOMIN, &io_min) && io_min % lbs == 0)
		st->io_min = io_min;
	if (!ioctl(st->fd, BLKIOOPT, &io_opt) && io_opt % lbs == 0)
		st->io_opt = io_opt;
	if (!ioctl(st->fd, BLKALIGNOFF, &align) && align > 0 &&
	    (unsigned int)align < pbs && align % lbs == 0)
		st->align_off = align;
	if (st->readonly)
		return 0;
	/* The kernel writes zeroes itself where the device cannot. */
	st->can_zero = true;
	st->can_discard = vblk_bdev_discards(sb->st_rdev);
	return 0;
}

/*
 * Opens @path for what @st asks; a store the kernel will not let us write
 * (a read-only device, file system or file) is opened read-only instead,
 * and served so (VIRTIO_BLK_F_RO), saying so: the guest then knows rather
 * than meeting an I/O error on its first write.
 */
static int vblk_store_open_fd(struct vblk_store *st, const char *path,
			      struct log_ctx *log)
{
	int e;

	st->fd = open(path, (st->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (st->fd >= 0 || st->readonly)
		return st->fd >= 0 ? 0 : -errno;
	e = errno;
	if (e != EROFS && e != EACCES && e != EPERM)
		return -e;
	st->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (st->fd < 0)
		return -e;
	st->readonly = true;
	log_warn(log, "%s cannot be opened for writing (%s): served read-only",
		 path, strerror(e));
	return 0;
}

/*
 * Locks the whole store as QEMU does its images, with an open file
 * description lock (F_OFD_SETLK): exclusive when writable, shared when
 * read-only. One image is never served read-write twice (two guests, or
 * two devices of one guest, or another xvbd), nor read-write beside a
 * reader. A lock just dropped by a worker that died may linger while the
 * kernel tears down its io_uring: a conflict is retried for a second.
 */
static int vblk_store_lock(struct vblk_store *st, const char *path,
			   struct log_ctx *log)
{
	struct flock fl = { .l_type = st->readonly ? F_RDLCK : F_WRLCK,
			    .l_whence = SEEK_SET };

	for (int i = 0; fcntl(st->fd, F_OFD_SETLK, &fl); i++) {
		if (errno != EAGAIN && errno != EACCES) {
			/* Some file systems have no locks: serve unlocked. */
			log_warn(log, "%s: not locked: %s", path,
				 strerror(errno));
			return 0;
		}
		if (i == 20) {
			log_err(log,
				"%s is in use%s elsewhere (another guest's disk, another xvbd, QEMU): refused; an image is served read-write once, or read-only to any number",
				path, st->readonly ? " read-write" : "");
			return -EBUSY;
		}
		usleep(50000);
	}
	return 0;
}

int vblk_store_open(struct vblk_store *st, const struct vblk_conf *conf,
		    struct log_ctx *log)
{
	struct stat sb;
	int rc, ro = 0;

	*st = (struct vblk_store){ .fd = -1, .readonly = conf->readonly };
	rc = vblk_store_open_fd(st, conf->path, log);
	if (rc) {
		log_err(log, "open %s: %s", conf->path, strerror(-rc));
		return rc;
	}
	if (fstat(st->fd, &sb)) {
		rc = -errno;
		goto err_close;
	}
	/* A device set read-only (blockdev --setro) opens O_RDWR. */
	if (S_ISBLK(sb.st_mode) && !st->readonly &&
	    !ioctl(st->fd, BLKROGET, &ro) && ro) {
		log_warn(log, "%s is a read-only device: served read-only",
			 conf->path);
		st->readonly = true;
	}
	rc = vblk_store_lock(st, conf->path, log);
	if (rc) {
		close(st->fd);
		st->fd = -1;
		return rc;
	}
	if (S_ISREG(sb.st_mode)) {
		vblk_probe_file(st, &sb);
	} else if (S_ISBLK(sb.st_mode)) {
		st->bdev = true;
		rc = vblk_probe_bdev(st, &sb);
		if (rc)
			goto err_close;
	} else {
		rc = -EINVAL;
		goto err_close;
	}
	log_info(log, "%s: %llu bytes, blocks %u/%u%s%s%s", conf->path,
		 (unsigned long long)st->size, st->lbs, st->pbs,
		 st->readonly ? ", read-only" : "",
		 st->can_discard ? ", discard" : "",
		 st->can_zero ? ", write-zeroes" : "");
	return 0;

err_close:
	log_err(log, "%s: not usable as a disk: %d", conf->path, rc);
	close(st->fd);
	st->fd = -1;
	return rc;
}

void vblk_store_close(struct vblk_store *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}
