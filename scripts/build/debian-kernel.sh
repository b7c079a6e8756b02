#!/usr/bin/env bash
# Debian's own Rust-enabled kernel, taken from the archive instead of
# built: prints a kernel tree (KDIR) that modules for it are built against,
# with Debian's vmlinuz at arch/x86/boot/bzImage, where run-qemu.sh looks.
#
#   scripts/build/debian-kernel.sh ROOT   (make KERNEL=debian: build.sh)
#
# ROOT is where Debian 13's toolchain is (debian-toolchain.sh prints it).
#
# Debian's linux-headers package ships no rust/ (no .rmeta, no macros, no
# target.json), so no Rust module builds against it as packaged (make
# doctor shows that). This script makes a tree that does:
#
#   1. finds the newest linux-image-7.3.*-amd64 in trixie-backports
#      (qemu/kernels/debian.conf: DEBIAN_SUITE; the flavour is DEB_ARCH; never
#      a version written into this script: backports keeps only its newest
#      upload), and downloads that image, its config and headers, and the
#      linux-source-7.3 of the same version (private apt configuration);
#   2. unpacks the source and puts the headers' .config in it;
#   3. with Debian 13's toolchain (debian-toolchain.sh), checks that the
#      tools are the ones the .config names, that `make olddefconfig`
#      leaves that .config as it is, byte for byte, then runs
#      `make modules_prepare`, which builds rust/;
#   4. checks that every Rust symbol the rebuilt rust/ exports has exactly
#      its name in Debian's Module.symvers, the list of what the running
#      kernel exports: rustc puts a hash of its version into each name.
#
# A failed check stops the build with one line that names it and says
# what to do. The tree is cached, keyed by the Debian version and the
# toolchain's versions; trees of older uploads are deleted.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/../lib/lib.sh"

root=${1:?usage: debian-kernel.sh ROOT}
start=$(date +%s)
flavour=$DEB_ARCH
suite=$(kernel_fact debian DEBIAN_SUITE)

# --- 1. Which upload, and its packages. -------------------------------------
say "looking up Debian's Linux $KERNEL_VERSION in $suite (private apt configuration)"
private_apt "" update -qq >/dev/null 2>&1 ||
	say "apt-get update failed (offline?): using the package lists of the last update"
# linux-image-7.3.4+deb13-amd64: the ABI name, which is also the kernel's
# release (uname -r). Version: the newest upload of any of them.
image_re="^linux-image-${KERNEL_VERSION//./\\.}\.[0-9]+\+deb[0-9]+-$flavour\$"
best='' best_version=''
while read -r pkg; do
	version=$(private_apt_cache "" show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
	[[ -n $version ]] || continue
	if [[ -z $best_version ]] || dpkg --compare-versions "$version" gt "$best_version"; then
		best=$pkg best_version=$version
	fi
done < <(private_apt_cache "" pkgnames linux-image- | grep -E "$image_re" || true)
if [[ -z $best ]]; then
	# What the archive does carry: the versions of the flavour's metapackage.
	carried=$(private_apt_cache "" madison "linux-image-$flavour" 2>/dev/null |
		awk -F' [|] ' '{ split($3, w, " "); printf "%s%s in %s", sep, $2, w[2]; sep = ", " }')
	die "Debian's archive carries no Linux $KERNEL_VERSION image for $flavour any more (linux-image-$flavour: ${carried:-none}); KERNEL=release builds the sample's own"
fi
release=${best#linux-image-}           # 7.3.4+deb13-amd64
abi=${release%-"$flavour"}             # 7.3.4+deb13
version=$best_version                  # 7.3.4-1~bpo13+1
packages=("linux-binary-$release" "linux-base-$release" "linux-headers-$release"
	"linux-headers-$abi-common" "linux-kbuild-$abi" "linux-source-$KERNEL_VERSION")
say "Debian's kernel: $release, version $version"

# --- The toolchain, and the cache key. -------------------------------------
in_toolchain() { debian_toolchain_run "$root" "$@"; }
# The compilers, by the names in Debian's .config (read below): gcc as
# x86_64-linux-gnu-gcc-14, so that CONFIG_CC_VERSION_TEXT comes out the same,
# and binutils, not LLVM (an LLVM= in the environment would choose lld).
# ARCH as Debian's build spells it (x86, not x86_64: .config's first
# lines name it).
cc=$GNU_TRIPLET-$(kernel_fact debian DEBIAN_CC)
toolchain_vars=(ARCH="$KBUILD_ARCH" LLVM= CC="$cc" HOSTCC="$cc" RUSTC=/usr/bin/rustc BINDGEN=/usr/bin/bindgen
	CLIPPY_DRIVER=/usr/bin/clippy-driver)
versions=$(in_toolchain /bin/sh -c "$cc --version | head -n1; /usr/bin/rustc --version; /usr/bin/bindgen --version; pahole --version; ld --version | head -n1") ||
	die "the Debian 13 toolchain is incomplete (gcc-14, rustc, bindgen, pahole): run 'make KERNEL=debian' again, or see 'make doctor'"

# prepare_tree SRC_DEB HEADERS OUT: the recipe (its text is in the cache
# key). Unpacks the source into OUT/linux, checks, and prepares it.
prepare_tree() {
	local src_deb=$1 headers=$2 out=$3 tree=$3/linux ex inner
	ex=$(mktemp -d -p "$out")
	dpkg-deb -x "$src_deb" "$ex"
	inner=$(find "$ex/usr/src" -maxdepth 1 -name 'linux-source-*.tar.*' | head -n1)
	mkdir -p "$tree"
	tar -xf "$inner" -C "$tree" --strip-components=1
	rm -rf "$ex"
	cp "$headers/.config" "$tree/.config"
	cp "$headers/.config" "$out/debian.config"

	check_versions "$out/debian.config"

	# Check: the same .config, byte for byte. Kconfig records the
	# compilers' versions and what they support (gcc-12 drops
	# SCHED_CLASS_EXT, which changes task_struct): any difference is an
	# ABI the running kernel does not have.
	in_toolchain make -C "$tree" "${toolchain_vars[@]}" olddefconfig >"$out/olddefconfig.log" 2>&1 ||
		fail_check olddefconfig "make olddefconfig failed (log: $out/olddefconfig.log)"
	if ! cmp -s "$tree/.config" "$out/debian.config"; then
		diff "$out/debian.config" "$tree/.config" >"$out/config.diff" || true
		fail_check .config "olddefconfig changed $(grep -c '^[<>]' "$out/config.diff") lines of Debian's .config (first: $(grep -m1 '^[<>]' "$out/config.diff"); all: $out/config.diff): these are not the compilers Debian's kernel was built with; use Debian 13's (DEBIAN_TOOLCHAIN unset)"
	fi

	in_toolchain make -C "$tree" "${toolchain_vars[@]}" KERNELRELEASE="$release" \
		-j"$(nproc)" modules_prepare >"$out/modules_prepare.log" 2>&1 ||
		fail_check modules_prepare "make modules_prepare failed (log: $out/modules_prepare.log)"
	# What the running kernel exports, for modpost.
	cp "$headers/Module.symvers" "$tree/Module.symvers"
	check_symbols "$tree"
	# The initramfs tool, which a built kernel has in usr/; it runs here.
	cc -O2 -o "$tree/usr/gen_init_cpio" "$tree/usr/gen_init_cpio.c"
}

# fail_check NAME WHY: the one line a failed check ends the build with.
fail_check() { die "Debian kernel check '$1' failed: $2"; }

# check_versions CONFIG: rustc and bindgen are the ones the kernel was
# built with (the C compiler is checked by the .config). A
# RUSTC_FORCE_RUSTC_VERSION in the environment stands for rustc's version
# in the symbol names, and is said so.
check_versions() {
	local config=$1 want have
	want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$config")
	have=$(in_toolchain /usr/bin/rustc --version)
	if [[ -n ${RUSTC_FORCE_RUSTC_VERSION:-} ]]; then
		say "rustc: the version in symbol names is forced: RUSTC_FORCE_RUSTC_VERSION='$RUSTC_FORCE_RUSTC_VERSION'"
		have="rustc $RUSTC_FORCE_RUSTC_VERSION"
	fi
	[[ $have == "$want" ]] ||
		fail_check rustc "rustc is '$have', the kernel's is '$want': every Rust symbol name would differ (modpost: undefined!); use that rustc, or unset RUSTC_FORCE_RUSTC_VERSION"
	want=$(sed -n 's/^CONFIG_BINDGEN_VERSION_TEXT="\(.*\)"$/\1/p' "$config")
	have=$(in_toolchain /usr/bin/bindgen --version)
	[[ $have == "$want" ]] ||
		fail_check bindgen "bindgen is '$have', the kernel's is '$want': the bindings' symbol names would differ; use bindgen ${want#bindgen }"
}

# check_symbols TREE: every Rust export of the rebuilt rust/ is in
# Debian's Module.symvers under exactly its name.
check_symbols() {
	local tree=$1 missing total
	total=$(cat "$tree"/rust/exports_*_generated.h | wc -l)
	((total > 0)) || fail_check symbols "the rebuilt rust/ exports nothing (log: $out/modules_prepare.log)"
	missing=$(rust_exports_missing "$tree")
	if [[ -n $missing ]]; then
		fail_check symbols "$(wc -l <<<"$missing") of $total Rust symbols of the rebuilt rust/ are not in Debian's Module.symvers (first: $(head -n1 <<<"$missing")): rustc or bindgen differ from the kernel's"
	fi
	say "checks passed: the tools' versions, .config byte for byte, all $total Rust exports in Debian's Module.symvers"
}

key=$({
	echo "arch=$ARCH debian=$release $version force=${RUSTC_FORCE_RUSTC_VERSION:-}"
	echo "$versions"
	printf '%s\n' "${toolchain_vars[@]}"
	declare -f prepare_tree check_versions check_symbols
} | sha256sum | cut -c1-16)
out=$CACHE_DIR/kernels/$KERNEL_VERSION-$ARCH-debian-$key
if [[ -f $out/.complete ]]; then
	stage_done "kernel debian" "$start" cached "$out ($release)"
	echo "$out/linux"
	exit 0
fi
[[ -w $CACHE_DIR ]] || die "the kernel cache $CACHE_DIR is read-only and has no tree for Debian's $release ($out)"

# --- 2. Download and unpack the packages. ----------------------------------
mkdir -p "$CACHE_DIR/kernels"
dl=$CACHE_DIR/downloads/debian-$version-$flavour
mkdir -p "$dl"
for pkg in "${packages[@]}"; do
	compgen -G "$dl/${pkg}_*.deb" >/dev/null && continue
	# fetch-kernel-source.sh may have the same linux-source already.
	shared=$CACHE_DIR/downloads/${pkg}_${version}_all.deb
	if [[ -f $shared ]]; then
		ln -f "$shared" "$dl/" 2>/dev/null || cp "$shared" "$dl/"
		continue
	fi
	say "downloading $pkg $version"
	(cd "$dl" && private_apt "" download "$pkg=$version") >"$dl/download.log" 2>&1 ||
		die "could not download $pkg=$version (log: $dl/download.log)"
done

kernel_build_lock
if [[ -f $out/.complete ]]; then
	stage_done "kernel debian" "$start" cached "$out ($release), prepared meanwhile"
	echo "$out/linux"
	exit 0
fi

say "preparing a tree for Debian's $release: rust/ rebuilt with Debian 13's toolchain (about $(kernel_fact debian BUILD_MINUTES) minutes on 2 cores), into $out"
rm -rf "$out"
mkdir -p "$out/packaged"
for deb in "$dl"/*.deb; do
	[[ $deb == */linux-source-* ]] || dpkg-deb -x "$deb" "$out/packaged"
done
headers=$out/packaged/usr/src/linux-headers-$release
[[ -f $headers/.config && -f $headers/Module.symvers ]] ||
	die "linux-headers-$release has no .config or Module.symvers ($headers)"
src_debs=("$dl"/linux-source-*.deb)
prepare_tree "${src_debs[0]}" "$headers" "$out"

# Debian's vmlinuz (in /usr/lib/modules/RELEASE since Debian 13's
# packages, /boot before), where Kbuild would put a built kernel's image.
vmlinuz=$out/packaged/usr/lib/modules/$release/vmlinuz
[[ -f $vmlinuz ]] || vmlinuz=$out/packaged/boot/vmlinuz-$release
[[ -f $vmlinuz ]] || die "linux-binary-$release has no vmlinuz"
cp "$vmlinuz" "$out/linux/$KERNEL_IMAGE"
# How kbuild (lib/kbuild.sh) builds modules against this tree: with these make
# variables, in Debian 13's toolchain (debian_toolchain_dir).
printf '%s\n' "${toolchain_vars[@]}" >"$out/toolchain.env"
touch "$out/.complete"

# Older uploads (and older toolchains): their trees and downloads.
for old in "$CACHE_DIR/kernels/$KERNEL_VERSION-$ARCH"-debian-* "$CACHE_DIR"/downloads/debian-*-"$flavour"; do
	[[ $old == "$out" || $old == "$dl" ]] || rm -rf "$old"
done
stage_done "kernel debian" "$start" prepared "$out ($release)"
echo "$out/linux"
