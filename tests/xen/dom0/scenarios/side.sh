# SPDX-License-Identifier: MIT
# Scenario d: the same guest and backing file on xvbd (virtio) and on PV
# blkback (a loop device), interleaved: xvb pv xvb pv ... xvb.rounds rounds
# of xvb.secs seconds per workload. The numbers go out as
# "XVBT: bench BACKEND ROUND MODE ... MB/s ... IOPS"; Xen's account of
# dom0's CPU over each guest's life as "XVBT: blkdom0 BACKEND ROUND
# dom0_cpu_s X", and xvbd's own counts per queue (kicks, used elements,
# interrupts) as "XVBT: xvbdblk BACKEND|prof ROUND vqN counts: ...".
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
		sed "s/^.*d$1 vblk[0-9]*: /XVBT: xvbdblk $2 $3 /"
}
okc=0
r=1
while [ $r -le "${rounds:-1}" ]; do
	for b in xvb pv; do
		g=gb$b$r
		if [ $b = xvb ]; then
			mkcfg $g bench 1 "xvb.secs=${secs:-3} xvb.dev=vda" "$(vdisk xvda rw /srv/bench.img)"
		else
			mkcfg $g bench 1 "xvb.secs=${secs:-3} xvb.dev=xvda" "$(pvdisk xvda rw /srv/bench.img)"
		fi
		cpu0=$(dom0_cpu)
		if create $g && run_guest $g $((120 + 4 * ${secs:-3})); then
			echo "XVBT: blkdom0 $b $r dom0_cpu_s $(awk -v a="$cpu0" -v b="$(dom0_cpu)" 'BEGIN { printf "%.1f", b - a }')"
			console $g | sed -n "s/^XVBG: bench /XVBT: bench $b $r /p"
			console $g | grep -q '^XVBG: ok bench' && okc=$((okc + 1))
			[ $b = xvb ] && worker_counts "$DOMID" $b $r
			[ $b = xvb ] && xvbd_blk_counts "$DOMID" $b $r
		fi
		result xen_side_${b}_$r $g bench >/tmp/side.res
		grep -q '^XVBT: ok' /tmp/side.res || cat /tmp/side.res
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

if [ $okc = $((2 * ${rounds:-1})) ]; then
	ok xen_side_by_side
else
	fail xen_side_by_side "$okc of $((2 * ${rounds:-1})) runs completed"
fi
