# SPDX-License-Identifier: MIT
# The side-by-side workloads on the guest's disk, xvb.dev (vda on
# xvb, xvda on PV blkback). xvb.secs: seconds per workload; xvb.work, if
# given, the workloads to run ("MODE+BS+QD", several joined by '_'),
# otherwise 1M sequential read and write at QD4 and 4k random read at QD32.
# xvb.hipri=1: polled completions (io_uring IOPOLL, fio's --hipri); the
# disk must then have a poll queue (xvb.blkmod=poll_queues=1), or the step
# fails rather than measure interrupts under a polled name.
secs=$(param secs)
work=$(param work | tr '+_' ' \n')
hipri=
[ "$(param hipri)" = 1 ] && hipri=hipri
# Interrupts taken so far by the disk's driver (virtio or blkfront).
irqs() {
	grep -E 'virtio|blkif|xvd' /proc/interrupts |
		awk '{ for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }'
}
dev=/dev/$(param dev)
if ! wait_dev $dev; then
	fail bench "no $dev"
elif [ -n "$hipri" ] && [ "$(cat /sys/block/${dev#/dev/}/queue/io_poll 2>/dev/null)" != 1 ]; then
	fail bench "hipri asked for but $dev has no poll queue: $(dmesg | grep -m1 'default/read/poll queues')"
else
	# Linux's virtio_blk says how it split its queues ("1/0/1
	# default/read/poll queues"); the queue count comes from the device.
	q=$(dmesg | sed -n 's/.*virtio_blk.* \([0-9]*\/[0-9]*\/[0-9]*\) default\/read\/poll queues.*/\1/p' | head -1)
	[ -n "$q" ] && info "bench queues $q default/read/poll"
	rc=0
	[ -n "$work" ] || work="read 1M 4
write 1M 4
randread 4k 32"
	while read -r w; do
		[ -n "$w" ] || continue
		set -- $w
		i0=$(irqs)
		if out=$(xvbt bench $dev $1 $2 $3 "$secs" $hipri 2>&1); then
			echo "XVBG: $out irqs $(($(irqs) - i0))"
		else
			rc=1
			fail bench "$w: $out"
		fi
	done <<WORK
$work
WORK
	[ $rc = 0 ] && ok bench
fi
