# SPDX-License-Identifier: MIT
# Scenario f: a virtio NIC served by xvbd. Xen 4.17's xl has no virtio NIC
# syntax; a virtio disk slot whose target starts with "xvb-net:" is one.
# xvbd makes TAP vxb<domid>.<devid> on bridge xenbr0 (10.99.0.1 here); the
# guest pings 10.99.0.1 and sends 1 MiB over TCP, whose md5sum dom0 checks,
# and receives 4 MiB from dom0, which it verifies.
mac=00:16:3e:00:00:42
port=5000
if ! bridge_up; then
	fail xen_nic_create "no bridge xenbr0: $(tr '\n' ' ' </tmp/br.err)"
	skip xen_nic_ping "no bridge"
	skip xen_nic_tcp "no bridge"
	skip xen_nic_rx "no bridge"
	return 0 2>/dev/null || exit 0
fi
rm -f /tmp/rx
# nc's stdin must not end: busybox nc answers EOF on stdin with a FIN, and
# the guest's nc then quits with most of its data still unsent.
sleep 300 | nc -l -p $port >/tmp/rx 2>/tmp/nc-l.err &
ncpid=$!
target=$(nic_target $mac)
mkcfg gnet net 1 "xvb.mac=$mac xvb.ip=10.99.0.2 xvb.peer=10.99.0.1 xvb.port=$port" \
	"$(vdisk xvdb rw "$target")"
if create gnet; then
	d=$DOMID
	tap=vxb$d.51728
	w=$(workers "$d")
	if ! wait_console gnet "XVBG: [a-zA-Z]* nic" 120; then
		fail xen_nic_create "the guest reported no NIC within 120 s; console: $(console gnet | grep -v '^\[' | tail -3 | tr '\n' '|')"
	elif [ -z "$w" ]; then
		fail xen_nic_create "no worker for domain $d"
	elif [ ! -e "/sys/class/net/$tap" ]; then
		fail xen_nic_create "no TAP $tap in dom0: $(ls /sys/class/net | tr '\n' ' ')"
	elif [ ! -e "/sys/class/net/xenbr0/brif/$tap" ]; then
		fail xen_nic_create "TAP $tap is not on xenbr0 (ports: $(ls /sys/class/net/xenbr0/brif | tr '\n' ' '))"
	else
		result xen_nic_create gnet nic
	fi
	# dom0 to the guest: 4 MiB of a pattern the guest verifies.
	if wait_console gnet "XVBG: listening rx" 150; then
		timeout 120 xvbt send 10.99.0.2 $((port + 1)) 4M 77 >/tmp/tx.out 2>&1
		echo "XVBT: net: dom0 $(tail -1 /tmp/tx.out)"
	fi
	wait_console gnet "XVBG-DONE" 120
	result xen_nic_ping gnet ping
	result xen_nic_rx gnet rx
	# The data: until 1 MiB has come (or 60 s).
	sum=$(console gnet | sed -n 's/^XVBG: txsum \([0-9a-f]*\) .*/\1/p' | head -1)
	i=0
	while [ $i -lt 120 ] && [ "$(wc -c </tmp/rx)" -lt 1048576 ]; do
		sleep 0.5
		i=$((i + 1))
	done
	got=$(md5sum </tmp/rx | cut -d' ' -f1)
	n=$(wc -c </tmp/rx)
	if [ -z "$sum" ]; then
		fail xen_nic_tcp "the guest sent nothing; console: $(console gnet | grep -v '^\[' | tail -3 | tr '\n' '|')"
	elif [ "$got" = "$sum" ] && [ "$n" = 1048576 ]; then
		ok xen_nic_tcp
	else
		fail xen_nic_tcp "received $n bytes, md5 $got, the guest sent $sum; $(tr '\n' ' ' </tmp/nc-l.err)"
	fi
	if [ "$n" != 1048576 ]; then
		sleep 12 # the guest's statistics, 10 s after its nc ends
		for i in "$tap" xenbr0; do
			st=/sys/class/net/$i/statistics
			echo "XVBT: net: $i tx $(cat $st/tx_packets)p $(cat $st/tx_bytes)B drop $(cat $st/tx_dropped) rx $(cat $st/rx_packets)p $(cat $st/rx_bytes)B drop $(cat $st/rx_dropped) err $(cat $st/rx_errors)"
		done
		echo "XVBT: net: dom0 $(grep '^Tcp:' /proc/net/snmp | tr '\n' ' ')"
	fi
	console gnet | grep -E '^XVBG: info' | sed 's/^/XVBT: gnet: /'
	xl destroy gnet
	teardown_clean "$d" 30 || fail xen_nic_teardown "$WHY"
else
	fail xen_nic_create "xl create failed: $(tail -2 /tmp/create-gnet.log | tr '\n' ' ')"
	skip xen_nic_ping "no guest"
	skip xen_nic_tcp "no guest"
	skip xen_nic_rx "no guest"
fi
kill $ncpid 2>/dev/null
rm -f "$target"
bridge_down
