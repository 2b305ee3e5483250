// SPDX-License-Identifier: MIT
/*
 * virtio-blk's registry entry: its spec keys (path, mode, serial), their
 * checks, and opening a disk with the backend's queues and loops.
 */
#define LOG_MOD "blk"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "blk.h"
#include "devices/devtype.h"
#include "lib/compiler.h"
#include "lib/log.h"

/* A busy disk's queues look at the ring without kicks this often (us). */
#define VBLK_DEFAULT_POLL_US 50u
/* Interrupt moderation while requests are in flight (us). */
#define VBLK_DEFAULT_COALESCE_US 50u

struct vblk_tconf {
	char path[PATH_MAX]; /* backing file or block device */
	char serial[21];     /* GET_ID, at most 20 bytes */
	bool readonly;	     /* mode=r */
};

static const char *const vblk_keys[] = { "path", "mode", "serial", NULL };
/* A plain queues, poll_us or coalesce_us in [guest NAME] is the disks'. */
static const char *const vblk_guest_keys[] = { "queues", "poll_us",
					       "coalesce_us", NULL };

static int vblk_fail(char *err, size_t errlen, const char *fmt, ...)
	__printf(3, 4);
static int vblk_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int vblk_parse_key(void *conf, const char *key, const char *val,
			  char *err, size_t errlen)
{
	struct vblk_tconf *c = conf;
	size_t n = strlen(val);

	if (!strcmp(key, "path")) {
		if (n >= sizeof(c->path))
			return vblk_fail(err, errlen, "path too long");
		memcpy(c->path, val, n + 1);
	} else if (!strcmp(key, "mode")) {
		if (strcmp(val, "r") && strcmp(val, "w"))
			return vblk_fail(err, errlen, "mode must be r or w");
		c->readonly = !strcmp(val, "r");
	} else if (!strcmp(key, "serial")) {
		if (n >= sizeof(c->serial))
			return vblk_fail(err, errlen,
					 "serial longer than 20 bytes");
		memcpy(c->serial, val, n + 1);
	} else {
		return vblk_fail(err, errlen, "unknown key '%s'", key);
	}
	return 0;
}

static int vblk_check(const void *conf, char *err, size_t errlen)
{
	const struct vblk_tconf *c = conf;
	struct stat st;

	if (!c->path[0])
		return vblk_fail(err, errlen, "no backing path");
	if (stat(c->path, &st))
		return vblk_fail(err, errlen, "%s: %s", c->path,
				 strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return vblk_fail(
			err, errlen,
			"%s is neither a regular file nor a block device",
			c->path);
	return 0;
}

/* Threads the queues run on: the device's own and the distinct others. */
static unsigned int vblk_threads(const struct xvb_devenv *env, unsigned int n)
{
	unsigned int threads = 1;

	for (unsigned int i = 1; i < n && i < env->nr_loops; i++) {
		bool seen = !env->loops[i] || env->loops[i] == env->loop;

		for (unsigned int j = 1; j < i && !seen; j++)
			seen = env->loops[j] == env->loops[i];
		threads += !seen;
	}
	return threads;
}

static int vblk_open(void **dev, struct vdev **vdev, const void *conf,
		     const struct xvb_devenv *env)
{
	const struct vblk_tconf *c = conf;
	struct log_ctx log;
	struct vblk *blk;
	struct vblk_conf bc = {
		.path = c->path,
		.readonly = c->readonly,
		.serial = c->serial[0] ? c->serial : NULL,
		.nr_queues = env->queues ? env->queues : 1,
		.poll_us = env->poll_us < 0 ? VBLK_DEFAULT_POLL_US :
					      (unsigned int)env->poll_us,
		.coalesce_us = env->coalesce_us < 0 ?
				       VBLK_DEFAULT_COALESCE_US :
				       (unsigned int)env->coalesce_us,
		.loops = env->nr_loops >= env->queues ? env->loops : NULL,
		.domid = env->domid,
		.name = env->name,
	};
	int rc;

	log_ctx_init(&log, env->domid, env->name);
	rc = vblk_create(&blk, &bc, env->gm, env->loop);
	if (rc) {
		log_err(&log, "%s: %s", c->path, strerror(-rc));
		return rc;
	}
	log_info(&log, "store %s%s", c->path,
		 c->readonly ? " (read-only)" : "");
	if (bc.nr_queues > 1)
		log_info(&log, "%u queues on %u thread(s)", bc.nr_queues,
			 bc.loops ? vblk_threads(env, bc.nr_queues) : 1);
	*dev = blk;
	*vdev = vblk_vdev(blk);
	return 0;
}

static void vblk_type_close(void *dev)
{
	vblk_destroy(dev);
}

static void vblk_type_log_state(void *dev)
{
	vblk_log_state(dev);
}

static int vblk_reload(void *dev)
{
	return vblk_resize(dev);
}

const struct xvb_devtype xvb_devtype_blk = {
	.name = "blk",
	.virtio_id = 2, /* VIRTIO_ID_BLOCK */
	.summary = "a disk: a regular file or a block device",
	.keys = vblk_keys,
	.max_queues = VBLK_MAX_QUEUES,
	.guest_keys = vblk_guest_keys,
	.conf_size = sizeof(struct vblk_tconf),
	.parse_key = vblk_parse_key,
	.check = vblk_check,
	.open = vblk_open,
	.close = vblk_type_close,
	.log_state = vblk_type_log_state,
	.reload = vblk_reload,
};
