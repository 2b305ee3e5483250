// SPDX-License-Identifier: MIT
/*
 * An in-memory xenstored: a tree of nodes with values and permissions,
 * watches (fired on registration, then for every change at or below the
 * path, plus @introduceDomain/@releaseDomain), and transactions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore_lib.h>

#include "core.h"

#define XS_PATH_MAX 3072  /* XENSTORE_ABS_PATH_MAX */
#define XS_VALUE_MAX 4096 /* XENSTORE_PAYLOAD_MAX */
#define PERM_RW (XS_PERM_READ | XS_PERM_WRITE)
#define PERM_ALL (PERM_RW | XS_PERM_OWNER)
/* The characters xenstored allows in a node name. */
#define XS_PATH_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_@"

struct xs_node {
	char *name;
	struct xs_node *parent, *children, *next;
	char *value;
	unsigned int len;
	struct xsim_perm *perms;
	unsigned int nperms;
	uint64_t gen; /* last change of value, perms or children */
};

struct xs_watch {
	struct xs_watch *next;
	char *path; /* absolute, or "@..." */
	char *token;
	unsigned int rel; /* prefix to strip from events (relative watch) */
};

struct xs_event {
	struct xs_event *next;
	char *path;
	char *token;
};

/* A change waiting to fire watches once the operation is complete. */
struct xs_pend {
	struct xs_pend *next;
	char *path;
	bool exact;
	struct xsim_perm *perms;
	unsigned int nperms;
};

enum { OP_WRITE, OP_MKDIR, OP_RM, OP_PERMS };

struct xs_op {
	struct xs_op *next;
	int type;
	char *path;
	char *val;
	unsigned int len;
	struct xsim_perm *perms;
	unsigned int n;
};

struct xs_acc {
	struct xs_acc *next;
	char *path;
};

struct xs_txn {
	struct xs_txn *next;
	uint32_t id;
	struct xs_node *root;
	uint64_t start_gen;
	struct xs_op *ops, **ops_tail;
	struct xs_acc *acc;
};

/* Where a mutation happens: the main tree (events kept) or a transaction. */
struct xs_ctx {
	struct xsim *sim;
	struct xs_node *root;
	uint16_t dom;
	struct xs_pend **pend; /* NULL inside a transaction */
};

/* ---- nodes --------------------------------------------------------------- */

/* Frees n, its siblings after it and all their children. */
static void node_free(struct xs_node *n)
{
	while (n) {
		struct xs_node *next = n->next;

		node_free(n->children);
		free(n->name);
		free(n->value);
		free(n->perms);
		free(n);
		n = next;
	}
}

/* A detached node with an empty value and a copy of perms. */
static struct xs_node *node_alloc(const char *name, size_t nlen,
				  const struct xsim_perm *perms,
				  unsigned int nperms)
{
	struct xs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strndup(name, nlen);
	n->value = calloc(1, 1);
	n->perms = malloc(nperms * sizeof(*perms));
	if (!n->name || !n->value || !n->perms) {
		node_free(n);
		return NULL;
	}
	memcpy(n->perms, perms, nperms * sizeof(*perms));
	n->nperms = nperms;
	return n;
}

static void child_append(struct xs_node *parent, struct xs_node *n)
{
	struct xs_node **pp = &parent->children;

	while (*pp)
		pp = &(*pp)->next;
	*pp = n;
	n->parent = parent;
}

/* A deep copy (siblings included when sib): a transaction's private tree. */
static struct xs_node *tree_copy(const struct xs_node *n,
				 struct xs_node *parent)
{
	struct xs_node *c, *prev = NULL, *first = NULL;

	for (; n; n = n->next) {
		c = node_alloc(n->name, strlen(n->name), n->perms, n->nperms);
		if (!c)
			goto err;
		free(c->value);
		c->value = malloc(n->len + 1);
		if (!c->value) {
			node_free(c);
			goto err;
		}
		memcpy(c->value, n->value, n->len + 1);
		c->len = n->len;
		c->gen = n->gen;
		c->parent = parent;
		if (prev)
			prev->next = c;
		else
			first = c;
		prev = c;
		if (n->children) {
			c->children = tree_copy(n->children, c);
			if (!c->children)
				goto err;
		}
	}
	return first;
err:
	node_free(first);
	return NULL;
}

/* Deepest existing node on path; *rest gets the part below it ("" if all). */
static struct xs_node *walk(struct xs_node *root, const char *path,
			    const char **rest)
{
	struct xs_node *n = root;
	const char *p = path + 1;

	while (*p) {
		const char *e = strchrnul(p, '/');
		struct xs_node *c;

		for (c = n->children; c; c = c->next)
			if (strlen(c->name) == (size_t)(e - p) &&
			    !memcmp(c->name, p, e - p))
				break;
		if (!c)
			break;
		n = c;
		p = *e ? e + 1 : e;
	}
	*rest = p;
	return n;
}

/* The node at path or NULL; *last (optional) is the deepest existing one. */
static struct xs_node *lookup(struct xs_node *root, const char *path,
			      struct xs_node **last)
{
	const char *rest;
	struct xs_node *n = walk(root, path, &rest);

	if (last)
		*last = n;
	return *rest ? NULL : n;
}

/* What dom may do to a node with these permissions (XS_PERM_* bits). */
static unsigned int perm_of(const struct xsim_perm *perms, unsigned int n,
			    uint16_t dom)
{
	/* dom0 and the owner may do anything */
	if (dom == 0 || perms[0].id == dom)
		return PERM_ALL;
	for (unsigned int i = 1; i < n; i++)
		if (perms[i].id == dom)
			return perms[i].perms & PERM_RW;
	return perms[0].perms & PERM_RW;
}

static unsigned int node_perm(const struct xs_node *n, uint16_t dom)
{
	return perm_of(n->perms, n->nperms, dom);
}

/* ---- paths --------------------------------------------------------------- */

/* xenstored's is_valid_nodename(): absolute, no empty component, few chars. */
static bool path_valid(const char *p)
{
	size_t len = strlen(p);

	if (p[0] != '/' || len > XS_PATH_MAX ||
	    (len > 1 && p[len - 1] == '/') || strstr(p, "//"))
		return false;
	return strspn(p, XS_PATH_CHARS) == len;
}

/* Relative paths live below /local/domain/<dom>; *rel gets the prefix length. */
static int canon(uint16_t dom, const char *in, char *out, unsigned int *rel)
{
	int n;

	if (rel)
		*rel = 0;
	if (in[0] == '/') {
		n = snprintf(out, XS_PATH_MAX + 1, "%s", in);
	} else {
		n = snprintf(out, XS_PATH_MAX + 1, "/local/domain/%u/%s", dom,
			     in);
		if (rel && n > 0)
			*rel = n - strlen(in);
	}
	if (n < 0 || n > XS_PATH_MAX || !path_valid(out))
		return -EINVAL;
	return 0;
}

/* child is parent or below it (xenstored's is_child). */
static bool is_child(const char *child, const char *parent)
{
	size_t n = strlen(parent);

	if (!strcmp(parent, "/"))
		return true;
	return !strncmp(child, parent, n) &&
	       (child[n] == '\0' || child[n] == '/');
}

/* ---- watches ------------------------------------------------------------- */

/* Queue one watch event for a connection; silently lost on ENOMEM. */
static void queue_event(struct xsim_conn *c, const char *path,
			const char *token)
{
	struct xs_event *ev = calloc(1, sizeof(*ev));
	uint64_t one = 1;

	if (!ev)
		return;
	ev->path = strdup(path);
	ev->token = strdup(token);
	if (!ev->path || !ev->token) {
		free(ev->path);
		free(ev->token);
		free(ev);
		return;
	}
	*c->evq_tail = ev;
	c->evq_tail = &ev->next;
	if (c->evq == ev) /* efd readable iff events queued */
		(void)!write(c->efd, &one, sizeof(one));
}

/* Every watch the change hits, for connections allowed to read the node. */
static void fire(struct xsim *sim, const struct xs_pend *p)
{
	for (struct xsim_conn *c = sim->conns; c; c = c->next) {
		for (struct xs_watch *w = c->watches; w; w = w->next) {
			bool hit = p->exact ? !strcmp(p->path, w->path) :
					      is_child(p->path, w->path);

			if (!hit || !(perm_of(p->perms, p->nperms, c->domid) &
				      XS_PERM_READ))
				continue;
			queue_event(c, p->path + w->rel, w->token);
		}
	}
}

void xst_fire_special(struct xsim *sim, const char *name)
{
	for (struct xsim_conn *c = sim->conns; c; c = c->next)
		for (struct xs_watch *w = c->watches; w; w = w->next)
			if (!strcmp(w->path, name))
				queue_event(c, name, w->token);
	pthread_cond_broadcast(&sim->cond);
}

/* Remember a change to fire later (nothing inside a transaction). */
static void pend_add(struct xs_ctx *x, const char *path, bool exact,
		     const struct xs_node *n)
{
	struct xs_pend *p;

	if (!x->pend)
		return;
	p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->path = strdup(path);
	p->perms = malloc(n->nperms * sizeof(*n->perms));
	if (!p->path || !p->perms) {
		free(p->path);
		free(p->perms);
		free(p);
		return;
	}
	memcpy(p->perms, n->perms, n->nperms * sizeof(*n->perms));
	p->nperms = n->nperms;
	p->exact = exact;
	while (*x->pend)
		x->pend = &(*x->pend)->next;
	*x->pend = p;
}

/* Fire what an operation changed; wake everyone waiting on the store. */
static void pend_flush(struct xsim *sim, struct xs_pend *p)
{
	while (p) {
		struct xs_pend *next = p->next;

		fire(sim, p);
		free(p->path);
		free(p->perms);
		free(p);
		p = next;
	}
	sim->xs_gen++;
	pthread_cond_broadcast(&sim->cond);
}

/* ---- operations on a tree ------------------------------------------------ */

/* write or mkdir on a tree: creates missing parents, fires on the leaf. */
static int t_write(struct xs_ctx *x, const char *path, const void *val,
		   unsigned int len, bool mkdir)
{
	const char *p;
	struct xs_node *n = walk(x->root, path, &p);
	char *v;

	if (len > XS_VALUE_MAX)
		return -E2BIG;
	if (!*p && mkdir)
		return 0;
	if (*p) {
		/* create the missing tail below the nearest existing ancestor */
		if (!(node_perm(n, x->dom) & XS_PERM_WRITE))
			return -EACCES;
		while (*p) {
			const char *e = strchrnul(p, '/');
			struct xs_node *c =
				node_alloc(p, e - p, n->perms, n->nperms);

			if (!c)
				return -ENOMEM;
			if (x->dom) /* an unprivileged creator owns the node */
				c->perms[0].id = x->dom;
			child_append(n, c);
			n->gen = c->gen = ++x->sim->xs_gen;
			n = c;
			p = *e ? e + 1 : e;
		}
	} else if (!(node_perm(n, x->dom) & XS_PERM_WRITE)) {
		return -EACCES;
	}
	if (!mkdir) {
		v = malloc(len + 1);
		if (!v)
			return -ENOMEM;
		memcpy(v, val, len);
		v[len] = '\0';
		free(n->value);
		n->value = v;
		n->len = len;
	}
	n->gen = ++x->sim->xs_gen;
	pend_add(x, path, false, n);
	return 0;
}

/* Exact events for every node below a removed one, with its own perms. */
static void rm_events(struct xs_ctx *x, const struct xs_node *n, char *path,
		      size_t len)
{
	for (const struct xs_node *c = n->children; c; c = c->next) {
		int k = snprintf(path + len, XS_PATH_MAX + 1 - len, "/%s",
				 c->name);

		if (k < 0 || len + k > XS_PATH_MAX)
			continue;
		pend_add(x, path, true, c);
		rm_events(x, c, path, len + k);
		path[len] = '\0';
	}
}

/* rm on a tree: the node and its subtree. */
static int t_rm(struct xs_ctx *x, const char *path)
{
	struct xs_node *n = lookup(x->root, path, NULL), **pp;
	char buf[XS_PATH_MAX + 1];

	if (!strcmp(path, "/"))
		return -EINVAL;
	if (!n) {
		/* gone already: fine if the parent exists (xenstored do_rm) */
		const char *slash = strrchr(path, '/');
		char parent[XS_PATH_MAX + 1];

		snprintf(parent, sizeof(parent), "%.*s",
			 slash == path ? 1 : (int)(slash - path), path);
		return lookup(x->root, parent, NULL) ? 0 : -ENOENT;
	}
	if (!(node_perm(n, x->dom) & XS_PERM_WRITE))
		return -EACCES;
	snprintf(buf, sizeof(buf), "%s", path);
	rm_events(x, n, buf, strlen(buf));
	pend_add(x, path, false, n);
	for (pp = &n->parent->children; *pp != n; pp = &(*pp)->next)
		;
	*pp = n->next;
	n->next = NULL;
	n->parent->gen = ++x->sim->xs_gen;
	node_free(n);
	return 0;
}

/* set_permissions on a tree: owner (or dom0) only. */
static int t_set_perms(struct xs_ctx *x, const char *path,
		       const struct xsim_perm *perms, unsigned int nperms)
{
	struct xs_node *n = lookup(x->root, path, NULL);
	struct xsim_perm *p;

	if (!nperms)
		return -EINVAL;
	for (unsigned int i = 0; i < nperms; i++)
		if (perms[i].perms & ~PERM_RW)
			return -EINVAL;
	if (!n)
		return -ENOENT;
	if (!(node_perm(n, x->dom) & XS_PERM_OWNER))
		return -EACCES;
	p = malloc(nperms * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memcpy(p, perms, nperms * sizeof(*p));
	free(n->perms);
	n->perms = p;
	n->nperms = nperms;
	n->gen = ++x->sim->xs_gen;
	pend_add(x, path, false, n);
	return 0;
}

/* ---- transactions -------------------------------------------------------- */

/* Frees a transaction and its private tree; accepts NULL. */
static void txn_free(struct xs_txn *t)
{
	if (!t)
		return;
	node_free(t->root);
	while (t->ops) {
		struct xs_op *o = t->ops;

		t->ops = o->next;
		free(o->path);
		free(o->val);
		free(o->perms);
		free(o);
	}
	while (t->acc) {
		struct xs_acc *a = t->acc;

		t->acc = a->next;
		free(a->path);
		free(a);
	}
	free(t);
}

static struct xs_txn *txn_get(struct xsim_conn *c, uint32_t id)
{
	for (struct xs_txn *t = c ? c->txns : NULL; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

/* Resolve the tree an operation runs on; note what a transaction touched. */
static int ctx_get(struct xsim *sim, struct xsim_conn *c, uint16_t dom,
		   uint32_t tid, const char *path, struct xs_ctx *x,
		   struct xs_pend **pend, struct xs_txn **tp)
{
	struct xs_txn *t;
	struct xs_acc *a;

	*x = (struct xs_ctx){
		.sim = sim, .root = sim->xs_root, .dom = dom, .pend = pend
	};
	*tp = NULL;
	if (!tid)
		return 0;
	t = txn_get(c, tid);
	if (!t)
		return -ENOENT;
	a = calloc(1, sizeof(*a));
	if (!a || !(a->path = strdup(path))) {
		free(a);
		return -ENOMEM;
	}
	a->next = t->acc;
	t->acc = a;
	x->root = t->root;
	x->pend = NULL;
	*tp = t;
	return 0;
}

/* Record a change for replay on commit. */
static int txn_log(struct xs_txn *t, int type, const char *path,
		   const void *val, unsigned int len,
		   const struct xsim_perm *perms, unsigned int n)
{
	struct xs_op *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->type = type;
	o->path = strdup(path);
	o->val = malloc(len + 1);
	o->perms = malloc((n ? n : 1) * sizeof(*perms));
	if (!o->path || !o->val || !o->perms) {
		free(o->path);
		free(o->val);
		free(o->perms);
		free(o);
		return -ENOMEM;
	}
	if (len)
		memcpy(o->val, val, len);
	o->len = len;
	if (n)
		memcpy(o->perms, perms, n * sizeof(*perms));
	o->n = n;
	*t->ops_tail = o;
	t->ops_tail = &o->next;
	return 0;
}

int xst_txn_start(struct xsim *sim, struct xsim_conn *c, uint32_t *id)
{
	struct xs_txn *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->root = tree_copy(sim->xs_root, NULL);
	if (!t->root) {
		free(t);
		return -ENOMEM;
	}
	t->start_gen = sim->xs_gen;
	t->ops_tail = &t->ops;
	if (!++c->next_txn)
		c->next_txn = 1;
	t->id = c->next_txn;
	t->next = c->txns;
	c->txns = t;
	sim->stats.transactions++;
	*id = t->id;
	return 0;
}

/* Did the main tree change at path (or, if absent, at its nearest ancestor)? */
static bool changed_since(struct xs_node *root, const char *path, uint64_t gen)
{
	struct xs_node *last, *n = lookup(root, path, &last);

	return (n ? n->gen : last->gen) > gen;
}

int xst_txn_end(struct xsim *sim, struct xsim_conn *c, uint32_t id, bool abort)
{
	struct xs_txn **pp, *t;
	struct xs_pend *pend = NULL;
	struct xs_ctx x = {
		.sim = sim, .root = sim->xs_root, .dom = c->domid, .pend = &pend
	};
	int rc = 0;

	for (pp = &c->txns; *pp && (*pp)->id != id; pp = &(*pp)->next)
		;
	t = *pp;
	if (!t)
		return -ENOENT;
	*pp = t->next;
	sim->stats.transactions--;
	if (abort)
		goto out;
	for (struct xs_acc *a = t->acc; a; a = a->next) {
		if (changed_since(sim->xs_root, a->path, t->start_gen)) {
			rc = -EAGAIN;
			goto out;
		}
	}
	for (struct xs_op *o = t->ops; o; o = o->next) {
		int r;

		x.pend = &pend;
		switch (o->type) {
		case OP_WRITE:
		case OP_MKDIR:
			r = t_write(&x, o->path, o->val, o->len,
				    o->type == OP_MKDIR);
			break;
		case OP_RM:
			r = t_rm(&x, o->path);
			break;
		default:
			r = t_set_perms(&x, o->path, o->perms, o->n);
			break;
		}
		if (r)
			sim_report(
				sim,
				"xenstore: replaying transaction %u: %s failed (%d)",
				id, o->path, r);
	}
	pend_flush(sim, pend);
out:
	txn_free(t);
	return rc;
}

/* ---- the operations callers see ------------------------------------------ */

int xst_read(struct xsim *sim, struct xsim_conn *c, uint16_t dom, uint32_t t,
	     const char *path, char **val, unsigned int *len)
{
	char abs[XS_PATH_MAX + 1];
	struct xs_txn *txn;
	struct xs_node *n;
	struct xs_ctx x;
	int rc;

	rc = canon(dom, path, abs, NULL);
	if (!rc)
		rc = ctx_get(sim, c, dom, t, abs, &x, NULL, &txn);
	if (rc)
		return rc;
	n = lookup(x.root, abs, NULL);
	if (!n)
		return -ENOENT;
	if (!(node_perm(n, dom) & XS_PERM_READ))
		return -EACCES;
	*val = malloc(n->len + 1);
	if (!*val)
		return -ENOMEM;
	memcpy(*val, n->value, n->len + 1);
	*len = n->len;
	return 0;
}

/* Any change: on the main tree (watches fire) or in a transaction (logged). */
static int mutate(struct xsim *sim, struct xsim_conn *c, uint16_t dom,
		  uint32_t t, int type, const char *path, const void *val,
		  unsigned int len, const struct xsim_perm *perms,
		  unsigned int n)
{
	char abs[XS_PATH_MAX + 1];
	struct xs_pend *pend = NULL;
	struct xs_txn *txn;
	struct xs_ctx x;
	int rc;

	rc = canon(dom, path, abs, NULL);
	if (!rc)
		rc = ctx_get(sim, c, dom, t, abs, &x, &pend, &txn);
	if (rc)
		return rc;
	switch (type) {
	case OP_WRITE:
	case OP_MKDIR:
		rc = t_write(&x, abs, val, len, type == OP_MKDIR);
		break;
	case OP_RM:
		rc = t_rm(&x, abs);
		break;
	default:
		rc = t_set_perms(&x, abs, perms, n);
		break;
	}
	if (!rc && txn)
		rc = txn_log(txn, type, abs, val, len, perms, n);
	if (!txn)
		pend_flush(sim, pend);
	return rc;
}

int xst_write(struct xsim *sim, struct xsim_conn *c, uint16_t dom, uint32_t t,
	      const char *path, const void *val, unsigned int len)
{
	return mutate(sim, c, dom, t, OP_WRITE, path, val, len, NULL, 0);
}

int xst_mkdir(struct xsim *sim, struct xsim_conn *c, uint16_t dom, uint32_t t,
	      const char *path)
{
	return mutate(sim, c, dom, t, OP_MKDIR, path, NULL, 0, NULL, 0);
}

int xst_rm(struct xsim *sim, struct xsim_conn *c, uint16_t dom, uint32_t t,
	   const char *path)
{
	return mutate(sim, c, dom, t, OP_RM, path, NULL, 0, NULL, 0);
}

int xst_set_perms(struct xsim *sim, struct xsim_conn *c, uint16_t dom,
		  uint32_t t, const char *path, const struct xsim_perm *perms,
		  unsigned int n)
{
	return mutate(sim, c, dom, t, OP_PERMS, path, NULL, 0, perms, n);
}

int xst_directory(struct xsim *sim, struct xsim_conn *c, uint16_t dom,
		  uint32_t t, const char *path, char **names, unsigned int *len,
		  unsigned int *n)
{
	char abs[XS_PATH_MAX + 1];
	struct xs_node *node, *ch;
	struct xs_txn *txn;
	struct xs_ctx x;
	size_t total = 0;
	char *buf;
	int rc;

	rc = canon(dom, path, abs, NULL);
	if (!rc)
		rc = ctx_get(sim, c, dom, t, abs, &x, NULL, &txn);
	if (rc)
		return rc;
	node = lookup(x.root, abs, NULL);
	if (!node)
		return -ENOENT;
	if (!(node_perm(node, dom) & XS_PERM_READ))
		return -EACCES;
	for (ch = node->children; ch; ch = ch->next)
		total += strlen(ch->name) + 1;
	buf = malloc(total + 1);
	if (!buf)
		return -ENOMEM;
	*n = 0;
	total = 0;
	for (ch = node->children; ch; ch = ch->next) {
		size_t l = strlen(ch->name) + 1;

		memcpy(buf + total, ch->name, l);
		total += l;
		(*n)++;
	}
	*names = buf;
	*len = total;
	return 0;
}

int xst_get_perms(struct xsim *sim, struct xsim_conn *c, uint16_t dom,
		  uint32_t t, const char *path, struct xsim_perm **perms,
		  unsigned int *n)
{
	char abs[XS_PATH_MAX + 1];
	struct xs_txn *txn;
	struct xs_node *node;
	struct xs_ctx x;
	int rc;

	rc = canon(dom, path, abs, NULL);
	if (!rc)
		rc = ctx_get(sim, c, dom, t, abs, &x, NULL, &txn);
	if (rc)
		return rc;
	node = lookup(x.root, abs, NULL);
	if (!node)
		return -ENOENT;
	if (!(node_perm(node, dom) & XS_PERM_READ))
		return -EACCES;
	*perms = malloc(node->nperms * sizeof(**perms));
	if (!*perms)
		return -ENOMEM;
	memcpy(*perms, node->perms, node->nperms * sizeof(**perms));
	*n = node->nperms;
	return 0;
}

/* XS_WATCH: absolute, relative (events relative too) or @special. */
int xst_watch(struct xsim *sim, struct xsim_conn *c, const char *path,
	      const char *token)
{
	char abs[XS_PATH_MAX + 1];
	struct xs_watch *w;
	unsigned int rel = 0;
	int rc;

	if (path[0] == '@') {
		if (strlen(path) > XS_PATH_MAX)
			return -EINVAL;
		snprintf(abs, sizeof(abs), "%s", path);
	} else {
		rc = canon(c->domid, path, abs, &rel);
		if (rc)
			return rc;
	}
	for (w = c->watches; w; w = w->next)
		if (!strcmp(w->path, abs) && !strcmp(w->token, token))
			return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->path = strdup(abs);
	w->token = strdup(token);
	if (!w->path || !w->token) {
		free(w->path);
		free(w->token);
		free(w);
		return -ENOMEM;
	}
	w->rel = rel;
	w->next = c->watches;
	c->watches = w;
	sim->stats.watches++;
	/* xenstored fires every new watch once, whether the node exists or not */
	queue_event(c, abs + rel, token);
	return 0;
}

static void watch_free(struct xs_watch *w)
{
	free(w->path);
	free(w->token);
	free(w);
}

int xst_unwatch(struct xsim *sim, struct xsim_conn *c, const char *path,
		const char *token)
{
	char abs[XS_PATH_MAX + 1];
	struct xs_watch **pp;

	if (path[0] == '@')
		snprintf(abs, sizeof(abs), "%s", path);
	else if (canon(c->domid, path, abs, NULL))
		return -EINVAL;
	for (pp = &c->watches; *pp; pp = &(*pp)->next) {
		struct xs_watch *w = *pp;

		if (!strcmp(w->path, abs) && !strcmp(w->token, token)) {
			*pp = w->next;
			watch_free(w);
			sim->stats.watches--;
			return 0;
		}
	}
	return -ENOENT;
}

int xst_pop_event(struct xsim *sim, struct xsim_conn *c, char *buf,
		  unsigned int max, unsigned int *len)
{
	struct xs_event *ev = c->evq;
	size_t pl, tl;
	uint64_t v;

	if (!ev)
		return -EAGAIN;
	pl = strlen(ev->path) + 1;
	tl = strlen(ev->token) + 1;
	if (pl + tl > max)
		return -E2BIG;
	memcpy(buf, ev->path, pl);
	memcpy(buf + pl, ev->token, tl);
	*len = pl + tl;
	c->evq = ev->next;
	if (!c->evq) {
		c->evq_tail = &c->evq;
		(void)!read(c->efd, &v, sizeof(v));
	}
	free(ev->path);
	free(ev->token);
	free(ev);
	return 0;
}

/* A connection went away: its watches, queued events, transactions. */
void xst_conn_close(struct xsim *sim, struct xsim_conn *c)
{
	while (c->watches) {
		struct xs_watch *w = c->watches;

		c->watches = w->next;
		watch_free(w);
		sim->stats.watches--;
	}
	while (c->evq) {
		struct xs_event *ev = c->evq;

		c->evq = ev->next;
		free(ev->path);
		free(ev->token);
		free(ev);
	}
	c->evq_tail = &c->evq;
	while (c->txns) {
		struct xs_txn *t = c->txns;

		c->txns = t->next;
		txn_free(t);
		sim->stats.transactions--;
	}
}

/* The tree xenstored starts with, plus dom0's home. */
int xst_init(struct xsim *sim)
{
	static const struct xsim_perm none = { 0, XS_PERM_NONE };
	int rc;

	sim->xs_root = node_alloc("", 0, &none, 1);
	if (!sim->xs_root)
		return -ENOMEM;
	rc = xst_write(sim, NULL, 0, 0, "/local/domain/0/name", "Domain-0", 8);
	if (!rc)
		rc = xst_write(sim, NULL, 0, 0, "/local/domain/0/domid", "0",
			       1);
	return rc;
}

void xst_fini(struct xsim *sim)
{
	node_free(sim->xs_root);
	sim->xs_root = NULL;
}

/* ---- the direct API (as a domain, no transaction) ------------------------ */

char *xsim_xs_read(struct xsim *sim, uint32_t as_domid, const char *path,
		   int *err)
{
	unsigned int len;
	char *val = NULL;
	int rc;

	pthread_mutex_lock(&sim->lock);
	rc = xst_read(sim, NULL, as_domid, 0, path, &val, &len);
	pthread_mutex_unlock(&sim->lock);
	if (err)
		*err = rc;
	return rc ? NULL : val;
}

char *xsim_xs_directory(struct xsim *sim, uint32_t as_domid, const char *path,
			unsigned int *n, int *err)
{
	unsigned int len;
	char *names = NULL;
	int rc;

	pthread_mutex_lock(&sim->lock);
	rc = xst_directory(sim, NULL, as_domid, 0, path, &names, &len, n);
	pthread_mutex_unlock(&sim->lock);
	if (err)
		*err = rc;
	return rc ? NULL : names;
}

int xsim_xs_write(struct xsim *sim, uint32_t as_domid, const char *path,
		  const char *val)
{
	int rc;

	pthread_mutex_lock(&sim->lock);
	rc = xst_write(sim, NULL, as_domid, 0, path, val, strlen(val));
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

int xsim_xs_write_atomic(struct xsim *sim, uint32_t as_domid,
			 const char *const *paths, const char *const *vals,
			 unsigned int n)
{
	struct xs_pend *pend = NULL;
	int rc = 0;

	/* One lock, one batch of watch events: as a committed transaction. */
	pthread_mutex_lock(&sim->lock);
	for (unsigned int i = 0; i < n && !rc; i++) {
		char abs[XS_PATH_MAX + 1];
		struct xs_txn *txn;
		struct xs_ctx x;

		rc = canon(as_domid, paths[i], abs, NULL);
		if (!rc)
			rc = ctx_get(sim, NULL, as_domid, 0, abs, &x, &pend,
				     &txn);
		if (!rc)
			rc = t_write(&x, abs, vals[i], strlen(vals[i]), false);
	}
	pend_flush(sim, pend);
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

int xsim_xs_printf(struct xsim *sim, uint32_t as_domid, const char *path,
		   const char *fmt, ...)
{
	char val[XS_VALUE_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || n > XS_VALUE_MAX)
		return -E2BIG;
	return xsim_xs_write(sim, as_domid, path, val);
}

int xsim_xs_mkdir(struct xsim *sim, uint32_t as_domid, const char *path)
{
	int rc;

	pthread_mutex_lock(&sim->lock);
	rc = xst_mkdir(sim, NULL, as_domid, 0, path);
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

int xsim_xs_rm(struct xsim *sim, uint32_t as_domid, const char *path)
{
	int rc;

	pthread_mutex_lock(&sim->lock);
	rc = xst_rm(sim, NULL, as_domid, 0, path);
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

int xsim_xs_set_perms(struct xsim *sim, uint32_t as_domid, const char *path,
		      const uint32_t *ids, const uint32_t *perms,
		      unsigned int n)
{
	struct xsim_perm p[16];
	int rc;

	if (!n || n > 16)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++)
		p[i] = (struct xsim_perm){ ids[i], perms[i] };
	pthread_mutex_lock(&sim->lock);
	rc = xst_set_perms(sim, NULL, as_domid, 0, path, p, n);
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

/*
 * Waits until @path reads @want, or (@want NULL) until it is gone. With
 * @gone_fails, a missing node ends the wait with -EINVAL at once.
 */
static int xs_wait(struct xsim *sim, const char *path, const char *want,
		   bool gone_fails, int timeout_ms)
{
	struct timespec dl;
	int rc;

	deadline_set(&dl, timeout_ms);
	pthread_mutex_lock(&sim->lock);
	for (;;) {
		struct xs_node *n = path_valid(path) ?
					    lookup(sim->xs_root, path, NULL) :
					    NULL;

		rc = 0;
		if (want ? n && !strcmp(n->value, want) : !n)
			break;
		rc = -EINVAL;
		if (!n && gone_fails)
			break;
		rc = -ETIMEDOUT;
		if (!sim_wait(sim, &dl, timeout_ms))
			break;
	}
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

int xsim_xs_wait(struct xsim *sim, const char *path, const char *want,
		 int timeout_ms)
{
	return xs_wait(sim, path, want, false, timeout_ms);
}

int xsim_xs_wait_gone(struct xsim *sim, const char *path, int timeout_ms)
{
	return xs_wait(sim, path, NULL, false, timeout_ms);
}

int xsim_xs_wait_state(struct xsim *sim, const char *path, const char *want,
		       int timeout_ms)
{
	return xs_wait(sim, path, want, true, timeout_ms);
}
