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
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "t.h"
#include "xvbd_rig.h"

#define TMO_MS 3000

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
	*strrchr(self, '/') = '\0'; /* $(O)/sim/tests */
	snprintf(xvbd_bin, sizeof(xvbd_bin), "%s/../../xvbd", self);
	snprintf(sim_libs, sizeof(sim_libs), "%s/../lib", self);
	return 0;
}

static void remove_dir(void);
static void sim_down(void);

/* A fresh directory (what a failed case left is removed first). */
static int make_dir(void)
{
	sim_down();
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
		if (nobody && (setgid(65534) || setuid(65534)))
			_exit(126);
		execv(xvbd_bin, (char **)argv);
		_exit(127);
	}
	r->status = -1;
	for (i = 0; i < 500; i++) {
		if (waitpid(pid, &r->status, WNOHANG) == pid)
			break;
		usleep(20000);
	}
	if (r->status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		t_fail(__FILE__, __LINE__, "xvbd still running after 10 s");
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

static void cleanup(void)
{
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
	};
	int rc;

	if (find_bins() || rig_init())
		return 1;
	rc = t_main(cases, ARRAY_SIZE(cases), argc, argv);
	cleanup();
	return rc;
}
