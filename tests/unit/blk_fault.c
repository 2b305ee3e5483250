// SPDX-License-Identifier: MIT
/*
 * virtio-blk under faults: resets and teardown with I/O in flight (some of
 * it blocked for good), failing fdatasync and writes (fsyncgate), ENOSPC on
 * a small tmpfs, short reads and writes, and write-zeroes where the file
 * system has no ZERO_RANGE. The store is swapped under the device with
 * dup3() on its descriptor (vblk_store_fd).
 */
#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>

#include "blk_rig.h"

/* ---- swapping the store ---------------------------------------------- */

struct swap {
	int fd;	   /* the device's descriptor */
	int saved; /* what it was */
};

static int swap_store(struct brig *r, int newfd, struct swap *s)
{
	s->fd = vblk_store_fd(r->blk);
	s->saved = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
	if (s->saved < 0 || dup3(newfd, s->fd, O_CLOEXEC) < 0)
		return -1;
	return 0;
}

static void restore_store(struct swap *s)
{
	dup3(s->saved, s->fd, O_CLOEXEC);
	close(s->saved);
}

static uint16_t *used_idx_ptr(struct brig *r)
{
	return &r->drv.vqs[BQ].used->idx;
}

/* ---- reset and teardown with I/O in flight --------------------------- */

/*
 * 256 requests are submitted and the driver resets before the loop runs a
 * single completion: nothing may reach the old ring, nothing stays mapped,
 * and the device works again once set up.
 */
static void reset_with_requests_in_flight(void)
{
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	for (int round = 0; round < 20; round++) {
		uint32_t type = round & 1 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT;
		uint16_t *used = used_idx_ptr(&r), before = le16toh(*used);

		for (unsigned int i = 0; i < 256; i++) {
			uint64_t gpa = r.data + (uint64_t)i * 8192;

			T_ASSERT(br_add(&r, i,
					i == 100 ? VIRTIO_BLK_T_FLUSH : type,
					(uint64_t)i * 16, gpa, 8192, 0,
					GDRV_INDIRECT) >= 0);
		}
		gdrv_kick(&r.drv, BQ);
		/* Some rounds let a few completions in first. */
		if (round % 4 == 3)
			evl_run_once(&r.loop, false);
		if (round % 4 != 3)
			T_EQ(le16toh(*used), before);
		{
			uint16_t seen = le16toh(*used);

			gdrv_reset(&r.drv);
			T_EQ(le16toh(*used), seen);
		}
		if (round % 4 != 3)
			for (unsigned int i = 0; i < 256; i++)
				T_EQ(br_status(&r, br_st(&r, i)),
				     BR_STATUS_NONE);
		T_BR(&r, brig_recover(&r));
	}
	T_BR_FINI(&r);
}

/*
 * The store becomes a pipe nobody writes to: reads block in the kernel for
 * good. A reset must cancel them, reap them and release their buffers.
 */
static void reset_cancels_blocked_reads(void)
{
	uint16_t *used;
	struct brig r BRIG_SCOPED = { 0 };
	struct swap s;
	int p[2];

	T_BR_START(&r, NULL);
	T_ASSERT(!pipe2(p, O_CLOEXEC));
	T_ASSERT(!swap_store(&r, p[0], &s));
	for (unsigned int i = 0; i < 64; i++)
		T_ASSERT(br_add(&r, i, VIRTIO_BLK_T_IN, i * 8,
				r.data + i * 4096, 4096, 0, 0) >= 0);
	gdrv_kick(&r.drv, BQ);
	for (int i = 0; i < 10; i++)
		evl_run_once(&r.loop, false);
	T_EQ(br_collect(&r, NULL, NULL, 1), 0);
	T_EQ(fg_live(r.fg), r.baseline + 64 * 3);
	used = used_idx_ptr(&r);
	gdrv_reset(&r.drv);
	T_EQ(fg_live(r.fg), 0);
	T_EQ(le16toh(*used), 0);
	restore_store(&s);
	close(p[0]);
	close(p[1]);
	T_BR(&r, brig_recover(&r));
	T_BR_FINI(&r);
}

/* The same, with the device destroyed instead (the guest went away). */
static void destroy_cancels_blocked_io(void)
{
	struct brig r BRIG_SCOPED = { 0 };
	struct swap s;
	int p[2];

	T_BR_START(&r, NULL);
	T_ASSERT(!pipe2(p, O_CLOEXEC));
	T_ASSERT(!swap_store(&r, p[0], &s));
	close(s.saved); /* the device closes the pipe's end itself */
	for (unsigned int i = 0; i < 200; i++)
		T_ASSERT(br_add(&r, i, VIRTIO_BLK_T_IN, i, r.data + i * 512,
				512, 0, GDRV_INDIRECT) >= 0);
	gdrv_kick(&r.drv, BQ);
	evl_run_once(&r.loop, false);
	close(p[0]);
	close(p[1]);
	T_BR_FINI(&r);
}

/*
 * A write blocked on a full pipe, a FLUSH waiting behind it, more writes:
 * a reset drops the waiting FLUSH and cancels the writes.
 */
static void reset_drops_waiting_flush(void)
{
	struct brig r BRIG_SCOPED = { 0 };
	struct swap s;
	int p[2];

	T_BR_START(&r, NULL);
	T_ASSERT(!pipe2(p, O_CLOEXEC));
	T_ASSERT(fcntl(p[1], F_SETPIPE_SZ, 4096) > 0);
	T_ASSERT(!swap_store(&r, p[1], &s));
	for (unsigned int i = 0; i < 8; i++)
		T_ASSERT(br_add(&r, i,
				i == 4 ? VIRTIO_BLK_T_FLUSH : VIRTIO_BLK_T_OUT,
				i * 128, r.data + i * 65536, 65536, 0,
				GDRV_INDIRECT) >= 0);
	gdrv_kick(&r.drv, BQ);
	for (int i = 0; i < 10; i++)
		evl_run_once(&r.loop, false);
	T_EQ(br_status(&r, br_st(&r, 4)), BR_STATUS_NONE);
	gdrv_reset(&r.drv);
	T_EQ(fg_live(r.fg), 0);
	T_EQ(br_status(&r, br_st(&r, 4)), BR_STATUS_NONE);
	restore_store(&s);
	close(p[0]);
	close(p[1]);
	T_BR(&r, brig_recover(&r));
	T_BR_FINI(&r);
}

/* The guest goes away with 256 writes in flight, many times over. */
static void destroy_mid_io_repeatedly(void)
{
	int fds = t_count_fds(0);

	for (int round = 0; round < 100; round++) {
		struct brig r BRIG_SCOPED = { 0 };

		T_BR_START(&r, NULL);
		for (unsigned int i = 0; i < 256; i++)
			T_ASSERT(br_add(&r, i, VIRTIO_BLK_T_OUT, i * 8,
					r.data + i * 4096, 4096, 0,
					GDRV_INDIRECT) >= 0);
		gdrv_kick(&r.drv, BQ);
		if (round & 1)
			evl_run_once(&r.loop, false);
		T_BR_FINI(&r);
	}
	T_EQ(t_count_fds(0), fds);
}

/* ---- failing fdatasync and writes ------------------------------------ */

/*
 * fdatasync fails once (the store is /dev/null for a moment): that FLUSH
 * and every later one fail, even after the store is back; reads and
 * writes go on.
 */
static void failed_fdatasync_fails_later_flushes(void)
{
	struct brig r BRIG_SCOPED = { 0 };
	struct swap s;
	int null;

	T_BR_START(&r, NULL);
	fg_fill(r.fg, r.data, 4096, 1);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data, 4096), VIRTIO_BLK_S_OK);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);

	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	T_ASSERT(null >= 0);
	T_ASSERT(!swap_store(&r, null, &s));
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_IOERR);
	restore_store(&s);
	close(null);

	fg_fill(r.fg, r.data, 4096, 2);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 8, r.data, 4096), VIRTIO_BLK_S_OK);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_IOERR);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_IOERR);
	/* Flushed data is intact and readable. */
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 0, r.data2, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(fg_check(r.fg, r.data2, 4096, 1));
	/* A guest reset does not make the lost data come back. */
	T_BR(&r, brig_recover(&r));
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_IOERR);
	T_BR_FINI(&r);
}

/*
 * Write-through (writeback=0, or FLUSH not negotiated): every write is
 * followed by fdatasync before it completes, so a failing fdatasync fails
 * the write itself.
 */
static void writethrough_syncs_each_write(const struct brig_opts *o)
{
	struct brig r BRIG_SCOPED = { 0 };
	struct swap s;
	int null;

	T_BR_START(&r, o);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	T_ASSERT(null >= 0);
	T_ASSERT(!swap_store(&r, null, &s));
	fg_fill(r.fg, r.data, 4096, 1);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data, 4096), VIRTIO_BLK_S_IOERR);
	restore_store(&s);
	close(null);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_check(&r, 0, 4096, 1));
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_IOERR);
	T_BR_FINI(&r);
}

static void writethrough_conf_syncs_each_write(void)
{
	struct brig_opts o = { .writethrough = true };

	writethrough_syncs_each_write(&o);
}

static void no_flush_feature_syncs_each_write(void)
{
	struct brig_opts o = { .no_features = 1ULL << VIRTIO_BLK_F_FLUSH };

	writethrough_syncs_each_write(&o);
}

/* In write-back mode the same write succeeds: its durability is the FLUSH's. */
static void writeback_defers_sync_to_flush(void)
{
	struct brig r BRIG_SCOPED = { 0 };
	struct swap s;
	int null;

	T_BR_START(&r, NULL);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	T_ASSERT(null >= 0);
	T_ASSERT(!swap_store(&r, null, &s));
	fg_fill(r.fg, r.data, 4096, 1);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data, 4096), VIRTIO_BLK_S_OK);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_IOERR);
	restore_store(&s);
	close(null);
	T_BR_FINI(&r);
}

/* A write fails (EBADF: the store is read-only for a moment). */
static void failed_write_fails_later_flushes(void)
{
	struct brig r BRIG_SCOPED = { 0 };
	struct swap s;
	int ro;

	T_BR_START(&r, NULL);
	T_ASSERT(!br_file_fill(&r, 0, 65536, 7));
	ro = open(r.path, O_RDONLY | O_CLOEXEC);
	T_ASSERT(ro >= 0);
	T_ASSERT(!swap_store(&r, ro, &s));
	fg_fill(r.fg, r.data, 65536, 8);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data, 65536),
	     VIRTIO_BLK_S_IOERR);
	T_ASSERT(br_file_check(&r, 0, 65536, 7));
	/* Reads still work on the read-only store. */
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 0, r.data2, 65536), VIRTIO_BLK_S_OK);
	T_ASSERT(fg_check(r.fg, r.data2, 65536, 7));
	restore_store(&s);
	close(ro);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_IOERR);
	T_BR_FINI(&r);
}

/* ---- a small tmpfs ------------------------------------------------------ */

struct tmpfs {
	char dir[64];
	char path[96];
	bool mounted;
};

/* Mounts a tmpfs of @size bytes with a sparse file of @file bytes. */
static int tmpfs_up(struct tmpfs *t, const char *size, uint64_t file)
{
	char opts[64];
	int fd;

	snprintf(t->dir, sizeof(t->dir), "/tmp/xvb-blk-tmpfs-XXXXXX");
	if (!mkdtemp(t->dir))
		return -errno;
	snprintf(opts, sizeof(opts), "size=%s", size);
	if (mount("tmpfs", t->dir, "tmpfs", 0, opts)) {
		int err = -errno;

		rmdir(t->dir);
		return err;
	}
	t->mounted = true;
	snprintf(t->path, sizeof(t->path), "%s/disk.img", t->dir);
	fd = open(t->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, file)) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static void tmpfs_down(struct tmpfs *t)
{
	unlink(t->path);
	if (t->mounted)
		umount2(t->dir, MNT_DETACH);
	rmdir(t->dir);
}

#define T_TMPFS(t, size, file)                                      \
	do {                                                        \
		int t_rc_ = tmpfs_up(t, size, file);                \
		if (t_rc_)                                          \
			tmpfs_down(t);                              \
		if (t_rc_ == -EPERM || t_rc_ == -EACCES) {          \
			t_skip("cannot mount a tmpfs (%d)", t_rc_); \
			return;                                     \
		}                                                   \
		T_EQ(t_rc_, 0);                                     \
	} while (0)

/*
 * The store's file system fills up: the write that hits ENOSPC fails, data
 * flushed before is intact, FLUSH keeps working (nothing acknowledged was
 * lost), and freeing space with DISCARD lets writes succeed again.
 */
static void enospc_body(struct tmpfs *tp)
{
	struct brig_opts o = { 0 };
	struct virtio_blk_discard_write_zeroes *seg;
	unsigned int ok = 0, i;
	struct brig r BRIG_SCOPED = { 0 };
	int st = VIRTIO_BLK_S_OK;

	o.path = tp->path;
	T_BR_START(&r, &o);
	fg_fill(r.fg, r.data, 65536, 1);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data, 65536), VIRTIO_BLK_S_OK);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	for (i = 1; i < 64; i++) {
		fg_fill(r.fg, r.data2, 65536 + 4096, i);
		st = br_req(&r, VIRTIO_BLK_T_OUT, i * 136, r.data2,
			    65536 + 4096);
		if (st != VIRTIO_BLK_S_OK)
			break;
		ok++;
	}
	T_EQ(st, VIRTIO_BLK_S_IOERR);
	T_ASSERT(ok >= 2);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 0, r.data2, 65536), VIRTIO_BLK_S_OK);
	T_ASSERT(fg_check(r.fg, r.data2, 65536, 1));
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);

	/* Discard what the loop wrote; the failed write then fits. */
	seg = fg_ptr(r.fg, r.data + (2u << 20), sizeof(*seg));
	seg->sector = htole64(136);
	seg->num_sectors = htole32(136 * ok);
	seg->flags = 0;
	T_EQ(br_req(&r, VIRTIO_BLK_T_DISCARD, 0, r.data + (2u << 20), 16),
	     VIRTIO_BLK_S_OK);
	fg_fill(r.fg, r.data2, 65536, 99);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, i * 136, r.data2, 65536),
	     VIRTIO_BLK_S_OK);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	T_BR_FINI(&r);
}

static void enospc_fails_the_write_only(void)
{
	struct tmpfs t = { 0 };

	T_TMPFS(&t, "512k", 8u << 20);
	enospc_body(&t);
	tmpfs_down(&t);
}

/* 512-byte blocks allocated to the store. */
static long long blocks(struct brig *r)
{
	struct stat st;

	return fstat(r->fd, &st) ? -1 : (long long)st.st_blocks;
}

/*
 * tmpfs has punch-hole but no ZERO_RANGE: write-zeroes without UNMAP
 * punches and allocates again (the blocks stay allocated), with UNMAP
 * it leaves a hole. Both read back as zeroes.
 */
static void write_zeroes_body(struct tmpfs *tp)
{
	struct virtio_blk_discard_write_zeroes *seg;
	struct brig_opts o = { 0 };
	struct brig r BRIG_SCOPED = { 0 };

	o.path = tp->path;
	T_BR_START(&r, &o);
	T_ASSERT(r.drv.features & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	T_ASSERT(!br_file_fill(&r, 0, 4u << 20, 3));
	seg = fg_ptr(r.fg, r.data + (2u << 20), sizeof(*seg));

	seg->sector = htole64(64);
	seg->num_sectors = htole32(64);
	seg->flags = 0;
	T_EQ(br_req(&r, VIRTIO_BLK_T_WRITE_ZEROES, 0, r.data + (2u << 20), 16),
	     VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_is(&r, 64 * 512, 64 * 512, 0));
	T_EQ(blocks(&r), (4u << 20) / 512);

	seg->sector = htole64(256);
	seg->flags = htole32(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	T_EQ(br_req(&r, VIRTIO_BLK_T_WRITE_ZEROES, 0, r.data + (2u << 20), 16),
	     VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_is(&r, 256 * 512, 64 * 512, 0));
	T_EQ(blocks(&r), (4u << 20) / 512 - 64);

	/* Second time round the device knows: no ZERO_RANGE attempt. */
	seg->sector = htole64(1024);
	seg->flags = 0;
	T_EQ(br_req(&r, VIRTIO_BLK_T_WRITE_ZEROES, 0, r.data + (2u << 20), 16),
	     VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_is(&r, 1024 * 512, 64 * 512, 0));
	T_EQ(blocks(&r), (4u << 20) / 512 - 64);
	T_ASSERT(br_file_check(&r, 0, 64 * 512, 3));
	T_BR_FINI(&r);
}

static void write_zeroes_without_zero_range(void)
{
	struct tmpfs t = { 0 };

	T_TMPFS(&t, "16m", 4u << 20);
	write_zeroes_body(&t);
	tmpfs_down(&t);
}

/* ---- short transfers ----------------------------------------------------- */

struct feeder {
	int fd;
	size_t len;
	uint32_t seed;
	bool any; /* drain: any bytes will do, no pattern */
	bool ok;
};

/* Writes the pattern into a pipe in small pieces, pausing between them. */
static void *feed(void *arg)
{
	struct feeder *f = arg;
	uint8_t buf[3000];
	size_t done = 0;

	while (done < f->len) {
		size_t n = f->len - done < sizeof(buf) ? f->len - done :
							 sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = fg_pattern(f->seed, done + i);
		if (write(f->fd, buf, n) != (ssize_t)n)
			return NULL;
		done += n;
		usleep(200);
	}
	f->ok = true;
	return NULL;
}

/* Reads from a pipe in small pieces and checks the pattern. */
static void *drain(void *arg)
{
	struct feeder *f = arg;
	uint8_t buf[1000];
	size_t done = 0;
	ssize_t n;

	f->ok = true;
	while (done < f->len) {
		n = read(f->fd, buf, sizeof(buf));
		if (n <= 0) {
			f->ok = false;
			return NULL;
		}
		for (ssize_t i = 0; i < n && !f->any; i++)
			f->ok &= buf[i] == fg_pattern(f->seed, done + i);
		done += n;
		usleep(100);
	}
	return NULL;
}

/* The store is a pipe fed slowly: reads come back short, and are resumed. */
static void short_reads_resubmitted(void)
{
	struct feeder f = { .len = 256u << 10, .seed = 42 };
	struct brig_opts o = { .clamp = true };
	struct brig r BRIG_SCOPED = { 0 };
	struct swap s;
	pthread_t th;
	int p[2];

	T_BR_START(&r, &o);
	T_ASSERT(!pipe2(p, O_CLOEXEC));
	T_ASSERT(!swap_store(&r, p[0], &s));
	f.fd = p[1];
	T_ASSERT(!pthread_create(&th, NULL, feed, &f));
	br_guest_set(&r, r.data + 100, f.len, 0);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 0, r.data + 100, f.len),
	     VIRTIO_BLK_S_OK);
	pthread_join(th, NULL);
	T_ASSERT(f.ok);
	T_ASSERT(fg_check(r.fg, r.data + 100, f.len, 42));
	restore_store(&s);
	close(p[0]);
	close(p[1]);
	T_BR_FINI(&r);
}

/* The store is a small pipe drained slowly: writes go in pieces. */
static void short_writes_resubmitted(void)
{
	struct feeder f = { .len = 256u << 10, .seed = 43 };
	struct brig_opts o = { .clamp = true };
	struct brig r BRIG_SCOPED = { 0 };
	struct swap s;
	pthread_t th;
	int p[2];

	T_BR_START(&r, &o);
	T_ASSERT(!pipe2(p, O_CLOEXEC));
	T_ASSERT(fcntl(p[1], F_SETPIPE_SZ, 4096) > 0);
	T_ASSERT(!swap_store(&r, p[1], &s));
	f.fd = p[0];
	T_ASSERT(!pthread_create(&th, NULL, drain, &f));
	fg_fill(r.fg, r.data + 100, f.len, 43);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data + 100, f.len),
	     VIRTIO_BLK_S_OK);
	pthread_join(th, NULL);
	T_ASSERT(f.ok);
	restore_store(&s);
	close(p[0]);
	close(p[1]);
	T_BR_FINI(&r);
}

static unsigned int pos(const uint16_t *heads, unsigned int n, int head)
{
	unsigned int i = 0;

	while (i < n && heads[i] != head)
		i++;
	return i;
}

/*
 * A slow write (the store is a small pipe drained slowly), then a FLUSH,
 * then another write: the FLUSH's fdatasync (which fails on a pipe, and
 * would fail at once) is issued only after the first write completed.
 */
static void flush_waits_for_slow_write(void)
{
	struct feeder f = { .len = 3u << 16, .any = true };
	uint16_t heads[3];
	unsigned int got = 0;
	int w1, fl, w2, rc;
	struct brig r BRIG_SCOPED = { 0 };
	struct swap s;
	pthread_t th;
	int p[2];

	T_BR_START(&r, NULL);
	T_ASSERT(!pipe2(p, O_CLOEXEC));
	T_ASSERT(fcntl(p[1], F_SETPIPE_SZ, 4096) > 0);
	T_ASSERT(!swap_store(&r, p[1], &s));
	f.fd = p[0];
	T_ASSERT(!pthread_create(&th, NULL, drain, &f));
	w1 = br_add(&r, 0, VIRTIO_BLK_T_OUT, 0, r.data, 2u << 16, 0, 0);
	fl = br_add(&r, 1, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, 0);
	w2 = br_add(&r, 2, VIRTIO_BLK_T_OUT, 256, r.data, 1u << 16, 0, 0);
	T_ASSERT(w1 >= 0 && fl >= 0 && w2 >= 0);
	gdrv_kick(&r.drv, BQ);
	while (got < 3) {
		T_EQ(br_run(&r), 0);
		rc = br_collect(&r, heads + got, NULL, 3 - got);
		T_ASSERT(rc > 0);
		got += rc;
	}
	pthread_join(th, NULL);
	T_ASSERT(f.ok);
	T_ASSERT(pos(heads, 3, w1) < pos(heads, 3, fl));
	T_EQ(br_status(&r, br_st(&r, 0)), VIRTIO_BLK_S_OK);
	T_EQ(br_status(&r, br_st(&r, 1)), VIRTIO_BLK_S_IOERR);
	T_EQ(br_status(&r, br_st(&r, 2)), VIRTIO_BLK_S_OK);
	restore_store(&s);
	close(p[0]);
	close(p[1]);
	T_BR_FINI(&r);
}

/*
 * The backing file changes under a running disk (SECURITY.md: "a backing
 * file truncated or unlinked"). Shrunk below the capacity: a read past the
 * new end gets zeroes, not an endless resubmission of a 0-byte read; a
 * write there extends the file again. Unlinked: the device keeps its open
 * inode and I/O goes on. Resized (SIGHUP in xvbd) to the smaller size:
 * requests past the new capacity fail, those before still work.
 */
static void store_truncated_then_unlinked(void)
{
	const uint64_t mib = 1 << 20, far = 4 * mib / 512;
	struct brig r BRIG_SCOPED = { 0 };

	T_BR_START(&r, NULL);
	fg_fill(r.fg, r.data, 4096, 1);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 0, r.data, 4096), VIRTIO_BLK_S_OK);
	fg_fill(r.fg, r.data, 4096, 2);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, far, r.data, 4096), VIRTIO_BLK_S_OK);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);

	/* Shrunk to 2 MiB under the device. */
	T_EQ(truncate(r.path, 2 * mib), 0);
	br_guest_set(&r, r.data, 4096, 0xee);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 0, r.data, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(fg_check(r.fg, r.data, 4096, 1));
	br_guest_set(&r, r.data, 4096, 0xee);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, far, r.data, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(br_guest_is(&r, r.data, 4096, 0));
	/* A read straddling the new end: data, then zeroes. */
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 2 * mib / 512 - 8, r.data, 8192),
	     VIRTIO_BLK_S_OK);
	T_ASSERT(br_guest_is(&r, r.data + 4096, 4096, 0));
	fg_fill(r.fg, r.data, 4096, 3);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, far, r.data, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(br_file_check(&r, 4 * mib, 4096, 3));

	/* Unlinked: the open inode serves on. */
	T_EQ(unlink(r.path), 0);
	fg_fill(r.fg, r.data, 4096, 4);
	T_EQ(br_req(&r, VIRTIO_BLK_T_OUT, 16, r.data, 4096), VIRTIO_BLK_S_OK);
	T_EQ(br_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	br_guest_set(&r, r.data, 4096, 0xee);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 16, r.data, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(fg_check(r.fg, r.data, 4096, 4));
	T_ASSERT(br_file_check(&r, 16 * 512, 4096, 4));

	/* Resized to 1 MiB: past the end fails, before it works. */
	T_EQ(ftruncate(r.fd, mib), 0);
	T_EQ(vblk_resize(r.blk), 1);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, far, r.data, 4096),
	     VIRTIO_BLK_S_IOERR);
	T_EQ(br_req(&r, VIRTIO_BLK_T_IN, 16, r.data, 4096), VIRTIO_BLK_S_OK);
	T_ASSERT(fg_check(r.fg, r.data, 4096, 4));
	T_ASSERT(!br_needs_reset(&r));
	T_BR_FINI(&r);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T_CASE(reset_with_requests_in_flight),
		T_CASE(reset_cancels_blocked_reads),
		T_CASE(destroy_cancels_blocked_io),
		T_CASE(reset_drops_waiting_flush),
		T_CASE(destroy_mid_io_repeatedly),
		T_CASE(failed_fdatasync_fails_later_flushes),
		T_CASE(writethrough_conf_syncs_each_write),
		T_CASE(no_flush_feature_syncs_each_write),
		T_CASE(writeback_defers_sync_to_flush),
		T_CASE(failed_write_fails_later_flushes),
		T_CASE(enospc_fails_the_write_only),
		T_CASE(write_zeroes_without_zero_range),
		T_CASE(short_reads_resubmitted),
		T_CASE(short_writes_resubmitted),
		T_CASE(flush_waits_for_slow_write),
		T_CASE(store_truncated_then_unlinked),
	};

	signal(SIGPIPE, SIG_IGN);
	return t_main(cases, ARRAY_SIZE(cases), argc, argv);
}
