#!/usr/bin/env bash
# Everything `make` does, one progress line per stage with its time and
# whether it came from the cache:
#
#   deps        install what is missing (scripts/install-deps.sh)
#   kernels     the release kernel (and with VARIANTS, the debug one),
#               cached outside the clone
#   modules     rust_sample.ko and c_sample.ko for each kernel (Kbuild, M=)
#   suite       the guest test suite, a static musl binary
#   initramfs   busybox, init, suite, and the modules of each kernel
#
#   scripts/build.sh [all|modules]     (modules: skip deps, kernels and suite)
#   VARIANTS="release debug" scripts/build.sh   both kernels (make all-kernels)
#   ARCH=arm64 scripts/build.sh         the same for arm64 (default: this
#                                       machine's architecture), in build/arm64
#
# The debug kernel is built the first time something needs it (make test,
# make fuzz, run-qemu.sh --debug, ...: need_variant in lib.sh), not by a
# plain `make`, which builds what the quick start uses.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

what=${1:-all}
# Default: KERNEL (default_kernel in lib.sh: Debian's on Debian 13, else
# release), and every other kernel this clone has built (make test,
# run-qemu.sh --debug, ...), so that its modules and initramfs never go
# stale after an edit.
if [[ -z ${VARIANTS:-} ]]; then
	VARIANTS=${KERNEL:-$(default_kernel)}
	for kernel in $KERNELS; do
		[[ " $VARIANTS " == *" $kernel "* || ! -e $BUILD_DIR/$kernel/modules.cpio ]] || VARIANTS+=" $kernel"
	done
fi
read -ra variants <<<"$VARIANTS"
own_kernels=0
for variant in "${variants[@]}"; do
	check_kernel "$variant"
	[[ $variant == debian ]] || own_kernels=1
done
# install-deps.sh installs what these kernels need.
export VARIANTS

if [[ $what == all ]]; then
	start=$(date +%s)
	"$TOP/scripts/install-deps.sh" early
	# The kernel source downloads and unpacks while the rest installs (the
	# project's own kernels; debian-kernel.sh fetches Debian's).
	mkdir -p "$BUILD_DIR"
	fetch_log=$BUILD_DIR/fetch-source.log
	: >"$fetch_log"
	fetch_pid=''
	if ((own_kernels)); then
		"$TOP/scripts/fetch-kernel-source.sh" >/dev/null 2>"$fetch_log" &
		fetch_pid=$!
	fi
	"$TOP/scripts/install-deps.sh" || {
		[[ -z $fetch_pid ]] || kill "$fetch_pid" 2>/dev/null || true
		exit 1
	}
	fetch_status=0
	[[ -z $fetch_pid ]] || wait "$fetch_pid" || fetch_status=$?
	cat "$fetch_log" >&2
	((fetch_status == 0)) || die "fetching the Linux source failed (above)"
	stage_done deps "$start" "checked${fetch_pid:+ (and the Linux source)}"

	for variant in "${variants[@]}"; do
		kdir=$("$TOP/scripts/build-kernel.sh" "$variant")
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
	stage_done "modules $variant" "$start" "built"
done

if [[ $what == all ]]; then
	start=$(date +%s)
	cargo build --quiet --release --locked --target "$RUST_TARGET" \
		--manifest-path "$TOP/tests/suite/Cargo.toml" --target-dir "$BUILD_DIR/cargo"
	mkdir -p "$BUILD_DIR/tools"
	cp "$BUILD_DIR/cargo/$RUST_TARGET/release/sample-tests" "$BUILD_DIR/tools/"
	stage_done suite "$start" "built"

	start=$(date +%s)
	"$TOP/scripts/build-initramfs.sh" base
	stage_done "initramfs base" "$start" "built"
fi

for variant in "${variants[@]}"; do
	start=$(date +%s)
	"$TOP/scripts/build-initramfs.sh" modules "$variant"
	stage_done "initramfs $variant" "$start" "built"
done
