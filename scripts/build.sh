#!/usr/bin/env bash
# Everything `make` does, one progress line per stage with its time and
# whether it came from the cache:
#
#   deps        install what is missing (scripts/install-deps.sh)
#   kernels     release and debug kernels, cached outside the clone
#   modules     rust_sample.ko and c_sample.ko for each kernel (Kbuild, M=)
#   suite       the guest test suite, a static musl binary
#   initramfs   busybox, init, suite, and the modules of each kernel
#
#   scripts/build.sh [all|modules]     (modules: skip deps, kernels and suite)
#   VARIANTS="release" scripts/build.sh  only the release kernel
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

what=${1:-all}
read -ra variants <<<"${VARIANTS:-release debug}"

if [[ $what == all ]]; then
	start=$(date +%s)
	"$TOP/scripts/install-deps.sh"
	stage_done deps "$start" "checked"

	# One kernel build at a time on this machine: another clone may be
	# building the same cache entry (it is then reused, not built twice).
	mkdir -p "$CACHE_DIR"
	exec 9>"$CACHE_DIR/.kernel-build.lock"
	if ! flock -n 9; then
		say "another 'make' is building a kernel; waiting for it"
		flock 9
	fi
	for variant in "${variants[@]}"; do
		kdir=$("$TOP/scripts/build-kernel.sh" "$variant")
		mkdir -p "$BUILD_DIR/$variant"
		ln -sfn "$kdir" "$BUILD_DIR/$variant/kdir"
	done
	exec 9>&-
fi

for variant in "${variants[@]}"; do
	start=$(date +%s)
	kdir=$BUILD_DIR/$variant/kdir
	[[ -d $kdir ]] || die "no $variant kernel yet: run 'make' first"
	log=$BUILD_DIR/$variant/modules.log
	# CLIPPY=1: clippy checks the Rust module as it compiles.
	if ! make -C "$kdir" M="$TOP" MO="$BUILD_DIR/$variant" LLVM="$LLVM" CLIPPY=1 >"$log" 2>&1; then
		cat "$log" >&2
		die "building the modules for the $variant kernel failed"
	fi
	# Warnings are errors for a sample that people copy.
	if grep -q -E '^(warning|error)|: warning:' "$log"; then
		cat "$log" >&2
		die "the modules built with warnings for the $variant kernel"
	fi
	# The runner's own tests load a module that prints a WARNING.
	mkdir -p "$BUILD_DIR/$variant/warn_module"
	if ! make -C "$kdir" M="$TOP/tests/runner/warn_module" MO="$BUILD_DIR/$variant/warn_module" \
		LLVM="$LLVM" >>"$log" 2>&1; then
		cat "$log" >&2
		die "building the runner's test module for the $variant kernel failed"
	fi
	stage_done "modules $variant" "$start" "built"
done

if [[ $what == all ]]; then
	start=$(date +%s)
	cargo build --quiet --release --locked --target x86_64-unknown-linux-musl \
		--manifest-path "$TOP/tests/suite/Cargo.toml" --target-dir "$BUILD_DIR/cargo"
	mkdir -p "$BUILD_DIR/tools"
	cp "$BUILD_DIR/cargo/x86_64-unknown-linux-musl/release/sample-tests" "$BUILD_DIR/tools/"
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
