// SPDX-License-Identifier: MIT
/*
 * virtio-rng served by the real xvbd under the simulator, through every
 * route: static mode (--dev rng:...), the Xen 4.17 disk slot whose target
 * is named "xvb-rng:...", and the Xen 4.18+ generic virtio,device4 with
 * xvbd.conf's [rng] and [guest NAME] keys. A guest driver reads entropy
 * through MMIO ioreqs and interrupts; xvbd's rate limit holds.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "gdrv.h"
#include "hang.h"
#include "simbus.h"
#include "t.h"
#include "xvbd_rig.h"

#define RAM (32ULL << 20)
#define TMO_MS ((int)t_hang_ms())
#define FEATURES                                                             \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ACCESS_PLATFORM) | \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX))

/* Set for a static-mode case: xvbd's whole argv (NULL-terminated). */
static const char *static_args[12];
/* A guest to create before xvbd starts (static mode needs it to exist). */
static const struct xsim_domain_config *precreate;

/*
 * Every rng 8 KiB/s with a 2 KiB burst; guest "lim"'s 4 KiB/s (its guest
 * key beats the type's section).
 */
static int start(void)
{
	const struct rig_opts o = {
		.tag = "rng",
		.conf = "[rng]\nrate = 8K\nburst = 2K\n[guest lim]\nrate = 4K\n",
		.libxl_ms = TMO_MS,
		.precreate = precreate,
		.argv = static_args[0] ? static_args : NULL,
		.guest_ram = RAM,
	};

	return rig_start(&o);
}

static bool log_has(const char *needle)
{
	if (T_WAIT(rig_log_count(needle) > 0))
		return true;
	fprintf(stderr, "xvbd's log has no \"%s\"\n", needle);
	return false;
}

/*
 * The guest's side of one rng: a driver over ioreqs in the guest's RAM,
 * seen through @fg (the case's: one per guest, so that the drivers of two
 * devices allocate their rings apart).
 */
struct rguest {
	uint32_t domid;
	unsigned int spi;
	struct fakeguest *fg;
	struct simbus sb;
	struct gdrv g;
	uint64_t buf; /* 1 MiB */
};

/* A failed case's way out: no bus access (xvbd may be gone). */
static void rg_release(struct rguest *r)
{
	if (!r->fg)
		return;
	gdrv_fini(&r->g);
	r->fg = NULL;
}
#define RGUEST_SCOPED __attribute__((cleanup(rg_release)))

/* A view of guest @domid's RAM. */
static struct fakeguest *ram_of(uint32_t domid)
{
	return fg_wrap(xsim_ram_ptr(sim, domid, XSIM_RAM0_BASE, RAM),
		       XSIM_RAM0_BASE, RAM);
}

/* The driver up on the rng at @base: device ID 4, one queue. */
static int rg_up(struct rguest *r, struct fakeguest *fg, uint32_t domid,
		 uint64_t base, unsigned int spi)
{
	r->domid = domid;
	r->spi = spi;
	r->fg = fg;
	T_CHECK(r->fg);
	simbus_init(&r->sb, sim, domid, 0, base);
	gdrv_init_bus(&r->g, &r->sb.bus, r->fg);
	T_CHECK(gdrv_r32(&r->g, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_RNG);
	T_CHECK(gdrv_up(&r->g, FEATURES, 1, 64) == 0);
	r->buf = fg_alloc(r->fg, 1u << 20, 4096);
	T_CHECK(r->buf);
	return 0;
}

/* Reset (nothing left mapped by the device), driver and view freed. */
static int rg_down(struct rguest *r)
{
	gdrv_reset(&r->g);
	T_CHECK(r->sb.err == 0);
	rg_release(r);
	return 0;
}

/*
 * Posts @n buffers of @len bytes, kicks, and collects them all, waiting on
 * the device's interrupt. Returns the bytes delivered, -1 on a hang, a
 * short buffer or a device that needs a reset.
 */
static long long rg_read(struct rguest *r, unsigned int n, uint32_t len)
{
	uint64_t end = t_now_ms() + t_hang_ms();
	long long bytes = 0;
	unsigned int got = 0;
	uint32_t l;
	uint16_t h;

	for (unsigned int i = 0; i < n; i++) {
		struct gdrv_buf b = { r->buf + (uint64_t)i * len, len, true };

		memset(fg_ptr(r->fg, b.gpa, len), 0, len);
		if (gdrv_add(&r->g, 0, &b, 1, 0) < 0)
			return -1;
	}
	gdrv_kick(&r->g, 0);
	while (got < n && t_now_ms() < end) {
		while (gdrv_get_used(&r->g, 0, &h, &l) == 1) {
			bytes += l;
			got++;
		}
		if (got < n && !xsim_irq_wait(sim, r->domid, r->spi, 100))
			gdrv_ack_irq(&r->g);
	}
	if (gdrv_r32(&r->g, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET)
		return -1;
	return got == n ? bytes : -1;
}

/*
 * True if [off, off + len) of the guest's buffer holds at least @min
 * distinct byte values (4 KiB of random bytes hold ~255 of 256).
 */
static bool rg_random(struct rguest *r, uint64_t off, size_t len,
		      unsigned int min)
{
	const uint8_t *p = fg_ptr(r->fg, r->buf + off, len);
	bool seen[256] = { false };
	unsigned int n = 0;

	for (size_t i = 0; p && i < len; i++) {
		n += !seen[p[i]];
		seen[p[i]] = true;
	}
	return n >= min;
}

/*
 * Static mode: xvbd --domain N --dev rng:... serves the window at once;
 * 16 KiB come in 4 KiB buffers, random and each different.
 */
static void static_mode_rng(void)
{
	struct xsim_domain_config dc = { .domid = 6,
					 .nr_vcpus = 1,
					 .ram_bytes = RAM };
	struct fakeguest *fg FG_SCOPED = NULL;
	struct rguest r RGUEST_SCOPED = { 0 };
	char spec[160];
	uint64_t magic = 0;

	snprintf(spec, sizeof(spec), "rng:base=0x%llx,irq=33,rate=0",
		 XSIM_VIRTIO_MMIO_BASE);
	static_args[0] = "xvbd";
	static_args[1] = "--domain";
	static_args[2] = "6";
	static_args[3] = "--dev";
	static_args[4] = spec;
	static_args[5] = NULL;
	precreate = &dc;
	T_ASSERT(!start());
	static_args[0] = NULL;
	precreate = NULL;
	T_WAIT(!xsim_mmio_read(sim, 6, 0, XSIM_VIRTIO_MMIO_BASE, 4, &magic,
			       TMO_MS) &&
	       magic == 0x74726976);
	T_EQ(magic, 0x74726976);
	fg = ram_of(6);
	T_ASSERT(!rg_up(&r, fg, 6, XSIM_VIRTIO_MMIO_BASE, 33));
	T_EQ(rg_read(&r, 4, 4096), 4 * 4096);
	for (unsigned int i = 0; i < 4; i++)
		T_ASSERT(rg_random(&r, i * 4096u, 4096, 200));
	T_ASSERT(memcmp(fg_ptr(r.fg, r.buf, 4096),
			fg_ptr(r.fg, r.buf + 4096, 4096), 4096));
	T_ASSERT(!rg_down(&r));
	T_ASSERT(!rig_stop());
}

/* Creates guest @domid named @name, paused, with no device yet. */
static int paused_guest(uint32_t domid, const char *name)
{
	struct xsim_domain_config dc = { .domid = domid,
					 .nr_vcpus = 1,
					 .ram_bytes = RAM };
	char path[64];

	T_CHECK(xsim_libxl_create(sim, &dc, NULL, 0, NULL, 0) == 0);
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	T_CHECK(xsim_xs_write(sim, 0, path, name) == 0);
	return 0;
}

static int wait_state2(const char *kind, uint32_t domid, uint32_t devid)
{
	char path[160];

	xsim_libxl_be_path(path, sizeof(path), kind, 0, domid, devid);
	strcat(path, "/state");
	T_CHECK(xsim_xs_wait(sim, path, "2", TMO_MS) == 0);
	return 0;
}

/*
 * Both xl routes on one guest: a disk slot with target "xvb-rng:..." (Xen
 * 4.17: its own rate=64K, [rng]'s burst) and a generic virtio,device4 (Xen
 * 4.18+: [rng]'s 8K). Each is served as device ID 4, each gives entropy,
 * SIGUSR1 shows each one's limit, and the guest's destruction leaves nothing.
 */
static void both_routes(void)
{
	struct xsim_libxl_virtio rng = { .type = "virtio,device4",
					 .grant_usage = -1 };
	struct xsim_libxl_disk slot;
	struct fakeguest *fg FG_SCOPED = NULL;
	struct rguest a RGUEST_SCOPED = { 0 };
	struct rguest b RGUEST_SCOPED = { 0 };

	T_ASSERT(!start());
	T_ASSERT(!paused_guest(5, "ent"));
	rig_disk(&slot, "xvda", "/etc/xen/xvb-rng:rate=64K");
	slot.base = XSIM_VIRTIO_MMIO_BASE;
	slot.irq = 33;
	rng.base = XSIM_VIRTIO_MMIO_BASE + 0x200;
	rng.irq = 34;
	T_EQ(xsim_libxl_write_disk(sim, 5, &slot), 0);
	T_EQ(xsim_libxl_write_virtio(sim, 5, &rng), 0);
	T_ASSERT(!wait_state2("virtio_disk", 5, 51712));
	T_ASSERT(!wait_state2("virtio", 5, 0));
	T_EQ(xsim_domain_unpause(sim, 5), 0);
	fg = ram_of(5);
	T_ASSERT(!rg_up(&a, fg, 5, slot.base, slot.irq));
	T_ASSERT(!rg_up(&b, fg, 5, rng.base, rng.irq));
	/* Within each one's burst: at once. */
	T_EQ(rg_read(&a, 2, 1024), 2048);
	T_EQ(rg_read(&b, 2, 1024), 2048);
	T_ASSERT(rg_random(&a, 0, 2048, 150));
	T_ASSERT(rg_random(&b, 0, 2048, 150));
	T_EQ(kill(xvbd, SIGUSR1), 0);
	T_ASSERT(log_has("vrng51712: rate 65536 B/s, burst 2048,"));
	T_ASSERT(log_has("vrng0: rate 8192 B/s, burst 2048,"));
	T_ASSERT(!rg_down(&a));
	T_ASSERT(!rg_down(&b));
	T_EQ(xsim_libxl_destroy(sim, 5), 0);
	T_ASSERT(!rig_settled());
	T_ASSERT(!rig_stop());
}

/* CPU milliseconds (user + system) of @pid and its threads. */
static uint64_t cpu_ms(pid_t pid)
{
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 1,
		       " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		       &ut, &st);
	fclose(f);
	return (ut + st) * 1000 / (uint64_t)sysconf(_SC_CLK_TCK);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Guest "lim" ([guest lim] rate = 4K, [rng] burst = 2K) asks for 8 KiB,
 * four times its burst: it gets all of it, in 1 KiB buffers, but never
 * faster than the bucket allows (measured around the whole read), and its
 * worker does not spin meanwhile.
 */
static void rate_limit_holds(void)
{
	struct xsim_libxl_virtio rng = { .type = "virtio,device4",
					 .grant_usage = -1 };
	struct fakeguest *fg FG_SCOPED = NULL;
	struct rguest r RGUEST_SCOPED = { 0 };
	long long got;
	uint64_t t0, ns, cpu0, cpu1;
	pid_t w;

	T_ASSERT(!start());
	T_ASSERT(!paused_guest(7, "lim"));
	rng.base = XSIM_VIRTIO_MMIO_BASE;
	rng.irq = 33;
	T_EQ(xsim_libxl_write_virtio(sim, 7, &rng), 0);
	T_ASSERT(!wait_state2("virtio", 7, 0));
	T_EQ(xsim_domain_unpause(sim, 7), 0);
	fg = ram_of(7);
	T_ASSERT(!rg_up(&r, fg, 7, rng.base, rng.irq));
	w = rig_worker_of(7);
	T_ASSERT(w > 0);
	cpu0 = cpu_ms(w);
	t0 = now_ns();
	got = rg_read(&r, 8, 1024);
	ns = now_ns() - t0;
	cpu1 = cpu_ms(w);
	T_EQ(got, 8192);
	T_ASSERT((uint64_t)got <= 2048 + 4096 * ns / 1000000000ull + 1);
	/* Waiting is a timer: far less CPU than the ~1.5 s it took. */
	T_ASSERT(cpu1 - cpu0 < ns / 1000000 / 2);
	printf("# 8 KiB at 4 KiB/s, 2 KiB burst: %.2f s, worker CPU %llu ms\n",
	       ns / 1e9, (unsigned long long)(cpu1 - cpu0));
	T_EQ(kill(xvbd, SIGUSR1), 0);
	T_ASSERT(log_has("vrng0: rate 4096 B/s, burst 2048,"));
	T_ASSERT(!rg_down(&r));
	T_EQ(xsim_libxl_destroy(sim, 7), 0);
	T_ASSERT(!rig_settled());
	T_ASSERT(!rig_stop());
}

/*
 * Malformed rng slots are refused (the state node goes, the reason stays
 * in the error node) while a sound one beside them serves: values out of
 * range or not numbers, keys the type does not take, libxl's own keys.
 */
static void bad_specs_refused(void)
{
	static const char *const bad[] = {
		"/etc/xen/xvb-rng:rate=fast",
		"/etc/xen/xvb-rng:rate=2048M",
		"/etc/xen/xvb-rng:rate=-1",
		"/etc/xen/xvb-rng:burst=0",
		"/etc/xen/xvb-rng:burst=17M",
		"/etc/xen/xvb-rng:queues=2",
		"/etc/xen/xvb-rng:colour=red",
		"/etc/xen/xvb-rng:irq=40",
		"/etc/xen/xvb-rng:rate=1K,rate=2K",
	};
	static const char *const vdevs[] = { "xvdb", "xvdc", "xvdd",
					     "xvde", "xvdf", "xvdg",
					     "xvdh", "xvdi", "xvdj" };
	struct xsim_libxl_disk good, d;
	struct fakeguest *fg FG_SCOPED = NULL;
	struct rguest r RGUEST_SCOPED = { 0 };
	char be[160], path[200], *err;

	T_ASSERT(!start());
	T_ASSERT(!paused_guest(8, "bad"));
	rig_disk(&good, "xvda", "/etc/xen/xvb-rng:rate=16K");
	good.base = XSIM_VIRTIO_MMIO_BASE;
	good.irq = 33;
	T_EQ(xsim_libxl_write_disk(sim, 8, &good), 0);
	T_ASSERT(!wait_state2("virtio_disk", 8, 51712));
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		rig_disk(&d, vdevs[i], bad[i]);
		d.base = XSIM_VIRTIO_MMIO_BASE + 0x200 * (i + 1);
		d.irq = 34 + i % 9;
		T_EQ(xsim_libxl_write_disk(sim, 8, &d), 0);
		xsim_libxl_be_path(be, sizeof(be), "virtio_disk", 0, 8,
				   51712 + 16 * (i + 1));
		snprintf(path, sizeof(path), "%s/state", be);
		if (xsim_xs_wait_gone(sim, path, TMO_MS)) {
			t_fail(__FILE__, __LINE__, "%s: not refused", bad[i]);
			return;
		}
		snprintf(path, sizeof(path), "%s/error", be);
		err = xsim_xs_read(sim, 0, path, NULL);
		printf("# %s: %s\n", bad[i], err ? err : "(no error node)");
		T_ASSERT(err && err[0]);
		free(err);
	}
	T_EQ(xsim_domain_unpause(sim, 8), 0);
	fg = ram_of(8);
	T_ASSERT(!rg_up(&r, fg, 8, good.base, good.irq));
	T_EQ(rg_read(&r, 1, 2048), 2048); /* [rng]'s burst */
	T_ASSERT(rg_random(&r, 0, 2048, 150));
	T_ASSERT(!rg_down(&r));
	T_EQ(xsim_libxl_destroy(sim, 8), 0);
	T_ASSERT(!rig_settled());
	T_ASSERT(!rig_stop());
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T_CASE(static_mode_rng),
		T_CASE(both_routes),
		T_CASE(rate_limit_holds),
		T_CASE(bad_specs_refused),
	};
	int rc;

	if (rig_init())
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = t_main(cases, ARRAY_SIZE(cases), argc, argv);
	rig_cleanup();
	return rc;
}
