# SPDX-License-Identifier: MIT
# Scenario b: two vCPUs and two disks in one guest; two guests at once.
mkimg /srv/m1.img 33554432
mkimg /srv/m2.img 33554432
mkcfg gmu multi 2 "xvb.seed=51" "$(vdisk xvda rw /srv/m1.img)" "$(vdisk xvdb rw /srv/m2.img)"
if create gmu; then
	run_guest gmu 200
	result xen_2vcpu_2disks gmu multi
else
	fail xen_2vcpu_2disks "xl create failed: $(tail -2 /tmp/create-gmu.log | tr '\n' ' ')"
fi

mkimg /srv/p1.img 33554432
mkimg /srv/p2.img 33554432
mkcfg gp1 pair 1 "xvb.seed=61" "$(vdisk xvda rw /srv/p1.img)"
mkcfg gp2 pair 1 "xvb.seed=71" "$(vdisk xvda rw /srv/p2.img)"
# Created paused, then unpaused together: both run their I/O at once.
if create gp1 -p && d1=$DOMID && create gp2 -p; then
	d2=$DOMID
	w1=$(workers "$d1")
	w2=$(workers "$d2")
	xl unpause gp1
	xl unpause gp2
	run_guest gp1 200
	run_guest gp2 200
	if [ -z "$w1" ] || [ -z "$w2" ]; then
		fail xen_two_guests_a "one worker per guest expected, found '$w1' and '$w2'"
		fail xen_two_guests_b "see xen_two_guests_a"
	else
		result xen_two_guests_a gp1 pair
		result xen_two_guests_b gp2 pair
	fi
else
	fail xen_two_guests_a "xl create failed"
	fail xen_two_guests_b "xl create failed"
	xl destroy gp1 2>/dev/null
fi
