# SPDX-License-Identifier: MIT
# Helpers of the guest steps (sourced by /init). Result lines go to the
# console, where dom0 reads them: "XVBG: ok|FAIL|skip NAME[: why]".
ok() { echo "XVBG: ok $1"; }
fail() {
	n=$1
	shift
	echo "XVBG: FAIL $n: $*"
}
skip() {
	n=$1
	shift
	echo "XVBG: skip $n: $*"
}
info() { echo "XVBG: info $*"; }

# Waits up to $2 s (default 15) for block device $1.
wait_dev() {
	i=0
	while [ ! -b "$1" ] && [ $i -lt $((${2:-15} * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -b "$1" ]
}

# Runs xvbt, keeping its complaint for the result line.
x() { xvbt "$@" 2>/tmp/xvbt.err; }
why() { tr '\n' ' ' </tmp/xvbt.err; }
