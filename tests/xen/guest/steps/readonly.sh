# SPDX-License-Identifier: MIT
# access=ro: the disk says read-only, a write is refused, and the data dom0
# put there reads back. xvb.seed.
seed=$(param seed)
if ! wait_dev /dev/vda; then
	fail ro "no /dev/vda"
else
	ro=$(cat /sys/block/vda/ro)
	if [ "$ro" != 1 ]; then
		fail ro "/sys/block/vda/ro is $ro"
	elif x write /dev/vda 99 0 64k; then
		fail ro "a write to the read-only disk succeeded"
	elif ! x verify /dev/vda "$seed" 0 4M; then
		fail ro "$(why)"
	else
		ok ro
	fi
fi
