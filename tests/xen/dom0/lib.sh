# SPDX-License-Identifier: MIT
# Helpers of dom0's init and scenarios (sourced). Results go to the serial
# console, where the host's tests/xen/run reads them.

up() { cut -d' ' -f1 /proc/uptime; }
# Seconds since uptime $1, two decimals.
dt() { awk -v a="$1" -v b="$(up)" 'BEGIN { printf "%.2f", b - a }'; }
# Is $1 < $2 (floating point)?
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

ok() { echo "XVBT: ok $1"; }
fail() {
	n=$1
	shift
	echo "XVBT: FAIL $n: $*"
}
skip() {
	n=$1
	shift
	echo "XVBT: skip $n: $*"
}
phase() { echo "XVBT: time $1 $2"; }

param() { tr ' ' '\n' </proc/cmdline | sed -n "s/^xvb\.$1=//p"; }

# Disk lines for xl: virtio served by xvbd, and PV blkback.
vdisk() { echo "backendtype=standalone,specification=virtio,vdev=$1,format=raw,access=$2,target=$3"; }
pvdisk() { echo "backendtype=phy,vdev=$1,format=raw,access=$2,script=/etc/xen/scripts/xvbt-block,target=$3"; }

# A PV NIC on netback for the side-by-side runs (Debian's vif-bridge needs
# bash: tests/xen/dom0/vif puts the vif on the bridge).
pvnic() { echo "mac=$1,bridge=xenbr0,script=/etc/xen/scripts/xvbt-vif"; }

# nic_target MAC: the target of a Xen 4.17 virtio NIC disk slot, created.
# libxl stat()s every standalone disk's target before anything else
# ("Disk vdev=xvdb failed to stat: xvb-net:...: No such file or
# directory"), and refuses script= for that backend: the target, a relative
# path, must name an existing file in xl's working directory.
nic_target() {
	echo "xvb-net:bridge=xenbr0,mac=$1"
	: >"xvb-net:bridge=xenbr0,mac=$1"
}

# dom0's bridge xenbr0, 10.99.0.1/24 (busybox ip, or brctl).
bridge_up() {
	ip link add xenbr0 type bridge 2>/tmp/br.err || brctl addbr xenbr0 2>>/tmp/br.err ||
		return 1
	ip addr add 10.99.0.1/24 dev xenbr0
	ip link set xenbr0 up
}
bridge_down() {
	ip link set xenbr0 down
	ip link del xenbr0 2>/dev/null || brctl delbr xenbr0
}

# mkcfg NAME STEP VCPUS "PARAMS" [DISK...]: writes /srv/cfg/NAME.cfg; VIF,
# if set, is its vif line.
mkcfg() {
	name=$1 step=$2 vcpus=$3 params=$4
	shift 4
	disks=
	for d in "$@"; do disks="$disks${disks:+, }'$d'"; done
	cat >/srv/cfg/$name.cfg <<CFG
name = "$name"
type = "pvh"
kernel = "/guest/Image"
ramdisk = "/guest/initrd.gz"
extra = "console=hvc0 rdinit=/init quiet xvb.step=$step $params"
memory = 192
vcpus = $vcpus
disk = [ $disks ]
CFG
	[ -z "${VIF:-}" ] || echo "vif = [ '$VIF' ]" >>/srv/cfg/$name.cfg
}

# create NAME [xl options]: `xl create`, timed (CREATE_T); DOMID is set.
create() {
	n=$1
	shift
	t=$(up)
	# libxl has its own 10 s limits; 180 s is for a create that hangs.
	timeout 180 xl create "$@" /srv/cfg/$n.cfg >/tmp/create-$n.log 2>&1
	rc=$?
	CREATE_T=$(dt "$t")
	DOMID=$(xl domid "$n" 2>/dev/null)
	phase "xl_create_$n" "$CREATE_T"
	if [ $rc != 0 ]; then
		sed "s/^/XVBT: xl create $n: /" /tmp/create-$n.log | tail -8
	fi
	return $rc
}

console() { tr -d '\r' </var/log/xen/console/guest-$1.log 2>/dev/null; }

# boot_line BACKEND ROUND/SET NAME: how long the guest NAME took to come up,
# "XVBT: boot ..." (xl create's time, CREATE_T, and the guest's uptime when
# its /init ran): a boot far slower than the run's others says the host was
# busy then (tests/xen/benchjson flags the round).
boot_line() {
	echo "XVBT: boot $1 $2 create_s $CREATE_T init_s $(console $3 | sed -n 's/^XVBG: \/init at \([0-9.]*\)s.*/\1/p' | head -1)"
}

# wait_console NAME PATTERN SECS: until the guest's console shows PATTERN.
wait_console() {
	end=$(($(cut -d. -f1 /proc/uptime) + $3))
	while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
		console "$1" | grep -q "$2" && return 0
		sleep 0.5
	done
	return 1
}

# wait_gone NAME SECS: until the domain no longer exists.
wait_gone() {
	end=$(($(cut -d. -f1 /proc/uptime) + $2))
	while xl domid "$1" >/dev/null 2>&1; do
		[ "$(cut -d. -f1 /proc/uptime)" -lt $end ] || return 1
		sleep 0.5
	done
	return 0
}

# run_guest NAME SECS: waits for the guest's XVBG-DONE and for it to go.
# Returns non-zero (with WHY set) if it did not finish in time.
# xvbd_state DOMID: xvbd's own account of that guest's devices and queues
# (SIGUSR1), as "XVBT: state ..." lines, for a guest that hung.
xvbd_state() {
	[ -n "$XVBD_PID" ] && [ -n "$1" ] || return 0
	n=$(wc -l </var/log/xvbd.log)
	kill -USR1 "$XVBD_PID" 2>/dev/null || return 0
	sleep 2
	tail -n +$((n + 1)) /var/log/xvbd.log | grep -E "(info|warn|err) [a-z]*: d$1[: ]" |
		head -40 | sed 's/^/XVBT: state /'
}

run_guest() {
	t=$(up)
	WHY=
	if ! wait_console "$1" XVBG-DONE "$2"; then
		WHY="no XVBG-DONE within $2 s; console: $(console "$1" | tail -4 | tr '\n' '|')"
		xvbd_state "$DOMID"
		xl destroy "$1" >/dev/null 2>&1
		return 1
	fi
	phase "guest_run_$1" "$(dt "$t")"
	wait_gone "$1" 30 || {
		WHY="still there 30 s after powering off"
		xl destroy "$1" >/dev/null 2>&1
		return 1
	}
	return 0
}

# result TEST GUEST NAME: TEST from the guest's "XVBG: ok|FAIL|skip NAME".
result() {
	line=$(console "$2" | grep -E "^XVBG: (ok|FAIL|skip) $3(:|\$)" | head -1)
	case "$line" in
	"XVBG: ok $3") ok "$1" ;;
	"XVBG: FAIL $3: "*) fail "$1" "${line#XVBG: FAIL $3: }" ;;
	"XVBG: skip $3: "*) skip "$1" "${line#XVBG: skip $3: }" ;;
	*) fail "$1" "guest $2 reported nothing for $3${WHY:+ ($WHY)}; console: $(console "$2" | grep -v '^\[' | tail -3 | tr '\n' '|')" ;;
	esac
}

# xvbd worker processes, as "pid:domid" (all, or those of domain $1).
workers() {
	for p in /proc/[0-9]*; do
		c=$(tr '\0' ' ' <$p/cmdline 2>/dev/null)
		case "$c" in
		*--worker*) ;;
		*) continue ;;
		esac
		d=$(echo "$c" | sed -n 's/.*--domain \([0-9]*\) .*/\1/p')
		[ -z "$1" ] || [ "$d" = "$1" ] && echo "${p#/proc/}:$d"
	done | tr '\n' ' '
}

# teardown_clean DOMID SECS: no worker and no backend nodes left for the
# domain, waiting up to SECS. Sets WHY, and GONE_T (seconds it took).
teardown_clean() {
	t=$(up)
	end=$(($(cut -d. -f1 /proc/uptime) + $2))
	while :; do
		w=$(workers "$1")
		n=$(xenstore-list /local/domain/0/backend/virtio_disk/$1 2>/dev/null | tr '\n' ' ')
		f=$(xenstore-list /local/domain/$1 2>/dev/null | tr '\n' ' ')
		[ -z "$w" ] && [ -z "$n" ] && [ -z "$f" ] && break
		if [ "$(cut -d. -f1 /proc/uptime)" -ge $end ]; then
			WHY="after $2 s: workers '$w', backend nodes '$n', /local/domain/$1: '$f'"
			return 1
		fi
		sleep 0.2
	done
	GONE_T=$(dt "$t")
	return 0
}

# xvbd's footprint in dom0, as "evtchn E maps M fds F": the event channels
# bound by xvbd processes (the evtchn driver names a bound port's interrupt
# "evtchn:<comm of the opener>": a worker calls itself xvbd-dN before it
# binds), privcmd mappings of all xvbd processes, and the supervisor's
# open files.
footprint() {
	e=$(grep -c -E 'evtchn:xvbd(-d[0-9]+)?( |$)' /proc/interrupts)
	m=0
	for p in $(pidof xvbd); do
		c=$(grep -c privcmd /proc/$p/maps 2>/dev/null)
		m=$((m + ${c:-0}))
	done
	echo "evtchn $e maps $m fds $(ls /proc/$XVBD_PID/fd | wc -l)"
}

# A fresh sparse image file of $2 bytes.
mkimg() {
	rm -f "$1"
	truncate -s "$2" "$1"
}

# worker_counts DOMID BACKEND ROUND: the xvbcount.so line of the domain's
# worker, once it has exited, as "XVBT: count BACKEND ROUND ..." (ROUND may
# be ROUND/SET: no '|' in it).
worker_counts() {
	pid=$(sed -n "s/.*supervisor: d$1: worker \([0-9]*\) started.*/\1/p" /var/log/xvbd.log | tail -1)
	[ -n "$pid" ] || return 0
	i=0
	while [ $i -lt 20 ] && ! grep -q "^xvbcount\[$pid\]" /var/log/xvbd.log; do
		sleep 0.25
		i=$((i + 1))
	done
	sed -n "s|^xvbcount\[$pid\]: |XVBT: count $2 $3 |p" /var/log/xvbd.log
}
