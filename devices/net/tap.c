// SPDX-License-Identifier: MIT
/*
 * The TAP behind a virtio-net device: opened (or adopted) with a 12-byte
 * little-endian vnet header, brought up, sized and bridged, and undone at
 * close as far as we did it.
 */
#define LOG_MOD "vnet"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>

#include "vnet.h"

#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)

static void tap_ifr(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
}

/* One descriptor on /dev/net/tun attached to the interface @name. */
static int tap_open_queue(const char *name, bool multi, char *got)
{
	struct ifreq ifr;
	int fd, rc;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	tap_ifr(&ifr, name);
	ifr.ifr_flags = TAP_FLAGS | (multi ? IFF_MULTI_QUEUE : 0);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (got)
		snprintf(got, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;
}

/*
 * Attaches to (or creates) the interface @name with @nr queues: with more
 * than one, IFF_MULTI_QUEUE and a descriptor per queue.
 */
static int tap_create(struct vnet_tap *tap, const char *name, unsigned int nr)
{
	int fd;

	/* Absent now: TUNSETIFF creates it, and closing the fd removes it. */
	tap->created = !name[0] || !if_nametoindex(name);
	tap->multi = nr > 1;
	fd = tap_open_queue(name, tap->multi, tap->ifname);
	if (fd < 0)
		return fd;
	tap->fd = tap->qfd[0] = fd;
	tap->nr_q = 1;
	tap->own_fd = true;
	while (tap->nr_q < nr) {
		fd = tap_open_queue(tap->ifname, true, NULL);
		if (fd < 0) {
			while (tap->nr_q > 1)
				close(tap->qfd[--tap->nr_q]);
			close(tap->fd);
			tap->fd = tap->qfd[0] = -1;
			return fd;
		}
		tap->qfd[tap->nr_q++] = fd;
	}
	return 0;
}

int vnet_tap_queue(struct vnet_tap *tap, unsigned int q, bool attach)
{
	struct ifreq ifr;

	if (q >= tap->nr_q || !tap->multi)
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = attach ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	if (ioctl(tap->qfd[q], TUNSETQUEUE, &ifr))
		return -errno;
	return 0;
}

/* Checks that @fd is a TAP with a vnet header and learns its name. */
static int tap_adopt(struct vnet_tap *tap, int fd)
{
	struct ifreq ifr;
	int fl;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr))
		return errno == EBADFD ? -ENODEV : -EINVAL;
	if ((ifr.ifr_flags & TAP_FLAGS) != TAP_FLAGS)
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return -errno;
	tap->fd = tap->qfd[0] = fd;
	tap->nr_q = 1;
	tap->created = false;
	snprintf(tap->ifname, sizeof(tap->ifname), "%s", ifr.ifr_name);
	return 0;
}

/* Header size, byte order and no offloads until a driver asks for them. */
static int tap_vnet_hdr(struct vnet_tap *tap)
{
	int sz = VNET_HDR_LEN, le = 1;

	if (ioctl(tap->fd, TUNSETVNETHDRSZ, &sz))
		return -errno;
	/* virtio 1 headers are little-endian; that is native on LE hosts. */
	if (ioctl(tap->fd, TUNSETVNETLE, &le) && htole16(1) != 1)
		return -errno;
	return vnet_tap_offload(tap, 0);
}

int vnet_tap_offload(struct vnet_tap *tap, unsigned int flags)
{
	if (ioctl(tap->fd, TUNSETOFFLOAD, (unsigned long)flags))
		return -errno;
	return 0;
}

/* MTU (set from @mtu, or read), IFF_UP. @s is any socket for SIOC*. */
static int tap_link_up(struct vnet_tap *tap, int s, unsigned int mtu)
{
	struct ifreq ifr;

	tap_ifr(&ifr, tap->ifname);
	if (mtu) {
		ifr.ifr_mtu = mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr))
			return -errno;
	} else if (ioctl(s, SIOCGIFMTU, &ifr)) {
		return -errno;
	}
	tap->mtu = ifr.ifr_mtu;
	tap_ifr(&ifr, tap->ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		return -errno;
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		return -errno;
	return 0;
}

/* An rtattr of type @type in [a, a + len), or NULL. */
static const struct rtattr *tap_rta(const struct rtattr *a, int len,
				    unsigned short type)
{
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == type)
			return a;
	return NULL;
}

/*
 * The ifindex of @ifindex's master device (its bridge) by RTM_GETLINK, in
 * the caller's network namespace (/sys may show another). 0 if none.
 */
static int tap_master(int ifindex)
{
	struct {
		struct nlmsghdr n;
		struct ifinfomsg i;
	} req = {
		.n = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST,
		},
		.i = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	union {
		struct nlmsghdr n;
		char buf[8192];
	} ans;
	const struct rtattr *a;
	int s, n, master = 0;

	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return 0;
	if (send(s, &req, sizeof(req), 0) != sizeof(req))
		goto out;
	n = recv(s, &ans, sizeof(ans), 0);
	if (n < (int)NLMSG_LENGTH(sizeof(struct ifinfomsg)) ||
	    !NLMSG_OK(&ans.n, (unsigned int)n) ||
	    ans.n.nlmsg_type != RTM_NEWLINK)
		goto out;
	a = tap_rta(IFLA_RTA(NLMSG_DATA(&ans.n)), IFLA_PAYLOAD(&ans.n),
		    IFLA_MASTER);
	if (a && RTA_PAYLOAD(a) >= sizeof(uint32_t))
		memcpy(&master, RTA_DATA(a), sizeof(master));
out:
	close(s);
	return master;
}

static int tap_bridge_add(struct vnet_tap *tap, int s, const char *bridge)
{
	int err, idx = if_nametoindex(tap->ifname);
	int br = if_nametoindex(bridge);
	struct ifreq ifr;

	if (!idx)
		return -ENODEV;
	tap_ifr(&ifr, bridge);
	ifr.ifr_ifindex = idx;
	if (!ioctl(s, SIOCBRADDIF, &ifr)) {
		tap->bridged = true;
		snprintf(tap->bridge, sizeof(tap->bridge), "%s", bridge);
		return 0;
	}
	err = errno;
	/* Already a port of that bridge: fine, and not ours to undo. */
	if (err == EBUSY && br && tap_master(idx) == br)
		return 0;
	return br ? -err : -ENODEV;
}

static void tap_bridge_del(struct vnet_tap *tap, struct log_ctx *log)
{
	struct ifreq ifr;
	int s, idx = if_nametoindex(tap->ifname);

	tap->bridged = false;
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || !idx)
		goto out;
	tap_ifr(&ifr, tap->bridge);
	ifr.ifr_ifindex = idx;
	if (ioctl(s, SIOCBRDELIF, &ifr))
		log_warn(log, "%s: leaving bridge %s: %s", tap->ifname,
			 tap->bridge, strerror(errno));
out:
	if (s >= 0)
		close(s);
}

int vnet_tap_open(struct vnet_tap *tap, const struct vnet_conf *conf,
		  struct log_ctx *log)
{
	int rc, s = -1;

	memset(tap, 0, sizeof(*tap));
	tap->fd = tap->qfd[0] = -1;
	if (conf->tap_fd >= 0)
		rc = tap_adopt(tap, conf->tap_fd);
	else
		rc = tap_create(tap, conf->ifname,
				conf->nr_pairs ? conf->nr_pairs : 1);
	if (rc) {
		log_err(log, "TAP %s: %s", conf->ifname, strerror(-rc));
		return rc;
	}
	rc = tap_vnet_hdr(tap);
	if (rc)
		goto err_close;
	/* Any socket family answers the interface ioctls. */
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		rc = -errno;
		goto err_close;
	}
	rc = tap_link_up(tap, s, conf->mtu);
	if (rc)
		goto err_close;
	if (conf->bridge[0]) {
		rc = tap_bridge_add(tap, s, conf->bridge);
		if (rc)
			goto err_close;
	}
	close(s);
	return 0;

err_close:
	log_err(log, "TAP %s setup%s%s: %s", tap->ifname,
		conf->bridge[0] ? ", bridge " : "", conf->bridge,
		strerror(-rc));
	if (s >= 0)
		close(s);
	/* An adopted descriptor stays the caller's on failure. */
	while (tap->nr_q > 1)
		close(tap->qfd[--tap->nr_q]);
	if (tap->own_fd)
		close(tap->fd);
	tap->fd = tap->qfd[0] = -1;
	return rc;
}

void vnet_tap_close(struct vnet_tap *tap, struct log_ctx *log)
{
	if (tap->fd < 0)
		return;
	/* A TAP we created goes with its descriptor, bridge port included. */
	if (tap->bridged && !(tap->created && tap->own_fd))
		tap_bridge_del(tap, log);
	while (tap->nr_q > 1)
		close(tap->qfd[--tap->nr_q]);
	if (tap->own_fd)
		close(tap->fd);
	tap->fd = tap->qfd[0] = -1;
}
