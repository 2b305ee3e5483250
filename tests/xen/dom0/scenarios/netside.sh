# SPDX-License-Identifier: MIT
# Scenario g: the same guest with its NIC on xvbd (virtio-net, a 4.17 disk
# slot) and on PV netback, interleaved: xvb.netlen bytes over TCP to dom0
# and back, each verified by its receiver. The numbers go out as
# "XVBT: netbench BACKEND ROUND tx X MB/s rx Y MB/s", the guest's NIC
# counters as "XVBT: netcount BACKEND ROUND start|tx|rx ..." and dom0's as
# "XVBT: netdom0 BACKEND ROUND ..." (dom0_cpu_s: Xen's account of dom0's
# time from before xl create to the end of the transfer; port_*: the
# guest's bridge port, the TAP or the vif; xvbd_cpu_s: the worker's CPU),
# and each guest's start and end as "XVBT: mark BACKEND ROUND/nic ..."
# (tests/xen/run adds the host's load average).
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
# Xen's account of dom0's CPU time (xl list's Time(s)), in seconds.
dom0_cpu() { xl list 0 2>/dev/null | awk 'NR == 2 { print $6 }'; }
# The bridge's ports but dom0's own (the guest's TAP or vif), summed.
port_counts() {
	for p in /sys/class/net/xenbr0/brif/*; do
		s=/sys/class/net/${p##*/}/statistics
		echo "$(cat $s/tx_packets) $(cat $s/tx_bytes) $(cat $s/tx_dropped) $(cat $s/rx_packets) $(cat $s/rx_dropped)"
	done | awk '{ for (i = 1; i <= 5; i++) t[i] += $i }
		END { printf "port_txp %d port_txb %d port_txdrop %d port_rxp %d port_rxdrop %d", t[1], t[2], t[3], t[4], t[5] }'
}
# The CPU seconds of domain $1's xvbd worker so far (0 if none).
worker_cpu() {
	pid=$(sed -n "s/.*supervisor: d$1: worker \([0-9]*\) started.*/\1/p" /var/log/xvbd.log | tail -1)
	[ -n "$pid" ] && [ -r /proc/$pid/stat ] || { echo 0; return; }
	awk '{ printf "%.2f", ($14 + $15) / 100 }' /proc/$pid/stat
}
# dom0's TCP retransmissions so far.
retrans() { awk '/^Tcp:/ { if (h) print $13; h = 1 }' /proc/net/snmp; }
# xvbd's own counters of domain $1's NIC once its worker logged them at
# close (per queue: kicks, used elements, interrupts; the device's frames).
xvbd_counts() {
	i=0
	while [ $i -lt 40 ] && ! grep -q "d$1 vnet0: vq0 counts" /var/log/xvbd.log; do
		sleep 0.25
		i=$((i + 1))
	done
	grep -E "d$1 vnet0: (vq[0-9]+ counts:|.*: TX [0-9]+ frames)" /var/log/xvbd.log |
		sed "s/^.*d$1 vnet0: /XVBT: xvbdnet $2 $3 /"
}
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
		cpu0=$(dom0_cpu) re0=$(retrans)
		echo "XVBT: mark $b $r/nic start"
		if create $g; then
			if wait_console $g "XVBG: listening nrx" $wait_s; then
				timeout $wait_s xvbt send $ip 5003 "$len" 79 >/tmp/ntx.out 2>&1
			fi
			echo "XVBT: netdom0 $b $r dom0_cpu_s $(awk -v a="$cpu0" -v b="$(dom0_cpu)" 'BEGIN { printf "%.1f", b - a }') $(port_counts) xvbd_cpu_s $(worker_cpu "$DOMID") dom0_retrans $(($(retrans) - re0))"
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
		echo "XVBT: mark $b $r/nic end"
		boot_line $b $r/nic $g
		# The counters, also of a run that did not finish.
		[ $b = xvb ] && xvbd_counts "$DOMID" $b $r
		console $g | sed -n "s/^XVBG: netcount /XVBT: netcount $b $r /p; s/^XVBG: netfeat /XVBT: netfeat $b $r /p"
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
