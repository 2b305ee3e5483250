# SPDX-License-Identifier: MIT
# What one trap costs, from the guest: 32-bit reads through /dev/mem of a
# register xvbd serves (the virtio disk's MagicValue: an ioreq to dom0 and
# back), and reads of /sys/hypervisor/version/major (a xen_version hypercall
# each, Xen answers it itself) beside /sys/hypervisor/type (no hypercall).
# The guest runs with no drivers (xvb.nomods=1): virtio_mmio must not claim
# the window. xvb.count: traps of each kind.
n=$(param count)
rc=0
if out=$(xvbt mmio 0x2000000 "${n:-500}" 2>&1); then
	echo "XVBG: rtt ioreq: $out"
else
	rc=1
	fail rtt "ioreq: $out"
fi
for f in version/major type; do
	if out=$(xvbt sysread /sys/hypervisor/$f "${n:-500}" 2>&1); then
		echo "XVBG: rtt sysfs: $out"
	else
		rc=1
		fail rtt "sysfs: $out"
	fi
done
[ $rc = 0 ] && ok rtt
