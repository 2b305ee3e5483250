// SPDX-License-Identifier: MIT
/* Register accesses of the simulated guest's drivers, as ioreqs. */
#include <time.h>

#include "hang.h"
#include "simbus.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void account(struct simbus *sb, int rc, uint64_t t0)
{
	uint64_t ns = now_ns() - t0;

	sb->ns += ns;
	sb->nr++;
	if (ns > sb->max_ns)
		sb->max_ns = ns;
	if (rc && !sb->err)
		sb->err = rc;
}

static uint64_t simbus_read(void *opaque, uint64_t off, unsigned int size)
{
	struct simbus *sb = opaque;
	uint64_t v = 0, t0 = now_ns();
	int rc = xsim_mmio_read(sb->sim, sb->domid, sb->vcpu, sb->base + off,
				size, &v, (int)t_hang_ms());

	account(sb, rc, t0);
	return rc ? ~0ULL : v;
}

static void simbus_write(void *opaque, uint64_t off, unsigned int size,
			 uint64_t val)
{
	struct simbus *sb = opaque;
	uint64_t t0 = now_ns();
	int rc = xsim_mmio_write(sb->sim, sb->domid, sb->vcpu, sb->base + off,
				 size, val, (int)t_hang_ms());

	account(sb, rc, t0);
}

void simbus_init(struct simbus *sb, struct xsim *sim, uint32_t domid,
		 unsigned int vcpu, uint64_t base)
{
	*sb = (struct simbus){
		.sim = sim, .domid = domid, .vcpu = vcpu, .base = base
	};
	sb->bus.read = simbus_read;
	sb->bus.write = simbus_write;
	sb->bus.opaque = sb;
}
