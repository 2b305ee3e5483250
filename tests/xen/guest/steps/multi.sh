# SPDX-License-Identifier: MIT
# Two vCPUs, two disks: each vCPU writes and verifies its own disk, at the
# same time, a few rounds. xvb.seed.
seed=$(param seed)
ncpu=$(grep -c ^processor /proc/cpuinfo)
if [ "$ncpu" != 2 ]; then
	fail multi "$ncpu vCPUs, expected 2"
elif ! wait_dev /dev/vda || ! wait_dev /dev/vdb; then
	fail multi "disks: $(ls /dev/vd* 2>/dev/null | tr '\n' ' ')"
else
	for d in vda vdb; do
		(
			c=0
			[ $d = vdb ] && c=1
			for r in 1 2 3; do
				taskset -c $c xvbt write /dev/$d $((seed + r)) 0 8M &&
					taskset -c $c xvbt verify /dev/$d $((seed + r)) 0 8M ||
					exit 1
			done
		) 2>/tmp/$d.err &
		eval pid_$d=$!
	done
	rc=0
	wait "$pid_vda" || rc=1
	wait "$pid_vdb" || rc=1
	if [ $rc = 0 ]; then
		ok multi
	else
		fail multi "$(cat /tmp/vda.err /tmp/vdb.err | tr '\n' ' ')"
	fi
fi
