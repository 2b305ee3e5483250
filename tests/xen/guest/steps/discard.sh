# SPDX-License-Identifier: MIT
# Discard: the device offers it, BLKDISCARD succeeds, and the range then
# reads zeroes (xvbd punches a hole in the image file). xvb.seed.
seed=$(param seed)
if ! wait_dev /dev/vda; then
	fail discard "no /dev/vda"
else
	max=$(cat /sys/block/vda/queue/discard_max_bytes)
	if [ "${max:-0}" = 0 ]; then
		skip discard "the device offers no discard"
	elif ! x write /dev/vda "$seed" 8M 2M; then
		fail discard "write: $(why)"
	elif ! x discard /dev/vda 8M 1M; then
		fail discard "$(why)"
	elif ! x zero /dev/vda 8M 1M; then
		fail discard "discarded range not zero: $(why)"
	elif ! x verify /dev/vda "$seed" 9M 1M; then
		fail discard "data next to the range lost: $(why)"
	else
		ok discard
	fi
fi
