# SPDX-License-Identifier: MIT
# Scenario h: the xl configurations users copy, from xl-snippets/ as they
# are (in /etc/xen/xvb-snippets), with their own paths made real in dom0;
# xl's command line only swaps the guest's kernel arguments and memory.
# The guest checks it got the devices the snippet describes.
mkdir -p /srv/guest
ln -sf /guest/Image /srv/guest/Image
ln -sf /guest/initrd.gz /srv/guest/initrd.img
mkimg /srv/guest/disk.img 67108864
mkimg /srv/guest/rootfs.img 16777216
mkimg /srv/guest/data.img 16777216
# The 4.17 NIC snippet's target (libxl stat()s it) and its bridge.
: >"/etc/xen/xvb-net:bridge=xenbr0,mac=00:16:3e:00:00:42"
bridge_up || echo "XVBT: snippets: no bridge: $(tr '\n' ' ' </tmp/br.err)"
# pv-beside.cfg is left out: its PV lines need Debian's bash hotplug scripts.
for s in virtio-disk:vda:rw virtio-disk-ro:vda:ro virtio-two-disks:vda:rw+vdb:ro \
	virtio-nic-xen417:vda:rw+nic:00:16:3e:00:00:42; do
	f=/etc/xen/xvb-snippets/${s%%:*}.cfg
	want=${s#*:}
	r=xen_snippet_$(echo "${s%%:*}" | tr '-' '_')
	name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$f")
	if [ ! -f "$f" ] || [ -z "$name" ]; then
		fail "$r" "no snippet $f, or no name in it"
		continue
	fi
	t=$(up)
	if ! timeout 180 xl create "$f" "extra=\"console=hvc0 rdinit=/init quiet xvb.step=devs xvb.want=$want\"" \
		"memory=192" >/tmp/create-$name.log 2>&1; then
		fail "$r" "xl create $f: $(tail -3 /tmp/create-$name.log | tr '\n' ' ')"
		xl destroy "$name" 2>/dev/null
		continue
	fi
	phase "xl_create_snippet_$name" "$(dt "$t")"
	d=$(xl domid "$name" 2>/dev/null)
	if run_guest "$name" 150 && ! teardown_clean "$d" 15; then
		fail "$r" "after the guest: $WHY"
	else
		result "$r" "$name" devs
	fi
	console "$name" | grep '^XVBG: info devs' | sed "s/^XVBG: info /XVBT: snippets: $name: /"
done
bridge_down
rm -f /etc/xen/xvb-net:*
