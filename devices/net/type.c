// SPDX-License-Identifier: MIT
/*
 * virtio-net's registry entry: its spec keys (bridge, ifname, mac), their
 * checks, the defaults that depend on where the NIC is (its TAP's name, a
 * stable MAC, the bridge of a guest xl made), and opening it on a TAP.
 */
#define LOG_MOD "net"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "devices/devtype.h"
#include "net.h"
#include "lib/compiler.h"
#include "lib/log.h"

/* The bridge of a NIC xl made when xvbd.conf names none. */
#define VNET_DEFAULT_BRIDGE "xenbr0"
/* Interrupt moderation of transmit completions (us). */
#define VNET_DEFAULT_COALESCE_US 200u

struct vnet_tconf {
	char bridge[IFNAMSIZ]; /* "" with has_bridge: none */
	char ifname[IFNAMSIZ]; /* the TAP's name; "": vxb<domid>.<devid> */
	uint8_t mac[6];
	bool has_bridge, has_mac;
};

static const char *const vnet_keys[] = { "bridge", "ifname", "mac", NULL };
/* A plain bridge in [guest NAME] is every NIC's of the guest. */
static const char *const vnet_guest_keys[] = { "bridge", NULL };

static int vnet_fail(char *err, size_t errlen, const char *fmt, ...)
	__printf(3, 4);
static int vnet_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "aa:bb:cc:dd:ee:ff", unicast: a NIC needs a unicast address. */
static int vnet_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		/* sscanf's %x would take a sign or a space. */
		if (!isxdigit((unsigned char)s[3 * i]) ||
		    !isxdigit((unsigned char)s[3 * i + 1]))
			return -EINVAL;
		mac[i] = b[i];
	}
	return mac[0] & 1 ? -EINVAL : 0;
}

/* An interface name: fits IFNAMSIZ, nothing a path or a spec would split. */
static bool vnet_ifname_ok(const char *s)
{
	return s[0] && strlen(s) < IFNAMSIZ && !strpbrk(s, ",/ \t:\n") &&
	       strcmp(s, ".") && strcmp(s, "..");
}

static int vnet_parse_key(void *conf, const char *key, const char *val,
			  char *err, size_t errlen)
{
	struct vnet_tconf *c = conf;

	if (!strcmp(key, "bridge")) {
		/* "none": leave the TAP alone, for a hotplug script. */
		if (strcmp(val, "none") && !vnet_ifname_ok(val))
			return vnet_fail(
				err, errlen,
				"bridge must be an interface name (at most 15 characters, no spaces, '/', ',' or ':') or none");
		snprintf(c->bridge, sizeof(c->bridge), "%s",
			 strcmp(val, "none") ? val : "");
		c->has_bridge = true;
	} else if (!strcmp(key, "ifname")) {
		if (!vnet_ifname_ok(val))
			return vnet_fail(err, errlen, "bad interface name");
		snprintf(c->ifname, sizeof(c->ifname), "%s", val);
	} else if (!strcmp(key, "mac")) {
		if (vnet_parse_mac(val, c->mac))
			return vnet_fail(
				err, errlen,
				"mac must be a unicast aa:bb:cc:dd:ee:ff, not '%s'",
				val);
		c->has_mac = true;
	} else {
		return vnet_fail(err, errlen, "unknown key '%s'", key);
	}
	return 0;
}

/*
 * A locally administered unicast MAC, stable for a guest's name (or, with
 * none, its domain id) and the NIC's devid.
 */
static void vnet_derive_mac(const struct xvb_devenv *env, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	char buf[96];

	if (env->guest)
		snprintf(buf, sizeof(buf), "xvb/%s/%u", env->guest, env->devid);
	else
		snprintf(buf, sizeof(buf), "xvb/domain%d/%u", env->domid,
			 env->devid);
	for (const char *p = buf; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ULL;
	}
	for (int i = 0; i < 6; i++)
		mac[i] = h >> (8 * i);
	mac[0] = (mac[0] & 0xfc) | 0x02; /* local, unicast */
}

static int vnet_default_key(const char *key, const struct xvb_devenv *env,
			    char *val, size_t len)
{
	uint8_t m[6];

	if (!strcmp(key, "mac")) {
		vnet_derive_mac(env, m);
		snprintf(val, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
			 m[2], m[3], m[4], m[5]);
	} else if (!strcmp(key, "ifname")) {
		snprintf(val, len, "vxb%d.%u", env->domid, env->devid);
	} else if (!strcmp(key, "bridge") && env->guest) {
		/* A guest xl made; static mode attaches nothing unless told. */
		snprintf(val, len, "%s", VNET_DEFAULT_BRIDGE);
	} else {
		return -ENOENT;
	}
	return 0;
}

/* Fills @nc's TAP name, bridge and MAC from @c, else their defaults. */
static void vnet_place(struct vnet_conf *nc, const struct vnet_tconf *c,
		       const struct xvb_devenv *env)
{
	char br[IFNAMSIZ] = "";

	if (c->ifname[0])
		memcpy(nc->ifname, c->ifname, sizeof(nc->ifname));
	else
		vnet_default_key("ifname", env, nc->ifname, sizeof(nc->ifname));
	if (c->has_bridge)
		memcpy(br, c->bridge, sizeof(br));
	else
		vnet_default_key("bridge", env, br, sizeof(br));
	memcpy(nc->bridge, br, sizeof(nc->bridge));
	if (c->has_mac)
		memcpy(nc->mac, c->mac, sizeof(nc->mac));
	else
		vnet_derive_mac(env, nc->mac);
}

static void vnet_log_open(const struct log_ctx *log, const struct vnet_conf *nc)
{
	char poll[24] = "off", hold[40] = "not held";

	if (nc->poll_us)
		snprintf(poll, sizeof(poll), "every %u us", nc->poll_us);
	if (nc->coalesce_us)
		snprintf(hold, sizeof(hold), "held up to %u us",
			 nc->coalesce_us);
	log_info(
		log,
		"TAP %s%s%s, MAC %02x:%02x:%02x:%02x:%02x:%02x, %u queue pair(s), transmit polling %s, transmit interrupts %s",
		nc->ifname, nc->bridge[0] ? " on " : "", nc->bridge, nc->mac[0],
		nc->mac[1], nc->mac[2], nc->mac[3], nc->mac[4], nc->mac[5],
		nc->nr_pairs, poll, hold);
}

static int vnet_open(void **dev, struct vdev **vdev, const void *conf,
		     const struct xvb_devenv *env)
{
	struct vnet_conf nc = {
		.tap_fd = -1,
		.nr_pairs = env->queues ? env->queues : 1,
		/* Off unless asked: not yet proven on real Xen for NICs. */
		.poll_us = env->poll_us < 0 ? 0 : (unsigned int)env->poll_us,
		.coalesce_us = env->coalesce_us < 0 ?
				       VNET_DEFAULT_COALESCE_US :
				       (unsigned int)env->coalesce_us,
		.loops = env->nr_loops >= env->queues ? env->loops : NULL,
		.domid = env->domid,
		.name = env->name,
	};
	struct log_ctx log;
	struct vnet *net;
	int rc;

	log_ctx_init(&log, env->domid, env->name);
	vnet_place(&nc, conf, env);
	rc = vnet_create(&net, &nc, env->gm, env->loop);
	if (rc) {
		log_err(&log, "%s: %s", nc.ifname, strerror(-rc));
		return rc;
	}
	vnet_log_open(&log, &nc);
	*dev = net;
	*vdev = vnet_vdev(net);
	return 0;
}

static void vnet_type_close(void *dev)
{
	vnet_destroy(dev);
}

static void vnet_type_log_state(void *dev)
{
	vnet_log_state(dev);
}

const struct xvb_devtype xvb_devtype_net = {
	.name = "net",
	.virtio_id = 1, /* VIRTIO_ID_NET */
	.summary = "a NIC on a TAP, attached to a bridge",
	.keys = vnet_keys,
	.max_queues = VNET_MAX_PAIRS,
	.alias = "nic",
	.guest_keys = vnet_guest_keys,
	.unique_key = "mac",
	.conf_size = sizeof(struct vnet_tconf),
	.parse_key = vnet_parse_key,
	.default_key = vnet_default_key,
	.open = vnet_open,
	.close = vnet_type_close,
	.log_state = vnet_type_log_state,
};
