// SPDX-License-Identifier: MIT
/*
 * A guest-polled queue through the real xvbd under the simulator, as
 * Linux's virtio_blk with poll_queues=1 and io_uring IOPOLL drive one: a
 * 2-vCPU guest, a disk with 2 queues (xvbd.conf's queues = 2, each served
 * on a thread of the worker, with xvbd's default idle polling and
 * interrupt moderation), queue 0 driven on interrupts from vCPU 0 (its
 * completions collected only after the line fired, so a lost interrupt is
 * a hang), queue 1 polled from vCPU 1 (its used_event left at 0: no
 * interrupt asked for; it kicks only when the device asks). Checked, at
 * QD1 and QD32: every read of both queues completes with the data written
 * before; xvbd's own counts at the device's close say queue 1 raised the
 * one interrupt the specification demands (its first completion crosses
 * used_event 0) and no other, while queue 0 raised its own.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include "blkdrv.h"
#include "hang.h"
#include "t.h"
#include "xvbd_rig.h"

#define RAM (32ULL << 20)
#define TMO_MS ((int)t_hang_ms())
#define BLOCKS 64u /* 4 KiB blocks written first, then read back */

static int start(void)
{
	const struct rig_opts o = {
		.tag = "poll",
		.conf = "[net]\nbridge = none\n[blk]\nqueues = 2\n",
		.libxl_ms = TMO_MS,
		.guest_ram = RAM,
		.image_bytes = 8 << 20,
	};

	return rig_start(&o);
}

/* One queue's side: reads issued and completed, and anything wrong. */
struct side {
	unsigned int issued, done, bad;
};

static void read_done(struct blkdrv *b, struct blkreq *r, void *arg)
{
	struct side *s = arg;

	s->done++;
	if (r->status != VIRTIO_BLK_S_OK ||
	    !blkdrv_data_is(b, r, 100 + (uint32_t)(r->sector / 8)))
		s->bad++;
}

/* Queues reads on @b up to @qd in flight and @n in all; kicks if asked. */
static int refill(struct blkdrv *b, struct side *s, unsigned int qd,
		  unsigned int n)
{
	bool any = false;

	while (s->issued < n && b->inflight < qd) {
		uint64_t blk = (s->issued * 5 + b->q * 17) % BLOCKS;

		T_CHECK(blkdrv_queue(b, VIRTIO_BLK_T_IN, blk * 8, 4096, 0));
		s->issued++;
		any = true;
	}
	if (any)
		blkdrv_kick(b);
	return 0;
}

/*
 * The polling side's reap (Linux's virtblk_poll): what the used ring
 * holds, never waiting for or acknowledging the line. Returns how many.
 */
static int poll_reap(struct blkdrv *b, struct side *s)
{
	uint16_t head;
	uint32_t len;
	int n = 0, rc;

	while ((rc = gdrv_get_used(&b->drv, b->q, &head, &len)) == 1) {
		struct blkreq *r = &b->slots[b->slot_of[head]];

		fg_read(b->fg, r->status_gpa, &r->status, 1);
		r->busy = false;
		b->free_slots[b->nr_free++] = r - b->slots;
		b->inflight--;
		read_done(b, r, s);
		n++;
	}
	return rc < 0 ? rc : n;
}

/* xvbd's counts of queue @q of domain @domid's disk, from its log. */
static int vq_counts(uint32_t domid, unsigned int q, uint64_t *kicks,
		     uint64_t *used, uint64_t *irqs)
{
	char path[128], line[512], needle[64], want[32];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "%s/xvbd.log", rig_dir);
	snprintf(needle, sizeof(needle), "d%u vblk", (unsigned int)domid);
	snprintf(want, sizeof(want), "vq%u counts: ", q);
	f = fopen(path, "r");
	T_CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, want);

		if (!p || !strstr(line, needle))
			continue;
		if (sscanf(p + strlen(want),
			   "%" SCNu64 " kicks, %" SCNu64 " used, %" SCNu64
			   " interrupts",
			   kicks, used, irqs) == 3)
			found = 1;
	}
	fclose(f);
	return found ? 0 : -1;
}

static void polled_queue(unsigned int qd, unsigned int n)
{
	struct hguest g HGUEST_SCOPED = { 0 };
	struct blkdrv b1 BLKDRV_SCOPED = { 0 };
	struct side s0 = { 0 }, s1 = { 0 };
	struct gdrv_vq *pv;
	uint64_t k0, u0, i0, k1, u1, i1, end;
	bool event_idx;

	T_ASSERT(!start());
	T_ASSERT(!hguest_image(&g, "polled"));
	T_ASSERT(!hguest_create(&g, 1, 2));
	T_EQ(blkdrv_up_mq(&g.b, sim, 1, 0, g.d.base, g.d.irq, g.fg, qd, 4096,
			  2),
	     0);
	T_EQ(g.b.nr_queues, 2);
	event_idx = g.b.features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	for (unsigned int i = 0; i < BLOCKS; i++)
		T_EQ(blkdrv_sync(&g.b, VIRTIO_BLK_T_OUT, i * 8, 4096, 100 + i,
				 NULL),
		     VIRTIO_BLK_S_OK);
	T_EQ(blkdrv_attach(&b1, &g.b, 1, 1, qd), 0);
	/* Queue 1 as Linux leaves a queue without callback. */
	pv = &b1.drv.vqs[1];
	pv->manual_used_event = true;
	if (event_idx)
		WRITE_ONCE(*pv->used_event, 0);
	else
		WRITE_ONCE(pv->avail->flags,
			   htole16(VRING_AVAIL_F_NO_INTERRUPT));
	smp_mb();

	end = rig_now_ms() + TMO_MS;
	while (s0.done < n || s1.done < n) {
		int got = 0, rc;

		T_ASSERT(!refill(&g.b, &s0, qd, n));
		T_ASSERT(!refill(&b1, &s1, qd, n));
		rc = poll_reap(&b1, &s1);
		T_ASSERT(rc >= 0);
		got += rc;
		if (s0.done < n) {
			/* Queue 0's handler: waits for the line a while. */
			rc = blkdrv_reap(&g.b, 20, read_done, &s0);
			T_ASSERT(rc >= 0);
			got += rc;
		}
		if (got)
			end = rig_now_ms() + TMO_MS;
		if (rig_now_ms() > end) {
			t_fail(__FILE__, __LINE__,
			       "no progress: queue 0 %u of %u, queue 1 %u of %u done",
			       s0.done, n, s1.done, n);
			return;
		}
	}
	T_EQ(s0.bad, 0);
	T_EQ(s1.bad, 0);
	blkdrv_down(&b1);
	T_ASSERT(!hguest_down(&g));
	T_ASSERT(T_WAIT(rig_log_count("vq1 counts: ") >= 1));
	T_ASSERT(!rig_no_workers());
	T_EQ(vq_counts(1, 0, &k0, &u0, &i0), 0);
	T_EQ(vq_counts(1, 1, &k1, &u1, &i1), 0);
	printf("# QD%u EVENT_IDX %d: queue 1 (polled) %" PRIu64
	       " kicks %" PRIu64 " interrupts, queue 0 %" PRIu64
	       " kicks %" PRIu64 " interrupts, %u reads each\n",
	       qd, event_idx, k1, i1, k0, i0, n);
	T_EQ(u1, n);
	T_EQ(i1, event_idx ? 1 : 0);
	T_ASSERT(i0 >= 1);
	T_ASSERT(!rig_settled());
	T_ASSERT(!rig_stop());
}

static void polled_queue_qd1(void)
{
	polled_queue(1, 64);
}

static void polled_queue_qd32(void)
{
	polled_queue(32, 512);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = { T_CASE(polled_queue_qd1),
					       T_CASE(polled_queue_qd32) };
	int rc;

	if (rig_init())
		return 1;
	rc = t_main(cases, ARRAY_SIZE(cases), argc, argv);
	rig_cleanup();
	return rc;
}
