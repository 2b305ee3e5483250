# SPDX-License-Identifier: MIT
# The virtio NIC xvbd serves from a disk slot ("xvb-net:" target): finds the
# interface with MAC xvb.mac, gives it xvb.ip/24, pings xvb.peer, then sends
# 1 MiB over TCP to xvb.peer:xvb.port (busybox nc) and prints its md5sum for
# dom0 to compare; then receives 4 MiB from dom0 on xvb.port + 1, verified.
# Stays up (STAY=1): dom0 destroys it once it has the data.
mac=$(param mac)
ip=$(param ip)
peer=$(param peer)
port=$(param port)
STAY=1
if ! find_nic "$mac"; then
	fail nic "no interface with MAC $mac: $(ls /sys/class/net | tr '\n' ' ') $(dmesg | grep -i -E 'virtio|net' | tail -3 | tr '\n' '|')"
	fail ping "no NIC"
	fail tcp "no NIC"
	fail rx "no NIC"
else
	dev=$DEV
	ok nic
	info "nic $dev ($(readlink /sys/class/net/$dev/device/driver 2>/dev/null | sed 's,.*/,,'))"
	if net_up "$ip" "$peer"; then
		ok ping
		info "$(grep -E 'round-trip|packets' /tmp/ping.out | tr '\n' ' ')"
	else
		fail ping "$(tail -2 /tmp/ping.out | tr '\n' ' ')"
	fi
	dd if=/dev/urandom of=/tmp/tx bs=65536 count=16 2>/dev/null
	echo "XVBG: txsum $(md5sum </tmp/tx | cut -d' ' -f1) $(wc -c </tmp/tx)"
	# dom0's listener may close at once when done; nc's own exit is not the
	# verdict, dom0's checksum is.
	(
		nc "$peer" "$port" </tmp/tx >/dev/null 2>/tmp/nc.err
		echo "XVBG: info nc exited $? $(cat /tmp/nc.err)"
		# What the interface and TCP saw, for a stalled transfer.
		sleep 10
		st=/sys/class/net/$dev/statistics
		echo "XVBG: info $dev tx $(cat $st/tx_packets)p $(cat $st/tx_bytes)B drop $(cat $st/tx_dropped) rx $(cat $st/rx_packets)p $(cat $st/rx_bytes)B drop $(cat $st/rx_dropped) err $(cat $st/rx_errors)"
		echo "XVBG: info $(grep '^Tcp:' /proc/net/snmp | tr '\n' ' ')"
		dmesg | grep -i -E 'virtio|net|eth0' | tail -5 | sed 's/^/XVBG: info dmesg /'
	) &
	ok tcp_sent
	# The other way: dom0 sends 4 MiB of a pattern, checked as it comes.
	if recv_from_dom0 rx $((port + 1)) 4M 77; then
		ok rx
		info "rx: $OUT"
	else
		fail rx "$(tr '\n' ' ' </tmp/rx.out)"
	fi
fi
