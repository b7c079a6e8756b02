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

# Per-clone build output (modules' initramfs, test tools).
BUILD_DIR=${BUILD_DIR:-$TOP/build}

# LLVM suffix: LLVM=-19 selects clang-19, ld.lld-19, ... (Kbuild's convention).
LLVM=${LLVM:--19}

# rustup's tools (cargo, bindgen) live here; a non-login shell may lack it.
if [[ -d $HOME/.cargo/bin && :$PATH: != *:$HOME/.cargo/bin:* ]]; then
	PATH=$HOME/.cargo/bin:$PATH
fi

# The Rust toolchain for the kernels, the modules and the test suite, pinned.
# rustc 1.85.0 is kernel 7.3's minimum and is built on LLVM 19, the LLVM of
# Debian 12's clang-19. With rustc and clang on one LLVM the kernel inlines
# its small C helpers into Rust code (CONFIG_RUST_INLINE_HELPERS in
# qemu/kernel.config), as C inlines them from its headers. To use another
# toolchain, set RUSTUP_TOOLCHAIN, and LLVM= to a clang of the same LLVM.
RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-1.85.0}

export KERNEL_VERSION CACHE_DIR BUILD_DIR LLVM RUSTUP_TOOLCHAIN

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# stage NAME START_SECONDS SOURCE: one progress line per build stage.
stage_done() {
	local name=$1 start=$2 source=$3
	printf '[%-18s] %4ss  %s\n' "$name" "$(($(date +%s) - start))" "$source" >&2
}
