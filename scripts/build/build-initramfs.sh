#!/usr/bin/env bash
# Builds the guest's initramfs, without root, as two cpio archives that the
# kernel unpacks one after the other:
#
#   build/initramfs/base.cpio      busybox, /init, the test suite, /dev/console
#   build/VARIANT/modules.cpio     the two modules built for that kernel
#
# run-qemu.sh concatenates them, plus a small archive of its own that says
# what to run, so that changing a module only rebuilds the second one.
#
#   scripts/build/build-initramfs.sh base
#   scripts/build/build-initramfs.sh modules VARIANT
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/../lib/lib.sh"

# gen_init_cpio (from any kernel build) makes device nodes and root-owned
# files without root.
gen_init_cpio() {
	local kernel tool
	for kernel in $KERNELS; do
		tool=$BUILD_DIR/$kernel/kdir/usr/gen_init_cpio
		if [[ -x $tool ]]; then
			"$tool" "$@"
			return
		fi
	done
	die "no gen_init_cpio: build a kernel first (make)"
}

what=${1:?usage: build-initramfs.sh base | modules VARIANT}
case $what in
base)
	busybox=$BUSYBOX
	[[ -x $busybox ]] || die "$busybox not found (Debian: busybox-static)"
	file -L "$busybox" | grep -q 'statically linked' ||
		die "$busybox is not statically linked (install busybox-static)"
	suite=$BUILD_DIR/tools/sample-tests
	[[ -x $suite ]] || die "$suite is missing: build the test suite first (make)"
	out=$BUILD_DIR/initramfs
	mkdir -p "$out"
	cat >"$out/base.list" <<EOF
dir /bin 0755 0 0
dir /sbin 0755 0 0
dir /usr 0755 0 0
dir /usr/bin 0755 0 0
dir /usr/sbin 0755 0 0
dir /lib 0755 0 0
dir /lib/modules 0755 0 0
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
dir /tmp 1777 0 0
dir /root 0700 0 0
dir /etc 0755 0 0
dir /etc/sample 0755 0 0
file /etc/passwd $TOP/qemu/passwd 0644 0 0
file /etc/group $TOP/qemu/group 0644 0 0
file /init $TOP/qemu/init 0755 0 0
file /bin/busybox $busybox 0755 0 0
file /usr/bin/sample-tests $suite 0755 0 0
EOF
	gen_init_cpio -o "$out/base.cpio" "$out/base.list"
	;;
modules)
	variant=${2:?usage: build-initramfs.sh modules VARIANT}
	dir=$BUILD_DIR/$variant
	for ko in rust_sample.ko src/c_sample.ko; do
		[[ -f $dir/$ko ]] || die "$dir/$ko is missing: build the modules first (make)"
	done
	cat >"$dir/modules.list" <<EOF
file /lib/modules/rust_sample.ko $dir/rust_sample.ko 0644 0 0
file /lib/modules/c_sample.ko $dir/src/c_sample.ko 0644 0 0
EOF
	gen_init_cpio -o "$dir/modules.cpio" "$dir/modules.list"
	;;
*) die "unknown archive '$what' (base or modules)" ;;
esac
