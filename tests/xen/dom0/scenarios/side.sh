# SPDX-License-Identifier: MIT
# Scenario d: the same guest and backing file on xvbd (virtio) and on PV
# blkback (a loop device), interleaved: xvb pv xvb pv ... xvb.rounds rounds
# of xvb.secs seconds per workload. Each round runs every set of
# xvb.sets ('+'-separated; default v1): v1 and v2, the guest with 1 or 2
# vCPUs (xvbd's queue count follows them), and poll, a 2-vCPU guest whose
# virtio_blk polls one queue (poll_queues=1) under io_uring IOPOLL
# (xvb.pollwork; blkfront cannot poll, so its guest runs the same
# workloads on interrupts). xvb.work: the workloads of v1 and v2
# ("MODE+BS+QD" joined by '_'; default the guest step's). The numbers go
# out as "XVBT: bench BACKEND ROUND/SET MODE ... MB/s ... IOPS"; Xen's
# account of dom0's CPU over each guest's life as "XVBT: blkdom0 BACKEND
# ROUND/SET dom0_cpu_s X", xvbd's own counts per queue (kicks, used
# elements, interrupts) as "XVBT: xvbdblk BACKEND|prof ROUND/SET vqN
# counts: ...", the guest's boot as "XVBT: boot ..." and each guest's start
# and end as "XVBT: mark ..." (tests/xen/run adds the host's load average
# to those lines as it reads them).
rounds=$(param rounds)
secs=$(param secs)
count=$(param count)
dd if=/dev/zero of=/srv/bench.img bs=1M count=128 2>/dev/null

# What one trap costs from the guest: a register xvbd serves (an ioreq
# round trip through dom0) and a hypercall Xen answers; no drivers loaded.
n=300
[ "${count:-0}" = 1 ] && n=2000
mkcfg grtt rtt 1 "xvb.nomods=1 xvb.count=$n" "$(vdisk xvda rw /srv/bench.img)"
if create grtt && run_guest grtt 200; then
	console grtt | sed -n 's/^XVBG: rtt /XVBT: rtt: /p'
	console grtt | grep '^XVBG: FAIL' | sed 's/^XVBG: /XVBT: rtt: /'
	[ "${count:-0}" = 1 ] && worker_counts "$DOMID" rtt 0
else
	echo "XVBT: rtt: no result (${WHY:-xl create failed})"
fi
# Xen's account of dom0's CPU time (xl list's Time(s)), in seconds.
dom0_cpu() { xl list 0 2>/dev/null | awk 'NR == 2 { print $6 }'; }
# xvbd's per-queue counts of domain $1's disk, logged as its worker closed.
xvbd_blk_counts() {
	i=0
	while [ $i -lt 40 ] && ! grep -q -E "d$1 vblk[0-9]*: vq0 counts" /var/log/xvbd.log; do
		sleep 0.25
		i=$((i + 1))
	done
	grep -E "d$1 vblk[0-9]*: vq[0-9]+ counts:" /var/log/xvbd.log |
		sed "s|^.*d$1 vblk[0-9]*: |XVBT: xvbdblk $2 $3 |"
}
sets=$(param sets | tr '+' ' ')
sets=${sets:-v1}
work=$(param work)
pollwork=$(param pollwork)
pollwork=${pollwork:-randread+4k+1_randread+4k+32}
nw=$(echo "${work:-a_b_c}" | tr '_' '\n' | wc -l)
runs=0 okc=0
r=1
while [ $r -le "${rounds:-1}" ]; do
	for set in $sets; do
		case $set in
		v1) vcpus=1 w=$work np=$nw extra= ;;
		v2) vcpus=2 w=$work np=$nw extra= ;;
		poll)
			vcpus=2 w=$pollwork extra="xvb.blkmod=poll_queues=1"
			np=$(echo "$w" | tr '_' '\n' | wc -l)
			;;
		*)
			fail xen_side_set "unknown set $set"
			continue
			;;
		esac
		for b in xvb pv; do
			runs=$((runs + 1))
			g=gb$b$set$r
			p="xvb.secs=${secs:-3}${w:+ xvb.work=$w} $extra"
			if [ $b = xvb ]; then
				[ $set = poll ] && p="$p xvb.hipri=1"
				mkcfg $g bench $vcpus "$p xvb.dev=vda" "$(vdisk xvda rw /srv/bench.img)"
			else
				mkcfg $g bench $vcpus "$p xvb.dev=xvda" "$(pvdisk xvda rw /srv/bench.img)"
			fi
			cpu0=$(dom0_cpu)
			echo "XVBT: mark $b $r/$set start"
			ran=0
			if create $g; then
				run_guest $g $((120 + np * (10 + ${secs:-3}))) && ran=1
			fi
			echo "XVBT: mark $b $r/$set end"
			# A guest that finished its workloads but was slow to go
			# (a loaded host) still has numbers: kept, and said.
			if console $g | grep -q '^XVBG: ok bench'; then
				[ $ran = 1 ] || echo "XVBT: side: $g: $WHY"
				boot_line $b $r/$set $g
				echo "XVBT: blkdom0 $b $r/$set dom0_cpu_s $(awk -v a="$cpu0" -v b="$(dom0_cpu)" 'BEGIN { printf "%.1f", b - a }')"
				console $g | sed -n "s/^XVBG: bench /XVBT: bench $b $r\/$set /p; s/^XVBG: info bench queues /XVBT: benchq $b $r\/$set /p"
				[ $ran = 1 ] && okc=$((okc + 1))
				[ $b = xvb ] && worker_counts "$DOMID" $b $r/$set
				[ $b = xvb ] && xvbd_blk_counts "$DOMID" $b $r/$set
			fi
			result xen_side_${b}_${set}_$r $g bench >/tmp/side.res
			grep -q '^XVBT: ok' /tmp/side.res || cat /tmp/side.res
		done
	done
	r=$((r + 1))
done
# Bench runs: one xvb guest per workload, so that xvbcount.so's counts
# (ioreqs by register, interrupts, time in xvbd) are per workload.
if [ "${count:-0}" = 1 ]; then
	k=0
	for w in read+1M+4 write+1M+4 randread+4k+32; do
		k=$((k + 1))
		g=gprof$k
		mkcfg $g bench 1 "xvb.secs=${secs:-3} xvb.dev=vda xvb.work=$w" "$(vdisk xvda rw /srv/bench.img)"
		if create $g && run_guest $g $((120 + 2 * ${secs:-3})); then
			console $g | sed -n "s/^XVBG: bench /XVBT: bench prof $k /p"
			worker_counts "$DOMID" prof $k
			xvbd_blk_counts "$DOMID" prof $k
		fi
	done
fi

if [ $okc = $runs ]; then
	ok xen_side_by_side
else
	fail xen_side_by_side "$okc of $runs runs completed"
fi
