# SPDX-License-Identifier: MIT
# Scenario c: `xl shutdown` and `xl destroy` leave no worker for the guest,
# no event channel, mapping or open file of xvbd's, no xenstore nodes of the
# guest, and neither waits for libxl's 10 s timeout. No other guest runs.
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
		timeout 60 xl shutdown -w $g >/tmp/$how.log 2>&1
	else
		timeout 60 xl destroy $g >/tmp/$how.log 2>&1
	fi
	rc=$?
	took=$(dt "$t")
	phase xl_$how "$took"
	if [ $rc != 0 ]; then
		fail xen_${how}_teardown "xl $how: rc $rc: $(tail -2 /tmp/$how.log | tr '\n' ' ')"
		xl destroy $g 2>/dev/null
	elif ! lt "$took" 8; then
		fail xen_${how}_teardown "xl $how took ${took}s (libxl's 10 s wait for state 6?)"
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
