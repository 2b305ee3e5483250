// SPDX-License-Identifier: MIT
/*
 * virtio-rng's registry entry (devices/rng/type.c): the table's fields,
 * the defaults, every malformed "rate" and "burst" refused with a message
 * and the conf left alone, and a device opened and closed through it.
 */
#include "devices/devtype.h"
#include "rng_rig.h"

extern const struct xvb_devtype xvb_devtype_rng;
static const struct xvb_devtype *const T = &xvb_devtype_rng;

/* The parsed conf is the type's own; the test sees it as bytes. */
#define CONF_MAX 4096

static void entry(void)
{
	unsigned int n = 0;

	T_ASSERT(!strcmp(T->name, "rng"));
	T_EQ(T->virtio_id, VIRTIO_ID_RNG);
	T_ASSERT(T->summary && *T->summary);
	T_EQ(T->max_queues, 0);
	T_ASSERT(T->conf_size > 0 && T->conf_size <= CONF_MAX);
	T_ASSERT(T->parse_key && T->open && T->close);
	for (; T->keys[n]; n++)
		;
	T_EQ(n, 2);
	T_ASSERT(!strcmp(T->keys[0], "rate"));
	T_ASSERT(!strcmp(T->keys[1], "burst"));
	/* The name is what "xvb-NAME:" and "vNAME<devid>" are built from. */
	for (const char *p = T->name; *p; p++)
		T_ASSERT((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'));
}

static const struct {
	const char *key, *val;
	int rc;
} bad[] = {
	{ "rate", "", -EINVAL },
	{ "rate", "-1", -EINVAL },
	{ "rate", "+1", -EINVAL },
	{ "rate", " 1", -EINVAL },
	{ "rate", "1 ", -EINVAL },
	{ "rate", "0x10", -EINVAL },
	{ "rate", "1x", -EINVAL },
	{ "rate", "1KK", -EINVAL },
	{ "rate", "1G", -EINVAL },
	{ "rate", "K", -EINVAL },
	{ "rate", "1.5K", -EINVAL },
	{ "rate", "1025M", -ERANGE },
	{ "rate", "1073741825", -ERANGE },
	{ "rate", "99999999999999999999999999", -ERANGE },
	{ "rate", "18446744073709551617", -ERANGE },
	{ "burst", "0", -ERANGE },
	{ "burst", "0K", -ERANGE },
	{ "burst", "17M", -ERANGE },
	{ "burst", "16777217", -ERANGE },
	{ "burst", "", -EINVAL },
	{ "burst", "4k,", -EINVAL },
	{ "queues", "1", -EINVAL },
};

/* Each bad value: its errno, a message naming the key, the conf untouched. */
static void parse_bad(void)
{
	uint8_t conf[CONF_MAX], before[CONF_MAX];
	char err[256];

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(conf, 0, sizeof(conf));
		T->conf_init(conf);
		memcpy(before, conf, sizeof(conf));
		err[0] = 0;
		if (T->parse_key(conf, bad[i].key, bad[i].val, err,
				 sizeof(err)) != bad[i].rc) {
			t_fail(__FILE__, __LINE__, "%s=%s: not %d", bad[i].key,
			       bad[i].val, bad[i].rc);
			return;
		}
		T_ASSERT(strstr(err, bad[i].key));
		T_ASSERT(!memcmp(conf, before, sizeof(conf)));
	}
	/* A message longer than the buffer is cut, NUL-terminated. */
	memset(err, 'x', sizeof(err));
	T_EQ(T->parse_key(conf, "rate", "bogus", err, 8), -EINVAL);
	T_EQ(strlen(err), 7);
}

/*
 * Good values, checked by their effect on a device: the rate and burst a
 * parsed conf gives. Opened through the entry with a fake environment.
 */
struct env_rig {
	struct fakeguest *fg;
	struct evl loop;
	struct xvb_devenv env;
	void *dev;
	struct vdev *vdev;
};

static int env_open(struct env_rig *e, const void *conf)
{
	memset(e, 0, sizeof(*e));
	e->fg = fg_new(16u << 20);
	if (!e->fg || evl_init(&e->loop, 16))
		return -1;
	e->env = (struct xvb_devenv){
		.gm = &e->fg->gmem,
		.loop = &e->loop,
		.queues = 0,
		.poll_us = -1,
		.coalesce_us = -1,
		.domid = 4,
		.devid = 0,
		.name = "vrng0",
	};
	return T->open(&e->dev, &e->vdev, conf, &e->env);
}

static int env_close(struct env_rig *e)
{
	bool leak;

	T->close(e->dev);
	leak = e->fg && (fg_live(e->fg) || !fg_ok(e->fg));
	evl_exit(&e->loop);
	fg_free(e->fg);
	return leak ? -1 : 0;
}

static void open_close(void)
{
	uint8_t conf[CONF_MAX] = { 0 };
	struct env_rig e;
	struct gdrv drv;
	char err[128];
	int fds = t_count_fds(0);

	T->conf_init(conf);
	T_EQ(T->parse_key(conf, "rate", "16K", err, sizeof(err)), 0);
	T_EQ(T->parse_key(conf, "burst", "1k", err, sizeof(err)), 0);
	if (T->check)
		T_EQ(T->check(conf, err, sizeof(err)), 0);
	T_EQ(env_open(&e, conf), 0);
	T_ASSERT(e.dev && e.vdev);
	T_EQ(e.vdev->ops->device_id, VIRTIO_ID_RNG);
	gdrv_init(&drv, e.vdev, e.fg);
	T_EQ(gdrv_up(&drv, ~0ULL, 1, 16), 0);
	/* burst=1k: a 4 KiB buffer gets 1 KiB. */
	{
		uint64_t buf = fg_alloc(e.fg, 4096, 4096);
		struct gdrv_buf b = { buf, 4096, true };
		uint16_t h;
		uint32_t len = 0;

		T_ASSERT(gdrv_add(&drv, 0, &b, 1, 0) >= 0);
		gdrv_kick(&drv, 0);
		T_EQ(evl_drain(&e.loop, t_hang_ms()), 0);
		T_EQ(gdrv_get_used(&drv, 0, &h, &len), 1);
		T_EQ(len, 1024);
	}
	if (T->log_state)
		T->log_state(e.dev);
	gdrv_fini(&drv);
	T_EQ(env_close(&e), 0);
	T_EQ(t_count_fds(0), fds);
	T->close(NULL); /* accepts NULL */
}

/* The defaults: 64 KiB/s with a 64 KiB burst, and 0 means no limit. */
static void defaults_and_zero(void)
{
	uint8_t a[CONF_MAX] = { 0 }, b[CONF_MAX] = { 0 };
	char err[128];

	T->conf_init(a);
	T->conf_init(b);
	T_EQ(T->parse_key(b, "rate", "64K", err, sizeof(err)), 0);
	T_EQ(T->parse_key(b, "burst", "65536", err, sizeof(err)), 0);
	T_ASSERT(!memcmp(a, b, T->conf_size));
	T_EQ(T->parse_key(b, "rate", "0", err, sizeof(err)), 0);
	T_ASSERT(memcmp(a, b, T->conf_size));
	T_EQ(T->parse_key(b, "rate", "1024M", err, sizeof(err)), 0);
	T_EQ(T->parse_key(b, "burst", "16M", err, sizeof(err)), 0);
}

T_MAIN(T_CASE(entry), T_CASE(parse_bad), T_CASE(open_close),
       T_CASE(defaults_and_zero))
