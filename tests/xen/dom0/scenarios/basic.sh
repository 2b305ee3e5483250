# SPDX-License-Identifier: MIT
# Scenario a: `xl create` with a virtio disk; size, data written and read
# back, the data across a reboot (destroy + create: a new domain; and
# `xl reboot`), a read-only disk, flush, discard.
size=67108864
mkimg /srv/a.img $size
mkcfg ga1 write 1 "xvb.seed=11 xvb.size=$size" "$(vdisk xvda rw /srv/a.img)"
if create ga1; then
	ok xen_create
	dom1=$DOMID
	run_guest ga1 150
	result xen_vda ga1 vda
	result xen_vda_size ga1 size
	result xen_readback ga1 readback
	if teardown_clean "$dom1" 15; then
		ok xen_poweroff_teardown
		phase teardown_after_poweroff "$GONE_T"
	else
		fail xen_poweroff_teardown "$WHY"
	fi
	# dom0's view of the image: the guest's writes are in the file.
	if xvbt verify /srv/a.img 11 0 4M && xvbt verify /srv/a.img 11 16M 8M; then
		ok xen_data_in_image
	else
		fail xen_data_in_image "the image does not hold the guest's data"
	fi

	# A reboot is a new domain on the same image.
	mkcfg ga2 reread 1 "xvb.seed=11 xvb.size=$size" "$(vdisk xvda rw /srv/a.img)"
	if create ga2; then
		if [ "$DOMID" = "$dom1" ]; then
			fail xen_reboot_data "the new domain has the old id $dom1"
		else
			run_guest ga2 150
			result xen_reboot_data ga2 reread
		fi
	else
		fail xen_reboot_data "xl create failed: $(tail -2 /tmp/create-ga2.log | tr '\n' ' ')"
	fi
else
	fail xen_create "$(tail -4 /tmp/create-ga1.log | tr '\n' ' ')"
	for t in xen_vda xen_vda_size xen_readback xen_poweroff_teardown xen_data_in_image xen_reboot_data; do
		skip $t "xl create failed"
	done
fi

# `xl reboot`: libxl destroys the domain and creates it again from the same
# configuration (a new domid, the disk set up anew); the guest's first boot
# wrote the data, the second must find it.
mkimg /srv/r.img 16777216
mkcfg grb reboot 1 "xvb.seed=15" "$(vdisk xvda rw /srv/r.img)"
if ! create grb; then
	fail xen_xl_reboot "xl create failed: $(tail -2 /tmp/create-grb.log | tr '\n' ' ')"
elif ! wait_console grb "XVBG: written" 150; then
	result xen_xl_reboot grb reboot
	xl destroy grb 2>/dev/null
else
	d1=$DOMID
	t=$(up)
	if ! timeout 60 xl reboot grb >/tmp/reboot.log 2>&1; then
		fail xen_xl_reboot "xl reboot: $(tail -2 /tmp/reboot.log | tr '\n' ' ')"
		xl destroy grb 2>/dev/null
	elif ! wait_console grb "XVBG: [a-zA-Z]* reboot" 200; then
		fail xen_xl_reboot "no result from the rebooted guest; console: $(console grb | grep -v '^\[' | tail -3 | tr '\n' '|')"
		xl destroy grb 2>/dev/null
	else
		d2=$(xl domid grb 2>/dev/null)
		phase xl_reboot_to_result "$(dt "$t")"
		if [ "$d2" = "$d1" ]; then
			fail xen_xl_reboot "the rebooted domain kept id $d1"
		elif ! teardown_clean "$d1" 15; then
			fail xen_xl_reboot "the first domain $d1: $WHY"
		elif ! wait_gone grb 60; then
			fail xen_xl_reboot "the rebooted guest did not power off"
		else
			result xen_xl_reboot grb reboot
		fi
		xl destroy grb 2>/dev/null
	fi
fi

# access=ro: refused writes, and the image unchanged.
mkimg /srv/ro.img 16777216
xvbt write /srv/ro.img 21 0 4M buffered
sum=$(md5sum </srv/ro.img)
mkcfg gro readonly 1 "xvb.seed=21" "$(vdisk xvda ro /srv/ro.img)"
if create gro; then
	run_guest gro 150
	if [ "$(md5sum </srv/ro.img)" != "$sum" ]; then
		fail xen_readonly "the read-only image changed"
	else
		result xen_readonly gro ro
	fi
else
	fail xen_readonly "xl create failed: $(tail -2 /tmp/create-gro.log | tr '\n' ' ')"
fi

# Flush: sync in the guest, destroy at once, the data is in the image.
mkimg /srv/f.img 33554432
mkcfg gfl flush 1 "xvb.seed=31" "$(vdisk xvda rw /srv/f.img)"
if create gfl; then
	if wait_console gfl "XVBG: synced" 150; then
		t=$(up)
		xl destroy gfl
		phase xl_destroy_after_sync "$(dt "$t")"
		if xvbt verify /srv/f.img 31 0 8M 2>/tmp/flush.err; then
			ok xen_flush
		else
			fail xen_flush "after sync and destroy: $(cat /tmp/flush.err)"
		fi
	else
		result xen_flush gfl flush
		xl destroy gfl 2>/dev/null
	fi
else
	fail xen_flush "xl create failed"
fi

# Discard (BLKDISCARD in the guest; xvbd punches a hole in the file).
mkimg /srv/d.img 33554432
mkcfg gdi discard 1 "xvb.seed=41" "$(vdisk xvda rw /srv/d.img)"
if create gdi; then
	run_guest gdi 150
	result xen_discard gdi discard
else
	fail xen_discard "xl create failed"
fi
