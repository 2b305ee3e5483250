# SPDX-License-Identifier: MIT
# Scenario c: `xl shutdown` and `xl destroy` leave no worker for the guest,
# no event channel, mapping or open file of xvbd's, no xenstore nodes of the
# guest, and neither waits for libxl's 10 s timeout (told by libxl's own
# debug log, not by the clock: a busy host may take that long anyway). A
# disk xvbd refuses fails xl create at once, leaving nothing behind. No
# other guest runs.
mkimg /srv/t.img 16777216
for how in shutdown destroy; do
	g=gt$how
	mkcfg $g idle 1 "" "$(vdisk xvda rw /srv/t.img)"
	before=$(footprint)
	if ! create $g; then
		fail xen_${how}_teardown "xl create failed"
		continue
	fi
	dom=$DOMID
	if ! wait_console $g XVBG-DONE 150; then
		fail xen_${how}_teardown "the guest did not come up"
		xl destroy $g 2>/dev/null
		continue
	fi
	during=$(footprint)
	if [ $how = shutdown ]; then
		# SIGUSR1: xvbd's account of the running guest's disk.
		xvbd_state "$dom" >/tmp/state.txt
		if grep -q "state: 1 device(s)" /tmp/state.txt &&
			grep -q -E "vq0: [0-9]+ entries; avail [0-9]+ \(popped" /tmp/state.txt; then
			ok xen_xvbd_state
		else
			fail xen_xvbd_state "no device or queue state after SIGUSR1: $(head -5 /tmp/state.txt | tr '\n' '|')"
		fi
		sed -n 's/^XVBT: state /XVBT: state sample /p' /tmp/state.txt | head -8
	fi
	echo "XVBT: footprint $how: event channels by name: $(grep -o 'evtchn:[^ ]*' /proc/interrupts | sort | uniq -c | tr -s ' \n' ' ')"
	t=$(up)
	if [ $how = shutdown ]; then
		timeout 60 xl -vvv shutdown -w $g >/tmp/$how.log 2>&1
	else
		timeout 60 xl -vvv destroy $g >/tmp/$how.log 2>&1
	fi
	rc=$?
	took=$(dt "$t")
	phase xl_$how "$took"
	if [ $rc != 0 ]; then
		fail xen_${how}_teardown "xl $how: rc $rc: $(tail -2 /tmp/$how.log | tr '\n' ' ')"
		xl destroy $g 2>/dev/null
	elif grep -q -e "timed out" -e "Timeout reached" /tmp/$how.log; then
		fail xen_${how}_teardown "libxl waited for its timeout: $(grep -e "timed out" -e "Timeout reached" /tmp/$how.log | head -2 | tr '\n' ' ')"
	elif ! teardown_clean "$dom" 10; then
		fail xen_${how}_teardown "$WHY"
	else
		phase worker_gone_after_$how "$GONE_T"
		# The supervisor closes its side of the worker's socket when it
		# reaps it: allow it a few seconds.
		i=0
		while after=$(footprint) && [ "$after" != "$before" ] && [ $i -lt 20 ]; do
			sleep 0.25
			i=$((i + 1))
		done
		echo "XVBT: footprint $how: before $before, guest up $during, after $after"
		if [ "$after" != "$before" ]; then
			fail xen_${how}_teardown "xvbd's footprint was '$before', is '$after'"
		elif [ "$during" = "$before" ]; then
			fail xen_${how}_teardown "the footprint did not change while the guest ran ('$during'): the check sees nothing"
		elif [ "$(echo "$during" | awk '{ print $2 }')" = 0 ]; then
			fail xen_${how}_teardown "no event channel named for xvbd while the guest ran ('$during'): the name check sees nothing"
		else
			ok xen_${how}_teardown
		fi
	fi
done

# A disk xvbd refuses (its image served read-write to another guest,
# which libxl cannot know): xvbd removes the backend's state node, so
# libxl's wait ends at once ("unable to add device"), not by its 10 s
# timeout; the reason is in xvbd's log; no domain, worker or backend node
# of the refused guest is left.
g=gtrefused
mkcfg gtholder idle 1 "" "$(vdisk xvda rw /srv/t.img)"
mkcfg $g idle 1 "" "$(vdisk xvda rw /srv/t.img)"
refusals=$(grep -c "in use elsewhere" /var/log/xvbd.log 2>/dev/null)
if ! create gtholder; then
	fail xen_refused_fast "xl create of the image's holder failed"
elif timeout 180 xl -vvv create /srv/cfg/$g.cfg >/tmp/create-$g.log 2>&1; then
	fail xen_refused_fast "xl create of a disk on an image in use succeeded"
	xl destroy $g 2>/dev/null
elif grep -q -e "timed out" -e "Timeout reached" /tmp/create-$g.log; then
	fail xen_refused_fast "libxl waited for its timeout: $(grep -e "timed out" -e "Timeout reached" /tmp/create-$g.log | head -2 | tr '\n' ' ')"
elif ! grep -q "unable to add device" /tmp/create-$g.log; then
	fail xen_refused_fast "xl create failed otherwise: $(grep -e "error" -e "rror:" /tmp/create-$g.log | head -4 | tr '\n' ' ')"
elif xl domid $g >/dev/null 2>&1; then
	fail xen_refused_fast "the refused guest's domain is left"
	xl destroy $g 2>/dev/null
elif [ "$(grep -c "in use elsewhere" /var/log/xvbd.log 2>/dev/null)" = "$refusals" ]; then
	fail xen_refused_fast "xvbd's log does not say why it refused the disk"
else
	ok xen_refused_fast
fi
xl destroy gtholder 2>/dev/null
if ! teardown_clean "$DOMID" 30; then
	fail xen_refused_fast "after the holder's destroy: $WHY"
fi
left=$(xenstore-ls /local/domain/0/backend/virtio_disk 2>/dev/null | grep -c "frontend-id")
[ "$left" = 0 ] || fail xen_refused_fast "$left virtio_disk backend(s) left in xenstore"
