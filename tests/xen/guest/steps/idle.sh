# SPDX-License-Identifier: MIT
# A guest that uses its disk once and then stays up, for dom0 to shut down
# or destroy.
STAY=1
if wait_dev /dev/vda && x write /dev/vda 1 0 1M && x verify /dev/vda 1 0 1M; then
	ok idle
else
	fail idle "$(why)"
fi
