// SPDX-License-Identifier: MIT
/* The simulator and the real xvbd on it, for xvbd_life and xvbd_hostile. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hang.h"
#include "t.h"
#include "xvbd_rig.h"

struct xsim *sim;
pid_t xvbd = -1;
char rig_dir[64];

static char sock[96], run[96], conf[128], xvbd_path[256], libdir[256];
static uint64_t guest_ram, image_bytes;

int rig_init(void)
{
	char self[200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return -errno;
	self[n] = '\0';
	*strrchr(self, '/') = '\0'; /* $(O)/tests/sim */
	snprintf(xvbd_path, sizeof(xvbd_path), "%s/../../xvbd", self);
	snprintf(libdir, sizeof(libdir), "%s/../../sim/lib", self);
	/*
	 * Workers outlive a supervisor stopped with SIGTERM: orphaned, they
	 * become ours, so that we see them, reap them, and none outlives us.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		return -errno;
	return 0;
}

/* Whether @pid's command line holds @arg. */
static bool cmdline_has(pid_t pid, const char *arg, const char *next)
{
	char path[64], cmd[512];
	size_t len;
	FILE *c;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	c = fopen(path, "r");
	if (!c)
		return false;
	len = fread(cmd, 1, sizeof(cmd) - 1, c);
	fclose(c);
	cmd[len] = '\0';
	for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
		if (!strcmp(cmd + i, arg) &&
		    (!next || (i + strlen(arg) + 1 < len &&
			       !strcmp(cmd + i + strlen(arg) + 1, next))))
			return true;
	return false;
}

/*
 * Our own children that are xvbd workers (orphaned by a supervisor that
 * left them serving), up to @max in @pids; exited ones are reaped.
 */
static int orphans(pid_t *pids, int max)
{
	char path[300];
	struct dirent *e;
	int n = 0, pid;
	DIR *d = opendir("/proc/self/task");

	while (d && (e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children",
			 e->d_name);
		f = fopen(path, "r");
		while (f && fscanf(f, "%d", &pid) == 1) {
			if (pid == xvbd)
				continue;
			/* Exited (its cmdline empty): reaped. */
			if (waitpid(pid, NULL, WNOHANG) == pid ||
			    !cmdline_has(pid, "--worker", NULL))
				continue;
			if (n < max)
				pids[n++] = pid;
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

static void kill_orphans(void)
{
	pid_t pids[64];
	int n = orphans(pids, 64);

	for (int i = 0; i < n; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
}

/* In a child about to run xvbd: its log appends, on the simulator. */
static void child_setup(void)
{
	char log[128];

	snprintf(log, sizeof(log), "%s/xvbd.log", rig_dir);
	if (!freopen(log, "a", stderr))
		_exit(127);
	setenv("LD_LIBRARY_PATH", libdir, 1);
	setenv("XVB_SIM_SOCKET", sock, 1);
}

/* Starts the supervisor (static mode: @argv). */
static int spawn_xvbd(const char *const *argv)
{
	xvbd = fork();
	T_CHECK(xvbd >= 0);
	if (!xvbd) {
		child_setup();
		if (argv)
			execv(xvbd_path, (char **)argv);
		else
			execl(xvbd_path, "xvbd", "--config", conf, "--run-dir",
			      run, (char *)NULL);
		_exit(127);
	}
	return 0;
}

/* Waits (up to the hang bound) until the supervisor set its three watches. */
static int wait_watches(void)
{
	struct xsim_stats st;

	if (T_WAIT((xsim_get_stats(sim, &st), st.watches >= 3)))
		return 0;
	T_CHECK(!"xvbd set its watches");
	return -1;
}

uint64_t rig_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rig_cleanup(void)
{
	char cmd[200];

	if (xvbd > 0) {
		kill(xvbd, SIGKILL);
		waitpid(xvbd, NULL, 0);
		xvbd = -1;
	}
	kill_orphans();
	xsim_destroy(sim); /* the workers exit once their socket closes */
	sim = NULL;
	if (rig_dir[0]) {
		/* A failed case's xvbd log goes to the test's output. */
		snprintf(cmd, sizeof(cmd), "cat %s/xvbd.log >&2; rm -rf %s",
			 rig_dir, rig_dir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", rig_dir);
		rig_dir[0] = '\0';
	}
}

int rig_start(const struct rig_opts *o)
{
	struct xsim_config cfg = { .libxl_timeout_ms = o->libxl_ms,
				   .quiet = true };
	FILE *f;

	rig_cleanup();
	guest_ram = o->guest_ram ? o->guest_ram : 64ULL << 20;
	image_bytes = o->image_bytes ? o->image_bytes : 16ULL << 20;
	snprintf(rig_dir, sizeof(rig_dir), "/tmp/xvbd-%s-XXXXXX", o->tag);
	T_CHECK(mkdtemp(rig_dir));
	snprintf(sock, sizeof(sock), "%s/xen.sock", rig_dir);
	cfg.socket_path = sock;
	T_CHECK(xsim_create(&cfg, &sim) == 0);
	if (o->precreate)
		T_CHECK(xsim_domain_create(sim, o->precreate) == 0);
	snprintf(conf, sizeof(conf), "%s/xvbd.conf", rig_dir);
	f = fopen(conf, "w");
	T_CHECK(f);
	fputs(o->conf ? o->conf : "[net]\nbridge = none\n", f);
	fclose(f);
	snprintf(run, sizeof(run), "%s/run", rig_dir);
	if (spawn_xvbd(o->argv))
		return -1;
	if (o->argv)
		return 0;
	return wait_watches();
}

int rig_supervisor_stop(int sig)
{
	struct xsim_stats st;
	int status;

	T_CHECK(xvbd > 0 && !kill(xvbd, sig));
	T_CHECK(T_WAIT(waitpid(xvbd, &status, WNOHANG) == xvbd));
	xvbd = -1;
	/* SIGTERM: the supervisor leaves its workers serving, and exits 0. */
	if (sig == SIGTERM)
		T_CHECK(WIFEXITED(status) && !WEXITSTATUS(status));
	/* Its xenstore handle closes with it: its watches go. */
	if (T_WAIT((xsim_get_stats(sim, &st), !st.watches)))
		return 0;
	T_CHECK(!"the supervisor's watches went");
	return -1;
}

int rig_supervisor_start(void)
{
	if (spawn_xvbd(NULL))
		return -1;
	return wait_watches();
}

int rig_restart(int sig)
{
	if (rig_supervisor_stop(sig))
		return -1;
	return rig_supervisor_start();
}

int rig_xvbd_cmd(const char *arg)
{
	int status;
	pid_t pid = fork();

	T_CHECK(pid >= 0);
	if (!pid) {
		child_setup();
		execl(xvbd_path, "xvbd", arg, "--run-dir", run, (char *)NULL);
		_exit(127);
	}
	T_CHECK(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int rig_settled(void)
{
	struct xsim_stats st;

	if (T_WAIT((xsim_get_stats(sim, &st),
		    !st.servers && !st.fmem_pages && !st.resources &&
			    !st.ports && !st.grant_maps)))
		return 0;
	t_fail(__FILE__, __LINE__,
	       "left behind: %u servers, %llu pages, %u resources, %u ports",
	       st.servers, (unsigned long long)st.fmem_pages, st.resources,
	       st.ports);
	return -1;
}

int rig_stop(void)
{
	struct xsim_stats st;
	char cmd[400], err[256] = "";
	int status = -1;
	bool clean;

	if (xvbd <= 0) { /* never kill(-1, ...) */
		t_fail(__FILE__, __LINE__, "no supervisor to stop");
		return -1;
	}
	/* SIGINT stops the supervisor with its workers (SIGTERM would leave
	 * them serving); it gives them 5 s to exit before it kills them (a
	 * worker under ASan checks for leaks as it exits): wait longer, up
	 * to the hang bound. */
	kill(xvbd, SIGINT);
	if (!T_WAIT(waitpid(xvbd, &status, WNOHANG) == xvbd)) {
		t_fail(__FILE__, __LINE__,
		       "xvbd did not exit within %u ms of SIGINT (hang bound)",
		       t_hang_ms());
		kill(xvbd, SIGKILL);
		waitpid(xvbd, &status, 0);
	}
	xvbd = -1;
	clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!clean)
		t_fail(__FILE__, __LINE__,
		       "xvbd %s %d after SIGINT (its log below)",
		       WIFSIGNALED(status) ? "was killed by signal" :
					     "exited with status",
		       WIFSIGNALED(status) ? WTERMSIG(status) :
					     WEXITSTATUS(status));
	xsim_get_stats(sim, &st);
	xsim_last_error(sim, err, sizeof(err));
	xsim_destroy(sim);
	sim = NULL;
	/* xvbd's log is kept on a bad exit or a sanitizer report in it. */
	snprintf(
		cmd, sizeof(cmd),
		"%s grep -q -e 'Sanitizer' -e 'runtime error' %s/xvbd.log && cat %s/xvbd.log >&2; rm -rf %s",
		getenv("XVB_RIG_LOG") || !clean ? "true ||" : "", rig_dir,
		rig_dir, rig_dir);
	rig_dir[0] = '\0';
	if (system(cmd) || !clean)
		return -1;
	T_CHECK(!st.conns && !st.watches);
	if (err[0])
		t_fail(__FILE__, __LINE__, "the simulated Xen saw: %s", err);
	return err[0] ? -1 : 0;
}

int rig_image(const char *name, uint64_t bytes, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/%s", rig_dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)bytes)) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

void rig_disk(struct xsim_libxl_disk *d, const char *vdev, const char *path)
{
	*d = (struct xsim_libxl_disk){ .vdev = vdev,
				       .target = path,
				       .grant_usage = -1 };
}

int rig_children(int domid, pid_t *found)
{
	char path[80], cmd[256], want[16];
	int pid, n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)xvbd,
		 (int)xvbd);
	snprintf(want, sizeof(want), "%d", domid);
	if (found)
		*found = -1;
	/* No supervisor (stopped, between two): its workers, if any, are
	 * ours. */
	f = xvbd > 0 ? fopen(path, "r") : fopen("/dev/null", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%d", &pid) == 1) {
		FILE *c;
		size_t len;

		n++;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		c = fopen(path, "r");
		if (!c)
			continue;
		len = fread(cmd, 1, sizeof(cmd) - 1, c);
		fclose(c);
		cmd[len] = '\0';
		/* argv: xvbd --worker --domain N ... */
		for (size_t i = 0; found && i + 9 < len;
		     i += strlen(cmd + i) + 1)
			if (!strcmp(cmd + i, "--domain") &&
			    !strcmp(cmd + i + 9, want))
				*found = pid;
	}
	fclose(f);
	/* Workers a supervisor left serving, now ours. */
	{
		pid_t o[64];
		int k = orphans(o, 64);

		for (int i = 0; i < k; i++) {
			n++;
			if (found && cmdline_has(o[i], "--domain", want))
				*found = o[i];
		}
	}
	return n;
}

pid_t rig_worker_of(uint32_t domid)
{
	pid_t pid;

	rig_children((int)domid, &pid);
	return pid;
}

int rig_no_workers(void)
{
	T_CHECK(T_WAIT(rig_children(-1, NULL) == 0));
	return 0;
}

bool rig_comm_is(pid_t pid, const char *name)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	if (strcmp(comm, name))
		fprintf(stderr, "process %d is called \"%s\", not \"%s\"\n",
			(int)pid, comm, name);
	return !strcmp(comm, name);
}

int rig_log_count(const char *needle)
{
	char path[96], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/xvbd.log", rig_dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

int hguest_image(struct hguest *g, const char *tag)
{
	T_CHECK(!rig_image(tag, image_bytes, g->img, sizeof(g->img)));
	rig_disk(&g->d, "xvda", g->img);
	return 0;
}

int hguest_create(struct hguest *g, uint32_t domid, unsigned int vcpus)
{
	struct xsim_domain_config dc = { .domid = domid,
					 .nr_vcpus = vcpus,
					 .ram_bytes = guest_ram };

	int rc;

	g->domid = domid;
	rc = xsim_libxl_create(sim, &dc, &g->d, 1, NULL, 0);
	if (rc) {
		t_fail(__FILE__, __LINE__, "guest %u not created: %d",
		       (unsigned int)domid, rc);
		return -1;
	}
	fg_release(&g->fg);
	g->fg = fg_wrap(xsim_ram_ptr(sim, domid, XSIM_RAM0_BASE, guest_ram),
			XSIM_RAM0_BASE, guest_ram);
	T_CHECK(g->fg);
	return 0;
}

int hguest_drv(struct hguest *g, unsigned int qd)
{
	int rc = blkdrv_up(&g->b, sim, g->domid, 0, g->d.base, g->d.irq, g->fg,
			   qd, 4096);

	if (rc) {
		t_fail(__FILE__, __LINE__, "guest %u's driver not up: %d",
		       (unsigned int)g->domid, rc);
		return -1;
	}
	g->w = rig_worker_of(g->domid);
	T_CHECK(g->w > 0);
	return 0;
}

int hguest_up(struct hguest *g, const char *tag, uint32_t domid,
	      unsigned int vcpus, unsigned int qd)
{
	T_CHECK(!hguest_image(g, tag));
	T_CHECK(!hguest_create(g, domid, vcpus));
	T_CHECK(!hguest_drv(g, qd));
	return 0;
}

int hguest_down(struct hguest *g)
{
	blkdrv_down(&g->b);
	fg_release(&g->fg);
	T_CHECK(xsim_libxl_destroy(sim, g->domid) == 0);
	return 0;
}

void hguest_cleanup(struct hguest *g)
{
	blkdrv_cleanup(&g->b);
	fg_release(&g->fg);
}

int rig_finish(void)
{
	int settled = rig_settled();

	return rig_stop() || settled ? -1 : 0;
}
