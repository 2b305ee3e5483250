// SPDX-License-Identifier: MIT
/*
 * xvb-simd: the simulated Xen on its own. Serves the drop-in libraries on a
 * socket and optionally creates a guest with virtio disks the libxl way.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/libxl.h"
#include "sim/sim.h"

#define MAX_DISKS 8

static void usage(void)
{
	fprintf(stderr,
		"usage: xvb-simd [--socket PATH] [--domid N] [--vcpus N] [--ram MIB]\n"
		"                [--disk VDEV=IMAGE]... [--timeout-ms N]\n"
		"  Serves libxen* calls on PATH (default $XVB_SIM_SOCKET). With --domid,\n"
		"  creates that guest like xl create (waits for each disk's backend to\n"
		"  reach state 2), then runs until SIGINT/SIGTERM and destroys it.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "domid", required_argument, NULL, 'd' },
		{ "vcpus", required_argument, NULL, 'v' },
		{ "ram", required_argument, NULL, 'r' },
		{ "disk", required_argument, NULL, 'k' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct xsim_domain_config dc = { .nr_vcpus = 1,
					 .ram_bytes = 64ull << 20 };
	struct xsim_libxl_disk disks[MAX_DISKS];
	struct xsim_config cfg = { .socket_path = getenv("XVB_SIM_SOCKET") };
	unsigned int nr_disks = 0;
	struct xsim *sim;
	sigset_t set;
	int opt, sig, rc;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			cfg.socket_path = optarg;
			break;
		case 'd':
			dc.domid = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			dc.nr_vcpus = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			dc.ram_bytes = strtoull(optarg, NULL, 0) << 20;
			break;
		case 't':
			cfg.libxl_timeout_ms = strtoul(optarg, NULL, 0);
			break;
		case 'k': {
			char *eq = strchr(optarg, '=');

			if (!eq || nr_disks == MAX_DISKS) {
				usage();
				return 2;
			}
			*eq = '\0';
			disks[nr_disks++] =
				(struct xsim_libxl_disk){ .vdev = optarg,
							  .target = eq + 1,
							  .grant_usage = -1 };
			break;
		}
		default:
			usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!cfg.socket_path) {
		usage();
		return 2;
	}
	/* signals are taken synchronously below; the server thread inherits the
	 * mask */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	rc = xsim_create(&cfg, &sim);
	if (rc) {
		fprintf(stderr, "xvb-simd: %s: %s\n", cfg.socket_path,
			strerror(-rc));
		return 1;
	}
	fprintf(stderr, "xvb-simd: serving on %s\n", cfg.socket_path);
	if (dc.domid) {
		rc = xsim_libxl_create(sim, &dc, disks, nr_disks, NULL, 0);
		if (rc) {
			fprintf(stderr, "xvb-simd: creating d%u: %s\n",
				dc.domid, strerror(-rc));
			xsim_destroy(sim);
			return 1;
		}
		fprintf(stderr, "xvb-simd: d%u running\n", dc.domid);
	}
	sigwait(&set, &sig);
	if (dc.domid)
		xsim_libxl_destroy(sim, dc.domid);
	xsim_destroy(sim);
	return 0;
}
