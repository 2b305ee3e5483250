# SPDX-License-Identifier: MIT
# Scenario e: O_DIRECT and io_uring registered buffers on privcmd foreign
# mappings of a (paused) guest's RAM, and xvbd's MAP_FIXED way of mapping.
mkimg /srv/probe.img 1048576
loop=$(losetup -f)
losetup "$loop" /srv/probe.img
mkcfg gpr none 1 ""
if create gpr -p; then
	fmprobe "$DOMID" "$loop" /srv/probe.img 192 >/tmp/probe.out 2>&1
	rc=$?
	sed 's/^/XVBT: /' /tmp/probe.out
	xl destroy gpr
	if [ $rc = 0 ] && grep -q 'control: O_DIRECT pread into anonymous memory: works' /tmp/probe.out; then
		ok xen_probe_foreign
	else
		fail xen_probe_foreign "fmprobe rc $rc: $(tail -2 /tmp/probe.out | tr '\n' ' ')"
	fi
else
	fail xen_probe_foreign "xl create -p failed"
fi
losetup -d "$loop"
