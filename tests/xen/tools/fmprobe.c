// SPDX-License-Identifier: MIT
/*
 * fmprobe: which kinds of I/O work on privcmd foreign mappings of a guest's
 * RAM, run in dom0 on real Xen. It maps a few pages of a (paused) guest and
 * tries buffered and O_DIRECT I/O, io_uring with and without registered
 * buffers, and xvbd's own way of mapping (xenforeignmemory_map2 with
 * MAP_FIXED inside a PROT_NONE reservation). One line per probe:
 *   fmprobe: NAME: works | fails: ERROR
 *
 * Then it times the ways of mapping (per request, per 2 MiB bucket, all RAM
 * at once) and the copies and reads around them:
 *   fmprobe: time NAME: X us
 *
 *   fmprobe DOMID BLOCKDEV FILE [RAM_MIB]
 * BLOCKDEV is overwritten at offset 0 (64 KiB); FILE is only read.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <xenforeignmemory.h>

#define PAGE 4096
#define NPAGES 16
#define LEN (NPAGES * PAGE)
#define GUEST_RAM0_PFN 0x40000 /* GUEST_RAM0_BASE >> 12 on Arm */

static void result(const char *name, int err)
{
	if (err)
		printf("fmprobe: %s: fails: %s (%d)\n", name, strerror(err),
		       err);
	else
		printf("fmprobe: %s: works\n", name);
	fflush(stdout);
}

static int pio(int fd, void *buf, size_t len, off_t off, bool wr)
{
	ssize_t n = wr ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);

	if (n < 0)
		return errno;
	return n == (ssize_t)len ? 0 : EIO;
}

/* One io_uring read or write of @len at @off; fixed buffer 0 if @fixed. */
static int uring_io(int fd, void *buf, size_t len, bool wr, bool fixed,
		    const struct iovec *reg)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct iovec iov = { buf, len };
	int rc;

	rc = io_uring_queue_init(4, &ring, 0);
	if (rc)
		return -rc;
	if (reg) {
		rc = io_uring_register_buffers(&ring, reg, 1);
		if (rc) {
			printf("fmprobe: (io_uring_register_buffers itself returned %d)\n",
			       rc);
			io_uring_queue_exit(&ring);
			return -rc;
		}
	}
	sqe = io_uring_get_sqe(&ring);
	if (fixed && wr)
		io_uring_prep_write_fixed(sqe, fd, buf, len, 0, 0);
	else if (fixed)
		io_uring_prep_read_fixed(sqe, fd, buf, len, 0, 0);
	else if (wr)
		io_uring_prep_writev(sqe, fd, &iov, 1, 0);
	else
		io_uring_prep_readv(sqe, fd, &iov, 1, 0);
	io_uring_submit(&ring);
	rc = io_uring_wait_cqe(&ring, &cqe);
	if (!rc) {
		rc = cqe->res < 0 ? -cqe->res : cqe->res == (int)len ? 0 : EIO;
		io_uring_cqe_seen(&ring, cqe);
	} else {
		rc = -rc;
	}
	io_uring_queue_exit(&ring);
	return rc;
}

static int check(const void *got, const void *want, size_t len, int rc)
{
	if (rc)
		return rc;
	return memcmp(got, want, len) ? EILSEQ : 0;
}

/* xvbd's backend/fmem.c way: MAP_FIXED buckets inside a reservation. */
static void probe_fixed(xenforeignmemory_handle *fm, uint32_t dom)
{
	const size_t bucket = 512 * PAGE;
	xen_pfn_t pfns[512];
	int err[512];
	char *res, *p;
	int rc = 0;

	res = mmap(NULL, 2 * bucket, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED) {
		result("map2 MAP_FIXED in a PROT_NONE reservation", errno);
		return;
	}
	for (unsigned int b = 0; b < 2 && !rc; b++) {
		for (unsigned int i = 0; i < 512; i++)
			pfns[i] = GUEST_RAM0_PFN + b * 512 + i;
		p = xenforeignmemory_map2(fm, dom, res + b * bucket,
					  PROT_READ | PROT_WRITE, MAP_FIXED,
					  512, pfns, err);
		if (p != res + b * bucket)
			rc = p ? EFAULT : errno;
		for (unsigned int i = 0; !rc && i < 512; i++)
			rc = err[i] < 0 ? -err[i] : err[i];
	}
	if (!rc) { /* both buckets, contiguous, one access across the edge */
		volatile uint64_t *edge = (uint64_t *)(res + bucket - 8);

		edge[0] = 0x1122334455667788ULL;
		edge[1] = 0x99aabbccddeeff00ULL;
		rc = edge[0] == 0x1122334455667788ULL &&
				     edge[1] == 0x99aabbccddeeff00ULL ?
			     0 :
			     EILSEQ;
	}
	if (!rc && xenforeignmemory_unmap(fm, res, 512))
		rc = errno;
	if (!rc && mmap(res, bucket, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
				MAP_FIXED_NOREPLACE,
			-1, 0) != res)
		rc = errno;
	result("map2 MAP_FIXED in a PROT_NONE reservation, unmap, re-reserve",
	       rc);
	munmap(res, 2 * bucket);
}

/* ---- what each way of mapping costs ---- */

static double mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void timed(const char *name, double us, unsigned int n)
{
	printf("fmprobe: time %s: %.1f us\n", name, us / n);
	fflush(stdout);
}

/* @n maps of @npages guest pages (from 8 MiB into RAM), each unmapped. */
static void time_maps(xenforeignmemory_handle *fm, uint32_t dom,
		      unsigned int npages, unsigned int n, const char *name)
{
	xen_pfn_t *pfns = calloc(npages, sizeof(*pfns));
	int *err = calloc(npages, sizeof(*err));
	double t0;
	void *p;

	for (unsigned int i = 0; i < npages; i++)
		pfns[i] = GUEST_RAM0_PFN + 0x800 + i;
	t0 = mono_us();
	for (unsigned int k = 0; k < n; k++) {
		p = xenforeignmemory_map(fm, dom, PROT_READ | PROT_WRITE,
					 npages, pfns, err);
		if (!p) {
			result(name, errno);
			goto out;
		}
		xenforeignmemory_unmap(fm, p, npages);
	}
	timed(name, mono_us() - t0, n);
out:
	free(pfns);
	free(err);
}

/* The data path's other half: copies and 4 KiB reads, per call. */
static void time_io(char *map, char *anon, int dfd, int bfd)
{
	const unsigned int n = 2000;
	double t0;

	t0 = mono_us();
	for (unsigned int k = 0; k < n; k++)
		memcpy(map + (k % NPAGES) * PAGE, anon, PAGE);
	timed("memcpy 4 KiB into the mapping (a bounce buffer's copy)",
	      mono_us() - t0, n);
	t0 = mono_us();
	for (unsigned int k = 0; k < n; k++)
		if (pread(dfd, map + (k % NPAGES) * PAGE, PAGE,
			  (k % NPAGES) * PAGE) != PAGE) {
			result("buffered 4 KiB pread timing", errno);
			return;
		}
	timed("buffered 4 KiB pread into the mapping", mono_us() - t0, n);
	t0 = mono_us();
	for (unsigned int k = 0; k < n; k++)
		if (pread(dfd, anon, PAGE, (k % NPAGES) * PAGE) != PAGE) {
			result("buffered 4 KiB pread timing", errno);
			return;
		}
	timed("buffered 4 KiB pread into anonymous memory", mono_us() - t0, n);
	t0 = mono_us();
	for (unsigned int k = 0; k < n; k++)
		if (pread(bfd, anon, PAGE, (k % NPAGES) * PAGE) != PAGE) {
			result("O_DIRECT 4 KiB pread timing", errno);
			return;
		}
	timed("O_DIRECT 4 KiB pread into anonymous memory", mono_us() - t0, n);
}

static void probe_timing(xenforeignmemory_handle *fm, uint32_t dom,
			 unsigned long ram_pages)
{
	time_maps(fm, dom, 1, 500, "map + unmap 1 page (per 4 KiB request)");
	time_maps(fm, dom, 32, 200,
		  "map + unmap 32 pages (per 128 KiB request)");
	time_maps(fm, dom, 512, 50,
		  "map + unmap 512 pages (a 2 MiB bucket, once per bucket)");
	if (ram_pages > 0x800)
		time_maps(fm, dom, ram_pages - 0x800, 3,
			  "map + unmap all the guest's RAM but 8 MiB (once)");
}

int main(int argc, char **argv)
{
	xenforeignmemory_handle *fm;
	xen_pfn_t pfns[NPAGES];
	int err[NPAGES], bfd, dfd, ffd, rc;
	char *map, *anon, *want;
	struct iovec reg;
	uint32_t dom;

	if (argc != 4 && argc != 5) {
		fprintf(stderr,
			"usage: fmprobe DOMID BLOCKDEV FILE [RAM_MIB]\n");
		return 2;
	}
	dom = strtoul(argv[1], NULL, 0);
	fm = xenforeignmemory_open(NULL, 0);
	if (!fm) {
		perror("fmprobe: xenforeignmemory_open");
		return 1;
	}
	for (unsigned int i = 0; i < NPAGES; i++)
		pfns[i] = GUEST_RAM0_PFN + 0x800 + i; /* 8 MiB into RAM */
	map = xenforeignmemory_map(fm, dom, PROT_READ | PROT_WRITE, NPAGES,
				   pfns, err);
	if (!map) {
		perror("fmprobe: xenforeignmemory_map");
		return 1;
	}
	for (unsigned int i = 0; i < NPAGES; i++)
		if (err[i]) {
			fprintf(stderr, "fmprobe: gfn 0x%lx: %d\n",
				(unsigned long)pfns[i], err[i]);
			return 1;
		}
	if (posix_memalign((void **)&anon, PAGE, LEN) ||
	    posix_memalign((void **)&want, PAGE, LEN))
		return 1;
	bfd = open(argv[2], O_RDWR | O_DIRECT);
	dfd = open(argv[2], O_RDWR);
	ffd = open(argv[3], O_RDONLY);
	if (bfd < 0 || dfd < 0 || ffd < 0) {
		perror("fmprobe: open");
		return 1;
	}

	/* Known data on the block device and in the file's first 64 KiB. */
	for (unsigned int i = 0; i < LEN; i++)
		want[i] = (char)(i * 7 + 3);
	rc = pio(bfd, want, LEN, 0, true);
	result("control: O_DIRECT pwrite from anonymous memory", rc);
	memset(anon, 0, LEN);
	result("control: O_DIRECT pread into anonymous memory",
	       check(anon, want, LEN, pio(bfd, anon, LEN, 0, false)));
	reg = (struct iovec){ anon, LEN };
	memset(anon, 0, LEN);
	result("control: io_uring registered buffer, O_DIRECT read_fixed",
	       check(anon, want, LEN,
		     uring_io(bfd, anon, LEN, false, true, &reg)));

	/* The same into the foreign mapping. */
	memset(map, 0, LEN);
	result("buffered pread into the mapping",
	       check(map, want, LEN, pio(dfd, map, LEN, 0, false)));
	memset(map, 0, LEN);
	result("buffered pread from a file into the mapping",
	       pio(ffd, map, LEN, 0, false));
	memset(map, 0, LEN);
	result("io_uring readv, buffered, into the mapping",
	       check(map, want, LEN,
		     uring_io(dfd, map, LEN, false, false, NULL)));
	memset(map, 0, LEN);
	result("O_DIRECT pread into the mapping",
	       check(map, want, LEN, pio(bfd, map, LEN, 0, false)));
	memcpy(map, want, LEN);
	result("O_DIRECT pwrite from the mapping", pio(bfd, map, LEN, 0, true));
	memset(map, 0, LEN);
	result("io_uring readv, O_DIRECT, into the mapping",
	       check(map, want, LEN,
		     uring_io(bfd, map, LEN, false, false, NULL)));
	reg = (struct iovec){ map, LEN };
	memset(map, 0, LEN);
	result("io_uring_register_buffers on the mapping + read_fixed",
	       check(map, want, LEN,
		     uring_io(bfd, map, LEN, false, true, &reg)));

	probe_fixed(fm, dom);
	time_io(map, anon, dfd, bfd);
	probe_timing(fm, dom, argc == 5 ? strtoul(argv[4], NULL, 0) << 8 : 0);
	xenforeignmemory_unmap(fm, map, NPAGES);
	xenforeignmemory_close(fm);
	return 0;
}
