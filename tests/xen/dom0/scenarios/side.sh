# SPDX-License-Identifier: MIT
# Scenario d: the same guest and backing file on xvbd (virtio) and on PV
# blkback (a loop device), interleaved: xvb pv xvb pv ... xvb.rounds rounds
# of xvb.secs seconds per workload. The numbers go out as
# "XVBT: bench BACKEND ROUND MODE ... MB/s ... IOPS".
rounds=$(param rounds)
secs=$(param secs)
dd if=/dev/zero of=/srv/bench.img bs=1M count=128 2>/dev/null
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
		if create $g && run_guest $g $((120 + 4 * ${secs:-3})); then
			console $g | sed -n "s/^XVBG: bench /XVBT: bench $b $r /p"
			console $g | grep -q '^XVBG: ok bench' && okc=$((okc + 1))
			[ $b = xvb ] && worker_counts "$DOMID" $b $r
		fi
		result xen_side_${b}_$r $g bench >/tmp/side.res
		grep -q '^XVBT: ok' /tmp/side.res || cat /tmp/side.res
	done
	r=$((r + 1))
done
if [ $okc = $((2 * ${rounds:-1})) ]; then
	ok xen_side_by_side
else
	fail xen_side_by_side "$okc of $((2 * ${rounds:-1})) runs completed"
fi
