#!/usr/bin/env bash
# Builds (or takes from the cache) one of the project's kernels for $ARCH
# and prints its build directory, which is the KDIR that modules are built
# against. build.sh runs it for each kernel whose SOURCE is linux
# (qemu/kernels/NAME.conf).
#
#   [ARCH=arm64] scripts/build/build-kernel.sh NAME SRC [WHY]
#
# SRC is the Linux source tree (fetch-kernel-source.sh); WHY, what needs
# the kernel, for the message. The config: tinyconfig, then the kernel's
# fragments (its FRAGMENTS, each with the architecture's part where there
# is one: kernel_fragments in lib/kernels.sh).
#
# The cache entry's name is a hash of everything that goes into the build:
# the architecture, the source tree's identity, the config fragments, the
# recipe (the function build_kernel below, as bash prints it: comments and
# the messages around it do not count) and the versions of clang, rustc and
# bindgen. Anything changed means a new entry; an entry is only used once
# its build finished (the `.complete` marker). Nothing writes into an entry
# after that, so the cache may be read-only.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/../lib/lib.sh"

variant=${1:?usage: build-kernel.sh NAME SRC [WHY]}
src=${2:?usage: build-kernel.sh NAME SRC [WHY]}
why=${3:-}
check_kernel "$variant"
[[ $(kernel_fact "$variant" SOURCE) == linux ]] || die "the $variant kernel is not built from the Linux source"
mapfile -t fragments < <(kernel_fragments "$variant")
minutes=$(kernel_fact "$variant" BUILD_MINUTES)

# build_kernel SRC OUT FRAGMENT...: the recipe. Logs to OUT/build.log.
build_kernel() {
	local src=$1 out=$2
	shift 2
	local fragments=("$@") log=$out/build.log
	local kmake=(make -C "$src" O="$out" ARCH="$ARCH" LLVM="$LLVM" -j"$(nproc)")

	run_logged "${kmake[@]}" tinyconfig
	run_logged "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${fragments[@]}"
	run_logged "${kmake[@]}" olddefconfig

	# Kconfig silently drops options whose dependencies are missing (Rust
	# when a tool is too old, KASAN with SLUB_TINY, ...). Refuse to build a
	# kernel that is not what the fragments ask for.
	local missing=() line want
	while IFS= read -r line; do
		case $line in
		CONFIG_*=n) want="# ${line%=n} is not set" ;;
		CONFIG_*) want=$line ;;
		*) continue ;;
		esac
		grep -qxF -- "$want" "$out/.config" || missing+=("$line")
	done < <(grep -h '^CONFIG_' "${fragments[@]}")
	if ((${#missing[@]})); then
		if [[ " ${missing[*]} " == *" CONFIG_RUST=y "* ]]; then
			say "Rust is not available to this kernel; the kernel says:"
			"${kmake[@]}" rustavailable >&2 || true
		fi
		die "kernel $variant: Kconfig dropped: ${missing[*]}"
	fi

	local targets=("${KERNEL_IMAGE##*/}" modules)
	# The kernel's gdb helpers (make gdb), made now: nothing writes into the
	# entry later.
	grep -qx 'CONFIG_GDB_SCRIPTS=y' "$out/.config" && targets+=(scripts_gdb)
	run_logged "${kmake[@]}" "${targets[@]}"

	# Make the entry relocatable. Kbuild's generated $out/Makefile names the
	# source tree and $out by absolute path, and so do its symlinks, so that
	# a cache reached by another path (moved, restored under another home,
	# bind-mounted elsewhere) would fail with "No rule to make target
	# .../Makefile". A fetched source tree lives in the same cache, so
	# relative paths hold wherever the cache is; a tree of the user's own
	# (KERNEL_SRC=dir) stays where it is and keeps its absolute path.
	local src_ref=$src link target
	[[ $src == "$CACHE_DIR"/* ]] && src_ref=\$\(KBUILD_OUTPUT\)/$(realpath --relative-to="$out" "$src")
	cat >"$out/Makefile" <<EOF
# Written by scripts/build-kernel.sh in place of Kbuild's own, which names
# both trees by absolute path: this one finds them from where it is.
export KBUILD_OUTPUT := \$(realpath \$(dir \$(lastword \$(MAKEFILE_LIST))))
include $src_ref/Makefile
EOF
	while IFS= read -r link; do
		target=$(readlink "$link")
		if [[ $target == "$CACHE_DIR"/* ]]; then
			ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$target")" "$link"
		fi
	done < <(find "$out" -type l)
}

run_logged() { # Run a step; on failure show the end of the log ($log).
	if ! "$@" >>"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "kernel $variant: '$*' failed; full log in $log"
	fi
}

start=$(date +%s)

# What identifies the source: its top Makefile (version), the tarball's
# id recorded at unpack time if any, and the path for a user's own tree.
source_id() {
	if [[ -f $src/.sample-source-id ]]; then
		cat "$src/.sample-source-id"
	else
		echo "$src"
		sha256sum "$src/Makefile"
	fi
}

key=$({
	echo "arch=$ARCH variant=$variant"
	source_id
	cat "${fragments[@]}"
	declare -f build_kernel
	"clang$LLVM" --version | head -n1
	rustc --version
	bindgen --version
} | sha256sum | cut -c1-16)
out=$CACHE_DIR/kernels/$KERNEL_VERSION-$ARCH-$variant-$key

if [[ -f $out/.complete ]]; then
	stage_done "kernel $variant" "$start" cached "$out"
	echo "$out"
	exit 0
fi
[[ -w $CACHE_DIR ]] ||
	die "the kernel cache $CACHE_DIR is read-only and has no $variant kernel for these tools and sources ($out); make it writable, or set SAMPLE_CACHE_DIR to a writable directory"

kernel_build_lock
if [[ -f $out/.complete ]]; then
	stage_done "kernel $variant" "$start" cached "$out, built meanwhile"
	echo "$out"
	exit 0
fi

say "building the $ARCH $variant kernel${why:+, which $why needs,} once (about $minutes minutes on 2 cores), into $out"
rm -rf "$out"
mkdir -p "$out"
log=$out/build.log
build_kernel "$src" "$out" "${fragments[@]}"
touch "$out/.complete"
stage_done "kernel $variant" "$start" built
echo "$out"
