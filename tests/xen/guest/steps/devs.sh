# SPDX-License-Identifier: MIT
# A guest from one of xl-snippets/: are its devices the ones the snippet
# describes? xvb.want: '+'-separated vdX:rw, vdX:ro and nic:MAC. Each disk
# must be there with that mode and read its first 4 KiB; each NIC must be
# there with that MAC.
rc=0
bad=
for w in $(param want | tr '+' ' '); do
	case "$w" in
	nic:*)
		find_nic "${w#nic:}" || bad="$bad $w:missing"
		;;
	*)
		d=${w%%:*}
		if ! wait_dev "/dev/$d"; then
			bad="$bad $w:missing"
			continue
		fi
		ro=$(cat "/sys/block/$d/ro")
		if { [ "${w#*:}" = ro ] && [ "$ro" != 1 ]; } || { [ "${w#*:}" = rw ] && [ "$ro" != 0 ]; }; then
			bad="$bad $w:ro=$ro"
		elif ! dd if="/dev/$d" of=/dev/null bs=4096 count=1 2>/dev/null; then
			bad="$bad $w:unreadable"
		fi
		;;
	esac
done
info "devs: block $(ls /sys/block | tr '\n' ' ')net $(ls /sys/class/net | tr '\n' ' ')"
if [ -z "$bad" ]; then
	ok devs
else
	fail devs "$bad"
fi
