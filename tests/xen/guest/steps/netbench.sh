# SPDX-License-Identifier: MIT
# The side-by-side NIC workload, on a virtio NIC (xvbd) or a PV one
# (netback) with MAC xvb.mac: xvb.len bytes to dom0 (xvb.peer:5002, which
# verifies them), then xvb.len bytes from dom0 (port 5003, verified here).
# Prints "XVBG: netbench tx|rx ... MB/s", and the NIC's counters before,
# between and after as "XVBG: netcount start|tx|rx ..." (see nic_counts).
mac=$(param mac)
len=$(param len)
if ! find_nic "$mac"; then
	fail netbench "no interface with MAC $mac: $(ls /sys/class/net | tr '\n' ' ')"
elif ! net_up "$(param ip)" "$(param peer)"; then
	fail netbench "no ping: $(tail -2 /tmp/ping.out | tr '\n' ' ')"
elif ! c0=$(nic_counts) || ! out=$(xvbt send "$(param peer)" 5002 "$len" 78 2>&1); then
	fail netbench "to dom0: $out"
else
	f=/sys/class/net/$DEV/device/features
	[ -f $f ] && echo "XVBG: netfeat $(cat $f)"
	echo "XVBG: netcount start $c0"
	echo "XVBG: netcount tx $(nic_counts)"
	echo "XVBG: netbench tx $out"
	if recv_from_dom0 nrx 5003 "$len" 79; then
		echo "XVBG: netcount rx $(nic_counts)"
		echo "XVBG: netbench rx $OUT"
		ok netbench
	else
		fail netbench "from dom0: $(tr '\n' ' ' </tmp/nrx.out)"
	fi
fi
