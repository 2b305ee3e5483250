# SPDX-License-Identifier: MIT
# Scenario i: a virtio-console port served by xvbd through a Xen 4.17 disk
# slot whose target starts with "xvb-console:". The guest's virtio_console
# must see the port by its name; dom0's client on the port's socket
# (<run dir>/<guest>/<port>) and the guest move 1 MiB each way byte for
# byte, and each sees the other's close (tests/xen/guest/steps/console.sh).
# At teardown the socket and its directory go.
port=org.qemu.guest_agent.0
rundir=${XVBD_RUN_DIR:-/run/xvbd}
sock=$rundir/gcon/$port
# libxl stat()s the target: the file must exist (see nic_target).
target="xvb-console:ports=$port"
: >"$target"
mkcfg gcon console 1 "xvb.port=$port xvb.len=1M" "$(vdisk xvdb rw "$target")"
if create gcon; then
	d=$DOMID
	timeout 150 xvbt uclient "$sock" 1M 91 >/tmp/uclient.out 2>&1
	rc=$?
	run_guest gcon 150
	result xen_console_port gcon port
	result xen_console_guest gcon data
	if [ $rc = 0 ]; then
		ok xen_console_dom0
	else
		fail xen_console_dom0 "xvbt uclient $sock: $(tr '\n' ' ' </tmp/uclient.out) (in $rundir: $(ls -R "$rundir" 2>&1 | tr '\n' ' '))"
	fi
	sed 's/^/XVBT: console: dom0 /' /tmp/uclient.out
	console gcon | grep -E '^XVBG: info' | sed 's/^/XVBT: gcon: /'
	if ! teardown_clean "$d" 30; then
		fail xen_console_teardown "$WHY"
	elif [ -e "$sock" ] || [ -e "$rundir/gcon" ]; then
		fail xen_console_teardown "left behind: $(ls -la "$rundir/gcon" 2>&1 | tr '\n' ' ')"
	else
		ok xen_console_teardown
	fi
else
	fail xen_console_port "xl create failed: $(tail -2 /tmp/create-gcon.log | tr '\n' ' ')"
	skip xen_console_guest "no guest"
	skip xen_console_dom0 "no guest"
	skip xen_console_teardown "no guest"
fi
rm -f "$target"
