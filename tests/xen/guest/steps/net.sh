# SPDX-License-Identifier: MIT
# The virtio NIC xvbd serves from a disk slot ("xvb-net:" target): finds the
# interface with MAC xvb.mac, gives it xvb.ip/24, pings xvb.peer, then sends
# 1 MiB over TCP to xvb.peer:xvb.port (busybox nc) and prints its md5sum for
# dom0 to compare. Stays up (STAY=1): dom0 destroys it once it has the data.
mac=$(param mac)
ip=$(param ip)
peer=$(param peer)
port=$(param port)
STAY=1
dev=
i=0
while [ -z "$dev" ] && [ $i -lt 150 ]; do
	for a in /sys/class/net/*/address; do
		[ "$(cat "$a" 2>/dev/null)" = "$mac" ] && dev=${a%/address} && dev=${dev##*/}
	done
	[ -n "$dev" ] || sleep 0.1
	i=$((i + 1))
done
if [ -z "$dev" ]; then
	fail nic "no interface with MAC $mac: $(ls /sys/class/net | tr '\n' ' ') $(dmesg | grep -i -E 'virtio|net' | tail -3 | tr '\n' '|')"
	fail ping "no NIC"
	fail tcp "no NIC"
else
	ok nic
	info "nic $dev ($(readlink /sys/class/net/$dev/device/driver 2>/dev/null | sed 's,.*/,,'))"
	ip link set lo up
	ip link set "$dev" up
	ip addr add "$ip/24" dev "$dev"
	# The first packets may go while the bridge port is still learning.
	n=0
	i=0
	while [ $i -lt 5 ]; do
		ping -c 3 -W 3 "$peer" >/tmp/ping.out 2>&1 && n=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' /tmp/ping.out)
		[ "${n:-0}" -ge 3 ] && break
		i=$((i + 1))
	done
	if [ "${n:-0}" -ge 3 ]; then
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
fi
