// SPDX-License-Identifier: MIT
/*
 * libxenstore on the simulator. Watch events queue in the simulator; the
 * handle's fileno is an eventfd that is readable while any are queued.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include "client.h"

struct xs_handle {
	struct xsc c;
	int efd;
	bool readonly;
};

/* Like the real library: restricting makes the handle's fd /dev/null. */
static int restrict_cb(struct xtc_handle *ah, domid_t domid)
{
	return xentoolcore__restrict_by_dup2_null(xsc_of(ah)->fd);
}

struct xs_handle *xs_open(unsigned long flags)
{
	struct xsim_msg req = { .op = XSIM_OP_XS_OPEN }, rsp;
	struct xs_handle *h = calloc(1, sizeof(*h));
	unsigned int nfds = 0;
	int saved;

	if (!h)
		return NULL;
	h->efd = -1;
	h->readonly = flags & XS_OPEN_READONLY;
	if (xsc_open(&h->c, XSIM_KIND_XS, restrict_cb))
		goto err;
	if (xsc_call(&h->c, &req, NULL, 0, &rsp, NULL, 0, NULL, &h->efd, &nfds))
		goto err;
	if (nfds != 1) {
		errno = EPROTO;
		goto err;
	}
	return h;

err:
	saved = errno;
	xs_close(h);
	errno = saved;
	return NULL;
}

void xs_close(struct xs_handle *h)
{
	if (!h)
		return;
	if (h->efd >= 0)
		close(h->efd);
	xsc_close(&h->c); /* the simulator drops our watches and transactions */
	free(h);
}

struct xs_handle *xs_daemon_open(void)
{
	return xs_open(0);
}

struct xs_handle *xs_domain_open(void)
{
	return xs_open(0);
}

struct xs_handle *xs_daemon_open_readonly(void)
{
	return xs_open(XS_OPEN_READONLY);
}

void xs_daemon_close(struct xs_handle *h)
{
	xs_close(h);
}

/* After fork: drop the handle without talking to the simulator. */
void xs_daemon_destroy_postfork(struct xs_handle *h)
{
	if (!h)
		return;
	xentoolcore__deregister_active_handle(&h->c.tc);
	close(h->efd);
	close(h->c.fd);
	free(h);
}

/* One request with a payload; the reply payload lands in a malloc'd buffer. */
static int call(struct xs_handle *h, uint32_t op, uint32_t domid, uint32_t t,
		uint64_t a1, const void *pl, size_t plen, char **out,
		size_t *olen, uint64_t *a0)
{
	struct xsim_msg req = { .op = op, .domid = domid, .arg = { t, a1 } },
			rsp;
	char *buf = out ? malloc(XSIM_PAYLOAD_MAX + 1) : NULL;
	size_t len = 0;
	int saved;

	if (out && !buf)
		return -1;
	if (xsc_call(&h->c, &req, pl, plen, &rsp, buf, XSIM_PAYLOAD_MAX, &len,
		     NULL, NULL)) {
		saved = errno;
		free(buf);
		errno = saved;
		return -1;
	}
	if (buf)
		buf[len] = '\0';
	if (out)
		*out = buf;
	if (olen)
		*olen = len;
	if (a0)
		*a0 = rsp.arg[0];
	return 0;
}

/* An op whose payload is one path. */
static bool path_call(struct xs_handle *h, uint32_t op, xs_transaction_t t,
		      const char *path, char **out, size_t *olen, uint64_t *a0)
{
	return !call(h, op, 0, t, 0, path, strlen(path) + 1, out, olen, a0);
}

/* A handle opened read-only may not change anything. */
static bool ro_refused(struct xs_handle *h)
{
	if (h->readonly)
		errno = EACCES;
	return h->readonly;
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
	      unsigned int *len)
{
	size_t n;
	char *v;

	if (!path_call(h, XSIM_OP_XS_READ, t, path, &v, &n, NULL))
		return NULL;
	if (len)
		*len = n;
	return v;
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path,
	      const void *data, unsigned int len)
{
	size_t plen = strlen(path) + 1;
	char *pl;
	int rc;

	if (ro_refused(h))
		return false;
	if (plen + len > XSIM_PAYLOAD_MAX) {
		errno = E2BIG;
		return false;
	}
	pl = malloc(plen + len);
	if (!pl)
		return false;
	memcpy(pl, path, plen);
	memcpy(pl + plen, data, len);
	rc = call(h, XSIM_OP_XS_WRITE, 0, t, plen, pl, plen + len, NULL, NULL,
		  NULL);
	free(pl);
	return !rc;
}

bool xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	return !ro_refused(h) &&
	       path_call(h, XSIM_OP_XS_MKDIR, t, path, NULL, NULL, NULL);
}

bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	return !ro_refused(h) &&
	       path_call(h, XSIM_OP_XS_RM, t, path, NULL, NULL, NULL);
}

/* n strings packed after their n pointers, in one block the caller frees. */
static char **string_vector(const char *s, size_t len, unsigned int n)
{
	char **v = malloc(n * sizeof(char *) + len + 1);
	char *p;

	if (!v)
		return NULL;
	p = (char *)(v + n);
	memcpy(p, s, len);
	p[len] = '\0';
	for (unsigned int i = 0; i < n; i++) {
		v[i] = p;
		p += strlen(p) + 1;
	}
	return v;
}

char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path,
		    unsigned int *num)
{
	uint64_t n;
	size_t len;
	char *names, **v;

	if (!path_call(h, XSIM_OP_XS_DIRECTORY, t, path, &names, &len, &n))
		return NULL;
	v = string_vector(names, len, n);
	free(names);
	if (v)
		*num = n;
	return v;
}

struct xs_permissions *xs_get_permissions(struct xs_handle *h,
					  xs_transaction_t t, const char *path,
					  unsigned int *num)
{
	struct xs_permissions *perms;
	struct xsim_perm *wire;
	size_t len, n;

	if (!path_call(h, XSIM_OP_XS_GET_PERMS, t, path, (char **)&wire, &len,
		       NULL))
		return NULL;
	n = len / sizeof(*wire);
	perms = malloc((n ? n : 1) * sizeof(*perms));
	if (perms) {
		for (size_t i = 0; i < n; i++)
			perms[i] = (struct xs_permissions){ wire[i].id,
							    wire[i].perms };
		*num = n;
	}
	free(wire);
	return perms;
}

bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t,
			const char *path, struct xs_permissions *perms,
			unsigned int num_perms)
{
	size_t plen = strlen(path) + 1,
	       wlen = num_perms * sizeof(struct xsim_perm);
	char *pl;
	int rc;

	if (ro_refused(h))
		return false;
	if (!num_perms || num_perms > 64 || wlen + plen > XSIM_PAYLOAD_MAX) {
		errno = EINVAL;
		return false;
	}
	pl = malloc(wlen + plen);
	if (!pl)
		return false;
	for (unsigned int i = 0; i < num_perms; i++) {
		struct xsim_perm w = { perms[i].id, perms[i].perms };

		memcpy(pl + i * sizeof(w), &w, sizeof(w));
	}
	memcpy(pl + wlen, path, plen);
	rc = call(h, XSIM_OP_XS_SET_PERMS, 0, t, num_perms, pl, wlen + plen,
		  NULL, NULL, NULL);
	free(pl);
	return !rc;
}

/* XS_WATCH / XS_UNWATCH: path NUL token NUL. */
static bool watch_op(struct xs_handle *h, uint32_t op, const char *path,
		     const char *token)
{
	size_t pl = strlen(path) + 1, tl = strlen(token) + 1;
	char *buf = malloc(pl + tl);
	int rc;

	if (!buf)
		return false;
	memcpy(buf, path, pl);
	memcpy(buf + pl, token, tl);
	rc = call(h, op, 0, 0, 0, buf, pl + tl, NULL, NULL, NULL);
	free(buf);
	return !rc;
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	return watch_op(h, XSIM_OP_XS_WATCH, path, token);
}

bool xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
	return watch_op(h, XSIM_OP_XS_UNWATCH, path, token);
}

int xs_fileno(struct xs_handle *h)
{
	return h->efd;
}

char **xs_check_watch(struct xs_handle *h)
{
	size_t len;
	char *ev, **v;

	if (call(h, XSIM_OP_XS_READ_WATCH, 0, 0, 0, NULL, 0, &ev, &len, NULL))
		return NULL; /* EAGAIN when none is queued */
	v = string_vector(ev, len, 2);
	free(ev);
	return v;
}

char **xs_read_watch(struct xs_handle *h, unsigned int *num)
{
	struct pollfd p = { .fd = h->efd, .events = POLLIN };

	for (;;) {
		char **v = xs_check_watch(h);

		if (v) {
			*num = 2;
			return v;
		}
		if (errno != EAGAIN)
			return NULL;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return NULL;
	}
}

/* XBT_NULL (0) on failure, as the real library. */
xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
	uint64_t t;

	if (call(h, XSIM_OP_XS_TXN_START, 0, 0, 0, NULL, 0, NULL, NULL, &t))
		return XBT_NULL;
	return t;
}

bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort)
{
	return !call(h, XSIM_OP_XS_TXN_END, 0, t, abort, NULL, 0, NULL, NULL,
		     NULL);
}

/* Like xenstored's answer; the domain need not exist. */
char *xs_get_domain_path(struct xs_handle *h, unsigned int domid)
{
	char *p;

	if (asprintf(&p, "/local/domain/%u", domid) < 0)
		return NULL;
	return p;
}

bool xs_is_domain_introduced(struct xs_handle *h, unsigned int domid)
{
	uint64_t yes;

	if (call(h, XSIM_OP_XS_INTRODUCED, domid, 0, 0, NULL, 0, NULL, NULL,
		 &yes))
		return false;
	return yes;
}

bool xs_path_is_subpath(const char *parent, const char *child)
{
	size_t n = strlen(parent);

	if (strncmp(child, parent, n))
		return false;
	return !child[n] || child[n] == '/';
}

/* "r1", "w0", "b3", "n5": one NUL-terminated string per permission. */
bool xs_strings_to_perms(struct xs_permissions *perms, unsigned int num,
			 const char *strings)
{
	const char *s = strings;

	for (unsigned int i = 0; i < num; i++, s += strlen(s) + 1) {
		char *end;

		switch (*s) {
		case 'r':
			perms[i].perms = XS_PERM_READ;
			break;
		case 'w':
			perms[i].perms = XS_PERM_WRITE;
			break;
		case 'b':
			perms[i].perms = XS_PERM_READ | XS_PERM_WRITE;
			break;
		case 'n':
			perms[i].perms = XS_PERM_NONE;
			break;
		default:
			errno = EINVAL;
			return false;
		}
		errno = 0;
		perms[i].id = strtoul(s + 1, &end, 0);
		if (errno || end == s + 1 || *end) {
			errno = EINVAL;
			return false;
		}
	}
	return true;
}

const char *xs_daemon_rundir(void)
{
	const char *s = getenv("XENSTORED_RUNDIR");

	return s ? s : "/var/run/xenstored";
}

const char *xs_daemon_socket(void)
{
	const char *s = getenv(XSIM_ENV_SOCKET);

	return s ? s : "/var/run/xenstored/socket";
}

const char *xs_daemon_socket_ro(void)
{
	return xs_daemon_socket();
}

bool xs_write_all(int fd, const void *data, unsigned int len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/* ---- toolstack-only calls: not modelled ---------------------------------- */

static bool nosys(void)
{
	errno = ENOSYS;
	return false;
}

bool xs_restrict(struct xs_handle *h, unsigned int domid)
{
	return nosys();
}

bool xs_introduce_domain(struct xs_handle *h, unsigned int domid,
			 unsigned long mfn, unsigned int eventchn)
{
	return nosys();
}

bool xs_set_target(struct xs_handle *h, unsigned int domid, unsigned int target)
{
	return nosys();
}

bool xs_resume_domain(struct xs_handle *h, unsigned int domid)
{
	return nosys();
}

bool xs_release_domain(struct xs_handle *h, unsigned int domid)
{
	return nosys();
}

char *xs_control_command(struct xs_handle *h, const char *cmd, void *data,
			 unsigned int len)
{
	nosys();
	return NULL;
}

char *xs_debug_command(struct xs_handle *h, const char *cmd, void *data,
		       unsigned int len)
{
	nosys();
	return NULL;
}

int xs_suspend_evtchn_port(int domid)
{
	errno = ENOSYS;
	return -1;
}
