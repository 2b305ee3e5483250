# SPDX-License-Identifier: MIT
# The side-by-side workloads on the guest's disk, xvb.dev (vda on
# xvb, xvda on PV blkback). xvb.secs: seconds per workload; xvb.work, if
# given, the only one to run ("MODE+BS+QD", for a per-workload profile).
secs=$(param secs)
work=$(param work | tr '+' ' ')
# Interrupts taken so far by the disk's driver (virtio or blkfront).
irqs() {
	grep -E 'virtio|blkif|xvd' /proc/interrupts |
		awk '{ for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }'
}
dev=/dev/$(param dev)
if ! wait_dev $dev; then
	fail bench "no $dev"
else
	rc=0
	if [ -n "$work" ]; then
		set -- "$work"
	else
		set -- "read 1M 4" "write 1M 4" "randread 4k 32"
	fi
	for w in "$@"; do
		set -- $w
		i0=$(irqs)
		if out=$(xvbt bench $dev $1 $2 $3 "$secs" 2>&1); then
			echo "XVBG: $out irqs $(($(irqs) - i0))"
		else
			rc=1
			fail bench "$w: $out"
		fi
	done
	[ $rc = 0 ] && ok bench
fi
