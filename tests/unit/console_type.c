// SPDX-License-Identifier: MIT
/*
 * virtio-console's registry entry (devices/console/type.c): the table's
 * fields, every malformed key refused with a message and the conf left
 * alone, the whole-conf check, and a device opened through it with its
 * sockets under <run_dir>/<guest>, closed with nothing left.
 */
#include "devices/devtype.h"
#include "console_rig.h"

extern const struct xvb_devtype xvb_devtype_console;
static const struct xvb_devtype *const T = &xvb_devtype_console;

#define CONF_MAX 4096

static void entry(void)
{
	unsigned int n = 0;

	T_ASSERT(!strcmp(T->name, "console"));
	T_EQ(T->virtio_id, VIRTIO_ID_CONSOLE);
	T_ASSERT(T->summary && *T->summary);
	T_EQ(T->max_queues, 0);
	T_ASSERT(T->conf_size > 0 && T->conf_size <= CONF_MAX);
	T_ASSERT(T->parse_key && T->check && T->open && T->close &&
		 T->log_state);
	for (; T->keys[n]; n++)
		;
	T_EQ(n, 3);
	T_ASSERT(!strcmp(T->keys[0], "ports"));
	T_ASSERT(!strcmp(T->keys[1], "console"));
	T_ASSERT(!strcmp(T->keys[2], "dir"));
	for (const char *p = T->name; *p; p++)
		T_ASSERT((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'));
}

static const struct {
	const char *key, *val;
	int rc;
} bad[] = {
	{ "ports", "", -EINVAL },
	{ "ports", "a:", -EINVAL },
	{ "ports", "ok:..", -EINVAL },
	{ "ports", "ok:a/b", -EINVAL },
	{ "ports", "x:x", -EINVAL },
	{ "ports", "a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p:q", -ERANGE },
	{ "console", "", -EINVAL },
	{ "console", "2", -EINVAL },
	{ "console", "maybe", -EINVAL },
	{ "console", "on ", -EINVAL },
	{ "dir", "", -EINVAL },
	{ "dir", "relative/path", -EINVAL },
	{ "dir",
	  "/a/very/long/directory/name/that/leaves/no/room/for/a/port/name/in/a/unix/socket/address/of/108/bytes/so/it/is/refused/at/once",
	  -EINVAL },
	{ "queues", "1", -EINVAL },
};

/* Each bad value: its errno, a message, the conf untouched. */
static void parse_bad(void)
{
	uint8_t conf[CONF_MAX], before[CONF_MAX];
	char err[256];

	memset(conf, 0, sizeof(conf));
	T_EQ(T->parse_key(conf, "ports", "keep:these", err, sizeof(err)), 0);
	memcpy(before, conf, sizeof(conf));
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = 0;
		if (T->parse_key(conf, bad[i].key, bad[i].val, err,
				 sizeof(err)) != bad[i].rc ||
		    !err[0] || memcmp(conf, before, sizeof(conf))) {
			t_fail(__FILE__, __LINE__,
			       "%s=%s: not %d, or no message, or the conf changed",
			       bad[i].key, bad[i].val, bad[i].rc);
			return;
		}
	}
}

static void parse_good(void)
{
	uint8_t buf[CONF_MAX] = { 0 };
	const struct vcon_conf *c = (const void *)buf;
	char err[256];

	T_EQ(T->parse_key(buf, "ports", "org.qemu.guest_agent.0:ser1", err,
			  sizeof(err)),
	     0);
	T_EQ(T->parse_key(buf, "console", "on", err, sizeof(err)), 0);
	T_EQ(T->parse_key(buf, "dir", "/run/xvbd/g", err, sizeof(err)), 0);
	T_EQ(c->nr_ports, 2);
	T_ASSERT(!strcmp(c->names[0], "org.qemu.guest_agent.0"));
	T_ASSERT(!strcmp(c->names[1], "ser1"));
	T_ASSERT(c->console);
	T_ASSERT(!strcmp(c->dir, "/run/xvbd/g"));
	T_EQ(T->check(buf, err, sizeof(err)), 0);
	T_EQ(T->parse_key(buf, "console", "off", err, sizeof(err)), 0);
	T_ASSERT(!c->console);
}

/* No ports; with dir=, a socket path that cannot fit. */
static void check_bad(void)
{
	uint8_t buf[CONF_MAX] = { 0 };
	char err[256] = "";
	char dir[VCON_PATH_MAX];

	T_EQ(T->check(buf, err, sizeof(err)), -EINVAL);
	T_ASSERT(err[0]);
	memset(dir, 'd', sizeof(dir));
	dir[0] = '/';
	dir[VCON_PATH_MAX - 10] = '\0';
	T_EQ(T->parse_key(buf, "dir", dir, err, sizeof(err)), 0);
	T_EQ(T->parse_key(buf, "ports", "short:a-much-longer-name", err,
			  sizeof(err)),
	     0);
	err[0] = 0;
	T_EQ(T->check(buf, err, sizeof(err)), -EINVAL);
	T_ASSERT(strstr(err, "a-much-longer-name"));
}

/* Opened as the backend would: sockets in <run_dir>/<guest>, gone after. */
static void open_close(void)
{
	uint8_t buf[CONF_MAX] = { 0 };
	char run[] = "/tmp/xvbrun.XXXXXX", path[96], err[256];
	FG_SCOPED struct fakeguest *fg = fg_new(1 << 20);
	struct xvb_devenv env = { .domid = 3,
				  .name = "vconsole0",
				  .guest = "vm1",
				  .poll_us = -1,
				  .coalesce_us = -1 };
	struct vdev *vdev = NULL;
	struct evl loop;
	struct stat st;
	void *dev = NULL;
	int fds = t_count_fds(0);

	T_ASSERT(fg && mkdtemp(run));
	T_EQ(evl_init(&loop, 32), 0);
	env.gm = &fg->gmem;
	env.loop = &loop;
	env.run_dir = run;
	T_EQ(T->parse_key(buf, "ports", "org.qemu.guest_agent.0", err,
			  sizeof(err)),
	     0);
	T_EQ(T->check(buf, err, sizeof(err)), 0);
	T_EQ(T->open(&dev, &vdev, buf, &env), 0);
	T_ASSERT(dev && vdev);
	T_EQ(vdev->ops->device_id, VIRTIO_ID_CONSOLE);
	snprintf(path, sizeof(path), "%s/vm1/org.qemu.guest_agent.0", run);
	T_ASSERT(!lstat(path, &st) && S_ISSOCK(st.st_mode));
	T->log_state(dev);
	T->close(dev);
	T->close(NULL);
	T_ASSERT(access(path, F_OK));
	evl_exit(&loop);
	T_EQ(rmdir(run), 0);
	T_EQ(t_count_fds(0), fds);
}

T_MAIN(T_CASE(entry), T_CASE(parse_bad), T_CASE(parse_good), T_CASE(check_bad),
       T_CASE(open_close))
