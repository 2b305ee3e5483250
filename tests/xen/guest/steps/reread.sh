# SPDX-License-Identifier: MIT
# The second boot (a new domain on the same image): the data of the first
# is still there. xvb.seed, xvb.size.
seed=$(param seed)
size=$(param size)
last=$((size - 1048576))
if ! wait_dev /dev/vda; then
	fail vda "no /dev/vda"
elif x verify /dev/vda "$seed" 0 4M && x verify /dev/vda "$seed" 16M 8M &&
	x verify /dev/vda "$seed" "$last" 1M; then
	ok reread
else
	fail reread "$(why)"
fi
