# SPDX-License-Identifier: MIT
# One of two guests running at once: rounds of write and verify on its own
# disk. xvb.seed.
seed=$(param seed)
if ! wait_dev /dev/vda; then
	fail pair "no /dev/vda"
else
	rc=0
	for r in 1 2 3 4 5 6; do
		x write /dev/vda $((seed + r)) 0 8M && x verify /dev/vda $((seed + r)) 0 8M || {
			rc=1
			break
		}
	done
	if [ $rc = 0 ]; then ok pair; else fail pair "$(why)"; fi
fi
