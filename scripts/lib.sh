# shellcheck shell=bash
# Shared helpers for the build scripts: paths, the cache location and
# progress lines. Sourced, never run.

# The project's top directory, wherever the script was started from.
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TOP

# The kernel version the sample is written for.
KERNEL_VERSION=${KERNEL_VERSION:-7.3}

# Expensive builds (kernel source, kernels) live outside the clone so that a
# new clone reuses them. Every entry is keyed by what went into it.
CACHE_DIR=${SAMPLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-kmod-sample}


# LLVM suffix: LLVM=-19 selects clang-19, ld.lld-19, ... (Kbuild's convention).
LLVM=${LLVM:--19}

# rustup's tools and what `cargo install` adds (bindgen) live here; a
# non-login shell may lack it, and it may not exist yet when this is sourced.
if [[ :$PATH: != *:${CARGO_HOME:-$HOME/.cargo}/bin:* ]]; then
	PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH
fi

# The Rust toolchain for the kernels, the modules and the test suite, pinned.
# rustc 1.85.0 is kernel 7.3's minimum and is built on LLVM 19, the LLVM of
# Debian 12's clang-19. With rustc and clang on one LLVM the kernel inlines
# its small C helpers into Rust code (CONFIG_RUST_INLINE_HELPERS in
# qemu/kernel.config), as C inlines them from its headers. To use another
# toolchain, set RUSTUP_TOOLCHAIN, and LLVM= to a clang of the same LLVM.
RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-1.85.0}

export KERNEL_VERSION CACHE_DIR LLVM RUSTUP_TOOLCHAIN

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# --- The target architecture. -------------------------------------------
# ARCH, spelt as the kernel spells it: x86_64 or arm64 (x86, amd64 and
# aarch64 are taken too). The default is this machine's own, so that a plain
# `make` on an ARM laptop builds for arm64. Everything per architecture has
# its own build directory (build/ARCH) and its own kernel cache entries.
case $(uname -m) in
x86_64) HOST_ARCH=x86_64 ;;
aarch64 | arm64) HOST_ARCH=arm64 ;;
*) HOST_ARCH=$(uname -m) ;;
esac
ARCH=${ARCH:-$HOST_ARCH}
case $ARCH in
x86 | x86_64 | amd64) ARCH=x86_64 ;;
arm64 | aarch64) ARCH=arm64 ;;
*) die "ARCH=$ARCH: this sample is for x86_64 and arm64" ;;
esac

# What differs between the two: the kernel image, QEMU and its package,
# the console, the suite's Rust target, Debian's name for the architecture,
# and the compiler for the static C helpers that run in the guest (cc
# natively; from x86, Debian's cross gcc).
case $ARCH in
x86_64)
	KERNEL_IMAGE=arch/x86/boot/bzImage
	QEMU_SYSTEM=qemu-system-x86_64 QEMU_PACKAGE=qemu-system-x86
	CONSOLE=ttyS0
	RUST_TARGET=x86_64-unknown-linux-musl
	DEB_ARCH=amd64
	GUEST_CC=cc
	;;
arm64)
	KERNEL_IMAGE=arch/arm64/boot/Image
	QEMU_SYSTEM=qemu-system-aarch64 QEMU_PACKAGE=qemu-system-arm
	CONSOLE=ttyAMA0
	RUST_TARGET=aarch64-unknown-linux-musl
	DEB_ARCH=arm64
	GUEST_CC=cc
	[[ $HOST_ARCH == arm64 ]] || GUEST_CC=aarch64-linux-gnu-gcc
	# The suite is a static musl binary; rustup's own lld links it, from
	# any host.
	export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld
	;;
esac
export ARCH HOST_ARCH KERNEL_IMAGE QEMU_SYSTEM QEMU_PACKAGE CONSOLE RUST_TARGET DEB_ARCH GUEST_CC

# Per-clone build output (modules, initramfs, test tools, logs), one
# directory per architecture.
BUILD_DIR=${BUILD_DIR:-$TOP/build/$ARCH}
export BUILD_DIR

# The guest's userland, a static busybox: Debian's busybox-static installs
# one in /bin for this machine's own architecture; for another one,
# install-deps.sh takes it from Debian's .deb into the cache.
if [[ $ARCH == "$HOST_ARCH" ]]; then
	BUSYBOX=/bin/busybox
else
	BUSYBOX=$CACHE_DIR/busybox/$DEB_ARCH/busybox
fi
export BUSYBOX

# stage NAME START_SECONDS SOURCE: one progress line per build stage.
stage_done() {
	local name=$1 start=$2 source=$3
	printf '[%-18s] %4ss  %s\n' "$name" "$(($(date +%s) - start))" "$source" >&2
}

# The kernels, by name: release and debug, which this project builds
# (build-kernel.sh), and debian, Debian's own (debian-kernel.sh). KERNEL
# chooses one (make KERNEL=debian, run-qemu.sh --kernel debian); the
# default is default_kernel's.
KERNELS="release debug debian"
check_kernel() { # NAME: dies unless NAME is one of $KERNELS.
	[[ " $KERNELS " == *" $1 "* ]] || die "unknown kernel '$1' ($KERNELS)"
}

# default_kernel: the kernel of the quick start: Debian's on a Debian 13
# x86_64 machine, where its toolchain is the system's and it is ready
# sooner than a kernel build (README.md has both measured), else release.
default_kernel() {
	if [[ $ARCH == x86_64 && $(debian_toolchain_kind) == system ]]; then
		echo debian
	else
		echo release
	fi
}

# need_variant VARIANT WHY: builds that kernel (cached), its modules and the
# initramfs when this clone lacks them. A plain `make` builds the release
# kernel only; the debug kernel is built the first time WHY needs it, and
# every later `make` keeps its modules current (build.sh).
need_variant() {
	local variant=$1 why=$2
	[[ -f $BUILD_DIR/$variant/modules.cpio && -f $BUILD_DIR/initramfs/base.cpio ]] && return 0
	say "$why needs the $variant kernel, which this clone has not built yet: building it"
	VARIANTS=$variant KERNEL_WHY=$why "$TOP/scripts/build.sh" all >&2
}

# --- Results, in KTAP (Documentation/dev-tools/ktap.rst): test.sh,
# test-host.sh, lint.sh, check-exercises.sh. Each prints a KTAP document, one
# result line per check (a failure's reasons on "# " lines before it), keeps
# logs in $logs, and ends with summary_line: "N passed, N failed". These
# helpers number the results and keep the totals of the leaf cases.
passed=0 failed=0 skipped=0 ktap_number=0
# ktap_next: the next result's number, in $ktap_number; the document's
# version line comes before the first.
ktap_next() {
	((ktap_number > 0)) || echo "KTAP version 1"
	ktap_number=$((ktap_number + 1))
}
# ktap_result ok|"not ok" NAME [DIRECTIVE]: one result line. A KTAP
# description cannot hold '#'.
ktap_result() {
	echo "$1 $ktap_number ${2//#/}${3:+ # $3}"
}
pass() {
	passed=$((passed + 1))
	ktap_next
	ktap_result ok "$1"
}
fail() { # NAME [WHY]
	failed=$((failed + 1))
	ktap_next
	local line
	[[ -z ${2:-} ]] || while IFS= read -r line; do echo "# $line"; done <<<"$2"
	ktap_result "not ok" "$1"
}
skip() { # NAME WHY: not a pass
	skipped=$((skipped + 1))
	ktap_next
	ktap_result ok "$1" "SKIP $2"
}

# ktap_subtest LABEL LOG [KTAP.PY ARGS...]: the first KTAP document in LOG
# (scripts/ktap.py, the one reader) as subtest LABEL of this document, its
# leaf cases added to the totals, then its own result line. Leaves the
# counts in $logs/LABEL.counts (for a breakdown) and returns ktap.py's
# status: 0 passed, 1 failed, 2 no KTAP in LOG (counted as one failure).
# shellcheck disable=SC2154 # $logs: set by the test script
ktap_subtest() {
	local label=$1 log=$2 status=0 p f s
	shift 2
	ktap_next
	python3 "$TOP/scripts/ktap.py" count "$log" --subtest "$label" --indent 4 \
		--counts "$logs/$label.counts" "$@" || status=$?
	read -r _ p f s < <(grep '^total ' "$logs/$label.counts")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if ((f == 0)); then
		ktap_result ok "$label"
	else
		ktap_result "not ok" "$label"
	fi
	return "$status"
}

# run_vm NAME ARGS...: runs the VM quietly, keeping its output in $logs/NAME.log.
# shellcheck disable=SC2154 # $logs: set by the test script
run_vm() {
	local name=$1
	shift
	set +e
	"$TOP/scripts/run-qemu.sh" "$@" >"$logs/$name.log" 2>&1
	local status=$?
	set -e
	return "$status"
}

# host_run LABEL SCRIPT: a host-side script that prints KTAP, as a subtest
# of this document. A script that fails without a failed case to show for
# it counts as one more failure, with the end of its log.
host_run() {
	local label=$1 script=$2 status=0 before=$failed
	"$script" >"$logs/$label.log" 2>&1 || status=$?
	ktap_subtest "$label" "$logs/$label.log" || true
	if ((status != 0 && failed == before)); then
		fail "$label: $script failed (exit $status; log: $logs/$label.log)" "$(tail -n 20 "$logs/$label.log")"
	fi
	return 0
}

# summary_line: the closing line; skips are not passes.
summary_line() {
	if ((skipped > 0)); then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	((failed == 0))
}

# The CPU model the instruction clock (run-qemu.sh --icount, make bench)
# shows the guest: a model that every QEMU release defines alike (unlike
# `max`, which follows the QEMU version). x86_64: QEMU's versioned baseline,
# plus SMEP and SMAP, which every x86 of the last decade has and which put
# stac/clac around each user copy. arm64: a Neoverse N1 (ARMv8.2, the cores
# of many ARM servers and cloud VMs).
case $ARCH in
x86_64) ICOUNT_CPU=qemu64-v1,+smep,+smap ;;
arm64) ICOUNT_CPU=neoverse-n1 ;;
esac
export ICOUNT_CPU

# qemu_accel_args kvm|tcg|icount: the machine, accelerator and CPU options
# for QEMU on $ARCH, into the array accel_args (icount: TCG on the
# instruction clock, with the pinned ICOUNT_CPU). Under TCG, arm64's `-cpu max`
# emulates pointer authentication with the architected algorithm (QARMA),
# which is slow for a kernel that signs its return addresses (distributions'
# do; this sample's tinyconfig leaves CONFIG_ARM64_PTR_AUTH off, so here it
# costs nothing either way: README.md has both measured). QEMU's own cheap
# algorithm (pauth-impdef=on) keeps the feature and the speed. TCG_CPU=MODEL
# chooses another CPU under TCG. x86_64's `max` leaves out 5-level paging
# (la57), which laptops' CPUs do not have either: with it, the debug kernel
# once reported a KASAN wild-memory-access at an address of the 5-level
# direct map, in an interrupt during early boot, before any module
# (docs/hardening.md).
# QEMU's option values are comma-separated lists.
# shellcheck disable=SC2054
qemu_accel_args() {
	local machine=()
	[[ $ARCH != arm64 ]] || machine=(-M virt)
	case $ARCH/$1 in
	*/icount) accel_args=("${machine[@]}" -accel tcg -icount shift=0,sleep=off -cpu "$ICOUNT_CPU") ;;
	x86_64/kvm) accel_args=(-accel kvm -cpu host) ;;
	x86_64/tcg) accel_args=(-accel tcg -cpu "${TCG_CPU:-max,la57=off}") ;;
	arm64/kvm) accel_args=(-M virt,gic-version=host -accel kvm -cpu host) ;;
	arm64/tcg) accel_args=("${machine[@]}" -accel tcg -cpu "${TCG_CPU:-max,pauth-impdef=on}") ;;
	esac
}

# kvm_works IMAGE: whether KVM really runs a guest. It needs this machine's
# own architecture, and some machines have a /dev/kvm whose guests hang
# before printing anything (nested virtualisation). A short probe boot of
# IMAGE tells; the answer is kept for this host and architecture until it
# reboots. Used by run-qemu.sh and bench.sh.
kvm_works() {
	[[ $ARCH == "$HOST_ARCH" && -r /dev/kvm && -w /dev/kvm ]] || return 1
	local stamp probe_log accel_args
	stamp=/tmp/rust-kmod-sample-kvm-probe.$ARCH.$(id -u)
	if [[ -f $stamp ]]; then
		[[ $(cat "$stamp") == ok ]]
		return
	fi
	say "probing KVM (a guest that shows no sign of life within 5 s means TCG)"
	probe_log=$(mktemp)
	qemu_accel_args kvm
	# In a subshell whose messages go nowhere: bash would report the killed
	# probe ("Aborted") on its own.
	local verdict
	verdict=$(
		"$QEMU_SYSTEM" "${accel_args[@]}" -m 256 -kernel "$1" \
			-append "console=$CONSOLE earlycon panic=-1" \
			-display none -monitor none -no-reboot \
			-serial "file:$probe_log" </dev/null >/dev/null 2>&1 &
		pid=$! verdict=broken
		for _ in $(seq 50); do
			if grep -q 'Linux version' "$probe_log" 2>/dev/null; then
				verdict=ok
				break
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		echo "$verdict"
	) 2>/dev/null
	rm -f "$probe_log"
	echo "$verdict" >"$stamp"
	[[ $verdict == ok ]]
}

# private_apt DEB_ARCH APT-GET-ARGS...: apt-get with a configuration of its
# own in the cache, for Debian trixie and trixie-backports and for DEB_ARCH
# ("" for this machine's): the system's apt sources and architectures are
# never touched (fetch-kernel-source.sh, install-deps.sh, debian-kernel.sh).
# private_apt_cache takes the same configuration, for apt-cache.
private_apt() {
	local apt_opts
	private_apt_opts "$1"
	shift
	apt-get "${apt_opts[@]}" "$@"
}
private_apt_cache() {
	local apt_opts
	private_apt_opts "$1"
	shift
	apt-cache "${apt_opts[@]}" "$@"
}
private_apt_opts() { # DEB_ARCH: the options, into the array apt_opts.
	local dir=$CACHE_DIR/apt/${1:-native}
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	printf 'deb http://deb.debian.org/debian %s main\n' trixie-backports trixie >"$dir/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=-"
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
		-o "APT::Default-Release=trixie-backports" -o "Debug::NoLocking=1"
		-o "APT::Sandbox::User=root")
	[[ -z $1 ]] || apt_opts+=(-o "APT::Architecture=$1" -o "APT::Architectures::=$1")
}

# --- Debian's own kernel (KERNEL=debian). -------------------------------------
# Debian 13's packages that build modules for Debian's kernel: the
# compilers named in its .config (gcc-14, Debian's rustc with its rust-src,
# bindgen 0.71.1, pahole 1.30), clippy of the same rustc, and what Kbuild's
# host tools need (debian-toolchain.sh, install-deps.sh).
DEBIAN_TOOLCHAIN_PACKAGES=(gcc-14 gcc libc6-dev make rustc rust-src rust-clippy bindgen openssl
	libclang-19-dev pahole flex bison bc libelf-dev libssl-dev python3 perl)

# debian_toolchain_kind: "system" when this machine's own packages are
# Debian 13's (or DEBIAN_TOOLCHAIN=system), else "root": a Debian 13 root
# made by debian-toolchain.sh.
debian_toolchain_kind() {
	local id='' version=''
	if [[ -n ${DEBIAN_TOOLCHAIN:-} ]]; then
		[[ $DEBIAN_TOOLCHAIN =~ ^(system|root)$ ]] || die "DEBIAN_TOOLCHAIN is system or root, not '$DEBIAN_TOOLCHAIN'"
		echo "$DEBIAN_TOOLCHAIN"
		return
	fi
	# shellcheck disable=SC1091 # the machine's, not the project's
	[[ ! -r /etc/os-release ]] || { id=$(. /etc/os-release && echo "${ID:-}") version=$(. /etc/os-release && echo "${VERSION_ID:-0}"); }
	if [[ $id == debian && ${version%%.*} -ge 13 ]]; then echo system; else echo root; fi
}

# debian_toolchain_dir: where Debian 13's toolchain is: / for the system's,
# else the root that debian-toolchain.sh makes, named by a hash of its
# package list and mirror (it may not exist yet).
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
debian_toolchain_dir() {
	if [[ $(debian_toolchain_kind) == system ]]; then
		echo /
	else
		echo "$CACHE_DIR/roots/trixie-$(printf '%s\n' "${DEBIAN_TOOLCHAIN_PACKAGES[@]}" "$DEBIAN_MIRROR" | sha256sum | cut -c1-12)"
	fi
}

# debian_toolchain_run ROOT CMD...: CMD with Debian 13's toolchain: here
# when ROOT is /, else chrooted into ROOT, in a mount namespace of its own
# (gone when CMD ends) where this clone, its build directory and the cache
# are at the same paths as outside. CMD runs as the calling user, with a
# clean environment but for RUSTC_FORCE_RUSTC_VERSION (debian-kernel.sh).
debian_toolchain_run() {
	local root=$1
	shift
	if [[ $root == / ]]; then
		"$@"
		return
	fi
	local sudo=() dirs=("$TOP" "$CACHE_DIR")
	((EUID == 0)) || sudo=(sudo)
	[[ $BUILD_DIR == "$TOP"/* ]] || dirs+=("$BUILD_DIR")
	# shellcheck disable=SC2016 # the script's own $1.. expand inside it
	"${sudo[@]}" unshare --mount --propagation private /bin/bash -euc '
		root=$1 user=$2 force=$3 n=$4
		shift 4
		for ((i = 0; i < n; i++)); do
			mkdir -p "$root$1"
			mount --rbind "$1" "$root$1"
			shift
		done
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		exec chroot --userspec="$user" "$root" /usr/bin/env -i HOME=/tmp LANG=C.UTF-8 \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin ${force:+RUSTC_FORCE_RUSTC_VERSION="$force"} "$@"
	' _ "$root" "$(id -u):$(id -g)" "${RUSTC_FORCE_RUSTC_VERSION:-}" "${#dirs[@]}" "${dirs[@]}" "$@"
}

# --- Building modules and checking the logs (build.sh, exercise.sh, lint.sh,
# rust-analyzer.sh, check-exercises.sh). --------------------------------------

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
	local src
	# A build of the project's has its source behind `source`; Debian's
	# tree is its own source.
	for src in "$BUILD_DIR"/{release,debug}/kdir/source "$BUILD_DIR"/debian/kdir; do
		if [[ -f $src/.rustfmt.toml ]]; then
			readlink -f "$src"
			return
		fi
	done
	die "no kernel tree in the cache for this clone: run 'make' first"
}

# exercise_kernel NAME: the kernel exercise NAME runs on, as its
# exercise.conf says (KERNEL=debug), release by default.
exercise_kernel() {
	local kernel
	kernel=$(sed -n 's/^KERNEL=//p' "$TOP/exercises/$1/exercise.conf" 2>/dev/null)
	echo "${kernel:-release}"
}

# rust_sources: the Rust files that rustfmt checks (make lint, make fmt),
# one per line.
rust_sources() {
	(cd "$TOP" && ls rust_sample.rs src/*.rs && find exercises -name '*.rs' | sort)
}
