# SPDX-License-Identifier: MIT
# Scenario i: a virtio entropy source served by xvbd, through the Xen 4.17
# route: a virtio disk slot whose target's file name starts with "xvb-rng:"
# (xl has no virtio-rng syntax before 4.18). The guest is made from
# xl-snippets/virtio-rng-xen417.cfg as users copy it; its virtio_rng module
# feeds /dev/hwrng, which it reads and checks (tests/xen/guest/steps/rng.sh).
mkdir -p /srv/guest
ln -sf /guest/Image /srv/guest/Image
ln -sf /guest/initrd.gz /srv/guest/initrd.img
[ -f /srv/guest/disk.img ] || mkimg /srv/guest/disk.img 67108864
# libxl stat()s every standalone disk's target: it must exist.
target=/etc/xen/xvb-rng:rate=64K
: >"$target"
f=/etc/xen/xvb-snippets/virtio-rng-xen417.cfg
name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$f")
t=$(up)
if [ -z "$name" ]; then
	fail xen_rng_hwrng "no snippet $f, or no name in it"
elif timeout 180 xl create "$f" "extra=\"console=hvc0 rdinit=/init quiet xvb.step=rng\"" \
	"memory=192" >/tmp/create-rng.log 2>&1; then
	phase "xl_create_$name" "$(dt "$t")"
	d=$(xl domid "$name" 2>/dev/null)
	[ -n "$(workers "$d")" ] || echo "XVBT: rng: no worker for domain $d"
	run_guest "$name" 150
	result xen_rng_hwrng "$name" rng
	console "$name" | grep '^XVBG: info rng' | sed "s/^XVBG: info /XVBT: $name: /"
	teardown_clean "$d" 30 || fail xen_rng_teardown "$WHY"
else
	fail xen_rng_hwrng "xl create $f: $(tail -3 /tmp/create-rng.log | tr '\n' ' ')"
	xl destroy "$name" 2>/dev/null
fi
rm -f "$target"
