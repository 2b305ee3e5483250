// SPDX-License-Identifier: MIT
/*
 * Fuzz what xvbd takes as configuration: xvbd.conf (backend/config.c), the
 * device nodes in xenstore as the supervisor reads them (read_disk,
 * read_generic and net_msg of backend/supervisor.c, included here so its
 * static functions can be called over a fake xenstore), the worker's
 * answers on the control socket, and the device specs both end in
 * (backend/conf.c). The line the supervisor sends a worker must be one
 * line, and must say what the nodes said.
 *
 * Input: flags u8, node mask u16, devid u16, then fields of u16 length
 * and bytes: xvbd.conf, the guest's name, one per node of NODES[] (those
 * in the mask), a device spec, then worker lines.
 */
#include "../../backend/supervisor.c"

#include <sys/mman.h>

#include "fuzz_common.h"

#define FC_DOMID 3
#define FC_DISK "/tmp/xvb-fuzz-disk.img" /* params naming a real file */
#define FC_MAX_FIELD 4096
#define FC_MAX_LINES 32

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
	unsigned int writes;
	int last_state;
} xs;

struct xs_handle *xs_open(unsigned long flags)
{
	return NULL;
}

void xs_close(struct xs_handle *h)
{
}

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

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path,
	      const void *data, unsigned int len)
{
	/* The supervisor writes backend states, and only 2 or 6. */
	FZ_CHECK(len == 1 && (!memcmp(data, "2", 1) || !memcmp(data, "6", 1)));
	FZ_CHECK(strstr(path, "/state"));
	xs.writes++;
	xs.last_state = *(const char *)data - '0';
	return true;
}

char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path,
		    unsigned int *num)
{
	*num = 0;
	return NULL;
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	return false;
}

int xs_fileno(struct xs_handle *h)
{
	return -1;
}

char **xs_check_watch(struct xs_handle *h)
{
	return NULL;
}

bool xs_is_domain_introduced(struct xs_handle *h, unsigned int domid)
{
	return true;
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

static void load_conf(struct sup *s, const char *text, unsigned int len)
{
	char path[64], err[200], bridge[IFNAMSIZ];
	static const char *const names[] = { "g", "nic", "domain3", "" };
	uint8_t mac[6];

	if (conf_fd < 0)
		conf_fd = memfd_create("xvbd.conf", MFD_CLOEXEC);
	FZ_CHECK(conf_fd >= 0);
	FZ_CHECK(!ftruncate(conf_fd, 0));
	FZ_CHECK(pwrite(conf_fd, text, len, 0) == (ssize_t)len);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", conf_fd);
	err[0] = '\0';
	if (xb_config_load(&s->cfg, path, false, err, sizeof(err))) {
		FZ_CHECK(!s->cfg.n && !s->cfg.e && err[0]);
		return;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
		for (unsigned int nic = 0; nic < 3; nic++) {
			if (xb_config_nic(&s->cfg, names[i], nic, bridge, mac,
					  err, sizeof(err)))
				continue;
			/* A bridge name a TAP can be attached to, a unicast
			 * MAC. */
			FZ_CHECK(strlen(bridge) < IFNAMSIZ);
			FZ_CHECK(!strpbrk(bridge, ",/ \t\n"));
			FZ_CHECK(!(mac[0] & 1));
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

/*
 * Whether the last ifname= among a NIC slot target's options is @name: as
 * the supervisor reads them, after "xvb-net:" at the start of the file name
 * (the part after the last '/').
 */
static bool slot_ifname_is(const char *params, const char *name)
{
	const char *base = params ? strrchr(params, '/') : NULL;
	const char *p, *last = NULL;

	base = base ? base + 1 : params;
	p = base && !strncmp(base, "xvb-net:", 8) ? base : NULL;

	for (p = p ? p + 8 : NULL; p && *p;
	     p = strchr(p, ','), p = p ? p + 1 : p)
		if (!strncmp(p, "ifname=", 7))
			last = p + 7;
	return last && strlen(name) == strcspn(last, ",") &&
	       !strncmp(last, name, strlen(name));
}

/* The spec of an "add" line parses back into what the nodes said. */
static void check_roundtrip(const struct sup_dev *d, bool net)
{
	const char *kind = net ? "add net " : "add blk ";
	char spec[sizeof(d->msg)], err[200], *sp;
	struct xb_devconf c;
	uint64_t base, irq;

	FZ_CHECK(!strncmp(d->msg, kind, 8));
	FZ_CHECK(strtoul(d->msg + 8, &sp, 10) == d->devid && *sp == ' ');
	snprintf(spec, sizeof(spec), "%s", sp + 1);
	spec[strlen(spec) - 1] = '\0'; /* the newline */
	if (xb_parse_devspec(spec, net ? XB_DEV_NET : XB_DEV_BLK, &c, err,
			     sizeof(err)))
		return; /* the worker refuses it, and says why */
	FZ_CHECK(!xb_parse_u64(node("base"), 0, UINT64_MAX, &base));
	FZ_CHECK(!xb_parse_u64(node("irq"), 0, 1023, &irq));
	FZ_CHECK(c.base == base && c.irq == irq);
	if (net) {
		char ifname[IFNAMSIZ];

		snprintf(ifname, sizeof(ifname), "vxb%u.%u", FC_DOMID,
			 d->devid);
		/* A disk slot's target may name the TAP (the last ifname=). */
		FZ_CHECK(!strcmp(c.ifname, ifname) ||
			 slot_ifname_is(node("params"), c.ifname));
		FZ_CHECK(c.has_mac);
		FZ_CHECK(!(c.mac[0] & 1));
		return;
	}
	/* path= takes the rest: exactly params, commas and all. */
	FZ_CHECK(!strcmp(c.path, node("params")));
	FZ_CHECK(c.readonly ==
		 (node_is("mode", "r") || node_is("device-type", "cdrom")));
}

static void read_device(struct sup *s, unsigned int flags, unsigned int devid)
{
	struct sup_dev d = { .devid = devid };
	bool generic = flags & FC_GENERIC;
	int rc;

	d.kind = kinds[generic];
	snprintf(d.be, sizeof(d.be), "%s/%s/%u/%u", s->root, d.kind, FC_DOMID,
		 devid);
	rc = generic ? read_generic(s, &d, FC_DOMID) :
		       read_disk(s, &d, FC_DOMID);
	if (rc) {
		FZ_CHECK(rc == -EINVAL);
		return;
	}
	check_line(d.msg);
	check_roundtrip(&d, generic || strncmp(d.msg, "add blk ", 8));
}

/* ---- the worker's answers ---- */

static void worker_lines(struct sup *s, struct fz_in *in, char *buf)
{
	struct sup_dev devs[3];
	struct sup_dom dom = { .sup = s, .domid = FC_DOMID, .server = -1 };

	for (unsigned int i = 0; i < 3; i++) {
		devs[i] = (struct sup_dev){ .dom = &dom, .devid = 51712 + i };
		devs[i].st = i == 2 ? SD_DONE : SD_ADDING;
		snprintf(devs[i].be, sizeof(devs[i].be), "be/%u/state", i);
		devs[i].next = i < 2 ? &devs[i + 1] : NULL;
	}
	dom.devs = &devs[0];
	for (unsigned int i = 0; i < FC_MAX_LINES && in->left; i++) {
		enum sup_state before[3];
		unsigned int writes = xs.writes;

		for (unsigned int k = 0; k < 3; k++)
			before[k] = devs[k].st;
		field(in, buf, NULL);
		on_worker_line(&dom, buf);
		for (unsigned int k = 0; k < 3; k++) {
			/* Done stays done; ready comes only from adding. */
			if (before[k] == SD_DONE)
				FZ_CHECK(devs[k].st == SD_DONE);
			if (devs[k].st == SD_READY && before[k] != SD_READY)
				FZ_CHECK(before[k] == SD_ADDING &&
					 xs.last_state == 2);
		}
		FZ_CHECK(xs.writes - writes <= 1);
	}
}

static void remove_disk(void)
{
	unlink(FC_DISK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sup s;
	static char buf[FC_MAX_FIELD + 1], dir[160];
	static bool once;
	struct fz_in in = { data, size };
	unsigned int flags, mask, devid, len;
	struct xb_devconf c;
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
	s.self = 0;
	snprintf(s.root, sizeof(s.root), "/local/domain/0/backend");
	log_ctx_init(&s.log, -1, NULL);
	flags = fz_u8(&in);
	mask = fz_u16(&in);
	devid = fz_u16(&in);

	field(&in, buf, &len);
	load_conf(&s, buf, len);
	field(&in, buf, &len);
	if (flags & FC_NAME)
		set_node("/local/domain/3", "name", buf, len);
	snprintf(dir, sizeof(dir), "%s/%s/%u/%u", s.root,
		 kinds[flags & FC_GENERIC], FC_DOMID, devid);
	for (unsigned int i = 0; i < ARRAY_SIZE(NODES); i++) {
		if (!(mask & (1u << i)))
			continue;
		field(&in, buf, &len);
		set_node(dir, NODES[i], buf, len);
	}
	read_device(&s, flags, devid);

	/* A spec as static mode takes it from the command line. */
	field(&in, buf, NULL);
	for (int t = XB_DEV_BLK; t <= XB_DEV_NET; t++) {
		err[0] = '\0';
		if (xb_parse_devspec(buf, t, &c, err, sizeof(err)))
			FZ_CHECK(err[0]);
		else
			FZ_CHECK(!xb_check_devconf(&c, err, sizeof(err)));
	}
	worker_lines(&s, &in, buf);

	free_nodes();
	xb_config_free(&s.cfg);
	return 0;
}
