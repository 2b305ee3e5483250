// SPDX-License-Identifier: MIT
/*
 * Linked against Debian's libxen* (-z now: every symbol bound at load),
 * run on the simulator's libraries: proves the drop-in for an unmodified
 * binary. Serves the test window of domid argv[1] until the stop register.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xentoolcore.h>

#include "tdm.h"

/* Everything the simulator implements: each must resolve, version and all. */
static void *const used[] = {
	xenevtchn_open,
	xenevtchn_close,
	xenevtchn_fd,
	xenevtchn_bind_interdomain,
	xenevtchn_bind_unbound_port,
	xenevtchn_unbind,
	xenevtchn_notify,
	xenevtchn_pending,
	xenevtchn_unmask,
	xenevtchn_restrict,
	xendevicemodel_open,
	xendevicemodel_close,
	xendevicemodel_create_ioreq_server,
	xendevicemodel_destroy_ioreq_server,
	xendevicemodel_get_ioreq_server_info,
	xendevicemodel_map_io_range_to_ioreq_server,
	xendevicemodel_unmap_io_range_from_ioreq_server,
	xendevicemodel_set_ioreq_server_state,
	xendevicemodel_set_irq_level,
	xendevicemodel_nr_vcpus,
	xendevicemodel_restrict,
	xenforeignmemory_open,
	xenforeignmemory_close,
	xenforeignmemory_map,
	xenforeignmemory_map2,
	xenforeignmemory_unmap,
	xenforeignmemory_map_resource,
	xenforeignmemory_unmap_resource,
	xenforeignmemory_resource_size,
	xenforeignmemory_restrict,
	xengnttab_open,
	xengnttab_close,
	xengnttab_map_grant_ref,
	xengnttab_map_grant_refs,
	xengnttab_map_domain_grant_refs,
	xengnttab_unmap,
	xengnttab_set_max_grants,
	xs_open,
	xs_close,
	xs_daemon_open,
	xs_daemon_close,
	xs_read,
	xs_write,
	xs_rm,
	xs_mkdir,
	xs_directory,
	xs_get_permissions,
	xs_set_permissions,
	xs_watch,
	xs_unwatch,
	xs_fileno,
	xs_check_watch,
	xs_read_watch,
	xs_transaction_start,
	xs_transaction_end,
	xs_get_domain_path,
	xs_is_domain_introduced,
	xentoolcore_restrict_all,
};

/* Each library must come from the directory LD_LIBRARY_PATH starts with. */
static int check_origin(void)
{
	const char *lp = getenv("LD_LIBRARY_PATH");
	size_t n = lp ? strcspn(lp, ":") : 0;

	for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
		Dl_info info;

		if (!dladdr(used[i], &info) || !info.dli_fname || !n ||
		    strncmp(info.dli_fname, lp, n)) {
			fprintf(stderr, "dropin_dm: symbol %zu from %s\n", i,
				info.dli_fname ? info.dli_fname : "?");
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct xs_handle *xs;
	struct tdm t;
	int rc;

	if (argc < 2 || check_origin())
		return 2;
	rc = tdm_open(&t, strtoul(argv[1], NULL, 0), 0x02000000);
	if (rc) {
		fprintf(stderr, "dropin_dm: setup: %s\n", strerror(-rc));
		return 1;
	}
	/* tell the guest side we are ready, through xenstore */
	xs = xs_open(0);
	if (!xs || !xs_write(xs, XBT_NULL, "/test/dropin", "ready", 5)) {
		tdm_close(&t);
		return 1;
	}
	xs_close(xs);
	tdm_serve(&t);
	rc = t.err;
	tdm_close(&t);
	return rc ? 1 : 0;
}
