# SPDX-License-Identifier: MIT
# The first boot of a guest: /dev/vda is there with the size dom0 made,
# and seeded data written with O_DIRECT reads back. xvb.seed, xvb.size.
seed=$(param seed)
size=$(param size)
if ! wait_dev /dev/vda; then
	fail vda "no /dev/vda: $(dmesg | grep -i -E 'virtio|vd' | tail -3)"
else
	ok vda
	got=$(xvbt size /dev/vda)
	if [ "$got" = "$size" ]; then ok size; else fail size "$got bytes, expected $size"; fi
	# The start, a stretch in the middle, and the last MiB.
	last=$((size - 1048576))
	if x write /dev/vda "$seed" 0 4M && x write /dev/vda "$seed" 16M 8M &&
		x write /dev/vda "$seed" "$last" 1M; then
		if x verify /dev/vda "$seed" 0 4M && x verify /dev/vda "$seed" 16M 8M &&
			x verify /dev/vda "$seed" "$last" 1M; then
			ok readback
		else
			fail readback "$(why)"
		fi
	else
		fail write "$(why)"
	fi
fi
