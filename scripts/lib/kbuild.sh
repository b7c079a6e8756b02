# shellcheck shell=bash
# Kbuild's out-of-tree build of a module against a kernel tree, the Rust
# exports a tree must have, and the sources that make lint checks.

# A compiler or Kbuild warning or error in a build log.
export WARNINGS_RE='^(warning|error)|: warning:'

# kbuild_vars KDIR: the make variables that choose the compilers that
# built KDIR, into the array kbuild_vars: this project's LLVM, or for
# Debian's kernel the ones debian-kernel.sh recorded next to its tree
# (toolchain.env).
kbuild_vars() {
	kbuild_vars=(LLVM="$LLVM")
	[[ ! -f $1/../toolchain.env ]] || mapfile -t kbuild_vars <"$1/../toolchain.env"
}

# kbuild KDIR DIR OUT [ARGS...]: Kbuild's out-of-tree build of DIR (M=)
# against the kernel build KDIR, into OUT (MO=; "" builds in DIR itself),
# with the compilers that built that kernel (kbuild_vars), for Debian's
# kernel in Debian 13's toolchain.
kbuild() {
	local kdir=$1 dir=$2 out=$3 root=/ kbuild_vars
	shift 3
	kbuild_vars "$kdir"
	if [[ -f $kdir/../toolchain.env ]]; then
		root=$(debian_toolchain_dir)
		[[ -f $root/.complete || $root == / ]] || die "no Debian 13 toolchain at $root: run 'make KERNEL=debian'"
	fi
	debian_toolchain_run "$root" make -C "$kdir" M="$dir" ${out:+"MO=$out"} "${kbuild_vars[@]}" "$@"
}

# rust_exports_missing TREE: the Rust symbols that TREE's rust/ exports
# (rust/exports_*_generated.h) and its Module.symvers does not list, one per
# line. rustc hashes its version into every Rust symbol name, so any name
# here means rust/ was built by another rustc or bindgen than the kernel
# (debian-kernel.sh, doctor.sh).
rust_exports_missing() {
	sed -n 's/^EXPORT_SYMBOL_RUST_GPL(\(.*\));$/\1/p' "$1"/rust/exports_*_generated.h | sort |
		comm -23 - <(cut -f2 "$1/Module.symvers" | sort)
}

# cached_kernel_source: a kernel source tree in the cache, for
# make lint and make fmt (its .rustfmt.toml, checkpatch.pl); they never
# download one.
cached_kernel_source() {
	# A build of the project's has its source behind `source`; Debian's
	# tree is its own source.
	local kernel src
	for kernel in $KERNELS; do
		for src in "$BUILD_DIR/$kernel/kdir/source" "$BUILD_DIR/$kernel/kdir"; do
			if [[ -f $src/.rustfmt.toml ]]; then
				readlink -f "$src"
				return
			fi
		done
	done
	die "no kernel tree in the cache for this clone: run 'make' first"
}

# rust_sources: the Rust files that rustfmt checks (make lint, make fmt),
# one per line.
rust_sources() {
	(cd "$TOP" && ls rust_sample.rs src/*.rs && find exercises -name '*.rs' | sort)
}
