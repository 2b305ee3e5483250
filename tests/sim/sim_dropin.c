// SPDX-License-Identifier: MIT
/*
 * Runs dropin_dm (linked against Debian's libxen*) on the simulator's
 * libraries in a child process and drives guest MMIO at it from two vCPUs.
 * Run with LD_LIBRARY_PATH at the drop-in libraries (with-sim-libs).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/sim.h"
#include "hang.h"
#include "t.h"

#define DOM 3
#define BASE XSIM_VIRTIO_MMIO_BASE
#define TMO ((int)t_hang_ms())

static pid_t spawn(const char *sock)
{
	char exe[PATH_MAX], child[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	pid_t pid;

	if (n < 0)
		return -1;
	exe[n] = '\0';
	snprintf(child, sizeof(child), "%s/dropin_dm", dirname(exe));
	pid = fork();
	if (pid == 0) {
		setenv("XVB_SIM_SOCKET", sock, 1);
		execl(child, child, "3", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* waitpid with a deadline; kills the child when it passes. */
static int reap(pid_t pid, int timeout_ms)
{
	int status;

	for (int i = 0; i < timeout_ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -ETIMEDOUT;
}

static void unmodified_binary_on_sim_libs(void)
{
	struct xsim_domain_config dc = { .domid = DOM,
					 .nr_vcpus = 2,
					 .ram_bytes = 16 << 20 };
	struct xsim_config cfg = { .quiet = true };
	struct xsim_stats st;
	struct xsim *sim;
	char sock[64];
	uint64_t v;
	pid_t pid;

	if (!getenv("LD_LIBRARY_PATH")) {
		t_skip("run through tests/sim/with-sim-libs");
		return;
	}
	snprintf(sock, sizeof(sock), "/tmp/xsim-dropin-%d.sock", getpid());
	cfg.socket_path = sock;
	T_ASSERT(xsim_create(&cfg, &sim) == 0);
	T_ASSERT(xsim_domain_create(sim, &dc) == 0);
	pid = spawn(sock);
	T_ASSERT(pid > 0);
	if (xsim_xs_wait(sim, "/test/dropin", "ready", TMO)) {
		t_fail(__FILE__, __LINE__, "child not ready (exit %d)",
		       reap(pid, 100));
		xsim_destroy(sim);
		return;
	}
	for (unsigned int vcpu = 0; vcpu < 2; vcpu++) {
		T_EQ(xsim_mmio_write(sim, DOM, vcpu, BASE + 8 * vcpu, 4,
				     0xc0de0 + vcpu, TMO),
		     0);
		T_EQ(xsim_mmio_read(sim, DOM, vcpu, BASE + 8 * vcpu, 4, &v,
				    TMO),
		     0);
		T_EQ_U64(v, 0xc0de0 + vcpu);
	}
	T_EQ(xsim_mmio_write(sim, DOM, 1, BASE + 0x1f8, 8, 0x5704, TMO), 0);
	T_EQ(reap(pid, TMO), 0);
	xsim_get_stats(sim, &st);
	T_EQ(st.conns, 0);
	T_EQ(st.ports, 0);
	T_EQ(st.servers, 0);
	T_EQ(st.resources, 0);
	T_EQ(xsim_last_error(sim, NULL, 0), 0);
	xsim_destroy(sim);
}

T_MAIN(T_CASE(unmodified_binary_on_sim_libs))
