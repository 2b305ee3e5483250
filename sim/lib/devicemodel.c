// SPDX-License-Identifier: MIT
/*
 * libxendevicemodel on the simulator: the dm_ops an Arm ioreq server
 * uses; the x86-only ones fail with ENOSYS.
 */
#include <errno.h>
#include <stdlib.h>

#include <xendevicemodel.h>

#include "client.h"

struct xendevicemodel_handle {
	struct xsc c;
};

static int restrict_cb(struct xtc_handle *ah, domid_t domid)
{
	return xsc_restrict(xsc_of(ah), domid);
}

xendevicemodel_handle *xendevicemodel_open(struct xentoollog_logger *logger,
					   unsigned int open_flags)
{
	xendevicemodel_handle *dm = calloc(1, sizeof(*dm));
	int saved;

	if (!dm)
		return NULL;
	if (xsc_open(&dm->c, XSIM_KIND_DM, restrict_cb)) {
		saved = errno;
		free(dm);
		errno = saved;
		return NULL;
	}
	return dm;
}

int xendevicemodel_close(xendevicemodel_handle *dm)
{
	if (!dm)
		return 0;
	xsc_close(&dm->c);
	free(dm);
	return 0;
}

/* One dm_op, for the calls with at most four scalar arguments. */
static int op(xendevicemodel_handle *dm, uint32_t op, domid_t domid,
	      uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t *out)
{
	return xsc_simple(&dm->c, op, domid, a0, a1, a2, a3, out);
}

int xendevicemodel_create_ioreq_server(xendevicemodel_handle *dm, domid_t domid,
				       int handle_bufioreq, ioservid_t *id)
{
	uint64_t v;

	if (op(dm, XSIM_OP_DM_CREATE_SERVER, domid, handle_bufioreq, 0, 0, 0,
	       &v))
		return -1;
	*id = v;
	return 0;
}

int xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *dm,
					 domid_t domid, ioservid_t id,
					 xen_pfn_t *ioreq_gfn,
					 xen_pfn_t *bufioreq_gfn,
					 evtchn_port_t *bufioreq_port)
{
	uint64_t port;

	/* asking for gfns is the legacy interface Arm refuses (EOPNOTSUPP) */
	if (op(dm, XSIM_OP_DM_SERVER_INFO, domid, id, ioreq_gfn || bufioreq_gfn,
	       0, 0, &port))
		return -1;
	if (bufioreq_port)
		*bufioreq_port = port;
	return 0;
}

int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *dm,
						domid_t domid, ioservid_t id,
						int is_mmio, uint64_t start,
						uint64_t end)
{
	return op(dm, XSIM_OP_DM_MAP_RANGE, domid, id, is_mmio ? 1 : 0, start,
		  end, NULL);
}

int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *dm,
						    domid_t domid,
						    ioservid_t id, int is_mmio,
						    uint64_t start,
						    uint64_t end)
{
	return op(dm, XSIM_OP_DM_UNMAP_RANGE, domid, id, is_mmio ? 1 : 0, start,
		  end, NULL);
}

int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *dm,
					domid_t domid, ioservid_t id)
{
	return op(dm, XSIM_OP_DM_DESTROY_SERVER, domid, id, 0, 0, 0, NULL);
}

int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *dm,
					  domid_t domid, ioservid_t id,
					  int enabled)
{
	return op(dm, XSIM_OP_DM_SET_STATE, domid, id, !!enabled, 0, 0, NULL);
}

int xendevicemodel_set_irq_level(xendevicemodel_handle *dm, domid_t domid,
				 unsigned int irq, unsigned int level)
{
	return op(dm, XSIM_OP_DM_SET_IRQ_LEVEL, domid, irq, level, 0, 0, NULL);
}

/* XEN_DMOP_nr_vcpus: the domain's max_vcpus. */
int xendevicemodel_nr_vcpus(xendevicemodel_handle *dm, domid_t domid,
			    unsigned int *vcpus)
{
	uint64_t v;

	if (op(dm, XSIM_OP_DM_NR_VCPUS, domid, 0, 0, 0, 0, &v))
		return -1;
	*vcpus = v;
	return 0;
}

int xendevicemodel_restrict(xendevicemodel_handle *dm, domid_t domid)
{
	return xsc_restrict(&dm->c, domid);
}

/* ---- not modelled (x86 or unused on Arm) -------------------------------- */

static int nosys(void)
{
	errno = ENOSYS;
	return -1;
}

int xendevicemodel_map_mem_type_to_ioreq_server(xendevicemodel_handle *dm,
						domid_t domid, ioservid_t id,
						uint16_t type, uint32_t flags)
{
	return nosys();
}

int xendevicemodel_map_pcidev_to_ioreq_server(xendevicemodel_handle *dm,
					      domid_t domid, ioservid_t id,
					      uint16_t segment, uint8_t bus,
					      uint8_t device, uint8_t function)
{
	return nosys();
}

int xendevicemodel_unmap_pcidev_from_ioreq_server(xendevicemodel_handle *dm,
						  domid_t domid, ioservid_t id,
						  uint16_t segment, uint8_t bus,
						  uint8_t device,
						  uint8_t function)
{
	return nosys();
}

int xendevicemodel_set_pci_intx_level(xendevicemodel_handle *dm, domid_t domid,
				      uint16_t segment, uint8_t bus,
				      uint8_t device, uint8_t intx,
				      unsigned int level)
{
	return nosys();
}

int xendevicemodel_set_isa_irq_level(xendevicemodel_handle *dm, domid_t domid,
				     uint8_t irq, unsigned int level)
{
	return nosys();
}

int xendevicemodel_set_pci_link_route(xendevicemodel_handle *dm, domid_t domid,
				      uint8_t link, uint8_t irq)
{
	return nosys();
}

int xendevicemodel_inject_msi(xendevicemodel_handle *dm, domid_t domid,
			      uint64_t msi_addr, uint32_t msi_data)
{
	return nosys();
}

int xendevicemodel_track_dirty_vram(xendevicemodel_handle *dm, domid_t domid,
				    uint64_t first_pfn, uint32_t nr,
				    unsigned long *dirty_bitmap)
{
	return nosys();
}

int xendevicemodel_modified_memory(xendevicemodel_handle *dm, domid_t domid,
				   uint64_t first_pfn, uint32_t nr)
{
	return nosys();
}

int xendevicemodel_modified_memory_bulk(
	xendevicemodel_handle *dm, domid_t domid,
	struct xen_dm_op_modified_memory_extent extents[], uint32_t nr)
{
	return nosys();
}

int xendevicemodel_set_mem_type(xendevicemodel_handle *dm, domid_t domid,
				hvmmem_type_t mem_type, uint64_t first_pfn,
				uint32_t nr)
{
	return nosys();
}

int xendevicemodel_inject_event(xendevicemodel_handle *dm, domid_t domid,
				int vcpu, uint8_t vector, uint8_t type,
				uint32_t error_code, uint8_t insn_len,
				uint64_t extra)
{
	return nosys();
}

int xendevicemodel_shutdown(xendevicemodel_handle *dm, domid_t domid,
			    unsigned int reason)
{
	return nosys();
}

int xendevicemodel_relocate_memory(xendevicemodel_handle *dm, domid_t domid,
				   uint32_t size, uint64_t src_gfn,
				   uint64_t dst_gfn)
{
	return nosys();
}

int xendevicemodel_pin_memory_cacheattr(xendevicemodel_handle *dm,
					domid_t domid, uint64_t start,
					uint64_t end, uint32_t type)
{
	return nosys();
}
