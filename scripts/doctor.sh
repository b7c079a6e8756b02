#!/usr/bin/env bash
# `make doctor [KDIR=...]`: can a Rust module be built against this kernel
# tree, and if not, why? One `ok`/`not ok` line per check, each failure
# with its cause and fix, then the errors that Kbuild would print instead
# and what they mean. Exits 0 only when a Rust module can be built.
#
#   scripts/doctor.sh [KDIR]     default: the running kernel's
#                                /lib/modules/$(uname -r)/build
#
# It checks:
#   config     the tree is configured, with CONFIG_RUST=y
#   metadata   the Rust metadata that a module's build reads: rust/*.rmeta
#              (core, kernel, ...), the macros' .so, scripts/target.json.
#              Distribution headers often lack them (Debian's do).
#   rustc      the rustc that Kbuild would run is the one in the tree's
#              config (CONFIG_RUSTC_VERSION_TEXT) and the one that wrote
#              its .rmeta files
#   bindgen    likewise (CONFIG_BINDGEN_VERSION_TEXT)
#   cc         the C compiler is the config's (CONFIG_CC_VERSION_TEXT)
#   symbols    every Rust symbol the tree's rust/ exports is in its
#              Module.symvers under the same name
#
# The tools are the ones `make -C KDIR M=...` would run from this shell
# (RUSTC=, BINDGEN=, CC= override them, as for Kbuild); for a tree of this
# project's, the ones its build uses (kbuild, lib/kbuild.sh): the pinned
# toolchain, or Debian 13's for KERNEL=debian.
set -euo pipefail
# The library pins the project's rustup toolchain; a tree that is not the
# project's is checked with the caller's own.
caller_toolchain=${RUSTUP_TOOLCHAIN-}
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

kdir=${1:-}
if [[ -z $kdir ]]; then
	kdir=/lib/modules/$(uname -r)/build
	if [[ ! -e $kdir ]]; then
		say "the running kernel ($(uname -r)) has no build tree: $kdir is missing (Debian: apt-get install linux-headers-$(uname -r))"
		say "this project's own trees, for KDIR=:"
		for tree in "$BUILD_DIR"/*/kdir; do
			[[ -e $tree ]] && say "  $(basename "$(dirname "$tree")"): $(readlink -f "$tree")"
		done
		debian=$(readlink -f "$BUILD_DIR/debian/kdir" 2>/dev/null || true)
		[[ -z $debian ]] || say "  Debian's headers as packaged: $(echo "${debian%/linux}"/packaged/usr/src/linux-headers-*)"
		exit 1
	fi
fi
[[ -d $kdir ]] || die "KDIR=$kdir: no such directory"
kdir=$(cd "$kdir" && pwd -P)
say "can a Rust module be built against $kdir?"

# The errors a user would meet, for the checks that failed.
meets=()

# The tools: a project tree's own toolchain, else the caller's.
tool() { # NAME ARGS...: runs NAME as Kbuild would for this tree
	local name=$1
	shift
	if [[ -f $kdir/../toolchain.env ]]; then
		local cmd
		cmd=$(sed -n "s/^$name=//p" "$kdir/../toolchain.env")
		debian_toolchain_run "$(debian_toolchain_dir)" "${cmd:-$name}" "$@"
	elif [[ -f $kdir/.complete ]]; then # build-kernel.sh's entry
		case $name in
		CC) name=clang$LLVM ;;
		RUSTC) name=rustc ;;
		BINDGEN) name=bindgen ;;
		esac
		"$name" "$@"
	else
		local cmd
		case $name in
		CC) cmd=${CC:-$cc_guess} ;;
		RUSTC) cmd=${RUSTC:-rustc} ;;
		BINDGEN) cmd=${BINDGEN:-bindgen} ;;
		esac
		RUSTUP_TOOLCHAIN=$caller_toolchain
		[[ -n $caller_toolchain ]] || unset RUSTUP_TOOLCHAIN
		"$cmd" "$@"
	fi
}
config_text() { # NAME: a string option of the tree's config
	sed -n "s/^CONFIG_$1=\"\\(.*\\)\"\$/\\1/p" "$config"
}
# rmeta_rustc FILE: the version of the rustc that wrote FILE (a .rmeta
# names it, after a length byte).
rmeta_rustc() {
	local offset length
	offset=$(LC_ALL=C grep -a -o -b -m1 'rustc [0-9]' "$1" | head -n1 | cut -d: -f1)
	[[ -n $offset ]] || return 0
	length=$(od -An -tu1 -j $((offset - 1)) -N1 "$1" | tr -d ' ')
	dd if="$1" bs=1 skip="$offset" count="$length" status=none
}

# --- config -------------------------------------------------------------------
config=$kdir/.config
if [[ ! -f $config ]]; then
	fail "config: $kdir has no .config" "not a configured kernel tree; point KDIR= at one (make modules_prepare in a source tree makes one)"
	summary_line || true
	exit 1
fi
if grep -qx 'CONFIG_RUST=y' "$config"; then
	pass "config: CONFIG_RUST=y"
else
	fail "config: CONFIG_RUST is not set" "this kernel was built without Rust support, so it can load no Rust module; use a kernel built with CONFIG_RUST=y"
	summary_line || true
	exit 1
fi
cc_guess=$(config_text CC_VERSION_TEXT | awk '{ print $1 }')
grep -qx 'CONFIG_CC_IS_CLANG=y' "$config" && cc_guess=clang

# --- metadata -----------------------------------------------------------------
missing=()
for f in rust/libcore.rmeta rust/libcompiler_builtins.rmeta rust/libkernel.rmeta \
	rust/libffi.rmeta rust/libpin_init.rmeta rust/libmacros.so scripts/target.json; do
	[[ -e $kdir/$f ]] || missing+=("$f")
done
if ((${#missing[@]} == 0)); then
	pass "metadata: rust/*.rmeta, the macros' .so and scripts/target.json are there"
else
	fail "metadata: missing ${missing[*]}" "this tree (distribution headers, typically) ships no Rust metadata; rebuild rust/ from the same source, config and compilers with 'make modules_prepare' (make KERNEL=debian does this for Debian's kernel)"
	meets+=(E0463)
fi

# --- versions -----------------------------------------------------------------
check_version() { # NAME LABEL CONFIG-OPTION
	local name=$1 label=$2 want have
	want=$(config_text "$3")
	have=$(tool "$name" --version 2>/dev/null | head -n1 || true)
	if [[ -z $have ]]; then
		fail "$label: not found" "install the one this kernel was built with: $want"
	elif [[ $have == "$want" ]]; then
		pass "$label: $have, as the kernel's config says"
	else
		fail "$label: '$have', but the kernel was built with '$want'" "use that $label (for Kbuild: make $name=/path/to/it)"
		return 1
	fi
}
check_version RUSTC rustc RUSTC_VERSION_TEXT || meets+=(E0514 modpost)
check_version BINDGEN bindgen BINDGEN_VERSION_TEXT || meets+=(modpost)
check_version CC "C compiler" CC_VERSION_TEXT || true
if [[ -f $kdir/rust/libcore.rmeta ]]; then
	written=$(rmeta_rustc "$kdir/rust/libcore.rmeta")
	want=$(config_text RUSTC_VERSION_TEXT)
	if [[ $written == "$want" ]]; then
		pass "rmeta: rust/libcore.rmeta was written by $written, the kernel's rustc"
	else
		fail "rmeta: rust/libcore.rmeta was written by '$written', the kernel's rustc is '$want'" "rebuild rust/ with the kernel's rustc (make modules_prepare)"
		meets+=(E0514)
	fi
fi

# --- symbols ------------------------------------------------------------------
exports=("$kdir"/rust/exports_*_generated.h)
if [[ -f $kdir/Module.symvers && -f ${exports[0]} ]]; then
	total=$(cat "${exports[@]}" | wc -l)
	absent=$(rust_exports_missing "$kdir" | grep -c . || true)
	if ((absent == 0)); then
		pass "symbols: all $total Rust exports of rust/ are in Module.symvers"
	else
		fail "symbols: $absent of $total Rust exports of rust/ are not in Module.symvers" "rust/ was built by another rustc or bindgen than the kernel; rebuild it with the kernel's"
		meets+=(modpost)
	fi
elif [[ ! -f $kdir/Module.symvers ]]; then
	fail "symbols: no Module.symvers" "modpost needs the kernel's list of exports; copy it from the kernel's headers package"
fi

explain() {
	case $1 in
	E0463) echo "  error[E0463]: can't find crate for \`core\`: the tree has no rust/*.rmeta; the fix is the metadata line above." ;;
	E0514) echo "  error[E0514]: found crate \`core\` compiled by an incompatible version of rustc: the .rmeta files and your rustc differ; use the kernel's rustc." ;;
	modpost) echo "  modpost: \"_RNv...\" [module.ko] undefined!: rustc puts a hash of its version (and bindgen's names) into every Rust symbol, so a module built by another rustc asks for names the kernel does not export; use the kernel's rustc and bindgen." ;;
	esac
}
if ((${#meets[@]})); then
	echo "What the build would say instead:"
	for e in $(printf '%s\n' "${meets[@]}" | sort -u); do
		explain "$e"
	done
	echo "  (error[E0461]: couldn't find crate \`core\` with expected target triple: the .rmeta files were built for another target.json; rebuild rust/ in this tree.)"
fi
summary_line
