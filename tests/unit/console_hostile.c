// SPDX-License-Identifier: MIT
/*
 * virtio-console against a hostile driver: control messages that are
 * short, name ports that are not there, carry events only a device sends
 * or none at all, or open ports not ready, are ignored and counted, and the
 * device goes on; receive and control buffers it cannot write fail the
 * device (NEEDS_RESET) until a reset; neither a flapping client nor a
 * flood of messages makes the device queue control messages without bound.
 */
#include "console_rig.h"

/* Port @i moves a few bytes each way: the device still works. */
static int canary(struct crig *r, unsigned int i)
{
	static const char down[] = "to the guest", up[] = "to dom0";
	char got[64];
	size_t at = 0;
	int c = cr_connect(r, i);

	T_CHECK(c >= 0);
	T_CHECK(CR_WAIT(r, r->gp[i].host_open == 1));
	T_CHECK(!cr_send(r, i, VIRTIO_CONSOLE_PORT_OPEN, 1));
	T_CHECK(!cr_guest_post(r, i, 2, 64));
	T_CHECK(send(c, down, sizeof(down), 0) == sizeof(down));
	T_CHECK(CR_WAIT(r,
			(cr_guest_read(r, i, (uint8_t *)got, &at, sizeof(got)),
			 at == sizeof(down))));
	T_CHECK(!memcmp(got, down, sizeof(down)));
	at = 0;
	cr_guest_write(r, i, (const uint8_t *)up, sizeof(up), 64, 1);
	T_CHECK(CR_WAIT(r, (cr_read_some(c, (uint8_t *)got, &at, sizeof(got)),
			    at == sizeof(up))));
	T_CHECK(!memcmp(got, up, sizeof(up)));
	close(c);
	T_CHECK(CR_WAIT(r, r->gp[i].host_open == 0));
	return 0;
}

struct bad_msg {
	const char *what;
	uint32_t len; /* bytes of the message sent */
	uint32_t id;
	uint16_t event, value;
};

/* Every one is ignored, counted, and leaves the device working. */
static const struct bad_msg bad_msgs[] = {
	{ "empty", 0, 0, 0, 0 },
	{ "1 byte", 1, 0, VIRTIO_CONSOLE_PORT_OPEN, 1 },
	{ "7 bytes", 7, 0, VIRTIO_CONSOLE_PORT_OPEN, 1 },
	{ "id past max_nr_ports", 8, 2, VIRTIO_CONSOLE_PORT_OPEN, 1 },
	{ "id ~0", 8, ~0u, VIRTIO_CONSOLE_PORT_READY, 1 },
	{ "id 2^31", 8, 1u << 31, VIRTIO_CONSOLE_PORT_OPEN, 0 },
	{ "PORT_ADD from the guest", 8, 0, VIRTIO_CONSOLE_PORT_ADD, 1 },
	{ "PORT_REMOVE", 8, 0, VIRTIO_CONSOLE_PORT_REMOVE, 1 },
	{ "CONSOLE_PORT", 8, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1 },
	{ "RESIZE", 8, 0, VIRTIO_CONSOLE_RESIZE, 0 },
	{ "PORT_NAME", 8, 1, VIRTIO_CONSOLE_PORT_NAME, 0 },
	{ "event 8", 8, 0, 8, 1 },
	{ "event 0xffff", 8, 1, 0xffff, 0xffff },
	{ "PORT_OPEN 2", 8, 1, VIRTIO_CONSOLE_PORT_OPEN, 2 },
	{ "PORT_OPEN 0xffff", 8, 0, VIRTIO_CONSOLE_PORT_OPEN, 0xffff },
};

static void bad_control_messages(void)
{
	struct crig_opts o = { .ports = "p0:p1" };
	struct crig r CRIG_SCOPED = { 0 };
	uint8_t m[16];

	T_CR_START(&r, &o);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_msgs); i++) {
		const struct bad_msg *b = &bad_msgs[i];
		uint64_t bad = cr_stats(&r).ctrl_bad;
		uint64_t out = cr_stats(&r).ctrl_out;
		uint32_t id = htole32(b->id);
		uint16_t ev = htole16(b->event), val = htole16(b->value);

		memset(m, 0x5a, sizeof(m));
		memcpy(m, &id, 4);
		memcpy(m + 4, &ev, 2);
		memcpy(m + 6, &val, 2);
		T_ASSERT(!cr_send_raw(&r, m, b->len));
		if (!CR_WAIT(&r, cr_stats(&r).ctrl_out == out + 1)) {
			t_fail(__FILE__, __LINE__, "%s: not taken", b->what);
			return;
		}
		if (cr_stats(&r).ctrl_bad != bad + 1 || cr_needs_reset(&r)) {
			t_fail(__FILE__, __LINE__, "%s: not ignored", b->what);
			return;
		}
	}
	T_EQ(r.ctrl_unknown, 0); /* the device answered none of them */
	T_ASSERT(!canary(&r, 1));
	T_ASSERT(!canary(&r, 0));
	T_CR_FINI(&r);
}

/*
 * The guest's messages before the device told it of the port: PORT_OPEN
 * and PORT_READY for a port not added, PORT_OPEN for one added but not
 * ready. DEVICE_READY 0 adds nothing.
 */
static void messages_out_of_order(void)
{
	struct crig_opts o = { .ports = "late",
			       .manual_ready = true,
			       .no_up = true };
	struct crig r CRIG_SCOPED = { 0 };

	T_CR_START(&r, &o);
	T_CR(&r, gdrv_up(&r.drv,
			 CR_F(VIRTIO_F_VERSION_1) |
				 CR_F(VIRTIO_CONSOLE_F_MULTIPORT),
			 4, 64));
	r.baseline = fg_live(r.fg);
	for (unsigned int i = 0; i < CR_MAX_PORTS; i++)
		r.gp[i].host_open = -1;
	for (unsigned int i = 0; i < 8; i++)
		T_ASSERT(!cr_civ_add(&r));
	gdrv_kick(&r.drv, CR_CIVQ);
	T_ASSERT(!cr_send(&r, 0, VIRTIO_CONSOLE_PORT_OPEN, 1));
	T_ASSERT(!cr_send(&r, 0, VIRTIO_CONSOLE_PORT_READY, 1));
	T_ASSERT(!cr_send(&r, 0, VIRTIO_CONSOLE_DEVICE_READY, 0));
	T_ASSERT(CR_WAIT(&r, cr_stats(&r).ctrl_out == 3));
	T_EQ(cr_stats(&r).ctrl_bad, 2);
	cr_settle(&r, 20);
	T_EQ(r.ctrl_msgs, 0);
	T_ASSERT(!cr_send(&r, 0, VIRTIO_CONSOLE_DEVICE_READY, 1));
	T_ASSERT(CR_WAIT(&r, r.gp[0].added));
	T_ASSERT(!cr_send(&r, 0, VIRTIO_CONSOLE_PORT_OPEN, 1));
	T_ASSERT(CR_WAIT(&r, cr_stats(&r).ctrl_bad == 3));
	T_ASSERT(!r.gp[0].name[0]); /* named only once ready */
	T_ASSERT(!cr_send(&r, 0, VIRTIO_CONSOLE_PORT_READY, 1));
	T_ASSERT(CR_WAIT(&r, !strcmp(r.gp[0].name, "late")));
	T_ASSERT(!cr_needs_reset(&r));
	T_ASSERT(!canary(&r, 0));
	T_CR_FINI(&r);
}

/*
 * A client that comes and goes while the guest posts no control buffers
 * leaves at most one message owed per port, not one per event; repeated
 * DEVICE_READY and PORT_READY add nothing either.
 */
static void no_control_flood(void)
{
	struct crig_opts o = { .ports = "flap", .civ_bufs = 2 };
	struct crig r CRIG_SCOPED = { 0 };
	unsigned int msgs;
	uint64_t before;

	T_CR_START(&r, &o);
	r.hold_civ = true; /* ADD and NAME took both buffers */
	for (unsigned int i = 0; i < 50; i++) {
		uint64_t clients = cr_stats(&r).clients;
		int c = cr_connect(&r, 0);

		T_ASSERT(c >= 0);
		T_ASSERT(CR_WAIT(&r, cr_stats(&r).clients == clients + 1));
		close(c);
		/* Seen gone before the next comes (else that one is refused). */
		T_ASSERT(CR_WAIT(&r, cr_stats(&r).gone == clients + 1));
	}
	for (unsigned int i = 0; i < 20; i++) {
		T_ASSERT(!cr_send(&r, 0, VIRTIO_CONSOLE_DEVICE_READY, 1));
		T_ASSERT(!cr_send(&r, 0, VIRTIO_CONSOLE_PORT_READY, 1));
	}
	T_ASSERT(CR_WAIT(&r, cr_stats(&r).ctrl_out >= 42));
	msgs = r.ctrl_msgs;
	before = cr_stats(&r).ctrl_in;
	r.hold_civ = false;
	for (unsigned int i = 0; i < 16; i++)
		T_ASSERT(!cr_civ_add(&r));
	gdrv_kick(&r.drv, CR_CIVQ);
	cr_settle(&r, 50);
	/* The client is gone: the guest, told nothing of it, hears nothing. */
	T_ASSERT(r.ctrl_msgs - msgs <= 1);
	T_ASSERT(cr_stats(&r).ctrl_in - before <= 1);
	T_ASSERT(r.gp[0].host_open != 1);
	T_ASSERT(!canary(&r, 0));
	T_CR_FINI(&r);
}

/* More messages in one go than a run takes: all are taken, in order. */
static void control_budget(void)
{
	struct crig_opts o = { .ports = "b", .num = 128 };
	struct crig r CRIG_SCOPED = { 0 };
	uint64_t out;

	T_CR_START(&r, &o);
	out = cr_stats(&r).ctrl_out;
	for (unsigned int i = 0; i < 120; i++) {
		uint64_t gpa = cr_mem(&r, CR_COVQ, 8);
		struct virtio_console_control m = {
			.id = htole32(0),
			.event = htole16(VIRTIO_CONSOLE_PORT_OPEN),
			.value = htole16(i & 1),
		};

		fg_write(r.fg, gpa, &m, sizeof(m));
		T_ASSERT(cr_add(&r, CR_COVQ, gpa, 8, 1, false) >= 0);
	}
	gdrv_kick(&r.drv, CR_COVQ);
	T_ASSERT(CR_WAIT(&r, cr_stats(&r).ctrl_out == out + 120));
	T_EQ(cr_stats(&r).ctrl_bad, 0);
	T_ASSERT(!canary(&r, 0)); /* the last said open */
	T_CR_FINI(&r);
}

/* A receive chain with nothing writable fails the device; reset cures. */
static void readonly_receive_chain(void)
{
	struct crig_opts o = { .ports = "ro" };
	struct crig r CRIG_SCOPED = { 0 };
	uint64_t gpa;
	int c;

	T_CR_START(&r, &o);
	c = cr_connect(&r, 0);
	T_ASSERT(c >= 0);
	T_ASSERT(CR_WAIT(&r, r.gp[0].host_open == 1));
	T_ASSERT(!cr_send(&r, 0, VIRTIO_CONSOLE_PORT_OPEN, 1));
	gpa = cr_mem(&r, cr_rxq(0), 64);
	T_ASSERT(cr_add(&r, cr_rxq(0), gpa, 64, 1, false) >= 0);
	gdrv_kick(&r.drv, cr_rxq(0));
	T_ASSERT(CR_WAIT(&r, cr_needs_reset(&r)));
	T_EQ(fg_live(r.fg), r.baseline);
	close(c);
	T_ASSERT(CR_WAIT(&r, cr_stats(&r).gone == 1)); /* canary's is next */
	gdrv_reset(&r.drv);
	T_EQ(fg_live(r.fg), 0);
	T_CR(&r, crig_up(&r));
	T_ASSERT(!canary(&r, 0));
	T_CR_FINI(&r);
}

/* A control receive buffer too small for the message fails the device. */
static void small_control_buffer(void)
{
	struct crig_opts o = { .ports = "s", .no_up = true };
	struct crig r CRIG_SCOPED = { 0 };
	uint64_t gpa;

	T_CR_START(&r, &o);
	T_CR(&r, gdrv_up(&r.drv,
			 CR_F(VIRTIO_F_VERSION_1) |
				 CR_F(VIRTIO_CONSOLE_F_MULTIPORT),
			 4, 64));
	gpa = cr_mem(&r, CR_CIVQ, 64);
	T_ASSERT(cr_add(&r, CR_CIVQ, gpa, 4, 1, true) >= 0);
	gdrv_kick(&r.drv, CR_CIVQ);
	T_ASSERT(!cr_send(&r, 0, VIRTIO_CONSOLE_DEVICE_READY, 1));
	T_ASSERT(CR_WAIT(&r, cr_needs_reset(&r)));
	T_EQ(r.ctrl_msgs, 0);
	gdrv_reset(&r.drv);
	T_CR(&r, crig_up(&r));
	T_ASSERT(!canary(&r, 0));
	T_CR_FINI(&r);
}

/*
 * A port's queues waiting for a client (held off, buffers posted, kicks
 * off): a guest that notifies both again and again gets nothing popped,
 * started or armed for it. The client that comes then gets the buffers
 * posted before, with no kick of the guest's.
 */
static void kicks_while_waiting(void)
{
	struct crig_opts o = { .ports = "wait" };
	struct crig r CRIG_SCOPED = { 0 };
	static const char msg[] = "into buffers posted before";
	uint64_t out;
	char got[64];
	size_t at = 0;
	int c;

	T_CR_START(&r, &o);
	out = cr_stats(&r).ctrl_out;
	T_ASSERT(!cr_send(&r, 0, VIRTIO_CONSOLE_PORT_OPEN, 1));
	T_ASSERT(CR_WAIT(&r, cr_stats(&r).ctrl_out == out + 1));
	T_ASSERT(!cr_guest_post(&r, 0, 2, 64));
	cr_settle(&r, 20);
	for (unsigned int i = 0; i < 1000; i++) {
		gdrv_notify(&r.drv, cr_rxq(0));
		gdrv_notify(&r.drv, cr_txq(0));
	}
	cr_settle(&r, 20);
	T_EQ(fg_live(r.fg), r.baseline); /* no chain popped */
	/* In flight: the loop's own and the port's accept watch, no more. */
	T_EQ(r.loop.inflight, r.idle_ops + 1);
	T_EQ(cr_stats(&r).rx_bytes, 0);
	c = cr_connect(&r, 0);
	T_ASSERT(c >= 0);
	T_EQ(send(c, msg, sizeof(msg), 0), (long)sizeof(msg));
	T_ASSERT(CR_WAIT(
		&r, (cr_guest_read(&r, 0, (uint8_t *)got, &at, sizeof(got)),
		     at == sizeof(msg))));
	T_ASSERT(!memcmp(got, msg, sizeof(msg)));
	T_ASSERT(!cr_needs_reset(&r));
	close(c);
	T_CR_FINI(&r);
}

T_MAIN(T_CASE(bad_control_messages), T_CASE(messages_out_of_order),
       T_CASE(no_control_flood), T_CASE(control_budget),
       T_CASE(readonly_receive_chain), T_CASE(small_control_buffer),
       T_CASE(kicks_while_waiting))
