# SPDX-License-Identifier: MIT
# `xl reboot`: the first boot finds no data, writes it, and waits for dom0's
# `xl reboot` (libxl destroys the domain and creates it again: a new domid,
# the disk served anew); the next boot finds the data and powers off.
# xvb.seed.
seed=$(param seed)
if ! wait_dev /dev/vda; then
	fail reboot "no /dev/vda"
elif x verify /dev/vda "$seed" 0 2M; then
	ok reboot
elif x write /dev/vda "$seed" 0 2M; then
	echo "XVBG: written, waiting for xl reboot"
	STAY=1
else
	fail reboot "$(why)"
fi
