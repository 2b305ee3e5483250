# SPDX-License-Identifier: MIT
# Scenario g: the same guest with its NIC on xvbd (virtio-net, a 4.17 disk
# slot) and on PV netback, interleaved: xvb.netlen bytes over TCP to dom0
# and back, each verified by its receiver. The numbers go out as
# "XVBT: netbench BACKEND ROUND tx X MB/s rx Y MB/s".
rounds=$(param rounds)
len=$(param netlen)
len=${len:-8M}
# Waits grow with the size: a loaded host has moved as little as 0.3 MB/s.
mib=$(echo "$len" | sed -n 's/^\([0-9]*\)M$/\1/p')
wait_s=$((200 + 8 * ${mib:-8}))
if ! bridge_up; then
	fail xen_nic_side_by_side "no bridge xenbr0: $(tr '\n' ' ' </tmp/br.err)"
	return 0 2>/dev/null || exit 0
fi
okc=0
n=0
r=1
while [ $r -le "${rounds:-1}" ]; do
	for b in xvb pv; do
		n=$((n + 1))
		g=gn$b$r
		mac=00:16:3e:00:01:$(printf %02x $n)
		ip=10.99.0.$((10 + n))
		params="xvb.mac=$mac xvb.ip=$ip xvb.peer=10.99.0.1 xvb.len=$len"
		if [ $b = xvb ]; then
			target=$(nic_target $mac)
			mkcfg $g netbench 1 "$params" "$(vdisk xvdb rw "$target")"
		else
			VIF=$(pvnic $mac)
			mkcfg $g netbench 1 "$params"
			unset VIF
		fi
		xvbt recv 5002 "$len" 78 >/tmp/nrx.out 2>&1 &
		rpid=$!
		if create $g; then
			if wait_console $g "XVBG: listening nrx" $wait_s; then
				timeout $wait_s xvbt send $ip 5003 "$len" 79 >/tmp/ntx.out 2>&1
			fi
			if run_guest $g $wait_s && console $g | grep -q '^XVBG: ok netbench' &&
				wait $rpid; then
				tx=$(console $g | sed -n 's/^XVBG: netbench tx .*: \([0-9.]*\) MB\/s.*/\1/p')
				rx=$(console $g | sed -n 's/^XVBG: netbench rx .*: \([0-9.]*\) MB\/s.*/\1/p')
				echo "XVBT: netbench $b $r tx $tx MB/s rx $rx MB/s"
				okc=$((okc + 1))
				[ $b = xvb ] && [ "$(param count)" = 1 ] && worker_counts "$DOMID" net $r
			elif console $g | grep -q '^XVBG: ok netbench'; then
				fail xen_nic_side_${b}_$r "dom0's receiver: $(tr '\n' ' ' </tmp/nrx.out)"
			else
				result xen_nic_side_${b}_$r $g netbench
			fi
		else
			fail xen_nic_side_${b}_$r "xl create failed: $(tail -2 /tmp/create-$g.log | tr '\n' ' ')"
		fi
		kill $rpid 2>/dev/null
		wait $rpid 2>/dev/null
		rm -f "xvb-net:"*
	done
	r=$((r + 1))
done
bridge_down
if [ $okc = $((2 * ${rounds:-1})) ]; then
	ok xen_nic_side_by_side
else
	fail xen_nic_side_by_side "$okc of $((2 * ${rounds:-1})) runs completed"
fi
