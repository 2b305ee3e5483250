// SPDX-License-Identifier: MIT
/*
 * Fuzz what xvbd takes as configuration: xvbd.conf (backend/conffile.c),
 * the device nodes in xenstore as the supervisor reads them
 * (backend/xsdev.c, over a fake xenstore), and the device specs both end
 * in (backend/devspec.c, and each type's parse_key). The line the
 * supervisor sends a worker must be one line, must parse as the worker
 * parses it, and must say what the nodes said.
 *
 * Input: flags u8, node mask u16, devid u16, then fields of u16 length
 * and bytes: xvbd.conf, the guest's name, one per node of NODES[] (those
 * in the mask), a device spec, then lines once fed to the supervisor's
 * worker-message parser (kept in the format; read and ignored since that
 * parser stays with the process management in supervisor.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../backend/conffile.h"
#include "../../backend/devspec.h"
#include "../../backend/xsdev.h"
#include "lib/compiler.h"
#include "lib/log.h"

#include "fuzz_common.h"

#define FC_DOMID 3
#define FC_DISK "/tmp/xvb-fuzz-disk.img" /* params naming a real file */
#define FC_MAX_FIELD 4096

enum {
	FC_GENERIC = 1 << 0, /* backend/virtio (a NIC), not virtio_disk */
	FC_NAME = 1 << 1,    /* /local/domain/3/name exists */
};

static const char *const NODES[] = {
	"base",	       "irq", "params",	     "mode",
	"grant_usage", "dev", "device-type", "type",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a fake xenstore: the nodes of one device, and the guest's name ---- */

struct fc_node {
	char path[200];
	char *val;
	unsigned int len;
};

static struct {
	struct fc_node n[ARRAY_SIZE(NODES) + 1];
	unsigned int nr;
} xs;

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
	      unsigned int *len)
{
	for (unsigned int i = 0; i < xs.nr; i++) {
		char *v;

		if (strcmp(xs.n[i].path, path))
			continue;
		v = malloc(xs.n[i].len + 1);
		FZ_CHECK(v);
		memcpy(v, xs.n[i].val, xs.n[i].len);
		v[xs.n[i].len] = '\0';
		*len = xs.n[i].len;
		return v;
	}
	errno = ENOENT;
	return NULL;
}

/* ---- input ---- */

/* The next field, NUL-terminated in @buf (embedded NULs kept, *len). */
static const char *field(struct fz_in *in, char *buf, unsigned int *len)
{
	unsigned int n = fz_u16(in) % FC_MAX_FIELD;

	if (n > in->left)
		n = in->left;
	fz_take(in, buf, n);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void set_node(const char *dir, const char *name, const char *val,
		     unsigned int len)
{
	struct fc_node *n = &xs.n[xs.nr++];

	snprintf(n->path, sizeof(n->path), "%s/%s", dir, name);
	n->val = malloc(len + 1);
	FZ_CHECK(n->val);
	memcpy(n->val, val, len);
	n->val[len] = '\0';
	n->len = len;
}

static void free_nodes(void)
{
	for (unsigned int i = 0; i < xs.nr; i++)
		free(xs.n[i].val);
	xs.nr = 0;
}

static const struct fc_node *find_node(const char *name)
{
	for (unsigned int i = 0; i < xs.nr; i++) {
		const char *slash = strrchr(xs.n[i].path, '/');

		if (!strcmp(slash + 1, name))
			return &xs.n[i];
	}
	return NULL;
}

static const char *node(const char *name)
{
	const struct fc_node *n = find_node(name);

	return n ? n->val : NULL;
}

/* True if node @name holds exactly @val (no NUL or bytes after it). */
static bool node_is(const char *name, const char *val)
{
	const struct fc_node *n = find_node(name);

	return n && n->len == strlen(val) && !memcmp(n->val, val, n->len);
}

/* ---- xvbd.conf ---- */

static int conf_fd = -1;

/*
 * Loads @text. What loads, a device then finds (for a few guests, device
 * ids and every key its type takes) and sets as a spec key without error:
 * the loader checked every value with the type's own parser.
 */
static void load_conf(struct xb_config *cfg, const char *text, unsigned int len)
{
	static const char *const names[] = { "g", "nic", "domain3", "" };
	static struct xb_devconf c;
	char path[64], err[200];

	if (conf_fd < 0)
		conf_fd = memfd_create("xvbd.conf", MFD_CLOEXEC);
	FZ_CHECK(conf_fd >= 0);
	FZ_CHECK(!ftruncate(conf_fd, 0));
	FZ_CHECK(pwrite(conf_fd, text, len, 0) == (ssize_t)len);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", conf_fd);
	err[0] = '\0';
	if (xb_config_load(cfg, path, false, err, sizeof(err))) {
		FZ_CHECK(!cfg->n && !cfg->e && err[0]);
		return;
	}
	for (unsigned int t = 0; xvb_devtypes[t]; t++) {
		const struct xvb_devtype *ty = xvb_devtypes[t];
		const char *const *lists[] = { xb_tunable_keys, ty->keys };

		for (unsigned int i = 0; i < ARRAY_SIZE(names); i++)
			for (unsigned int id = 0; id < 3; id++)
				for (unsigned int l = 0; l < 2; l++)
					for (const char *const *k = lists[l];
					     *k; k++) {
						const char *v = xb_config_dev(
							cfg, ty, names[i], id,
							*k);

						if (!v || !strcmp(v, "auto"))
							continue;
						xb_devconf_init(&c, ty);
						FZ_CHECK(!xb_devconf_set(
							&c, *k, v, err,
							sizeof(err)));
					}
	}
}

/* ---- the line for the worker ---- */

/* One line: its only newline ends it (a path may hold any other byte). */
static void check_line(const char *msg)
{
	size_t n = strlen(msg);

	FZ_CHECK(n >= 2 && msg[n - 1] == '\n');
	FZ_CHECK(strchr(msg, '\n') == msg + n - 1);
}

/* The value of @key in the spec @spec (up to a comma), or NULL. */
static const char *spec_val(const char *spec, const char *key, char *buf,
			    size_t len)
{
	size_t n = strlen(key);

	for (const char *p = spec; p && *p;
	     p = strchr(p, ','), p = p ? p + 1 : p)
		if (!strncmp(p, key, n) && p[n] == '=') {
			snprintf(buf, len, "%.*s", (int)strcspn(p + n + 1, ","),
				 p + n + 1);
			return buf;
		}
	return NULL;
}

/* The spec of an "add" line parses back into what the nodes said. */
static void check_roundtrip(const struct xb_xsdev *x)
{
	static struct xb_devconf c;
	char spec[sizeof(x->msg)], name[32], err[200], *sp, v[64];
	uint64_t base, irq;
	int off = 0;

	FZ_CHECK(sscanf(x->msg, "add %31s %n", name, &off) == 1 && off);
	FZ_CHECK(xvb_devtype_by_name(name) == x->type);
	FZ_CHECK(strtoul(x->msg + off, &sp, 10) == x->devid && *sp == ' ');
	snprintf(spec, sizeof(spec), "%s", sp + 1);
	spec[strlen(spec) - 1] = '\0'; /* the newline */
	/* The supervisor parsed it before sending: so does the worker. */
	FZ_CHECK(!xb_parse_devspec(spec, x->type, &c, err, sizeof(err)));
	FZ_CHECK(!xb_parse_u64(node("base"), 0, UINT64_MAX, &base));
	FZ_CHECK(!xb_parse_u64(node("irq"), 0, 1023, &irq));
	FZ_CHECK(c.base == base && c.irq == irq);
	/* A NIC's MAC is always named: the supervisor checks it is free. */
	if (x->type->unique_key)
		FZ_CHECK(spec_val(spec, x->type->unique_key, v, sizeof(v)));
	if (!xb_type_has_key(x->type, "path") || x->generic ||
	    !spec_val(spec, "mode", v, sizeof(v)))
		return;
	/* A plain disk: path= takes the rest, exactly params, commas and
	 * all; read-only as the nodes say. */
	FZ_CHECK(strlen(spec) > strlen(node("params")));
	FZ_CHECK(!strcmp(spec + strlen(spec) - strlen(node("params")),
			 node("params")));
	FZ_CHECK(!strcmp(v, "r") ==
		 (node_is("mode", "r") || node_is("device-type", "cdrom")));
}

static void read_device(const struct xb_config *cfg, unsigned int flags,
			unsigned int devid, const char *be)
{
	static struct xb_xsdev x;
	int rc;

	memset(&x, 0, sizeof(x));
	x.cfg = cfg;
	x.domid = FC_DOMID;
	x.devid = devid;
	x.be = be;
	x.generic = flags & FC_GENERIC;
	rc = xb_xsdev_read(&x);
	if (rc) {
		FZ_CHECK(rc == -EINVAL && x.why[0]);
		return;
	}
	check_line(x.msg);
	check_roundtrip(&x);
}

static void remove_disk(void)
{
	unlink(FC_DISK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xb_config cfg;
	static char buf[FC_MAX_FIELD + 1], dir[160];
	static struct xb_devconf c;
	static bool once;
	struct fz_in in = { data, size };
	unsigned int flags, mask, devid, len;
	char err[200];

	fz_quiet();
	if (!once) {
		int fd = open(FC_DISK, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
		atexit(remove_disk);
		once = true;
	}
	memset(&xs, 0, sizeof(xs));
	flags = fz_u8(&in);
	mask = fz_u16(&in);
	devid = fz_u16(&in);

	field(&in, buf, &len);
	load_conf(&cfg, buf, len);
	field(&in, buf, &len);
	if (flags & FC_NAME)
		set_node("/local/domain/3", "name", buf, len);
	snprintf(dir, sizeof(dir), "/local/domain/0/backend/%s/%u/%u",
		 flags & FC_GENERIC ? "virtio" : "virtio_disk", FC_DOMID,
		 devid);
	for (unsigned int i = 0; i < ARRAY_SIZE(NODES); i++) {
		if (!(mask & (1u << i)))
			continue;
		field(&in, buf, &len);
		set_node(dir, NODES[i], buf, len);
	}
	read_device(&cfg, flags, devid, dir);

	/* A spec as static mode takes it from the command line. */
	field(&in, buf, NULL);
	for (unsigned int t = 0; xvb_devtypes[t]; t++) {
		err[0] = '\0';
		if (xb_parse_devspec(buf, xvb_devtypes[t], &c, err,
				     sizeof(err)))
			FZ_CHECK(err[0]);
		else
			FZ_CHECK(!xb_check_devconf(&c, err, sizeof(err)));
	}

	free_nodes();
	xb_config_free(&cfg);
	return 0;
}
