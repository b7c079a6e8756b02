#!/usr/bin/env bash
# Installs what the build needs and is missing, saying what and why.
#
#   NO_INSTALL=1 scripts/install-deps.sh   only report what is missing
#
# Debian packages come from the system's own apt sources (with sudo when not
# root); Rust pieces from rustup and crates.io. On a system where it cannot
# install, it prints the exact commands and stops.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

BINDGEN_VERSION=0.73.2

# command-or-file -> Debian package, and why we need it.
needs=(
	"clang$LLVM:clang${LLVM#-}:compiles the kernel and the C module (LLVM=$LLVM)"
	"ld.lld$LLVM:lld${LLVM#-}:links the kernel"
	"llvm-ar$LLVM:llvm${LLVM#-}:archives and objcopy for the kernel build"
	"/usr/lib/llvm${LLVM}/lib/libclang.so:libclang${LLVM}-dev:bindgen reads kernel headers through libclang"
	"make:make:drives the build"
	"flex:flex:kernel configuration (Kconfig)"
	"bison:bison:kernel configuration (Kconfig)"
	"bc:bc:kernel build (timeconst)"
	"cpio:cpio:kernel build (kheaders)"
	"/usr/include/libelf.h:libelf-dev:objtool, when building the kernel"
	"/usr/include/openssl/ssl.h:libssl-dev:kernel build host tools"
	"xz:xz-utils:unpacking the kernel source"
	"curl:curl:fetching the kernel source"
	"qemu-system-x86_64:qemu-system-x86:runs the VM"
	"/bin/busybox:busybox-static:the guest's userland"
	"file:file:checks that busybox is static"
	"python3:python3:kernel scripts (rust-analyzer, gdb helpers)"
	"shellcheck:shellcheck:make lint"
	"git:git:cloning and version stamps"
)

missing_pkgs=()
for need in "${needs[@]}"; do
	IFS=: read -r what pkg why <<<"$need"
	if [[ $what == /* ]]; then
		[[ -e $what ]] && continue
	else
		command -v "$what" >/dev/null 2>&1 && continue
	fi
	# busybox may be the dynamic one; busybox-static replaces it.
	say "missing $pkg: $why"
	missing_pkgs+=("$pkg")
done
if [[ -x /bin/busybox ]] && ! file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then
	say "missing busybox-static: /bin/busybox is dynamic, the guest needs a static one"
	missing_pkgs+=(busybox-static)
fi

sudo=()
((EUID == 0)) || sudo=(sudo)
apt_cmd="${sudo[*]:+${sudo[*]} }apt-get install -y ${missing_pkgs[*]}"

if ((${#missing_pkgs[@]})); then
	if [[ -n ${NO_INSTALL:-} ]]; then
		say "NO_INSTALL is set; to install them: ${sudo[*]:+${sudo[*]} }apt-get update && $apt_cmd"
	elif ! command -v apt-get >/dev/null; then
		die "not a Debian/Ubuntu system; install the equivalents of: ${missing_pkgs[*]}"
	elif ((EUID != 0)) && ! command -v sudo >/dev/null; then
		die "not root and no sudo; as root run: apt-get update && apt-get install -y ${missing_pkgs[*]}"
	else
		say "installing: ${missing_pkgs[*]}"
		"${sudo[@]}" apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing_pkgs[@]}" >/dev/null
	fi
fi

# --- Rust: rustup's toolchain with rust-src, the musl target, bindgen. ------
if ! command -v rustup >/dev/null; then
	die "rustup not found; install it (https://rustup.rs), then run make again"
fi
rust_todo=()
# The pinned toolchain (scripts/lib.sh); the checks below look inside it.
rustup toolchain list 2>/dev/null | grep -q "^$RUSTUP_TOOLCHAIN" ||
	rust_todo+=("rustup toolchain install $RUSTUP_TOOLCHAIN --profile minimal   # the pinned Rust (scripts/lib.sh)")
rustup component list --installed 2>/dev/null | grep -q '^rust-src' ||
	rust_todo+=("rustup component add rust-src   # the kernel builds Rust's core library from source")
rustup target list --installed 2>/dev/null | grep -q '^x86_64-unknown-linux-musl$' ||
	rust_todo+=("rustup target add x86_64-unknown-linux-musl   # the static test suite for the guest")
rustup component list --installed 2>/dev/null | grep -q '^clippy' ||
	rust_todo+=("rustup component add clippy   # make lint (CLIPPY=1)")
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' ||
	rust_todo+=("rustup component add rustfmt   # make lint")
have_bindgen=$(bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ -z $have_bindgen ]] || [[ $(printf '%s\n' 0.71.1 "$have_bindgen" | sort -V | head -n1) != 0.71.1 ]]; then
	rust_todo+=("cargo install --locked bindgen-cli --version $BINDGEN_VERSION   # the kernel's Rust bindings (needs >= 0.71.1)")
fi
for step in "${rust_todo[@]}"; do
	if [[ -n ${NO_INSTALL:-} ]]; then
		say "missing; to install: $step"
	else
		say "running: $step"
		eval "${step%%#*}" >/dev/null
	fi
done

if [[ -n ${NO_INSTALL:-} ]] && ((${#missing_pkgs[@]} + ${#rust_todo[@]})); then
	die "missing tools (see above); NO_INSTALL is set, so nothing was installed"
fi
