#!/usr/bin/env bash
# Everything `make` does, one progress line per stage with its time and
# whether it came from the cache (and the same as data, in STAGES_FILE:
# by default build/ARCH/stages.tsv, made new by each top-level run; see
# stage_done in lib/log.sh):
#
#   deps        install what is missing (build/install-deps.sh)
#   kernels     each kernel (qemu/kernels/): built from the Linux source
#               (build/build-kernel.sh) or taken from Debian's archive
#               (build/debian-kernel.sh), cached outside the clone
#   modules     rust_sample.ko and c_sample.ko for each kernel (Kbuild, M=)
#   suite       the guest test suite, a static musl binary
#   initramfs   busybox, init, suite, and the modules of each kernel
#
#   scripts/build.sh [all|modules] [--kernels 'K...' | --every-kernel]
#                        the kernels: KERNEL's (default_kernel in
#                        lib/kernels.sh: Debian's on Debian 13, else release),
#                        plus every other one this clone has built, so that
#                        its modules and initramfs never go stale after an
#                        edit; --every-kernel: VARIANTS, default every kernel
#                        for ARCH (make all-kernels); modules: skip deps,
#                        kernels and suite
#   scripts/build.sh need KERNEL WHY
#                        the same for KERNEL, only if this clone lacks it:
#                        the one way the other entry points (run-qemu.sh,
#                        make test, ...) get a kernel built on first use
#   scripts/build.sh distclean   remove the kernel cache
#
# ARCH=arm64 does the same for arm64 (default: this machine's
# architecture), in build/arm64.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

# The stage times, as data: this run's own file, unless a caller (another
# run of this script, check-fresh) gave one.
if [[ -z ${STAGES_FILE:-} ]]; then
	mkdir -p "$BUILD_DIR"
	export STAGES_FILE=$BUILD_DIR/stages.tsv
	: >"$STAGES_FILE"
fi

what=${1:-all}
shift || true
chosen='' why=''
case $what in
all | modules)
	while (($#)); do
		case $1 in
		--kernels)
			chosen=${2?--kernels needs a list}
			shift
			;;
		--every-kernel) chosen=$VARIANTS ;;
		--why)
			why=${2?--why needs a reason}
			shift
			;;
		*) die "build.sh: unknown option '$1'" ;;
		esac
		shift
	done
	;;
need)
	kernel=${1:?usage: build.sh need KERNEL WHY}
	check_kernel "$kernel"
	[[ -f $BUILD_DIR/$kernel/modules.cpio && -f $BUILD_DIR/initramfs/base.cpio ]] && exit 0
	say "${2:?usage: build.sh need KERNEL WHY} needs the $kernel kernel, which this clone has not built yet: building it"
	exec "$0" all --kernels "$kernel" --why "$2" >&2
	;;
distclean)
	say "removing the kernel cache: $CACHE_DIR"
	# The Debian 13 root (debian-toolchain.sh) may belong to root.
	rm -rf "$CACHE_DIR" 2>/dev/null || sudo rm -rf "$CACHE_DIR"
	exit 0
	;;
*) die "usage: build.sh [all|modules|need KERNEL WHY|distclean]" ;;
esac

if [[ -z $chosen ]]; then
	chosen=$KERNEL
	for kernel in $KERNELS; do
		[[ " $chosen " == *" $kernel "* || ! -e $BUILD_DIR/$kernel/modules.cpio ]] || chosen+=" $kernel"
	done
fi
read -ra variants <<<"$chosen"
from_source=0
for variant in "${variants[@]}"; do
	check_kernel "$variant"
	[[ " $(kernel_fact "$variant" ARCHES) " == *" $ARCH "* ]] ||
		die "the $variant kernel is for $(kernel_fact "$variant" ARCHES), not $ARCH"
	[[ $(kernel_fact "$variant" SOURCE) != linux ]] || from_source=1
done

if [[ $what == all ]]; then
	start=$(date +%s)
	"$TOP/scripts/build/install-deps.sh" early "${variants[@]}"
	# The Linux source downloads and unpacks while the rest installs (for
	# the kernels built from it).
	mkdir -p "$BUILD_DIR"
	fetch_log=$BUILD_DIR/fetch-source.log fetch_out=$BUILD_DIR/fetch-source.path
	: >"$fetch_log"
	fetch_pid=''
	if ((from_source)); then
		"$TOP/scripts/build/fetch-kernel-source.sh" >"$fetch_out" 2>"$fetch_log" &
		fetch_pid=$!
	fi
	"$TOP/scripts/build/install-deps.sh" all "${variants[@]}" || {
		[[ -z $fetch_pid ]] || kill "$fetch_pid" 2>/dev/null || true
		exit 1
	}
	fetch_status=0
	[[ -z $fetch_pid ]] || wait "$fetch_pid" || fetch_status=$?
	cat "$fetch_log" >&2
	((fetch_status == 0)) || die "fetching the Linux source failed (above)"
	stage_done deps "$start" checked "${fetch_pid:+the Linux source fetched too}"

	for variant in "${variants[@]}"; do
		case $(kernel_fact "$variant" SOURCE) in
		linux) kdir=$("$TOP/scripts/build/build-kernel.sh" "$variant" "$(cat "$fetch_out")" "$why") ;;
		debian)
			root=$("$TOP/scripts/build/debian-toolchain.sh")
			kdir=$("$TOP/scripts/build/debian-kernel.sh" "$root")
			;;
		*) die "qemu/kernels/$variant.conf: unknown SOURCE '$(kernel_fact "$variant" SOURCE)'" ;;
		esac
		mkdir -p "$BUILD_DIR/$variant"
		ln -sfn "$kdir" "$BUILD_DIR/$variant/kdir"
	done
fi

for variant in "${variants[@]}"; do
	start=$(date +%s)
	kdir=$BUILD_DIR/$variant/kdir
	if [[ ! -d $kdir ]]; then
		die "no $variant kernel yet: run 'make KERNEL=$variant' first"
	fi
	log=$BUILD_DIR/$variant/modules.log
	# CLIPPY=1: clippy checks the Rust module as it compiles.
	if ! kbuild "$kdir" "$TOP" "$BUILD_DIR/$variant" CLIPPY=1 >"$log" 2>&1; then
		cat "$log" >&2
		die "building the modules for the $variant kernel failed"
	fi
	# Warnings are errors for a sample that people copy.
	if grep -q -E "$WARNINGS_RE" "$log"; then
		cat "$log" >&2
		die "the modules built with warnings for the $variant kernel"
	fi
	# The runner's own tests load a module that prints a WARNING.
	mkdir -p "$BUILD_DIR/$variant/warn_module"
	if ! kbuild "$kdir" "$TOP/tests/runner/warn_module" "$BUILD_DIR/$variant/warn_module" >>"$log" 2>&1; then
		cat "$log" >&2
		die "building the runner's test module for the $variant kernel failed"
	fi
	stage_done "modules $variant" "$start" built
done

if [[ $what == all ]]; then
	start=$(date +%s)
	cargo build --quiet --release --locked --target "$RUST_TARGET" \
		--manifest-path "$TOP/tests/suite/Cargo.toml" --target-dir "$BUILD_DIR/cargo"
	mkdir -p "$BUILD_DIR/tools"
	cp "$BUILD_DIR/cargo/$RUST_TARGET/release/sample-tests" "$BUILD_DIR/tools/"
	stage_done suite "$start" built

	start=$(date +%s)
	"$TOP/scripts/build/build-initramfs.sh" base
	stage_done "initramfs base" "$start" built
fi

for variant in "${variants[@]}"; do
	start=$(date +%s)
	"$TOP/scripts/build/build-initramfs.sh" modules "$variant"
	stage_done "initramfs $variant" "$start" built
done
