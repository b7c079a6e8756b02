#!/usr/bin/env bash
# Installs what the build needs and is missing, saying what and why.
#
#   scripts/build/install-deps.sh all KERNEL...
#                        what building and booting these kernels needs: the
#                        project's compilers for a kernel whose COMPILER is
#                        llvm, Debian 13's (on Debian 13, the system's
#                        packages: DEBIAN_TOOLCHAIN_PACKAGES in
#                        qemu/kernels/debian.conf) for debian13
#   scripts/build/install-deps.sh early KERNEL...
#                        only what the next steps need at once (cc, xz, the
#                        Rust toolchain): build.sh then fetches the kernel
#                        source while the rest installs
#   scripts/build/install-deps.sh bench
#                        what `make bench` adds (gdb and matplotlib), after
#                        a full `make`
#
# NO_INSTALL=1 only reports what is missing. For another architecture than
# this machine's (ARCH=arm64 on an x86 machine) it adds QEMU for it, the
# Rust target of the suite, Debian's cross gcc for the static C helpers
# (qemu/arch/ARCH.conf), and Debian's busybox-static for it, downloaded as a
# .deb with a private apt configuration and unpacked into the cache: the
# system's apt sources and architectures are never touched.
#
# Before it: git, make, ca-certificates, curl and rustup (README.md, "What
# it needs"). Without rustup it prints the command that installs it and
# stops. Everything else it installs: Debian packages from the system's own
# apt sources (with sudo when not root), the pinned Rust toolchain with
# rustup, bindgen from crates.io.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/../lib/lib.sh"

BINDGEN_VERSION=0.73.2
mode=${1:?usage: install-deps.sh all|early KERNEL... | bench}
shift
[[ $mode =~ ^(all|early|bench)$ ]] || die "usage: install-deps.sh all|early KERNEL... | bench"
# With NO_INSTALL the full call reports everything at once.
[[ $mode == early && -n ${NO_INSTALL:-} ]] && exit 0

# rustup is the one prerequisite that is not a Debian package everywhere.
if ! command -v rustup >/dev/null; then
	cat >&2 <<'EOF'
error: rustup not found. Install it, then run make again:

    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    . "$HOME/.cargo/env"

(On Debian 13 or later, 'sudo apt-get install rustup' works too.)
EOF
	exit 1
fi

# The kernels of this run, by their compilers: llvm needs clang, lld and
# bindgen-cli; debian13 needs Debian 13's toolchain.
own_kernels=0 debian_kernel=0
for kernel in "$@"; do
	case $(kernel_fact "$kernel" COMPILER) in
	debian13) debian_kernel=1 ;;
	*) own_kernels=1 ;;
	esac
done

# Each need: how to tell it is there (a command, a /path, or pkg:NAME for an
# installed Debian package) | the Debian package | why.
needs=(
	"llvm-objdump$LLVM|llvm$LLVM|archives and objcopy for the kernel build, the hot-path check of make lint"
	"cc|gcc|links Rust programs (bindgen, the test suite) and builds the C test helpers"
	"/usr/include/stdio.h|libc6-dev|the C library for the host's own helpers"
	"make|make|drives the build"
	"perl|perl|kernel build scripts and checkpatch.pl"
	"flex|flex|kernel configuration (Kconfig)"
	"bison|bison|kernel configuration (Kconfig)"
	"bc|bc|kernel build (timeconst)"
	"/usr/include/libelf.h|libelf-dev|objtool, when building the kernel"
	"/usr/include/openssl/ssl.h|libssl-dev|kernel build host tools"
	"xz|xz-utils|unpacking the kernel source"
	"curl|curl|fetching the kernel source"
	"$QEMU_SYSTEM|$QEMU_PACKAGE|runs the VM ($ARCH)"
	"file|file|checks that busybox is static"
	"python3|python3|kernel scripts (rust-analyzer, gdb helpers)"
	"shellcheck|shellcheck|make lint"
	"git|git|cloning and version stamps"
)

if ((own_kernels)); then
	needs+=(
		"clang$LLVM|clang$LLVM|compiles the kernel and the C module (LLVM=$LLVM)"
		"ld.lld$LLVM|lld$LLVM|links the kernel"
		"/usr/lib/llvm$LLVM/lib/libclang.so|libclang$LLVM-dev|bindgen reads kernel headers through libclang"
		"cpio|cpio|kernel build (kheaders)"
	)
fi
if ((debian_kernel)) && [[ $(debian_toolchain_kind) == system ]]; then
	for pkg in "${DEBIAN_TOOLCHAIN_PACKAGES[@]}"; do
		needs+=("pkg:$pkg|$pkg|builds modules for Debian's kernel with the tools that built it (KERNEL=debian)")
	done
fi

# This machine's own architecture: Debian's busybox-static and the C
# library's static part. Another one: Debian's cross compiler and libc (the
# guest's static helpers); its busybox comes from foreign_busybox below.
if [[ $ARCH == "$HOST_ARCH" ]]; then
	needs+=(
		"pkg:busybox-static|busybox-static|the guest's userland (a static busybox, $BUSYBOX)"
		"/usr/lib/$GNU_TRIPLET/libc.a|libc6-dev|the C library for the guest's static helpers"
	)
else
	needs+=(
		"$GUEST_CC|$CROSS_GCC_PACKAGE|builds the static C helpers that the $ARCH guest runs (ABI check, exercises)"
		"/usr/$GNU_TRIPLET/lib/libc.a|libc6-dev-$DEB_ARCH-cross|the $ARCH C library for those static helpers"
	)
fi

# `make bench` only. The price list (x86_64) single-steps through gdb.
bench_needs=(
	"/usr/lib/python3/dist-packages/matplotlib|python3-matplotlib|make bench draws its charts"
)
[[ $PRICE_LIST != yes ]] || bench_needs+=(
	"gdb|gdb|make bench counts each function's instructions through QEMU's gdb stub"
)
[[ $mode != bench ]] || needs=("${bench_needs[@]}")

have() { # how-to-tell: is it there?
	case $1 in
	pkg:*) dpkg -s "${1#pkg:}" 2>/dev/null | grep -x 'Status: install ok installed' >/dev/null ;;
	/*) [[ -e $1 ]] ;;
	*) command -v "$1" >/dev/null 2>&1 ;;
	esac
}

# Needed first: cc links bindgen, which then builds while apt installs the
# rest; xz unpacks the kernel source, fetched meanwhile (build.sh).
early_pkgs=" gcc libc6-dev xz-utils "

missing_pkgs=()
for need in "${needs[@]}"; do
	IFS='|' read -r what pkg why <<<"$need"
	[[ $mode == early && $early_pkgs != *" $pkg "* ]] && continue
	have "$what" && continue
	say "missing $pkg: $why"
	missing_pkgs+=("$pkg")
done

sudo=()
((EUID == 0)) || sudo=(sudo)
# sudo drops the environment, so the variable goes through env.
apt_get=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)

apt_install() { # Installs the missing packages (if any), or says how.
	((${#missing_pkgs[@]})) || return 0
	if [[ -n ${NO_INSTALL:-} ]]; then
		say "NO_INSTALL is set; to install them: ${sudo[*]:+${sudo[*]} }apt-get update && ${sudo[*]:+${sudo[*]} }apt-get install --no-install-recommends ${missing_pkgs[*]}"
	elif ! command -v apt-get >/dev/null; then
		die "not a Debian/Ubuntu system; install the equivalents of: ${missing_pkgs[*]}"
	elif ((EUID != 0)) && ! command -v sudo >/dev/null; then
		die "not root and no sudo; as root run: apt-get update && apt-get install --no-install-recommends ${missing_pkgs[*]}"
	else
		say "installing: ${missing_pkgs[*]}"
		mkdir -p "$BUILD_DIR"
		local apt_log=$BUILD_DIR/apt-install.log
		if ! { "${apt_get[@]}" update -q && "${apt_get[@]}" install -y -q --no-install-recommends \
			"${missing_pkgs[@]}"; } >"$apt_log" 2>&1; then
			tail -n 20 "$apt_log" >&2
			die "apt-get could not install: ${missing_pkgs[*]} (log: $apt_log)"
		fi
		local need what pkg
		for need in "${needs[@]}"; do
			IFS='|' read -r what pkg _ <<<"$need"
			[[ " ${missing_pkgs[*]} " == *" $pkg "* ]] || continue
			have "$what" || die "$pkg is installed but '$what' is still missing"
		done
	fi
}

if [[ $mode == bench ]]; then
	apt_install
	exit 0
fi

# --- Rust: the pinned toolchain with rust-src, the musl target, bindgen. ----
components=(rust-src clippy rustfmt)
targets=("$RUST_TARGET")
rust_todo=()
if ! rustup toolchain list 2>/dev/null | grep -q "^$RUSTUP_TOOLCHAIN"; then
	# One call: the toolchain with everything the build uses.
	rust_todo+=("rustup toolchain install $RUSTUP_TOOLCHAIN --profile minimal --component $(
		IFS=,
		echo "${components[*]}"
	) --target ${targets[*]}   # the pinned Rust (settings.conf)")
else
	# RUSTUP_TOOLCHAIN (settings.conf) makes these look inside the pinned toolchain.
	installed=$(rustup component list --installed 2>/dev/null)
	for c in "${components[@]}"; do
		grep -q "^$c" <<<"$installed" || rust_todo+=("rustup component add $c   # the kernel build and make lint")
	done
	installed=$(rustup target list --installed 2>/dev/null)
	for t in "${targets[@]}"; do
		grep -qx "$t" <<<"$installed" || rust_todo+=("rustup target add $t   # the static test suite for the guest")
	done
fi
have_bindgen=$(bindgen --version 2>/dev/null | awk '{print $2}' || true)
# bindgen compiles with cc: not in the early phase.
if [[ $mode == early ]] || ((!own_kernels)); then
	:
elif [[ -z $have_bindgen ]] || [[ $(printf '%s\n' 0.71.1 "$have_bindgen" | sort -V | head -n1) != 0.71.1 ]]; then
	rust_todo+=("cargo install --quiet --locked bindgen-cli --version $BINDGEN_VERSION   # the kernel's Rust bindings (needs >= 0.71.1)")
fi
rust_install() { # The steps above, in order.
	local step argv
	for step in "${rust_todo[@]}"; do
		say "running: $step"
		read -ra argv <<<"${step%%#*}"
		"${argv[@]}" >/dev/null || return
	done
}

if [[ -n ${NO_INSTALL:-} ]]; then
	apt_install
	for step in "${rust_todo[@]}"; do
		say "missing; to install: $step"
	done
	busybox_todo=0
	if [[ $ARCH != "$HOST_ARCH" && ! -x $BUSYBOX ]]; then
		say "missing busybox-static ($DEB_ARCH): the guest's userland, downloaded from Debian into $BUSYBOX"
		busybox_todo=1
	fi
	((${#missing_pkgs[@]} + ${#rust_todo[@]} + busybox_todo == 0)) ||
		die "missing tools (see above); NO_INSTALL is set, so nothing was installed"
	exit 0
fi

# The Rust steps are mostly downloads and a compile, apt mostly unpacking:
# they run side by side (early: the toolchain's download beside cc and xz;
# then bindgen's compile beside the rest). bindgen's link needs cc, which
# the early phase installed; without it, the Rust steps wait for apt.
rust_log=$BUILD_DIR/rust-install-$mode.log
mkdir -p "$BUILD_DIR"
if [[ $mode == early ]] || command -v cc >/dev/null; then
	rust_install >"$rust_log" 2>&1 &
	rust_pid=$!
	apt_install
	rust_status=0
	wait "$rust_pid" || rust_status=$?
else
	apt_install
	rust_status=0
	rust_install >"$rust_log" 2>&1 || rust_status=$?
fi
grep '^==>' "$rust_log" >&2 || true
if ((rust_status != 0)); then
	tail -n 20 "$rust_log" >&2
	die "installing the Rust tools failed (log: $rust_log)"
fi

# Another architecture's busybox: Debian's busybox-static for it, taken out
# of its .deb into the cache ($BUSYBOX, lib/arch.sh).
foreign_busybox() {
	[[ $ARCH != "$HOST_ARCH" && ! -x $BUSYBOX ]] || return 0
	say "missing busybox-static ($DEB_ARCH): the guest's userland; downloading Debian's .deb (private apt configuration)"
	local dl=$CACHE_DIR/downloads/$DEB_ARCH ex debs
	mkdir -p "$dl"
	private_apt "$DEB_ARCH" update -qq >/dev/null
	(cd "$dl" && private_apt "$DEB_ARCH" download busybox-static) >"$BUILD_DIR/busybox-download.log" 2>&1 ||
		die "could not download busybox-static for $DEB_ARCH (log: $BUILD_DIR/busybox-download.log)"
	debs=("$dl"/busybox-static_*_"$DEB_ARCH".deb)
	ex=$(mktemp -d)
	dpkg-deb -x "${debs[-1]}" "$ex"
	mkdir -p "$(dirname "$BUSYBOX")"
	# /usr/bin in Debian 13 (merged /usr), /bin before.
	local found=("$ex"/usr/bin/busybox "$ex"/bin/busybox)
	[[ -f ${found[0]} ]] || found=("${found[@]:1}")
	install -m 0755 "${found[0]}" "$BUSYBOX.new"
	mv "$BUSYBOX.new" "$BUSYBOX"
	rm -rf "$ex"
}
[[ $mode == early ]] || foreign_busybox
