// SPDX-License-Identifier: MIT
/*
 * Device status machine tests: feature negotiation and FEATURES_OK,
 * DRIVER_OK and start, DEVICE_NEEDS_RESET, reset and teardown releasing
 * everything, interrupt edges and kick gating.
 */
#include <errno.h>
#include <string.h>

#include "../lib/vt.h"
#include "virtio/vmmio.h"

#define R(off) gdrv_r32(&r.drv, (off))
#define W(off, v) gdrv_w32(&r.drv, (off), (v))

#define S_AD (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)
#define S_FOK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR VIRTIO_CONFIG_S_NEEDS_RESET

static const struct vrig_opts not_up = { .nr_vqs = 2 };

#define T_RIG_NEW(r) T_RIG(r, vrig_init(r, &not_up))

static struct vq_chain chain;

static void init_and_destroy_leave_nothing(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	T_EQ(vrig_vdev(&r)->nr_vqs, TESTDEV_NR_VQS);
	T_EQ(vrig_vdev(&r)->queue_max, TESTDEV_QUEUE_MAX);
	T_EQ(vrig_vdev(&r)->cfg_size, TESTDEV_CFG_SIZE);
	T_EQ(vrig_vdev(&r)->status, 0);
	T_EQ(fg_live(r.fg), 0);
	T_RIG_FINI(&r);
}

static void destroy_accepts_zeroed_vdev(void)
{
	struct vdev vdev;

	memset(&vdev, 0, sizeof(vdev));
	vdev_destroy(&vdev);
	vdev_destroy(&vdev);
}

static void host_features_add_transport_bits(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	T_EQ_U64(vrig_vdev(&r)->host_features,
		 TESTDEV_FEATURES | VDEV_TRANSPORT_FEATURES);
	T_RIG_FINI(&r);
}

/* ACKNOWLEDGE|DRIVER, write @f (both words), FEATURES_OK; Status after. */
static uint32_t try_features(struct vrig *r, uint64_t f)
{
	T_CHECK(gdrv_reset(&r->drv) == 0);
	gdrv_add_status(&r->drv, S_AD);
	gdrv_write_features(&r->drv, f);
	return gdrv_add_status(&r->drv, S_FOK);
}

static void features_ok_latched_for_offered_set(void)
{
	const uint64_t f = VRIG_F(VIRTIO_F_VERSION_1) |
			   VRIG_F(VIRTIO_RING_F_EVENT_IDX) |
			   VRIG_F(TESTDEV_F_A);
	RIG(r);

	T_RIG_NEW(&r);
	T_EQ(try_features(&r, f), S_AD | S_FOK);
	T_EQ_U64(vrig_vdev(&r)->features, f);
	T_ASSERT(vdev_has(vrig_vdev(&r), VIRTIO_RING_F_EVENT_IDX));
	T_ASSERT(!vdev_has(vrig_vdev(&r), VIRTIO_RING_F_INDIRECT_DESC));
	T_EQ(r.td.nr_features_ok, 1);
	T_EQ_U64(r.td.last_features, f);
	T_RIG_FINI(&r);
}

static void features_ok_refused(void)
{
	static const struct {
		const char *what;
		uint64_t f;
	} t[] = {
		{ "no VERSION_1", VRIG_F(TESTDEV_F_A) },
		{ "nothing", 0 },
		{ "unoffered device bit",
		  VRIG_F(VIRTIO_F_VERSION_1) | VRIG_F(TESTDEV_F_UNOFFERED) },
		{ "unoffered transport bit (RING_PACKED)",
		  VRIG_F(VIRTIO_F_VERSION_1) | VRIG_F(VIRTIO_F_RING_PACKED) },
		{ "unoffered high bit",
		  VRIG_F(VIRTIO_F_VERSION_1) | VRIG_F(63) },
		{ "refused by the device model (B without A)",
		  VRIG_F(VIRTIO_F_VERSION_1) | VRIG_F(TESTDEV_F_B) },
	};
	RIG(r);

	T_RIG_NEW(&r);
	for (unsigned int i = 0; i < ARRAY_SIZE(t); i++) {
		uint32_t s = try_features(&r, t[i].f);

		if (s & S_FOK) {
			t_fail(__FILE__, __LINE__, "FEATURES_OK latched: %s",
			       t[i].what);
			return;
		}
	}
	/* And the device still negotiates a sound set afterwards. */
	T_EQ(try_features(&r, VRIG_F(VIRTIO_F_VERSION_1)), S_AD | S_FOK);
	T_RIG_FINI(&r);
}

static void features_written_with_selector_over_1_refused(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	T_EQ(gdrv_reset(&r.drv), 0);
	gdrv_add_status(&r.drv, S_AD);
	gdrv_write_features(&r.drv, VRIG_F(VIRTIO_F_VERSION_1));
	W(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	W(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	T_EQ(gdrv_add_status(&r.drv, S_FOK) & S_FOK, 0);
	T_RIG_FINI(&r);
}

static void zero_written_with_selector_over_1_accepted(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	T_EQ(gdrv_reset(&r.drv), 0);
	gdrv_add_status(&r.drv, S_AD);
	gdrv_write_features(&r.drv, VRIG_F(VIRTIO_F_VERSION_1));
	W(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 7);
	W(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	T_EQ(gdrv_add_status(&r.drv, S_FOK), S_AD | S_FOK);
	T_RIG_FINI(&r);
}

static void features_frozen_after_features_ok(void)
{
	const uint64_t f = VRIG_F(VIRTIO_F_VERSION_1);
	RIG(r);

	T_RIG_NEW(&r);
	T_EQ(try_features(&r, f), S_AD | S_FOK);
	gdrv_write_features(&r.drv, VRIG_ALL_FEATURES);
	T_EQ_U64(vrig_vdev(&r)->features, f);
	T_ASSERT(!vdev_has(vrig_vdev(&r), VIRTIO_RING_F_INDIRECT_DESC));
	T_RIG_FINI(&r);
}

static void reset_forgets_negotiation(void)
{
	RIG(r);

	T_RIG_START(&r, NULL);
	T_ASSERT(vrig_vdev(&r)->features != 0);
	T_EQ(gdrv_reset(&r.drv), 0);
	T_EQ_U64(vrig_vdev(&r)->features, 0);
	T_ASSERT(!vdev_has(vrig_vdev(&r), VIRTIO_F_VERSION_1));
	/* The next negotiation starts from scratch. */
	T_EQ(try_features(&r, VRIG_F(VIRTIO_F_VERSION_1)), S_AD | S_FOK);
	T_EQ_U64(vrig_vdev(&r)->features, VRIG_F(VIRTIO_F_VERSION_1));
	T_RIG_FINI(&r);
}

static void driver_ok_without_features_ok_does_no_io(void)
{
	const struct vrig_opts o = { .nr_vqs = 1 };
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint64_t d, a, u, buf;
	RIG(r);

	T_RIG(&r, vrig_init(&r, &o));
	T_EQ(gdrv_reset(&r.drv), 0);
	gdrv_add_status(&r.drv, S_AD);
	gdrv_write_features(&r.drv, VRIG_ALL_FEATURES);
	/* No FEATURES_OK: a queue with one request, then DRIVER_OK. */
	d = fg_alloc(r.fg, 4096, 4096);
	a = fg_alloc(r.fg, 4096, 4096);
	u = fg_alloc(r.fg, 4096, 4096);
	buf = fg_alloc(r.fg, 4096, 4096);
	desc = fg_ptr(r.fg, d, 16 * 16);
	avail = fg_ptr(r.fg, a, 6 + 2 * 16);
	used = fg_ptr(r.fg, u, 6 + 8 * 16);
	desc[0] = (struct vring_desc){ htole64(buf), htole32(8),
				       htole16(VRING_DESC_F_NEXT), htole16(1) };
	desc[1] = (struct vring_desc){ htole64(buf + 64), htole32(8),
				       htole16(VRING_DESC_F_WRITE), 0 };
	avail->ring[0] = 0;
	avail->idx = htole16(1);
	(void)gdrv_setup_vq_at(&r.drv, 0, 16, d, a, u, true);
	gdrv_add_status(&r.drv, S_DOK);
	T_EQ(r.td.nr_start, 0);
	T_EQ(R(VIRTIO_MMIO_STATUS) & S_FOK, 0);
	gdrv_notify(&r.drv, 0);
	T_EQ(r.td.q[0].kicks, 0);
	T_EQ(used->idx, 0);
	T_EQ(r.drv.nr_irqs, 0);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

static void driver_ok_starts_device_once(void)
{
	RIG(r);

	T_RIG_START(&r, NULL);
	T_EQ(r.td.nr_start, 1);
	gdrv_add_status(&r.drv, S_DOK);
	W(VIRTIO_MMIO_STATUS, R(VIRTIO_MMIO_STATUS));
	T_EQ(r.td.nr_start, 1);
	T_RIG(&r, vrig_canary(&r, 0));
	T_RIG_FINI(&r);
}

static void start_failure_marks_device_broken(void)
{
	RIG(r);
	uint32_t s;

	T_RIG_NEW(&r);
	r.td.start_rc = -EIO;
	T_EQ(gdrv_negotiate(&r.drv, VRIG_ALL_FEATURES), 0);
	T_EQ(gdrv_setup_vq(&r.drv, 0, 16), 0);
	T_EQ(gdrv_setup_vq(&r.drv, 1, 16), 0);
	s = gdrv_add_status(&r.drv, S_DOK);
	T_EQ(r.td.nr_start, 1);
	T_ASSERT(s & S_NR);
	T_ASSERT(R(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	T_EQ(vq_pop(vrig_vq(&r, 0), &chain), -EIO);
	r.td.start_rc = 0;
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

static void fail_sets_needs_reset_and_interrupts(void)
{
	RIG(r);

	T_RIG_START(&r, NULL);
	T_EQ(vdev_fail(vrig_vdev(&r), "test %d", 1), -EPROTO);
	T_ASSERT(vrig_vdev(&r)->broken);
	T_EQ(R(VIRTIO_MMIO_STATUS), S_AD | S_FOK | S_DOK | S_NR);
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	T_EQ(r.drv.nr_irqs, 1);
	T_EQ(vq_pop(vrig_vq(&r, 0), &chain), -EIO);
	T_EQ(vq_pop(vrig_vq(&r, 1), &chain), -EIO);
	/* A second failure changes nothing visible. */
	T_EQ(vdev_fail(vrig_vdev(&r), "again"), -EPROTO);
	T_EQ(R(VIRTIO_MMIO_STATUS), S_AD | S_FOK | S_DOK | S_NR);
	T_RIG_FINI(&r);
}

static void needs_reset_sticks_until_status_0(void)
{
	RIG(r);

	T_RIG_START(&r, NULL);
	vdev_fail(vrig_vdev(&r), "test");
	/* The driver rewrites Status, with and without the bit. */
	W(VIRTIO_MMIO_STATUS, S_AD | S_FOK | S_DOK);
	T_ASSERT(R(VIRTIO_MMIO_STATUS) & S_NR);
	W(VIRTIO_MMIO_STATUS, R(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_FAILED);
	T_ASSERT(R(VIRTIO_MMIO_STATUS) & S_NR);
	T_EQ(vq_pop(vrig_vq(&r, 0), &chain), -EIO);
	T_EQ(gdrv_reset(&r.drv), 0);
	T_ASSERT(!vrig_vdev(&r)->broken);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

static void broken_device_completes_nothing(void)
{
	RIG(r);
	struct gdrv_buf b[2];

	T_RIG_START(&r, NULL);
	vdev_fail(vrig_vdev(&r), "test");
	b[0] = (struct gdrv_buf){ r.data, 8, false };
	b[1] = (struct gdrv_buf){ r.data + 64, 8, true };
	T_ASSERT(gdrv_add(&r.drv, 0, b, 2, 0) >= 0);
	gdrv_notify(&r.drv, 0);
	T_EQ(gdrv_used_idx(&r.drv, 0), 0);
	T_EQ(r.td.q[0].popped, 0);
	T_EQ(fg_live(r.fg), r.baseline);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

static void reset_releases_everything(void)
{
	const struct vrig_opts o = { .mode = TESTDEV_HOLD };
	RIG(r);
	struct gdrv_buf b[2];
	uint64_t resets;

	T_RIG_START(&r, &o);
	for (unsigned int q = 0; q < 2; q++) {
		for (unsigned int i = 0; i < 4; i++) {
			b[0] = (struct gdrv_buf){ r.data + i * 64, 8, false };
			b[1] = (struct gdrv_buf){ r.data + 0x1000 + i * 64, 8,
						  true };
			T_ASSERT(gdrv_add(&r.drv, q, b, 2, 0) >= 0);
		}
		gdrv_notify(&r.drv, q);
		T_EQ(testdev_nr_held(&r.td, q), 4);
	}
	vdev_config_changed(vrig_vdev(&r));
	resets = r.td.nr_reset;
	T_EQ(gdrv_reset(&r.drv), 0);
	T_EQ(r.td.nr_reset, resets + 1);
	T_EQ(testdev_nr_held(&r.td, 0) + testdev_nr_held(&r.td, 1), 0);
	T_EQ(fg_live(r.fg), 0);
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	for (uint32_t q = 0; q < 2; q++) {
		W(VIRTIO_MMIO_QUEUE_SEL, q);
		T_EQ(R(VIRTIO_MMIO_QUEUE_READY), 0);
		T_EQ(vrig_vq(&r, q)->ready, false);
		T_EQ(vrig_vq(&r, q)->inflight, 0);
	}
	T_EQ(vq_pop(vrig_vq(&r, 0), &chain), -EIO);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

static void reset_changes_queue_generation(void)
{
	RIG(r);
	uint32_t gen;

	T_RIG_START(&r, NULL);
	gen = vrig_vq(&r, 0)->gen;
	T_EQ(gdrv_reset(&r.drv), 0);
	T_ASSERT(vrig_vq(&r, 0)->gen != gen);
	T_RIG_FINI(&r);
}

static void destroy_with_chains_in_flight(void)
{
	const struct vrig_opts o = { .mode = TESTDEV_HOLD };
	RIG(r);
	struct gdrv_buf b = { 0, 64, true };
	uint64_t resets;

	T_RIG_START(&r, &o);
	b.gpa = r.data;
	for (int i = 0; i < 5; i++)
		T_ASSERT(gdrv_add(&r.drv, 0, &b, 1, GDRV_INDIRECT) >= 0);
	gdrv_notify(&r.drv, 0);
	T_EQ(testdev_nr_held(&r.td, 0), 5);
	/* No reset by the driver: teardown must release it all. */
	resets = r.td.nr_reset;
	T_RIG_FINI(&r);
	T_EQ(r.td.nr_reset, resets + 1);
}

static void kick_before_driver_ok_not_delivered(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	T_EQ(gdrv_negotiate(&r.drv, VRIG_ALL_FEATURES), 0);
	T_EQ(gdrv_setup_vq(&r.drv, 0, 16), 0);
	vdev_kick(vrig_vdev(&r), 0);
	T_EQ(r.td.q[0].kicks, 0);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

static void kick_gating(void)
{
	RIG(r);

	T_RIG_START(&r, NULL);
	vdev_kick(vrig_vdev(&r), TESTDEV_NR_VQS);
	vdev_kick(vrig_vdev(&r), 1000);
	vdev_kick(vrig_vdev(&r), ~0u);
	T_EQ(r.td.q[0].kicks + r.td.q[1].kicks, 0);
	vdev_kick(vrig_vdev(&r), 1);
	T_EQ(r.td.q[1].kicks, 1);
	T_EQ(gdrv_reset(&r.drv), 0);
	vdev_kick(vrig_vdev(&r), 0);
	vdev_kick(vrig_vdev(&r), 1);
	T_EQ(r.td.q[0].kicks, 0);
	T_EQ(r.td.q[1].kicks, 1);
	T_RIG_FINI(&r);
}

static void sel_vq_follows_queue_sel(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	W(VIRTIO_MMIO_QUEUE_SEL, 1);
	T_ASSERT(vdev_sel_vq(vrig_vdev(&r)) == vrig_vq(&r, 1));
	W(VIRTIO_MMIO_QUEUE_SEL, TESTDEV_NR_VQS);
	T_ASSERT(vdev_sel_vq(vrig_vdev(&r)) == NULL);
	T_RIG_FINI(&r);
}

static void interrupt_edge_per_newly_set_bit(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	vdev_raise(vrig_vdev(&r), VIRTIO_MMIO_INT_VRING);
	T_EQ(r.drv.nr_irqs, 1);
	vdev_raise(vrig_vdev(&r), VIRTIO_MMIO_INT_VRING);
	T_EQ(r.drv.nr_irqs, 1);
	vdev_raise(vrig_vdev(&r), VIRTIO_MMIO_INT_CONFIG);
	T_EQ(r.drv.nr_irqs, 2);
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS),
	     VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	T_EQ(gdrv_ack_irq(&r.drv),
	     VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	vdev_raise(vrig_vdev(&r), VIRTIO_MMIO_INT_VRING);
	T_EQ(r.drv.nr_irqs, 3);
	T_EQ(vrig_vdev(&r)->nr_irqs, 3);
	T_RIG_FINI(&r);
}

static void interrupts_counted_without_callback(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	vdev_set_irq(vrig_vdev(&r), NULL, NULL);
	vdev_raise(vrig_vdev(&r), VIRTIO_MMIO_INT_CONFIG);
	T_EQ(vrig_vdev(&r)->nr_irqs, 1);
	T_EQ(r.drv.nr_irqs, 0);
	T_EQ(R(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	T_RIG_FINI(&r);
}

static void config_change_bumps_generation(void)
{
	RIG(r);
	uint32_t gen;

	T_RIG_NEW(&r);
	gen = vrig_vdev(&r)->config_gen;
	vdev_config_changed(vrig_vdev(&r));
	T_ASSERT(vrig_vdev(&r)->config_gen != gen);
	T_EQ(vrig_vdev(&r)->isr, VIRTIO_MMIO_INT_CONFIG);
	T_EQ(r.drv.nr_irqs, 1);
	T_RIG_FINI(&r);
}

static void failed_status_then_reset_recovers(void)
{
	RIG(r);

	T_RIG_NEW(&r);
	gdrv_add_status(&r.drv, S_AD);
	gdrv_add_status(&r.drv, VIRTIO_CONFIG_S_FAILED);
	T_EQ(r.td.nr_start, 0);
	T_RIG(&r, vrig_recover(&r));
	T_RIG_FINI(&r);
}

static void many_resets_leak_nothing(void)
{
	const struct vrig_opts o = { .mode = TESTDEV_HOLD };
	RIG(r);
	struct gdrv_buf b = { 0, 64, true };

	T_RIG_START(&r, &o);
	for (int k = 0; k < 100; k++) {
		b.gpa = r.data + 64 * k;
		for (int i = 0; i < 3; i++)
			T_ASSERT(gdrv_add(&r.drv, k & 1, &b, 1, 0) >= 0);
		gdrv_notify(&r.drv, k & 1);
		T_EQ(testdev_nr_held(&r.td, k & 1), 3);
		T_EQ(gdrv_reset(&r.drv), 0);
		T_EQ(fg_live(r.fg), 0);
		T_RIG(&r, vrig_up(&r));
	}
	T_RIG(&r, vrig_canary(&r, 0));
	T_RIG_FINI(&r);
}

static unsigned int log_lines;

static void count_lines(enum log_level level, const char *line)
{
	log_lines++;
}

static void reset_storm_does_not_flood_log(void)
{
	const struct vrig_opts o = { .mode = TESTDEV_HOLD };
	struct gdrv_buf b = { 0, 64, true };
	unsigned int lines;
	RIG(r);

	/*
	 * A guest resetting 200 times with requests in flight: legal, and
	 * anything it makes the backend log is rate-limited (SECURITY 11).
	 */
	T_RIG_START(&r, &o);
	b.gpa = r.data;
	log_lines = 0;
	log_set_sink(count_lines);
	for (int k = 0; k < 200; k++) {
		if (gdrv_add(&r.drv, 0, &b, 1, 0) < 0)
			break;
		gdrv_notify(&r.drv, 0);
		gdrv_reset(&r.drv);
		if (vrig_up(&r))
			break;
	}
	log_set_sink(NULL);
	lines = log_lines;
	T_ASSERT(lines <= 2 * LOG_RL_BURST);
	T_RIG(&r, vrig_canary(&r, 0));
	T_RIG_FINI(&r);
}

/*
 * An ops table with a name only: every optional op NULL, as
 * include/virtio/vdev.h allows. Config space reads as zeroes and refuses
 * writes, the driver gets to DRIVER_OK, a kick is counted, reset and
 * teardown need nothing.
 */
static const struct vdev_ops bare_ops = { .name = "bare", .device_id = 0x43 };

static void null_ops_are_defaults(void)
{
	struct fakeguest *fg = fg_new(1u << 20);
	struct vdev vdev;
	struct gdrv drv;

	T_ASSERT(fg);
	T_EQ(vdev_init(&vdev, &bare_ops, &fg->gmem, 1, 16, 8, 0), 0);
	gdrv_init(&drv, &vdev, fg);
	T_EQ(vmmio_read(&vdev, VIRTIO_MMIO_DEVICE_ID, 4), 0x43);
	T_EQ(vmmio_read(&vdev, VIRTIO_MMIO_CONFIG, 4), 0);
	vmmio_write(&vdev, VIRTIO_MMIO_CONFIG, 4, 0xffffffff);
	T_EQ(vmmio_read(&vdev, VIRTIO_MMIO_CONFIG + 4, 4), 0);
	T_EQ(gdrv_up(&drv, 1ULL << VIRTIO_F_VERSION_1, 1, 16), 0);
	T_ASSERT(vdev_status(&vdev) & S_DOK);
	gdrv_notify(&drv, 0);
	T_EQ(vdev.nr_kicks, 1);
	T_ASSERT(!vdev_broken(&vdev));
	gdrv_fini(&drv);
	vdev_destroy(&vdev);
	T_EQ(fg_live(fg), 0);
	fg_free(fg);
}

T_MAIN(T_CASE(init_and_destroy_leave_nothing), T_CASE(null_ops_are_defaults),
       T_CASE(destroy_accepts_zeroed_vdev),
       T_CASE(host_features_add_transport_bits),
       T_CASE(features_ok_latched_for_offered_set), T_CASE(features_ok_refused),
       T_CASE(features_written_with_selector_over_1_refused),
       T_CASE(zero_written_with_selector_over_1_accepted),
       T_CASE(features_frozen_after_features_ok),
       T_CASE(reset_forgets_negotiation),
       T_CASE(driver_ok_without_features_ok_does_no_io),
       T_CASE(driver_ok_starts_device_once),
       T_CASE(start_failure_marks_device_broken),
       T_CASE(fail_sets_needs_reset_and_interrupts),
       T_CASE(needs_reset_sticks_until_status_0),
       T_CASE(broken_device_completes_nothing),
       T_CASE(reset_releases_everything),
       T_CASE(reset_changes_queue_generation),
       T_CASE(destroy_with_chains_in_flight),
       T_CASE(kick_before_driver_ok_not_delivered), T_CASE(kick_gating),
       T_CASE(sel_vq_follows_queue_sel),
       T_CASE(interrupt_edge_per_newly_set_bit),
       T_CASE(interrupts_counted_without_callback),
       T_CASE(config_change_bumps_generation),
       T_CASE(failed_status_then_reset_recovers),
       T_CASE(many_resets_leak_nothing), T_CASE(reset_storm_does_not_flood_log))
