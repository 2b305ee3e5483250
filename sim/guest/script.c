// SPDX-License-Identifier: MIT
/*
 * Hostile-guest scripts for xvb-sim: a few lines of raw register accesses,
 * hand-built descriptors, waits and expectations, run by the simulated
 * guest against the real xvbd. The language is in docs/testing.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>

#include "script.h"

#define SCRATCH_LEN (64 << 10)
#define MAX_ARGS 6

struct ctx {
	struct script_dev *dev;
	struct blkdrv *b;
	bool up;
	uint64_t scratch; /* "buf": guest RAM the script may point at */
	uint64_t last;	  /* value of the last read */
	const char *file;
	unsigned int line;
	unsigned int ok, fail;
};

static void result(struct ctx *c, bool pass, const char *what)
{
	printf("%s %s:%u: %s\n", pass ? "ok" : "FAIL", c->file, c->line, what);
	if (pass)
		c->ok++;
	else
		c->fail++;
}

/* A number (decimal or 0x-hex), or buf[+N]. Returns 0 or -EINVAL. */
static int value(struct ctx *c, const char *s, uint64_t *v)
{
	char *end;

	if (!strncmp(s, "buf", 3)) {
		*v = c->scratch;
		s += 3;
		if (!*s)
			return 0;
		if (*s++ != '+')
			return -EINVAL;
		*v += strtoull(s, &end, 0);
		return *end ? -EINVAL : 0;
	}
	*v = strtoull(s, &end, 0);
	return *s && !*end ? 0 : -EINVAL;
}

static int need_up(struct ctx *c)
{
	if (c->up)
		return 0;
	result(c, false, "the device is not up ('up' first)");
	return -EINVAL;
}

/* A 4 KiB write, flush and read of block 0 through the normal driver. */
static bool canary(struct ctx *c)
{
	struct blkreq *r;
	uint32_t seed = 0xc0ffee;

	if (blkdrv_sync(c->b, VIRTIO_BLK_T_OUT, 0, 4096, seed, NULL) ||
	    blkdrv_sync(c->b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL) ||
	    blkdrv_sync(c->b, VIRTIO_BLK_T_IN, 0, 4096, 0, &r))
		return false;
	return blkdrv_data_is(c->b, r, seed);
}

static int up(struct ctx *c)
{
	struct script_dev *d = c->dev;
	int rc;

	rc = blkdrv_up(c->b, d->sim, d->domid, d->vcpu, d->base, d->spi, d->fg,
		       8, 4096);
	c->up = !rc;
	if (!c->scratch)
		c->scratch = fg_alloc(d->fg, SCRATCH_LEN, 4096);
	return rc;
}

static int step(struct ctx *c, char **av, int ac)
{
	struct gdrv *g = &c->b->drv;
	uint64_t v[MAX_ARGS] = { 0 };
	char what[160];
	int i;

	for (i = 1; i < ac; i++)
		if (value(c, av[i], &v[i]))
			return -EINVAL;
	if (!strcmp(av[0], "up") && ac == 1) {
		result(c, !up(c), "probe, negotiate, queue 0, DRIVER_OK");
	} else if (!strcmp(av[0], "reset") && ac == 1) {
		if (c->up)
			blkdrv_down(c->b);
		c->up = false;
	} else if (!strcmp(av[0], "desc") && ac == 6) {
		if (need_up(c))
			return 0;
		gdrv_raw_desc(g, 0, v[1], v[2], v[3], v[4], v[5]);
	} else if (!strcmp(av[0], "publish") && ac == 2) {
		if (need_up(c))
			return 0;
		gdrv_raw_publish(g, 0, v[1]);
	} else if (!strcmp(av[0], "kick") && ac == 1) {
		gdrv_write(g, VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0);
	} else if (!strcmp(av[0], "read") && ac == 3) {
		c->last = gdrv_read(g, v[1], v[2]);
	} else if (!strcmp(av[0], "write") && ac == 4) {
		gdrv_write(g, v[1], v[2], v[3]);
	} else if (!strcmp(av[0], "poke") && ac == 4 && v[2] <= 8) {
		fg_write(c->dev->fg, v[1], &v[3], v[2]);
	} else if (!strcmp(av[0], "irq") && ac == 2) {
		snprintf(what, sizeof(what), "interrupt within %llu ms",
			 (unsigned long long)v[1]);
		result(c,
		       !xsim_irq_wait(c->dev->sim, c->dev->domid, c->dev->spi,
				      v[1]),
		       what);
	} else if (!strcmp(av[0], "expect") && ac == 3) {
		snprintf(what, sizeof(what),
			 "0x%llx & 0x%llx == 0x%llx (read 0x%llx)",
			 (unsigned long long)c->last, (unsigned long long)v[1],
			 (unsigned long long)v[2], (unsigned long long)c->last);
		result(c, (c->last & v[1]) == v[2], what);
	} else if (!strcmp(av[0], "canary") && ac == 1) {
		if (need_up(c))
			return 0;
		result(c, canary(c), "a verified write, flush and read");
	} else {
		return -EINVAL;
	}
	if (c->b->sb.err) {
		result(c, false, "an MMIO access was not answered");
		return -EIO;
	}
	return 0;
}

int script_run(struct script_dev *dev, const char *path)
{
	struct blkdrv b = { 0 };
	struct ctx c = { .dev = dev, .b = &b, .file = path };
	char buf[256], *av[MAX_ARGS + 1], *save;
	FILE *f = fopen(path, "r");
	int ac, rc = 0;

	if (!f) {
		fprintf(stderr, "xvb-sim: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (!rc && fgets(buf, sizeof(buf), f)) {
		char *hash = strchr(buf, '#');

		c.line++;
		if (hash)
			*hash = '\0';
		ac = 0;
		for (char *t = strtok_r(buf, " \t\n", &save);
		     t && ac <= MAX_ARGS; t = strtok_r(NULL, " \t\n", &save))
			av[ac++] = t;
		if (!ac)
			continue;
		rc = ac > MAX_ARGS ? -EINVAL : step(&c, av, ac);
		if (rc == -EINVAL) {
			fprintf(stderr, "xvb-sim: %s:%u: cannot parse '%s'\n",
				path, c.line, av[0]);
			c.fail++;
		}
	}
	fclose(f);
	if (c.up)
		blkdrv_down(&b);
	return c.fail ? -EPROTO : 0;
}
