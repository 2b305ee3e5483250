# SPDX-License-Identifier: MIT
# Scenario i: xvbd's supervisor restarted under a running guest. While the
# guest writes and verifies data on its virtio disk and pings dom0 over its
# virtio NIC (guest step restart), the supervisor gets SIGTERM and is started
# again, then is killed with -9 and started again. The guest's worker must
# serve on throughout (same process, no I/O error, data verified, the NIC
# answering), each new supervisor must take control of it, and the last one
# must handle xl destroy: no worker, backend nodes or domain left.
mac=00:16:3e:00:00:44
secs=75
if ! bridge_up; then
	for n in create term kill io nic teardown; do
		skip "xen_restart_$n" "no bridge xenbr0"
	done
	return 0 2>/dev/null || exit 0
fi

# restart_xvbd SIG: ends the supervisor with SIG, waits for it, starts a new
# one as init did (its pid for init's last checks in /run/xvbd.supervisor).
restart_xvbd() {
	old=$(cat /run/xvbd.supervisor)
	kill "-$1" "$old"
	i=0
	while kill -0 "$old" 2>/dev/null && [ $i -lt 150 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	xvbd 2>>/var/log/xvbd.log &
	echo $! >/run/xvbd.supervisor
	# Up once it took control of the worker (its log says so).
	i=0
	while [ "$(grep -c "supervisor: d$d: took control of worker $w" /var/log/xvbd.log)" -lt "$2" ] &&
		[ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# restart_check NAME N: the worker serves on and the Nth supervisor has it.
restart_check() {
	now=$(workers "$d")
	got=$(grep -c "supervisor: d$d: took control of worker $w" /var/log/xvbd.log)
	if [ "$now" != "$w:$d " ]; then
		fail "$1" "the worker changed: '$w:$d ' before, '$now' after"
	elif [ "$got" != "$2" ]; then
		fail "$1" "no supervisor took control of worker $w ($got times): $(tail -3 /var/log/xvbd.log | tr '\n' '|')"
	elif ! kill -0 "$(cat /run/xvbd.supervisor)" 2>/dev/null; then
		fail "$1" "the new supervisor exited: $(tail -3 /var/log/xvbd.log | tr '\n' '|')"
	else
		ok "$1"
	fi
}

dd if=/dev/zero of=/srv/restart.img bs=1M count=40 2>/dev/null
target=$(nic_target $mac)
mkcfg grst restart 1 "xvb.secs=$secs xvb.mac=$mac xvb.ip=10.99.0.3 xvb.peer=10.99.0.1" \
	"$(vdisk xvda rw /srv/restart.img)" "$(vdisk xvdb rw "$target")"
if create grst; then
	d=$DOMID
	w=$(workers "$d")
	w=${w%%:*}
	if [ -z "$w" ]; then
		fail xen_restart_create "no worker for domain $d"
	elif ! wait_console grst "XVBG: looping" 150; then
		fail xen_restart_create "the guest's loop did not start: $(console grst | grep -v '^\[' | tail -3 | tr '\n' '|')"
	else
		ok xen_restart_create
	fi
	sleep 8
	restart_xvbd TERM 1
	restart_check xen_restart_term 1
	sleep 8
	restart_xvbd KILL 2
	restart_check xen_restart_kill 2
	wait_console grst XVBG-DONE $((secs + 150))
	console grst | grep -E '^XVBG: info restart' | sed 's/^XVBG: info /XVBT: /'
	result xen_restart_io grst disk
	result xen_restart_nic grst ping
	xl destroy grst 2>/dev/null
	if teardown_clean "$d" 30 && ! xl domid grst >/dev/null 2>&1; then
		ok xen_restart_teardown
	else
		fail xen_restart_teardown "${WHY:-the domain is still there}"
	fi
else
	fail xen_restart_create "xl create failed: $(tail -2 /tmp/create-grst.log | tr '\n' ' ')"
	for n in term kill io nic teardown; do
		skip "xen_restart_$n" "no guest"
	done
fi
bridge_down
