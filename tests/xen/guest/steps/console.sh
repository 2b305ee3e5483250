# SPDX-License-Identifier: MIT
# The virtio-console port xvbd serves from a disk slot ("xvb-console:"
# target): the guest's virtio_console must show a port named xvb.port
# (/sys/class/virtio-ports/*/name; there is no udev here to make
# /dev/virtio-ports/NAME, so the step makes the link itself). Then, with
# dom0's client (xvbt uclient) on the port's socket: xvb.len bytes each way
# byte for byte, the guest's close seen in dom0 and dom0's close seen here.
name=$(param port)
len=$(param len)
dev=
i=0
while [ -z "$dev" ] && [ $i -lt 150 ]; do
	for f in /sys/class/virtio-ports/*/name; do
		[ "$(cat "$f" 2>/dev/null)" = "$name" ] && dev=${f%/name} && dev=${dev##*/}
	done
	[ -n "$dev" ] || sleep 0.1
	i=$((i + 1))
done
if [ -z "$dev" ] || [ ! -c "/dev/$dev" ]; then
	fail port "no virtio port named $name: $(cat /sys/class/virtio-ports/*/name 2>/dev/null | tr '\n' ' ') $(dmesg | grep -i virtio | tail -3 | tr '\n' '|')"
	fail data "no port"
else
	mkdir -p /dev/virtio-ports
	ln -sf "../$dev" "/dev/virtio-ports/$name"
	ok port
	info "port $name is /dev/$dev"
	if x vport "/dev/virtio-ports/$name" "$len" 91 >/tmp/vport.out; then
		ok data
		info "$(tr '\n' ' ' </tmp/vport.out)"
	else
		fail data "$(why) $(tr '\n' ' ' </tmp/vport.out)"
	fi
fi
