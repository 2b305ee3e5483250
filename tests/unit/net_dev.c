// SPDX-License-Identifier: MIT
/*
 * virtio-net as a device: features offered and refused, config space (MAC,
 * link status, MTU) read-only, offloads handed to the TAP, the TAP's life
 * (created by name, adopted, bridged, deleted under the device), and the
 * control queue's RX mode, MAC table and MAC address commands.
 */
#include <linux/ethtool.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/virtio_ids.h>

#include "net_rig.h"

#define NF(bit) NR_F(VIRTIO_NET_F_##bit)
#define CFG(off) (VMMIO_CONFIG_OFF + (off))

static uint8_t frame[2048];

static const uint64_t offered =
	NF(CSUM) | NF(GUEST_CSUM) | NF(MTU) | NF(MAC) | NF(GUEST_TSO4) |
	NF(GUEST_TSO6) | NF(HOST_TSO4) | NF(HOST_TSO6) | NF(MRG_RXBUF) |
	NF(STATUS) | NF(CTRL_VQ) | NF(CTRL_RX) | NF(CTRL_MAC_ADDR) |
	NR_F(VIRTIO_F_VERSION_1) | NR_F(VIRTIO_F_ACCESS_PLATFORM) |
	NR_F(VIRTIO_RING_F_INDIRECT_DESC) | NR_F(VIRTIO_RING_F_EVENT_IDX);

/* ---- host-side helpers ---- */

/* Deletes interface @ifindex through rtnetlink, as `ip link del` does. */
static int nl_del_link(int ifindex)
{
	struct {
		struct nlmsghdr n;
		struct ifinfomsg i;
	} req = {
		.n = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = RTM_DELLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
		},
		.i = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	char buf[512];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int rc = -EIO;

	if (s < 0)
		return -errno;
	if (send(s, &req, sizeof(req), 0) == sizeof(req) &&
	    recv(s, buf, sizeof(buf), 0) >= (ssize_t)sizeof(*h) &&
	    h->nlmsg_type == NLMSG_ERROR)
		rc = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	close(s);
	return rc;
}

static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc;

	if (s < 0)
		return -errno;
	rc = ioctl(s, req, ifr) ? -errno : 0;
	close(s);
	return rc;
}

static int if_get(const char *name, unsigned long req, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	return if_ioctl(req, ifr);
}

/* An ethtool feature flag of interface @name (ETHTOOL_GTSO...). */
static int if_ethtool(const char *name, uint32_t cmd)
{
	struct ethtool_value ev = { .cmd = cmd };
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&ev;
	if (if_ioctl(SIOCETHTOOL, &ifr))
		return -1;
	return ev.data;
}

static int bridge_ctl(unsigned long req, const char *name)
{
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc;

	if (s < 0)
		return -errno;
	rc = ioctl(s, req, name) ? -errno : 0;
	close(s);
	return rc;
}

static int bridge_port(unsigned long req, const char *br, const char *port)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", br);
	ifr.ifr_ifindex = if_nametoindex(port);
	return if_ioctl(req, &ifr);
}

/* True if @ifname's master is @bridge (RTM_GETLINK: /sys is another netns). */
static bool if_master_is(const char *ifname, const char *bridge)
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
		.i = { .ifi_family = AF_UNSPEC,
		       .ifi_index = if_nametoindex(ifname) },
	};
	union {
		struct nlmsghdr n;
		char buf[8192];
	} ans;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	uint32_t master = 0;
	struct rtattr *a;
	int n = -1, len;

	if (s < 0)
		return false;
	if (send(s, &req, sizeof(req), 0) == sizeof(req))
		n = recv(s, &ans, sizeof(ans), 0);
	close(s);
	if (n < (int)NLMSG_LENGTH(sizeof(struct ifinfomsg)) ||
	    ans.n.nlmsg_type != RTM_NEWLINK)
		return false;
	len = IFLA_PAYLOAD(&ans.n);
	for (a = IFLA_RTA(NLMSG_DATA(&ans.n)); RTA_OK(a, len);
	     a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_MASTER)
			memcpy(&master, RTA_DATA(a), sizeof(master));
	return master && master == if_nametoindex(bridge);
}

/* A TAP that outlives its descriptor (TUNSETPERSIST), as admins make them. */
static int persistent_tap(char *name, bool on)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETPERSIST, on ? 1 : 0))
		rc = -errno;
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	close(fd);
	return rc;
}

/* A device on its own (no rig): conf by name, on a loop of the caller's. */
struct solo {
	struct fakeguest *fg;
	struct evl loop;
	struct vnet *net;
	int fds;
};

static int solo_create_mac(struct solo *s, struct vnet_conf *conf,
			   const uint8_t *mac)
{
	nr_netns();
	memset(s, 0, sizeof(*s));
	s->fds = t_count_fds(0);
	s->fg = fg_new(1u << 20);
	if (!s->fg || evl_init(&s->loop, 32))
		return -ENOMEM;
	conf->domid = 7;
	conf->name = "vnet-solo";
	memset(conf->mac, 0, 6);
	if (mac)
		memcpy(conf->mac, mac, 6);
	return vnet_create(&s->net, conf, &s->fg->gmem, &s->loop);
}

static int solo_create(struct solo *s, struct vnet_conf *conf)
{
	return solo_create_mac(s, conf, nr_guest_mac);
}

/* Destroys; 0 if nothing leaked. */
static int solo_destroy(struct solo *s)
{
	vnet_destroy(s->net);
	evl_exit(&s->loop);
	fg_free(s->fg);
	return t_count_fds(0) == s->fds ? 0 : -1;
}

/* ---- features and config ---- */

static void dev_features_offered(void)
{
	struct nrig_opts o = { .no_up = true };
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, &o);
	T_EQ_U64(gdrv_device_features(&r.drv), offered);
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	T_NR_FINI(&r);
}

/* No MAC in the configuration: VIRTIO_NET_F_MAC is not offered. */
static void dev_no_mac(void)
{
	struct vnet_conf conf = { .tap_fd = -1 };
	struct gdrv drv;
	struct solo s;
	NR_NEED_TAP();

	T_EQ(solo_create_mac(&s, &conf, NULL), 0);
	gdrv_init(&drv, vnet_vdev(s.net), s.fg);
	T_EQ_U64(gdrv_device_features(&drv), offered & ~NF(MAC));
	gdrv_fini(&drv);
	T_EQ(solo_destroy(&s), 0);
}

static void dev_config_space(void)
{
	struct nrig_opts o = { .mtu = 1400, .queue_size = 512 };
	struct ifreq ifr;
	struct nrig r NRIG_SCOPED = { 0 };
	uint32_t gen;

	T_NR_START(&r, &o);
	for (unsigned int i = 0; i < 6; i++)
		T_EQ(gdrv_read(&r.drv, CFG(i), 1), nr_guest_mac[i]);
	T_EQ(gdrv_read(&r.drv, CFG(6), 2), VIRTIO_NET_S_LINK_UP);
	T_EQ(gdrv_read(&r.drv, CFG(8), 2), 1);
	T_EQ(gdrv_read(&r.drv, CFG(10), 2), 1400);
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_QUEUE_NUM_MAX), 512);
	/* The TAP took the MTU too. */
	T_ASSERT(!if_get(r.ifname, SIOCGIFMTU, &ifr));
	T_EQ(ifr.ifr_mtu, 1400);
	/* Beyond mtu there is nothing (speed needs SPEED_DUPLEX). */
	T_EQ(gdrv_read(&r.drv, CFG(12), 4), 0);
	/* Read-only: MAC, status and mtu writes change nothing. */
	gen = gdrv_r32(&r.drv, VIRTIO_MMIO_CONFIG_GENERATION);
	gdrv_write(&r.drv, CFG(0), 1, 0xff);
	gdrv_write(&r.drv, CFG(4), 2, 0);
	gdrv_write(&r.drv, CFG(6), 2, 0);
	gdrv_write(&r.drv, CFG(10), 2, 9000);
	T_EQ(gdrv_read(&r.drv, CFG(0), 1), nr_guest_mac[0]);
	T_EQ(gdrv_read(&r.drv, CFG(4), 1), nr_guest_mac[4]);
	T_EQ(gdrv_read(&r.drv, CFG(6), 2), VIRTIO_NET_S_LINK_UP);
	T_EQ(gdrv_read(&r.drv, CFG(10), 2), 1400);
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	T_NR_FINI(&r);
}

/* Feature sets the spec forbids are refused at FEATURES_OK. */
static void dev_features_refused(void)
{
	static const uint64_t bad[] = {
		NF(GUEST_TSO4),
		NF(GUEST_TSO6) | NF(CSUM),
		NF(HOST_TSO4),
		NF(HOST_TSO6) | NF(GUEST_CSUM),
		NF(CTRL_RX),
		NF(CTRL_MAC_ADDR),
		NF(GUEST_UFO) | NF(GUEST_CSUM), /* never offered */
		NF(MQ) | NF(CTRL_VQ),		/* not yet offered */
	};
	struct nrig_opts o = { .no_up = true };
	uint64_t v1 = NR_F(VIRTIO_F_VERSION_1);
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, &o);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		T_EQ(gdrv_reset(&r.drv), 0);
		gdrv_add_status(&r.drv, VIRTIO_CONFIG_S_ACKNOWLEDGE |
						VIRTIO_CONFIG_S_DRIVER);
		gdrv_write_features(&r.drv, bad[i] | v1);
		T_EQ(gdrv_add_status(&r.drv, VIRTIO_CONFIG_S_FEATURES_OK) &
			     VIRTIO_CONFIG_S_FEATURES_OK,
		     0);
	}
	/* The minimum: VERSION_1 alone, and the dependencies met. */
	T_EQ(gdrv_negotiate(&r.drv, v1), 0);
	T_EQ(gdrv_negotiate(&r.drv, v1 | NF(GUEST_TSO4) | NF(GUEST_CSUM) |
					    NF(CTRL_VQ) | NF(CTRL_RX)),
	     0);
	T_NR_FINI(&r);
}

/* TUNSETOFFLOAD follows what the driver accepts, and a reset clears it. */
static void dev_offloads_follow_features(void)
{
	struct nrig_opts o = { .no_up = true };
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, &o);
	T_EQ(if_ethtool(r.ifname, ETHTOOL_GTSO), 0);
	r.o.features = 0;
	T_NR(&r, nrig_up(&r));
	T_EQ(if_ethtool(r.ifname, ETHTOOL_GTSO), 1);
	T_EQ(if_ethtool(r.ifname, ETHTOOL_GTXCSUM), 1);
	gdrv_reset(&r.drv);
	T_EQ(if_ethtool(r.ifname, ETHTOOL_GTSO), 0);
	T_EQ(if_ethtool(r.ifname, ETHTOOL_GTXCSUM), 0);
	r.o.no_features = NF(GUEST_TSO4) | NF(GUEST_TSO6);
	T_NR(&r, nrig_up(&r));
	T_EQ(if_ethtool(r.ifname, ETHTOOL_GTSO), 0);
	T_EQ(if_ethtool(r.ifname, ETHTOOL_GTXCSUM), 1);
	T_NR_FINI(&r);
}

/* ---- link status ---- */

static void dev_link_status(void)
{
	struct nrig r NRIG_SCOPED = { 0 };
	uint32_t gen, isr;

	T_NR_START(&r, NULL);
	gdrv_ack_irq(&r.drv);
	gen = gdrv_r32(&r.drv, VIRTIO_MMIO_CONFIG_GENERATION);
	vnet_set_link(r.net, false);
	T_EQ(gdrv_read(&r.drv, CFG(6), 2), 0);
	T_ASSERT(gdrv_r32(&r.drv, VIRTIO_MMIO_CONFIG_GENERATION) != gen);
	isr = gdrv_ack_irq(&r.drv);
	T_ASSERT(isr & VIRTIO_MMIO_INT_CONFIG);
	/* Unchanged: no interrupt. */
	vnet_set_link(r.net, false);
	T_EQ(gdrv_ack_irq(&r.drv), 0);
	vnet_set_link(r.net, true);
	T_EQ(gdrv_read(&r.drv, CFG(6), 2), VIRTIO_NET_S_LINK_UP);
	T_ASSERT(gdrv_ack_irq(&r.drv) & VIRTIO_MMIO_INT_CONFIG);
	T_ASSERT(!nr_needs_reset(&r));
	T_NR_FINI(&r);
}

/*
 * The TAP is deleted under a running device: the next write fails, the
 * poll reports an error, the link goes down with a config interrupt, and
 * nothing spins. Another device on another TAP carries on.
 */
static void dev_tap_deleted(void)
{
	struct nrig r NRIG_SCOPED = { 0 };
	struct nrig other NRIG_SCOPED = { 0 };
	uint16_t head;
	uint32_t len;
	int n = 0;

	T_NR_START(&r, NULL);
	T_NR_START(&other, NULL);
	/* Receive buffers, so a poll of the TAP is armed. */
	for (unsigned int i = 0; i < 64; i++)
		T_ASSERT(nr_rx_post(&r, r.rx + i * 2048, 1536, 0) >= 0);
	gdrv_kick(&r.drv, NRXQ);
	nr_settle(&r, 5);
	T_ASSERT(r.loop.inflight > r.idle_ops);
	gdrv_ack_irq(&r.drv);

	T_EQ(nl_del_link(r.ifindex), 0);
	nr_settle(&r, 20);
	T_EQ(gdrv_read(&r.drv, CFG(6), 2), 0);
	T_ASSERT(gdrv_ack_irq(&r.drv) & VIRTIO_MMIO_INT_CONFIG);
	/* Frames are dropped and completed; nothing is in flight. */
	nr_frame(frame, 600, 1, nr_host_mac);
	T_EQ(nr_tx_one(&r, NULL, frame, 600, NULL, 0, 0), 0);
	T_EQ(nr_stats(&r).tx_dropped, 1);
	for (unsigned int i = 0; i < 50; i++)
		n += evl_run_once(&r.loop, false);
	T_EQ(n, 0);
	T_EQ(r.loop.inflight, r.idle_ops);
	T_ASSERT(!nr_needs_reset(&r));

	/* The other device does not notice. */
	nr_frame(frame, 600, 2, nr_host_mac);
	T_EQ(nr_tx_one(&other, NULL, frame, 600, NULL, 0, 0), 0);
	T_EQ(nr_host_recv(&other, NULL, frame, sizeof(frame), NR_WAIT_MS), 600);
	for (unsigned int i = 0; i < 48; i++)
		T_ASSERT(nr_rx_post(&other, other.rx + i * 2048, 1536, 0) >= 0);
	gdrv_kick(&other.drv, NRXQ);
	nr_frame(frame, 600, 3, nr_guest_mac);
	T_ASSERT(!nr_host_send(&other, NULL, frame, 600));
	T_EQ(nr_collect(&other, NRXQ, &head, &len, 1), 1);
	T_EQ(len, NR_HDR + 600);
	T_EQ(gdrv_read(&other.drv, CFG(6), 2), VIRTIO_NET_S_LINK_UP);
	T_NR_FINI(&other);

	/* A reset does not bring a lost TAP back; frames still drop. */
	gdrv_reset(&r.drv);
	T_NR(&r, nrig_up(&r));
	T_EQ(gdrv_read(&r.drv, CFG(6), 2), 0);
	T_EQ(nr_tx_one(&r, NULL, frame, 600, NULL, 0, 0), 0);
	T_NR_FINI(&r);
}

/* A write fails with the TAP down (-EIO): counted, and the link stays. */
static void dev_tap_down(void)
{
	struct ifreq ifr;
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, NULL);
	T_ASSERT(!if_get(r.ifname, SIOCGIFFLAGS, &ifr));
	ifr.ifr_flags &= ~IFF_UP;
	T_ASSERT(!if_ioctl(SIOCSIFFLAGS, &ifr));
	nr_frame(frame, 600, 4, nr_host_mac);
	T_EQ(nr_tx_one(&r, NULL, frame, 600, NULL, 0, 0), 0);
	T_EQ(nr_stats(&r).tx_errors, 1);
	T_EQ(gdrv_read(&r.drv, CFG(6), 2), VIRTIO_NET_S_LINK_UP);
	ifr.ifr_flags |= IFF_UP;
	T_ASSERT(!if_ioctl(SIOCSIFFLAGS, &ifr));
	close(r.ps);
	r.ps = nr_open_ps(r.ifindex);
	T_EQ(nr_tx_one(&r, NULL, frame, 600, NULL, 0, 0), 0);
	T_EQ(nr_host_recv(&r, NULL, frame, sizeof(frame), NR_WAIT_MS), 600);
	T_NR_FINI(&r);
}

/* ---- the TAP's life ---- */

static void dev_tap_created_by_name(void)
{
	struct vnet_conf conf = { .tap_fd = -1, .mtu = 1280 };
	struct ifreq ifr;
	struct solo s;
	NR_NEED_TAP();

	snprintf(conf.ifname, sizeof(conf.ifname), "xvbn%d", getpid() % 10000);
	T_EQ(solo_create(&s, &conf), 0);
	T_ASSERT(!strcmp(vnet_ifname(s.net), conf.ifname));
	T_ASSERT(if_nametoindex(conf.ifname));
	T_ASSERT(!if_get(conf.ifname, SIOCGIFFLAGS, &ifr));
	T_ASSERT(ifr.ifr_flags & IFF_UP);
	T_ASSERT(!if_get(conf.ifname, SIOCGIFMTU, &ifr));
	T_EQ(ifr.ifr_mtu, 1280);
	T_EQ(solo_destroy(&s), 0);
	T_EQ(if_nametoindex(conf.ifname), 0);

	/* No name: the kernel picks one, and it goes too. */
	memset(&conf, 0, sizeof(conf));
	conf.tap_fd = -1;
	T_EQ(solo_create(&s, &conf), 0);
	snprintf(conf.ifname, sizeof(conf.ifname), "%s", vnet_ifname(s.net));
	T_ASSERT(conf.ifname[0] && if_nametoindex(conf.ifname));
	T_EQ(solo_destroy(&s), 0);
	T_EQ(if_nametoindex(conf.ifname), 0);
}

/* A TAP the admin made stays after the device, and leaves the bridge. */
static void dev_tap_existing_and_bridge(void)
{
	struct vnet_conf conf = { .tap_fd = -1 };
	char br[IFNAMSIZ];
	struct solo s;
	NR_NEED_TAP();

	nr_netns();
	snprintf(br, sizeof(br), "xvbbr%d", getpid() % 10000);
	snprintf(conf.ifname, sizeof(conf.ifname), "xvbp%d", getpid() % 10000);
	if (bridge_ctl(SIOCBRADDBR, br)) {
		t_skip("no bridge support (SIOCBRADDBR)");
		return;
	}
	T_EQ(persistent_tap(conf.ifname, true), 0);
	snprintf(conf.bridge, sizeof(conf.bridge), "%s", br);
	T_EQ(solo_create(&s, &conf), 0);
	T_ASSERT(if_master_is(conf.ifname, br));
	T_EQ(solo_destroy(&s), 0);
	T_ASSERT(if_nametoindex(conf.ifname));
	T_ASSERT(!if_master_is(conf.ifname, br));

	/* Already a port: fine, and left as found. */
	T_EQ(bridge_port(SIOCBRADDIF, br, conf.ifname), 0);
	T_EQ(solo_create(&s, &conf), 0);
	T_EQ(solo_destroy(&s), 0);
	T_ASSERT(if_master_is(conf.ifname, br));
	T_EQ(persistent_tap(conf.ifname, false), 0);
	T_EQ(if_nametoindex(conf.ifname), 0);

	/* A TAP we create is bridged, and goes with the device. */
	snprintf(conf.ifname, sizeof(conf.ifname), "xvbq%d", getpid() % 10000);
	T_EQ(solo_create(&s, &conf), 0);
	T_ASSERT(if_master_is(conf.ifname, br));
	T_EQ(solo_destroy(&s), 0);
	T_EQ(if_nametoindex(conf.ifname), 0);

	/* A missing bridge: refused, nothing left behind. */
	snprintf(conf.bridge, sizeof(conf.bridge), "xvbnone");
	T_EQ(solo_create(&s, &conf), -ENODEV);
	T_EQ(solo_destroy(&s), 0);
	T_EQ(if_nametoindex(conf.ifname), 0);
	T_EQ(bridge_ctl(SIOCBRDELBR, br), 0);
}

/* Bad configurations and descriptors are refused; the fd stays ours. */
static void dev_bad_conf(void)
{
	struct vnet_conf conf = { .tap_fd = -1 };
	char name[IFNAMSIZ];
	struct solo s;
	int fd;
	NR_NEED_TAP();

	conf.queue_size = 100;
	T_EQ(solo_create(&s, &conf), -EINVAL);
	T_EQ(solo_destroy(&s), 0);
	conf.queue_size = 2048;
	T_EQ(solo_create(&s, &conf), -EINVAL);
	T_EQ(solo_destroy(&s), 0);
	conf.queue_size = 0;
	conf.mtu = 67;
	T_EQ(solo_create(&s, &conf), -EINVAL);
	T_EQ(solo_destroy(&s), 0);
	conf.mtu = 0;
	T_EQ(solo_create_mac(&s, &conf, (const uint8_t[6]){ 1, 2, 3 }),
	     -EINVAL);
	T_EQ(solo_destroy(&s), 0);
	memset(conf.ifname, 'x', sizeof(conf.ifname));
	T_EQ(solo_create(&s, &conf), -EINVAL);
	T_EQ(solo_destroy(&s), 0);
	conf.ifname[0] = '\0';

	/* A TAP without vnet header, and something that is no TAP. */
	fd = nr_open_tap(name, IFF_TAP | IFF_NO_PI);
	T_ASSERT(fd >= 0);
	conf.tap_fd = fd;
	T_EQ(solo_create(&s, &conf), -EINVAL);
	T_EQ(solo_destroy(&s), 0);
	T_ASSERT(fcntl(fd, F_GETFD) >= 0);
	close(fd);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	conf.tap_fd = fd;
	T_EQ(solo_create(&s, &conf), -EINVAL);
	T_EQ(solo_destroy(&s), 0);
	T_ASSERT(fcntl(fd, F_GETFD) >= 0);
	close(fd);
}

/* ---- the control queue ---- */

/*
 * Sends a control command: class, cmd and @dlen data bytes (split after
 * the class byte if @split), and an ack area of @acklen bytes. Returns the
 * ack byte, or -errno.
 */
static int ctrl(struct nrig *r, uint8_t cls, uint8_t cmd, const void *data,
		uint32_t dlen, uint32_t acklen, bool split)
{
	uint8_t *p = fg_ptr(r->fg, r->ctl, 4096), ack;
	struct gdrv_buf b[3];
	unsigned int n = 0;
	uint16_t head;
	uint32_t len;

	p[0] = cls;
	p[1] = cmd;
	if (dlen)
		memcpy(p + 2, data, dlen);
	memset(p + 2048, 0xee, acklen);
	if (split) {
		b[n++] = (struct gdrv_buf){ r->ctl, 1, false };
		b[n++] = (struct gdrv_buf){ r->ctl + 1, 1 + dlen, false };
	} else {
		b[n++] = (struct gdrv_buf){ r->ctl, 2 + dlen, false };
	}
	if (acklen)
		b[n++] = (struct gdrv_buf){ r->ctl + 2048, acklen, true };
	if (gdrv_add(&r->drv, NCTRLQ, b, n, 0) < 0)
		return -ENOSPC;
	gdrv_kick(&r->drv, NCTRLQ);
	if (nr_collect(r, NCTRLQ, &head, &len, 1) != 1)
		return -ETIMEDOUT;
	if (!acklen)
		return len;
	for (uint32_t i = 0; i + 1 < acklen; i++)
		if (p[2048 + i])
			return -EPROTO;
	ack = p[2048 + acklen - 1];
	return len == acklen ? ack : -EPROTO;
}

/* A MAC table set: @nu unicast then @nm multicast entries. */
static uint32_t mac_table(uint8_t *d, uint32_t nu, uint32_t nm)
{
	uint32_t at = 0, le;

	le = htole32(nu);
	memcpy(d + at, &le, 4);
	at += 4;
	memset(d + at, 0x02, 6 * nu);
	at += 6 * nu;
	le = htole32(nm);
	memcpy(d + at, &le, 4);
	at += 4;
	memset(d + at, 0x01, 6 * nm);
	return at + 6 * nm;
}

static void dev_ctrl_commands(void)
{
	static const uint8_t new_mac[6] = { 0x02, 1, 2, 3, 4, 5 };
	const uint8_t ok = VIRTIO_NET_OK, err = VIRTIO_NET_ERR;
	uint8_t one = 1, zero = 0, two[2] = { 1, 1 }, d[256];
	struct nrig r NRIG_SCOPED = { 0 };
	uint32_t n;

	T_NR_START(&r, NULL);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &one, 1,
		  1, false),
	     ok);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &zero, 1,
		  1, true),
	     ok);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &one, 1,
		  4, false),
	     ok);
	/* CTRL_RX_EXTRA modes are not offered; lengths must be one byte. */
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLUNI, &one, 1, 1,
		  false),
	     err);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, two, 2, 1,
		  false),
	     err);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, NULL, 0,
		  1, false),
	     err);

	/* MAC tables: exact sizes only. */
	n = mac_table(d, 0, 0);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, n,
		  1, false),
	     ok);
	n = mac_table(d, 3, 5);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, n,
		  1, true),
	     ok);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d,
		  n - 1, 1, false),
	     err);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d,
		  n + 1, 1, false),
	     err);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, 4,
		  1, false),
	     err);
	memset(d, 0xff, 8);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, 8,
		  1, false),
	     err);

	/* The MAC address: config space follows, a reset restores it. */
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
		  new_mac, 6, 1, false),
	     ok);
	for (unsigned int i = 0; i < 6; i++)
		T_EQ(gdrv_read(&r.drv, CFG(i), 1), new_mac[i]);
	memcpy(d, new_mac, 6);
	d[0] |= 1;
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, d, 6,
		  1, false),
	     err);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
		  new_mac, 5, 1, false),
	     err);
	T_EQ(gdrv_read(&r.drv, CFG(0), 1), new_mac[0]);

	/* Unknown or unoffered classes. */
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_VLAN, 0, d, 2, 1, false), err);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MQ, 0, d, 2, 1, false), err);
	T_EQ(ctrl(&r, 0xff, 0xff, NULL, 0, 1, false), err);
	T_EQ(nr_stats(&r).ctrl_cmds, 18);
	T_EQ(nr_stats(&r).ctrl_errs, 12);
	T_ASSERT(!nr_needs_reset(&r));

	gdrv_reset(&r.drv);
	T_NR(&r, nrig_up(&r));
	T_EQ(gdrv_read(&r.drv, CFG(0), 1), nr_guest_mac[0]);
	T_NR_FINI(&r);
}

/* ---- the receive filter ---- */

enum { F_OWN, F_A, F_B, F_M, F_N, F_BCAST, F_NR };
static const uint8_t f_dst[F_NR][6] = {
	[F_OWN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, /* nr_guest_mac */
	[F_A] = { 0x02, 0, 0, 0, 0, 0x0a },
	[F_B] = { 0x02, 0, 0, 0, 0, 0x0b },
	[F_M] = { 0x01, 0x00, 0x5e, 0, 0, 0x01 },
	[F_N] = { 0x01, 0x00, 0x5e, 0, 0, 0x02 },
	[F_BCAST] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
};

/*
 * Sends a frame to each destination of f_dst, then a broadcast sentinel
 * (frames of one TAP queue arrive in order: once it is in, every frame
 * before it was passed or filtered). Returns the mask of destinations
 * the guest got, or -1.
 */
static int filter_mask(struct nrig *r, uint64_t *at)
{
	uint64_t rx_at = *at;

	static uint64_t gpa_of[1024]; /* by head */
	uint8_t f[64], tag;
	unsigned int got = 0;
	uint16_t head;
	uint32_t len;
	int h;

	for (unsigned int i = 0; i <= F_NR; i++) {
		h = nr_rx_post(r, rx_at + 2048ULL * i, 2048, 0);
		T_CHECK(h >= 0 && h < 1024);
		gpa_of[h] = rx_at + 2048ULL * i;
	}
	gdrv_kick(&r->drv, NRXQ);
	for (unsigned int i = 0; i <= F_NR; i++) {
		nr_frame(f, sizeof(f), i, f_dst[i < F_NR ? i : F_BCAST]);
		f[14] = (uint8_t)i; /* F_NR: the sentinel */
		T_CHECK(!nr_host_send(r, NULL, f, sizeof(f)));
	}
	for (;;) {
		T_CHECK(nr_collect(r, NRXQ, &head, &len, 1) == 1);
		T_CHECK(len == NR_HDR + sizeof(f));
		fg_read(r->fg, gpa_of[head] + NR_HDR + 14, &tag, 1);
		if (tag == F_NR)
			break;
		T_CHECK(tag < F_NR && !(got & (1u << tag)));
		got |= 1u << tag;
	}
	/* Buffers the filter spared stay posted: the next round's go after. */
	*at += 2048ULL * (F_NR + 1);
	return (int)got;
}

/* A MAC table of @n unicast addresses (A, then A's variants), no
 * multicast. Returns its length. */
static uint32_t uni_table(uint8_t *d, unsigned int n)
{
	uint32_t le = htole32(n);

	memcpy(d, &le, 4);
	for (unsigned int i = 0; i < n; i++) {
		memcpy(d + 4 + 6 * i, f_dst[F_A], 6);
		d[4 + 6 * i + 4] = (uint8_t)i;
	}
	le = htole32(0);
	memcpy(d + 4 + 6 * n, &le, 4);
	return 4 + 6 * n + 4;
}

#define FM(x) (1u << F_##x)
#define F_ALL ((1u << F_NR) - 1)

static void dev_rx_filter(void)
{
	static const uint8_t one = 1, zero = 0;
	const uint8_t ok = VIRTIO_NET_OK;
	uint8_t d[4 + 6 * 65 + 4 + 6];
	/* Small buffers: no guest GSO (which wants room for 64 KiB). */
	struct nrig_opts o = { .no_features = NF(GUEST_TSO4) | NF(GUEST_TSO6) };
	uint64_t le, at;
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, &o);
	/* Promiscuous from reset (Linux turns it off when it sets up). */
	at = r.rx;
	T_EQ(filter_mask(&r, &at), F_ALL);

	/* Off, empty tables: the NIC's own address and broadcast only. */
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &zero, 1,
		  1, false),
	     ok);
	gdrv_reset(&r.drv); /* the spared buffers back; the filter resets */
	T_NR(&r, nrig_up(&r));
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &zero, 1,
		  1, false),
	     ok);
	at = r.rx;
	T_EQ(filter_mask(&r, &at), FM(OWN) | FM(BCAST));
	T_EQ(nr_stats(&r).rx_filtered, 4);

	/* Tables: unicast {A}, multicast {M}. */
	le = htole32(1);
	memcpy(d, &le, 4);
	memcpy(d + 4, f_dst[F_A], 6);
	memcpy(d + 10, &le, 4);
	memcpy(d + 14, f_dst[F_M], 6);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, 20,
		  1, false),
	     ok);
	gdrv_reset(&r.drv);
	T_NR(&r, nrig_up(&r));
	/* A reset is back to promiscuous, the tables emptied. */
	at = r.rx;
	T_EQ(filter_mask(&r, &at), F_ALL);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &zero, 1,
		  1, false),
	     ok);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, 20,
		  1, false),
	     ok);
	T_EQ(filter_mask(&r, &at), FM(OWN) | FM(A) | FM(M) | FM(BCAST));

	/* All-multicast lets N in too. */
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &one, 1,
		  1, false),
	     ok);
	T_EQ(filter_mask(&r, &at), FM(OWN) | FM(A) | FM(M) | FM(N) | FM(BCAST));
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &zero, 1,
		  1, false),
	     ok);

	/* A new address for the NIC: the old one is filtered. */
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
		  f_dst[F_B], 6, 1, false),
	     ok);
	T_EQ(filter_mask(&r, &at), FM(A) | FM(B) | FM(M) | FM(BCAST));

	/* A unicast table longer than ours (65 > 64): every unicast passes;
	 * an empty multicast table then lets no multicast in. */
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d,
		  uni_table(d, 65), 1, false),
	     ok);
	T_EQ(filter_mask(&r, &at), FM(OWN) | FM(A) | FM(B) | FM(BCAST));

	/* A refused table leaves the filter as it was. */
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d, 7,
		  1, false),
	     VIRTIO_NET_ERR);
	T_EQ(filter_mask(&r, &at), FM(OWN) | FM(A) | FM(B) | FM(BCAST));

	/* Exactly 64 fit: a table, not "every unicast" (the old address is
	 * out again; B is the NIC's own). */
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d,
		  uni_table(d, 64), 1, false),
	     ok);
	T_EQ(filter_mask(&r, &at), FM(A) | FM(B) | FM(BCAST));

	/* Promiscuous again: everything. */
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &one, 1,
		  1, false),
	     ok);
	T_EQ(filter_mask(&r, &at), F_ALL);
	/* Every frame kept out was counted: 4 + 2 + 1 + 2 + 2 + 2 + 3. */
	T_EQ(nr_stats(&r).rx_filtered, 16);
	T_NR_FINI(&r);
}

/* Commands the driver did not negotiate are refused. */
static void dev_ctrl_not_negotiated(void)
{
	struct nrig_opts o = {
		.no_features = NF(CTRL_RX) | NF(CTRL_MAC_ADDR),
	};
	uint8_t one = 1, d[16];
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, &o);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &one, 1,
		  1, false),
	     VIRTIO_NET_ERR);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d,
		  mac_table(d, 0, 0), 1, false),
	     VIRTIO_NET_ERR);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
		  nr_host_mac, 6, 1, false),
	     VIRTIO_NET_ERR);
	T_EQ(gdrv_read(&r.drv, CFG(0), 1), nr_guest_mac[0]);
	T_NR_FINI(&r);
}

/* No byte for the ack, or no header: a protocol violation (NEEDS_RESET). */
static void dev_ctrl_malformed(void)
{
	uint8_t one = 1;
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, NULL);
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &one, 1,
		  0, false),
	     0);
	T_ASSERT(nr_needs_reset(&r));
	T_NR(&r, nrig_recover(&r));
	{
		struct gdrv_buf b[2] = {
			{ r.ctl, 1, false },
			{ r.ctl + 2048, 1, true },
		};
		uint16_t head;
		uint32_t len;

		T_ASSERT(gdrv_add(&r.drv, NCTRLQ, b, 2, 0) >= 0);
		gdrv_kick(&r.drv, NCTRLQ);
		T_EQ(nr_collect(&r, NCTRLQ, &head, &len, 1), 1);
		T_EQ(len, 0);
	}
	T_ASSERT(nr_needs_reset(&r));
	T_NR(&r, nrig_recover(&r));
	T_EQ(ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &one, 1,
		  1, false),
	     VIRTIO_NET_OK);
	T_NR_FINI(&r);
}

/* A flood of commands is handled in rounds, all of them answered. */
static void dev_ctrl_flood(void)
{
	struct nrig_opts o = { .num = 256 };
	uint16_t heads[256];
	uint32_t lens[256];
	uint8_t *p;
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, &o);
	p = fg_ptr(r.fg, r.ctl, 4096);
	p[0] = VIRTIO_NET_CTRL_RX;
	p[1] = VIRTIO_NET_CTRL_RX_ALLMULTI;
	p[2] = 1;
	for (unsigned int i = 0; i < 200; i++) {
		struct gdrv_buf b[2] = {
			{ r.ctl, 3, false },
			{ r.ctl + 2048 + i, 1, true },
		};

		T_ASSERT(gdrv_add(&r.drv, NCTRLQ, b, 2, GDRV_INDIRECT) >= 0);
	}
	gdrv_kick(&r.drv, NCTRLQ);
	T_EQ(nr_collect(&r, NCTRLQ, heads, lens, 200), 200);
	for (unsigned int i = 0; i < 200; i++)
		T_EQ(p[2048 + i], VIRTIO_NET_OK);
	T_EQ(nr_stats(&r).ctrl_cmds, 200);
	T_NR_FINI(&r);
}

T_MAIN(T_CASE(dev_features_offered), T_CASE(dev_no_mac),
       T_CASE(dev_config_space), T_CASE(dev_features_refused),
       T_CASE(dev_offloads_follow_features), T_CASE(dev_link_status),
       T_CASE(dev_tap_deleted), T_CASE(dev_tap_down),
       T_CASE(dev_tap_created_by_name), T_CASE(dev_tap_existing_and_bridge),
       T_CASE(dev_bad_conf), T_CASE(dev_ctrl_commands),
       T_CASE(dev_ctrl_not_negotiated), T_CASE(dev_ctrl_malformed),
       T_CASE(dev_ctrl_flood), T_CASE(dev_rx_filter))
