// SPDX-License-Identifier: MIT
/*
 * virtio-console (virtio 1.2, 5.3) with VIRTIO_CONSOLE_F_MULTIPORT: config
 * space, the control protocol (every message from the guest checked; what
 * the device owes the guest kept as a few bits per port, so nothing queues
 * up however often a client comes and goes), the socket directory, and the
 * device's life from create to destroy.
 */
#define LOG_MOD "vcon"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/iov.h"
#include "vcon.h"

/* ---- port names ---- */

int vcon_name_check(const char *name)
{
	size_t n = strnlen(name, VCON_NAME_MAX + 1);

	/* Rejects what could leave the directory or hide in it: "", ".",
	 * "..", '/', and anything but letters, digits, '.', '_' and '-'. */
	if (!n || n > VCON_NAME_MAX || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return -EINVAL;
	}
	return 0;
}

int vcon_parse_ports(struct vcon_conf *conf, const char *val, char *err,
		     size_t errlen)
{
	char names[VCON_MAX_PORTS][VCON_NAME_MAX + 1];
	const char *p = val;
	unsigned int n = 0;

	for (;;) {
		size_t len = strcspn(p, (const char[]){ VCON_PORT_SEP, 0 });

		if (n == VCON_MAX_PORTS) {
			snprintf(err, errlen, "more than %u ports",
				 VCON_MAX_PORTS);
			return -ERANGE;
		}
		if (len <= VCON_NAME_MAX) {
			memcpy(names[n], p, len);
			names[n][len] = '\0';
		}
		if (len > VCON_NAME_MAX || vcon_name_check(names[n])) {
			snprintf(
				err, errlen,
				"port name '%.*s' is not 1 to %u of [A-Za-z0-9._-] (nor . or ..)",
				(int)(len > 80 ? 80 : len), p, VCON_NAME_MAX);
			return -EINVAL;
		}
		for (unsigned int i = 0; i < n; i++)
			if (!strcmp(names[i], names[n])) {
				snprintf(err, errlen, "port name '%s' twice",
					 names[n]);
				return -EINVAL;
			}
		n++;
		if (!p[len])
			break;
		p += len + 1;
	}
	/* The conf changes only once the whole list is good. */
	memcpy(conf->names, names, sizeof(names[0]) * n);
	if (n < VCON_MAX_PORTS)
		memset(conf->names[n], 0,
		       sizeof(names[0]) * (VCON_MAX_PORTS - n));
	conf->nr_ports = n;
	return 0;
}

/* ---- control messages ---- */

static struct vq *vcon_vq(struct vcon *con, unsigned int i)
{
	return &con->vdev.vqs[i];
}

/*
 * Puts one message in the next control receive buffer. Returns 1 if sent,
 * 0 if the guest has no buffer posted (its kick resumes), -errno if the
 * device is broken now.
 */
static int vcon_ctrl_put(struct vcon *con, struct vq *vq, uint32_t id,
			 uint16_t event, uint16_t value, const char *name)
{
	struct virtio_console_control m = {
		.id = htole32(id),
		.event = htole16(event),
		.value = htole16(value),
	};
	size_t nlen = name ? strlen(name) : 0;
	struct vq_chain *c = &con->civ_chain;
	int rc = vq_pop(vq, c);

	if (rc <= 0)
		return rc;
	/* Rejects a control receive buffer the message does not fit in. */
	if (c->in_len < VCON_CTRL_LEN + nlen) {
		vq_chain_release(vq, c);
		return vdev_fail(
			&con->vdev,
			"control buffer of %u bytes for a %zu-byte message",
			c->in_len, VCON_CTRL_LEN + nlen);
	}
	iov_from_buf(vq_chain_in(c), c->nr_in, 0, &m, VCON_CTRL_LEN);
	if (nlen)
		iov_from_buf(vq_chain_in(c), c->nr_in, VCON_CTRL_LEN, name,
			     nlen);
	vq_push(vq, c, VCON_CTRL_LEN + nlen);
	con->ctrl_in++;
	return 1;
}

/* The next message @p owes, in protocol order; false if none. */
static bool vcon_ctrl_next(struct vcon *con, struct vcon_port *p,
			   uint16_t *event, uint16_t *value, const char **name)
{
	*value = 1;
	*name = NULL;
	if (p->pend & VCON_P_ADD) {
		*event = VIRTIO_CONSOLE_PORT_ADD;
	} else if (p->pend & VCON_P_CONSOLE) {
		*event = VIRTIO_CONSOLE_CONSOLE_PORT;
	} else if (p->pend & VCON_P_NAME) {
		*event = VIRTIO_CONSOLE_PORT_NAME;
		*name = p->name;
	} else if (p->pend & VCON_P_OPEN) {
		*event = VIRTIO_CONSOLE_PORT_OPEN;
		*value = vcon_port_host_open(p);
		if (*value == p->open_sent) {
			/* Came and went before it was told: nothing to say. */
			p->pend &= ~VCON_P_OPEN;
			return vcon_ctrl_next(con, p, event, value, name);
		}
	} else {
		return false;
	}
	return true;
}

static void vcon_ctrl_done(struct vcon_port *p, uint16_t event, uint16_t value)
{
	switch (event) {
	case VIRTIO_CONSOLE_PORT_ADD:
		p->pend &= ~VCON_P_ADD;
		p->added = true;
		break;
	case VIRTIO_CONSOLE_CONSOLE_PORT:
		p->pend &= ~VCON_P_CONSOLE;
		break;
	case VIRTIO_CONSOLE_PORT_NAME:
		p->pend &= ~VCON_P_NAME;
		break;
	default:
		p->pend &= ~VCON_P_OPEN;
		p->open_sent = value;
	}
}

/*
 * vqrun: sends the next message a port owes the guest, in port order.
 * Holds off while none is owed: vcon_ctrl_send resumes the queue. (Without
 * MULTIPORT the queue is not the device's: it holds off for good.)
 */
static int vcon_civ_pop(struct vqrun *r)
{
	struct vcon *con = container_of(r, struct vcon, civ_run);
	const char *name;
	uint16_t event, value;
	int rc;

	if (!vcon_multiport(con))
		return -EBUSY;
	for (unsigned int i = 0; i < con->nr_ports; i++) {
		struct vcon_port *p = &con->ports[i];

		if (!vcon_ctrl_next(con, p, &event, &value, &name))
			continue;
		rc = vcon_ctrl_put(con, r->vq, p->id, event, value, name);
		if (rc > 0) {
			vcon_ctrl_done(p, event, value);
			r->pushed = true;
		}
		return rc;
	}
	return -EBUSY;
}

static const struct vqrun_ops vcon_civ_ops = {
	.pop = vcon_civ_pop,
};

void vcon_ctrl_send(struct vcon *con)
{
	if (vcon_multiport(con))
		vqrun_resume(&con->civ_run);
}

void vcon_host_changed(struct vcon_port *p)
{
	if (!p->ready)
		return; /* PORT_READY brings the state along */
	p->pend |= VCON_P_OPEN;
	vcon_ctrl_send(p->con);
}

static void __printf(2, 3) vcon_ctrl_bad(struct vcon *con, const char *fmt, ...)
{
	char msg[128];
	va_list ap;

	con->ctrl_bad++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_guest(&con->vdev.log, "control message ignored: %s", msg);
}

/* The port a guest message names, if the device told the guest of it. */
static struct vcon_port *vcon_ctrl_port(struct vcon *con, uint32_t id,
					uint16_t event)
{
	/* Rejects ids past max_nr_ports and ports not yet added. */
	if (id >= con->nr_ports || !con->ports[id].added) {
		vcon_ctrl_bad(con, "event %u for port %u, which is not there",
			      event, id);
		return NULL;
	}
	return &con->ports[id];
}

static void vcon_ctrl_ready(struct vcon *con, struct vcon_port *p,
			    uint16_t value)
{
	if (value != 1) {
		log_guest(&con->vdev.log,
			  "port %u (%s): the guest could not add it", p->id,
			  p->name);
		return;
	}
	if (p->ready)
		return; /* said twice: the messages went out already */
	p->ready = true;
	p->pend |= VCON_P_NAME | VCON_P_OPEN;
	if (p->id == 0 && con->conf.console)
		p->pend |= VCON_P_CONSOLE;
}

/* One message from the control transmitq, @len bytes of it in @m. */
static void vcon_ctrl_handle(struct vcon *con,
			     const struct virtio_console_control *m, size_t len)
{
	uint32_t id = le32toh(m->id);
	uint16_t event = le16toh(m->event), value = le16toh(m->value);
	struct vcon_port *p;

	con->ctrl_out++;
	/* Rejects a message shorter than id, event and value. */
	if (len < VCON_CTRL_LEN) {
		vcon_ctrl_bad(con, "%zu bytes", len);
		return;
	}
	switch (event) {
	case VIRTIO_CONSOLE_DEVICE_READY:
		if (value != 1) {
			log_guest(&con->vdev.log, "driver failed to set up");
			return;
		}
		for (unsigned int i = 0; i < con->nr_ports; i++)
			if (!con->ports[i].added)
				con->ports[i].pend |= VCON_P_ADD;
		return;
	case VIRTIO_CONSOLE_PORT_READY:
		p = vcon_ctrl_port(con, id, event);
		if (p)
			vcon_ctrl_ready(con, p, value);
		return;
	case VIRTIO_CONSOLE_PORT_OPEN:
		p = vcon_ctrl_port(con, id, event);
		/* Rejects an open of a port not ready, and values past 1. */
		if (p && (!p->ready || value > 1))
			vcon_ctrl_bad(con, "PORT_OPEN %u of port %u (%s)",
				      value, id,
				      p->ready ? "ready" : "not ready");
		else if (p)
			vcon_port_guest_open(p, value);
		return;
	default:
		/* Rejects events only a device sends, and unknown ones. */
		vcon_ctrl_bad(con, "event %u (port %u, value %u)", event, id,
			      value);
	}
}

/*
 * vqrun: takes one control message from the guest, VCON_CTRL_BUDGET a run
 * (the rest from the loop's next round: a guest that keeps writing does
 * not hold the loop).
 */
static int vcon_cov_pop(struct vqrun *r)
{
	struct vcon *con = container_of(r, struct vcon, cov_run);
	struct virtio_console_control m;
	struct vq_chain *c = &con->cov_chain;
	size_t len;
	int rc;

	if (!vcon_multiport(con))
		return -EBUSY; /* not the device's queue without MULTIPORT */
	rc = vq_pop(r->vq, c);
	if (rc <= 0)
		return rc;
	memset(&m, 0, sizeof(m));
	len = iov_to_buf(c->iov, c->nr_out, 0, &m, sizeof(m));
	vq_push(r->vq, c, 0);
	r->pushed = true;
	vcon_ctrl_handle(con, &m, len);
	return 1;
}

/* vqrun: what the messages taken made owed goes out. */
static void vcon_cov_end(struct vqrun *r)
{
	vcon_ctrl_send(container_of(r, struct vcon, cov_run));
}

static const struct vqrun_ops vcon_cov_ops = {
	.pop = vcon_cov_pop,
	.end = vcon_cov_end,
};

/* ---- the transport's ops ---- */

static void vcon_cfg_read(struct vdev *vdev, unsigned int off, void *buf,
			  unsigned int len)
{
	struct vcon *con = vcon_from_vdev(vdev);
	struct virtio_console_config c;

	memset(&c, 0, sizeof(c));
	c.max_nr_ports = htole32(con->nr_ports);
	if (off > sizeof(c) || len > sizeof(c) - off) {
		memset(buf, 0, len);
		return;
	}
	memcpy(buf, (const uint8_t *)&c + off, len);
}

/* emerg_wr is the only writable field, and EMERG_WRITE is not offered. */
static int vcon_cfg_write(struct vdev *vdev, unsigned int off, const void *buf,
			  unsigned int len)
{
	return -EPERM;
}

static int vcon_start(struct vdev *vdev)
{
	struct vcon *con = vcon_from_vdev(vdev);

	con->started = true;
	/* Without MULTIPORT there is port 0 and no protocol: it is open. */
	if (!vcon_multiport(con))
		con->ports[0].added = con->ports[0].ready =
			con->ports[0].guest_open = true;
	vqrun_resume(&con->cov_run);
	for (unsigned int i = 0; i < con->nr_ports; i++) {
		vcon_port_rx(&con->ports[i]);
		vcon_port_tx(&con->ports[i]);
	}
	return 0;
}

static void vcon_kick(struct vdev *vdev, struct vq *vq)
{
	struct vcon *con = vcon_from_vdev(vdev);
	unsigned int port;

	if (con->resetting)
		return; /* a kick while reset runs the loop: the rings go */
	if (vq->index == VCON_CIVQ) {
		vqrun_kick(&con->civ_run);
		return;
	}
	if (vq->index == VCON_COVQ) {
		vqrun_kick(&con->cov_run);
		return;
	}
	port = vq->index < 2 ? 0 : (vq->index - 2) / 2;
	if (port >= con->nr_ports)
		return;
	vcon_port_kick(&con->ports[port], vq->index % 2);
}

/* A control queue: its tick reaped (it holds no chain between runs). */
static void vcon_ctrl_stop(struct vqrun *r)
{
	static const unsigned int none; /* no operation of its own */

	if (!vqrun_stop(r, &none))
		vqrun_reset(r);
}

/*
 * A queue runs again once every queue stopped (the status still reads
 * DRIVER_OK during reset), unless its stop left operations in flight.
 */
static void vcon_run_restart(struct vqrun *r, unsigned int dev_ops)
{
	if (!dev_ops && !r->nr_ops)
		r->stopping = false;
}

static void vcon_reset(struct vdev *vdev)
{
	struct vcon *con = vcon_from_vdev(vdev);

	/* Re-entered from a callback while this reset runs the loop: no-op. */
	if (con->resetting)
		return;
	con->resetting = true;
	/* Nothing runs while any queue stops: all stop first. */
	con->civ_run.stopping = con->cov_run.stopping = true;
	for (unsigned int i = 0; i < con->nr_ports; i++)
		con->ports[i].rx.run.stopping = con->ports[i].tx.run.stopping =
			true;
	vcon_ctrl_stop(&con->civ_run);
	vcon_ctrl_stop(&con->cov_run);
	for (unsigned int i = 0; i < con->nr_ports; i++)
		vcon_port_reset(&con->ports[i]);
	vcon_run_restart(&con->civ_run, 0);
	vcon_run_restart(&con->cov_run, 0);
	for (unsigned int i = 0; i < con->nr_ports; i++) {
		struct vcon_port *p = &con->ports[i];

		vcon_run_restart(&p->rx.run, p->rx.busy);
		vcon_run_restart(&p->tx.run, p->tx.busy);
	}
	con->started = false;
	con->resetting = false;
}

static const struct vdev_ops vcon_ops = {
	.name = "vcon",
	.device_id = VIRTIO_ID_CONSOLE,
	.cfg_read = vcon_cfg_read,
	.cfg_write = vcon_cfg_write,
	.start = vcon_start,
	.kick = vcon_kick,
	.reset = vcon_reset,
};

/* ---- the socket directory ---- */

/*
 * A guest name fit for a directory name: a port name's rules, and not
 * ending like the backend's own files there (d<domid>.sock, *.lock).
 */
static bool vcon_guest_dir_ok(const char *g)
{
	size_t n = g ? strlen(g) : 0;

	return g && !vcon_name_check(g) &&
	       !(n >= 5 &&
		 (!strcmp(g + n - 5, ".sock") || !strcmp(g + n - 5, ".lock")));
}

static void vcon_default_dir(char *dir, size_t len, const struct vcon_env *env)
{
	if (vcon_guest_dir_ok(env->guest))
		snprintf(dir, len, "%s/%s", env->run_dir, env->guest);
	else
		snprintf(dir, len, "%s/d%d", env->run_dir, env->domid);
}

/*
 * Makes (or checks) the sockets' directory: ours, a directory, written by
 * nobody else, so no one can swap a socket for something of theirs.
 */
static int vcon_dir_open(struct vcon *con, const struct vcon_env *env)
{
	struct log_ctx *log = &con->vdev.log;
	struct stat st;

	if (con->conf.dir[0]) {
		snprintf(con->dir, sizeof(con->dir), "%s", con->conf.dir);
	} else if (env->run_dir && env->run_dir[0] == '/') {
		vcon_default_dir(con->dir, sizeof(con->dir), env);
		if (strlen(con->dir) + 2 >= VCON_PATH_MAX)
			return -ENAMETOOLONG;
		if (mkdir(env->run_dir, 0755) && errno != EEXIST)
			return -errno;
		if (mkdir(con->dir, 0700) && errno != EEXIST)
			return -errno;
		con->own_dir = true;
	} else {
		log_err(log, "no directory for the port sockets (dir=)");
		return -EINVAL;
	}
	if (lstat(con->dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022)) {
		log_err(log, "%s: not a directory of ours closed to others",
			con->dir);
		return -EINVAL;
	}
	return 0;
}

/*
 * The devices of this process (a worker serves one guest): two consoles of
 * a guest naming the same port would take each other's socket. A socket
 * of another process is taken over (a rebooting guest's old worker).
 */
static pthread_mutex_t vcon_all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vcon *vcon_all;

static bool vcon_path_taken(const struct vcon *self, const char *path)
{
	bool taken = false;

	pthread_mutex_lock(&vcon_all_lock);
	for (const struct vcon *c = vcon_all; c && !taken; c = c->next)
		for (unsigned int i = 0; c != self && i < c->nr_ports; i++)
			taken |= !strcmp(c->ports[i].path, path);
	pthread_mutex_unlock(&vcon_all_lock);
	return taken;
}

static void vcon_list(struct vcon *con, bool add)
{
	struct vcon **pp;

	pthread_mutex_lock(&vcon_all_lock);
	for (pp = &vcon_all; *pp && *pp != con; pp = &(*pp)->next)
		;
	if (add && !*pp) {
		con->next = vcon_all;
		vcon_all = con;
	} else if (!add && *pp) {
		*pp = con->next;
	}
	pthread_mutex_unlock(&vcon_all_lock);
}

static int vcon_ports_open(struct vcon *con)
{
	int rc;

	for (unsigned int i = 0; i < con->nr_ports; i++) {
		struct vcon_port *p = &con->ports[i];

		if ((size_t)snprintf(p->path, sizeof(p->path), "%s/%s",
				     con->dir, p->name) >= sizeof(p->path)) {
			log_err(&con->vdev.log, "%s/%s: path too long",
				con->dir, p->name);
			return -ENAMETOOLONG;
		}
		if (vcon_path_taken(con, p->path)) {
			log_err(&con->vdev.log,
				"%s: another console of this guest has it",
				p->path);
			return -EADDRINUSE;
		}
		rc = vcon_port_open(p);
		if (rc)
			return rc;
	}
	return 0;
}

static void vcon_ports_close(struct vcon *con)
{
	for (unsigned int i = 0; con->ports && i < con->nr_ports; i++)
		vcon_port_close(&con->ports[i]);
	/* The guest's other consoles may still have theirs: the last goes. */
	if (con->own_dir && rmdir(con->dir) && errno != ENOTEMPTY &&
	    errno != ENOENT)
		log_warn(&con->vdev.log, "rmdir %s: %s", con->dir,
			 strerror(errno));
}

/* ---- life ---- */

static int vcon_conf_check(const struct vcon_conf *conf, uint16_t qsize)
{
	if (!conf->nr_ports || conf->nr_ports > VCON_MAX_PORTS)
		return -EINVAL;
	for (unsigned int i = 0; i < conf->nr_ports; i++)
		if (vcon_name_check(conf->names[i]))
			return -EINVAL;
	if (conf->dir[0] != '\0' && conf->dir[0] != '/')
		return -EINVAL;
	if (qsize > VCON_QUEUE_MAX || (qsize & (qsize - 1)))
		return -EINVAL;
	return 0;
}

int vcon_create(struct vcon **out, const struct vcon_conf *conf,
		const struct vcon_env *env, const struct gmem *gm,
		struct evl *loop)
{
	static const struct vcon_env none = { .domid = -1 };
	uint16_t qsize = conf->queue_size ? conf->queue_size :
					    VCON_DEFAULT_QUEUE;
	struct vcon *con;
	int rc;

	*out = NULL;
	if (!env)
		env = &none;
	if (!gm || !loop || vcon_conf_check(conf, qsize))
		return -EINVAL;
	con = calloc(1, sizeof(*con));
	if (!con)
		return -ENOMEM;
	con->conf = *conf;
	con->loop = loop;
	con->nr_ports = conf->nr_ports;
	con->ports = calloc(con->nr_ports, sizeof(*con->ports));
	if (!con->ports) {
		rc = -ENOMEM;
		goto err_free;
	}
	rc = vdev_init(&con->vdev, &vcon_ops, gm, 2 * con->nr_ports + 2, qsize,
		       sizeof(struct virtio_console_config),
		       1ULL << VIRTIO_CONSOLE_F_MULTIPORT);
	if (rc)
		goto err_free;
	log_ctx_init(&con->vdev.log, env->domid,
		     env->name ? env->name : "vcon");
	vqrun_init(&con->civ_run, vcon_vq(con, VCON_CIVQ), loop, &vcon_civ_ops,
		   &(struct vqrun_conf){ .budget = VCON_CTRL_BUDGET });
	vqrun_init(&con->cov_run, vcon_vq(con, VCON_COVQ), loop, &vcon_cov_ops,
		   &(struct vqrun_conf){ .budget = VCON_CTRL_BUDGET });
	for (unsigned int i = 0; i < con->nr_ports; i++) {
		struct vcon_port *p = &con->ports[i];

		p->con = con;
		p->id = i;
		p->name = con->conf.names[i];
		p->lfd = p->cfd = -1;
		vcon_port_init(p);
	}
	rc = vcon_dir_open(con, env);
	if (rc)
		goto err_vdev;
	vcon_list(con, true);
	rc = vcon_ports_open(con);
	if (rc)
		goto err_ports;
	*out = con;
	return 0;

err_ports:
	con->resetting = true;
	vcon_ports_close(con);
	vcon_list(con, false);
err_vdev:
	vdev_destroy(&con->vdev);
err_free:
	free(con->ports);
	free(con);
	return rc;
}

struct vdev *vcon_vdev(struct vcon *con)
{
	return &con->vdev;
}

const char *vcon_port_path(const struct vcon *con, unsigned int i)
{
	return i < con->nr_ports ? con->ports[i].path : NULL;
}

void vcon_get_stats(const struct vcon *con, struct vcon_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < con->nr_ports; i++) {
		const struct vcon_port *p = &con->ports[i];

		st->rx_bytes += p->rx_bytes;
		st->tx_bytes += p->tx_bytes;
		st->tx_dropped += p->tx_dropped;
		st->clients += p->clients;
		st->gone += p->gone;
		st->refused += p->refused;
	}
	st->ctrl_in = con->ctrl_in;
	st->ctrl_out = con->ctrl_out;
	st->ctrl_bad = con->ctrl_bad;
}

void vcon_log_state(struct vcon *con)
{
	vdev_log_state(&con->vdev);
	log_info(&con->vdev.log,
		 "%u ports in %s; control: %llu in, %llu out, %llu ignored",
		 con->nr_ports, con->dir, (unsigned long long)con->ctrl_in,
		 (unsigned long long)con->ctrl_out,
		 (unsigned long long)con->ctrl_bad);
	if (con->started && vcon_multiport(con)) {
		vq_log_state(vcon_vq(con, VCON_CIVQ));
		vq_log_state(vcon_vq(con, VCON_COVQ));
	}
	for (unsigned int i = 0; i < con->nr_ports; i++)
		vcon_port_log_state(&con->ports[i]);
}

void vcon_destroy(struct vcon *con)
{
	if (!con)
		return;
	/* Resets the device: the guest's I/O cancelled and reaped. */
	vdev_destroy(&con->vdev);
	con->resetting = true; /* for good: nothing touches the queues */
	vcon_ports_close(con);
	vcon_list(con, false);
	for (unsigned int i = 0; i < con->nr_ports; i++)
		if (con->ports[i].lfd >= 0 || con->ports[i].cfd >= 0) {
			/* The ring failed with I/O in flight: freeing would
			 * be a use after free. */
			log_err(&con->vdev.log, "I/O still in flight; leaked");
			return;
		}
	free(con->ports);
	free(con);
}
