# SPDX-License-Identifier: MIT
# virtio-rng: the virtio_rng module's device becomes /dev/hwrng's source;
# two reads of 4 KiB from it come whole, differ, and are not constant.
hw=/sys/class/misc/hw_random
i=0
while ! grep -q '^virtio_rng' "$hw/rng_current" 2>/dev/null && [ $i -lt 150 ]; do
	sleep 0.1
	i=$((i + 1))
done
cur=$(cat "$hw/rng_current" 2>/dev/null)
info "rng: current '$cur', available '$(cat "$hw/rng_available" 2>/dev/null)'"
# distinct FILE: how many different byte values FILE holds.
distinct() { od -An -v -tx1 "$1" | tr -s ' ' '\n' | grep -v '^$' | sort -u | wc -l; }
case "$cur" in
virtio_rng*)
	timeout 60 head -c 4096 /dev/hwrng >/tmp/rng1 2>/tmp/rng.err
	timeout 60 head -c 4096 /dev/hwrng >/tmp/rng2 2>>/tmp/rng.err
	n1=$(wc -c </tmp/rng1)
	n2=$(wc -c </tmp/rng2)
	d1=$(distinct /tmp/rng1)
	info "rng: read $n1 and $n2 bytes, $d1 distinct values in the first"
	# 4 KiB of random bytes hold ~255 of the 256 values; 200 is far below.
	if [ "$n1" != 4096 ] || [ "$n2" != 4096 ]; then
		fail rng "short reads from /dev/hwrng: $n1, $n2 bytes; $(tr '\n' ' ' </tmp/rng.err)"
	elif cmp -s /tmp/rng1 /tmp/rng2; then
		fail rng "two reads of /dev/hwrng gave the same 4 KiB"
	elif [ "$d1" -lt 200 ]; then
		fail rng "4 KiB from /dev/hwrng hold only $d1 distinct byte values"
	else
		ok rng
	fi
	;;
*)
	fail rng "rng_current is '$cur', not virtio_rng (modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' '))"
	;;
esac
