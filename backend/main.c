// SPDX-License-Identifier: MIT
/*
 * xvbd's entry point: static mode (--domain N with explicit devices), the
 * supervisor (no domain: devices come from xenstore), and the internal
 * worker mode the supervisor starts.
 */
#define LOG_MOD "main"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "layout.h"
#include "lib/log.h"
#include "supervisor.h"
#include "worker.h"

/* The package's version, from dist/changelog (the Makefile passes it). */
#ifndef XVB_VERSION
#define XVB_VERSION "unknown"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xvbd [options]                      supervisor: serve the devices xl configures\n"
		"       xvbd --domain N --blk SPEC ... [--net SPEC ...]   static mode, no xenstore\n"
		"\n"
		"  --domain N        serve guest domain N with the devices given\n"
		"  --blk SPEC        a virtio disk: base=ADDR,irq=SPI[,mode=r|w][,serial=S][,queues=1..16]\n"
		"                    [,poll_us=0..1000][,grants=0|1][,devid=N],path=FILE\n"
		"  --net SPEC        a virtio NIC: base=ADDR,irq=SPI[,bridge=BR][,mac=MAC][,ifname=TAP]\n"
		"                    [,queues=1..8][,poll_us=0..1000][,grants=0|1][,devid=N]\n"
		"  --config FILE     NIC bridges, MACs, queues and polling per guest\n"
		"                    (default /etc/xen/xvbd.conf; see xvbd(8))\n"
		"  --no-restrict     do not restrict Xen handles to the guest (debugging)\n"
		"  -v, --verbose     debug logging\n"
		"  -h, --help        this text\n"
		"  -V, --version     print the version\n"
		"\n"
		"ADDR is the 0x200-byte window's guest-physical base (0x%llx..0x%llx),\n"
		"SPI one of %d..%d, both as xl's device tree gives them. path= comes last\n"
		"and takes the rest, commas included.\n"
		"Signals: TERM stops, HUP re-reads disk sizes, USR1 logs every queue's state.\n",
		XB_MMIO_BASE, XB_MMIO_BASE + XB_MMIO_SIZE - 1, XB_SPI_FIRST,
		XB_SPI_LAST);
}

enum {
	OPT_DOMAIN = 256,
	OPT_BLK,
	OPT_NET,
	OPT_WORKER,
	OPT_CTL_FD,
	OPT_NO_RESTRICT,
	OPT_CONFIG,
	OPT_STALE,
};

static const struct option long_opts[] = {
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "blk", required_argument, NULL, OPT_BLK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "worker", no_argument, NULL, OPT_WORKER },
	{ "ctl-fd", required_argument, NULL, OPT_CTL_FD },
	{ "no-restrict", no_argument, NULL, OPT_NO_RESTRICT },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "stale-server", required_argument, NULL, OPT_STALE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Refuses two devices of one guest on the same window or SPI. */
static int check_clashes(const struct xb_worker_args *a)
{
	for (unsigned int i = 0; i < a->nr_devs; i++) {
		for (unsigned int j = 0; j < i; j++) {
			if (a->devs[i].base == a->devs[j].base) {
				fprintf(stderr, "xvbd: two devices at 0x%llx\n",
					(unsigned long long)a->devs[i].base);
				return -EINVAL;
			}
			if (a->devs[i].irq == a->devs[j].irq) {
				fprintf(stderr, "xvbd: two devices on irq %u\n",
					a->devs[i].irq);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int add_dev(struct xb_worker_args *a, const char *spec,
		   enum xb_devtype type)
{
	struct xb_devconf *c;
	char err[256];

	if (a->nr_devs == XB_MAX_WINDOWS) {
		fprintf(stderr, "xvbd: at most %d devices per guest\n",
			XB_MAX_WINDOWS);
		return -EINVAL;
	}
	c = &a->devs[a->nr_devs];
	if (xb_parse_devspec(spec, type, c, err, sizeof(err))) {
		fprintf(stderr, "xvbd: --%s %s: %s\n",
			type == XB_DEV_BLK ? "blk" : "net", spec, err);
		return -EINVAL;
	}
	/* Without devid=, devices are numbered in command-line order. */
	if (!strstr(spec, "devid="))
		c->devid = a->nr_devs;
	a->nr_devs++;
	return 0;
}

int main(int argc, char **argv)
{
	static struct xb_worker_args a;
	const char *config = NULL;
	bool have_domain = false, worker = false;
	enum log_level level = LOG_INFO;
	uint64_t v;
	int opt;

	a.ctl_fd = -1;
	a.stale_server = -1;
	/* A peer gone (a worker, xenstored) is an error to handle where it
	 * happens, never a signal that ends a daemon serving other guests.
	 * Kept across the workers' exec. */
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt_long(argc, argv, "vhV", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_DOMAIN:
			/* DOMID_FIRST_RESERVED is 0x7ff0. */
			if (xb_parse_u64(optarg, 1, 0x7fef, &v)) {
				fprintf(stderr, "xvbd: bad domain '%s'\n",
					optarg);
				return 2;
			}
			a.domid = v;
			have_domain = true;
			break;
		case OPT_BLK:
		case OPT_NET:
			if (add_dev(&a, optarg,
				    opt == OPT_BLK ? XB_DEV_BLK : XB_DEV_NET))
				return 2;
			break;
		case OPT_WORKER:
			worker = true;
			break;
		case OPT_CTL_FD:
			if (xb_parse_u64(optarg, 0, 65535, &v)) {
				fprintf(stderr, "xvbd: bad --ctl-fd\n");
				return 2;
			}
			a.ctl_fd = v;
			break;
		case OPT_NO_RESTRICT:
			a.no_restrict = true;
			break;
		case OPT_CONFIG:
			config = optarg;
			break;
		case OPT_STALE: /* internal: from the supervisor */
			if (xb_parse_u64(optarg, 0, 65535, &v)) {
				fprintf(stderr, "xvbd: bad --stale-server\n");
				return 2;
			}
			a.stale_server = v;
			break;
		case 'v':
			level = LOG_DBG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("xvbd %s\n", XVB_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xvbd: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	log_setup("xvbd", level);

	if (!have_domain) {
		if (a.nr_devs || worker) {
			fprintf(stderr, "xvbd: devices need --domain N\n");
			return 2;
		}
		return xb_supervisor_run(config, level);
	}
	if (!a.nr_devs && !worker) {
		fprintf(stderr,
			"xvbd: --domain needs at least one --blk or --net\n");
		return 2;
	}
	if (check_clashes(&a))
		return 2;
	if (worker && a.ctl_fd < 0) {
		fprintf(stderr, "xvbd: --worker needs --ctl-fd\n");
		return 2;
	}
	return xb_worker_run(&a);
}
