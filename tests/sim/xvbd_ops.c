// SPDX-License-Identifier: MIT
/*
 * xvbd as an operator meets it, under the simulator: every startup failure
 * is one message naming the cause and a sysexits(3) code, never a crash;
 * the configuration file is checked at start and re-read on SIGHUP.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/virtio_blk.h>

#include "hang.h"
#include "t.h"
#include "xvbd_rig.h"

#define TMO_MS ((int)t_hang_ms())

static char xvbd_bin[256], sim_libs[256];
/* A case's own directory (the startup cases run without the rig). */
static char dir[64];

static int find_bins(void)
{
	char self[200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return -errno;
	self[n] = '\0';
	*strrchr(self, '/') = '\0'; /* $(O)/tests/sim */
	snprintf(xvbd_bin, sizeof(xvbd_bin), "%s/../../xvbd", self);
	snprintf(sim_libs, sizeof(sim_libs), "%s/../../sim/lib", self);
	return 0;
}

static void remove_dir(void);
static void sim_down(void);

/* A fresh directory (the one a failed case left is removed first). */
static int make_dir(void)
{
	remove_dir();
	snprintf(dir, sizeof(dir), "/tmp/xvbd-ops-XXXXXX");
	T_CHECK(mkdtemp(dir));
	return 0;
}

static void remove_dir(void)
{
	char cmd[128];

	if (!dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	dir[0] = '\0';
}

/* Writes @len bytes of @text to @name in the case's directory. */
static int put(const char *name, const void *text, size_t len, char *path,
	       size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/%s", dir, name);
	f = fopen(path, "w");
	T_CHECK(f);
	T_CHECK(fwrite(text, 1, len, f) == len);
	T_CHECK(!fclose(f));
	return 0;
}

struct run {
	int status;	/* as waitpid gives it */
	char out[4096]; /* standard error and output, as much as fits */
};

/* Set for the next run: its output stream is "the journal". */
static bool as_journal;

/*
 * Runs xvbd @args (argv[1] on, NULL-terminated) on the simulated Xen's
 * libraries with its xenstore at @sock, as user nobody if @nobody; waits
 * at most 10 s (a hang bound: a start fails in milliseconds).
 */
static int run_xvbd(const char *sock, const char *const *args, bool nobody,
		    struct run *r)
{
	const char *argv[16] = { "xvbd" };
	char log[96];
	pid_t pid;
	int fd, i;
	ssize_t n;

	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	snprintf(log, sizeof(log), "%s/out.log", dir);
	pid = fork();
	T_CHECK(pid >= 0);
	if (!pid) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		setenv("LD_LIBRARY_PATH", sim_libs, 1);
		setenv("XVB_SIM_SOCKET", sock, 1);
		unsetenv("JOURNAL_STREAM");
		if (as_journal) {
			struct stat st;
			char v[64];

			if (fstat(2, &st))
				_exit(127);
			snprintf(v, sizeof(v), "%llu:%llu",
				 (unsigned long long)st.st_dev,
				 (unsigned long long)st.st_ino);
			setenv("JOURNAL_STREAM", v, 1);
		}
		if (nobody && (setgid(65534) || setuid(65534)))
			_exit(126);
		execv(xvbd_bin, (char **)argv);
		_exit(127);
	}
	r->status = -1;
	if (!T_WAIT(waitpid(pid, &r->status, WNOHANG) == pid)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		t_fail(__FILE__, __LINE__,
		       "xvbd still running after %u ms (hang bound)",
		       t_hang_ms());
		return -1;
	}
	fd = open(log, O_RDONLY);
	T_CHECK(fd >= 0);
	n = read(fd, r->out, sizeof(r->out) - 1);
	close(fd);
	r->out[n > 0 ? n : 0] = '\0';
	return 0;
}

/* The run ended with exit code @code (not a signal) and said @needle. */
static int expect(const struct run *r, int code, const char *needle)
{
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != code ||
	    !strstr(r->out, needle)) {
		t_fail(__FILE__, __LINE__,
		       "wanted exit %d and \"%s\", got %s %d, output:\n%s",
		       code, needle, WIFSIGNALED(r->status) ? "signal" : "exit",
		       WIFSIGNALED(r->status) ? WTERMSIG(r->status) :
						WEXITSTATUS(r->status),
		       r->out);
		return -1;
	}
	/* One failure, one line: nothing else went wrong on the way out. */
	if (strstr(r->out, "Sanitizer") || strstr(r->out, "runtime error")) {
		t_fail(__FILE__, __LINE__, "sanitizer report:\n%s", r->out);
		return -1;
	}
	return 0;
}

/* Starts the simulator (its socket in the case's directory). */
static int sim_up(char *sock, size_t size)
{
	struct xsim_config cfg = { .quiet = true };

	sim_down(); /* what a failed case left */
	snprintf(sock, size, "%s/xen.sock", dir);
	cfg.socket_path = sock;
	T_CHECK(xsim_create(&cfg, &sim) == 0);
	return 0;
}

static void sim_down(void)
{
	xsim_destroy(sim);
	sim = NULL;
}

/* No xenstored: one line that says so, EX_UNAVAILABLE. */
static void start_without_xenstored(void)
{
	char conf[128], sock[128];
	struct run r;

	T_ASSERT(!make_dir());
	T_ASSERT(!put("xvbd.conf", "[net]\nbridge = none\n", 20, conf,
		      sizeof(conf)));
	snprintf(sock, sizeof(sock), "%s/no-xenstored.sock", dir);
	{
		const char *args[] = { "--config", conf, NULL };

		T_ASSERT(!run_xvbd(sock, args, false, &r));
	}
	T_ASSERT(!expect(&r, EX_UNAVAILABLE,
			 "cannot open xenstore: No such file or directory: "
			 "is xenstored running?"));
	remove_dir();
}

/* @text as xvbd.conf, with xenstore up: refused with @code and @needle. */
static int bad_config(const void *text, size_t len, int code,
		      const char *needle)
{
	char conf[128], sock[128];
	const char *args[] = { "--config", conf, NULL };
	struct run r;
	int rc;

	T_CHECK(!make_dir());
	T_CHECK(!put("xvbd.conf", text, len, conf, sizeof(conf)));
	T_CHECK(!sim_up(sock, sizeof(sock)));
	rc = run_xvbd(sock, args, false, &r);
	sim_down();
	if (!rc)
		rc = expect(&r, code, needle);
	remove_dir();
	return rc;
}

static void start_with_syntax_error(void)
{
	static const char text[] = "[net]\nbridge = none\nno equals sign\n";

	T_ASSERT(!bad_config(text, strlen(text), EX_CONFIG, "xvbd.conf:3: "));
}

static void start_with_binary_garbage(void)
{
	char junk[512];

	srand(14);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)rand();
	junk[3] = '\0'; /* at least one NUL byte */
	T_ASSERT(!bad_config(junk, sizeof(junk), EX_CONFIG, "xvbd.conf:"));
}

static void start_with_a_long_line(void)
{
	char text[400];

	/* A value of 300 characters on line 2. */
	snprintf(text, sizeof(text), "[net]\nbridge = %0300d\n", 7);
	T_ASSERT(!bad_config(text, strlen(text), EX_CONFIG, "xvbd.conf:2: "));
}

/* A configuration xvbd cannot read: EX_NOINPUT, with the reason. */
static void start_with_unreadable_config(void)
{
	char conf[128], sock[128];
	const char *args[] = { "--config", conf, NULL };
	struct run r;

	T_ASSERT(!make_dir());
	T_ASSERT(!put("xvbd.conf", "[net]\n", 6, conf, sizeof(conf)));
	T_ASSERT(!chmod(conf, 0));
	/* Root reads any file: the run drops to nobody (the directory lets
	 * it look inside). */
	T_ASSERT(!chmod(dir, 0755));
	T_ASSERT(!sim_up(sock, sizeof(sock)));
	T_ASSERT(!run_xvbd(sock, args, !geteuid(), &r));
	sim_down();
	T_ASSERT(!expect(&r, EX_NOINPUT, "Permission denied"));
	remove_dir();
}

/* A mistake on the command line: EX_USAGE. */
static void bad_command_line(void)
{
	const char *args[] = { "--domain", "0", NULL };
	const char *extra[] = { "surplus", NULL };
	struct run r;

	T_ASSERT(!make_dir());
	T_ASSERT(!run_xvbd("/nonexistent", args, false, &r));
	T_ASSERT(!expect(&r, EX_USAGE, "bad domain '0'"));
	T_ASSERT(!run_xvbd("/nonexistent", extra, false, &r));
	T_ASSERT(!expect(&r, EX_USAGE, "unexpected argument 'surplus'"));
	remove_dir();
}

/* --config naming what is not a readable file: EX_NOINPUT, and why. */
static void start_with_missing_or_dir_config(void)
{
	char sock[128], conf[128];
	const char *args[] = { "--config", conf, NULL };
	struct run r;

	T_ASSERT(!make_dir());
	T_ASSERT(!sim_up(sock, sizeof(sock)));
	snprintf(conf, sizeof(conf), "%s/nonexistent.conf", dir);
	T_ASSERT(!run_xvbd(sock, args, false, &r));
	T_ASSERT(!expect(&r, EX_NOINPUT,
			 "nonexistent.conf: No such file or directory"));
	snprintf(conf, sizeof(conf), "%s", dir);
	T_ASSERT(!run_xvbd(sock, args, false, &r));
	T_ASSERT(!expect(&r, EX_NOINPUT, ": it is a directory"));
	sim_down();
	remove_dir();
}

static void start_with_unknown_key(void)
{
	static const char text[] = "[net]\nbridge = none\n[blk]\nqeues = 2\n";

	T_ASSERT(!bad_config(text, strlen(text), EX_CONFIG,
			     "xvbd.conf:4: unknown key 'qeues' in [blk]"));
}

/* --check-config: no xenstore needed; 0, or the first mistake. */
static void check_config(void)
{
	static const char good[] = "[net]\nbridge = br0\n[guest a]\n"
				   "nic0.mac = 00:16:3e:00:00:01\n";
	static const char dup[] = "[guest a]\nnic0.mac = 00:16:3e:00:00:01\n"
				  "[guest b]\nnic0.mac = 00:16:3e:00:00:01\n";
	char conf[128], bad[128];
	const char *as_arg[] = { "--check-config", conf, NULL };
	const char *via_config[] = { "--config", bad, "--check-config", NULL };
	struct run r;

	T_ASSERT(!make_dir());
	T_ASSERT(!put("good.conf", good, strlen(good), conf, sizeof(conf)));
	T_ASSERT(!put("bad.conf", dup, strlen(dup), bad, sizeof(bad)));
	T_ASSERT(!run_xvbd("/nonexistent", as_arg, false, &r));
	T_ASSERT(!expect(&r, 0, "good.conf: ok, 2 setting(s)"));
	T_ASSERT(!run_xvbd("/nonexistent", via_config, false, &r));
	T_ASSERT(!expect(&r, EX_CONFIG,
			 "bad.conf:4: MAC 00:16:3e:00:00:01 is also given on "
			 "line 2"));
	snprintf(conf, sizeof(conf), "%s/missing.conf", dir);
	T_ASSERT(!run_xvbd("/nonexistent", as_arg, false, &r));
	T_ASSERT(!expect(&r, EX_NOINPUT, "missing.conf: No such file"));
	remove_dir();
}

/* Waits (up to the hang bound) until xvbd's log has @n lines holding
 * @needle; false if more or never. */
static bool log_has(const char *needle, int n)
{
	if (T_WAIT(rig_log_count(needle) >= n))
		return rig_log_count(needle) == n;
	fprintf(stderr, "xvbd's log has %d \"%s\", not %d\n",
		rig_log_count(needle), needle, n);
	return false;
}

static int write_rig_conf(const char *text)
{
	char path[128];
	FILE *f;

	/* Replaced, not rewritten in place: xvbd never reads half a file. */
	snprintf(path, sizeof(path), "%s/xvbd.conf.new", rig_dir);
	f = fopen(path, "w");
	T_CHECK(f);
	fputs(text, f);
	T_CHECK(!fclose(f));
	{
		char to[128];

		snprintf(to, sizeof(to), "%s/xvbd.conf", rig_dir);
		T_CHECK(!rename(path, to));
	}
	return 0;
}

/* Guest @domid with one disk; its worker logs the disk's queue count. */
static int guest_with_disk(uint32_t domid)
{
	struct xsim_domain_config dc = { .domid = domid,
					 .nr_vcpus = 4,
					 .ram_bytes = 32ULL << 20 };
	struct xsim_libxl_disk d;
	char img[128], name[16];

	snprintf(name, sizeof(name), "d%u.img", domid);
	T_CHECK(!rig_image(name, 8 << 20, img, sizeof(img)));
	rig_disk(&d, "xvda", img);
	T_CHECK(xsim_libxl_create(sim, &dc, &d, 1, NULL, 0) == 0);
	return 0;
}

/*
 * SIGHUP re-reads xvbd.conf for guests created afterwards; a bad file is
 * refused with its reason and the one before stays in force.
 */
static void sighup_rereads_config(void)
{
	const struct rig_opts o = { .tag = "ops",
				    .conf = "[net]\nbridge = none\n[blk]\n"
					    "queues = 2\n",
				    .libxl_ms = TMO_MS };

	T_ASSERT(!rig_start(&o));
	T_ASSERT(!guest_with_disk(1));
	T_ASSERT(log_has("2 queues on", 1));
	T_ASSERT(!write_rig_conf("[net]\nbridge = none\n[blk]\nqueues = 3\n"));
	T_EQ(kill(xvbd, SIGHUP), 0);
	T_ASSERT(log_has("xvbd.conf re-read (2 setting(s))", 1));
	T_ASSERT(!guest_with_disk(2));
	T_ASSERT(log_has("3 queues on", 1));
	/* Guest 1 kept its two queues: nothing was re-served. */
	T_ASSERT(log_has("2 queues on", 1));
	T_ASSERT(!write_rig_conf("[net]\nbridge = none\n[blk]\nqueues = 99\n"));
	T_EQ(kill(xvbd, SIGHUP), 0);
	T_ASSERT(log_has("SIGHUP: ", 4));
	T_ASSERT(log_has("xvbd.conf:4: blk: queues must be 1 to 16 for blk: "
			 "keeping the configuration loaded before",
			 1));
	T_ASSERT(!guest_with_disk(3));
	T_ASSERT(log_has("3 queues on", 2));
	/* A file gone on SIGHUP, when it was named: the same. */
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/xvbd.conf", rig_dir);
		T_ASSERT(!unlink(path));
	}
	T_EQ(kill(xvbd, SIGHUP), 0);
	T_ASSERT(log_has("keeping the configuration loaded before", 2));
	for (uint32_t d = 1; d <= 3; d++)
		T_EQ(xsim_libxl_destroy(sim, d), 0);
	T_ASSERT(!rig_settled());
	T_ASSERT(!rig_stop());
}

/* Guest @domid with a disk on @img; what xl create returned. */
static int guest_on(uint32_t domid, const char *img, bool readonly,
		    struct xsim_libxl_disk *d)
{
	struct xsim_domain_config dc = { .domid = domid,
					 .nr_vcpus = 1,
					 .ram_bytes = 32ULL << 20 };

	rig_disk(d, "xvda", img);
	d->readonly = readonly;
	return xsim_libxl_create(sim, &dc, d, 1, NULL, 0);
}

/*
 * Whether xl create of guest @domid on @img fails as it must when xvbd
 * refuses the disk: at once, because xvbd removed the state node libxl
 * waits on (-EINVAL, libxl's ERROR_INVAL), not by libxl's timeout
 * (-ETIMEDOUT, up to the hang bound here).
 */
static bool guest_refused(uint32_t domid, const char *img, bool readonly,
			  struct xsim_libxl_disk *d)
{
	int rc = guest_on(domid, img, readonly, d);

	if (rc != -EINVAL)
		t_fail(__FILE__, __LINE__,
		       "xl create of d%u returned %d, not -EINVAL (refused)",
		       domid, rc);
	return rc == -EINVAL;
}

/* One supervisor per backend domain: a second says who holds the lock. */
static void second_supervisor_refused(void)
{
	const struct rig_opts o = { .tag = "ops", .libxl_ms = TMO_MS };
	char conf[128], sock[128], img[128], run[96], want[200];
	const char *args[] = { "--config", conf, "--run-dir", run, NULL };
	struct xsim_libxl_disk d;
	struct run r;

	T_ASSERT(!rig_start(&o));
	T_ASSERT(!make_dir());
	snprintf(conf, sizeof(conf), "%s/xvbd.conf", rig_dir);
	snprintf(sock, sizeof(sock), "%s/xen.sock", rig_dir);
	/* The rig's supervisor's run directory (xvbd_rig.c). */
	snprintf(run, sizeof(run), "%s/run", rig_dir);
	T_ASSERT(!run_xvbd(sock, args, false, &r));
	snprintf(want, sizeof(want),
		 "another xvbd supervisor (pid %d) holds %s/supervisor.lock",
		 (int)xvbd, run);
	T_ASSERT(!expect(&r, EX_TEMPFAIL, want));
	/* The first one serves on, alone. */
	T_ASSERT(!rig_image("a.img", 8 << 20, img, sizeof(img)));
	T_EQ(guest_on(1, img, false, &d), 0);
	T_EQ(rig_children(-1, NULL), 1);
	T_EQ(xsim_libxl_destroy(sim, 1), 0);
	T_ASSERT(!rig_settled());
	T_ASSERT(!rig_stop());
	remove_dir();
}

/*
 * One image, two guests: read-write only once, and not read-only beside
 * a writer; once the writer is gone, readers share it.
 */
static void image_served_read_write_once(void)
{
	const struct rig_opts o = { .tag = "ops", .libxl_ms = TMO_MS };
	struct xsim_libxl_disk d;
	char img[128];

	T_ASSERT(!rig_start(&o));
	T_ASSERT(!rig_image("shared.img", 8 << 20, img, sizeof(img)));
	T_EQ(guest_on(1, img, false, &d), 0);
	T_ASSERT(guest_refused(2, img, false, &d));
	T_ASSERT(log_has("shared.img is in use elsewhere", 1));
	T_ASSERT(guest_refused(3, img, true, &d));
	T_ASSERT(log_has("shared.img is in use read-write elsewhere", 1));
	T_EQ(xsim_libxl_destroy(sim, 1), 0);
	T_ASSERT(!rig_settled());
	T_EQ(guest_on(4, img, true, &d), 0);
	T_EQ(guest_on(5, img, true, &d), 0);
	T_ASSERT(guest_refused(6, img, false, &d));
	T_ASSERT(log_has("shared.img is in use elsewhere", 2));
	T_EQ(xsim_libxl_destroy(sim, 4), 0);
	T_EQ(xsim_libxl_destroy(sim, 5), 0);
	T_ASSERT(!rig_settled());
	T_EQ(guest_on(7, img, false, &d), 0);
	T_EQ(xsim_libxl_destroy(sim, 7), 0);
	T_ASSERT(!rig_settled());
	T_ASSERT(!rig_stop());
}

static char immutable[128]; /* a file made immutable, for cleanup() */

static int set_immutable(const char *path, bool on)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), flags, rc = -1;

	if (fd < 0)
		return -1;
	if (!ioctl(fd, FS_IOC_GETFLAGS, &flags)) {
		flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
		rc = ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	close(fd);
	return rc;
}

/*
 * A disk configured read-write whose file cannot be written (immutable:
 * even root's O_RDWR fails, as on a read-only file system): served
 * read-only (VIRTIO_BLK_F_RO), with a log line saying so.
 */
static int readonly_served(const char *img)
{
	struct xsim_libxl_disk d;
	uint64_t features = 0;

	T_CHECK(guest_on(1, img, false, &d) == 0);
	T_CHECK(log_has("ro.img cannot be opened for writing (Operation not "
			"permitted): served read-only",
			1));
	T_CHECK(!xsim_mmio_write(sim, 1, 0, d.base + 0x14, 4, 0, TMO_MS));
	T_CHECK(!xsim_mmio_read(sim, 1, 0, d.base + 0x10, 4, &features,
				TMO_MS));
	T_CHECK(features & (1u << VIRTIO_BLK_F_RO));
	T_CHECK(xsim_libxl_destroy(sim, 1) == 0);
	T_CHECK(!rig_settled());
	return 0;
}

static void readonly_file_served_readonly(void)
{
	const struct rig_opts o = { .tag = "ops", .libxl_ms = TMO_MS };
	char img[128];
	int rc;

	T_ASSERT(!rig_start(&o));
	T_ASSERT(!rig_image("ro.img", 8 << 20, img, sizeof(img)));
	if (set_immutable(img, true)) {
		t_skip("cannot make a file immutable here (%s): not root, or "
		       "the file system has no such flag",
		       strerror(errno));
		return;
	}
	snprintf(immutable, sizeof(immutable), "%s", img);
	rc = readonly_served(img);
	/* Whatever happened: an immutable file cannot be removed. */
	T_ASSERT(!set_immutable(img, false));
	immutable[0] = '\0';
	T_ASSERT(!rc);
	T_ASSERT(!rig_stop());
}

/*
 * A read-only loop device (losetup -r) over @file, its path in @dev; the
 * descriptor that holds it (it detaches once the last user closes), or
 * -errno.
 */
static int ro_loop(const char *file, char *dev, size_t size)
{
	struct loop_config cfg = { 0 };
	int ctl, bfd, fd = -ENODEV, nr;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	bfd = open(file, O_RDONLY | O_CLOEXEC);
	for (int tries = 0; bfd >= 0 && tries < 8; tries++) {
		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0) {
			fd = -errno;
			break;
		}
		snprintf(dev, size, "/dev/loop%d", nr);
		fd = open(dev, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fd = -errno;
			break;
		}
		cfg.fd = bfd;
		cfg.block_size = 512;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_READ_ONLY;
		if (!ioctl(fd, LOOP_CONFIGURE, &cfg))
			break;
		close(fd);
		fd = -errno;
		if (fd != -EBUSY)
			break;
	}
	if (bfd >= 0)
		close(bfd);
	close(ctl);
	return fd;
}

/*
 * A read-only block device given to a disk configured read-write: served
 * read-only (BLKROGET), saying so; never a disk whose writes all fail.
 */
static void readonly_device_served_readonly(void)
{
	const struct rig_opts o = { .tag = "ops", .libxl_ms = TMO_MS };
	struct xsim_libxl_disk d;
	uint64_t features = 0;
	char img[128], dev[32], want[96], alt[96];
	int fd;

	T_ASSERT(!rig_start(&o));
	T_ASSERT(!rig_image("lo.img", 8 << 20, img, sizeof(img)));
	fd = ro_loop(img, dev, sizeof(dev));
	if (fd < 0) {
		t_skip("no loop device here (%s)", strerror(-fd));
		return;
	}
	if (guest_on(1, dev, false, &d)) {
		close(fd);
		T_ASSERT(!"the guest was created");
	}
	close(fd);
	/* BLKROGET says so, or (other kernels) the O_RDWR open fails. */
	snprintf(want, sizeof(want), "%s is a read-only device: served", dev);
	snprintf(alt, sizeof(alt), "%s cannot be opened for writing (", dev);
	T_WAIT(rig_log_count(want) || rig_log_count(alt));
	T_EQ(rig_log_count(want) + rig_log_count(alt), 1);
	T_EQ(xsim_mmio_write(sim, 1, 0, d.base + 0x14, 4, 0, TMO_MS), 0);
	T_EQ(xsim_mmio_read(sim, 1, 0, d.base + 0x10, 4, &features, TMO_MS), 0);
	T_ASSERT(features & (1u << VIRTIO_BLK_F_RO));
	T_EQ(xsim_libxl_destroy(sim, 1), 0);
	T_ASSERT(!rig_settled());
	T_ASSERT(!rig_stop());
}

/*
 * Guest @domid called @name with one NIC: a generic virtio one if @slot is
 * NULL, else a Xen 4.17 disk slot whose target is @slot. Waits for the
 * backend state @state ("2" served), or for NULL until it is refused (its
 * state node removed, an error node left for xl and xvb-create).
 */
static int nic_guest(uint32_t domid, const char *name, const char *slot,
		     const char *state)
{
	struct xsim_domain_config dc = { .domid = domid,
					 .nr_vcpus = 1,
					 .ram_bytes = 32ULL << 20 };
	struct xsim_libxl_virtio nic = { .type = "virtio,device1",
					 .grant_usage = -1,
					 .base = XSIM_VIRTIO_MMIO_BASE,
					 .irq = 33 };
	struct xsim_libxl_disk d;
	char path[160], home[64];

	T_CHECK(!xsim_libxl_create(sim, &dc, NULL, 0, NULL, 0));
	snprintf(home, sizeof(home), "/local/domain/%u/name", domid);
	T_CHECK(!xsim_xs_write(sim, 0, home, name));
	if (slot) {
		rig_disk(&d, "xvda", slot);
		d.base = XSIM_VIRTIO_MMIO_BASE;
		d.irq = 33;
		T_CHECK(!xsim_libxl_write_disk(sim, domid, &d));
		xsim_libxl_be_path(path, sizeof(path), "virtio_disk", 0, domid,
				   51712);
	} else {
		T_CHECK(!xsim_libxl_write_virtio(sim, domid, &nic));
		xsim_libxl_be_path(path, sizeof(path), "virtio", 0, domid, 0);
	}
	if (!state) {
		char err_path[180], *why;

		snprintf(err_path, sizeof(err_path), "%s/error", path);
		strcat(path, "/state");
		T_CHECK(!xsim_xs_wait_gone(sim, path, TMO_MS));
		why = xsim_xs_read(sim, 0, err_path, NULL);
		T_CHECK(why && why[0]);
		free(why);
		return 0;
	}
	strcat(path, "/state");
	T_CHECK(!xsim_xs_wait(sim, path, state, TMO_MS));
	return 0;
}

/* Two NICs with one MAC: the second is refused, naming the first. */
static void duplicate_mac_refused(void)
{
	const struct rig_opts o = {
		.tag = "ops",
		.conf = "[net]\nbridge = none\n[guest a]\n"
			"nic0.mac = 00:16:3e:00:00:21\n",
		.libxl_ms = TMO_MS,
	};

	if (access("/dev/net/tun", R_OK | W_OK) || geteuid()) {
		t_skip("no /dev/net/tun or not root: TAPs cannot be made");
		return;
	}
	T_ASSERT(!rig_start(&o));
	/* TAP names are the host's: domain ids other tests do not use. */
	T_ASSERT(!nic_guest(61, "a", NULL, "2"));
	T_ASSERT(!nic_guest(62, "b", "/etc/xen/xvb-net:mac=00:16:3e:00:00:21",
			    NULL));
	T_ASSERT(log_has("refused: MAC 00:16:3e:00:00:21 is already d61's "
			 "/local/domain/0/backend/virtio/61/0",
			 1));
	T_EQ(xsim_libxl_destroy(sim, 62), 0);
	T_EQ(xsim_libxl_destroy(sim, 61), 0);
	T_ASSERT(!rig_settled());
	/* Free again once its NIC is gone. */
	T_ASSERT(!nic_guest(63, "c", "/etc/xen/xvb-net:mac=00:16:3e:00:00:21",
			    "2"));
	T_EQ(xsim_libxl_destroy(sim, 63), 0);
	T_ASSERT(!rig_settled());
	T_ASSERT(!rig_stop());
}

/* Under systemd (stderr is the journal): priorities, no name and pid. */
static void journal_lines(void)
{
	const char *args[] = { "--config", "/dev/null/x", NULL };
	struct run r;

	T_ASSERT(!make_dir());
	as_journal = true;
	T_ASSERT(!run_xvbd("/nonexistent", args, false, &r));
	as_journal = false;
	T_ASSERT(!expect(&r, EX_NOINPUT,
			 "<3>err supervisor: cannot read /dev/null/x: Not a "
			 "directory\n"));
	T_ASSERT(!strncmp(r.out, "<3>", 3));
	T_ASSERT(!strstr(r.out, "xvbd["));
	remove_dir();
}

static void cleanup(void)
{
	if (immutable[0])
		set_immutable(immutable, false);
	sim_down();
	remove_dir();
	rig_cleanup();
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T_CASE(start_without_xenstored),
		T_CASE(start_with_syntax_error),
		T_CASE(start_with_binary_garbage),
		T_CASE(start_with_a_long_line),
		T_CASE(start_with_unreadable_config),
		T_CASE(bad_command_line),
		T_CASE(start_with_missing_or_dir_config),
		T_CASE(start_with_unknown_key),
		T_CASE(check_config),
		T_CASE(sighup_rereads_config),
		T_CASE(second_supervisor_refused),
		T_CASE(image_served_read_write_once),
		T_CASE(readonly_file_served_readonly),
		T_CASE(readonly_device_served_readonly),
		T_CASE(journal_lines),
		T_CASE(duplicate_mac_refused),
	};
	int rc;

	if (find_bins() || rig_init())
		return 1;
	rc = t_main(cases, ARRAY_SIZE(cases), argc, argv);
	cleanup();
	return rc;
}
