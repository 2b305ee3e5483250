// SPDX-License-Identifier: MIT
/*
 * virtio-net when the TAP's operations fail in ways a live TAP rarely
 * shows: writes completing with -EIO, -EINVAL, -ENOMEM or -EAGAIN, the TAP
 * reported gone (-EBADFD) under one device while another carries on. (A failing
 * read pauses receiving: net_fault's rx_read_eof_pauses.) The test rewrites the
 * results in the shared completion ring before the device's loop reaps them.
 * Checked: every chain completes, errors are counted, the link goes down only
 * for a lost TAP, and the device (or the other one) keeps moving frames.
 */
#include "net_rig.h"

#include <linux/virtio_config.h>

static uint8_t frame[2048], got[2048];

/*
 * Waits (at most 2 s) until a CQE whose result is @match is in the ring,
 * then rewrites every such CQE with @res. Returns how many.
 */
static unsigned int rewrite(struct nrig *r, int match, int res)
{
	struct io_uring *ring = &r->loop.ring;
	struct io_uring_cqe *cqe;
	uint64_t end = nr_now_ms() + NR_WAIT_MS;
	unsigned int head, n = 0;

	for (;;) {
		io_uring_for_each_cqe(ring, head, cqe) {
			if (cqe->res == match) {
				cqe->res = res;
				n++;
			}
		}
		if (n || nr_now_ms() > end)
			return n;
		evl_submit(&r->loop);
		usleep(200);
	}
}

/* The frames that did reach the TAP before their result was rewritten. */
static void host_drain(struct nrig *r)
{
	while (nr_host_recv(r, NULL, got, sizeof(got), 20) >= 0)
		;
}

/* A frame from the guest, its write reported as @res: counted, completed. */
static int tx_fails_with(struct nrig *r, int res)
{
	struct vnet_stats before = nr_stats(r), after;
	uint16_t head;
	uint32_t len;

	nr_frame(frame, 100, 7, nr_host_mac);
	T_CHECK(nr_tx_add(r, NULL, frame, 100, NULL, 0, 0) >= 0);
	gdrv_kick(&r->drv, NTXQ);
	T_CHECK(rewrite(r, NR_HDR + 100, res) == 1);
	T_CHECK(nr_collect(r, NTXQ, &head, &len, 1) == 1);
	host_drain(r); /* the kernel did take it */
	after = nr_stats(r);
	T_CHECK(after.tx_errors == before.tx_errors + 1);
	T_CHECK(after.tx_packets == before.tx_packets);
	return 0;
}

/* A sound frame still reaches the host. */
static int tx_works(struct nrig *r)
{
	nr_frame(frame, 200, 9, nr_host_mac);
	T_CHECK(nr_tx_one(r, NULL, frame, 200, NULL, 0, 0) == 0);
	T_CHECK(nr_host_recv(r, NULL, got, sizeof(got), NR_WAIT_MS) == 200);
	T_CHECK(!memcmp(got, frame, 200));
	return 0;
}

/* Writes the TAP refuses (-EIO, -EINVAL, -ENOMEM): dropped and counted. */
static void tx_write_errors_counted(void)
{
	static const int errs[] = { -EIO, -EINVAL, -ENOMEM, -EMSGSIZE };
	struct nrig r NRIG_SCOPED = { 0 };

	NR_NEED_TAP();
	T_NR_START(&r, NULL);
	for (unsigned int i = 0; i < ARRAY_SIZE(errs); i++) {
		T_ASSERT(!tx_fails_with(&r, errs[i]));
		T_ASSERT(!tx_works(&r));
	}
	T_ASSERT(!nr_needs_reset(&r));
	T_ASSERT(gdrv_read(&r.drv, VIRTIO_MMIO_CONFIG + 6, 2) &
		 VIRTIO_NET_S_LINK_UP);
	T_NR_FINI(&r);
}

/*
 * A write that says -EAGAIN: the device waits for room (POLLOUT) and
 * writes the frame again; it goes out and completes once. (A TAP that
 * stays full: net_fault's tx_eagain_waits_for_room.)
 */
static void tx_eagain_retried(void)
{
	struct vnet_stats st;
	struct nrig r NRIG_SCOPED = { 0 };
	uint16_t head;
	uint32_t len;

	NR_NEED_TAP();
	T_NR_START(&r, NULL);
	nr_frame(frame, 100, 11, nr_host_mac);
	T_ASSERT(nr_tx_add(&r, NULL, frame, 100, NULL, 0, 0) >= 0);
	gdrv_kick(&r.drv, NTXQ);
	T_EQ(rewrite(&r, NR_HDR + 100, -EAGAIN), 1);
	T_EQ(nr_collect(&r, NTXQ, &head, &len, 1), 1);
	st = nr_stats(&r);
	T_EQ(st.tx_packets, 1);
	T_EQ(st.tx_errors, 0);
	/* Twice on the wire: the kernel took the first one as well. */
	T_EQ(nr_host_recv(&r, NULL, got, sizeof(got), NR_WAIT_MS), 100);
	T_ASSERT(!memcmp(got, frame, 100));
	host_drain(&r);
	T_ASSERT(!tx_works(&r));
	T_NR_FINI(&r);
}

/*
 * The TAP reported gone (-EBADFD on a write) under one device: its link
 * goes down with a config interrupt, its frames are dropped and complete;
 * a second device on its own TAP is not disturbed.
 */
static void tap_lost_under_one_device(void)
{
	struct nrig r NRIG_SCOPED = { 0 };
	struct nrig o NRIG_SCOPED = { 0 };
	struct vnet_stats st;
	uint16_t head;
	uint32_t len;

	NR_NEED_TAP();
	T_NR_START(&r, NULL);
	T_NR_START(&o, NULL);
	T_ASSERT(!tx_works(&o));
	T_ASSERT(!tx_fails_with(&r, -EBADFD));
	T_ASSERT(!(gdrv_read(&r.drv, VIRTIO_MMIO_CONFIG + 6, 2) &
		   VIRTIO_NET_S_LINK_UP));
	T_ASSERT(gdrv_r32(&r.drv, VIRTIO_MMIO_INTERRUPT_STATUS) &
		 VIRTIO_MMIO_INT_CONFIG);
	/* Frames of the device without a TAP: completed, dropped. */
	nr_frame(frame, 100, 15, nr_host_mac);
	T_ASSERT(nr_tx_add(&r, NULL, frame, 100, NULL, 0, 0) >= 0);
	gdrv_kick(&r.drv, NTXQ);
	T_EQ(nr_collect(&r, NTXQ, &head, &len, 1), 1);
	st = nr_stats(&r);
	T_ASSERT(st.tx_dropped >= 1);
	T_ASSERT(nr_host_quiet(&r, 50));
	/* The other device carries on. */
	T_ASSERT(!tx_works(&o));
	T_ASSERT(!nr_needs_reset(&o));
	T_NR_FINI(&o);
	T_NR_FINI(&r);
}

T_MAIN(T_CASE(tx_write_errors_counted), T_CASE(tx_eagain_retried),
       T_CASE(tap_lost_under_one_device))
