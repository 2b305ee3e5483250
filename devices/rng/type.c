// SPDX-License-Identifier: MIT
/*
 * virtio-rng as a registry entry (include/devices/devtype.h): its spec
 * keys, "rate" and "burst", and open/close on top of vrng_create.
 */
#define LOG_MOD "vrng"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_ids.h>

#include "devices/devtype.h"
#include "rng.h"

struct vrng_type_conf {
	uint64_t rate;	/* bytes/s; 0: no limit */
	uint64_t burst; /* bytes */
};

static const char *const vrng_keys[] = { "rate", "burst", NULL };

static void vrng_conf_init(void *p)
{
	struct vrng_type_conf *c = p;

	c->rate = VRNG_DEFAULT_RATE;
	c->burst = VRNG_DEFAULT_BURST;
}

/*
 * A byte count: decimal digits, then an optional K or M (KiB, MiB).
 * Rejects anything else (signs, spaces, hex, an empty string) with
 * -EINVAL, and values above @max with -ERANGE.
 */
static int vrng_parse_bytes(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > max) /* stops overflow: the result is too big anyway */
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p == 'K' || *p == 'k')
		mul = 1u << 10;
	else if (*p == 'M' || *p == 'm')
		mul = 1u << 20;
	if (mul > 1)
		p++;
	if (*p)
		return -EINVAL;
	if (v > max / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

static int vrng_parse_key(void *p, const char *key, const char *val, char *err,
			  size_t errlen)
{
	struct vrng_type_conf *c = p;
	bool rate = !strcmp(key, "rate");
	uint64_t max = rate ? VRNG_MAX_RATE : VRNG_MAX_BURST, v;
	int rc;

	if (!rate && strcmp(key, "burst")) {
		snprintf(err, errlen, "unknown key %s", key);
		return -EINVAL;
	}
	rc = vrng_parse_bytes(val, max, &v);
	if (!rc && !rate && !v)
		rc = -ERANGE; /* an empty bucket would never give a byte */
	if (rc) {
		snprintf(
			err, errlen,
			"%s=%s: want bytes%s up to %llu, digits with an optional K or M",
			key, val, rate ? "/s (0: no limit)" : ", at least 1,",
			(unsigned long long)max);
		return rc;
	}
	if (rate)
		c->rate = v;
	else
		c->burst = v;
	return 0;
}

static int vrng_type_open(void **dev, struct vdev **vdev, const void *p,
			  const struct xvb_devenv *env)
{
	const struct vrng_type_conf *c = p;
	struct vrng_conf conf = {
		.rate = c->rate,
		.burst = (uint32_t)c->burst,
		.domid = env->domid,
		.name = env->name,
	};
	struct vrng *rng;
	struct log_ctx log;
	int rc;

	rc = vrng_create(&rng, &conf, env->gm, env->loop);
	if (rc) {
		log_ctx_init(&log, env->domid, env->name ? env->name : "vrng");
		log_err(&log, "cannot create the device: %s", strerror(-rc));
		return rc;
	}
	*dev = rng;
	*vdev = vrng_vdev(rng);
	return 0;
}

static void vrng_type_close(void *dev)
{
	vrng_destroy(dev);
}

static void vrng_type_log_state(void *dev)
{
	vrng_log_state(dev);
}

const struct xvb_devtype xvb_devtype_rng = {
	.name = "rng",
	.virtio_id = VIRTIO_ID_RNG,
	.summary = "an entropy source: the host's getrandom(2), rate-limited",
	.keys = vrng_keys,
	.max_queues = 0,
	.guest_keys = vrng_keys, /* [guest NAME] rate = ...: all its rngs */
	.conf_size = sizeof(struct vrng_type_conf),
	.conf_init = vrng_conf_init,
	.parse_key = vrng_parse_key,
	.open = vrng_type_open,
	.close = vrng_type_close,
	.log_state = vrng_type_log_state,
};
