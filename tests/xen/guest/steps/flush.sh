# SPDX-License-Identifier: MIT
# Writes through the page cache without fsync, then `sync`: dom0 destroys
# the guest as soon as it sees "synced" and checks its image. xvb.seed.
seed=$(param seed)
STAY=1
if ! wait_dev /dev/vda; then
	fail flush "no /dev/vda"
elif ! x write /dev/vda "$seed" 0 8M nosync; then
	fail flush "$(why)"
else
	sync
	echo "XVBG: synced"
fi
