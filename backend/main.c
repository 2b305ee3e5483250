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
#include <sysexits.h>
#include <unistd.h>

#include "conffile.h"
#include "devspec.h"
#include "layout.h"
#include "lib/log.h"
#include "supervisor.h"
#include "worker.h"

/* The package's version, from dist/changelog (the Makefile passes it). */
#ifndef XVB_VERSION
#define XVB_VERSION "unknown"
#endif

/*
 * --help. tests/unit/backend_main checks it, and dist/xvbd.8, against
 * long_opts below: every public option in both, nothing else in either,
 * the same window and SPI ranges.
 */
/*
 * The device types, one line each: "  NAME (virtio N) summary; keys: ...",
 * the names padded to the longest so the columns line up.
 */
static void xb_main_usage_types(FILE *f)
{
	int width = 0;

	for (unsigned int i = 0; xvb_devtypes[i]; i++) {
		int n = (int)strlen(xvb_devtypes[i]->name);

		if (n > width)
			width = n;
	}
	for (unsigned int i = 0; xvb_devtypes[i]; i++) {
		const struct xvb_devtype *t = xvb_devtypes[i];

		fprintf(f, "  %-*s (virtio %u) %s; keys:", width, t->name,
			t->virtio_id, t->summary);
		for (unsigned int k = 0; t->keys && t->keys[k]; k++)
			fprintf(f, " %s", t->keys[k]);
		if (t->max_queues)
			fprintf(f, " queues=1..%u", t->max_queues);
		fprintf(f, "\n");
	}
}

static void xb_main_usage(FILE *f)
{
	fprintf(f,
		"usage: xvbd [--config FILE] [--run-dir DIR] [--syslog] [-v]\n"
		"           supervisor: serves the devices xl configures (xenstore)\n"
		"       xvbd --domain N --dev NAME:SPEC ... [--no-restrict] [--syslog] [-v]\n"
		"           static mode: guest N's devices, no xenstore\n"
		"       xvbd --check-config [FILE]\n"
		"       xvbd --help | --version\n"
		"\n"
		"  --domain N        serve guest domain N with the devices given\n"
		"  --dev NAME:SPEC   a virtio device of type NAME (below):\n"
		"                    base=ADDR,irq=SPI[,queues=N][,poll_us=0..1000][,coalesce_us=0..1000]\n"
		"                    [,grants=0|1][,devid=N] and the type's keys; path= comes last\n"
		"  --blk SPEC        the same as --dev blk:SPEC\n"
		"  --net SPEC        the same as --dev net:SPEC\n"
		"  --config FILE     settings per device type and per guest (bridges, MACs, queues)\n"
		"                    (default " XB_CONFIG_PATH
		"; see xvbd(8))\n"
		"  --check-config [FILE]  check FILE (or --config's) and exit\n"
		"  --run-dir DIR     the supervisor's lock and the workers' control sockets\n"
		"                    (default " XB_RUN_DIR
		"): workers outlive the\n"
		"                    supervisor, the next one takes them over\n"
		"  --stop-all        stop every worker no supervisor controls, and exit\n"
		"  --no-restrict     do not restrict Xen handles to the guest (debugging)\n"
		"  --syslog          log to syslog (daemon facility), not stderr\n"
		"  -v, --verbose     debug logging\n"
		"  -h, --help        this text\n"
		"  -V, --version     print the version\n"
		"\n"
		"ADDR is the guest-physical base of the device's 0x200-byte window,\n"
		"0x%llx..0x%llx and 0x200-aligned; SPI is %d..%d; both as xl's\n"
		"device tree gives them. path= comes last and takes the rest, commas\n"
		"included. A key given twice is refused.\n"
		"Signals: TERM stops the supervisor, its workers serve on; INT stops it\n"
		"and every worker; HUP re-reads the configuration file (for devices\n"
		"added from then on) and disk sizes; USR1 logs every queue's state.\n"
		"\n"
		"Device types:\n",
		XB_MMIO_BASE, XB_MMIO_BASE + XB_MMIO_SIZE - XB_MMIO_DEV_SIZE,
		XB_SPI_FIRST, XB_SPI_LAST);
	xb_main_usage_types(f);
}

enum {
	OPT_DOMAIN = 256,
	OPT_DEV,
	OPT_BLK,
	OPT_NET,
	OPT_WORKER,
	OPT_CTL_FD,
	OPT_NO_RESTRICT,
	OPT_CONFIG,
	OPT_STALE,
	OPT_CHECK_CONFIG,
	OPT_RUN_DIR,
	OPT_SYSLOG,
	OPT_STOP_ALL,
	OPT_GUEST,
};

static const struct option long_opts[] = {
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "dev", required_argument, NULL, OPT_DEV },
	{ "blk", required_argument, NULL, OPT_BLK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "worker", no_argument, NULL, OPT_WORKER },
	{ "ctl-fd", required_argument, NULL, OPT_CTL_FD },
	{ "no-restrict", no_argument, NULL, OPT_NO_RESTRICT },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "stale-server", required_argument, NULL, OPT_STALE },
	{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "stop-all", no_argument, NULL, OPT_STOP_ALL },
	{ "guest", required_argument, NULL, OPT_GUEST },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Refuses two devices of one guest on the same window or SPI. */
static int xb_main_check_clashes(const struct xb_worker_args *a)
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

/*
 * --dev NAME:SPEC, or --blk/--net SPEC (@alias: "blk", "net"): one more
 * device for the guest.
 */
static int xb_main_add_dev(struct xb_worker_args *a, const char *arg,
			   const char *alias)
{
	const struct xvb_devtype *t = alias ? xvb_devtype_by_name(alias) : NULL;
	const char *spec = arg;
	struct xb_devconf *c;
	char err[256];

	if (a->nr_devs == XB_MAX_WINDOWS) {
		fprintf(stderr, "xvbd: at most %d devices per guest\n",
			XB_MAX_WINDOWS);
		return -EINVAL;
	}
	if (!t && xb_split_devarg(arg, &t, &spec, err, sizeof(err))) {
		fprintf(stderr, "xvbd: --dev %s: %s\n", arg, err);
		return -EINVAL;
	}
	c = &a->devs[a->nr_devs];
	if (xb_parse_devspec(spec, t, c, err, sizeof(err))) {
		fprintf(stderr, "xvbd: %s device %s: %s\n", t->name, spec, err);
		return -EINVAL;
	}
	/* Without devid=, devices are numbered in command-line order. */
	if (!c->has_devid)
		c->devid = a->nr_devs;
	a->nr_devs++;
	return 0;
}

/* --check-config: loads @path (NULL: the default) as the supervisor would. */
static int xb_main_check_config(const char *path)
{
	const char *p = path ? path : XB_CONFIG_PATH;
	char err[PATH_MAX + 200];
	struct xb_config cfg;
	int rc;

	rc = xb_config_load(&cfg, p, path != NULL, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "xvbd: %s\n", err);
		return rc == -EINVAL ? EX_CONFIG : EX_NOINPUT;
	}
	if (!path && access(p, F_OK))
		printf("xvbd: no %s: the defaults apply\n", p);
	else
		printf("xvbd: %s: ok, %u setting(s)\n", p, cfg.n);
	xb_config_free(&cfg);
	return 0;
}

/* What the command line asked for. */
struct xb_main_opts {
	struct xb_worker_args *a;
	const char *config;
	bool have_domain, worker, check, stop_all, use_syslog;
	enum log_level level;
};

/* Go on parsing: what the option parsers return unless xvbd is to exit. */
#define XB_MAIN_GO (-1)

/* @arg as a number in [@min, @max] into *@v, or a message and EX_USAGE. */
static int xb_main_number(const char *arg, uint64_t min, uint64_t max,
			  const char *what, uint64_t *v)
{
	if (!xb_parse_u64(arg, min, max, v))
		return XB_MAIN_GO;
	fprintf(stderr, "xvbd: bad %s '%s'\n", what, arg);
	return EX_USAGE;
}

/* The options a user gives a daemon; XB_MAIN_GO, or an exit code. */
static int xb_main_user_option(struct xb_main_opts *o, int opt, const char *arg)
{
	struct xb_worker_args *a = o->a;
	uint64_t v = 0;
	int rc = XB_MAIN_GO;

	switch (opt) {
	case OPT_DOMAIN: /* DOMID_FIRST_RESERVED is 0x7ff0. */
		rc = xb_main_number(arg, 1, 0x7fef, "domain", &v);
		a->domid = v;
		o->have_domain = true;
		break;
	case OPT_DEV:
	case OPT_BLK:
	case OPT_NET:
		if (xb_main_add_dev(a, arg,
				    opt == OPT_DEV ? NULL :
				    opt == OPT_BLK ? "blk" :
						     "net"))
			rc = EX_USAGE;
		break;
	case OPT_NO_RESTRICT:
		a->no_restrict = true;
		break;
	case OPT_CONFIG:
		o->config = arg;
		break;
	case OPT_CHECK_CONFIG:
		o->check = true;
		break;
	case OPT_SYSLOG:
		o->use_syslog = true;
		break;
	case OPT_RUN_DIR:
		a->run_dir = arg;
		break;
	case OPT_STOP_ALL:
		o->stop_all = true;
		break;
	case 'v':
		o->level = LOG_DBG;
		break;
	default:
		xb_main_usage(stderr);
		rc = EX_USAGE;
	}
	return rc;
}

/* Options for xvbd itself (--help) and those only a supervisor gives. */
static int xb_main_option(struct xb_main_opts *o, int opt, const char *arg)
{
	uint64_t v = 0;
	int rc = XB_MAIN_GO;

	switch (opt) {
	case 'h':
		xb_main_usage(stdout);
		return 0;
	case 'V':
		printf("xvbd %s\n", XVB_VERSION);
		return 0;
	case OPT_WORKER:
		o->worker = true;
		break;
	case OPT_CTL_FD:
		rc = xb_main_number(arg, 0, 65535, "--ctl-fd", &v);
		o->a->ctl_fd = v;
		break;
	case OPT_STALE:
		rc = xb_main_number(arg, 0, 65535, "--stale-server", &v);
		o->a->stale_server = v;
		break;
	case OPT_GUEST:
		o->a->guest = arg;
		break;
	default:
		return xb_main_user_option(o, opt, arg);
	}
	return rc;
}

/* Static mode and the worker: one guest's devices. */
static int xb_main_domain(struct xb_main_opts *o)
{
	if (!o->a->nr_devs && !o->worker) {
		fprintf(stderr, "xvbd: --domain needs at least one --dev\n");
		return EX_USAGE;
	}
	if (xb_main_check_clashes(o->a))
		return EX_USAGE;
	if (o->worker && o->a->ctl_fd < 0) {
		fprintf(stderr, "xvbd: --worker needs --ctl-fd\n");
		return EX_USAGE;
	}
	return xb_worker_run(o->a);
}

/* What the parsed command line runs. */
static int xb_main_run(struct xb_main_opts *o)
{
	if (o->check) {
		if (o->have_domain || o->a->nr_devs || o->worker) {
			fprintf(stderr,
				"xvbd: --check-config takes no devices\n");
			return EX_USAGE;
		}
		return xb_main_check_config(o->config);
	}
	log_setup("xvbd", o->level);
	if (o->use_syslog) {
		setenv("XVBD_SYSLOG", "1", 1);
		log_use_syslog(true);
	}
	if (o->stop_all)
		return xb_stop_all(o->a->run_dir);
	if (o->have_domain)
		return xb_main_domain(o);
	if (o->a->nr_devs || o->worker) {
		fprintf(stderr, "xvbd: devices need --domain N\n");
		return EX_USAGE;
	}
	return xb_supervisor_run(o->config, o->a->run_dir, o->level);
}

int main(int argc, char **argv)
{
	static struct xb_worker_args a;
	struct xb_main_opts o = {
		.a = &a,
		/* The supervisor's workers inherit --syslog through the
		 * environment. */
		.use_syslog = getenv("XVBD_SYSLOG") != NULL,
		.level = LOG_INFO,
	};
	int opt, rc;

	a.ctl_fd = -1;
	a.stale_server = -1;
	/*
	 * A peer gone (a worker, xenstored) is an error to handle where it
	 * happens, never a signal that ends a daemon serving other guests.
	 * Kept across the workers' exec.
	 */
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt_long(argc, argv, "vhV", long_opts, NULL)) != -1) {
		rc = xb_main_option(&o, opt, optarg);
		if (rc != XB_MAIN_GO)
			return rc;
	}
	/* xvbd --check-config [FILE]: the file, --config's, or the default. */
	if (o.check && optind < argc)
		o.config = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "xvbd: unexpected argument '%s'\n",
			argv[optind]);
		return EX_USAGE;
	}
	return xb_main_run(&o);
}
