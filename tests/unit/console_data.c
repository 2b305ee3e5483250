// SPDX-License-Identifier: MIT
/*
 * virtio-console data: bytes both ways byte for byte, large and cut into
 * many buffers; a client that stops reading stalls the guest's transmitq
 * with nothing growing and resumes when it reads; a guest without receive
 * buffers (or with its port closed) leaves the socket unread and loses
 * nothing; a port with no client drops what the guest writes.
 */
#include "console_rig.h"

#define BIG (1u << 20)

static uint8_t src[4 * BIG], dst[4 * BIG];

/* Opens port @i from the guest's side, with a client connected. */
static int open_both(struct crig *r, unsigned int i, int *c)
{
	*c = cr_connect(r, i);
	T_CHECK(*c >= 0);
	T_CHECK(CR_WAIT(r, r->gp[i].host_open == 1));
	T_CHECK(!cr_send(r, i, VIRTIO_CONSOLE_PORT_OPEN, 1));
	return 0;
}

/* 1 MiB each way at once, in chains of up to 3 buffers, byte for byte. */
static void both_ways(void)
{
	struct crig_opts o = { .ports = "a:b:c" };
	struct crig r CRIG_SCOPED = { 0 };
	static uint8_t down[BIG], got[BIG];
	size_t queued = 0, sent = 0, at_host = 0, at_guest = 0;
	unsigned int posted = 0;
	int c;

	T_CR_START(&r, &o);
	T_ASSERT(!open_both(&r, 2, &c));
	cr_pattern(src, BIG, 21);
	cr_pattern(down, BIG, 22);
	T_ASSERT(CR_WAIT(&r, ({
		ssize_t n;
		unsigned int got_n;

		if (queued < BIG)
			queued += cr_guest_write(&r, 2, src + queued,
						 BIG - queued, 4093, 3);
		cr_tx_done(&r, 2);
		cr_read_some(c, dst, &at_host, BIG);
		if (sent < BIG &&
		    (n = send(c, down + sent, BIG - sent, MSG_DONTWAIT)) > 0)
			sent += n;
		got_n = cr_guest_read(&r, 2, got, &at_guest, BIG);
		posted -= got_n;
		while (posted < 48 && !cr_guest_post(&r, 2, 1, 997))
			posted++;
		at_host == BIG &&at_guest == BIG;
	})));
	T_ASSERT(!memcmp(dst, src, BIG));
	T_ASSERT(!memcmp(got, down, BIG));
	T_EQ(cr_stats(&r).tx_bytes, BIG);
	T_EQ(cr_stats(&r).rx_bytes, BIG);
	T_EQ(cr_stats(&r).tx_dropped, 0);
	T_ASSERT(!cr_needs_reset(&r));
	close(c);
	T_CR_FINI(&r);
}

/*
 * The client stops reading: the socket fills, the device holds one chain
 * and the guest's ring fills behind it; nothing grows while it waits. Once
 * the client reads, every byte arrives in order and every chain completes.
 */
static void client_stops_reading(void)
{
	struct crig_opts o = { .ports = "slow", .num = 32 };
	struct crig r CRIG_SCOPED = { 0 };
	const size_t total = sizeof(src);
	size_t queued = 0, at = 0;
	unsigned int done = 0;
	uint64_t sent;
	int c;

	T_CR_START(&r, &o);
	T_ASSERT(!open_both(&r, 0, &c));
	cr_pattern(src, total, 31);
	/*
	 * Write until the ring is full and stays so: no chain completed
	 * over three turns of 30 ms (the socket is full: nobody reads).
	 */
	T_ASSERT(CR_WAIT(&r, ({
		unsigned int quiet = 0, n;

		queued += cr_guest_write(&r, 0, src + queued, total - queued,
					 8192, 2);
		while (quiet < 3) {
			cr_settle(&r, 30);
			n = cr_tx_done(&r, 0);
			done += n;
			if (n)
				break;
			quiet++;
		}
		quiet == 3 && r.drv.vqs[cr_txq(0)].num_free < 2;
	})));
	T_ASSERT(queued < total); /* the socket did not take it all */
	sent = cr_stats(&r).tx_bytes;
	/* At most one chain (two buffers) held, one send in flight. */
	T_ASSERT(fg_live(r.fg) <= r.baseline + 2);
	T_ASSERT(r.loop.inflight <= r.idle_ops + 3);
	/* Nothing grows while the client does not read. */
	cr_settle(&r, 50);
	done += cr_tx_done(&r, 0);
	T_ASSERT(fg_live(r.fg) <= r.baseline + 2);
	T_ASSERT(r.loop.inflight <= r.idle_ops + 3);
	T_ASSERT(cr_stats(&r).tx_bytes >= sent);
	/* The client reads again: everything flows, in order. */
	T_ASSERT(CR_WAIT(&r, ({
		if (queued < total)
			queued += cr_guest_write(&r, 0, src + queued,
						 total - queued, 8192, 2);
		done += cr_tx_done(&r, 0);
		cr_read_some(c, dst, &at, total);
		at == total;
	})));
	T_ASSERT(!memcmp(dst, src, total));
	T_ASSERT(CR_WAIT(&r, (done += cr_tx_done(&r, 0),
			      fg_live(r.fg) == r.baseline)));
	T_EQ(cr_stats(&r).tx_dropped, 0);
	close(c);
	T_CR_FINI(&r);
}

/*
 * The guest posts no receive buffers: the device does not read the socket
 * (the client's sends fill it and stop), and nothing is lost: once buffers
 * come, every byte arrives.
 */
static void guest_posts_nothing(void)
{
	struct crig_opts o = { .ports = "in" };
	struct crig r CRIG_SCOPED = { 0 };
	size_t sent = 0, at = 0;
	unsigned int posted = 0;
	ssize_t n;
	int c;

	T_CR_START(&r, &o);
	T_ASSERT(!open_both(&r, 0, &c));
	cr_pattern(src, sizeof(src), 41);
	/* Send until the socket is full: nobody reads it. */
	T_ASSERT(CR_WAIT(&r, ({
		while ((n = send(c, src + sent, sizeof(src) - sent,
				 MSG_DONTWAIT)) > 0)
			sent += n;
		n < 0 && errno == EAGAIN;
	})));
	cr_settle(&r, 50);
	T_EQ(cr_stats(&r).rx_bytes, 0);
	T_EQ(send(c, src + sent, 1, MSG_DONTWAIT), -1);
	T_EQ(errno, EAGAIN);
	T_EQ(fg_live(r.fg), r.baseline);
	T_ASSERT(CR_WAIT(&r, ({
		unsigned int got_n;

		if ((n = send(c, src + sent, sizeof(src) - sent,
			      MSG_DONTWAIT)) > 0)
			sent += n;
		got_n = cr_guest_read(&r, 0, dst, &at, sizeof(dst));
		posted -= got_n;
		while (posted < 60 && !cr_guest_post(&r, 0, 1, 4096))
			posted++;
		at == sizeof(src);
	})));
	T_ASSERT(!memcmp(dst, src, sizeof(src)));
	close(c);
	T_CR_FINI(&r);
}

/*
 * Bytes a client sends while the guest's port is closed wait in the socket
 * (buffers posted or not), and arrive once the guest opens it.
 */
static void held_until_guest_opens(void)
{
	struct crig_opts o = { .ports = "x:y" };
	struct crig r CRIG_SCOPED = { 0 };
	static const char msg[] = "early bytes, kept for the guest";
	size_t at = 0;
	int c;

	T_CR_START(&r, &o);
	c = cr_connect(&r, 1);
	T_ASSERT(c >= 0);
	T_ASSERT(CR_WAIT(&r, r.gp[1].host_open == 1));
	T_ASSERT(!cr_guest_post(&r, 1, 4, 128));
	T_EQ(send(c, msg, sizeof(msg), 0), (long)sizeof(msg));
	cr_settle(&r, 50);
	T_EQ(cr_guest_read(&r, 1, dst, &at, sizeof(dst)), 0);
	T_ASSERT(!cr_send(&r, 1, VIRTIO_CONSOLE_PORT_OPEN, 1));
	T_ASSERT(CR_WAIT(&r, (cr_guest_read(&r, 1, dst, &at, sizeof(dst)),
			      at == sizeof(msg))));
	T_ASSERT(!memcmp(dst, msg, sizeof(msg)));
	/* Closed again: a read already posted is cancelled, nothing lost. */
	T_ASSERT(!cr_send(&r, 1, VIRTIO_CONSOLE_PORT_OPEN, 0));
	T_ASSERT(CR_WAIT(&r, cr_eof(c))); /* and the client is told */
	close(c);
	T_CR_FINI(&r);
}

/* No client: the guest's writes complete, dropped and counted. */
static void no_client_drops(void)
{
	struct crig_opts o = { .ports = "void" };
	struct crig r CRIG_SCOPED = { 0 };
	unsigned int done = 0;

	T_CR_START(&r, &o);
	cr_pattern(src, 100000, 51);
	T_EQ(cr_guest_write(&r, 0, src, 100000, 5000, 2), 100000);
	T_ASSERT(CR_WAIT(&r, (done += cr_tx_done(&r, 0)) == 20));
	T_EQ(cr_stats(&r).tx_dropped, 100000);
	T_EQ(cr_stats(&r).tx_bytes, 0);
	T_EQ(fg_live(r.fg), r.baseline);
	T_CR_FINI(&r);
}

/*
 * The client goes away while the guest writes into a full socket: the
 * guest hears PORT_OPEN 0, its chains complete (dropped), nothing stalls;
 * a new client then gets what the guest writes next.
 */
static void client_gone_mid_write(void)
{
	struct crig_opts o = { .ports = "gone" };
	struct crig r CRIG_SCOPED = { 0 };
	static const char msg[] = "for the next client";
	size_t queued = 0, at = 0;
	unsigned int done = 0;
	int c;

	T_CR_START(&r, &o);
	T_ASSERT(!open_both(&r, 0, &c));
	cr_pattern(src, sizeof(src), 61);
	T_ASSERT(CR_WAIT(&r, ({
		queued += cr_guest_write(&r, 0, src + queued,
					 sizeof(src) - queued, 16384, 1);
		done += cr_tx_done(&r, 0);
		r.drv.vqs[cr_txq(0)].num_free == 0;
	})));
	close(c);
	T_ASSERT(CR_WAIT(&r, r.gp[0].host_open == 0));
	T_ASSERT(CR_WAIT(&r, (done += cr_tx_done(&r, 0),
			      r.drv.vqs[cr_txq(0)].num_free == 64)));
	T_ASSERT(cr_stats(&r).tx_dropped > 0);
	T_EQ(fg_live(r.fg), r.baseline);
	c = cr_connect(&r, 0);
	T_ASSERT(c >= 0);
	T_ASSERT(CR_WAIT(&r, r.gp[0].host_open == 1));
	cr_guest_write(&r, 0, (const uint8_t *)msg, sizeof(msg), 64, 1);
	T_ASSERT(CR_WAIT(&r, (cr_read_some(c, dst, &at, sizeof(dst)),
			      at == sizeof(msg))));
	T_ASSERT(!memcmp(dst, msg, sizeof(msg)));
	close(c);
	T_CR_FINI(&r);
}

/*
 * A client sends and leaves at once, the guest reading but short of
 * buffers: every byte it sent reaches the guest, which hears it left.
 */
static void client_sends_and_leaves(void)
{
	struct crig_opts o = { .ports = "burst" };
	struct crig r CRIG_SCOPED = { 0 };
	const size_t total = 64 << 10; /* fits the socket: sent at once */
	unsigned int posted = 0;
	size_t at = 0;
	int c;

	T_CR_START(&r, &o);
	T_ASSERT(!open_both(&r, 0, &c));
	T_ASSERT(!cr_guest_post(&r, 0, 1, 512)); /* a read in flight */
	posted = 1;
	T_ASSERT(CR_WAIT(&r, cr_stats(&r).ctrl_out >= 3));
	cr_pattern(src, total, 71);
	T_EQ(send(c, src, total, 0), (long)total);
	close(c);
	/* The one buffer filled; the hang-up seen with none posted. */
	T_ASSERT(CR_WAIT(&r, cr_stats(&r).rx_bytes == 512));
	cr_settle(&r, 20);
	T_ASSERT(r.gp[0].host_open == 1);
	T_ASSERT(CR_WAIT(&r, ({
		posted -= cr_guest_read(&r, 0, dst, &at, total);
		while (posted < 8 && !cr_guest_post(&r, 0, 1, 3000))
			posted++;
		at == total &&r.gp[0].host_open == 0;
	})));
	T_ASSERT(!memcmp(dst, src, total));
	T_CR_FINI(&r);
}

/*
 * A client that sent and left while the guest keeps its port open and
 * posts no buffers does not keep the next one out for good: it gives way.
 */
static void departed_client_gives_way(void)
{
	struct crig_opts o = { .ports = "p" };
	struct crig r CRIG_SCOPED = { 0 };
	static const char msg[] = "a tail the guest never reads";
	int c, c2 = -1;

	T_CR_START(&r, &o);
	T_ASSERT(!open_both(&r, 0, &c));
	T_EQ(send(c, msg, sizeof(msg), MSG_DONTWAIT), (ssize_t)sizeof(msg));
	close(c);
	/* Refused while the first is still there: try again until taken. */
	T_ASSERT(CR_WAIT(&r, ({
		if (c2 >= 0 && cr_eof(c2)) {
			close(c2);
			c2 = -1;
		}
		if (c2 < 0)
			c2 = cr_connect(&r, 0);
		cr_stats(&r).clients == 2;
	})));
	T_EQ(cr_stats(&r).rx_bytes, 0);
	close(c2);
	T_CR_FINI(&r);
}

T_MAIN(T_CASE(both_ways), T_CASE(client_sends_and_leaves),
       T_CASE(client_stops_reading), T_CASE(guest_posts_nothing),
       T_CASE(held_until_guest_opens), T_CASE(no_client_drops),
       T_CASE(client_gone_mid_write), T_CASE(departed_client_gives_way))
