// SPDX-License-Identifier: MIT
/* The simulator instance: creation, domains, waits and error reports. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

#define DOMID_FIRST_RESERVED_ 0x7ff0

void sim_report(struct xsim *sim, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sim->last_error, sizeof(sim->last_error), fmt, ap);
	va_end(ap);
	sim->stats.errors++;
	if (!sim->quiet)
		fprintf(stderr, "xsim: %s\n", sim->last_error);
}

/* Xen's domain_crash(): the guest stops, blocked vCPUs return -EIO. */
void dom_crash(struct xsim *sim, struct xsim_dom *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->crash_reason, sizeof(d->crash_reason), fmt, ap);
	va_end(ap);
	d->crashed = true;
	sim_report(sim, "d%u crashed: %s", d->domid, d->crash_reason);
	pthread_cond_broadcast(&sim->cond);
}

struct xsim_dom *dom_find(struct xsim *sim, uint32_t domid)
{
	struct xsim_dom *d;

	for (d = sim->doms; d; d = d->next)
		if (d->domid == domid && !d->dying)
			return d;
	return NULL;
}

void deadline_set(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	if (timeout_ms < 0)
		return;
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* One wait on the big condition variable; false once the deadline passed. */
bool sim_wait(struct xsim *sim, const struct timespec *deadline, int timeout_ms)
{
	if (timeout_ms < 0) {
		pthread_cond_wait(&sim->cond, &sim->lock);
		return true;
	}
	return pthread_cond_timedwait(&sim->cond, &sim->lock, deadline) !=
	       ETIMEDOUT;
}

/* Frees a domain, whole or half-built. */
static void dom_free(struct xsim_dom *d)
{
	if (!d)
		return;
	mem_dom_free(d);
	free(d->vcpu);
	free(d->grant);
	free(d->irq);
	free(d);
}

/* A new domain, not yet linked: 0 or -errno, *out owned by the caller. */
static int dom_alloc(const struct xsim_domain_config *cfg,
		     struct xsim_dom **out)
{
	struct xsim_dom *d;
	int rc;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->domid = cfg->domid;
	d->nr_vcpus = cfg->nr_vcpus;
	d->nr_spis = cfg->nr_spis ? cfg->nr_spis : 32;
	d->nr_grants = cfg->nr_grants ? cfg->nr_grants : 4096;
	d->paused = cfg->paused;
	d->port[0].state = PORT_RESERVED; /* port 0 is never valid */
	d->vcpu = calloc(d->nr_vcpus, sizeof(*d->vcpu));
	d->grant = calloc(d->nr_grants, sizeof(*d->grant));
	d->irq = calloc(d->nr_spis, sizeof(*d->irq));
	rc = -ENOMEM;
	if (!d->vcpu || !d->grant || !d->irq)
		goto err;
	rc = mem_dom_init(d, cfg->ram_bytes);
	if (rc)
		goto err;
	/* Xen on Arm invalidates the mapcache once at boot (XEN-NOTES). */
	d->vcpu[0].invalidate = true;
	*out = d;
	return 0;

err:
	dom_free(d);
	return rc;
}

int xsim_domain_create(struct xsim *sim, const struct xsim_domain_config *cfg)
{
	/* Xen's limits: ids below DOMID_FIRST_RESERVED, 988 SPIs at most */
	struct xsim_dom *d;
	int rc;

	if (cfg->domid >= DOMID_FIRST_RESERVED_ || !cfg->nr_vcpus ||
	    cfg->nr_vcpus > XSIM_MAX_VCPUS || cfg->nr_spis > 988 ||
	    (cfg->ram_bytes & (PAGE_SIZE - 1)) ||
	    (cfg->domid && !cfg->ram_bytes))
		return -EINVAL;
	pthread_mutex_lock(&sim->lock);
	rc = -EEXIST;
	if (dom_find(sim, cfg->domid))
		goto out;
	rc = dom_alloc(cfg, &d);
	if (rc)
		goto out;
	d->next = sim->doms;
	sim->doms = d;
out:
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

static void dom_unlink(struct xsim *sim, struct xsim_dom *d)
{
	struct xsim_dom **pp;

	for (pp = &sim->doms; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			return;
		}
	}
}

/* Caller holds the lock; waits for guest calls to leave the domain. */
static void dom_kill(struct xsim *sim, struct xsim_dom *d)
{
	d->dying = true;
	pthread_cond_broadcast(&sim->cond);
	while (d->users)
		pthread_cond_wait(&sim->cond, &sim->lock);
	ioreq_dom_teardown(sim, d);
	for (uint32_t p = 1; p < XSIM_NR_PORTS; p++)
		if (d->port[p].state != PORT_FREE)
			evtchn_close(sim, d, p);
	dom_unlink(sim, d);
	dom_free(d);
}

int xsim_domain_destroy(struct xsim *sim, uint32_t domid)
{
	struct xsim_dom *d;

	if (domid == 0)
		return -EPERM;
	pthread_mutex_lock(&sim->lock);
	d = dom_find(sim, domid);
	if (!d) {
		pthread_mutex_unlock(&sim->lock);
		return -ESRCH;
	}
	dom_kill(sim, d);
	/* xenstored tells everyone watching that a domain is gone. */
	xst_fire_special(sim, "@releaseDomain");
	pthread_cond_broadcast(&sim->cond);
	pthread_mutex_unlock(&sim->lock);
	return 0;
}

int xsim_domain_unpause(struct xsim *sim, uint32_t domid)
{
	struct xsim_dom *d;
	int rc = -ESRCH;

	pthread_mutex_lock(&sim->lock);
	d = dom_find(sim, domid);
	if (d) {
		d->paused = false;
		pthread_cond_broadcast(&sim->cond);
		rc = 0;
	}
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

int xsim_domain_crashed(struct xsim *sim, uint32_t domid, char *buf, size_t len)
{
	struct xsim_dom *d;
	int rc = -ESRCH;

	pthread_mutex_lock(&sim->lock);
	d = dom_find(sim, domid);
	if (d) {
		rc = d->crashed;
		if (buf && len)
			snprintf(buf, len, "%s", d->crash_reason);
	}
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

void xsim_get_stats(struct xsim *sim, struct xsim_stats *st)
{
	pthread_mutex_lock(&sim->lock);
	*st = sim->stats;
	pthread_mutex_unlock(&sim->lock);
}

unsigned int xsim_last_error(struct xsim *sim, char *buf, size_t len)
{
	unsigned int n;

	pthread_mutex_lock(&sim->lock);
	n = sim->stats.errors;
	if (buf && len)
		snprintf(buf, len, "%s", sim->last_error);
	pthread_mutex_unlock(&sim->lock);
	return n;
}

int xsim_create(const struct xsim_config *cfg, struct xsim **out)
{
	/* dom0: where the libraries run unless XVB_SIM_DOMID says otherwise */
	static const struct xsim_domain_config dom0 = { .domid = 0,
							.nr_vcpus = 1 };
	pthread_condattr_t ca;
	struct xsim *sim;
	int rc;

	sim = calloc(1, sizeof(*sim));
	if (!sim)
		return -ENOMEM;
	sim->lfd = sim->epfd = sim->wake_fd = -1;
	sim->libxl_timeout_ms = cfg->libxl_timeout_ms ? cfg->libxl_timeout_ms :
							10000;
	sim->quiet = cfg->quiet;
	pthread_mutex_init(&sim->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sim->cond, &ca);
	pthread_condattr_destroy(&ca);

	rc = xst_init(sim);
	if (rc)
		goto err;
	rc = xsim_domain_create(sim, &dom0);
	if (rc)
		goto err;
	sim->doms->introduced = true;
	if (cfg->socket_path) {
		rc = server_start(sim, cfg->socket_path);
		if (rc)
			goto err;
	}
	*out = sim;
	return 0;

err:
	xsim_destroy(sim);
	return rc;
}

void xsim_set_libxl_timeout(struct xsim *sim, unsigned int ms)
{
	pthread_mutex_lock(&sim->lock);
	sim->libxl_timeout_ms = ms ? ms : 10000;
	pthread_mutex_unlock(&sim->lock);
}

void xsim_destroy(struct xsim *sim)
{
	if (!sim)
		return;
	/* connections first: closing them unbinds ports in the domains */
	server_stop(sim);
	pthread_mutex_lock(&sim->lock);
	while (sim->doms)
		dom_kill(sim, sim->doms);
	xst_fini(sim);
	pthread_mutex_unlock(&sim->lock);
	pthread_cond_destroy(&sim->cond);
	pthread_mutex_destroy(&sim->lock);
	free(sim);
}
