# SPDX-License-Identifier: MIT
# I/O while dom0 restarts xvbd's supervisor (scenario restart): for xvb.secs
# seconds, writes 1 MiB of a new pattern to /dev/vda at a rotating offset
# (O_DIRECT), reads it back and verifies it, and pings xvb.peer over the
# virtio NIC with MAC xvb.mac (xvb.ip/24). "XVBG: looping" tells dom0 the
# loop runs. Every round must succeed: the workers serve on while the
# supervisor is stopped, killed and started.
secs=$(param secs)
mac=$(param mac)
ip=$(param ip)
peer=$(param peer)
nic=0
if ! wait_dev /dev/vda; then
	fail disk "no /dev/vda: $(dmesg | grep -i -E 'virtio|vd' | tail -3 | tr '\n' '|')"
elif ! find_nic "$mac"; then
	fail ping "no interface with MAC $mac: $(ls /sys/class/net | tr '\n' ' ')"
elif ! net_up "$ip" "$peer"; then
	fail ping "no answer before the loop: $(tail -2 /tmp/ping.out | tr '\n' ' ')"
else
	nic=1
fi
if [ -b /dev/vda ]; then
	end=$(($(cut -d. -f1 /proc/uptime) + ${secs:-60}))
	rounds=0 derr="" pings=0 plost=0
	echo "XVBG: looping"
	while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
		off=$(((rounds % 32) * 1048576))
		seed=$((1000 + rounds))
		if ! x write /dev/vda $seed $off 1M; then
			derr="write at $off: $(why)"
			break
		fi
		if ! x verify /dev/vda $seed $off 1M; then
			derr="verify at $off: $(why)"
			break
		fi
		rounds=$((rounds + 1))
		if [ $nic = 1 ]; then
			pings=$((pings + 1))
			ping -c 1 -W 3 "$peer" >/dev/null 2>&1 || plost=$((plost + 1))
		fi
	done
	info "restart: $rounds rounds of 1 MiB written and verified, $pings pings, $plost lost"
	if [ -n "$derr" ]; then
		fail disk "round $rounds: $derr"
	elif [ $rounds = 0 ]; then
		fail disk "no round in ${secs:-60} s"
	else
		ok disk
	fi
	# A lost ping may be TCG being slow; the NIC keeps working if most
	# answer and the last one does.
	if [ $nic = 1 ]; then
		if [ $pings -gt 0 ] && [ $((plost * 10)) -le $pings ] &&
			ping -c 3 -W 3 "$peer" >/tmp/ping.out 2>&1; then
			ok ping
		else
			fail ping "$plost of $pings lost; then: $(tail -2 /tmp/ping.out | tr '\n' ' ')"
		fi
	fi
fi
