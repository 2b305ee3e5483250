// SPDX-License-Identifier: MIT
/*
 * virtio-net under faults: resets and teardown with frames in flight (some
 * blocked in the kernel for good), a TAP that says -EAGAIN or reaches end
 * of file, stale offloaded frames across a reset, and create/destroy
 * cycles. The TAP is swapped under the device with dup3() on its
 * descriptor (vnet_tap_fd).
 */
#include "net_rig.h"

#define NF(bit) NR_F(VIRTIO_NET_F_##bit)

static uint8_t frame[72 << 10], got[72 << 10];

/* ---- swapping the TAP ---- */

struct swap {
	int fd;	   /* the device's descriptor */
	int saved; /* the TAP it was */
};

static int swap_tap(struct nrig *r, int newfd, struct swap *s)
{
	s->fd = vnet_tap_fd(r->net);
	s->saved = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
	if (s->saved < 0 || dup3(newfd, s->fd, O_CLOEXEC) < 0)
		return -1;
	return 0;
}

static void restore_tap(struct swap *s)
{
	dup3(s->saved, s->fd, O_CLOEXEC);
	close(s->saved);
}

/* The used ring's idx as the guest sees it (valid across a reset). */
static uint16_t *used_idx_ptr(struct nrig *r, unsigned int q)
{
	return &r->drv.vqs[q].used->idx;
}

static uint16_t used_idx(struct nrig *r, unsigned int q)
{
	return le16toh(READ_ONCE(*used_idx_ptr(r, q)));
}

static int post_rx(struct nrig *r, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		T_CHECK(nr_rx_post(r, r->rx + i * 2048, 1536, 0) >= 0);
	gdrv_kick(&r->drv, NRXQ);
	return 0;
}

/* The loop makes no progress and holds nothing of the device's. */
static int idle(struct nrig *r, unsigned int turns)
{
	int n = 0;

	for (unsigned int i = 0; i < turns; i++) {
		n += evl_run_once(&r->loop, false);
		usleep(200);
	}
	T_CHECK(n == 0);
	T_CHECK(r->loop.inflight == r->idle_ops);
	return 0;
}

/* ---- reset and teardown with frames in flight ---- */

/*
 * 200 frames are submitted and the driver resets before the loop reaps a
 * completion (some rounds reap one round first): nothing reaches the old
 * used ring, nothing stays mapped, and the device works again.
 */
static void reset_with_tx_in_flight(void)
{
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, NULL);
	for (int round = 0; round < 20; round++) {
		uint16_t *used = used_idx_ptr(&r, NTXQ), before = *used, seen;

		for (unsigned int i = 0; i < 200; i++) {
			nr_frame(frame, 64 + i, round * 1000 + i, nr_host_mac);
			T_ASSERT(nr_tx_add(&r, NULL, frame, 64 + i, NULL, 0,
					   i & 1 ? GDRV_INDIRECT : 0) >= 0);
		}
		gdrv_kick(&r.drv, NTXQ);
		if (round % 4 == 3)
			evl_run_once(&r.loop, false);
		else
			T_EQ(*used, before);
		seen = *used;
		gdrv_reset(&r.drv);
		T_EQ(*used, seen);
		T_EQ(r.loop.inflight, r.idle_ops);
		T_NR(&r, nrig_recover(&r));
	}
	T_NR_FINI(&r);
}

/* Receive buffers posted and a poll armed: a reset drops them all. */
static void reset_with_rx_posted(void)
{
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, NULL);
	for (int round = 0; round < 10; round++) {
		T_NR(&r, post_rx(&r, 64));
		nr_settle(&r, 2);
		T_ASSERT(r.loop.inflight > r.idle_ops);
		T_ASSERT(fg_live(r.fg) > r.baseline);
		gdrv_reset(&r.drv);
		T_EQ(fg_live(r.fg), 0);
		T_EQ(r.loop.inflight, r.idle_ops);
		T_NR(&r, nrig_recover(&r));
	}
	T_NR_FINI(&r);
}

/*
 * The TAP becomes a blocking pipe nobody writes to: the readv stays in the
 * kernel with the guest's buffers. A reset must cancel it, reap it and
 * release them before the rings go.
 */
static void reset_cancels_blocked_read(void)
{
	struct swap s;
	struct nrig r NRIG_SCOPED = { 0 };
	int p[2];

	T_NR_START(&r, NULL);
	T_ASSERT(!pipe2(p, O_CLOEXEC));
	T_ASSERT(!swap_tap(&r, p[0], &s));
	T_NR(&r, post_rx(&r, 64));
	nr_settle(&r, 5);
	T_ASSERT(r.loop.inflight > r.idle_ops);
	T_EQ(used_idx(&r, NRXQ), 0);
	gdrv_reset(&r.drv);
	T_EQ(fg_live(r.fg), 0);
	T_EQ(r.loop.inflight, r.idle_ops);
	restore_tap(&s);
	close(p[0]);
	close(p[1]);
	T_NR(&r, nrig_recover(&r));
	T_NR_FINI(&r);
}

/* The same with the device destroyed instead (the guest went away). */
static void destroy_with_io_in_flight(void)
{
	struct swap s;
	struct nrig r NRIG_SCOPED = { 0 };
	int p[2];

	T_NR_START(&r, NULL);
	T_ASSERT(!pipe2(p, O_CLOEXEC));
	T_ASSERT(!swap_tap(&r, p[0], &s));
	close(s.saved); /* the device closes the pipe's end itself */
	T_NR(&r, post_rx(&r, 64));
	for (unsigned int i = 0; i < 100; i++) {
		nr_frame(frame, 100, i, nr_host_mac);
		T_ASSERT(nr_tx_add(&r, NULL, frame, 100, NULL, 0,
				   GDRV_INDIRECT) >= 0);
	}
	gdrv_kick(&r.drv, NTXQ);
	evl_run_once(&r.loop, false);
	close(p[0]);
	close(p[1]);
	T_NR_FINI(&r);
}

/* Devices created, used and destroyed mid-traffic, 50 times over. */
static void destroy_mid_traffic_repeatedly(void)
{
	struct nrig r NRIG_SCOPED = { 0 };

	for (int round = 0; round < 50; round++) {
		T_NR_START(&r, NULL);
		T_NR(&r, post_rx(&r, 48));
		for (unsigned int i = 0; i < 32; i++) {
			nr_frame(frame, 1514, i, nr_guest_mac);
			T_ASSERT(!nr_host_send(&r, NULL, frame, 1514));
			nr_frame(frame, 1514, i, nr_host_mac);
			T_ASSERT(nr_tx_add(&r, NULL, frame, 1514, NULL, 0, 0) >=
				 0);
		}
		gdrv_kick(&r.drv, NTXQ);
		for (int i = 0; i < round % 5; i++)
			evl_run_once(&r.loop, false);
		T_NR_FINI(&r);
	}
}

/* ---- the TAP misbehaving ---- */

/*
 * Writes meet a full non-blocking pipe: frames wait (for our POLLOUT poll
 * on kernels that return -EAGAIN, in the kernel on those that poll for
 * io_uring) without spinning; with room, all go out and complete in order.
 */
static void tx_eagain_waits_for_room(void)
{
	static uint8_t junk[1 << 16];
	uint16_t heads[64], used[64];
	uint32_t lens[64];
	uint64_t seen = 0;
	size_t full = 0;
	struct swap s;
	struct nrig r NRIG_SCOPED = { 0 };
	ssize_t k;
	int p[2], n;

	T_NR_START(&r, NULL);
	T_ASSERT(!pipe2(p, O_CLOEXEC | O_NONBLOCK));
	while ((k = write(p[1], junk, sizeof(junk))) > 0)
		full += k;
	T_ASSERT(!swap_tap(&r, p[1], &s));
	for (unsigned int i = 0; i < 64; i++) {
		nr_frame(frame, 500, 3000 + i, nr_host_mac);
		n = nr_tx_add(&r, NULL, frame, 500, NULL, 0, 0);
		T_ASSERT(n >= 0);
		heads[i] = n;
	}
	gdrv_kick(&r.drv, NTXQ);
	nr_settle(&r, 10);
	T_EQ(used_idx(&r, NTXQ), 0);
	T_ASSERT(r.loop.inflight > r.idle_ops);
	T_ASSERT(r.loop.inflight <= r.idle_ops + 64);
	for (unsigned int i = 0; i < 20; i++)
		T_EQ(evl_run_once(&r.loop, false), 0);

	/* Room again (exactly the filler is read: frames may follow it). */
	while (full &&
	       (k = read(p[0], junk,
			 full < sizeof(junk) ? full : sizeof(junk))) > 0)
		full -= k;
	T_EQ(nr_collect(&r, NTXQ, used, lens, 64), 64);
	for (unsigned int i = 0; i < 64; i++)
		T_EQ(used[i], heads[i]);
	/* Every frame once, header first; the kernel picks the order. */
	for (unsigned int i = 0; i < 64; i++) {
		unsigned int j;

		T_EQ(read(p[0], got, NR_HDR + 500), NR_HDR + 500);
		for (j = 0; j < 64; j++) {
			nr_frame(frame, 500, 3000 + j, nr_host_mac);
			if (!memcmp(got + NR_HDR, frame, 500))
				break;
		}
		T_ASSERT(j < 64 && !(seen & (1ULL << j)));
		seen |= 1ULL << j;
	}
	T_EQ(nr_stats(&r).tx_packets, 64);
	restore_tap(&s);
	close(p[0]);
	close(p[1]);
	T_NR_FINI(&r);
}

/* A reset while frames wait for POLLOUT cancels the poll. */
static void reset_with_tx_waiting(void)
{
	static uint8_t junk[1 << 16];
	struct swap s;
	struct nrig r NRIG_SCOPED = { 0 };
	int p[2];

	T_NR_START(&r, NULL);
	T_ASSERT(!pipe2(p, O_CLOEXEC | O_NONBLOCK));
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	T_ASSERT(!swap_tap(&r, p[1], &s));
	for (unsigned int i = 0; i < 16; i++) {
		nr_frame(frame, 500, i, nr_host_mac);
		T_ASSERT(nr_tx_add(&r, NULL, frame, 500, NULL, 0, 0) >= 0);
	}
	gdrv_kick(&r.drv, NTXQ);
	nr_settle(&r, 5);
	T_EQ(used_idx(&r, NTXQ), 0);
	gdrv_reset(&r.drv);
	T_EQ(fg_live(r.fg), 0);
	T_EQ(r.loop.inflight, r.idle_ops);
	restore_tap(&s);
	close(p[0]);
	close(p[1]);
	T_NR(&r, nrig_recover(&r));
	T_NR_FINI(&r);
}

/*
 * A read that returns end of file (a pipe without writer) pauses receive:
 * no spin; a kick tries once more and pauses again.
 */
static void rx_read_eof_pauses(void)
{
	struct swap s;
	struct nrig r NRIG_SCOPED = { 0 };
	int p[2];

	T_NR_START(&r, NULL);
	T_ASSERT(!pipe2(p, O_CLOEXEC | O_NONBLOCK));
	close(p[1]);
	T_ASSERT(!swap_tap(&r, p[0], &s));
	T_NR(&r, post_rx(&r, 64));
	nr_settle(&r, 5);
	T_NR(&r, idle(&r, 50));
	T_EQ(nr_stats(&r).rx_errors, 1);
	T_EQ(used_idx(&r, NRXQ), 0);
	T_ASSERT(!nr_needs_reset(&r));
	gdrv_notify(&r.drv, NRXQ);
	nr_settle(&r, 5);
	T_NR(&r, idle(&r, 20));
	T_EQ(nr_stats(&r).rx_errors, 2);
	restore_tap(&s);
	close(p[0]);
	/* Back on the TAP: the next kick resumes receiving. */
	gdrv_notify(&r.drv, NRXQ);
	nr_frame(frame, 1514, 77, nr_guest_mac);
	T_ASSERT(!nr_host_send(&r, NULL, frame, 1514));
	T_EQ(nr_collect(&r, NRXQ, NULL, NULL, 1), 1);
	T_NR_FINI(&r);
}

/*
 * A TSO frame queued in the TAP for a driver that took GUEST_TSO4 is not
 * handed to the next driver, which did not: dropped, counted.
 */
static void rx_stale_offload_after_reset(void)
{
	struct virtio_net_hdr_v1 h;
	uint16_t head;
	uint32_t len;
	struct nrig r NRIG_SCOPED = { 0 };
	size_t flen;

	T_NR_START(&r, NULL);
	flen = nr_tcp_frame(frame, 30000, 5, false, nr_guest_mac, 1448, &h);
	T_ASSERT(!nr_host_send(&r, &h, frame, flen));
	T_ASSERT(nr_tap_pending(&r));
	gdrv_reset(&r.drv);
	r.o.no_features = NF(GUEST_TSO4) | NF(GUEST_TSO6) | NF(GUEST_CSUM);
	T_NR(&r, nrig_up(&r));
	T_NR(&r, post_rx(&r, 48));
	nr_frame(frame, 1514, 6, nr_guest_mac);
	T_ASSERT(!nr_host_send(&r, NULL, frame, 1514));
	T_EQ(nr_collect(&r, NRXQ, &head, &len, 1), 1);
	T_EQ(len, NR_HDR + 1514);
	fg_read(r.fg, r.rx + (uint64_t)head * 2048, &h, NR_HDR);
	T_EQ(h.gso_type, 0);
	T_EQ(h.flags, 0);
	fg_read(r.fg, r.rx + (uint64_t)head * 2048 + NR_HDR, got, 1514);
	T_ASSERT(!memcmp(got, frame, 1514));
	T_EQ(nr_stats(&r).rx_dropped, 1);
	T_NR_FINI(&r);
}

/*
 * A ring protocol violation on any queue (a descriptor loop) marks the
 * device NEEDS_RESET with nothing left in flight; a reset restores it.
 */
static void ring_violation_needs_reset(void)
{
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, NULL);
	for (unsigned int q = 0; q < 3; q++) {
		T_NR(&r, post_rx(&r, 8));
		gdrv_raw_desc(&r.drv, q, 200, r.tx, 64,
			      VRING_DESC_F_NEXT | (q ? 0 : VRING_DESC_F_WRITE),
			      200);
		T_ASSERT(!gdrv_raw_claim(&r.drv, q, 200));
		gdrv_raw_publish(&r.drv, q, 200);
		gdrv_notify(&r.drv, q);
		nr_settle(&r, 5);
		T_ASSERT(nr_needs_reset(&r));
		/* Kicks are ignored now; nothing spins. */
		gdrv_notify(&r.drv, q);
		T_ASSERT(fg_live(r.fg) >= r.baseline);
		T_NR(&r, nrig_recover(&r));
	}
	T_NR_FINI(&r);
}

/* A notify storm on idle queues does no I/O and leaves nothing behind. */
static void notify_storm_idle(void)
{
	struct nrig r NRIG_SCOPED = { 0 };

	T_NR_START(&r, NULL);
	for (unsigned int i = 0; i < 10000; i++)
		gdrv_notify(&r.drv, i % 3);
	T_NR(&r, idle(&r, 20));
	T_EQ(fg_live(r.fg), r.baseline);
	T_NR_FINI(&r);
}

T_MAIN(T_CASE(reset_with_tx_in_flight), T_CASE(reset_with_rx_posted),
       T_CASE(reset_cancels_blocked_read), T_CASE(destroy_with_io_in_flight),
       T_CASE(destroy_mid_traffic_repeatedly), T_CASE(tx_eagain_waits_for_room),
       T_CASE(reset_with_tx_waiting), T_CASE(rx_read_eof_pauses),
       T_CASE(rx_stale_offload_after_reset), T_CASE(ring_violation_needs_reset),
       T_CASE(notify_storm_idle))
