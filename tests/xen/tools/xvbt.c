// SPDX-License-Identifier: MIT
/*
 * xvbt: the end-to-end tests' disk tool, run inside guests and in dom0
 * (arm64, linked statically). Seeded data patterns written and verified
 * with O_DIRECT, discard, and a small io_uring load generator.
 *
 *   xvbt size DEV
 *   xvbt write DEV SEED OFF LEN [buffered|nosync]
 *                                            pattern, O_DIRECT (or through the
 *                                            page cache), then fsync (or not)
 *   xvbt verify DEV SEED OFF LEN             pattern read back (O_DIRECT)
 *   xvbt zero DEV OFF LEN                    reads back all zeroes
 *   xvbt discard DEV OFF LEN                 BLKDISCARD
 *   xvbt bench DEV read|write|randread BS QD SECONDS [hipri]
 *                                            hipri: polled completions
 *                                            (IORING_SETUP_IOPOLL, as fio's
 *                                            --hipri): the disk needs poll
 *                                            queues (virtio_blk.poll_queues)
 *   xvbt mmio GPA COUNT                      COUNT 32-bit reads of guest-
 *                                            physical GPA via /dev/mem: the
 *                                            mean time of one trap
 *   xvbt sysread PATH COUNT                  COUNT reads of a sysfs file:
 *                                            with /sys/hypervisor/version/
 *                                            major, a hypercall each
 *   xvbt send HOST PORT LEN SEED             pattern over TCP (connects for
 *                                            up to 30 s), MB/s
 *   xvbt recv PORT LEN SEED                  one connection's LEN bytes,
 *                                            verified, MB/s
 *   xvbt vport DEV LEN SEED                  guest, a virtio-console port:
 *                                            writes LEN bytes (SEED), reads
 *                                            LEN back (SEED + 1), closes;
 *                                            opens again, answers "x" with
 *                                            "y" and sees the host close
 *   xvbt uclient PATH LEN SEED               dom0, the port's socket: the
 *                                            other half of vport, and sees
 *                                            the guest's close
 *
 * OFF and LEN take k/M/G suffixes and must be multiples of 4 KiB. Exit 0 on
 * success, 1 on a failure (said on stderr), 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#define ALIGN 4096
#define CHUNK (1 << 20) /* pattern I/O size */

static int fail(const char *what, int err)
{
	fprintf(stderr, "xvbt: %s: %s\n", what, strerror(err));
	return 1;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		break;
	case '\0':
		break;
	default:
		fprintf(stderr, "xvbt: bad size '%s'\n", s);
		exit(2);
	}
	return v;
}

static void *abuf(size_t len)
{
	void *p;

	if (posix_memalign(&p, ALIGN, len)) {
		fprintf(stderr, "xvbt: out of memory\n");
		exit(1);
	}
	return p;
}

/* The word at byte offset @off of pattern @seed (splitmix64). */
static uint64_t pat_word(uint64_t seed, uint64_t off)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ULL + off;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void pat_fill(uint64_t *buf, size_t len, uint64_t seed, uint64_t off)
{
	for (size_t i = 0; i < len / 8; i++)
		buf[i] = pat_word(seed, off + i * 8);
}

static int open_dev(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	/* tmpfs (dom0's image files) refuses O_DIRECT before Linux 6.6. */
	if (fd < 0 && errno == EINVAL && (flags & O_DIRECT))
		fd = open(path, (flags & ~O_DIRECT) | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "xvbt: open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

/* Whole-buffer pread/pwrite; returns 0 or an errno (EIO for a short one). */
static int full_io(int fd, void *buf, size_t len, uint64_t off, bool wr)
{
	while (len) {
		ssize_t n = wr ? pwrite(fd, buf, len, off) :
				 pread(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (!n)
			return EIO;
		buf = (char *)buf + n;
		len -= n;
		off += n;
	}
	return 0;
}

static int cmd_size(const char *dev)
{
	int fd = open_dev(dev, O_RDONLY);
	struct stat sb;
	uint64_t size;

	if (fstat(fd, &sb))
		return fail("stat", errno);
	if (S_ISBLK(sb.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size))
			return fail("BLKGETSIZE64", errno);
	} else {
		size = sb.st_size;
	}
	printf("%" PRIu64 "\n", size);
	return 0;
}

static int cmd_write(const char *dev, uint64_t seed, uint64_t off, uint64_t len,
		     const char *how)
{
	bool buffered = !strcmp(how, "buffered") || !strcmp(how, "nosync");
	int fd = open_dev(dev, O_WRONLY | (buffered ? 0 : O_DIRECT));
	void *buf = abuf(CHUNK);
	int err;

	for (uint64_t done = 0; done < len; done += CHUNK) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;

		pat_fill(buf, n, seed, off + done);
		err = full_io(fd, buf, n, off + done, true);
		if (err)
			return fail("write", err);
	}
	if (strcmp(how, "nosync") && fsync(fd))
		return fail("fsync", errno);
	close(fd);
	return 0;
}

/* Reads [off, off + len) and compares with @seed's pattern, or zeroes. */
static int cmd_verify(const char *dev, uint64_t seed, uint64_t off,
		      uint64_t len, bool zero)
{
	int fd = open_dev(dev, O_RDONLY | O_DIRECT);
	uint64_t *buf = abuf(CHUNK), *want = abuf(CHUNK);
	int err;

	for (uint64_t done = 0; done < len; done += CHUNK) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;

		err = full_io(fd, buf, n, off + done, false);
		if (err)
			return fail("read", err);
		if (zero)
			memset(want, 0, n);
		else
			pat_fill(want, n, seed, off + done);
		if (!memcmp(buf, want, n))
			continue;
		for (size_t i = 0; i < n / 8; i++) {
			if (buf[i] == want[i])
				continue;
			fprintf(stderr,
				"xvbt: mismatch at byte %" PRIu64
				": %016" PRIx64 ", expected %016" PRIx64 "\n",
				off + done + i * 8, buf[i], want[i]);
			return 1;
		}
	}
	close(fd);
	return 0;
}

static int cmd_discard(const char *dev, uint64_t off, uint64_t len)
{
	int fd = open_dev(dev, O_WRONLY);
	uint64_t range[2] = { off, len };

	if (ioctl(fd, BLKDISCARD, range))
		return fail("BLKDISCARD", errno);
	close(fd);
	return 0;
}

/* ---- load generator ---- */

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct bench {
	int fd;
	bool write, random;
	size_t bs;
	uint64_t span, next, rnd;
};

static uint64_t bench_off(struct bench *b)
{
	uint64_t off;

	if (b->random) {
		b->rnd = b->rnd * 6364136223846793005ULL +
			 1442695040888963407ULL;
		return ((b->rnd >> 11) % (b->span / b->bs)) * b->bs;
	}
	off = b->next;
	b->next = (b->next + b->bs) % (b->span / b->bs * b->bs);
	return off;
}

static void bench_prep(struct io_uring *ring, struct bench *b, void *buf)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (b->write)
		io_uring_prep_write(sqe, b->fd, buf, b->bs, bench_off(b));
	else
		io_uring_prep_read(sqe, b->fd, buf, b->bs, bench_off(b));
	io_uring_sqe_set_data(sqe, buf);
}

/*
 * Keeps @qd O_DIRECT requests of @bs bytes in flight for @secs seconds over
 * the whole device; prints MB/s, IOPS and the mean latency. With @hipri the
 * ring polls for completions (IOPOLL): the guest's driver reaps its poll
 * queue in the wait, so the device need not interrupt.
 */
static int cmd_bench(const char *dev, const char *mode, size_t bs,
		     unsigned int qd, double secs, bool hipri)
{
	struct bench b = { .bs = bs, .rnd = 0x2545f4914f6cdd1dULL };
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	uint64_t ios = 0;
	double t0, t, lat_sum = 0;
	double *issued;
	char *bufs;
	int rc;

	b.write = !strcmp(mode, "write");
	b.random = !strcmp(mode, "randread");
	if (!b.write && !b.random && strcmp(mode, "read"))
		return fail("bench mode", EINVAL);
	b.fd = open_dev(dev, (b.write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (ioctl(b.fd, BLKGETSIZE64, &b.span))
		return fail("BLKGETSIZE64", errno);
	if (b.span < bs * 2)
		return fail("device too small", EINVAL);
	rc = io_uring_queue_init(qd, &ring, hipri ? IORING_SETUP_IOPOLL : 0);
	if (rc)
		return fail("io_uring_queue_init", -rc);
	bufs = abuf((size_t)qd * bs);
	memset(bufs, 0x5a, (size_t)qd * bs);
	issued = calloc(qd, sizeof(*issued));

	t0 = t = mono();
	for (unsigned int i = 0; i < qd; i++) {
		bench_prep(&ring, &b, bufs + (size_t)i * bs);
		issued[i] = t0;
	}
	io_uring_submit(&ring);
	for (unsigned int inflight = qd; inflight;) {
		rc = io_uring_wait_cqe(&ring, &cqe);
		if (rc == -EINTR)
			continue;
		if (rc)
			return fail("io_uring_wait_cqe", -rc);
		if (cqe->res != (int)bs)
			return fail("bench I/O",
				    cqe->res < 0 ? -cqe->res : EIO);
		char *buf = io_uring_cqe_get_data(cqe);
		unsigned int slot = (buf - bufs) / bs;

		io_uring_cqe_seen(&ring, cqe);
		t = mono();
		ios++;
		lat_sum += t - issued[slot];
		if (t - t0 < secs) {
			bench_prep(&ring, &b, buf);
			issued[slot] = t;
			io_uring_submit(&ring);
		} else {
			inflight--;
		}
	}
	t -= t0;
	printf("bench %s bs=%zu qd=%u: %.2f MB/s %.0f IOPS lat %.0f us (%" PRIu64
	       " I/Os in %.2f s)%s\n",
	       mode, bs, qd, ios * (double)bs / t / 1e6, ios / t,
	       lat_sum / ios * 1e6, ios, t, hipri ? " hipri" : "");
	io_uring_queue_exit(&ring);
	close(b.fd);
	return 0;
}

/* ---- traps and TCP ---- */

/*
 * Reads the 32-bit register at guest-physical @gpa @count times through
 * /dev/mem (a region no driver claimed: CONFIG_IO_STRICT_DEVMEM); each read
 * traps to Xen, and to the device model if one serves @gpa.
 */
static int cmd_mmio(uint64_t gpa, uint64_t count)
{
	int fd = open("/dev/mem", O_RDONLY | O_SYNC | O_CLOEXEC);
	uint64_t page = gpa & ~(uint64_t)(ALIGN - 1);
	volatile uint32_t *reg;
	uint32_t v = 0;
	double t0, t;
	void *p;

	if (fd < 0)
		return fail("open /dev/mem", errno);
	p = mmap(NULL, ALIGN, PROT_READ, MAP_SHARED, fd, page);
	if (p == MAP_FAILED)
		return fail("mmap /dev/mem", errno);
	reg = (volatile uint32_t *)((char *)p + (gpa - page));
	t0 = mono();
	for (uint64_t i = 0; i < count; i++)
		v = *reg;
	t = mono() - t0;
	printf("mmio 0x%" PRIx64 " = 0x%08x: %" PRIu64 " reads, %.1f us each\n",
	       gpa, v, count, t / count * 1e6);
	munmap(p, ALIGN);
	close(fd);
	return 0;
}

/*
 * @count reads of sysfs file @path from offset 0 (each runs the attribute's
 * show()): /sys/hypervisor/version/major makes a xen_version hypercall,
 * /sys/hypervisor/type does not. (privcmd's hypercall ioctl is refused in
 * an unprivileged domU.)
 */
static int cmd_sysread(const char *path, uint64_t count)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[64];
	ssize_t n = 0;
	double t0, t;

	if (fd < 0)
		return fail(path, errno);
	t0 = mono();
	for (uint64_t i = 0; i < count; i++) {
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return fail(path, errno);
	}
	t = mono() - t0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	printf("sysread %s = %s: %" PRIu64 " reads, %.1f us each\n", path, buf,
	       count, t / count * 1e6);
	close(fd);
	return 0;
}

#define NET_CHUNK 65536

static int cmd_send(const char *host, int port, uint64_t len, uint64_t seed)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	uint64_t *buf = abuf(NET_CHUNK);
	double t0, t;
	int fd = -1;
	char c;

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return fail("address", EINVAL);
	/* The receiver may not listen yet. */
	for (t0 = mono(); mono() - t0 < 30; usleep(100000)) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return fail("socket", errno);
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		return fail("connect", errno);
	t0 = mono();
	for (uint64_t done = 0; done < len; done += NET_CHUNK) {
		size_t n = len - done < NET_CHUNK ? len - done : NET_CHUNK;
		size_t off = 0;

		pat_fill(buf, n, seed, done);
		while (off < n) {
			ssize_t w = write(fd, (char *)buf + off, n - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return fail("send", errno);
			off += w;
		}
	}
	/* Done when the receiver, having it all, closes. */
	shutdown(fd, SHUT_WR);
	if (read(fd, &c, 1) < 0)
		return fail("waiting for the receiver", errno);
	t = mono() - t0;
	printf("send %" PRIu64 " bytes in %.2f s: %.2f MB/s\n", len, t,
	       len / t / 1e6);
	close(fd);
	return 0;
}

static int cmd_recv(int port, uint64_t len, uint64_t seed)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	uint64_t *buf = abuf(NET_CHUNK + 16), *want = abuf(NET_CHUNK + 16);
	int lfd, fd, one = 1;
	uint64_t done = 0;
	double t0 = 0, t;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return fail("socket", errno);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
		return fail("listen", errno);
	printf("listening on %d\n", port);
	fflush(stdout);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return fail("accept", errno);
	/* Reads end anywhere: compare from the word that holds the first. */
	while (done < len) {
		size_t want_n = len - done < NET_CHUNK ? len - done : NET_CHUNK;
		size_t skew = done % 8;
		ssize_t n = read(fd, (char *)buf + skew, want_n);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("recv", errno);
		if (!n) {
			fprintf(stderr,
				"xvbt: connection closed after %" PRIu64
				" of %" PRIu64 " bytes\n",
				done, len);
			return 1;
		}
		if (!done)
			t0 = mono();
		pat_fill(want, skew + n + 8, seed, done - skew);
		if (memcmp((char *)buf + skew, (char *)want + skew, n)) {
			fprintf(stderr,
				"xvbt: data differ within bytes %" PRIu64
				"-%" PRIu64 "\n",
				done, done + n);
			return 1;
		}
		done += n;
	}
	t = mono() - t0;
	printf("recv %" PRIu64 " bytes verified in %.2f s: %.2f MB/s\n", len, t,
	       len / t / 1e6);
	close(fd);
	close(lfd);
	return 0;
}

/* ---- virtio-console ports: vport in the guest, uclient in dom0 ---- */

/* Writes all of @len pattern bytes (@seed) to @fd. */
static int pat_send(int fd, uint64_t len, uint64_t seed)
{
	uint64_t *buf = abuf(NET_CHUNK);

	for (uint64_t done = 0; done < len; done += NET_CHUNK) {
		size_t n = len - done < NET_CHUNK ? len - done : NET_CHUNK;
		size_t off = 0;

		pat_fill(buf, n, seed, done);
		while (off < n) {
			ssize_t w = write(fd, (char *)buf + off, n - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return fail("write", w ? errno : EPIPE);
			off += w;
		}
	}
	return 0;
}

/* Reads @len bytes from @fd and checks them against pattern @seed. */
static int pat_check(int fd, uint64_t len, uint64_t seed)
{
	uint64_t *buf = abuf(NET_CHUNK + 16), *want = abuf(NET_CHUNK + 16);
	uint64_t done = 0;

	while (done < len) {
		size_t want_n = len - done < NET_CHUNK ? len - done : NET_CHUNK;
		size_t skew = done % 8;
		ssize_t n = read(fd, (char *)buf + skew, want_n);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("read", errno);
		if (!n) {
			fprintf(stderr,
				"xvbt: end of stream after %" PRIu64
				" of %" PRIu64 " bytes\n",
				done, len);
			return 1;
		}
		pat_fill(want, skew + n + 8, seed, done - skew);
		if (memcmp((char *)buf + skew, (char *)want + skew, n)) {
			fprintf(stderr,
				"xvbt: data differ within bytes %" PRIu64
				"-%" PRIu64 "\n",
				done, done + n);
			return 1;
		}
		done += n;
	}
	return 0;
}

/* One byte from @fd: the byte, 256 at the end of the stream, -1 on error. */
static int read_byte(int fd)
{
	unsigned char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : n ? c : 256;
}

static int cmd_vport(const char *dev, uint64_t len, uint64_t seed)
{
	double t0 = mono();
	int fd, c = 256;

	/* Writes wait for the host side to be open (PORT_OPEN 1). */
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(dev, errno);
	if (pat_send(fd, len, seed) || pat_check(fd, len, seed + 1))
		return 1;
	close(fd);
	printf("vport: %" PRIu64 " bytes each way in %.2f s\n", len,
	       mono() - t0);
	/* Time for the host to close its client: this close ends it. */
	usleep(500000);
	/*
	 * Again, until the host's next client has said "x": a read with the
	 * host closed returns at once with nothing.
	 */
	for (t0 = mono(); c == 256 && mono() - t0 < 60; usleep(200000)) {
		fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return fail(dev, errno);
		c = read_byte(fd);
		if (c == 256)
			close(fd);
	}
	if (c != 'x')
		return fail("no \"x\" from the host's second client", EIO);
	if (write(fd, "y", 1) != 1)
		return fail("write", errno);
	c = read_byte(fd);
	if (c != 256) {
		fprintf(stderr,
			"xvbt: %d, not the end, after the host closed\n", c);
		return 1;
	}
	close(fd);
	printf("vport: the host's close seen\n");
	return 0;
}

static int uconnect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	double t0;
	int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* The socket appears when xvbd opens the device. */
	for (t0 = mono(); mono() - t0 < 60; usleep(100000)) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
	}
	return -errno;
}

static int cmd_uclient(const char *path, uint64_t len, uint64_t seed)
{
	double t0 = mono();
	int fd = uconnect(path), c;

	if (fd < 0)
		return fail(path, -fd);
	if (pat_check(fd, len, seed) || pat_send(fd, len, seed + 1))
		return 1;
	c = read_byte(fd);
	if (c != 256) {
		fprintf(stderr,
			"xvbt: %d, not the end, after the guest closed\n", c);
		return 1;
	}
	close(fd);
	printf("uclient: %" PRIu64
	       " bytes each way in %.2f s, the guest's close seen\n",
	       len, mono() - t0);
	fd = uconnect(path);
	if (fd < 0)
		return fail(path, -fd);
	if (write(fd, "x", 1) != 1)
		return fail("write", errno);
	c = read_byte(fd);
	if (c != 'y') {
		fprintf(stderr, "xvbt: %d, not \"y\", from the guest\n", c);
		return 1;
	}
	close(fd);
	printf("uclient: closed the second connection\n");
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: xvbt size DEV | write DEV SEED OFF LEN [buffered|nosync] |\n"
		"       verify DEV SEED OFF LEN | zero DEV OFF LEN |\n"
		"       discard DEV OFF LEN | bench DEV MODE BS QD SECONDS [hipri] |\n"
		"       mmio GPA COUNT | sysread PATH COUNT |\n"
		"       send HOST PORT LEN SEED |\n"
		"       recv PORT LEN SEED | vport DEV LEN SEED |\n"
		"       uclient PATH LEN SEED\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 2 ? argv[1] : "",
		   *dev = argc > 2 ? argv[2] : "";

	if (!strcmp(cmd, "size") && argc == 3)
		return cmd_size(dev);
	if (!strcmp(cmd, "write") && (argc == 6 || argc == 7))
		return cmd_write(dev, parse_size(argv[3]), parse_size(argv[4]),
				 parse_size(argv[5]), argc == 7 ? argv[6] : "");
	if (!strcmp(cmd, "verify") && argc == 6)
		return cmd_verify(dev, parse_size(argv[3]), parse_size(argv[4]),
				  parse_size(argv[5]), false);
	if (!strcmp(cmd, "zero") && argc == 5)
		return cmd_verify(dev, 0, parse_size(argv[3]),
				  parse_size(argv[4]), true);
	if (!strcmp(cmd, "discard") && argc == 5)
		return cmd_discard(dev, parse_size(argv[3]),
				   parse_size(argv[4]));
	if (!strcmp(cmd, "bench") &&
	    (argc == 7 || (argc == 8 && !strcmp(argv[7], "hipri"))))
		return cmd_bench(dev, argv[3], parse_size(argv[4]),
				 atoi(argv[5]), atof(argv[6]), argc == 8);
	if (!strcmp(cmd, "mmio") && argc == 4)
		return cmd_mmio(parse_size(argv[2]), parse_size(argv[3]));
	if (!strcmp(cmd, "sysread") && argc == 4)
		return cmd_sysread(argv[2], parse_size(argv[3]));
	if (!strcmp(cmd, "send") && argc == 6)
		return cmd_send(argv[2], atoi(argv[3]), parse_size(argv[4]),
				parse_size(argv[5]));
	if (!strcmp(cmd, "recv") && argc == 5)
		return cmd_recv(atoi(argv[2]), parse_size(argv[3]),
				parse_size(argv[4]));
	if (!strcmp(cmd, "vport") && argc == 5)
		return cmd_vport(argv[2], parse_size(argv[3]),
				 parse_size(argv[4]));
	if (!strcmp(cmd, "uclient") && argc == 5)
		return cmd_uclient(argv[2], parse_size(argv[3]),
				   parse_size(argv[4]));
	usage();
	return 2;
}
