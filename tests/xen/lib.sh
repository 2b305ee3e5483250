# SPDX-License-Identifier: MIT
# Host-side helpers shared by tests/xen/setup, build and run (sourced, bash).
#
# The cache (downloads, extracted arm64 packages, the rebuilt hypervisor)
# lives outside the tree: $XVB_XEN_CACHE/RELEASE-XEN, default
# /var/tmp/xvb-xen/bookworm-4.17. Build
# products of the tree (arm64 xvbd, images, logs) go under $O/xen.

# Run from make: the caller's O=, -j and flags are not for the builds here.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

# The Debian release whose arm64 dom0 (kernel, Xen tools) is tested, and its
# Xen version: bookworm's 4.17 by default, trixie's 4.20 the other one known.
XVB_XEN_DEBIAN=${XVB_XEN_DEBIAN:-bookworm}
case $XVB_XEN_DEBIAN in
bookworm) xv=4.17 ;;
trixie) xv=4.20 ;;
*) xv= ;;
esac
XVB_XEN_VERSION=${XVB_XEN_VERSION:-$xv}
XENV=$XVB_XEN_VERSION
XVB_XEN_CACHE=${XVB_XEN_CACHE:-/var/tmp/xvb-xen}
# One directory per release and Xen version (this layout's own: a cache
# written by an older harness directly in XVB_XEN_CACHE is left alone).
C=$XVB_XEN_CACHE/$XVB_XEN_DEBIAN-$XENV
ROOT=$C/root                    # the arm64 packages, extracted (dpkg-deb -x)
XEN_DEB_DIR=$C/ioreq            # scripts/xen-ioreq-deb's work and package
XEN_IMAGE=$C/xen-ioreq          # the hypervisor, CONFIG_IOREQ_SERVER=y
SETUP_STAMP=$C/setup.done       # written last by a successful setup
SKIP_FILE=$C/skip.reason        # why setup could not run here, if it could not
TRIPLET=aarch64-linux-gnu

now() { date +%s.%N; }
# Seconds since $1 (from now()), one decimal.
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

# Prints "skip NAME: WHY" (the runner's format) and exits 77. Setup also
# records why (SKIP_RECORD=1), for the steps after it to say the same.
skip_all() {
	local name=$1
	shift
	echo "skip $name: $*"
	if [ "${SKIP_RECORD:-0}" = 1 ] && mkdir -p "$C" 2>/dev/null; then
		echo "$*" >"$SKIP_FILE"
	fi
	exit 77
}

# Root, or sudo if there is one. Sets SUDO.
need_root() {
	SUDO=
	[ "$(id -u)" -eq 0 ] && return 0
	command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && {
		SUDO=sudo
		return 0
	}
	return 1
}

# Set by `make check` when the real-Xen run is off (XVB_XEN=0, a sanitizer
# or cross build): every step skips with that reason, and records nothing.
skip_if_off() {
	[ -z "${XVB_XEN_SKIP:-}" ] || SKIP_RECORD=0 skip_all "$1" "$XVB_XEN_SKIP"
}

# Kilobytes free on the file system of $1 (which may not exist yet).
kb_free() {
	local d=$1
	while [ ! -d "$d" ]; do d=$(dirname "$d"); done
	df -Pk "$d" | awk 'NR == 2 { print $4 }'
}

# The kernel version recorded by setup (the arm64 linux-image package).
kver() { cat "$C/kver"; }

# The first of the payload ROOT's directories DIRS... that exists: Debian 13
# moved /lib, /bin and /sbin under /usr, Debian 12 has both.
in_root() {
	local d
	for d in "$@"; do
		[ -e "$ROOT/$d" ] && {
			echo "$d"
			return 0
		}
	done
	echo "$1"
}
