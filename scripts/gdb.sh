#!/usr/bin/env bash
# `make gdb`: attaches gdb to a VM started with `./scripts/run-qemu.sh --gdb`
# (QEMU's gdbstub on localhost:1234, CPUs stopped before the first
# instruction, KASLR off), with the kernel's vmlinux for symbols.
#
#   terminal 1:  ./scripts/run-qemu.sh --debug --gdb
#   terminal 2:  make gdb                 (GDB_KERNEL=release for a VM without --debug)
#
#   scripts/gdb.sh [release|debug] [GDB ARGS...]
#
# The debug kernel has debug information and the kernel's gdb scripts
# (CONFIG_DEBUG_INFO_DWARF5, CONFIG_GDB_SCRIPTS): gdb runs it to
# start_kernel, then `lx-symbols` loads the symbols of the sample modules,
# now and whenever one is loaded, with source lines. The release kernel has
# only its symbol table (no source lines, no lx-* commands). docs/tools.md.
set -euo pipefail
# shellcheck source=scripts/lib/lib.sh
source "$(dirname "$0")/lib/lib.sh"

variant=debug
if [[ ${1:-} == release || ${1:-} == debug ]]; then
	variant=$1
	shift
fi
"$TOP/scripts/build.sh" need "$variant" "make gdb"
vmlinux=$BUILD_DIR/$variant/kdir/vmlinux
[[ -f $vmlinux ]] || die "$vmlinux is missing: run 'make' first"
# gdb for this machine's own architecture; gdb-multiarch for another one.
gdb=gdb
[[ $ARCH == "$HOST_ARCH" ]] || gdb="gdb-multiarch"
command -v "$gdb" >/dev/null || die "$gdb not found (Debian: apt-get install $gdb)"
port=$GDB_PORT
if command -v ss >/dev/null && ! ss -ltn | grep -q ":$port "; then
	die "nothing listens on localhost:$port: start the VM first with ./scripts/run-qemu.sh --gdb"
fi

# The kernel's gdb scripts (vmlinux-gdb.py) were made with the kernel.
kdir=$BUILD_DIR/$variant/kdir
if [[ -f $kdir/vmlinux-gdb.py ]]; then
	say "attaching to localhost:$port: the $variant kernel with debug info; lx-symbols loads the modules' symbols"
	exec "$gdb" -q -iex "add-auto-load-safe-path $kdir" "$vmlinux" \
		-ex "target remote localhost:$port" \
		-ex "set breakpoint pending on" \
		-ex "hbreak start_kernel" -ex continue -ex "delete" \
		-ex "lx-symbols $BUILD_DIR/$variant" \
		"$@"
fi
say "attaching to localhost:$port with the $variant kernel's symbols (no debug info: no source lines)"
exec "$gdb" -q "$vmlinux" \
	-ex "target remote localhost:$port" \
	"$@"
