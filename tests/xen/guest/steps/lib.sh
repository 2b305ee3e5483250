# SPDX-License-Identifier: MIT
# Helpers of the guest steps (sourced by /init). Result lines go to the
# console, where dom0 reads them: "XVBG: ok|FAIL|skip NAME[: why]".
ok() { echo "XVBG: ok $1"; }
fail() {
	n=$1
	shift
	echo "XVBG: FAIL $n: $*"
}
skip() {
	n=$1
	shift
	echo "XVBG: skip $n: $*"
}
info() { echo "XVBG: info $*"; }

# Waits up to $2 s (default 15) for block device $1.
wait_dev() {
	i=0
	while [ ! -b "$1" ] && [ $i -lt $((${2:-15} * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -b "$1" ]
}

# Runs xvbt, keeping its complaint for the result line.
x() { xvbt "$@" 2>/tmp/xvbt.err; }
why() { tr '\n' ' ' </tmp/xvbt.err; }

# find_nic MAC: sets DEV to the interface with MAC, waiting up to 15 s.
find_nic() {
	DEV=
	i=0
	while [ -z "$DEV" ] && [ $i -lt 150 ]; do
		for a in /sys/class/net/*/address; do
			[ "$(cat "$a" 2>/dev/null)" = "$1" ] && DEV=${a%/address} && DEV=${DEV##*/}
		done
		[ -n "$DEV" ] || sleep 0.1
		i=$((i + 1))
	done
	[ -n "$DEV" ]
}

# net_up IP PEER: DEV up with IP/24; pings PEER until 3 of 3 answer (the
# first packets may go while the bridge port is still learning). Leaves
# ping's output in /tmp/ping.out.
net_up() {
	ip link set lo up
	ip link set "$DEV" up
	ip addr add "$1/24" dev "$DEV"
	n=0
	i=0
	while [ $i -lt 5 ]; do
		ping -c 3 -W 3 "$2" >/tmp/ping.out 2>&1 && n=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' /tmp/ping.out)
		[ "${n:-0}" -ge 3 ] && return 0
		i=$((i + 1))
	done
	return 1
}

# recv_from_dom0 NAME PORT LEN SEED: listens, says "XVBG: listening NAME"
# for dom0 to send, and receives LEN bytes of pattern SEED, verified. Sets
# OUT to xvbt's last line.
recv_from_dom0() {
	xvbt recv "$2" "$3" "$4" >/tmp/$1.out 2>&1 &
	p=$!
	i=0
	while ! grep -q listening /tmp/$1.out && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "XVBG: listening $1"
	wait $p
	r=$?
	OUT=$(tail -1 /tmp/$1.out)
	return $r
}

# nic_counts: what the NIC DEV cost so far, one line of "name value" pairs:
# interrupts of its driver (virtio-mmio's one line, named after the virtio
# device; netfront's event channels, named NAME-q0-tx/-rx or NAME-q0 after
# the interface's name when it set them up, maybe still "eth%d"), the
# interface's frames and bytes, and TCP's segments and retransmissions.
nic_counts() {
	d=$(readlink "/sys/class/net/$DEV/device" 2>/dev/null)
	d=${d##*/}
	irq=$(awk -v a="$d" '$NF == a || $NF ~ /-q[0-9]+(-tx|-rx)?$/ {
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts)
	st=/sys/class/net/$DEV/statistics
	tcp=$(awk '/^Tcp:/ { if (!h) { for (i = 2; i <= NF; i++) k[i] = $i; h = 1 }
		else for (i = 2; i <= NF; i++) v[k[i]] = $i }
		END { print "insegs " v["InSegs"] " outsegs " v["OutSegs"] " retrans " v["RetransSegs"] }' /proc/net/snmp)
	echo "irqs $irq rxp $(cat $st/rx_packets) rxb $(cat $st/rx_bytes) txp $(cat $st/tx_packets) txb $(cat $st/tx_bytes) $tcp"
}
